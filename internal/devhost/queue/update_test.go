package queue

import (
	"errors"
	"testing"
	"time"
)

func TestUpdate(t *testing.T) {
	s, c := newTestStore()
	s.Put("jobs", []byte("a"))
	m, ok := s.Get("jobs", time.Minute)
	if !ok {
		t.Fatal("no message")
	}
	// A later visibility keeps it hidden and gives it a new pop receipt.
	u, err := s.Update("jobs", m.ID, m.PopReceipt, 10*time.Second)
	if err != nil || u.PopReceipt == m.PopReceipt || !u.NextVisibleTime.Equal(c.now().Add(10*time.Second)) {
		t.Fatalf("Update = %+v, %v", u, err)
	}
	if _, err := s.Update("jobs", m.ID, m.PopReceipt, 0); !errors.Is(err, ErrNotFound) {
		t.Errorf("Update with the old pop receipt = %v, want ErrNotFound", err)
	}
	if _, ok := s.Get("jobs", time.Minute); ok {
		t.Error("the message is visible before its new visibility time")
	}
	// Visible at once wakes the waiters.
	changed := s.Changed("jobs")
	if _, err := s.Update("jobs", u.ID, u.PopReceipt, 0); err != nil {
		t.Fatal(err)
	}
	select {
	case <-changed:
	default:
		t.Error("Update(…, 0) did not close the Changed channel")
	}
	if again, ok := s.Get("jobs", time.Minute); !ok || again.DequeueCount != 2 {
		t.Errorf("Get after Update = %+v, %v", again, ok)
	}
}
