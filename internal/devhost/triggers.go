package devhost

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/wasmworker/wasmworker/internal/devhost/httpbind"
	"github.com/wasmworker/wasmworker/internal/devhost/queue"
	"github.com/wasmworker/wasmworker/internal/devhost/storage"
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

// queueOptions are host.json extensions.queues settings with the extension's
// defaults (QueuesOptions), as func start runs them: in the Development
// environment, where maxPollingInterval defaults to 2 s instead of 1 min.
type queueOptions struct {
	MaxDequeueCount   int64
	VisibilityTimeout time.Duration
	BatchSize         int
	// NewBatchThreshold is -1 when unset; see threshold.
	NewBatchThreshold  int
	MaxPollingInterval time.Duration
	// MessageEncoding is "base64" (the default) or "none".
	MessageEncoding string
}

// Polling intervals of the queue listener (QueuePollingIntervals).
const (
	minPollingInterval = 100 * time.Millisecond
	devPollingInterval = 2 * time.Second
)

// threshold is newBatchThreshold: when unset, batchSize/2 times the
// processor count, as the extension computes it outside the Consumption plan.
func (o queueOptions) threshold() int {
	if o.NewBatchThreshold >= 0 {
		return o.NewBatchThreshold
	}
	return o.BatchSize / 2 * runtime.NumCPU()
}

func readQueueOptions(h *funcapp.HostConfig) (queueOptions, error) {
	o := queueOptions{MaxDequeueCount: 5, BatchSize: 16, NewBatchThreshold: -1, MaxPollingInterval: devPollingInterval, MessageEncoding: storage.EncodingBase64}
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
	timeSpan := func(key string, v json.RawMessage) (time.Duration, error) {
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return 0, fmt.Errorf("host.json extensions.queues.%s must be a TimeSpan string like \"00:00:30\"", key)
		}
		d, err := funcapp.ParseTimeSpan(s)
		if err != nil || d < 0 {
			return 0, fmt.Errorf("host.json extensions.queues.%s: %q is not a TimeSpan", key, s)
		}
		return d, nil
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
			if err := json.Unmarshal(v, &o.NewBatchThreshold); err != nil || o.NewBatchThreshold < 0 {
				return o, fmt.Errorf("host.json extensions.queues.newBatchThreshold must be a number >= 0")
			}
		case "visibilitytimeout":
			d, err := timeSpan("visibilityTimeout", v)
			if err != nil {
				return o, err
			}
			o.VisibilityTimeout = d
		case "maxpollinginterval":
			d, err := timeSpan("maxPollingInterval", v)
			if err != nil {
				return o, err
			}
			if d < minPollingInterval {
				return o, fmt.Errorf("host.json extensions.queues.maxPollingInterval must not be less than %s", minPollingInterval)
			}
			o.MaxPollingInterval = d
		case "messageencoding":
			var s string
			if err := json.Unmarshal(v, &s); err != nil || (!strings.EqualFold(s, storage.EncodingBase64) && !strings.EqualFold(s, storage.EncodingNone)) {
				return o, fmt.Errorf("host.json extensions.queues.messageEncoding must be \"base64\" or \"none\"")
			}
			o.MessageEncoding = strings.ToLower(s)
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

// queueLease is how long a received message stays invisible while its
// function runs; the listener renews it at half time (the extension's
// visibility timeout for dequeued messages).
const queueLease = 10 * time.Minute

// backoff is the extension's RandomizedExponentialBackoffStrategy: the
// polling delay restarts at the minimum after messages were found, and
// otherwise grows by about 2^n × minimum (±20 %) up to the maximum.
type backoff struct {
	min, max time.Duration
	cur      time.Duration
	exp      uint
}

func (b *backoff) next(found bool) time.Duration {
	switch {
	case found:
		b.cur, b.exp = b.min, 1
	case b.cur != b.max:
		d := b.min
		if b.exp > 0 {
			d += time.Duration((0.8 + 0.4*rand.Float64()) * float64(uint64(1)<<min(b.exp-1, 30)) * float64(b.min))
		}
		if d < b.max {
			b.cur = d
			b.exp++
		} else {
			b.cur = b.max
		}
	}
	return b.cur
}

// runQueue is the queue extension's listener for f's queue, on whichever
// storage the load uses: it receives up to batchSize messages at a time and
// runs them concurrently, receiving the next batch once at most
// newBatchThreshold are still running. When the queue is empty it polls
// with randomized exponential back-off from 100 ms up to
// maxPollingInterval, and at once when this host adds a message to the
// queue. processMessage completes each message.
func (g *generation) runQueue(f *function) {
	opts, err := readQueueOptions(g.app.Host)
	if err != nil {
		g.h.con.hostf("Error", "%s: %v", f.Name, err)
		return
	}
	q := g.store.Queues
	threshold := opts.threshold()
	// Completions; large enough that a message never waits to report.
	done := make(chan struct{}, opts.BatchSize+threshold+1)
	running := 0
	var wg sync.WaitGroup
	defer wg.Wait()
	poll := backoff{min: minPollingInterval, max: opts.MaxPollingInterval}
	found := false
	lastErr := ""
	for {
		for drained := false; !drained; {
			select {
			case <-done:
				running--
			default:
				drained = true
			}
		}
		changed := q.Changed(f.queueName)
		msgs, err := q.Receive(g.ctx, f.queueName, opts.BatchSize, queueLease)
		if g.ctx.Err() != nil {
			return
		}
		if err != nil {
			if msg := err.Error(); msg != lastErr {
				g.h.con.hostf("Warning", "%s: %v; retrying", f.Name, err)
				lastErr = msg
			}
		} else {
			lastErr = ""
		}
		if len(msgs) == 0 {
			t := time.NewTimer(poll.next(found))
			found = false
			select {
			case <-changed:
			case <-t.C:
			case <-g.ctx.Done():
			}
			t.Stop()
			continue
		}
		found = true
		for _, m := range msgs {
			running++
			wg.Add(1)
			go func(m queue.Message) {
				defer wg.Done()
				g.processMessage(f, m, opts)
				done <- struct{}{}
			}(m)
		}
		for running > threshold {
			select {
			case <-done:
				running--
			case <-g.ctx.Done():
				return
			}
		}
	}
}

// processMessage runs f for message m and completes it as the extension's
// QueueProcessor does: deleted after success; after a failure made visible
// again after visibilityTimeout, or, once its dequeue count has reached
// maxDequeueCount, copied to "<queue>-poison" and deleted. A message
// dequeued more often than that (its earlier runs were cut short) goes to
// the poison queue without running. While f runs, the message's lease is
// renewed.
func (g *generation) processMessage(f *function, m queue.Message, opts queueOptions) {
	q := g.store.Queues
	opCtx := func() (context.Context, context.CancelFunc) {
		return context.WithTimeout(context.WithoutCancel(g.ctx), storageOpTimeout)
	}
	if m.DequeueCount > opts.MaxDequeueCount {
		ctx, cancel := opCtx()
		defer cancel()
		g.poisonMessage(ctx, f, m, opts)
		return
	}
	// Renew the lease at half time while the function runs; Update gives
	// the message a new pop receipt, which completion must use.
	var mu sync.Mutex
	cur := m
	stop := make(chan struct{})
	renewed := make(chan struct{})
	go func() {
		defer close(renewed)
		t := time.NewTicker(queueLease / 2)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
			}
			mu.Lock()
			ctx, cancel := opCtx()
			next, err := q.Update(ctx, f.queueName, cur, queueLease)
			cancel()
			if err == nil {
				cur = next
			} else {
				g.h.con.hostf("Warning", "%s: renewing the lease of message %s: %v", f.Name, m.ID, err)
			}
			mu.Unlock()
		}
	}()
	trig, md := queueTrigger(f, m)
	out := g.invoke(g.ctx, call{fn: f, trigger: trig, metadata: md,
		reason: fmt.Sprintf("New queue message detected on '%s'.", f.queueName)})
	close(stop)
	<-renewed
	m = cur
	ctx, cancel := opCtx()
	defer cancel()
	var err error
	switch _, hasPoison := storage.PoisonQueue(f.queueName); {
	case out.err == nil:
		err = q.Delete(ctx, f.queueName, m)
	case g.ctx.Err() != nil:
		// Shutting down: let the message reappear for the next load.
		_, err = q.Update(ctx, f.queueName, m, 0)
	case !hasPoison:
		// Without a poison queue the extension leaves a failed message
		// invisible, so that it cannot fail in a fast loop.
	case m.DequeueCount >= opts.MaxDequeueCount:
		g.poisonMessage(ctx, f, m, opts)
	default:
		_, err = q.Update(ctx, f.queueName, m, opts.VisibilityTimeout)
	}
	if err != nil && !errors.Is(err, storage.ErrMessageGone) {
		g.h.con.hostf("Warning", "%s: completing message %s: %v", f.Name, m.ID, err)
	}
}

// poisonMessage copies m to the poison queue of f's queue and deletes it.
func (g *generation) poisonMessage(ctx context.Context, f *function, m queue.Message, opts queueOptions) {
	q := g.store.Queues
	poison, ok := storage.PoisonQueue(f.queueName)
	if !ok {
		return
	}
	if _, err := q.Put(ctx, poison, m.Body); err != nil {
		g.h.con.hostf("Warning", "%s: moving message %s to queue '%s': %v", f.Name, m.ID, poison, err)
		return
	}
	if err := q.Delete(ctx, f.queueName, m); err != nil && !errors.Is(err, storage.ErrMessageGone) {
		g.h.con.hostf("Warning", "%s: deleting message %s after moving it to '%s': %v", f.Name, m.ID, poison, err)
	}
	g.h.con.hostf("Warning", "%s: message %s has reached MaxDequeueCount of %d; moving it to queue '%s'", f.Name, m.ID, opts.MaxDequeueCount, poison)
}
