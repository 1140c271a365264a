package ncrontab

import (
	"strings"
	"testing"
	"time"
)

func TestNext(t *testing.T) {
	base := time.Date(2024, 11, 1, 10, 2, 30, 500, time.UTC) // a Friday
	cases := []struct {
		expr string
		want []string // successive occurrences
	}{
		{"0 */5 * * * *", []string{"2024-11-01T10:05:00Z", "2024-11-01T10:10:00Z"}},
		{"*/10 * * * * *", []string{"2024-11-01T10:02:40Z", "2024-11-01T10:02:50Z", "2024-11-01T10:03:00Z"}},
		{"* * * * * *", []string{"2024-11-01T10:02:31Z", "2024-11-01T10:02:32Z"}},
		{"0 0 * * * *", []string{"2024-11-01T11:00:00Z", "2024-11-01T12:00:00Z"}},
		{"0 30 9 * * 1-5", []string{"2024-11-04T09:30:00Z", "2024-11-05T09:30:00Z"}},
		{"0 30 9 * * Mon-Fri", []string{"2024-11-04T09:30:00Z"}},
		{"0 0 0 1 Jan *", []string{"2025-01-01T00:00:00Z", "2026-01-01T00:00:00Z"}},
		{"0 0 12 * * sun,SAT", []string{"2024-11-02T12:00:00Z", "2024-11-03T12:00:00Z", "2024-11-09T12:00:00Z"}},
		{"5/20 * * * * *", []string{"2024-11-01T10:02:45Z", "2024-11-01T10:03:05Z"}},
		{"0 0 10-14/2 * * *", []string{"2024-11-01T12:00:00Z", "2024-11-01T14:00:00Z", "2024-11-02T10:00:00Z"}},
		{"0 0 0 31 * *", []string{"2024-12-31T00:00:00Z", "2025-01-31T00:00:00Z", "2025-03-31T00:00:00Z"}},
		{"0 0 0 29 2 *", []string{"2028-02-29T00:00:00Z"}},
		// Day of month AND day of week must both match (NCrontab semantics):
		// the 13th that is a Friday.
		{"0 0 0 13 * 5", []string{"2024-12-13T00:00:00Z", "2025-06-13T00:00:00Z"}},
		{"30 1,2 3 * * *", []string{"2024-11-02T03:01:30Z", "2024-11-02T03:02:30Z"}},
	}
	for _, c := range cases {
		s, err := Parse(c.expr)
		if err != nil {
			t.Fatalf("Parse(%q): %v", c.expr, err)
		}
		at := base
		for i, w := range c.want {
			at = s.Next(at)
			if got := at.Format(time.RFC3339); got != w {
				t.Errorf("%q occurrence %d = %s, want %s", c.expr, i+1, got, w)
				break
			}
		}
	}
}

func TestNextOnOccurrenceIsStrictlyAfter(t *testing.T) {
	s, err := Parse("0 */5 * * * *")
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2024, 1, 1, 0, 5, 0, 0, time.UTC)
	if got := s.Next(at); !got.Equal(at.Add(5 * time.Minute)) {
		t.Errorf("Next(%v) = %v, want 5 minutes later", at, got)
	}
}

func TestNextNever(t *testing.T) {
	s, err := Parse("0 0 0 30 2 *")
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Next(time.Now()); !got.IsZero() {
		t.Errorf("Next of 30 February = %v, want zero", got)
	}
}

func TestNextDST(t *testing.T) {
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip("no tzdata:", err)
	}
	// 2024-03-31 02:00 does not exist in Berlin; 2024-10-27 02:30 happens twice.
	s, err := Parse("0 30 2 * * *")
	if err != nil {
		t.Fatal(err)
	}
	got := s.Next(time.Date(2024, 3, 30, 12, 0, 0, 0, loc))
	if !got.After(time.Date(2024, 3, 30, 12, 0, 0, 0, loc)) || got.Day() != 31 {
		t.Errorf("spring-forward occurrence = %v", got)
	}
	first := s.Next(time.Date(2024, 10, 27, 0, 0, 0, 0, loc))
	second := s.Next(first)
	if !second.After(first) {
		t.Errorf("fall-back: second occurrence %v not after first %v", second, first)
	}
	if second.Day() != 28 {
		t.Errorf("fall-back: a repeated wall-clock time fired twice: %v then %v", first, second)
	}
}

func TestParseErrors(t *testing.T) {
	cases := map[string]string{
		"":                               "6 fields",
		"0 * * *":                        "6 fields",
		"0 0 0 0 * * *":                  "6 fields",
		"60 * * * * *":                   "outside 0-59",
		"0 0 24 * * *":                   "outside 0-23",
		"0 0 0 0 * *":                    "outside 1-31",
		"0 0 0 * 13 *":                   "outside 1-12",
		"0 0 0 * * 7":                    "outside 0-6",
		"0 0 0 * Foo *":                  "not a month name",
		"0 0 0 * * Funday":               "not a day-of-week name",
		"*/0 * * * * *":                  "positive",
		"*/x * * * * *":                  "positive",
		"5-1 * * * * *":                  "backwards",
		"1,,2 * * * * *":                 "empty list element",
		"a * * * * *":                    "not a number",
		"0 0 0 * * -1":                   "not a day-of-week name",
		"0 0 0 * * 1-":                   "missing value",
		"99999999999999999999 * * * * *": "not a number",
	}
	for expr, want := range cases {
		_, err := Parse(expr)
		if err == nil {
			t.Errorf("Parse(%q) succeeded, want error containing %q", expr, want)
			continue
		}
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%q) = %v, want it to mention %q", expr, err, want)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"0 */5 * * * *", "1-5/2 0 0 1 Jan Mon", "* * * * * *", "0 0 0 30 2 *"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, expr string) {
		s, err := Parse(expr)
		if err != nil {
			return
		}
		at := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
		if n := s.Next(at); !n.IsZero() && !n.After(at) {
			t.Fatalf("Next(%v) = %v is not after", at, n)
		}
	})
}

// TestFiveFields checks that a five-field expression is the six-field one
// with seconds 0, as the timer extension parses it.
func TestFiveFields(t *testing.T) {
	base := time.Date(2024, 11, 1, 10, 2, 30, 0, time.UTC)
	for five, six := range map[string]string{
		"*/5 * * * *":     "0 */5 * * * *",
		"30 9 * * 1-5":    "0 30 9 * * 1-5",
		"0 0 1 Jan *":     "0 0 0 1 Jan *",
		"15,45 */2 * * *": "0 15,45 */2 * * *",
	} {
		a, err := Parse(five)
		if err != nil {
			t.Fatalf("Parse(%q): %v", five, err)
		}
		b, err := Parse(six)
		if err != nil {
			t.Fatalf("Parse(%q): %v", six, err)
		}
		at, bt := base, base
		for i := 0; i < 20; i++ {
			at, bt = a.Next(at), b.Next(bt)
			if !at.Equal(bt) {
				t.Errorf("%q occurrence %d = %v, %q gives %v", five, i+1, at, six, bt)
				break
			}
		}
	}
}

func TestEveryMinute(t *testing.T) {
	for expr, want := range map[string]bool{
		"*/2 * * * * *":        true,
		"0 * * * * *":          true,
		"0,30 0-59 * 1-31 * *": true,
		"* * * * Jan-Dec 0-6":  true,
		"*/10 5 * * * *":       false,
		"* * 9-17 * * *":       false,
		"* * * * * 1-5":        false,
		"* * * * *":            true,
		"0 */5 * * * *":        false,
	} {
		s, err := Parse(expr)
		if err != nil {
			t.Fatalf("Parse(%q): %v", expr, err)
		}
		if got := s.EveryMinute(); got != want {
			t.Errorf("Parse(%q).EveryMinute() = %v, want %v", expr, got, want)
		}
	}
}
