package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
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
		mu       sync.Mutex
		lat      = make([]time.Duration, 0, o.n)
		failures int
		firstErr string
	)
	began := drive(o.concurrency, o.warmup, o.n, func() {}, func(measuring bool) bool {
		t0 := time.Now()
		err := call()
		d := time.Since(t0)
		if !measuring {
			return true
		}
		mu.Lock()
		defer mu.Unlock()
		lat = append(lat, d)
		if err != nil {
			failures++
			if firstErr == "" {
				firstErr = err.Error()
			}
		}
		return true
	})
	elapsed := time.Since(began)
	return printReport(out, o.jsonOut, report{
		Function: "GET " + url, Native: true, Concurrency: o.concurrency,
		Invocations: len(lat), Failures: failures, FirstError: firstErr,
		Seconds: elapsed.Seconds(), PerSecond: float64(len(lat)) / elapsed.Seconds(),
		LatencyMS: percentiles(lat),
	})
}
