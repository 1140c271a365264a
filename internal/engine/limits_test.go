package engine

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestLimitDefaultsAndValidation(t *testing.T) {
	m := loadGuest(t, "exit", Limits{})
	want := Limits{MemoryPages: DefaultMemoryPages, MaxStdoutBytes: DefaultMaxStdoutBytes, MaxStderrLine: DefaultMaxStderrLine,
		MaxStderrBytes: DefaultMaxStderrBytes, MaxInstances: DefaultMaxInstances, MaxTableEntries: DefaultMaxTableEntries,
		CompileTimeout: DefaultCompileTimeout}
	if got := m.Limits(); got != want {
		t.Errorf("defaults = %+v, want %+v", got, want)
	}
	for _, c := range []struct {
		lim  Limits
		want string
	}{
		{Limits{MaxInstances: -1}, "limit MaxInstances is negative"},
		{Limits{Timeout: -time.Second}, "limit Timeout is negative"},
		{Limits{CompileTimeout: -time.Second}, "limit CompileTimeout is negative"},
		{Limits{MaxStdoutBytes: -1}, "limit MaxStdoutBytes is negative"},
		{Limits{MaxTableEntries: -1}, "limit MaxTableEntries is negative"},
		{Limits{MaxTableEntries: MaxTableEntries + 1}, "limit MaxTableEntries of 134217729 is above the maximum of 134217728 table entries"},
		{Limits{MemoryPages: MaxMemoryPages + 1}, "above the wasm32 maximum"},
		{Limits{MemoryPages: 16}, "above the function's limit of 16 pages (1 MiB)"},
	} {
		_, err := testEngine.Load(context.Background(), guestPath(t, "exit"), c.lim)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want %q", c.lim, err, c.want)
		}
	}
}

func TestTimeoutLimit(t *testing.T) {
	m := loadGuest(t, "loop", Limits{Timeout: 150 * time.Millisecond})
	_, err := m.RunCommand(context.Background(), CommandInput{Args: []string{"loop", "spin"}})
	re := runErr(t, err, DeadlineExceeded)
	if re.Deadline != 150*time.Millisecond {
		t.Errorf("Deadline = %v", re.Deadline)
	}
	msg := re.Error()
	for _, s := range []string{"invocation deadline of 150ms exceeded", "Timeout limit of 150ms"} {
		if !strings.Contains(msg, s) {
			t.Errorf("message %q lacks %q", msg, s)
		}
	}
}

// TestMaxInstancesWaitsForASlot fills the only instance slot with a
// sleeping guest: a second run waits and fails at its deadline naming the
// limit, and a third, waiting with no deadline, runs once the slot frees.
func TestMaxInstancesWaitsForASlot(t *testing.T) {
	m := loadGuest(t, "loop", Limits{MaxInstances: 1})
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan struct{})
	first := make(chan error, 1)
	go func() {
		var once sync.Once
		_, err := m.RunCommand(ctx, CommandInput{Args: []string{"loop", "sleep"},
			Stderr: func(string) { once.Do(func() { close(started) }) }})
		first <- err
	}()
	<-started

	short, cancelShort := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancelShort()
	_, err := m.RunCommand(short, CommandInput{Args: []string{"loop", "sleep"}})
	re := runErr(t, err, DeadlineExceeded)
	if re.Limit != 1 || len(re.StderrTail) != 0 {
		t.Errorf("limit = %d, stderr %q; want 1 and no guest output", re.Limit, re.StderrTail)
	}
	if msg := re.Error(); !strings.Contains(msg, "instance limit of 1 concurrent instances was reached") ||
		!strings.Contains(msg, "invocation deadline of") {
		t.Errorf("message = %q", msg)
	}

	third := make(chan error, 1)
	thirdStarted := make(chan struct{})
	thirdCtx, cancelThird := context.WithCancel(context.Background())
	defer cancelThird()
	go func() {
		var once sync.Once
		_, err := m.RunCommand(thirdCtx, CommandInput{Args: []string{"loop", "sleep"},
			Stderr: func(string) { once.Do(func() { close(thirdStarted) }) }})
		third <- err
	}()
	cancel()
	runErr(t, <-first, Canceled)
	<-thirdStarted // the waiting run got the slot and started
	cancelThird()
	re = runErr(t, <-third, Canceled)
	if strings.Contains(re.Detail, "never started") {
		t.Errorf("third run: %v", re)
	}
}
