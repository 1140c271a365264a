package jsonc

import (
	"encoding/json"
	"testing"
)

func TestStrip(t *testing.T) {
	for _, c := range []struct{ in, want, err string }{
		{`{"a":1}`, `{"a":1}`, ""},
		{"\xef\xbb\xbf{\"a\":1}", `{"a":1}`, ""},
		{"{ // c\n\"a\":1}", "{     \n\"a\":1}", ""},
		{`{/* x */"a":"//not/*a*/comment"}`, `{       "a":"//not/*a*/comment"}`, ""},
		{"{/* a\nb */}", "{    \n    }", ""},
		{`{"a":"\"//"}`, `{"a":"\"//"}`, ""},
		{`{/* open`, "", "never closed"},
	} {
		got, err := Strip([]byte(c.in))
		if c.err != "" {
			if err == nil {
				t.Errorf("Strip(%q): no error, want %q", c.in, c.err)
			}
			continue
		}
		if err != nil || string(got) != c.want {
			t.Errorf("Strip(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
		if !json.Valid(got) {
			t.Errorf("Strip(%q) is not valid JSON: %q", c.in, got)
		}
	}
}

func TestLookup(t *testing.T) {
	obj := map[string]json.RawMessage{"Bindings": json.RawMessage(`1`), "bindings": json.RawMessage(`2`), "Other": json.RawMessage(`3`)}
	if v, ok := Lookup(obj, "bindings"); !ok || string(v) != "2" {
		t.Errorf("exact key: %s %v", v, ok)
	}
	if v, ok := Lookup(obj, "OTHER"); !ok || string(v) != "3" {
		t.Errorf("case-insensitive key: %s %v", v, ok)
	}
	if _, ok := Lookup(obj, "missing"); ok {
		t.Error("missing key found")
	}
}

func FuzzStrip(f *testing.F) {
	f.Add([]byte(`{"a":/*x*/1 // y
}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		out, err := Strip(b)
		if err != nil {
			return
		}
		if json.Valid(b) && !json.Valid(out) {
			t.Fatalf("valid JSON %q became invalid %q", b, out)
		}
	})
}
