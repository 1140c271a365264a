package devhost

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/wasmworker/wasmworker/internal/devhost/httpbind"
	"github.com/wasmworker/wasmworker/internal/devhost/storage"
	"github.com/wasmworker/wasmworker/internal/fnhost"
	"github.com/wasmworker/wasmworker/internal/funcapp"
	"github.com/wasmworker/wasmworker/internal/protocol/rpc"
)

// defaultFunctionTimeout applies when host.json sets no functionTimeout
// (the host's default outside the Consumption plan).
const defaultFunctionTimeout = 30 * time.Minute

// pickTimeout bounds how long an invocation waits for a ready worker.
const pickTimeout = 2 * time.Minute

// call is one trigger execution to run.
type call struct {
	fn       *function
	trigger  *rpc.TypedData
	metadata map[string]*rpc.TypedData
	reason   string
	retry    *rpc.RetryContext
	id       string // "" → a fresh invocation id
}

// outcome is what an invocation produced.
type outcome struct {
	id       string
	err      error
	response *rpc.TypedData // value of the http output binding, nil if none
	duration time.Duration
	worker   string // the pool slot that ran it, "" if none was picked
}

// invoke runs c on a worker, writes its outputs and logs start, guest logs and end.
func (g *generation) invoke(ctx context.Context, c call) outcome {
	id := c.id
	if id == "" {
		id = fnhost.NewInvocationID()
	}
	con := g.h.con
	con.emit(Event{Kind: "start", Function: c.fn.Name, InvocationID: id, Reason: c.reason})
	start := time.Now()
	out := g.run(ctx, c, id)
	out.id = id
	out.duration = time.Since(start)
	ms := float64(out.duration.Microseconds()) / 1000
	e := Event{Kind: "end", Function: c.fn.Name, InvocationID: id, Status: "Succeeded", DurationMS: &ms, Worker: out.worker}
	if out.err != nil {
		e.Status, e.Level, e.Error = "Failed", "Error", out.err.Error()
	}
	con.emit(e)
	return out
}

func (g *generation) functionTimeout() time.Duration {
	switch t := g.app.Host.FunctionTimeout; {
	case t == funcapp.NoTimeout:
		return 0
	case t <= 0:
		return defaultFunctionTimeout
	default:
		return t
	}
}

func (g *generation) run(ctx context.Context, c call, id string) (out outcome) {
	if g.pool == nil {
		return outcome{err: errors.New("no worker is running")}
	}
	pctx, cancel := context.WithTimeout(ctx, pickTimeout)
	s, w, fid, err := g.pool.pick(pctx, c.fn.Name)
	cancel()
	if s != nil {
		defer func() { out.worker = s.name() }()
	}
	if err != nil {
		return outcome{err: err}
	}
	data := bindingData(c)
	in, err := g.bindInputs(ctx, c, data)
	if err != nil {
		return outcome{err: err}
	}
	req := &rpc.InvocationRequest{
		InvocationId:    id,
		FunctionId:      fid,
		InputData:       in,
		TriggerMetadata: c.metadata,
		TraceContext:    &rpc.RpcTraceContext{TraceParent: traceParent(), Attributes: map[string]string{}},
		RetryContext:    c.retry,
	}
	// A message the worker's stream cannot carry would end the stream when
	// it is written, failing every invocation in flight on that worker and
	// restarting it: refuse it here instead, for this invocation alone.
	if err := checkSendable(req); err != nil {
		return outcome{err: &hostError{fmt.Sprintf("wasmfunc cannot send this invocation of %s to the worker: %v", c.fn.Name, err)}}
	}
	ictx := ctx
	timeout := g.functionTimeout()
	if timeout > 0 {
		var cancel context.CancelFunc
		ictx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
		// The host restarts the worker that ran a timed-out invocation,
		// failing its other invocations too (docs/host-contract.md §2.17).
		stop := context.AfterFunc(ictx, func() {
			if errors.Is(ictx.Err(), context.DeadlineExceeded) && ctx.Err() == nil {
				s.restart(w)
			}
		})
		defer stop()
	}
	onLog := func(l *rpc.RpcLog) {
		e := Event{Kind: "log", Function: c.fn.Name, InvocationID: id, Level: levelName(l.GetLevel()), Message: l.GetMessage()}
		if ex := l.GetException(); ex != nil {
			e.Error = strings.TrimSpace(ex.GetMessage() + "\n" + ex.GetStackTrace())
		}
		g.h.con.emit(e)
	}
	resp, err := w.Invoke(ictx, req, onLog)
	if timeout > 0 && errors.Is(ictx.Err(), context.DeadlineExceeded) && ctx.Err() == nil {
		return outcome{err: fmt.Errorf("Timeout value of %s exceeded by function 'Functions.%s' (Id: '%s'); the worker is restarted", timeout, c.fn.Name, id)}
	}
	if err != nil {
		return outcome{err: fmt.Errorf("invocation failed: %w", err)}
	}
	if r := resp.GetResult(); r == nil || r.GetStatus() != rpc.StatusResult_Success {
		return outcome{err: resultError(r)}
	}
	values, err := outputValues(c.fn, resp)
	if err != nil {
		return outcome{err: err}
	}
	if err := g.writeOutputs(ctx, c.fn, values, data); err != nil {
		return outcome{err: err}
	}
	var httpResp *rpc.TypedData
	if c.fn.httpOutput != "" {
		httpResp = values[c.fn.httpOutput]
	}
	if httpResp == nil && c.fn.kind == kindHTTP && c.fn.ReturnBinding() == nil && resp.GetReturnValue().GetData() != nil {
		// An HTTP trigger's return value becomes the response when no http
		// output produced one (docs/host-contract.md §2.7).
		httpResp = resp.GetReturnValue()
	}
	if c.fn.kind == kindHTTP {
		if err := httpbind.CheckResponse(httpResp); err != nil {
			var se *httpbind.StatusError
			if errors.As(err, &se) {
				return outcome{err: &hostError{fmt.Sprintf("function %q returned an invalid HTTP status code %q (a response status must be an integer from 200 to 599)", c.fn.Name, se.Value)}}
			}
			// The host cannot convert the value (ToObject throws): the
			// invocation fails and the caller gets its empty 500.
			return outcome{err: fmt.Errorf("function %q returned an HTTP output the host cannot convert: %w", c.fn.Name, err)}
		}
	}
	return outcome{response: httpResp}
}

// hostError is an invocation failure that the local host detected itself
// (a request it cannot send, a response it cannot write) rather than a
// failure the function reported. The HTTP caller gets its message as the
// body of the 500, where a failed function gets an empty one as from the
// real host.
type hostError struct{ msg string }

func (e *hostError) Error() string { return e.msg }

// checkSendable reports why req cannot be sent to a worker: a string field
// (or map key) that is not valid UTF-8, which protobuf refuses to marshal,
// or a message above the gRPC message limit. The request builders make every
// string valid UTF-8 (rpcconv.Text); this is the safety net that keeps
// one bad request from taking the worker's stream down with it.
func checkSendable(req *rpc.InvocationRequest) error {
	if field := invalidUTF8(req.ProtoReflect(), "InvocationRequest"); field != "" {
		return fmt.Errorf("%s is not valid UTF-8", field)
	}
	msg := &rpc.StreamingMessage{Content: &rpc.StreamingMessage_InvocationRequest{InvocationRequest: req}}
	if n := proto.Size(msg); n > fnhost.MaxMessageLength {
		return fmt.Errorf("the request is %d bytes, above the gRPC message limit of %d bytes", n, fnhost.MaxMessageLength)
	}
	return nil
}

// invalidUTF8 returns the path of the first string field or map key of m
// (a message named path) that is not valid UTF-8, or "". The path is built
// only for a bad field; a valid request costs one walk over its fields
// (cheaper than marshalling it, which would copy the body).
func invalidUTF8(m protoreflect.Message, path string) string {
	if steps := badStrings(m); steps != nil {
		slices.Reverse(steps)
		return path + strings.Join(steps, "")
	}
	return ""
}

// badStrings returns, innermost first, the steps to the first string of m
// that is not valid UTF-8 (".field", "[index]", `["key"]`, " key"), or nil.
func badStrings(m protoreflect.Message) []string {
	var steps []string
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsList():
			l := v.List()
			for i := 0; i < l.Len() && steps == nil; i++ {
				if steps = badValue(fd, l.Get(i)); steps != nil {
					steps = append(steps, fmt.Sprintf("[%d]", i))
				}
			}
		case fd.IsMap():
			v.Map().Range(func(k protoreflect.MapKey, mv protoreflect.Value) bool {
				if fd.MapKey().Kind() == protoreflect.StringKind && !utf8.ValidString(k.String()) {
					steps = []string{fmt.Sprintf(" key %q", k.String())}
				} else if steps = badValue(fd.MapValue(), mv); steps != nil {
					steps = append(steps, fmt.Sprintf("[%q]", k.String()))
				}
				return steps == nil
			})
		default:
			steps = badValue(fd, v)
		}
		if steps != nil {
			steps = append(steps, "."+string(fd.Name()))
		}
		return steps == nil
	})
	return steps
}

// badValue is badStrings for one value of field fd.
func badValue(fd protoreflect.FieldDescriptor, v protoreflect.Value) []string {
	switch fd.Kind() {
	case protoreflect.StringKind:
		if !utf8.ValidString(v.String()) {
			return []string{}
		}
	case protoreflect.MessageKind, protoreflect.GroupKind:
		return badStrings(v.Message())
	}
	return nil
}

// resultError turns a non-success StatusResult into the host's message.
func resultError(r *rpc.StatusResult) error {
	if r == nil {
		return errors.New("the worker sent an InvocationResponse without a result")
	}
	msg := fmt.Sprintf("Result: %s", r.GetStatus())
	if ex := r.GetException(); ex != nil {
		msg += "\nException: " + ex.GetMessage()
		if st := ex.GetStackTrace(); st != "" {
			msg += "\nStack: " + st
		}
	}
	return errors.New(msg)
}

// inputs lists the trigger first, then every other input binding, sent as
// null (an empty TypedData), as the host does for a missing value;
// bindInputs fills those wasmfunc emulates.
func inputs(fn *function, trigger *rpc.TypedData) []*rpc.ParameterBinding {
	if trigger == nil {
		trigger = &rpc.TypedData{}
	}
	out := []*rpc.ParameterBinding{{Name: fn.trigger.Name, RpcData: &rpc.ParameterBinding_Data{Data: trigger}}}
	for _, b := range fn.Bindings {
		if b.Direction == "in" && !b.IsTrigger() {
			out = append(out, &rpc.ParameterBinding{Name: b.Name, RpcData: &rpc.ParameterBinding_Data{Data: &rpc.TypedData{}}})
		}
	}
	return out
}

// bindInputs is inputs with the blob inputs read from the load's storage (a
// blob that does not exist stays null).
func (g *generation) bindInputs(ctx context.Context, c call, data storage.BindingData) ([]*rpc.ParameterBinding, error) {
	in := inputs(c.fn, c.trigger)
	for i := range c.fn.Bindings {
		b := &c.fn.Bindings[i]
		if b.Direction != "in" || b.IsTrigger() || !strings.EqualFold(b.Type, "blob") {
			continue
		}
		v, err := g.readBlobInput(ctx, b, data)
		if err != nil {
			return nil, err
		}
		for _, p := range in[1:] {
			if p.Name == b.Name {
				p.RpcData = &rpc.ParameterBinding_Data{Data: v}
			}
		}
	}
	return in, nil
}

func traceParent() string {
	var b [24]byte
	_, _ = rand.Read(b[:])
	return "00-" + hex.EncodeToString(b[:16]) + "-" + hex.EncodeToString(b[16:]) + "-00"
}

// outputValues maps output binding names to values, as the host reads an
// InvocationResponse (docs/host-contract.md §2.7): output_data by name, the return value to the
// "$return" binding, or, without one, a JSON-object return value spread
// over the outputs named by its keys.
func outputValues(fn *function, resp *rpc.InvocationResponse) (map[string]*rpc.TypedData, error) {
	values := map[string]*rpc.TypedData{}
	for _, pb := range resp.GetOutputData() {
		if _, dup := values[pb.GetName()]; dup {
			return nil, fmt.Errorf("the worker sent output %q twice", pb.GetName())
		}
		switch d := pb.GetRpcData().(type) {
		case *rpc.ParameterBinding_Data:
			values[pb.GetName()] = d.Data
		case *rpc.ParameterBinding_RpcSharedMemory:
			return nil, fmt.Errorf("output %q uses shared memory, which wasmfunc does not support", pb.GetName())
		default:
			return nil, fmt.Errorf("output %q: Unknown ParameterBindingType", pb.GetName())
		}
	}
	rv := resp.GetReturnValue()
	if rv != nil && rv.GetData() != nil {
		if fn.ReturnBinding() != nil {
			values["$return"] = rv
		} else if j, ok := rv.GetData().(*rpc.TypedData_Json); ok {
			var obj map[string]json.RawMessage
			if json.Unmarshal([]byte(j.Json), &obj) == nil {
				for k, v := range obj {
					if _, set := values[k]; !set && fn.Binding(k) != nil {
						values[k] = &rpc.TypedData{Data: &rpc.TypedData_Json{Json: string(v)}}
					}
				}
			}
		}
	}
	for name, v := range values {
		switch v.GetData().(type) {
		case *rpc.TypedData_CollectionBytes, *rpc.TypedData_CollectionString, *rpc.TypedData_CollectionDouble,
			*rpc.TypedData_CollectionSint64, *rpc.TypedData_ModelBindingData, *rpc.TypedData_CollectionModelBindingData:
			// The host cannot convert these back (docs/host-contract.md §3.2).
			return nil, fmt.Errorf("output %q: Unknown RpcDataType %T", name, v.GetData())
		}
	}
	return values, nil
}

// writeOutputs performs the output bindings wasmfunc supports locally
// (queue and blob, on the load's storage); http outputs are written by the
// HTTP handler; others are reported. Every value is converted before any is
// written, so a value that cannot be written writes nothing.
func (g *generation) writeOutputs(ctx context.Context, fn *function, values map[string]*rpc.TypedData, data storage.BindingData) error {
	type pending struct {
		queue string
		msgs  [][]byte
	}
	var todo []pending
	var blobs []blobWrite
	for _, b := range fn.Outputs() {
		v, ok := values[b.Name]
		if !ok || v.GetData() == nil {
			continue
		}
		switch strings.ToLower(b.Type) {
		case "http":
		case "queue":
			name, _ := resolveSettings(b.Str("queueName"), g.lookup)
			msgs, err := queueMessages(v)
			if err != nil {
				return fmt.Errorf("output %s (queue %s): %w", b.Name, name, err)
			}
			todo = append(todo, pending{name, msgs})
		case "blob":
			w, err := g.blobOutput(b, v, data)
			if err != nil {
				return err
			}
			blobs = append(blobs, w)
		default:
			g.h.con.hostf("Warning", "%s: output binding %s of type %q is not supported by wasmfunc; its value is dropped", fn.Name, b.Name, b.Type)
		}
	}
	// The function has run: write its outputs even if the host is
	// stopping, but not forever.
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storageOpTimeout)
	defer cancel()
	for _, w := range blobs {
		if _, err := g.store.Blobs.Write(wctx, w.container, w.name, w.data); err != nil {
			return err
		}
	}
	for _, p := range todo {
		for _, m := range p.msgs {
			if _, err := g.store.Queues.Put(wctx, p.queue, m); err != nil {
				return err
			}
		}
	}
	return nil
}

// queueMessages converts a queue output value into message bodies: a JSON
// array gives one message per element, other JSON its compact text, strings
// and bytes themselves, numbers their text.
func queueMessages(v *rpc.TypedData) ([][]byte, error) {
	switch d := v.GetData().(type) {
	case *rpc.TypedData_String_:
		return [][]byte{[]byte(d.String_)}, nil
	case *rpc.TypedData_Bytes:
		return [][]byte{d.Bytes}, nil
	case *rpc.TypedData_Stream:
		return [][]byte{d.Stream}, nil
	case *rpc.TypedData_Int:
		return [][]byte{[]byte(strconv.FormatInt(d.Int, 10))}, nil
	case *rpc.TypedData_Double:
		return [][]byte{[]byte(strconv.FormatFloat(d.Double, 'g', -1, 64))}, nil
	case *rpc.TypedData_Json:
		t := bytes.TrimSpace([]byte(d.Json))
		if len(t) > 0 && t[0] == '[' {
			var items []json.RawMessage
			if err := json.Unmarshal(t, &items); err != nil {
				return nil, fmt.Errorf("json value is not valid JSON: %w", err)
			}
			var out [][]byte
			for _, it := range items {
				m, err := jsonMessage(it)
				if err != nil {
					return nil, err
				}
				out = append(out, m)
			}
			return out, nil
		}
		m, err := jsonMessage(t)
		if err != nil {
			return nil, err
		}
		return [][]byte{m}, nil
	default:
		return nil, fmt.Errorf("a %T value cannot be a queue message", v.GetData())
	}
}

// jsonMessage is the message text of one JSON value: a JSON string gives its
// content, anything else its compact JSON text.
func jsonMessage(raw []byte) ([]byte, error) {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return []byte(s), nil
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return nil, fmt.Errorf("json value is not valid JSON: %w", err)
	}
	return buf.Bytes(), nil
}
