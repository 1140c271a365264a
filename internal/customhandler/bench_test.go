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
