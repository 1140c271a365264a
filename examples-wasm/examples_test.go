package examples

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	"github.com/tetratelabs/wazero/sys"

	"github.com/wasmworker/wasmworker/internal/appbuild"
)

// The example functions, compiled once for all tests by TestMain.
var (
	rt       wazero.Runtime
	compiled = map[string]wazero.CompiledModule{}
)

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "examples-wasm-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	if _, err := appbuild.Build(ctx, "app", dir); err != nil {
		fmt.Fprintln(os.Stderr, "build the example app:", err)
		return 1
	}
	rt = wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().WithCloseOnContextDone(true))
	defer rt.Close(ctx)
	wasi_snapshot_preview1.MustInstantiate(ctx, rt)
	for _, fn := range []string{"HttpHello", "Enqueue", "ProcessJob", "Tick"} {
		bin, err := os.ReadFile(dir + "/" + fn + "/main.wasm")
		if err == nil {
			compiled[fn], err = rt.CompileModule(ctx, bin)
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "load %s: %v\n", fn, err)
			return 1
		}
	}
	return m.Run()
}

// run is what happened when a function ran as a WASI command.
type run struct {
	stdout, stderr string
	exitCode       uint32
}

// invoke runs function fn once with payload on stdin, in a fresh instance,
// the way the worker's command mode does.
func invoke(t *testing.T, fn, payload string) run {
	t.Helper()
	// A deadline so that a broken guest fails the test instead of hanging it.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cfg := wazero.NewModuleConfig().WithName("").WithArgs(fn).
		WithStdin(strings.NewReader(payload)).WithStdout(&stdout).WithStderr(&stderr).
		WithRandSource(rand.Reader).WithSysWalltime().WithSysNanotime()
	r := run{}
	mod, err := rt.InstantiateModule(ctx, compiled[fn], cfg)
	var exit *sys.ExitError
	switch {
	case err == nil:
		mod.Close(ctx)
	case errors.As(err, &exit):
		r.exitCode = exit.ExitCode()
	default:
		t.Fatalf("%s: %v (stderr: %s)", fn, err, stderr.String())
	}
	r.stdout, r.stderr = stdout.String(), stderr.String()
	return r
}

// response is the custom-handler response a function writes on stdout.
type response struct {
	Outputs     map[string]json.RawMessage `json:"Outputs"`
	Logs        []string                   `json:"Logs"`
	ReturnValue json.RawMessage            `json:"ReturnValue"`
}

// httpOutput is the value of an http output binding.
type httpOutput struct {
	StatusCode int               `json:"statusCode"`
	Headers    map[string]string `json:"headers"`
	Body       json.RawMessage   `json:"body"`
}

// mustSucceed asserts exit code 0 and parses stdout as one JSON object.
func mustSucceed(t *testing.T, r run) response {
	t.Helper()
	if r.exitCode != 0 {
		t.Fatalf("exit code %d, stderr: %s", r.exitCode, r.stderr)
	}
	var resp response
	dec := json.NewDecoder(strings.NewReader(r.stdout))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&resp); err != nil {
		t.Fatalf("stdout is not a custom-handler response: %v\n%s", err, r.stdout)
	}
	return resp
}

func httpOut(t *testing.T, resp response, name string) httpOutput {
	t.Helper()
	raw, ok := resp.Outputs[name]
	if !ok {
		t.Fatalf("no output %q in %v", name, resp.Outputs)
	}
	var h httpOutput
	if err := json.Unmarshal(raw, &h); err != nil {
		t.Fatalf("output %s is not an HTTP response: %v\n%s", name, err, raw)
	}
	return h
}

// jsonEqual asserts that got and want hold the same JSON value.
func jsonEqual(t *testing.T, what string, got []byte, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("%s: %v in %s", what, err, got)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("%s: bad expectation %s: %v", what, want, err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("%s = %s, want %s", what, got, want)
	}
}

func TestHttpHelloGet(t *testing.T) {
	r := invoke(t, "HttpHello", httpPayload(httpCall{
		fn: "HttpHello", method: "GET", path: "/api/hello/Ada",
		query: [][2]string{{"greeting", "Hi"}}, params: map[string]string{"name": "Ada"},
	}))
	res := httpOut(t, mustSucceed(t, r), "res")
	if res.StatusCode != 200 {
		t.Errorf("status %d, want 200", res.StatusCode)
	}
	jsonEqual(t, "body", res.Body, `{"message":"Hi, Ada."}`)
	if res.Headers["Content-Type"] != "application/json" || res.Headers["X-Powered-By"] != "wasmworker" {
		t.Errorf("headers %v", res.Headers)
	}
	if !strings.Contains(r.stderr, "HttpHello: GET Ada -> 200") {
		t.Errorf("stderr %q has no log line", r.stderr)
	}
}

func TestHttpHelloPost(t *testing.T) {
	r := invoke(t, "HttpHello", httpPayload(httpCall{
		fn: "HttpHello", method: "POST", path: "/api/hello/Ada", params: map[string]string{"name": "Ada"},
		contentType: "application/json", body: `{"punctuation":"!"}`,
	}))
	res := httpOut(t, mustSucceed(t, r), "res")
	if res.StatusCode != 201 {
		t.Errorf("status %d, want 201", res.StatusCode)
	}
	jsonEqual(t, "body", res.Body, `{"message":"Hello, Ada!"}`)
}

func TestHttpHelloBadBody(t *testing.T) {
	r := invoke(t, "HttpHello", httpPayload(httpCall{
		fn: "HttpHello", method: "POST", path: "/api/hello/Ada", params: map[string]string{"name": "Ada"},
		contentType: "application/json", body: `{"punctuation":`,
	}))
	res := httpOut(t, mustSucceed(t, r), "res")
	if res.StatusCode != 400 {
		t.Errorf("status %d, want 400", res.StatusCode)
	}
	var body struct{ Error string }
	if err := json.Unmarshal(res.Body, &body); err != nil || !strings.Contains(body.Error, "JSON object") {
		t.Errorf("body %s is not a JSON error (%v)", res.Body, err)
	}
	if res.Headers["Content-Type"] != "application/json" {
		t.Errorf("headers %v", res.Headers)
	}
}

func TestEnqueue(t *testing.T) {
	job := `{"task":"resize","size":64}`
	r := invoke(t, "Enqueue", httpPayload(httpCall{
		fn: "Enqueue", method: "POST", path: "/api/jobs", contentType: "application/json", body: job,
	}))
	resp := mustSucceed(t, r)
	jsonEqual(t, "Outputs.job", resp.Outputs["job"], job)
	res := httpOut(t, resp, "res")
	if res.StatusCode != 202 {
		t.Errorf("status %d, want 202", res.StatusCode)
	}
	jsonEqual(t, "body", res.Body, `{"queued":`+job+`}`)
	if len(resp.Logs) != 1 || !strings.Contains(resp.Logs[0], "queued") {
		t.Errorf("Logs %q", resp.Logs)
	}

	// The queued message, as the queue trigger later delivers it, is done
	// by ProcessJob.
	processed := mustSucceed(t, invoke(t, "ProcessJob", queuePayload("ProcessJob", string(resp.Outputs["job"]), "m-1", 1)))
	jsonEqual(t, "ReturnValue", processed.ReturnValue, `{"task":"resize","status":"done","messageId":"m-1","attempt":1}`)
}

func TestEnqueueRejectsNonObject(t *testing.T) {
	for _, body := range []string{"", "not json", "[1,2]", "null"} {
		r := invoke(t, "Enqueue", httpPayload(httpCall{
			fn: "Enqueue", method: "POST", path: "/api/jobs", contentType: "application/json", body: body,
		}))
		resp := mustSucceed(t, r)
		if _, ok := resp.Outputs["job"]; ok {
			t.Errorf("body %q: queued %s", body, resp.Outputs["job"])
		}
		if res := httpOut(t, resp, "res"); res.StatusCode != 400 {
			t.Errorf("body %q: status %d, want 400", body, res.StatusCode)
		}
	}
}

func TestProcessJob(t *testing.T) {
	r := invoke(t, "ProcessJob", queuePayload("ProcessJob", `{"task":"thumbnail"}`, "800ae4b3-4a7c-4a4c-9a0e-0f0f0f0f0f0f", 2))
	resp := mustSucceed(t, r)
	jsonEqual(t, "ReturnValue", resp.ReturnValue,
		`{"task":"thumbnail","status":"done","messageId":"800ae4b3-4a7c-4a4c-9a0e-0f0f0f0f0f0f","attempt":2}`)
	if !strings.Contains(r.stderr, `did "thumbnail"`) {
		t.Errorf("stderr %q has no log line", r.stderr)
	}
}

func TestProcessJobFailure(t *testing.T) {
	r := invoke(t, "ProcessJob", queuePayload("ProcessJob", `{"task":"explode","fail":true}`, "m-9", 3))
	if r.exitCode == 0 {
		t.Fatalf("exit code 0 for a failing job; stdout %s", r.stdout)
	}
	if r.stdout != "" {
		t.Errorf("a failed job wrote a response: %s", r.stdout)
	}
	if !strings.Contains(r.stderr, `job "explode" (message m-9) failed on attempt 3`) {
		t.Errorf("stderr %q does not explain the failure", r.stderr)
	}
}

func TestProcessJobBadMessage(t *testing.T) {
	r := invoke(t, "ProcessJob", queuePayload("ProcessJob", "plain text", "m-2", 1))
	if r.exitCode == 0 || !strings.Contains(r.stderr, "not a job object") {
		t.Errorf("exit code %d, stderr %q", r.exitCode, r.stderr)
	}
}

func TestTick(t *testing.T) {
	cases := map[string]struct{ timer, log string }{
		"scheduled": {
			timer: `{"Schedule":{"AdjustForDST":true},"ScheduleStatus":{"Last":"2026-11-24T10:00:00+00:00",` +
				`"Next":"2026-11-24T10:05:00+00:00","LastUpdated":"2026-11-24T10:00:00+00:00"},"IsPastDue":false}`,
			log: "next run 2026-11-24T10:05:00+00:00",
		},
		"first run, late": {
			timer: `{"Schedule":{"AdjustForDST":true},"ScheduleStatus":null,"IsPastDue":true}`,
			log:   "past due",
		},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			payload := `{"Data":{"timer":` + c.timer + `},"Metadata":{"sys":` + sysJSON("Tick") + `}}`
			r := invoke(t, "Tick", payload)
			resp := mustSucceed(t, r)
			if len(resp.Outputs) != 0 || resp.ReturnValue != nil {
				t.Errorf("Tick set outputs: %s", r.stdout)
			}
			if !strings.Contains(r.stderr, c.log) {
				t.Errorf("stderr %q, want it to contain %q", r.stderr, c.log)
			}
		})
	}
}

// TestPayloadShape checks the payload builders against the example request
// of docs/custom-handler.md §3, so the tests above feed what the host sends.
func TestPayloadShape(t *testing.T) {
	got := httpPayload(httpCall{
		fn: "order", method: "POST", path: "/api/order",
		query: [][2]string{{"name", "x"}, {"name", "y"}}, contentType: "application/json", body: `{"id":1005}`,
	})
	want := `{"Data":{"req":{
	   "Url":"http://localhost:7071/api/order?name=x&name=y",
	   "Method":"POST",
	   "Query":{"name":"x,y"},
	   "Headers":{"Content-Type":["application/json"],"Host":["localhost:7071"],"Content-Length":["11"]},
	   "Params":{},
	   "Identities":[{"AuthenticationType":null,"IsAuthenticated":false,"Actor":null,"BootstrapContext":null,
	                  "Claims":[],"Label":null,"Name":null,
	                  "NameClaimType":"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name",
	                  "RoleClaimType":"http://schemas.microsoft.com/ws/2008/06/identity/claims/role"}],
	   "Body":"{\"id\":1005}"}},
	 "Metadata":{"id":"\"1005\"","name":"\"y\"",
	   "Query":{"name":"y"},
	   "Headers":{"Content-Type":"application/json","Host":"localhost:7071","Content-Length":"11"},
	   "sys":{"MethodName":"order","UtcNow":"2024-10-25T10:00:00.1234567Z","RandGuid":"0f8fad5b-d9cb-469f-a165-70867728950e"}}}`
	jsonEqual(t, "payload", []byte(got), want)

	// A queue message "hello" arrives double-encoded (docs/custom-handler.md §2.3).
	var q struct {
		Data     map[string]json.RawMessage
		Metadata map[string]json.RawMessage
	}
	if err := json.Unmarshal([]byte(queuePayload("P", "hello", "id-1", 1)), &q); err != nil {
		t.Fatal(err)
	}
	for what, c := range map[string]struct {
		got  json.RawMessage
		want string
	}{
		"Data.msg":              {q.Data["msg"], `"\"hello\""`},
		"Metadata.DequeueCount": {q.Metadata["DequeueCount"], `"1"`},
		"Metadata.Id":           {q.Metadata["Id"], `"\"id-1\""`},
	} {
		if string(c.got) != c.want {
			t.Errorf("%s = %s, want %s", what, c.got, c.want)
		}
	}
}

// httpCall describes an HTTP request to the host, on localhost:7071.
type httpCall struct {
	fn, method, path string
	query            [][2]string // in order; a key may repeat
	params           map[string]string
	contentType      string
	body             string
}

// anonymous is the identity of a request without credentials.
const anonymous = `[{"AuthenticationType":null,"IsAuthenticated":false,"Actor":null,"BootstrapContext":null,` +
	`"Claims":[],"Label":null,"Name":null,` +
	`"NameClaimType":"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name",` +
	`"RoleClaimType":"http://schemas.microsoft.com/ws/2008/06/identity/claims/role"}]`

// sysJSON is Metadata.sys for function fn, at a fixed time.
func sysJSON(fn string) string {
	return `{"MethodName":` + strconv.Quote(fn) +
		`,"UtcNow":"2024-10-25T10:00:00.1234567Z","RandGuid":"0f8fad5b-d9cb-469f-a165-70867728950e"}`
}

// encode is the host's encoder for a string value: its JSON text, which
// is then written as a JSON string (so strings end up encoded twice).
func encode(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// httpPayload builds the custom-handler request the host sends for an HTTP
// trigger named "req" (docs/custom-handler.md §3 and §4).
func httpPayload(c httpCall) string {
	u := "http://localhost:7071" + c.path
	query := map[string]string{}     // Data: repeated keys joined with ","
	lastQuery := map[string]string{} // Metadata: last value wins
	var raw []string
	for _, kv := range c.query {
		raw = append(raw, url.QueryEscape(kv[0])+"="+url.QueryEscape(kv[1]))
		if q, ok := query[kv[0]]; ok {
			query[kv[0]] = q + "," + kv[1]
		} else {
			query[kv[0]] = kv[1]
		}
		lastQuery[kv[0]] = kv[1]
	}
	if len(raw) > 0 {
		u += "?" + strings.Join(raw, "&")
	}
	headers := map[string][]string{"Host": {"localhost:7071"}}
	if c.body != "" {
		headers["Content-Type"] = []string{c.contentType}
		headers["Content-Length"] = []string{strconv.Itoa(len(c.body))}
	}
	params := c.params
	if params == nil {
		params = map[string]string{}
	}
	req := map[string]any{
		"Url": u, "Method": c.method, "Query": query, "Headers": headers,
		"Params": params, "Identities": json.RawMessage(anonymous),
	}
	if c.body != "" { // Body is absent for an empty request body
		req["Body"] = c.body
	}

	flatHeaders := map[string]string{}
	for k, v := range headers {
		flatHeaders[k] = strings.Join(v, ",")
	}
	meta := map[string]any{"Query": lastQuery, "Headers": flatHeaders, "sys": json.RawMessage(sysJSON(c.fn))}
	// Binding data: top-level JSON body properties, then query parameters
	// (except "code"), then route parameters; strings are double-encoded.
	addJSONProps(meta, c.body)
	for k, v := range lastQuery {
		if k != "code" {
			meta[k] = encode(v)
		}
	}
	for k, v := range c.params {
		meta[k] = encode(v)
	}
	b, _ := json.Marshal(map[string]any{"Data": map[string]any{"req": req}, "Metadata": meta})
	return string(b)
}

// queuePayload builds the custom-handler request the host sends for a
// storage-queue trigger named "msg" holding the text message
// (docs/custom-handler.md §2.3 and §4).
func queuePayload(fn, message, id string, dequeueCount int) string {
	meta := map[string]any{
		"DequeueCount":    strconv.Itoa(dequeueCount),
		"Id":              encode(id),
		"PopReceipt":      encode("AgAAAAMAAAAAAAAA"),
		"ExpirationTime":  "2026-12-01T10:00:00+00:00",
		"InsertionTime":   "2026-11-24T10:00:00+00:00",
		"NextVisibleTime": "2026-11-24T10:10:00+00:00",
		"sys":             json.RawMessage(sysJSON(fn)),
	}
	// The host adds the top-level properties of a JSON object message.
	addJSONProps(meta, message)
	b, _ := json.Marshal(map[string]any{"Data": map[string]any{"msg": encode(message)}, "Metadata": meta})
	return string(b)
}

// addJSONProps adds the top-level properties of text, when it is a JSON
// object, to the metadata as the host does: objects as they are, other
// values as double-encoded strings; arrays and nulls are left out.
func addJSONProps(meta map[string]any, text string) {
	var props map[string]json.RawMessage
	if json.Unmarshal([]byte(text), &props) != nil {
		return
	}
	for k, v := range props {
		switch v[0] {
		case '{':
			meta[k] = v
		case '[', 'n':
		case '"':
			var s string
			_ = json.Unmarshal(v, &s)
			meta[k] = encode(s)
		default: // numbers and booleans as their text
			meta[k] = encode(string(v))
		}
	}
}
