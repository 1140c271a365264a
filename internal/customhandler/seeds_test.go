package customhandler

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var writeSeeds = flag.Bool("write-seeds", false, "rewrite the fuzz seed corpora under testdata/fuzz")

// encodeSeeds are the FuzzEncodeRequest seeds: the examples of the encode
// tests, as encodeInputs.
func encodeSeeds() []encodeInput {
	return []encodeInput{
		// docs/host-contract.md §4.3: an HTTP POST with a JSON body as bytes.
		{Kind: 1, S: "world", Method: "POST", URL: "http://localhost:7071/api/hello/world?x=1&x=2",
			HName: "host", HValue: "localhost:7071", QName: "x", QValue: "1,2", ContentType: "application/json",
			BodyKind: 3, Body: []byte("{\"name\":\"a\"}\n"), Claim: "", MetaKey: "who"},
		// docs/host-contract.md §4.4: a queue message, its trigger copy skipped.
		{Kind: 1, S: `{"id":7,"kind":"x"}`, MetaKey: "QueueTrigger"},
		// A timer: TimerInfo as json.
		{Kind: 2, S: timerInfo, MetaKey: "tick"},
		// A collection, a retry with an exception, and an input in shared memory.
		{Kind: 10, X: 2.5, N: 1, Retry: true, S: "x", MetaKey: "RetryContext", Unreadable: "shared memory region m"},
		// A model binding; an authenticated caller sending octet-stream.
		{Kind: 12, S: "AzureStorageBlobs", B: []byte(`{"c":"x"}`), ContentType: "application/octet-stream",
			BodyKind: 3, Body: []byte("hi"), AuthType: "WebJobsAuthLevel", Claim: "alice", MetaKey: "model"},
		// Null header, query and authentication type; a text body with a BOM.
		{Kind: 3, B: []byte{0, 1, 0xff}, HName: "x-none", QName: "n", Null: true, ContentType: "text/plain; charset=utf-8",
			BodyKind: 4, Body: []byte("\ufeffhé"), MetaKey: "bin"},
		// Kinds EncodeRequest rejects.
		{Kind: kindUnsupported, BodyKind: bodyUnsupported, MetaKey: "x"},
	}
}

// corpusFile renders values as a Go fuzz corpus file ("go test fuzz v1").
func corpusFile(vals ...any) string {
	var b strings.Builder
	b.WriteString("go test fuzz v1\n")
	for _, v := range vals {
		switch t := v.(type) {
		case string:
			fmt.Fprintf(&b, "string(%q)\n", t)
		case []byte:
			fmt.Fprintf(&b, "[]byte(%q)\n", t)
		case uint8:
			fmt.Fprintf(&b, "byte(%q)\n", t)
		case int64, float64, bool:
			fmt.Fprintf(&b, "%T(%v)\n", t, t)
		default:
			panic(fmt.Sprintf("corpusFile: unsupported type %T", v))
		}
	}
	return b.String()
}

// TestFuzzSeeds keeps the checked-in seed corpora in step with the examples:
// with -write-seeds it rewrites them; otherwise it checks they exist.
func TestFuzzSeeds(t *testing.T) {
	var reqs []string
	for _, in := range encodeSeeds() {
		reqs = append(reqs, corpusFile(in.args()...))
	}
	var stdouts []string
	for _, s := range []string{
		`{"Outputs":{"res":{"statusCode":201,"headers":{"content-type":"text/plain"},"body":"hello world"}},"Logs":["said hello"],"ReturnValue":null}`,
		`{"returnValue":"done"}`,
		`{"Outputs":{"out":12345678901234567890,"img":"aGk=","state":{"a":[true,null]}},"Logs":[1,"x",null]}`,
		`{"Outputs":{"res":{"cookies":[{"name":"b","value":"2","domain":"d","path":"/","expires":"2025-01-02T15:04:05Z","secure":true,"httpOnly":false,"sameSite":"None","maxAge":3600}]}}}`,
		`{"Outputs":{"res":"{\"statusCode\":\"404\",\"body\":[1]}"}}`,
		"\ufeff {} \n",
		`{"Outputs":{"res":{"headers":{"x":null}}}}`,
		"hello\xff",
		`{} {}`,
	} {
		stdouts = append(stdouts, corpusFile([]byte(s)))
	}
	corpora := map[string][]string{"FuzzEncodeRequest": reqs, "FuzzDecodeResponse": stdouts}
	for name, seeds := range corpora {
		dir := filepath.Join("testdata", "fuzz", name)
		for i, content := range seeds {
			path := filepath.Join(dir, fmt.Sprintf("seed%02d", i+1))
			if *writeSeeds {
				if err := os.MkdirAll(dir, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			got, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -run TestFuzzSeeds -write-seeds)", err)
			}
			if string(got) != content {
				t.Errorf("%s is stale (run go test -run TestFuzzSeeds -write-seeds)", path)
			}
		}
	}
}
