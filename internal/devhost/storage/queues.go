package storage

import (
	"context"
	"errors"
	"time"

	"github.com/wasmworker/wasmworker/internal/devhost/queue"
)

// MaxBatch is the most messages one Receive returns (Azure Storage's limit).
const MaxBatch = 32

// ErrMessageGone is returned by Delete and Update when the message no longer
// matches (it was deleted, or its pop receipt changed since it was received).
var ErrMessageGone = errors.New("queue message not found or pop receipt no longer valid")

// Queues is a queue service: the in-memory one (Memory) or an Azure Storage
// account (Azure). Queue names are normalized (queue.Normalize) by the
// implementations. The host's queue listener, queue outputs and admin
// endpoints use only this interface, so both backends share one code path.
type Queues interface {
	// Put adds a message, visible at once, creating the queue if needed.
	Put(ctx context.Context, name string, body []byte) (queue.Message, error)
	// Receive dequeues up to limit visible messages (at most MaxBatch): each
	// becomes invisible for visibility, its dequeue count grows by one and
	// it gets a new pop receipt. A queue that does not exist has none.
	Receive(ctx context.Context, name string, limit int, visibility time.Duration) ([]queue.Message, error)
	// Delete removes a received message (ErrMessageGone if it no longer matches).
	Delete(ctx context.Context, name string, m queue.Message) error
	// Update makes a received message visible again after visibility (0 =
	// at once) and returns it with its new pop receipt and visibility time.
	Update(ctx context.Context, name string, m queue.Message, visibility time.Duration) (queue.Message, error)
	// Peek returns the visible and invisible messages of a queue without
	// dequeuing them: all of them in memory, the first MaxBatch visible ones
	// in Azure Storage (its Peek Messages limit).
	Peek(ctx context.Context, name string) ([]queue.Message, error)
	// Names lists the queues, sorted.
	Names(ctx context.Context) ([]string, error)
	// Changed returns a channel that is closed the next time this process
	// adds a message to queue name (and, in memory, when a message becomes
	// visible again at once), as the host's shared queue watcher wakes a
	// listener early. Other writers are seen only by polling.
	Changed(name string) <-chan struct{}
}

// Memory is the in-memory queue service, kept by the host across reloads.
type Memory struct {
	Store *queue.Store
}

// NewMemory returns an empty in-memory queue service.
func NewMemory() *Memory { return &Memory{Store: queue.New()} }

var _ Queues = (*Memory)(nil)

// Put implements Queues.
func (m *Memory) Put(_ context.Context, name string, body []byte) (queue.Message, error) {
	return m.Store.Put(name, body), nil
}

// Receive implements Queues.
func (m *Memory) Receive(_ context.Context, name string, limit int, visibility time.Duration) ([]queue.Message, error) {
	var out []queue.Message
	for len(out) < min(limit, MaxBatch) {
		msg, ok := m.Store.Get(name, visibility)
		if !ok {
			break
		}
		out = append(out, msg)
	}
	return out, nil
}

// Delete implements Queues.
func (m *Memory) Delete(_ context.Context, name string, msg queue.Message) error {
	if err := m.Store.Delete(name, msg.ID, msg.PopReceipt); err != nil {
		return errors.Join(ErrMessageGone, err)
	}
	return nil
}

// Update implements Queues.
func (m *Memory) Update(_ context.Context, name string, msg queue.Message, visibility time.Duration) (queue.Message, error) {
	got, err := m.Store.Update(name, msg.ID, msg.PopReceipt, visibility)
	if err != nil {
		return queue.Message{}, errors.Join(ErrMessageGone, err)
	}
	return got, nil
}

// Peek implements Queues.
func (m *Memory) Peek(_ context.Context, name string) ([]queue.Message, error) {
	return m.Store.Peek(name), nil
}

// Names implements Queues.
func (m *Memory) Names(context.Context) ([]string, error) { return m.Store.Names(), nil }

// Changed implements Queues.
func (m *Memory) Changed(name string) <-chan struct{} { return m.Store.Changed(name) }
