//go:build unix

package devhost

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// waitFor polls the sink until ok holds for some event and returns it.
func waitFor(t *testing.T, sink *eventSink, what string, ok func(Event) bool) Event {
	t.Helper()
	deadline := time.Now().Add(waitLong)
	for {
		if evs := sink.find(ok); len(evs) > 0 {
			return evs[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s within %s", what, waitLong)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestTimerPastDueAfterReload (item 4): the schedule status is kept across
// reloads, and a timer whose stored next occurrence passed while it was not
// running runs at once with IsPastDue, seeing the stored status, as the
// timer extension does when the host starts.
func TestTimerPastDueAfterReload(t *testing.T) {
	t.Parallel()
	h, sink, err := startLocal(copyApp(t, timerApp, false), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	waitFor(t, sink, "a run of Pulse", func(e Event) bool {
		return e.Kind == "end" && e.Function == "Pulse"
	})

	// Stop the timers of this load, then record a status whose next
	// occurrence is an hour old, as if the host had been down.
	g := h.gen.Load()
	g.cancel()
	g.wg.Wait()
	f := g.byName["pulse"]
	last := time.Now().Add(-time.Hour).Truncate(time.Second)
	for last.Minute() == 59 || last.Second()%2 != 0 { // an occurrence of */2 0-58 * * * *
		last = last.Add(-time.Second)
	}
	seeded := ScheduleStatus{Last: last, Next: f.schedule.next(last), LastUpdated: last}
	if err := g.schedules().Put(context.Background(), "Pulse", seeded); err != nil {
		t.Fatal(err)
	}
	if err := h.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	start := waitFor(t, sink, "the past-due run", func(e Event) bool {
		return e.Kind == "start" && e.Function == "Pulse" && strings.HasSuffix(e.Reason, "(IsPastDue)")
	})
	log := waitFor(t, sink, "its log", func(e Event) bool {
		return e.Kind == "log" && e.InvocationID == start.InvocationID
	})
	m := timerLog.FindStringSubmatch(log.Message)
	var ti timerInfo
	if m == nil || json.Unmarshal([]byte(m[2]), &ti) != nil {
		t.Fatalf("Pulse logged %q", log.Message)
	}
	if !ti.IsPastDue || ti.ScheduleStatus == nil || ti.ScheduleStatus.Last != netLocalDate(last) || ti.ScheduleStatus.Next != netLocalDate(seeded.Next) {
		t.Errorf("the past-due run got %s, want IsPastDue and the stored status (Last %s)", m[2], netLocalDate(last))
	}
	// After it, the stored status moves on to the time of the run.
	deadline := time.Now().Add(waitLong)
	for {
		st, err := h.gen.Load().schedules().Get(context.Background(), "Pulse")
		if err != nil {
			t.Fatal(err)
		}
		if st != nil && st.Last.After(last.Add(time.Minute)) && st.LastUpdated.Equal(st.Last) && st.Next.After(st.Last) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the stored status is still %+v", st)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestSubMinute checks when the extension turns the schedule monitor off.
func TestSubMinute(t *testing.T) {
	now := time.Date(2024, 11, 1, 10, 2, 10, 0, time.UTC)
	for expr, want := range map[string]bool{
		"*/2 * * * * *":     true,
		"0,30 * * * * *":    true,  // 10:02:30 and 10:03:00 within the minute after now
		"0 * * * * *":       false, // once a minute
		"*/2 0-58 * * * *":  false, // not every minute
		"*/10 * 9-17 * * *": false,
		"0 */5 * * * *":     false,
		"* * * * *":         false, // five fields: at most once a minute
		"00:00:30":          true,
		"00:01:00":          false,
	} {
		s, err := parseSchedule(expr)
		if err != nil {
			t.Fatalf("parseSchedule(%q): %v", expr, err)
		}
		if got := subMinute(s, now); got != want {
			t.Errorf("subMinute(%q) = %v, want %v", expr, got, want)
		}
	}
}

// TestTimerPayload checks the TimerInfo JSON: AdjustForDST follows the
// kind of schedule, a nil status is null, "never" is default(DateTime) in
// local time.
func TestTimerPayload(t *testing.T) {
	cron, err := parseSchedule("0 */5 * * * *")
	if err != nil {
		t.Fatal(err)
	}
	span, err := parseSchedule("00:05:00")
	if err != nil {
		t.Fatal(err)
	}
	next := time.Date(2024, 10, 25, 10, 0, 0, 0, time.Local)
	got := timerPayload(&function{schedule: cron}, &ScheduleStatus{Next: next}, false).GetJson()
	never := netLocalDate(time.Time{})
	want := `{"Schedule":{"AdjustForDST":true},"ScheduleStatus":{"Last":"` + never + `","Next":"` + netDate(next) + `","LastUpdated":"` + never + `"},"IsPastDue":false}`
	if got != want {
		t.Errorf("cron payload\n got %s\nwant %s", got, want)
	}
	if got := timerPayload(&function{schedule: span}, nil, true).GetJson(); got != `{"Schedule":{"AdjustForDST":false},"ScheduleStatus":null,"IsPastDue":true}` {
		t.Errorf("TimeSpan payload %s", got)
	}
	if !strings.HasPrefix(never, "0001-01-01T") {
		t.Errorf("never = %q", never)
	}
}
