//go:build unix

package devhost

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fuzzContentTypes are the content types FuzzHTTPRequest picks from.
var fuzzContentTypes = []string{"", "text/plain", "application/json", "application/octet-stream", "multipart/form-data; boundary=x", "\xff/\xfe"}

// FuzzHTTPRequest sends arbitrary bytes as the parts of a request to
// HttpHello of the example app (route hello/{name}): the route value (one
// path segment), the raw query string, a header value, the content type and
// the body. Each request must get an HTTP response, any status, within a few
// seconds; a healthy request must then still get 200, from the same worker
// process. One host serves every input of a process: it starts with the
// first input and stops when the fuzz test ends.
func FuzzHTTPRequest(f *testing.F) {
	if testing.Short() {
		f.Skip("starts the local host with the real worker")
	}
	f.Add("Ada", "greeting=Hi", "x", []byte(nil), uint8(0))
	f.Add("\xff", "greeting=%ff", "a\xffb", []byte("\xff"), uint8(1))
	f.Add("%ff", "greeting=\xfe&%fd=%fc&=&&x", "\xfe\x00\t", []byte("{\"punctuation\":\"\xff\"}"), uint8(2))
	f.Add("a/b c", "%zz%&greeting=%E2%82", "", []byte("{\"a\":[\"\xff\"],\"\xfe\":{}}"), uint8(2))
	f.Add("", "", "", []byte{0, 1, 2, 0xff}, uint8(3))
	f.Add("..", "code=1&code=%ff", "\r\n\r\nGET / HTTP/1.1", []byte("--x--\r\n"), uint8(4))
	f.Add("\xef\xbb\xbf", "greeting=\xef\xbb\xbf\xed\xa0\x80", "\xed\xa0\x80", []byte("\xef\xbb\xbf{}"), uint8(5))

	var (
		once     sync.Once
		h        *Host
		dir      string
		startErr error
		pids     []int
	)
	f.Cleanup(func() {
		if h != nil {
			h.Close()
		}
		if dir != "" {
			os.RemoveAll(dir)
		}
	})
	client := &http.Client{Timeout: 10 * time.Second}
	f.Fuzz(func(t *testing.T, name, rawQuery, header string, body []byte, ctype uint8) {
		once.Do(func() {
			// Not t.TempDir: that of the first input is removed when it ends.
			if dir, startErr = os.MkdirTemp("", "fuzz-http-"); startErr != nil {
				return
			}
			app := filepath.Join(dir, "app")
			if startErr = os.CopyFS(app, os.DirFS(exampleApp)); startErr != nil {
				return
			}
			if h, _, startErr = startLocal(app, Options{}); startErr == nil {
				pids = h.workerPIDs()
			}
		})
		if startErr != nil {
			t.Fatalf("starting the host: %v", startErr)
		}

		method := http.MethodGet
		if len(body) > 0 {
			method = http.MethodPost
		}
		var req strings.Builder
		req.WriteString(method + " /api/hello/" + url.PathEscape(name))
		if rawQuery != "" {
			req.WriteString("?" + requestLineSafe(rawQuery))
		}
		req.WriteString(" HTTP/1.1\r\nHost: fuzz\r\nConnection: close\r\n")
		req.WriteString("X-Fuzz: " + strings.NewReplacer("\r", " ", "\n", " ").Replace(header) + "\r\n")
		if ct := fuzzContentTypes[int(ctype)%len(fuzzContentTypes)]; ct != "" {
			req.WriteString("Content-Type: " + ct + "\r\n")
		}
		req.WriteString("Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n")
		req.Write(body)

		code, err := roundTrip(h.addr(), req.String())
		if err != nil {
			t.Fatalf("no HTTP response to %q: %v", req.String(), err)
		}
		if code == http.StatusServiceUnavailable {
			t.Errorf("%q got 503: the worker is gone", req.String())
		}

		resp, err := client.Get(h.URL() + "/api/hello/Ada")
		if err != nil {
			t.Fatalf("healthy request after %q: %v", req.String(), err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("healthy request after %q = %d %s", req.String(), resp.StatusCode, b)
		}
		if got := h.workerPIDs(); !slices.Equal(got, pids) {
			t.Fatalf("after %q the worker processes are %v, were %v: the worker was restarted", req.String(), got, pids)
		}
	})
}

// requestLineSafe percent-encodes the bytes of s that would end or break
// the request line (controls, space, DEL, '#'); every other byte, "%" and
// bytes above 0x7f included, goes as it is.
func requestLineSafe(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c == 0x7f || c == '#' {
			fmt.Fprintf(&b, "%%%02X", c)
		} else {
			b.WriteByte(c)
		}
	}
	return b.String()
}

// roundTrip sends one raw request on a new connection and returns the
// response status; the whole exchange must finish within 5 seconds.
func roundTrip(addr, raw string) (int, error) {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, raw); err != nil {
		return 0, err
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return 0, fmt.Errorf("reading the body of a %d response: %w", resp.StatusCode, err)
	}
	return resp.StatusCode, nil
}
