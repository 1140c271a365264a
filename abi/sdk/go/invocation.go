package wasmworker

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"

	"github.com/wasmworker/wasmworker/abi/sdk/go/internal/hostabi"
)

func init() {
	hostabi.Dispatch = dispatch
	hostabi.Functions = declareAll
}

// Invocation is the invocation in progress, as a handler's context carries
// it. Its fields are read from the host when the invocation starts; its
// methods read inputs and metadata and fail with ErrNoInvocation once the
// invocation has ended.
type Invocation struct {
	ID           string // InvocationRequest.invocation_id
	FunctionID   string
	FunctionName string // the registered name
	TraceParent  string // W3C traceparent of the invocation, if any
	TraceState   string
	// RetryCount and MaxRetryCount are the host's retry context, -1 when the
	// host sent none (the function declares no retry policy).
	RetryCount, MaxRetryCount int

	seq uint64 // which invocation this is; see live
}

// current counts invocations; an Invocation is live while its seq is the
// current one and an invocation is running.
var (
	current uint64
	running bool
)

// live reports whether inv is the invocation in progress.
func (inv *Invocation) live() error {
	if inv == nil || !running || inv.seq != current {
		return fmt.Errorf("wasmworker: %w (the invocation of this context has ended)", ErrNoInvocation)
	}
	return nil
}

type ctxKey struct{}

// errEnded is the cause of a handler context's cancellation.
var errEnded = errors.New("wasmworker: the invocation ended")

// FromContext returns the invocation that ctx (a handler's context, or one
// derived from it, such as r.Context() of an HTTP handler) carries.
func FromContext(ctx context.Context) (*Invocation, bool) {
	inv, ok := ctx.Value(ctxKey{}).(*Invocation)
	return inv, ok
}

// Input returns the input binding name (the trigger included). A binding the
// host did not send gives ErrNotFound, wrapped with the name; a null one
// gives a Value of type None.
func (inv *Invocation) Input(name string) (Value, error) {
	if err := inv.live(); err != nil {
		return Value{}, err
	}
	v, err := Input(name)
	if err != nil {
		return Value{}, fmt.Errorf("input %s: %w", name, err)
	}
	return v, nil
}

// Metadata returns the trigger-metadata entry key (for example "Id" of a
// queue message), wrapped with the key on error.
func (inv *Invocation) Metadata(key string) (Value, error) {
	if err := inv.live(); err != nil {
		return Value{}, err
	}
	v, err := Metadata(key)
	if err != nil {
		return Value{}, fmt.Errorf("trigger metadata %s: %w", key, err)
	}
	return v, nil
}

// MetadataKeys returns the trigger-metadata keys, sorted.
func (inv *Invocation) MetadataKeys() []string {
	if inv.live() != nil {
		return nil
	}
	return MetadataKeys()
}

// InputNames returns the names of the inputs the host sent, sorted.
func (inv *Invocation) InputNames() []string {
	if inv.live() != nil {
		return nil
	}
	return InputNames()
}

// contextInt reads an INT of source CONTEXT, or -1.
func contextInt(name string) int {
	v, err := getValue(srcContext, name)
	if err != nil {
		return -1
	}
	n, ok := v.Int()
	if !ok {
		return -1
	}
	return int(n)
}

// dispatch is the body of the export ww_dispatch.
func dispatch() (status int32) {
	h := host()
	v, err := getValue(srcContext, "function_name")
	if err != nil {
		h.SetError(fmt.Sprintf("wasmworker: read the function name of the invocation: %v", err))
		return 1
	}
	name := string(v.Data)
	r := lookup(name)
	if r == nil {
		h.SetError(fmt.Sprintf("wasmworker: this module has no function %q (registered: %s)", name, registered()))
		return 1
	}
	current++
	running = true
	inv := &Invocation{
		ID: getString(srcContext, "invocation_id"), FunctionID: getString(srcContext, "function_id"),
		FunctionName: r.decl.Name, TraceParent: getString(srcContext, "trace_parent"),
		TraceState: getString(srcContext, "trace_state"), RetryCount: contextInt("retry_count"),
		MaxRetryCount: contextInt("max_retry_count"), seq: current,
	}
	ctx, cancel := context.WithCancelCause(context.WithValue(context.Background(), ctxKey{}, inv))
	defer func() {
		running = false
		cancel(errEnded)
		if p := recover(); p != nil {
			h.SetError(fmt.Sprintf("%s: panic: %v", r.decl.Name, p))
			status = 1
		}
	}()
	if err := r.run(ctx); err != nil {
		h.SetError(err.Error())
		return 1
	}
	return 0
}

// SetOutput sets the output binding name of the invocation of ctx ("$return"
// for the return value) to v: a string as STRING, []byte as BYTES,
// json.RawMessage as JSON text, integers as INT, floats as DOUBLE, and any
// other value marshalled with encoding/json. Setting a binding again
// replaces its value.
func SetOutput(ctx context.Context, name string, v any) error {
	inv, _ := FromContext(ctx)
	if err := inv.live(); err != nil {
		return fmt.Errorf("set output %s: %w", name, err)
	}
	t, data, err := encode(v)
	if err != nil {
		return fmt.Errorf("set output %s: %w", name, err)
	}
	if err := SetOutputRaw(name, t, data); err != nil {
		return fmt.Errorf("set output %s: %w", name, err)
	}
	return nil
}

// encode turns a Go value into a type tag and bytes (SPEC.md §4.4).
func encode(v any) (Type, []byte, error) {
	var n int64
	switch x := v.(type) {
	case string:
		return String, []byte(x), nil
	case []byte:
		return Bytes, x, nil
	case json.RawMessage:
		return JSON, x, nil
	case float64:
		return Double, binary.LittleEndian.AppendUint64(nil, math.Float64bits(x)), nil
	case float32:
		return Double, binary.LittleEndian.AppendUint64(nil, math.Float64bits(float64(x))), nil
	case int:
		n = int64(x)
	case int8:
		n = int64(x)
	case int16:
		n = int64(x)
	case int32:
		n = int64(x)
	case int64:
		n = x
	case uint8:
		n = int64(x)
	case uint16:
		n = int64(x)
	case uint32:
		n = int64(x)
	default:
		b, err := json.Marshal(v)
		if err != nil {
			return 0, nil, fmt.Errorf("marshal as JSON: %w", err)
		}
		return JSON, b, nil
	}
	return Int, binary.LittleEndian.AppendUint64(nil, uint64(n)), nil
}

// metaString reads trigger-metadata key as text: a JSON string unquoted,
// other JSON as written, STRING as is ("" when absent).
func metaString(key string) string {
	v, err := Metadata(key)
	if err != nil {
		return ""
	}
	if v.Type == JSON {
		var s string
		if json.Unmarshal(v.Data, &s) == nil {
			return s
		}
	}
	return v.String()
}

// metaInt reads trigger-metadata key as an integer (INT, or a number in
// JSON or text, quoted or not); 0 when absent or not a number.
func metaInt(key string) int {
	v, err := Metadata(key)
	if err != nil {
		return 0
	}
	if n, ok := v.Int(); ok {
		return int(n)
	}
	n, _ := strconv.Atoi(metaString(key))
	return n
}
