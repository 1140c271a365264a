package devhost

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/wasmworker/wasmworker/internal/devhost/httpbind"
	"github.com/wasmworker/wasmworker/internal/devhost/queue"
	"github.com/wasmworker/wasmworker/internal/fnhost"
	"github.com/wasmworker/wasmworker/internal/funcapp"
	"github.com/wasmworker/wasmworker/internal/protocol/rpc"
)

// maxTime is DateTimeOffset.MaxValue, which the queue extension uses for
// absent expiration and visibility times.
var maxTime = time.Date(9999, 12, 31, 23, 59, 59, 999999900, time.UTC)

// netDate formats t as Newtonsoft.Json writes a DateTime/DateTimeOffset:
// ISO 8601, up to 7 fractional digits without trailing zeros, numeric offset.
func netDate(t time.Time) string {
	return t.Format("2006-01-02T15:04:05.9999999-07:00")
}

// defaultDateTime is .NET's default(DateTime) as Newtonsoft writes it.
const defaultDateTime = "0001-01-01T00:00:00"

// timerPayload builds the TimerInfo the host sends (as json TypedData):
// {"Schedule":{"AdjustForDST":true},"ScheduleStatus":{"Last","Next","LastUpdated"}|null,"IsPastDue":bool}.
func timerPayload(f *function, now, last time.Time, pastDue bool) *rpc.TypedData {
	type status struct {
		Last        string `json:"Last"`
		Next        string `json:"Next"`
		LastUpdated string `json:"LastUpdated"`
	}
	v := struct {
		Schedule       map[string]bool `json:"Schedule"`
		ScheduleStatus *status         `json:"ScheduleStatus"`
		IsPastDue      bool            `json:"IsPastDue"`
	}{Schedule: map[string]bool{"AdjustForDST": true}, IsPastDue: pastDue}
	if f.useMonitor {
		st := &status{Last: defaultDateTime, LastUpdated: defaultDateTime}
		if !last.IsZero() {
			st.Last, st.LastUpdated = netDate(last), netDate(last)
		}
		if n := f.schedule.next(now); !n.IsZero() {
			st.Next = netDate(n)
		} else {
			st.Next = defaultDateTime
		}
		v.ScheduleStatus = st
	}
	b, _ := json.Marshal(v)
	return &rpc.TypedData{Data: &rpc.TypedData_Json{Json: string(b)}}
}

// runTimer fires f on its schedule (in local time, as the host uses the
// machine's time zone), once at start when runOnStartup is set. Occurrences
// never overlap: a late one runs right after the previous ends.
func (g *generation) runTimer(f *function) {
	var last time.Time
	fire := func(reason string) {
		now := time.Now()
		c := call{fn: f, trigger: timerPayload(f, now, last, false), metadata: map[string]*rpc.TypedData{}, reason: reason}
		g.invokeWithRetry(c)
		last = now
	}
	if f.runOnStartup {
		fire("Timer fired at " + netDate(time.Now()) + " (RunOnStartup)")
	}
	for {
		next := f.schedule.next(time.Now())
		if next.IsZero() {
			g.h.con.hostf("Warning", "%s: schedule %q never fires again", f.Name, f.schedule.text)
			return
		}
		t := time.NewTimer(time.Until(next))
		select {
		case <-g.ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		fire("Timer fired at " + netDate(time.Now()))
	}
}

// invokeWithRetry runs c and, when the function has a retry policy
// (function.json "retry", else host.json "retry"), retries failures with a
// RetryContext as the host does (docs/host-contract.md §6): same invocation id, retry_count 0 on
// the first attempt, the previous exception on later ones.
func (g *generation) invokeWithRetry(c call) outcome {
	policy := c.fn.Retry
	if policy == nil {
		policy = hostRetry(g.app.Host)
	}
	if policy == nil {
		return g.invoke(g.ctx, c)
	}
	c.id = fnhost.NewInvocationID()
	c.retry = &rpc.RetryContext{RetryCount: 0, MaxRetryCount: int32(policy.MaxRetryCount)}
	for attempt := 0; ; attempt++ {
		out := g.invoke(g.ctx, c)
		if out.err == nil || g.ctx.Err() != nil {
			return out
		}
		if policy.MaxRetryCount >= 0 && attempt >= policy.MaxRetryCount {
			return out
		}
		delay := retryDelay(policy, attempt+1)
		select {
		case <-time.After(delay):
		case <-g.ctx.Done():
			return out
		}
		c.retry = &rpc.RetryContext{RetryCount: int32(attempt + 1), MaxRetryCount: int32(policy.MaxRetryCount),
			Exception: &rpc.RpcException{Message: out.err.Error()}}
	}
}

// hostRetry reads host.json's "retry" object, if any.
func hostRetry(h *funcapp.HostConfig) *funcapp.Retry {
	raw, ok := h.Raw["retry"]
	if !ok {
		return nil
	}
	fn, err := funcapp.ParseFunction(".", []byte(`{"bindings":[{"type":"timerTrigger","direction":"in","name":"t"}],"scriptFile":"host.json","retry":`+string(raw)+`}`))
	if err != nil || fn.Retry == nil {
		return nil
	}
	return fn.Retry
}

// retryDelay is the wait before retry n (1-based).
func retryDelay(r *funcapp.Retry, n int) time.Duration {
	if strings.EqualFold(r.Strategy, funcapp.StrategyExponentialBackoff) {
		d := r.MinimumInterval
		for i := 1; i < n && d < r.MaximumInterval; i++ {
			d *= 2
		}
		if r.MaximumInterval > 0 && d > r.MaximumInterval {
			d = r.MaximumInterval
		}
		return d
	}
	return r.DelayInterval
}

// queueOptions are host.json extensions.queues settings with the extension's defaults.
type queueOptions struct {
	MaxDequeueCount   int64
	VisibilityTimeout time.Duration
	BatchSize         int
	NewBatchThreshold int
}

func readQueueOptions(h *funcapp.HostConfig) (queueOptions, error) {
	o := queueOptions{MaxDequeueCount: 5, BatchSize: 16, NewBatchThreshold: -1}
	ext, ok := h.Raw["extensions"]
	if !ok {
		return o, nil
	}
	var exts map[string]json.RawMessage
	if json.Unmarshal(ext, &exts) != nil {
		return o, nil
	}
	var raw json.RawMessage
	for k, v := range exts {
		if strings.EqualFold(k, "queues") {
			raw = v
		}
	}
	if raw == nil {
		return o, nil
	}
	var q map[string]json.RawMessage
	if err := json.Unmarshal(raw, &q); err != nil {
		return o, fmt.Errorf("host.json extensions.queues: %w", err)
	}
	for k, v := range q {
		switch strings.ToLower(k) {
		case "maxdequeuecount":
			if err := json.Unmarshal(v, &o.MaxDequeueCount); err != nil || o.MaxDequeueCount < 1 {
				return o, fmt.Errorf("host.json extensions.queues.maxDequeueCount must be a number >= 1")
			}
		case "batchsize":
			if err := json.Unmarshal(v, &o.BatchSize); err != nil || o.BatchSize < 1 || o.BatchSize > 32 {
				return o, fmt.Errorf("host.json extensions.queues.batchSize must be a number from 1 to 32")
			}
		case "newbatchthreshold":
			if err := json.Unmarshal(v, &o.NewBatchThreshold); err != nil {
				return o, fmt.Errorf("host.json extensions.queues.newBatchThreshold must be a number")
			}
		case "visibilitytimeout":
			var s string
			if err := json.Unmarshal(v, &s); err != nil {
				return o, fmt.Errorf("host.json extensions.queues.visibilityTimeout must be a TimeSpan string like \"00:00:30\"")
			}
			d, err := funcapp.ParseTimeSpan(s)
			if err != nil || d < 0 {
				return o, fmt.Errorf("host.json extensions.queues.visibilityTimeout: %q is not a TimeSpan", s)
			}
			o.VisibilityTimeout = d
		}
	}
	return o, nil
}

// queueTrigger builds the trigger value and metadata for message m (docs/host-contract.md §4.4).
func queueTrigger(f *function, m queue.Message) (*rpc.TypedData, map[string]*rpc.TypedData) {
	var trig *rpc.TypedData
	if f.trigger.DataType == "binary" || !utf8.Valid(m.Body) {
		trig = &rpc.TypedData{Data: &rpc.TypedData_Bytes{Bytes: m.Body}}
	} else {
		trig = &rpc.TypedData{Data: &rpc.TypedData_String_{String_: string(m.Body)}}
	}
	str := func(s string) *rpc.TypedData { return &rpc.TypedData{Data: &rpc.TypedData_String_{String_: s}} }
	js := func(s string) *rpc.TypedData { return &rpc.TypedData{Data: &rpc.TypedData_Json{Json: s}} }
	date := func(t time.Time) *rpc.TypedData {
		b, _ := json.Marshal(netDate(t.UTC().Truncate(time.Second)))
		return js(string(b))
	}
	md := map[string]*rpc.TypedData{}
	// Top-level properties of a JSON-object message, then the built-in keys,
	// which win (the extension applies value-type binding data last, but a
	// string message has none).
	var obj map[string]json.RawMessage
	if json.Unmarshal(m.Body, &obj) == nil {
		for k, v := range obj {
			if td := httpbind.JSONBindingValue(v); td != nil {
				md[k] = td
			}
		}
	}
	if utf8.Valid(m.Body) {
		md["QueueTrigger"] = str(string(m.Body))
	}
	md["DequeueCount"] = js(fmt.Sprint(m.DequeueCount))
	md["ExpirationTime"] = date(m.ExpirationTime)
	md["Id"] = str(m.ID)
	md["InsertionTime"] = date(m.InsertionTime)
	md["NextVisibleTime"] = date(m.NextVisibleTime)
	if m.PopReceipt != "" {
		md["PopReceipt"] = str(m.PopReceipt)
	}
	return trig, md
}

// runQueue feeds messages of f's queue to f, up to batchSize +
// newBatchThreshold at a time. A failed message becomes visible again after
// visibilityTimeout; after maxDequeueCount failed attempts it moves to
// "<queue>-poison".
func (g *generation) runQueue(f *function) {
	opts, err := readQueueOptions(g.app.Host)
	if err != nil {
		g.h.con.hostf("Error", "%s: %v", f.Name, err)
		return
	}
	limit := opts.BatchSize
	if opts.NewBatchThreshold >= 0 {
		limit = opts.NewBatchThreshold + opts.BatchSize
	} else {
		limit += opts.BatchSize / 2
	}
	sem := make(chan struct{}, limit)
	store := g.h.queues
	// While a function runs its message stays invisible; the extension keeps
	// renewing the lease, so use the function timeout (or an hour) here.
	lease := g.functionTimeout()
	if lease <= 0 {
		lease = time.Hour
	}
	lease += time.Minute
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		changed := store.Changed(f.queueName)
		select {
		case sem <- struct{}{}:
		case <-g.ctx.Done():
			return
		}
		m, ok := store.Get(f.queueName, lease)
		if !ok {
			<-sem
			var wake <-chan time.Time
			var timer *time.Timer
			if t, ok := store.NextVisible(f.queueName); ok {
				timer = time.NewTimer(time.Until(t) + time.Millisecond)
				wake = timer.C
			}
			select {
			case <-changed:
			case <-wake:
			case <-g.ctx.Done():
			}
			if timer != nil {
				timer.Stop()
			}
			if g.ctx.Err() != nil {
				return
			}
			continue
		}
		wg.Add(1)
		go func(m queue.Message) {
			defer wg.Done()
			defer func() { <-sem }()
			g.processMessage(f, m, opts)
		}(m)
	}
}

func (g *generation) processMessage(f *function, m queue.Message, opts queueOptions) {
	store := g.h.queues
	trig, md := queueTrigger(f, m)
	out := g.invoke(g.ctx, call{fn: f, trigger: trig, metadata: md,
		reason: fmt.Sprintf("New queue message detected on '%s'.", f.queueName)})
	if out.err == nil {
		_ = store.Delete(f.queueName, m.ID, m.PopReceipt)
		return
	}
	if g.ctx.Err() != nil {
		// Shutting down: let the message reappear for the next load.
		_ = store.Release(f.queueName, m.ID, m.PopReceipt, 0)
		return
	}
	if m.DequeueCount >= opts.MaxDequeueCount {
		poison := f.queueName + "-poison"
		store.Put(poison, m.Body)
		_ = store.Delete(f.queueName, m.ID, m.PopReceipt)
		g.h.con.hostf("Warning", "%s: message %s has reached MaxDequeueCount of %d; moving it to queue '%s'", f.Name, m.ID, opts.MaxDequeueCount, poison)
		return
	}
	_ = store.Release(f.queueName, m.ID, m.PopReceipt, opts.VisibilityTimeout)
}
