package queue

import (
	"errors"
	"sync"
	"testing"
	"time"
)

// clock is a settable time source for the store.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newTestStore() (*Store, *clock) {
	c := &clock{t: time.Date(2024, 11, 1, 10, 0, 0, 0, time.UTC)}
	s := New()
	s.now = c.now
	return s, c
}

func TestPutGetDelete(t *testing.T) {
	s, _ := newTestStore()
	a := s.Put("Jobs", []byte("a"))
	s.Put("jobs", []byte("b"))
	if a.ID == "" || a.DequeueCount != 0 {
		t.Fatalf("Put = %+v", a)
	}
	m, ok := s.Get("jobs", time.Minute)
	if !ok || string(m.Body) != "a" || m.DequeueCount != 1 || m.PopReceipt == "" {
		t.Fatalf("Get = %+v, %v", m, ok)
	}
	m2, ok := s.Get("JOBS", time.Minute)
	if !ok || string(m2.Body) != "b" {
		t.Fatalf("second Get = %+v, %v", m2, ok)
	}
	if _, ok := s.Get("jobs", time.Minute); ok {
		t.Fatal("Get returned an invisible message")
	}
	if err := s.Delete("jobs", m.ID, "wrong"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Delete with wrong receipt = %v", err)
	}
	if err := s.Delete("jobs", m.ID, m.PopReceipt); err != nil {
		t.Fatal(err)
	}
	if got := s.Peek("jobs"); len(got) != 1 || string(got[0].Body) != "b" {
		t.Fatalf("Peek = %+v", got)
	}
	if names := s.Names(); len(names) != 1 || names[0] != "jobs" {
		t.Fatalf("Names = %v", names)
	}
}

func TestVisibilityAndUpdate(t *testing.T) {
	s, c := newTestStore()
	s.Put("q1", []byte("x"))
	m, _ := s.Get("q1", 30*time.Second)
	if next, ok := s.NextVisible("q1"); !ok || !next.Equal(c.now().Add(30*time.Second)) {
		t.Fatalf("NextVisible = %v, %v", next, ok)
	}
	c.add(31 * time.Second) // visibility timeout expired: message reappears
	m2, ok := s.Get("q1", 30*time.Second)
	if !ok || m2.ID != m.ID || m2.DequeueCount != 2 || m2.PopReceipt == m.PopReceipt {
		t.Fatalf("re-Get = %+v, %v (first %+v)", m2, ok, m)
	}
	if err := s.Delete("q1", m.ID, m.PopReceipt); err == nil {
		t.Fatal("Delete with a stale pop receipt succeeded")
	}
	changed := s.Changed("q1")
	if _, err := s.Update("q1", m2.ID, m2.PopReceipt, 0); err != nil {
		t.Fatal(err)
	}
	select {
	case <-changed:
	default:
		t.Fatal("Release did not signal Changed")
	}
	m3, ok := s.Get("q1", time.Second)
	if !ok || m3.DequeueCount != 3 {
		t.Fatalf("Get after Release = %+v, %v", m3, ok)
	}
}

func TestExpiry(t *testing.T) {
	s, c := newTestStore()
	s.Put("q1", []byte("old"))
	c.add(DefaultTTL + time.Second)
	if _, ok := s.Get("q1", 0); ok {
		t.Fatal("expired message was returned")
	}
	if n := len(s.Peek("q1")); n != 0 {
		t.Fatalf("Peek after expiry has %d messages", n)
	}
}

func TestChangedOnPut(t *testing.T) {
	s := New()
	ch := s.Changed("q1")
	go s.Put("Q1", []byte("x"))
	<-ch // would hang (test timeout) if Put did not signal
	if len(s.Peek("q1")) != 1 {
		t.Fatal("message missing")
	}
}

func TestConcurrentConsumers(t *testing.T) {
	s := New()
	const n = 200
	for i := 0; i < n; i++ {
		s.Put("q1", []byte{byte(i)})
	}
	var mu sync.Mutex
	seen := map[string]bool{}
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				m, ok := s.Get("q1", time.Hour)
				if !ok {
					return
				}
				mu.Lock()
				if seen[m.ID] {
					t.Errorf("message %s delivered twice", m.ID)
				}
				seen[m.ID] = true
				mu.Unlock()
				if err := s.Delete("q1", m.ID, m.PopReceipt); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	if len(seen) != n {
		t.Fatalf("consumed %d messages, want %d", len(seen), n)
	}
}

func TestValidateName(t *testing.T) {
	for _, ok := range []string{"jobs", "jobs-poison", "Results", "a1b"} {
		if err := ValidateName(ok); err != nil {
			t.Errorf("ValidateName(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"ab", "-jobs", "jobs-", "jo--bs", "jobs_x", ""} {
		if err := ValidateName(bad); err == nil {
			t.Errorf("ValidateName(%q) succeeded", bad)
		}
	}
}
