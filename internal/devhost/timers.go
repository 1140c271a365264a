package devhost

import (
	"encoding/json"
	"time"

	"github.com/wasmworker/wasmworker/internal/devhost/storage"
	"github.com/wasmworker/wasmworker/internal/protocol/rpc"
)

// ScheduleStatus is a timer's schedule status (storage.ScheduleStatus, kept
// by the load's storage.ScheduleStore: in memory across reloads, in blob
// storage when AzureWebJobsStorage names an account).
type ScheduleStatus = storage.ScheduleStatus

// netLocalDate formats t as Newtonsoft.Json writes a local DateTime: ISO
// 8601, up to 7 fractional digits without trailing zeros, the local offset.
// The zero Time is default(DateTime).ToLocalTime(), which the extension uses
// for "never": midnight of January 1st of year 1 UTC in local time, or
// DateTime.MinValue where that would fall before it (west of UTC).
func netLocalDate(t time.Time) string {
	if t.IsZero() {
		t = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC).In(time.Local)
		if t.Year() < 1 {
			t = time.Date(1, 1, 1, 0, 0, 0, 0, time.Local)
		}
	}
	return netDate(t.In(time.Local))
}

// timerPayload builds the TimerInfo the host sends (as json TypedData,
// Newtonsoft's serialization of the extension's TimerInfo):
// {"Schedule":{"AdjustForDST":…},"ScheduleStatus":{"Last","Next","LastUpdated"}|null,"IsPastDue":…}.
// AdjustForDST is true for an NCRONTAB schedule and false for a TimeSpan
// one (CronSchedule, ConstantSchedule); status is nil for a timer without a
// schedule monitor.
func timerPayload(f *function, status *ScheduleStatus, pastDue bool) *rpc.TypedData {
	type statusJSON struct {
		Last        string `json:"Last"`
		Next        string `json:"Next"`
		LastUpdated string `json:"LastUpdated"`
	}
	v := struct {
		Schedule       map[string]bool `json:"Schedule"`
		ScheduleStatus *statusJSON     `json:"ScheduleStatus"`
		IsPastDue      bool            `json:"IsPastDue"`
	}{Schedule: map[string]bool{"AdjustForDST": f.schedule.cron != nil}, IsPastDue: pastDue}
	if status != nil {
		v.ScheduleStatus = &statusJSON{Last: netLocalDate(status.Last), Next: netLocalDate(status.Next), LastUpdated: netLocalDate(status.LastUpdated)}
	}
	b, _ := json.Marshal(v)
	return &rpc.TypedData{Data: &rpc.TypedData_Json{Json: string(b)}}
}

// netRoundTrip formats t as .NET's DateTime.ToString("o") does for a local
// time: always 7 fractional digits and the offset.
func netRoundTrip(t time.Time) string {
	return t.Format("2006-01-02T15:04:05.0000000-07:00")
}

// schedules is the load's ScheduleStore.
func (g *generation) schedules() storage.ScheduleStore {
	if g.store != nil && g.store.Schedules != nil {
		return g.store.Schedules
	}
	// No storage was opened for this load: use the host's memory, as
	// openStorage does without an account.
	st := &g.h.storage
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.schedules == nil {
		st.schedules = storage.NewMemorySchedules()
	}
	return st.schedules
}

// scheduleStatus reads f's stored status; a store that fails is reported and
// taken as holding none.
func (g *generation) scheduleStatus(f *function) *ScheduleStatus {
	st, err := g.schedules().Get(g.ctx, f.Name)
	if err != nil {
		g.h.con.hostf("Warning", "%s: reading the timer's schedule status: %v", f.Name, err)
		return nil
	}
	return st
}

// putScheduleStatus stores f's status; like the extension, a failure is
// logged and the timer goes on.
func (g *generation) putScheduleStatus(f *function, st ScheduleStatus) {
	if err := g.schedules().Put(g.ctx, f.Name, st); err != nil {
		g.h.con.hostf("Error", "Function '%s' failed to update the timer trigger status: %v", f.Name, err)
	}
}

// checkPastDue is ScheduleMonitor.CheckPastDueAsync: it records a first
// status for a timer that has none, brings a stored status up to date when
// the schedule changed (updating last in place), and reports whether an
// occurrence was missed since the status was recorded (now is after the
// recorded Next).
func (g *generation) checkPastDue(f *function, now time.Time, last *ScheduleStatus) bool {
	var recordedNext time.Time
	if last == nil {
		next := f.schedule.next(now)
		g.putScheduleStatus(f, ScheduleStatus{Next: next, LastUpdated: now})
		recordedNext = next
	} else {
		var expected, lastUpdated time.Time
		switch {
		case !last.Last.IsZero():
			expected, lastUpdated = f.schedule.next(last.Last), last.Last
		case !last.LastUpdated.IsZero():
			expected, lastUpdated = f.schedule.next(last.LastUpdated), last.LastUpdated
		default:
			expected, lastUpdated = f.schedule.next(now), now
		}
		if !last.Next.Equal(expected) {
			// The schedule changed: a next occurrence in the past would
			// count as missed, so compute it from now.
			if now.After(expected) {
				expected, lastUpdated = f.schedule.next(now), now
			}
			*last = ScheduleStatus{Next: expected, LastUpdated: lastUpdated}
			g.putScheduleStatus(f, *last)
		}
		recordedNext = last.Next
	}
	return !recordedNext.IsZero() && now.After(recordedNext)
}

// runTimer is the timer extension's TimerListener for f, on local time as
// the host (which uses the machine's time zone): at start, with a schedule
// monitor (useMonitor, on unless the schedule fires more than once a
// minute), it reads the stored status and runs a missed occurrence at once
// with IsPastDue; otherwise, with runOnStartup, it runs once at start. Then
// it runs each occurrence when it is due; they never overlap, a late one
// runs right after the previous ends. After each run the status becomes
// {Last: the run's time, Next: the occurrence after it, LastUpdated: the
// run's time} and is stored; the function sees the status as it was before
// the run (null without a monitor), so Next is about the time it runs.
func (g *generation) runTimer(f *function) {
	now := time.Now()
	var status *ScheduleStatus
	pastDue := false
	if f.useMonitor {
		status = g.scheduleStatus(f)
		pastDue = g.checkPastDue(f, now, status)
	}
	if status == nil {
		// Nothing stored yet: the extension starts from "never".
		status = &ScheduleStatus{Next: f.schedule.next(now)}
	}
	fire := func(at time.Time, pastDue, onStartup bool) {
		if g.ctx.Err() != nil {
			return // stopping: this occurrence is left to the next load
		}
		var shown *ScheduleStatus
		if f.useMonitor {
			s := *status
			shown = &s
		}
		reason := "Timer fired at " + netRoundTrip(time.Now())
		switch {
		case pastDue:
			reason += " (IsPastDue)"
		case onStartup:
			reason += " (RunOnStartup)"
		}
		g.invokeWithRetry(call{fn: f, trigger: timerPayload(f, shown, pastDue), metadata: map[string]*rpc.TypedData{}, reason: reason})
		// A timer that fired a little early counts as run at its
		// scheduled time, so that Next moves on.
		if !pastDue && !onStartup && status.Next.After(at) {
			at = status.Next
		}
		*status = ScheduleStatus{Last: at, Next: f.schedule.next(at), LastUpdated: at}
		if f.useMonitor {
			g.putScheduleStatus(f, *status)
		}
	}
	switch {
	case pastDue:
		g.h.con.hostf("Information", "Timer '%s' is past due; running it now", f.Name)
		fire(time.Now(), true, false)
	case f.runOnStartup:
		fire(time.Now(), false, true)
	}
	for g.ctx.Err() == nil {
		if status.Next.IsZero() {
			g.h.con.hostf("Warning", "%s: schedule %q never fires again", f.Name, f.schedule.text)
			return
		}
		t := time.NewTimer(time.Until(status.Next))
		select {
		case <-g.ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		fire(time.Now(), false, false)
	}
}
