package route

import (
	"reflect"
	"strings"
	"testing"
)

func TestMatch(t *testing.T) {
	cases := []struct {
		tmpl, path string
		want       map[string]string // nil = no match
	}{
		{"api/hello/{name}", "/api/hello/world", map[string]string{"name": "world"}},
		{"api/hello/{name}", "/API/Hello/world/", map[string]string{"name": "world"}},
		{"api/hello/{name}", "/api/hello", nil},
		{"api/hello/{name}", "/api/hello/a/b", nil},
		{"api/hello/{name?}", "/api/hello", map[string]string{}},
		{"api/hello/{name?}", "/api/hello/x", map[string]string{"name": "x"}},
		{"api/items/{id:int}", "/api/items/42", map[string]string{"id": "42"}},
		{"api/items/{id:int}", "/api/items/abc", nil},
		{"api/items/{id:int}", "/api/items/99999999999", nil},
		{"api/items/{id:long}", "/api/items/99999999999", map[string]string{"id": "99999999999"}},
		{"api/items/{id:int:min(10)}", "/api/items/9", nil},
		{"api/items/{id:int:range(1,5)}", "/api/items/3", map[string]string{"id": "3"}},
		{"api/items/{id:int?}", "/api/items", map[string]string{}},
		{"api/items/{id:int?}", "/api/items/x", nil},
		{"api/n/{n:alpha}", "/api/n/abc", map[string]string{"n": "abc"}},
		{"api/n/{n:alpha}", "/api/n/ab1", nil},
		{"api/g/{g:guid}", "/api/g/0f8fad5b-d9cb-469f-a165-70867728950e", map[string]string{"g": "0f8fad5b-d9cb-469f-a165-70867728950e"}},
		{"api/g/{g:guid}", "/api/g/nope", nil},
		{"api/b/{b:bool}", "/api/b/True", map[string]string{"b": "True"}},
		{"api/l/{s:length(3)}", "/api/l/abc", map[string]string{"s": "abc"}},
		{"api/l/{s:length(3)}", "/api/l/abcd", nil},
		{"api/l/{s:maxlength(2)}", "/api/l/abc", nil},
		{"api/r/{s:regex(^ab+$)}", "/api/r/abbb", map[string]string{"s": "abbb"}},
		{"api/files/{*path}", "/api/files/a/b/c.txt", map[string]string{"path": "a/b/c.txt"}},
		{"api/files/{**path}", "/api/files", map[string]string{}},
		{"api/d/{x=7}", "/api/d", map[string]string{"x": "7"}},
		{"api/d/{x=7}", "/api/d/8", map[string]string{"x": "8"}},
		{"api/f/{name}.{ext}", "/api/f/report.final.pdf", map[string]string{"name": "report", "ext": "final.pdf"}},
		{"api/f/file-{id:int}", "/api/f/file-12", map[string]string{"id": "12"}},
		{"api/f/file-{id:int}", "/api/f/file-x", nil},
		{"", "/", map[string]string{}},
		{"{*all}", "/anything/at/all", map[string]string{"all": "anything/at/all"}},
	}
	for _, c := range cases {
		tp, err := Parse(c.tmpl)
		if err != nil {
			t.Errorf("Parse(%q): %v", c.tmpl, err)
			continue
		}
		got, ok := tp.Match(c.path)
		if c.want == nil {
			if ok {
				t.Errorf("%q matched %q with %v, want no match", c.tmpl, c.path, got)
			}
			continue
		}
		if !ok || !reflect.DeepEqual(got, c.want) {
			t.Errorf("%q on %q = %v, %v; want %v", c.tmpl, c.path, got, ok, c.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	cases := map[string]string{
		"api//x":           "empty segment",
		"api/{x":           "unmatched '{'",
		"api/x}":           "unmatched '}'",
		"api/{x}/{x}":      "appears twice",
		"api/{*rest}/more": "must be the last segment",
		"api/{x?}/more":    "must be the last segment",
		"api/{x:nope}":     "unknown constraint",
		"api/{x:min(a)}":   "not a number",
		"api/{1x}":         "not valid",
		"api/{a}{b}":       "separated by literal text",
		"api/{x:regex(()}": "regex",
		"api/{x:range(1)}": "takes 2",
	}
	for tmpl, want := range cases {
		_, err := Parse(tmpl)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%q) = %v, want error mentioning %q", tmpl, err, want)
		}
	}
}

func TestTablePrecedence(t *testing.T) {
	var tb Table[string]
	for _, s := range []string{"api/{*rest}", "api/items/{name}", "api/items/{id:int}", "api/items/new", "api/{a}/{b}"} {
		tp, err := Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		tb.Add(tp, s)
	}
	cases := map[string]string{
		"/api/items/new":  "api/items/new",
		"/api/items/5":    "api/items/{id:int}",
		"/api/items/five": "api/items/{name}",
		"/api/other/x":    "api/{a}/{b}",
		"/api/x/y/z":      "api/{*rest}",
	}
	for path, want := range cases {
		got, _, ok := tb.Lookup(path, nil)
		if !ok || got != want {
			t.Errorf("Lookup(%q) = %q, %v; want %q", path, got, ok, want)
		}
	}
	// accept can skip a route (e.g. wrong HTTP method) so the next one is tried.
	got, _, ok := tb.Lookup("/api/items/new", func(v string) bool { return v != "api/items/new" })
	if !ok || got != "api/items/{name}" {
		t.Errorf("Lookup with accept = %q, %v", got, ok)
	}
	if _, _, ok := tb.Lookup("/other", nil); ok {
		t.Error("Lookup(/other) matched")
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"api/{x:int}", "a/{b?}", "{*c}", "f/{n}.{e}", "x/{y:regex(^a+$)}"} {
		f.Add(s, "/api/1")
	}
	f.Fuzz(func(t *testing.T, tmpl, path string) {
		tp, err := Parse(tmpl)
		if err != nil {
			return
		}
		tp.Match(path)
	})
}
