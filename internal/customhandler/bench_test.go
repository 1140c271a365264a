package customhandler

import (
	"bytes"
	"encoding/json"
	"testing"
)

// BenchmarkEncodeDecodeHTTP encodes the docs/host-contract.md §4.3 request and decodes
// its response, as one command-mode HTTP invocation does.
func BenchmarkEncodeDecodeHTTP(b *testing.B) {
	fn := newFn("HelloHttp", httpBindings...)
	req := httpRequest43()
	stdout := []byte(`{"Outputs":{"res":{"statusCode":201,"headers":{"content-type":"text/plain"},"body":"hello world"}},"Logs":[],"ReturnValue":null}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := EncodeRequest(fn, req, testNow, testGUID); err != nil {
			b.Fatal(err)
		}
		if _, err := DecodeResponse(fn, stdout); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAppendRequestHTTP encodes the §4.3 request into a reused buffer,
// as a caller with a pooled buffer does.
func BenchmarkAppendRequestHTTP(b *testing.B) {
	fn := newFn("HelloHttp", httpBindings...)
	req := httpRequest43()
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if buf, err = AppendRequest(buf[:0], fn, req, testNow, testGUID); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeHTTP decodes the response of BenchmarkEncodeDecodeHTTP.
func BenchmarkDecodeHTTP(b *testing.B) {
	fn := newFn("HelloHttp", httpBindings...)
	stdout := []byte(`{"Outputs":{"res":{"statusCode":201,"headers":{"content-type":"text/plain"},"body":"hello world"}},"Logs":[],"ReturnValue":null}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeResponse(fn, stdout); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkValidJSON compares the decoder's validator and compactor with
// encoding/json's on what one command-mode HTTP invocation checks: the
// guest's stdout and the Headers metadata value (why jsonv.go exists).
func BenchmarkValidJSON(b *testing.B) {
	stdout := []byte(`{"Outputs":{"res":{"statusCode":200,"headers":{"Content-Type":"text/plain"},"body":"Hello, world"}},"Logs":[],"ReturnValue":null}`)
	headers := `{"accept": ["*/*"], "host": ["localhost:7071"], "user-agent": ["wasmload/1.0"], "x-forwarded-for": ["127.0.0.1"]}`
	var dst []byte
	b.Run("ours", func(b *testing.B) {
		for b.Loop() {
			if !validJSON(stdout) || !validJSON(headers) {
				b.Fatal("invalid")
			}
			dst = appendStripped(dst[:0], headers)
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		var buf bytes.Buffer
		for b.Loop() {
			buf.Reset()
			if !json.Valid(stdout) || json.Compact(&buf, []byte(headers)) != nil {
				b.Fatal("invalid")
			}
		}
	})
}
