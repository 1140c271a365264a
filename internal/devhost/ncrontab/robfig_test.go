package ncrontab

import (
	"testing"
	"time"

	"github.com/robfig/cron/v3"
)

// robfigParser parses six-field expressions with github.com/robfig/cron/v3,
// the most used Go cron module, configured as close to NCRONTAB as it goes:
// a required seconds field first.
var robfigParser = cron.NewParser(cron.Second | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow)

// TestRobfigCron decides whether robfig/cron could replace this package.
// It agrees on plain fields, ranges, steps, lists and three-letter names,
// but not on NCRONTAB as the timer extension uses it: robfig/cron fires
// when the day of the month OR the day of the week matches if both are
// restricted (NCrontab needs both), rejects full and shortened names
// ("Monday", "Mo") and five-field expressions, accepts "?" where NCrontab
// does not, and stops looking five years ahead. So the host's schedules would fire at other times;
// this package stays (see docs/local-host.md).
func TestRobfigCron(t *testing.T) {
	base := time.Date(2024, 11, 1, 10, 2, 30, 500, time.UTC) // a Friday
	// occurrences returns the next n occurrences, or nil if one is missing.
	occurrences := func(next func(time.Time) time.Time, n int) []time.Time {
		var out []time.Time
		at := base
		for range n {
			at = next(at)
			if at.IsZero() {
				return nil
			}
			out = append(out, at)
		}
		return out
	}
	// compare parses expr with both and reports whether their first 60
	// occurrences are the same ("" if so, else what differs).
	compare := func(expr string) string {
		ours, err := Parse(expr)
		if err != nil {
			return "ours: " + err.Error()
		}
		theirs, err := robfigParser.Parse("CRON_TZ=UTC " + expr)
		if err != nil {
			return "robfig/cron: " + err.Error()
		}
		a := occurrences(ours.Next, 60)
		b := occurrences(theirs.Next, 60)
		if len(a) != len(b) {
			return "a different number of occurrences"
		}
		for i := range a {
			if !a[i].Equal(b[i]) {
				return "occurrence " + a[i].Format(time.RFC3339) + " is " + b[i].Format(time.RFC3339) + " for robfig/cron"
			}
		}
		return ""
	}

	for _, expr := range []string{
		"0 */5 * * * *", "*/5 * * * * *", "*/10 * * * * *", "* * * * * *", "0 * * * * *",
		"0 0 * * * *", "30 15 10 * * *", "0 0 12 * * 1-5", "0 0 9-17 * * *", "0 0/15 * * * *",
		"5/20 * * * * *", "10-40/10 * * * * *", "0 0 10-14/2 * * *", "0 30 9 1,15 * *",
		"0 15,45 * * * *", "1,2,3 4,5 6 * * *", "0 0 0 1 1 *", "0 0 0 31 * *",
		"0 0 0 * * 0", "0 0 8 * * mon-fri", "0 0 12 * * sun,SAT", "0 0 0 1 jan,Jul *",
		"0 0 0 1 Mar-May *", "0 0 6 * 2 *", "0 */7 */3 * * *", "59 59 23 31 12 *",
		"0 0 0 13 * *", "0 0 0 * * 5", "0 0 0 1-7 * *",
	} {
		if diff := compare(expr); diff != "" {
			t.Errorf("%q: robfig/cron and NCRONTAB should agree: %s", expr, diff)
		}
	}

	for _, c := range []struct{ expr, why string }{
		{"0 0 0 13 * 5", "day of month and day of week both restricted (NCrontab: Friday the 13th; robfig/cron: every 13th and every Friday)"},
		{"0 0 0 */2 * 1", "a stepped day of month with a day of week"},
		{"0 0 9 * * Monday", "a full day name"},
		{"0 0 9 * * Mo", "a shortened day name"},
		{"0 0 0 1 March *", "a full month name"},
		{"*/5 * * * *", "five fields"},
		{"0 0 0 ? * *", `"?", which NCrontab rejects`},
		{"0 0 0 29 2 *", "the eight years from 2096 to 2104 without a February 29, past robfig/cron's five-year search"},
	} {
		diff := compare(c.expr)
		if diff == "" {
			t.Errorf("%q (%s): robfig/cron now agrees with NCRONTAB; the decision in docs/local-host.md may need revisiting", c.expr, c.why)
			continue
		}
		t.Logf("%q (%s): %s", c.expr, c.why, diff)
	}
}
