package wasmworker_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	ww "github.com/wasmworker/wasmworker/abi/sdk/go"
	"github.com/wasmworker/wasmworker/abi/sdk/go/internal/hostabi"
	"github.com/wasmworker/wasmworker/abi/sdk/go/wwtest"
)

// job is the JSON body of the test queue's messages.
type job struct {
	Task string `json:"task"`
	N    int    `json:"n"`
}

// The functions under test, registered as an app registers them.
var ended context.Context // the context of the last Work invocation

func init() {
	ww.HandleQueue("Work", "work", func(ctx context.Context, msg *ww.QueueMessage) error {
		ended = ctx
		var j job
		if err := msg.Decode(&j); err != nil {
			return err
		}
		if j.Task == "" {
			return errors.New("empty task")
		}
		inv, ok := ww.FromContext(ctx)
		if !ok {
			return errors.New("no invocation in the context")
		}
		ww.Logger(ctx).Info("working", "task", j.Task, "attempt", msg.DequeueCount, "id", msg.ID, "inv", inv.ID)
		if err := ww.SetOutput(ctx, "out", map[string]any{"task": strings.ToUpper(j.Task), "n": j.N * 2,
			"inserted": msg.InsertionTime.Format(time.RFC3339), "function": inv.FunctionName}); err != nil {
			return err
		}
		return ww.SetOutput(ctx, "count", j.N)
	}, ww.Connection("MyStorage"), ww.QueueOutput("out", "work-done"),
		ww.Bind(ww.Binding{"type": "queue", "direction": "out", "name": "count", "queueName": "counts"}))

	ww.HandleTimer("Tick", "0 */5 * * * *", func(ctx context.Context, t *ww.TimerInfo) error {
		return ww.SetOutput(ctx, "$return", fmt.Sprintf("past due %v, next %s", t.IsPastDue, t.Next.Format(time.RFC3339)))
	}, ww.Return("queue", ww.Binding{"queueName": "ticks"}), ww.RetryFixedDelay(3, 5*time.Second))

	ww.Handle("Generic", func(ctx context.Context) error {
		inv, _ := ww.FromContext(ctx)
		in, err := inv.Input("doc")
		if err != nil {
			return err
		}
		if _, err := inv.Metadata("Missing"); !errors.Is(err, ww.ErrNotFound) || !strings.Contains(err.Error(), "Missing") {
			return fmt.Errorf("metadata error %v", err)
		}
		if err := ww.SetOutput(ctx, "nope", "x"); !errors.Is(err, ww.ErrNotOutput) || !strings.Contains(err.Error(), "nope") {
			return fmt.Errorf("set output error %v", err)
		}
		if err := ww.SetOutput(ctx, "raw", json.RawMessage("{bad")); !errors.Is(err, ww.ErrBadJSON) {
			return fmt.Errorf("bad JSON error %v", err)
		}
		if inv.RetryCount != 2 || inv.MaxRetryCount != 5 {
			return fmt.Errorf("retry context %d/%d", inv.RetryCount, inv.MaxRetryCount)
		}
		return ww.SetOutput(ctx, "raw", in.Data)
	},
		ww.Bind(ww.Binding{"type": "eventGridTrigger", "direction": "in", "name": "ev"}),
		ww.BlobInput("doc", "docs/{data.name}"),
		ww.Bind(ww.Binding{"type": "blob", "direction": "out", "name": "raw", "path": "copies/{data.name}"}),
		ww.RetryExponentialBackoff(5, time.Second, 90*time.Minute), ww.Disabled(),
		ww.Env("GREETING"), ww.AllowedHosts("https://api.example.com"), ww.Dir("data", "/data", false),
		ww.Grant("memoryMB", 64))

	ww.HandleBlob("Panics", "in/{name}", func(ctx context.Context, b *ww.Blob) error {
		panic("boom on " + b.Path)
	})
}

// TestDeclarations: what the module tells the worker, exactly.
func TestDeclarations(t *testing.T) {
	decls, err := wwtest.Declarations()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`{"name":"Work","entryPoint":"ww_dispatch","bindings":[{"connection":"MyStorage","direction":"in","name":"msg","queueName":"work","type":"queueTrigger"},{"connection":"MyStorage","direction":"out","name":"out","queueName":"work-done","type":"queue"},{"connection":"MyStorage","direction":"out","name":"count","queueName":"counts","type":"queue"}]}`,
		`{"name":"Tick","entryPoint":"ww_dispatch","bindings":[{"direction":"in","name":"timer","schedule":"0 */5 * * * *","type":"timerTrigger"},{"connection":"AzureWebJobsStorage","direction":"out","name":"$return","queueName":"ticks","type":"queue"}],"retry":{"strategy":"fixedDelay","maxRetryCount":3,"delayInterval":"00:00:05"}}`,
		`{"name":"Generic","entryPoint":"ww_dispatch","bindings":[{"direction":"in","name":"ev","type":"eventGridTrigger"},{"connection":"AzureWebJobsStorage","dataType":"binary","direction":"in","name":"doc","path":"docs/{data.name}","type":"blob"},{"connection":"AzureWebJobsStorage","direction":"out","name":"raw","path":"copies/{data.name}","type":"blob"}],"retry":{"strategy":"exponentialBackoff","maxRetryCount":5,"minimumInterval":"00:00:01","maximumInterval":"01:30:00"},"disabled":true,"wasmworker":{"allowedHosts":["https://api.example.com"],"dirs":[{"path":"data","mount":"/data"}],"env":["GREETING"],"memoryMB":64}}`,
		`{"name":"Panics","entryPoint":"ww_dispatch","bindings":[{"connection":"AzureWebJobsStorage","dataType":"binary","direction":"in","name":"blob","path":"in/{name}","type":"blobTrigger"}]}`,
	}
	if len(decls) != len(want) {
		t.Fatalf("%d declarations, want %d: %s", len(decls), len(want), decls)
	}
	for i, d := range decls {
		if string(d) != want[i] {
			t.Errorf("declaration %d:\n got %s\nwant %s", i, d, want[i])
		}
	}
}

// TestQueue: the message and its metadata, JSON and INT outputs, slog logs.
func TestQueue(t *testing.T) {
	inserted := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	res, err := wwtest.Invoke("Work", wwtest.Queue(ww.QueueMessage{ID: "m-1", DequeueCount: 2, InsertionTime: inserted,
		Body: []byte(`{"task":"wash","n":21}`)}), wwtest.InvocationID("inv-7"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	var out map[string]any
	if err := res.DecodeOutput("out", &out); err != nil {
		t.Fatal(err)
	}
	if out["task"] != "WASH" || out["n"] != 42.0 || out["inserted"] != "2026-01-02T03:04:05Z" || out["function"] != "Work" {
		t.Errorf("out = %v", out)
	}
	if v, _ := res.Output("out"); v.Type != ww.JSON {
		t.Errorf("out has type %d, want JSON", v.Type)
	}
	if v, _ := res.Output("count"); v.Type != ww.Int || v.String() != "21" {
		t.Errorf("count = %v %q", v.Type, v.String())
	}
	if got := strings.Join(res.LogMessages(), "|"); got != "working task=wash attempt=2 id=m-1 inv=inv-7" {
		t.Errorf("logs %q", got)
	}
	if res.Logs[0].Level != ww.Information {
		t.Errorf("level %d", res.Logs[0].Level)
	}
	// The handler's context ended with the invocation.
	select {
	case <-ended.Done():
		if !strings.Contains(context.Cause(ended).Error(), "invocation ended") {
			t.Errorf("cause %v", context.Cause(ended))
		}
	default:
		t.Error("the context of a finished invocation is not done")
	}
	// An Invocation kept past its end refuses to read.
	inv, _ := ww.FromContext(ended)
	if _, err := inv.Input("msg"); !errors.Is(err, ww.ErrNoInvocation) {
		t.Errorf("Input after the end: %v", err)
	}
	if err := ww.SetOutput(ended, "out", "late"); !errors.Is(err, ww.ErrNoInvocation) {
		t.Errorf("SetOutput after the end: %v", err)
	}
}

// TestQueueFailures: a returned error and a bad message fail the invocation
// with their text and no outputs.
func TestQueueFailures(t *testing.T) {
	for body, want := range map[string]string{`{"task":""}`: "empty task", `not json`: "decode queue message m-2"} {
		res, err := wwtest.Invoke("Work", wwtest.Queue(ww.QueueMessage{ID: "m-2", Body: []byte(body)}))
		if err != nil {
			t.Fatal(err)
		}
		if res.Err == nil || !strings.Contains(res.Err.Error(), want) || res.Outputs != nil {
			t.Errorf("%s: err %v, outputs %v", body, res.Err, res.Outputs)
		}
	}
}

// TestTimerReturn: the timer value decoded, the return value set, names
// matched case-insensitively.
func TestTimerReturn(t *testing.T) {
	res, err := wwtest.Invoke("tick", wwtest.Input("timer", json.RawMessage(
		`{"Schedule":{"AdjustForDST":true},"ScheduleStatus":{"Last":"2026-01-01T00:00:00+00:00","Next":"2026-01-01T00:05:00+00:00","LastUpdated":"2026-01-01T00:00:00"},"IsPastDue":true}`)))
	if err != nil {
		t.Fatal(err)
	}
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	if v, _ := res.Output("$return"); v.String() != "past due true, next 2026-01-01T00:05:00Z" {
		t.Errorf("$return = %q", v.String())
	}
}

// TestGeneric: Handle with any bindings, errors naming the binding or key,
// the retry context.
func TestGeneric(t *testing.T) {
	res, err := wwtest.Invoke("Generic", wwtest.Input("ev", json.RawMessage(`{}`)), wwtest.Input("doc", []byte{1, 2, 3}),
		wwtest.RetryContext(2, 5))
	if err != nil {
		t.Fatal(err)
	}
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	if v, _ := res.Output("raw"); v.Type != ww.Bytes || string(v.Data) != "\x01\x02\x03" {
		t.Errorf("raw = %+v", v)
	}
	res, err = wwtest.Invoke("Generic", wwtest.RetryContext(2, 5))
	if err != nil {
		t.Fatal(err)
	}
	if res.Err == nil || res.Err.Error() != "Generic failed: input doc: wasmworker: not found" {
		t.Errorf("missing input: %v", res.Err)
	}
}

// TestPanic: a panic fails the invocation with its text.
func TestPanic(t *testing.T) {
	res, err := wwtest.Invoke("Panics", wwtest.Input("blob", []byte("x")), wwtest.Metadata("BlobTrigger", "in/a.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Err == nil || res.Err.Error() != "Panics failed: Panics: panic: boom on in/a.txt" {
		t.Errorf("err %v", res.Err)
	}
}

// TestUnknownFunction: wwtest and the module's entry point both name the
// registered functions.
func TestUnknownFunction(t *testing.T) {
	if _, err := wwtest.Invoke("Nope"); err == nil || !strings.Contains(err.Error(), "Work, Tick, Generic, Panics") {
		t.Errorf("wwtest error %v", err)
	}
	h := &nameHost{name: "Nope"}
	hostabi.Current = h
	status := hostabi.Dispatch()
	hostabi.Current = nil
	if status != 1 || h.err != `wasmworker: this module has no function "Nope" (registered: Work, Tick, Generic, Panics)` {
		t.Errorf("status %d, error %q", status, h.err)
	}
}

// TestNoHost: outside the host and wwtest every call says so.
func TestNoHost(t *testing.T) {
	if _, err := ww.Input("x"); !errors.Is(err, ww.ErrNoInvocation) {
		t.Errorf("Input: %v", err)
	}
	if err := ww.SetOutput(context.Background(), "x", 1); !errors.Is(err, ww.ErrNoInvocation) {
		t.Errorf("SetOutput: %v", err)
	}
	// Logging outside the host goes to standard error, without an error.
	if err := ww.NewLogHandler(nil).Handle(context.Background(), slog.NewRecord(time.Now(), slog.LevelInfo, "x", 0)); err != nil {
		t.Error(err)
	}
}

// TestLogHandler: levels, attributes, groups and quoting.
func TestLogHandler(t *testing.T) {
	h := &nameHost{}
	hostabi.Current = h
	defer func() { hostabi.Current = nil }()
	l := slog.New(ww.NewLogHandler(&slog.HandlerOptions{Level: slog.LevelDebug})).With("app", "demo").WithGroup("req")
	l.Debug("d", "path", "/a b")
	l.Info("i", slog.Group("user", "id", 7))
	l.Warn("w")
	l.Error("e", "err", errors.New("bad\nthing"))
	l.Log(context.Background(), slog.LevelDebug-1, "dropped")
	l.Log(context.Background(), slog.LevelError+4, "c")
	want := []string{`1 d app=demo req.path="/a b"`, `2 i app=demo req.user.id=7`, `3 w app=demo`, `4 e app=demo req.err="bad\nthing"`, `5 c app=demo`}
	if strings.Join(h.logs, "|") != strings.Join(want, "|") {
		t.Errorf("logs\n got %q\nwant %q", h.logs, want)
	}
}

// nameHost is a host that names a function and records the error message
// and logs.
type nameHost struct {
	name string
	err  string
	logs []string
}

func (h *nameHost) Get(source uint32, name string, buf []byte) int64 {
	if source == 2 && name == "function_name" {
		copy(buf, h.name)
		return int64(ww.String)<<32 | int64(len(h.name))
	}
	return int64(ww.ErrNotFound)
}
func (h *nameHost) GetItem(uint32, string, int32, []byte) int64 { return int64(ww.ErrNotFound) }
func (h *nameHost) GetKey(uint32, int32, []byte) int64          { return int64(ww.ErrNotFound) }
func (h *nameHost) SetOutput(string, uint32, []byte) int32      { return int32(ww.ErrNotOutput) }
func (h *nameHost) SetError(msg string) int32                   { h.err = msg; return 0 }
func (h *nameHost) HTTPStatus(int32) int32                      { return int32(ww.ErrNoHTTP) }
func (h *nameHost) HTTPHeader(string, string) int32             { return int32(ww.ErrNoHTTP) }
func (h *nameHost) HTTPCookie(string) int32                     { return int32(ww.ErrNoHTTP) }
func (h *nameHost) HTTPBody(uint32, []byte) int32               { return int32(ww.ErrNoHTTP) }
func (h *nameHost) Declare([]byte) int32                        { return int32(ww.ErrUnsupported) }
func (h *nameHost) Log(level int32, msg string) int32 {
	h.logs = append(h.logs, fmt.Sprint(level, " ", msg))
	return 0
}
