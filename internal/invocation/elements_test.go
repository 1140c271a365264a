package invocation

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestElements(t *testing.T) {
	for _, c := range []struct {
		text string
		want int
	}{
		{`[]`, 0},
		{` [ ] `, 0},
		{`[1]`, 1},
		{`[1,2,3]`, 3},
		{"\n[ \"a,b\" , {\"x\":[1,2]}, [3,4], null ]", 4},
		{`["\"],[", "\\"]`, 2},
		{`[[],{}]`, 2},
		{`{"a":[1,2]}`, 0},
		{`"[1,2]"`, 0},
		{`42`, 0},
	} {
		if !json.Valid([]byte(c.text)) {
			t.Fatalf("bad case %q", c.text)
		}
		var list []json.RawMessage
		if json.Unmarshal([]byte(c.text), &list) == nil && len(list) != c.want {
			t.Fatalf("case %q: encoding/json sees %d elements, the case says %d", c.text, len(list), c.want)
		}
		if got := JSONValue(c.text).Elements(); got != c.want {
			t.Errorf("Elements(%q) = %d, want %d", c.text, got, c.want)
		}
	}
	if n := JSONValue("[" + strings.Repeat("0,", 999_999) + "0]").Elements(); n != 1_000_000 {
		t.Errorf("a million elements: %d", n)
	}
	if n := StringValue("[1,2]").Elements(); n != 0 {
		t.Errorf("a string value: %d", n)
	}
	var nilValue *Value
	if nilValue.Elements() != 0 {
		t.Error("nil value")
	}
}

// FuzzElements checks Elements against encoding/json on valid JSON.
func FuzzElements(f *testing.F) {
	for _, s := range []string{`[]`, `[1,"a",{"b":[]}]`, `{"a":1}`, `"x"`, `[["\"]"]]`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !json.Valid([]byte(s)) {
			return
		}
		want := 0
		var list []json.RawMessage
		if json.Unmarshal([]byte(s), &list) == nil {
			want = len(list)
		}
		if got := JSONValue(s).Elements(); got != want {
			t.Errorf("Elements(%q) = %d, encoding/json: %d", s, got, want)
		}
	})
}
