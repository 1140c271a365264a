// Package ncrontab parses the six-field NCRONTAB expressions of Azure
// Functions timer triggers and computes their next occurrences.
//
// The format is "{second} {minute} {hour} {day} {month} {day-of-week}"; as
// in the timer extension, an expression of five fields has no seconds field
// and fires at second 0.
// Each field is "*", a number, a range "a-b", a step "*/n", "a/n" or "a-b/n",
// or a comma-separated list of those. Months and days of the week may be
// written as names or any prefix of them ("Jan", "mon", "Tuesday"), matched
// without regard to case; day-of-week numbers run 0 (Sunday) to 6. As in the
// NCrontab library the host uses, a time matches only when its day of the
// month AND its day of the week both match (not the Unix "either" rule).
package ncrontab

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Schedule is a parsed NCRONTAB expression.
type Schedule struct {
	expr   string
	fields [6]field // second, minute, hour, day, month, day of week
}

// field is a bit set of the allowed values of one component.
type field uint64

func (f field) has(v int) bool { return v >= 0 && v < 64 && f&(1<<uint(v)) != 0 }

// next returns the smallest allowed value >= v and <= max, or -1.
func (f field) next(v, max int) int {
	for ; v <= max; v++ {
		if f.has(v) {
			return v
		}
	}
	return -1
}

type kind struct {
	name     string
	min, max int
	names    []string
}

var kinds = [6]kind{
	{name: "second", min: 0, max: 59},
	{name: "minute", min: 0, max: 59},
	{name: "hour", min: 0, max: 23},
	{name: "day", min: 1, max: 31},
	{name: "month", min: 1, max: 12, names: []string{"january", "february", "march", "april", "may", "june",
		"july", "august", "september", "october", "november", "december"}},
	{name: "day-of-week", min: 0, max: 6, names: []string{"sunday", "monday", "tuesday", "wednesday",
		"thursday", "friday", "saturday"}},
}

// Parse parses a six-field NCRONTAB expression, or a five-field one
// without seconds (the timer extension's CronSchedule parses five fields
// without IncludingSeconds and any other number of fields with it).
func Parse(expr string) (*Schedule, error) {
	parts := strings.Fields(expr)
	if len(parts) == 5 {
		parts = append([]string{"0"}, parts...)
	}
	if len(parts) != 6 {
		return nil, fmt.Errorf("%q is not a valid NCRONTAB expression: it must have 6 fields "+
			"(second minute hour day month day-of-week), e.g. \"0 */5 * * * *\", or 5 without the seconds, but has %d", expr, len(parts))
	}
	s := &Schedule{expr: expr}
	for i, p := range parts {
		f, err := parseField(kinds[i], p)
		if err != nil {
			return nil, fmt.Errorf("NCRONTAB %q: %s field %q: %w", expr, kinds[i].name, p, err)
		}
		s.fields[i] = f
	}
	return s, nil
}

func parseField(k kind, s string) (field, error) {
	var f field
	for _, item := range strings.Split(s, ",") {
		if item == "" {
			return 0, fmt.Errorf("empty list element")
		}
		lo, hi, step := k.min, k.max, 1
		rng := item
		if i := strings.IndexByte(item, '/'); i >= 0 {
			n, err := strconv.Atoi(item[i+1:])
			if err != nil || n <= 0 {
				return 0, fmt.Errorf("step %q must be a positive number", item[i+1:])
			}
			step = n
			rng = item[:i]
		}
		switch {
		case rng == "*":
		case strings.IndexByte(rng, '-') > 0:
			i := strings.IndexByte(rng, '-')
			a, err := k.value(rng[:i])
			if err != nil {
				return 0, err
			}
			b, err := k.value(rng[i+1:])
			if err != nil {
				return 0, err
			}
			if a > b {
				return 0, fmt.Errorf("range %q runs backwards", rng)
			}
			lo, hi = a, b
		default:
			v, err := k.value(rng)
			if err != nil {
				return 0, err
			}
			lo = v
			if step == 1 && rng == item { // a single value, no step
				hi = v
			}
		}
		for v := lo; v <= hi; v += step {
			f |= 1 << uint(v)
		}
	}
	return f, nil
}

// value parses one number or name of kind k.
func (k kind) value(s string) (int, error) {
	if s == "" {
		return 0, fmt.Errorf("missing value")
	}
	if s[0] >= '0' && s[0] <= '9' {
		v, err := strconv.Atoi(s)
		if err != nil {
			return 0, fmt.Errorf("%q is not a number", s)
		}
		if v < k.min || v > k.max {
			return 0, fmt.Errorf("%d is outside %d-%d", v, k.min, k.max)
		}
		return v, nil
	}
	if k.names == nil {
		return 0, fmt.Errorf("%q is not a number between %d and %d", s, k.min, k.max)
	}
	ls := strings.ToLower(s)
	for i, n := range k.names {
		if strings.HasPrefix(n, ls) {
			return k.min + i, nil
		}
	}
	return 0, fmt.Errorf("%q is not a %s name (use one of %s)", s, k.name, strings.Join(k.names, ", "))
}

// EveryMinute reports whether the minute, hour, day, month and day-of-week
// fields allow every value, so that the schedule fires in every minute:
// NCrontab writes each such field as "*", which is what the timer extension
// checks before it turns the schedule monitor off for sub-minute schedules.
func (s *Schedule) EveryMinute() bool {
	for i := 1; i < len(s.fields); i++ {
		k := kinds[i]
		for v := k.min; v <= k.max; v++ {
			if !s.fields[i].has(v) {
				return false
			}
		}
	}
	return true
}

// String returns the expression as it was parsed.
func (s *Schedule) String() string { return s.expr }

// Next returns the first occurrence strictly after t, in t's location, with
// whole seconds. The fields are matched against wall-clock time in t's
// location, as the host does with local time. It returns the zero Time if the
// schedule never fires within the next eight years (e.g. "0 0 0 30 2 *").
func (s *Schedule) Next(t time.Time) time.Time {
	loc := t.Location()
	// Work on the wall clock (as UTC, which has no DST), then map back.
	w := time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), 0, time.UTC)
	for i := 0; i < 4; i++ {
		w = s.nextWall(w)
		if w.IsZero() {
			return time.Time{}
		}
		r := time.Date(w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute(), w.Second(), 0, loc)
		if r.After(t) {
			return r
		}
		// r is a repeated wall-clock time (DST fall-back) already passed: look further.
	}
	return time.Time{}
}

// nextWall returns the first matching wall-clock second after w (in UTC).
func (s *Schedule) nextWall(w time.Time) time.Time {
	t := w.Add(time.Second)
	limit := t.AddDate(8, 0, 0)
	sec, min, hour, day, mon, dow := s.fields[0], s.fields[1], s.fields[2], s.fields[3], s.fields[4], s.fields[5]
	for t.Before(limit) {
		y, m, d := t.Date()
		switch {
		case !mon.has(int(m)):
			t = time.Date(y, m+1, 1, 0, 0, 0, 0, time.UTC)
		case !day.has(d) || !dow.has(int(t.Weekday())):
			t = time.Date(y, m, d+1, 0, 0, 0, 0, time.UTC)
		default:
			h := hour.next(t.Hour(), 23)
			if h < 0 {
				t = time.Date(y, m, d+1, 0, 0, 0, 0, time.UTC)
				continue
			}
			if h != t.Hour() {
				t = time.Date(y, m, d, h, 0, 0, 0, time.UTC)
				continue
			}
			mi := min.next(t.Minute(), 59)
			if mi < 0 {
				t = time.Date(y, m, d, h+1, 0, 0, 0, time.UTC)
				continue
			}
			if mi != t.Minute() {
				t = time.Date(y, m, d, h, mi, 0, 0, time.UTC)
				continue
			}
			se := sec.next(t.Second(), 59)
			if se < 0 {
				t = time.Date(y, m, d, h, mi+1, 0, 0, time.UTC)
				continue
			}
			return time.Date(y, m, d, h, mi, se, 0, time.UTC)
		}
	}
	return time.Time{}
}
