package wasmworker

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Trigger binding names the typed helpers declare.
const (
	queueTriggerName = "msg"
	timerTriggerName = "timer"
	blobTriggerName  = "blob"
)

// QueueMessage is the message of a queue-triggered invocation, with the
// trigger metadata the host sends along.
type QueueMessage struct {
	ID              string
	PopReceipt      string
	DequeueCount    int // 1 on the first delivery
	InsertionTime   time.Time
	ExpirationTime  time.Time
	NextVisibleTime time.Time
	Body            []byte // the message text
}

// String returns the message body as text.
func (m *QueueMessage) String() string { return string(m.Body) }

// Decode unmarshals the message body, JSON text, into v.
func (m *QueueMessage) Decode(v any) error {
	if err := json.Unmarshal(m.Body, v); err != nil {
		return fmt.Errorf("decode queue message %s: %w", m.ID, err)
	}
	return nil
}

// HandleQueue registers the function name, triggered by each message of
// queue (binding "msg"; connection AzureWebJobsStorage unless Connection
// says otherwise). A returned error fails the invocation: the host makes
// the message visible again and, after maxDequeueCount (host.json, 5)
// attempts, moves it to "<queue>-poison".
func HandleQueue(name, queue string, fn func(ctx context.Context, msg *QueueMessage) error, opts ...Option) {
	trigger := Binding{"type": "queueTrigger", "direction": "in", "name": queueTriggerName, "queueName": queue}
	register(name, func(ctx context.Context) error {
		in, err := Input(queueTriggerName)
		if err != nil {
			return fmt.Errorf("%s: read the queue message: %w", name, err)
		}
		msg := &QueueMessage{
			ID: metaString("Id"), PopReceipt: metaString("PopReceipt"), DequeueCount: metaInt("DequeueCount"),
			InsertionTime: metaTime("InsertionTime"), ExpirationTime: metaTime("ExpirationTime"),
			NextVisibleTime: metaTime("NextVisibleTime"), Body: in.Data,
		}
		return fn(ctx, msg)
	}, []Binding{trigger}, opts)
}

// TimerInfo is the trigger value of a timer-triggered invocation.
type TimerInfo struct {
	// IsPastDue is true when the invocation runs later than scheduled (the
	// app was not running at the time).
	IsPastDue bool
	// Last and Next are the schedule's previous and next occurrences (zero
	// when the host sent none).
	Last, Next time.Time
}

// HandleTimer registers the function name, triggered on schedule, an
// NCRONTAB expression with seconds ("0 */5 * * * *": every five minutes)
// or a TimeSpan ("00:05:00"); binding "timer".
func HandleTimer(name, schedule string, fn func(ctx context.Context, t *TimerInfo) error, opts ...Option) {
	trigger := Binding{"type": "timerTrigger", "direction": "in", "name": timerTriggerName, "schedule": schedule}
	register(name, func(ctx context.Context) error {
		t := &TimerInfo{}
		if in, err := Input(timerTriggerName); err == nil && len(in.Data) > 0 {
			var raw struct {
				IsPastDue      bool
				ScheduleStatus *struct{ Last, Next string }
			}
			if err := json.Unmarshal(in.Data, &raw); err != nil {
				return fmt.Errorf("%s: decode the timer trigger value: %w", name, err)
			}
			t.IsPastDue = raw.IsPastDue
			if s := raw.ScheduleStatus; s != nil {
				t.Last, t.Next = parseTime(s.Last), parseTime(s.Next)
			}
		}
		return fn(ctx, t)
	}, []Binding{trigger}, opts)
}

// Blob is the blob of a blob-triggered invocation.
type Blob struct {
	Path string // container/name, from trigger metadata BlobTrigger
	URI  string // the blob's URL, from trigger metadata Uri
	Data []byte
}

// Decode unmarshals the blob, JSON text, into v.
func (b *Blob) Decode(v any) error {
	if err := json.Unmarshal(b.Data, v); err != nil {
		return fmt.Errorf("decode blob %s: %w", b.Path, err)
	}
	return nil
}

// HandleBlob registers the function name, triggered by each new or changed
// blob matching path ("container/{name}"); binding "blob", read as bytes.
func HandleBlob(name, path string, fn func(ctx context.Context, blob *Blob) error, opts ...Option) {
	trigger := Binding{"type": "blobTrigger", "direction": "in", "name": blobTriggerName, "path": path, "dataType": "binary"}
	register(name, func(ctx context.Context) error {
		in, err := Input(blobTriggerName)
		if err != nil {
			return fmt.Errorf("%s: read the blob: %w", name, err)
		}
		return fn(ctx, &Blob{Path: metaString("BlobTrigger"), URI: metaString("Uri"), Data: in.Data})
	}, []Binding{trigger}, opts)
}

// metaTime reads trigger-metadata key as a time (zero when absent or not a
// time).
func metaTime(key string) time.Time { return parseTime(metaString(key)) }

// parseTime parses the times the host sends: RFC 3339, or .NET's round-trip
// format without a zone (taken as UTC).
func parseTime(s string) time.Time {
	s = strings.TrimSpace(s)
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", time.RFC1123} {
		if t, err := time.Parse(layout, s); err == nil {
			return t
		}
	}
	return time.Time{}
}
