package storage

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue/queueerror"

	"github.com/wasmworker/wasmworker/internal/devhost/queue"
)

// Message encodings of host.json extensions.queues.messageEncoding.
const (
	EncodingBase64 = "base64"
	EncodingNone   = "none"
)

// AzureQueues is the queue service of an Azure Storage account (or Azurite).
// Message bodies are encoded as the Functions host encodes them (base64 by
// default); a message that does not decode is moved to "<queue>-poison" as
// the queue extension does.
type AzureQueues struct {
	svc      *azqueue.ServiceClient
	encoding string
	warn     func(format string, args ...any)

	changed signals
	mu      sync.Mutex
	exists  map[string]bool // queues this process created or found
}

var _ Queues = (*AzureQueues)(nil)

// NewAzureQueues returns the queue service of account a. encoding is
// EncodingBase64 or EncodingNone; warn receives notices such as a message
// moved to the poison queue (nil discards them).
func NewAzureQueues(a Account, encoding string, warn func(string, ...any)) (*AzureQueues, error) {
	svc, err := azqueue.NewServiceClientFromConnectionString(a.conn, &azqueue.ClientOptions{ClientOptions: clientOptions()})
	if err != nil {
		return nil, fmt.Errorf("queue service client for %s: %w", a, err)
	}
	if warn == nil {
		warn = func(string, ...any) {}
	}
	return &AzureQueues{svc: svc, encoding: encoding, warn: warn, exists: map[string]bool{}}, nil
}

// encode turns a body into message text.
func (q *AzureQueues) encode(body []byte) (string, error) {
	if q.encoding == EncodingNone {
		if !utf8.Valid(body) {
			return "", errors.New(`a message that is not UTF-8 text needs extensions.queues.messageEncoding "base64"`)
		}
		return string(body), nil
	}
	return base64.StdEncoding.EncodeToString(body), nil
}

// decode turns message text into a body.
func (q *AzureQueues) decode(text string) ([]byte, error) {
	if q.encoding == EncodingNone {
		return []byte(text), nil
	}
	return base64.StdEncoding.DecodeString(text)
}

// seconds converts a visibility timeout to whole seconds (rounded up, as the
// service counts seconds), within [lo, 7 days].
func seconds(d time.Duration, lo int32) *int32 {
	s := int32(min(math.Ceil(d.Seconds()), 7*24*3600))
	return to.Ptr(max(s, lo))
}

func (q *AzureQueues) client(name string) *azqueue.QueueClient {
	return q.svc.NewQueueClient(queue.Normalize(name))
}

// ensure creates queue name once per process.
func (q *AzureQueues) ensure(ctx context.Context, name string) error {
	n := queue.Normalize(name)
	q.mu.Lock()
	ok := q.exists[n]
	q.mu.Unlock()
	if ok {
		return nil
	}
	if _, err := q.svc.CreateQueue(ctx, n, nil); err != nil && !queueerror.HasCode(err, queueerror.QueueAlreadyExists) {
		return fmt.Errorf("creating queue %s: %w", n, err)
	}
	q.mu.Lock()
	q.exists[n] = true
	q.mu.Unlock()
	return nil
}

// enqueue puts text on queue name, creating the queue when it is missing.
func (q *AzureQueues) enqueue(ctx context.Context, name, text string) (azqueue.EnqueueMessagesResponse, error) {
	if err := q.ensure(ctx, name); err != nil {
		return azqueue.EnqueueMessagesResponse{}, err
	}
	resp, err := q.client(name).EnqueueMessage(ctx, text, nil)
	if queueerror.HasCode(err, queueerror.QueueNotFound) {
		// Deleted since this process created it.
		q.mu.Lock()
		delete(q.exists, queue.Normalize(name))
		q.mu.Unlock()
		if err := q.ensure(ctx, name); err != nil {
			return resp, err
		}
		resp, err = q.client(name).EnqueueMessage(ctx, text, nil)
	}
	if err != nil {
		return resp, fmt.Errorf("adding a message to queue %s: %w", queue.Normalize(name), err)
	}
	q.changed.notify(queue.Normalize(name))
	return resp, nil
}

// Put implements Queues.
func (q *AzureQueues) Put(ctx context.Context, name string, body []byte) (queue.Message, error) {
	text, err := q.encode(body)
	if err != nil {
		return queue.Message{}, fmt.Errorf("queue %s: %w", queue.Normalize(name), err)
	}
	resp, err := q.enqueue(ctx, name, text)
	if err != nil {
		return queue.Message{}, err
	}
	m := queue.Message{Body: append([]byte(nil), body...)}
	if len(resp.Messages) > 0 && resp.Messages[0] != nil {
		e := resp.Messages[0]
		m.ID = deref(e.MessageID)
		m.InsertionTime = derefTime(e.InsertionTime)
		m.ExpirationTime = derefTime(e.ExpirationTime)
		m.NextVisibleTime = derefTime(e.TimeNextVisible)
	}
	return m, nil
}

// Receive implements Queues.
func (q *AzureQueues) Receive(ctx context.Context, name string, limit int, visibility time.Duration) ([]queue.Message, error) {
	n := queue.Normalize(name)
	resp, err := q.client(n).DequeueMessages(ctx, &azqueue.DequeueMessagesOptions{
		NumberOfMessages:  to.Ptr(int32(min(max(limit, 1), MaxBatch))),
		VisibilityTimeout: seconds(visibility, 1),
	})
	if queueerror.HasCode(err, queueerror.QueueNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("receiving messages from queue %s: %w", n, err)
	}
	var out []queue.Message
	for _, d := range resp.Messages {
		if d == nil {
			continue
		}
		m := queue.Message{
			ID:              deref(d.MessageID),
			PopReceipt:      deref(d.PopReceipt),
			InsertionTime:   derefTime(d.InsertionTime),
			ExpirationTime:  derefTime(d.ExpirationTime),
			NextVisibleTime: derefTime(d.TimeNextVisible),
		}
		if d.DequeueCount != nil {
			m.DequeueCount = *d.DequeueCount
		}
		body, err := q.decode(deref(d.MessageText))
		if err != nil {
			q.poisonUndecodable(ctx, n, m, deref(d.MessageText), err)
			continue
		}
		m.Body = body
		out = append(out, m)
	}
	return out, nil
}

// poisonUndecodable moves a message whose text is not in the configured
// encoding to the poison queue as it is, as the queue extension's
// MessageDecodingFailed handler does.
func (q *AzureQueues) poisonUndecodable(ctx context.Context, name string, m queue.Message, text string, cause error) {
	poison, ok := PoisonQueue(name)
	if !ok {
		q.warn("queue %s: message %s is not %s-encoded (%v) and the queue has no poison queue; it stays invisible", name, m.ID, q.encoding, cause)
		return
	}
	if _, err := q.enqueue(ctx, poison, text); err != nil {
		q.warn("queue %s: message %s is not %s-encoded and could not be moved to %s: %v", name, m.ID, q.encoding, poison, err)
		return
	}
	if err := q.Delete(ctx, name, m); err != nil {
		q.warn("queue %s: message %s: %v", name, m.ID, err)
	}
	q.warn("queue %s: message %s is not %s-encoded (%v); moved it to queue '%s'", name, m.ID, q.encoding, cause, poison)
}

// Delete implements Queues.
func (q *AzureQueues) Delete(ctx context.Context, name string, m queue.Message) error {
	_, err := q.client(name).DeleteMessage(ctx, m.ID, m.PopReceipt, nil)
	if gone(err) {
		return fmt.Errorf("queue %s, message %s: %w", queue.Normalize(name), m.ID, errors.Join(ErrMessageGone, err))
	}
	if err != nil {
		return fmt.Errorf("deleting message %s from queue %s: %w", m.ID, queue.Normalize(name), err)
	}
	return nil
}

// Update implements Queues.
func (q *AzureQueues) Update(ctx context.Context, name string, m queue.Message, visibility time.Duration) (queue.Message, error) {
	text, err := q.encode(m.Body)
	if err != nil {
		return queue.Message{}, err
	}
	resp, err := q.client(name).UpdateMessage(ctx, m.ID, m.PopReceipt, text, &azqueue.UpdateMessageOptions{VisibilityTimeout: seconds(visibility, 0)})
	if gone(err) {
		return queue.Message{}, fmt.Errorf("queue %s, message %s: %w", queue.Normalize(name), m.ID, errors.Join(ErrMessageGone, err))
	}
	if err != nil {
		return queue.Message{}, fmt.Errorf("updating message %s of queue %s: %w", m.ID, queue.Normalize(name), err)
	}
	m.PopReceipt = deref(resp.PopReceipt)
	m.NextVisibleTime = derefTime(resp.TimeNextVisible)
	return m, nil
}

// gone reports a message or queue that no longer matches.
func gone(err error) bool {
	return queueerror.HasCode(err, queueerror.MessageNotFound, queueerror.PopReceiptMismatch, queueerror.QueueNotFound)
}

// Peek implements Queues.
func (q *AzureQueues) Peek(ctx context.Context, name string) ([]queue.Message, error) {
	n := queue.Normalize(name)
	resp, err := q.client(n).PeekMessages(ctx, &azqueue.PeekMessagesOptions{NumberOfMessages: to.Ptr(int32(MaxBatch))})
	if queueerror.HasCode(err, queueerror.QueueNotFound) {
		return []queue.Message{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("peeking at queue %s: %w", n, err)
	}
	out := []queue.Message{}
	for _, p := range resp.Messages {
		if p == nil {
			continue
		}
		m := queue.Message{ID: deref(p.MessageID), InsertionTime: derefTime(p.InsertionTime), ExpirationTime: derefTime(p.ExpirationTime)}
		if p.DequeueCount != nil {
			m.DequeueCount = *p.DequeueCount
		}
		text := deref(p.MessageText)
		if m.Body, err = q.decode(text); err != nil {
			m.Body = []byte(text) // shown as it is
		}
		out = append(out, m)
	}
	return out, nil
}

// Names implements Queues.
func (q *AzureQueues) Names(ctx context.Context) ([]string, error) {
	var names []string
	pager := q.svc.NewListQueuesPager(nil)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("listing queues: %w", err)
		}
		for _, it := range page.Queues {
			if it != nil && it.Name != nil {
				names = append(names, *it.Name)
			}
		}
	}
	sort.Strings(names)
	return names, nil
}

// Changed implements Queues.
func (q *AzureQueues) Changed(name string) <-chan struct{} {
	return q.changed.wait(queue.Normalize(name))
}

// PoisonQueue returns the poison queue of queue name. As in the queue
// extension, a queue whose name already ends in "-poison", or is too long for
// the suffix, has none.
func PoisonQueue(name string) (string, bool) {
	n := queue.Normalize(name)
	if strings.HasSuffix(n, "-poison") || len(n)+len("-poison") > 63 {
		return "", false
	}
	return n + "-poison", true
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func derefTime(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}
