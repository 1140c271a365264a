//go:build wasip1

// Command guest is the outbound package's test guest: an ABI v1 module
// (-buildmode=c-shared) whose entry points call the upstream named by the
// query parameter "url" with net/http's client, unchanged, and answer with
// what they saw. transport_test.go runs it through the worker.
package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	ww "github.com/wasmworker/wasmworker/abi/sdk/go"
	"github.com/wasmworker/wasmworker/abi/sdk/go/outbound"
)

func main() {}

// get: http.Get, following a redirect the host takes care of. Answers
// "<status> <X-Reply> <body>".
//
//go:wasmexport get
func get() int32 {
	return ww.Run(func() error {
		resp, err := http.Get(ww.Query("url") + "/to-hello")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			return err
		}
		return ww.WriteString(fmt.Sprintf("%s %s %s", resp.Status, resp.Header.Get("X-Reply"), b))
	})
}

// headers: a Client with NewRequestWithContext and request headers; the
// upstream echoes the headers it got.
//
//go:wasmexport headers
func headers() int32 {
	return ww.Run(func() error {
		req, err := http.NewRequestWithContext(context.Background(), "GET", ww.Query("url")+"/headers", nil)
		if err != nil {
			return err
		}
		req.Header.Set("X-Guest", "go")
		req.Header.Set("Accept", "text/plain")
		req.Header.Set("Connection", "close") // hop-by-hop: the host's to set
		resp, err := (&http.Client{}).Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			return err
		}
		return ww.WriteString(string(b))
	})
}

// post: http.Post with the invocation's body; answers the upstream's status
// and echo.
//
//go:wasmexport post
func post() int32 {
	return ww.Run(func() error {
		resp, err := http.Post(ww.Query("url")+"/echo", "application/json", bytes.NewReader(ww.Body()))
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			return err
		}
		return ww.WriteString(fmt.Sprintf("%d %d %s", resp.StatusCode, resp.ContentLength, b))
	})
}

// big reads a large body with a 1000-byte buffer and checks every byte
// (byte i is i % 251). Answers "<length> <bytes read> <first bad offset or -1>".
//
//go:wasmexport big
func big() int32 {
	return ww.Run(func() error {
		resp, err := http.Get(ww.Query("url") + "/big")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		buf := make([]byte, 1000)
		n, bad := 0, -1
		for {
			m, err := resp.Body.Read(buf)
			for i := range m {
				if bad < 0 && buf[i] != byte((n+i)%251) {
					bad = n + i
				}
			}
			n += m
			if err == io.EOF {
				break
			}
			if err != nil {
				return err
			}
		}
		return ww.WriteString(fmt.Sprintf("%d %d %d", resp.ContentLength, n, bad))
	})
}

// many sends more requests than may be open at once, closing each.
//
//go:wasmexport many
func many() int32 {
	return ww.Run(func() error {
		for i := range 20 {
			resp, err := http.Get(ww.Query("url") + "/hello")
			if err != nil {
				return fmt.Errorf("request %d: %w", i, err)
			}
			resp.Body.Close()
		}
		return ww.WriteString("20 done")
	})
}

// denied calls a host the grant does not list; answers the error and how
// it classifies.
//
//go:wasmexport denied
func denied() int32 {
	return ww.Run(func() error {
		_, err := http.Get(ww.Query("url"))
		var e *outbound.Error
		return ww.WriteString(fmt.Sprintf("denied=%v limit=%v code=%v\n%v",
			errors.Is(err, outbound.ErrDenied), errors.Is(err, outbound.ErrLimit), errors.As(err, &e) && e.Code == -13, err))
	})
}

// canceled sends a request whose context is already done.
//
//go:wasmexport canceled
func canceled() int32 {
	return ww.Run(func() error {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		req, err := http.NewRequestWithContext(ctx, "GET", ww.Query("url")+"/hello", nil)
		if err != nil {
			return err
		}
		_, err = http.DefaultClient.Do(req)
		return ww.WriteString(fmt.Sprintf("canceled=%v %v", errors.Is(err, context.Canceled), strings.TrimSpace(fmt.Sprint(err))))
	})
}
