package customhandler

import "testing"

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
