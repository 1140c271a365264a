// Package queue keeps in-memory message queues that behave like Azure
// Storage queues: messages have ids, pop receipts, dequeue counts and a
// visibility timeout, so a consumer that fails can let a message reappear.
package queue

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
)

// DefaultTTL is how long a message lives, as for Azure Storage queues (7 days).
const DefaultTTL = 7 * 24 * time.Hour

// Message is one queue message as a consumer sees it.
type Message struct {
	ID              string    `json:"id"`
	PopReceipt      string    `json:"popReceipt,omitempty"`
	Body            []byte    `json:"-"`
	DequeueCount    int64     `json:"dequeueCount"`
	InsertionTime   time.Time `json:"insertionTime"`
	ExpirationTime  time.Time `json:"expirationTime"`
	NextVisibleTime time.Time `json:"nextVisibleTime"`
}

// ErrNotFound is returned when a message id or pop receipt does not match
// (the message was deleted, or someone else dequeued it since).
var ErrNotFound = errors.New("message not found or pop receipt no longer valid")

// Store holds named queues. Queue names are compared without regard to case
// (Azure queue names are lower-case). The zero value is not usable; call New.
type Store struct {
	mu      sync.Mutex
	queues  map[string]*queue
	changed map[string]chan struct{}
	now     func() time.Time
}

type queue struct {
	msgs []*Message
}

// New returns an empty store.
func New() *Store {
	return &Store{queues: map[string]*queue{}, changed: map[string]chan struct{}{}, now: time.Now}
}

// Normalize returns the canonical form of a queue name.
func Normalize(name string) string { return strings.ToLower(strings.TrimSpace(name)) }

// ValidateName reports whether name is a valid Azure Storage queue name
// (3-63 characters, lower-case letters, digits and single dashes, starting
// and ending with a letter or digit), after Normalize.
func ValidateName(name string) error {
	n := Normalize(name)
	if len(n) < 3 || len(n) > 63 {
		return fmt.Errorf("queue name %q must be 3 to 63 characters long", name)
	}
	for i, r := range n {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
		case r == '-' && i > 0 && i < len(n)-1 && n[i-1] != '-':
		default:
			return fmt.Errorf("queue name %q may only hold letters, digits and single dashes between them", name)
		}
	}
	return nil
}

func (s *Store) q(name string) *queue {
	n := Normalize(name)
	q := s.queues[n]
	if q == nil {
		q = &queue{}
		s.queues[n] = q
	}
	return q
}

// signal wakes everyone waiting on queue name; s.mu must be held.
func (s *Store) signal(name string) {
	n := Normalize(name)
	if ch, ok := s.changed[n]; ok {
		close(ch)
		delete(s.changed, n)
	}
}

// Changed returns a channel that is closed the next time a message is added
// to queue name or made visible again by Release.
func (s *Store) Changed(name string) <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := Normalize(name)
	ch, ok := s.changed[n]
	if !ok {
		ch = make(chan struct{})
		s.changed[n] = ch
	}
	return ch
}

// Put adds a message (visible at once) and returns it.
func (s *Store) Put(name string, body []byte) Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now().UTC()
	m := &Message{
		ID:              uuid.NewString(),
		Body:            append([]byte(nil), body...),
		InsertionTime:   now,
		ExpirationTime:  now.Add(DefaultTTL),
		NextVisibleTime: now,
	}
	q := s.q(name)
	q.msgs = append(q.msgs, m)
	s.signal(name)
	return *m
}

// Get dequeues the oldest visible message: it becomes invisible for
// visibility, its dequeue count grows by one and it gets a new pop receipt.
// Expired messages are dropped. ok is false when no message is visible.
func (s *Store) Get(name string, visibility time.Duration) (m Message, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now().UTC()
	q := s.q(name)
	q.expire(now)
	for _, msg := range q.msgs {
		if msg.NextVisibleTime.After(now) {
			continue
		}
		msg.DequeueCount++
		msg.PopReceipt = uuid.NewString()
		msg.NextVisibleTime = now.Add(visibility)
		return copyMsg(msg), true
	}
	return Message{}, false
}

// NextVisible returns when the earliest invisible message of queue name
// becomes visible again; ok is false when there is no such message.
func (s *Store) NextVisible(name string) (t time.Time, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, msg := range s.q(name).msgs {
		if !ok || msg.NextVisibleTime.Before(t) {
			t, ok = msg.NextVisibleTime, true
		}
	}
	return t, ok
}

// Delete removes a dequeued message; the pop receipt must be the one Get returned.
func (s *Store) Delete(name, id, popReceipt string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.q(name)
	for i, msg := range q.msgs {
		if msg.ID == id && msg.PopReceipt == popReceipt {
			q.msgs = append(q.msgs[:i], q.msgs[i+1:]...)
			return nil
		}
	}
	return fmt.Errorf("queue %s, message %s: %w", Normalize(name), id, ErrNotFound)
}

// Update changes the visibility of a dequeued message as Azure Storage's
// Update Message does: it becomes visible after visibility (0 = at once) and
// gets a new pop receipt, which the returned copy carries. A message made
// visible at once wakes the Changed waiters.
func (s *Store) Update(name, id, popReceipt string, visibility time.Duration) (Message, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, msg := range s.q(name).msgs {
		if msg.ID == id && msg.PopReceipt == popReceipt {
			msg.NextVisibleTime = s.now().UTC().Add(visibility)
			msg.PopReceipt = uuid.NewString()
			if visibility <= 0 {
				s.signal(name)
			}
			return copyMsg(msg), nil
		}
	}
	return Message{}, fmt.Errorf("queue %s, message %s: %w", Normalize(name), id, ErrNotFound)
}

// Peek returns copies of every message of queue name, oldest first, without
// dequeuing them.
func (s *Store) Peek(name string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.q(name)
	q.expire(s.now().UTC())
	out := make([]Message, 0, len(q.msgs))
	for _, m := range q.msgs {
		out = append(out, copyMsg(m))
	}
	return out
}

// Names returns the names of all queues that were ever used, sorted.
func (s *Store) Names() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.queues))
	for n := range s.queues {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

func (q *queue) expire(now time.Time) {
	kept := q.msgs[:0]
	for _, m := range q.msgs {
		if m.ExpirationTime.After(now) {
			kept = append(kept, m)
		}
	}
	q.msgs = kept
}

func copyMsg(m *Message) Message {
	c := *m
	c.Body = append([]byte(nil), m.Body...)
	return c
}
