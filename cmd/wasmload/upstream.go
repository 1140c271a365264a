package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"time"
)

// upstreamBody is what the -upstream server answers.
const upstreamBody = "hello from the upstream\n"

// startUpstream serves a small answer on a loopback port, for guests that
// call out (abi/SPEC.md §5.7). It returns the worker environment that lets
// the driven function reach it: its URL in WASMLOAD_UPSTREAM_URL, and the
// grant in WASMWORKER_ALLOWED_HOSTS.
func startUpstream() (srv *httptest.Server, env []string) {
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, upstreamBody)
	}))
	return srv, []string{"WASMLOAD_UPSTREAM_URL=" + srv.URL + "/", "WASMWORKER_ALLOWED_HOSTS=" + srv.URL}
}

// nativeLoad makes the calls a guest makes against the upstream with Go's
// own client, from this process, at the same concurrency: the baseline for
// outbound HTTP from wasm.
func nativeLoad(ctx context.Context, o options, url string, out io.Writer) error {
	client := &http.Client{Transport: &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 30 * time.Second}).DialContext,
		MaxIdleConnsPerHost: o.concurrency,
	}}
	call := func() error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err == nil && (resp.StatusCode != http.StatusOK || string(b) != upstreamBody) {
			err = fmt.Errorf("status %d, body %q", resp.StatusCode, b)
		}
		return err
	}
	var (
		next     atomic.Int64
		mu       sync.Mutex
		lat      = make([]time.Duration, 0, o.n)
		failures int
		firstErr string
		began    time.Time
	)
	total := int64(o.warmup + o.n)
	var wg sync.WaitGroup
	for range o.concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > total {
					return
				}
				if i == int64(o.warmup)+1 {
					mu.Lock()
					began = time.Now()
					mu.Unlock()
				}
				t0 := time.Now()
				err := call()
				d := time.Since(t0)
				if i <= int64(o.warmup) {
					continue
				}
				mu.Lock()
				lat = append(lat, d)
				if err != nil {
					failures++
					if firstErr == "" {
						firstErr = err.Error()
					}
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(began)
	return printReport(out, o.jsonOut, report{
		Function: "native net/http GET " + url, Concurrency: o.concurrency,
		Invocations: len(lat), Failures: failures, FirstError: firstErr,
		Seconds: elapsed.Seconds(), PerSecond: float64(len(lat)) / elapsed.Seconds(),
		LatencyMS: percentiles(lat),
	})
}
