package funcapp

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writeFiles creates files (path → content) under root.
func writeFiles(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// funcDir makes <tmp>/<name> holding the given files and returns its path.
func funcDir(t *testing.T, name string, files map[string]string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFiles(t, dir, files)
	return dir
}

const httpFunctionJSON = `{ "scriptFile": "hello.wasm",
  "bindings": [
    { "type": "httpTrigger", "direction": "in", "name": "req", "authLevel": "anonymous",
      "methods": ["get","post"], "route": "hello/{who}" },
    { "type": "http", "direction": "out", "name": "res" } ] }`

const queueFunctionJSON = `{ "scriptFile": "worker.wasm",
  "bindings": [
    { "type": "queueTrigger", "direction": "in", "name": "msg", "queueName": "jobs", "connection": "AzureWebJobsStorage" },
    { "type": "queue", "direction": "out", "name": "$return", "queueName": "results", "connection": "AzureWebJobsStorage" } ] }`

func TestParseFunctionHTTPExample(t *testing.T) {
	dir := funcDir(t, "HelloHttp", map[string]string{"function.json": httpFunctionJSON, "hello.wasm": "x"})
	fn, err := LoadFunction(dir)
	if err != nil {
		t.Fatal(err)
	}
	if fn.Name != "HelloHttp" || fn.Dir != dir || fn.ScriptFile != filepath.Join(dir, "hello.wasm") {
		t.Fatalf("name/dir/script = %q %q %q", fn.Name, fn.Dir, fn.ScriptFile)
	}
	if len(fn.Bindings) != 2 {
		t.Fatalf("%d bindings", len(fn.Bindings))
	}
	tr := fn.Trigger()
	if tr == nil || tr.Name != "req" || tr.Type != "httpTrigger" || tr.Direction != "in" || !tr.IsTrigger() {
		t.Fatalf("trigger = %+v", tr)
	}
	if got := tr.Str("ROUTE"); got != "hello/{who}" {
		t.Errorf("Str(route) = %q", got)
	}
	if got := tr.Str("authLevel"); got != "anonymous" {
		t.Errorf("Str(authLevel) = %q", got)
	}
	if got := strings.Join(tr.Strs("methods"), ","); got != "get,post" {
		t.Errorf("Strs(methods) = %q", got)
	}
	if tr.Str("methods") != "" || tr.Str("missing") != "" || tr.Strs("route") == nil {
		t.Errorf("Str of array / missing / Strs of string wrong")
	}
	outs := fn.Outputs()
	if len(outs) != 1 || outs[0].Name != "res" || outs[0].Type != "http" || outs[0].IsTrigger() {
		t.Fatalf("outputs = %+v", outs)
	}
	if b := fn.Binding("RES"); b == nil || b.Name != "res" {
		t.Errorf("Binding(RES) = %+v", b)
	}
	if fn.Binding("nope") != nil || fn.ReturnBinding() != nil || fn.Retry != nil || fn.Disabled {
		t.Errorf("unexpected binding/retry/disabled")
	}
	if _, ok := fn.Raw["scriptFile"]; !ok {
		t.Errorf("Raw lacks scriptFile")
	}
}

func TestParseFunctionQueueExample(t *testing.T) {
	dir := funcDir(t, "Worker", map[string]string{"function.json": queueFunctionJSON, "worker.wasm": "x"})
	fn, err := LoadFunction(dir)
	if err != nil {
		t.Fatal(err)
	}
	if fn.Trigger().Str("queueName") != "jobs" {
		t.Errorf("queueName = %q", fn.Trigger().Str("queueName"))
	}
	rb := fn.ReturnBinding()
	if rb == nil || rb.Direction != "out" || rb.Str("queueName") != "results" {
		t.Fatalf("$return = %+v", rb)
	}
	if len(fn.Outputs()) != 1 {
		t.Errorf("outputs = %+v", fn.Outputs())
	}
}

func TestBindingBoolAndCase(t *testing.T) {
	dir := funcDir(t, "Timer", map[string]string{"function.json": `{"bindings":[
		{"Type":"TimerTrigger","Direction":"IN","Name":"tick","schedule":"0 */5 * * * *","runOnStartup":true,"useMonitor":"True","x":1,"dataType":"Binary"}],
		"disabled": true, "entryPoint": "run"}`, "t.wasm": ""})
	fn, err := LoadFunction(dir)
	if err != nil {
		t.Fatal(err)
	}
	b := fn.Bindings[0]
	if b.Name != "tick" || b.Direction != "in" || b.DataType != "binary" || !b.IsTrigger() {
		t.Fatalf("binding = %+v", b)
	}
	if !b.Bool("runOnStartup") || !b.Bool("USEMONITOR") || b.Bool("x") || b.Bool("absent") {
		t.Errorf("Bool values wrong")
	}
	if b.Str("schedule") != "0 */5 * * * *" {
		t.Errorf("schedule = %q", b.Str("schedule"))
	}
	if !fn.Disabled || fn.EntryPoint != "run" || fn.ScriptFile != filepath.Join(dir, "t.wasm") {
		t.Errorf("disabled/entry/script = %v %q %q", fn.Disabled, fn.EntryPoint, fn.ScriptFile)
	}
}

func TestParseFunctionErrors(t *testing.T) {
	trig := `{"type":"queueTrigger","direction":"in","name":"msg"}`
	cases := []struct {
		name, json, want string
	}{
		{"empty", ``, "empty"},
		{"not json", `{bindings`, "invalid JSON at line 1"},
		{"array", `[]`, "expected a JSON object"},
		{"null", `null`, "expected a JSON object"},
		{"no bindings", `{}`, `no "bindings"`},
		{"bindings not array", `{"bindings":{}}`, `"bindings" must be an array`},
		{"bindings empty", `{"bindings":[]}`, "at least one binding"},
		{"binding not object", `{"bindings":[1]}`, "binding 1 is a number, not a binding object"},
		{"no name", `{"bindings":[` + trig + `,{"type":"queue","direction":"out"}]}`, `HttpHello/function.json: binding 2 has no "name"`},
		{"empty name", `{"bindings":[{"type":"queueTrigger","direction":"in","name":""}]}`, `binding 1 has an empty "name"`},
		{"name not string", `{"bindings":[{"type":"queueTrigger","direction":"in","name":5}]}`, `"name" must be a string`},
		{"no type", `{"bindings":[{"direction":"in","name":"a"}]}`, `binding 1 ("a") has no "type"`},
		{"no direction", `{"bindings":[{"type":"queueTrigger","name":"a"}]}`, `has no "direction"`},
		{"bad direction", `{"bindings":[{"type":"queueTrigger","direction":"sideways","name":"a"}]}`, `direction "sideways"`},
		{"bad dataType", `{"bindings":[{"type":"queueTrigger","direction":"in","name":"a","dataType":"xml"}]}`, `dataType "xml"`},
		{"bad name", `{"bindings":[{"type":"queueTrigger","direction":"in","name":"my-msg"}]}`, `invalid name "my-msg"`},
		{"digit name", `{"bindings":[{"type":"queueTrigger","direction":"in","name":"1a"}]}`, `invalid name "1a"`},
		{"long name", `{"bindings":[{"type":"queueTrigger","direction":"in","name":"a` + strings.Repeat("b", 128) + `"}]}`, `invalid name`},
		{"$return in", `{"bindings":[{"type":"queueTrigger","direction":"in","name":"$return"}]}`, `must have direction "out"`},
		{"duplicate", `{"bindings":[` + trig + `,{"type":"queue","direction":"out","name":"MSG"}]}`, `bindings 1 and 2 are both named "MSG"`},
		{"no trigger", `{"bindings":[{"type":"queue","direction":"out","name":"a"}]}`, "no trigger binding"},
		{"trigger typo", `{"bindings":[{"type":"queueTriger","direction":"in","name":"a"}]}`, `unknown trigger type "queueTriger"; known: activityTrigger, blobTrigger,`},
		{"trigger typo case", `{"bindings":[{"type":"http","direction":"out","name":"r"},{"type":"HttpTrigge","direction":"in","name":"q"}]}`, `unknown trigger type "HttpTrigge"`},
		{"trigger cut short", `{"bindings":[{"type":"timerTrig","direction":"in","name":"t"}]}`, `unknown trigger type "timerTrig"`},
		{"input, not a trigger", `{"bindings":[{"type":"blob","direction":"in","name":"b"}]}`, "no trigger binding"},
		{"two triggers", `{"bindings":[` + trig + `,{"type":"timerTrigger","direction":"in","name":"t"}]}`, "2 trigger bindings"},
		{"entryPoint number", `{"bindings":[` + trig + `],"entryPoint":1}`, `"entryPoint" must be a string`},
		{"scriptFile number", `{"bindings":[` + trig + `],"scriptFile":1}`, `"scriptFile" must be a string`},
		{"scriptFile missing", `{"bindings":[` + trig + `],"scriptFile":"nope.wasm"}`, `"scriptFile" "nope.wasm" does not exist`},
		{"retry not object", `{"bindings":[` + trig + `],"retry":3}`, `"retry": expected an object`},
		{"retry bad strategy", `{"bindings":[` + trig + `],"retry":{"strategy":"often","maxRetryCount":1}}`, `"strategy" is "often"`},
		{"retry no count", `{"bindings":[` + trig + `],"retry":{"strategy":"fixedDelay","delayInterval":"00:00:01"}}`, `"maxRetryCount" is required`},
		{"retry bad count", `{"bindings":[` + trig + `],"retry":{"strategy":"fixedDelay","maxRetryCount":-2,"delayInterval":"00:00:01"}}`, `"maxRetryCount" must be an integer`},
		{"retry no delay", `{"bindings":[` + trig + `],"retry":{"strategy":"fixedDelay","maxRetryCount":2}}`, `"delayInterval" is required`},
		{"retry bad delay", `{"bindings":[` + trig + `],"retry":{"strategy":"fixedDelay","maxRetryCount":2,"delayInterval":"soon"}}`, `invalid time span "soon"`},
		{"retry no max", `{"bindings":[` + trig + `],"retry":{"strategy":"exponentialBackoff","maxRetryCount":2,"minimumInterval":"00:00:01"}}`, `"maximumInterval" is required`},
		{"retry min>max", `{"bindings":[` + trig + `],"retry":{"strategy":"exponentialBackoff","maxRetryCount":2,"minimumInterval":"00:01:00","maximumInterval":"00:00:01"}}`, `greater than`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := funcDir(t, "HttpHello", map[string]string{"f.wasm": ""})
			_, err := ParseFunction(dir, []byte(tc.json))
			if err == nil {
				t.Fatalf("no error; want %q", tc.want)
			}
			if !strings.HasPrefix(err.Error(), "HttpHello/function.json: ") || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q; want it to start with the file and contain %q", err, tc.want)
			}
		})
	}
}

func TestParseFunctionAccepts(t *testing.T) {
	cases := []struct {
		name, json string
		check      func(t *testing.T, fn *Function)
	}{
		{"bom and comments", "\xef\xbb\xbf{ // a comment\n\"bindings\":[/* the trigger */{\"type\":\"queueTrigger\",\"direction\":\"in\",\"name\":\"m\",\"path\":\"a//b/*c*/\"}]}",
			func(t *testing.T, fn *Function) {
				if fn.Bindings[0].Str("path") != "a//b/*c*/" {
					t.Errorf("comment stripping touched a string: %q", fn.Bindings[0].Str("path"))
				}
			}},
		{"undefined dataType", `{"bindings":[{"type":"queueTrigger","direction":"in","name":"m","dataType":"undefined"}]}`,
			func(t *testing.T, fn *Function) {
				if fn.Bindings[0].DataType != "" {
					t.Errorf("DataType = %q", fn.Bindings[0].DataType)
				}
			}},
		{"inout and 128-char name", `{"bindings":[{"type":"queueTrigger","direction":"in","name":"m"},{"type":"blob","direction":"InOut","name":"a` + strings.Repeat("b", 127) + `"}]}`,
			func(t *testing.T, fn *Function) {
				if len(fn.Outputs()) != 1 || fn.Outputs()[0].Direction != "inout" {
					t.Errorf("outputs = %+v", fn.Outputs())
				}
			}},
		{"fixed retry", `{"bindings":[{"type":"timerTrigger","direction":"in","name":"t"}],"retry":{"strategy":"FixedDelay","maxRetryCount":-1,"delayInterval":"00:00:10"}}`,
			func(t *testing.T, fn *Function) {
				want := Retry{Strategy: StrategyFixedDelay, MaxRetryCount: -1, DelayInterval: 10 * time.Second}
				if fn.Retry == nil || *fn.Retry != want {
					t.Errorf("retry = %+v", fn.Retry)
				}
			}},
		{"exponential retry", `{"bindings":[{"type":"timerTrigger","direction":"in","name":"t"}],"retry":{"strategy":"exponentialBackoff","maxRetryCount":5,"minimumInterval":"00:00:04","maximumInterval":"00:15:00"}}`,
			func(t *testing.T, fn *Function) {
				want := Retry{Strategy: StrategyExponentialBackoff, MaxRetryCount: 5, MinimumInterval: 4 * time.Second, MaximumInterval: 15 * time.Minute}
				if fn.Retry == nil || *fn.Retry != want {
					t.Errorf("retry = %+v", fn.Retry)
				}
			}},
		{"null retry", `{"bindings":[{"type":"timerTrigger","direction":"in","name":"t"}],"retry":null}`,
			func(t *testing.T, fn *Function) {
				if fn.Retry != nil {
					t.Errorf("retry = %+v", fn.Retry)
				}
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := funcDir(t, "F", map[string]string{"f.wasm": ""})
			fn, err := ParseFunction(dir, []byte(tc.json))
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, fn)
		})
	}
}

func TestScriptFileResolution(t *testing.T) {
	fj := `{"bindings":[{"type":"queueTrigger","direction":"in","name":"m"}]}`
	abs := filepath.Join(t.TempDir(), "elsewhere.wasm")
	writeFiles(t, filepath.Dir(abs), map[string]string{"elsewhere.wasm": ""})
	cases := []struct {
		name   string
		files  map[string]string
		script string // scriptFile value, "" for none
		want   string // base name, or "!<error text>"
	}{
		{"explicit", map[string]string{"a.wasm": "", "b.wasm": ""}, "b.wasm", "b.wasm"},
		{"explicit subdir", map[string]string{"bin/x.wasm": ""}, "bin/x.wasm", "x.wasm"},
		{"explicit parent", map[string]string{}, "../shared.wasm", "!does not exist"},
		{"explicit dir", map[string]string{"bin/x.wasm": ""}, "bin", "!is a directory"},
		{"only file", map[string]string{"only.wasm": ""}, "", "only.wasm"},
		{"run wins", map[string]string{"a.wasm": "", "run.wasm": ""}, "", "run.wasm"},
		{"index.js", map[string]string{"a.wasm": "", "index.js": ""}, "", "index.js"},
		{"subdirs ignored", map[string]string{"lib/x": "", "main.wasm": ""}, "", "main.wasm"},
		{"ambiguous", map[string]string{"a.wasm": "", "b.wasm": ""}, "", "!cannot tell which of the 2 files"},
		{"none", map[string]string{}, "", "!no script file"},
		{"absolute", map[string]string{}, abs, "elsewhere.wasm"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := funcDir(t, "F", tc.files)
			data := fj
			if tc.script != "" {
				data = `{"scriptFile":` + quote(tc.script) + `,` + fj[1:]
			}
			fn, err := ParseFunction(dir, []byte(data))
			if strings.HasPrefix(tc.want, "!") {
				if err == nil || !strings.Contains(err.Error(), tc.want[1:]) {
					t.Fatalf("err = %v; want %q", err, tc.want[1:])
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !filepath.IsAbs(fn.ScriptFile) || filepath.Base(fn.ScriptFile) != tc.want {
				t.Fatalf("ScriptFile = %q; want …/%s", fn.ScriptFile, tc.want)
			}
		})
	}
}

func quote(s string) string {
	return `"` + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), `"`, `\"`) + `"`
}

func TestParseTimeSpan(t *testing.T) {
	cases := []struct {
		in   string
		want time.Duration
		err  bool
	}{
		{"00:05:00", 5 * time.Minute, false},
		{"01:02:03", time.Hour + 2*time.Minute + 3*time.Second, false},
		{"23:59:59", 24*time.Hour - time.Second, false},
		{"1.02:00:00", 26 * time.Hour, false},
		{"00:00:01.5", 1500 * time.Millisecond, false},
		{"00:00:00.0000001", 100 * time.Nanosecond, false},
		{"00:30", 30 * time.Minute, false},
		{"2", 48 * time.Hour, false},
		{"-1", -24 * time.Hour, false},
		{"-00:00:05", -5 * time.Second, false},
		{" 00:00:05 ", 5 * time.Second, false},
		{"", 0, true},
		{"24:00:00", 0, true},
		{"00:60:00", 0, true},
		{"00:00:60", 0, true},
		{"00:00:01.12345678", 0, true},
		{"00:00:01.", 0, true},
		{"1:2:3:4", 0, true},
		{"abc", 0, true},
		{"00:0a:00", 0, true},
		{"00:30.5", 0, true},
		{"99999999", 0, true},
		{"-", 0, true},
		{"+00:01:00", 0, true},
	}
	for _, tc := range cases {
		got, err := ParseTimeSpan(tc.in)
		if tc.err {
			if err == nil {
				t.Errorf("ParseTimeSpan(%q) = %v; want an error", tc.in, got)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseTimeSpan(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

func TestLoadHostConfig(t *testing.T) {
	cases := []struct {
		name, json string
		want       HostConfig // Raw not compared
		err        string
	}{
		{"minimal", `{"version":"2.0"}`, HostConfig{Version: "2.0", RoutePrefix: "api"}, ""},
		{"timeout", `{"version":"2.0","functionTimeout":"00:10:00"}`, HostConfig{Version: "2.0", FunctionTimeout: 10 * time.Minute, RoutePrefix: "api"}, ""},
		{"unlimited", `{"functionTimeout":"-1"}`, HostConfig{FunctionTimeout: NoTimeout, RoutePrefix: "api"}, ""},
		{"days", `{"functionTimeout":"1.00:00:00"}`, HostConfig{FunctionTimeout: 24 * time.Hour, RoutePrefix: "api"}, ""},
		{"route prefix", `{"extensions":{"http":{"routePrefix":"v1"}}}`, HostConfig{RoutePrefix: "v1"}, ""},
		{"empty route prefix", `{"Extensions":{"HTTP":{"RoutePrefix":""}}}`, HostConfig{RoutePrefix: ""}, ""},
		{"comments", "// hi\n{\"version\":\"2.0\" /* x */}", HostConfig{Version: "2.0", RoutePrefix: "api"}, ""},
		{"bad timeout", `{"functionTimeout":"ten minutes"}`, HostConfig{}, `host.json: "functionTimeout": invalid time span`},
		{"zero timeout", `{"functionTimeout":"00:00:00"}`, HostConfig{}, `must be positive`},
		{"timeout number", `{"functionTimeout":600}`, HostConfig{}, `"functionTimeout" must be a "hh:mm:ss" string`},
		{"version number", `{"version":2}`, HostConfig{}, `"version" must be a string`},
		{"bad extensions", `{"extensions":[]}`, HostConfig{}, `"extensions" must be an object`},
		{"bad http", `{"extensions":{"http":1}}`, HostConfig{}, `"extensions.http" must be an object`},
		{"bad prefix", `{"extensions":{"http":{"routePrefix":1}}}`, HostConfig{}, `routePrefix" must be a string`},
		{"broken", `{"version":`, HostConfig{}, `host.json: invalid JSON at line 1`},
		{"unclosed comment", `{} /*`, HostConfig{}, `never closed`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, map[string]string{"host.json": tc.json})
			cfg, err := LoadHostConfig(dir)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v; want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Version != tc.want.Version || cfg.FunctionTimeout != tc.want.FunctionTimeout || cfg.RoutePrefix != tc.want.RoutePrefix || cfg.Raw == nil {
				t.Fatalf("cfg = %+v; want %+v", cfg, tc.want)
			}
		})
	}
}

func TestLoadHostConfigMissing(t *testing.T) {
	cfg, err := LoadHostConfig(t.TempDir())
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "has no host.json") {
		t.Fatalf("err = %v", err)
	}
	if cfg == nil || cfg.RoutePrefix != "api" || cfg.FunctionTimeout != 0 {
		t.Fatalf("defaults = %+v", cfg)
	}
}

func TestLoadSettings(t *testing.T) {
	dir := t.TempDir()
	got, err := LoadSettings(dir)
	if err != nil || got == nil || len(got) != 0 {
		t.Fatalf("missing file: %v, %v", got, err)
	}
	writeFiles(t, dir, map[string]string{"local.settings.json": `{"IsEncrypted":false,"Values":{
		"FUNCTIONS_WORKER_RUNTIME":"wasm","AzureWebJobsStorage":"UseDevelopmentStorage=true","N":5,"B":true,"Z":null}}`})
	got, err = LoadSettings(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"FUNCTIONS_WORKER_RUNTIME": "wasm", "AzureWebJobsStorage": "UseDevelopmentStorage=true", "N": "5", "B": "true"}
	if len(got) != len(want) {
		t.Fatalf("got %v", got)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q; want %q", k, got[k], v)
		}
	}
	for _, bad := range []struct{ json, want string }{
		{`{"Values":{"A":{}}}`, "Values.A must be a string"},
		{`{"Values":[]}`, `"Values" must be an object`},
		{`nope`, "local.settings.json: invalid JSON"},
	} {
		writeFiles(t, dir, map[string]string{"local.settings.json": bad.json})
		if _, err := LoadSettings(dir); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%s: err = %v; want %q", bad.json, err, bad.want)
		}
	}
	writeFiles(t, dir, map[string]string{"local.settings.json": `{"IsEncrypted":false}`})
	if got, err := LoadSettings(dir); err != nil || len(got) != 0 {
		t.Errorf("no Values: %v, %v", got, err)
	}
}

func TestLoadApp(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"host.json":               `{"version":"2.0","extensions":{"http":{"routePrefix":""}}}`,
		"Zeta/function.json":      queueFunctionJSON,
		"Zeta/worker.wasm":        "",
		"HelloHttp/function.json": httpFunctionJSON,
		"HelloHttp/hello.wasm":    "",
		"Broken/function.json":    `{"bindings":[{"type":"queue","direction":"out","name":"x"}]}`,
		"Broken/x.wasm":           "",
		"bad.name/function.json":  httpFunctionJSON,
		"host/function.json":      httpFunctionJSON,
		"notes/readme.txt":        "not a function",
		"file.txt":                "",
	})
	app, err := LoadApp(dir)
	if err != nil {
		t.Fatal(err)
	}
	if app.Host.RoutePrefix != "" || app.Host.Version != "2.0" {
		t.Errorf("host = %+v", app.Host)
	}
	var names []string
	for _, f := range app.Functions {
		names = append(names, f.Name)
	}
	if strings.Join(names, ",") != "HelloHttp,Zeta" {
		t.Errorf("functions = %v", names)
	}
	if app.Function("hellohttp") == nil || app.Function("Broken") != nil {
		t.Errorf("App.Function lookup wrong")
	}
	var errs []string
	for _, e := range app.Errors {
		errs = append(errs, e.Error())
	}
	all := strings.Join(errs, "\n")
	names = nil
	for _, e := range app.Errors {
		var fe *FunctionError
		if !errors.As(e, &fe) {
			t.Errorf("error %q is not a *FunctionError", e)
			continue
		}
		names = append(names, fe.Name)
	}
	if strings.Join(names, ",") != "Broken,bad.name,host" {
		t.Errorf("functions in error = %v, want Broken, bad.name, host", names)
	}
	if len(errs) != 3 || !strings.Contains(all, "Broken/function.json: no trigger binding") ||
		!strings.Contains(all, `bad.name/function.json: "bad.name" is not a valid function name`) ||
		!strings.Contains(all, `host/function.json: "host" is not a valid function name`) {
		t.Errorf("errors:\n%s", all)
	}

	if _, err := LoadApp(t.TempDir()); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("LoadApp without host.json: err = %v", err)
	}
}
