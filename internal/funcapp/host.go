package funcapp

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/wasmworker/wasmworker/internal/jsonc"
)

// NoTimeout is HostConfig.FunctionTimeout for host.json "functionTimeout": "-1"
// (no limit).
const NoTimeout time.Duration = -1

// DefaultRoutePrefix is the HTTP route prefix when host.json sets none.
const DefaultRoutePrefix = "api"

// HostConfig is what the worker needs from host.json.
type HostConfig struct {
	Version string
	// FunctionTimeout is 0 if absent and NoTimeout for "-1".
	FunctionTimeout time.Duration
	// RoutePrefix is extensions.http.routePrefix, "api" by default; ""
	// is a valid explicit value.
	RoutePrefix string
	Raw         map[string]json.RawMessage
}

// DefaultHostConfig returns the settings used when host.json sets nothing.
func DefaultHostConfig() *HostConfig {
	return &HostConfig{RoutePrefix: DefaultRoutePrefix, Raw: map[string]json.RawMessage{}}
}

// LoadHostConfig reads appDir/host.json. The host requires that file: when it
// is missing, LoadHostConfig returns DefaultHostConfig() together with an
// error wrapping fs.ErrNotExist, so a caller may choose to go on with the
// defaults. Any other problem returns nil and an error naming the file.
func LoadHostConfig(appDir string) (*HostConfig, error) {
	path := filepath.Join(appDir, "host.json")
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return DefaultHostConfig(), fmt.Errorf("host.json: the function app folder %s has no host.json (a function app needs one, e.g. {\"version\": \"2.0\"}): %w", appDir, err)
		}
		return nil, fmt.Errorf("host.json: %w", err)
	}
	cfg, err := ParseHostConfig(data)
	if err != nil {
		return nil, fmt.Errorf("host.json: %w", err)
	}
	return cfg, nil
}

// ParseHostConfig parses the text of a host.json.
func ParseHostConfig(data []byte) (*HostConfig, error) {
	raw, err := parseObject(data)
	if err != nil {
		return nil, err
	}
	cfg := DefaultHostConfig()
	cfg.Raw = raw
	if v, ok := jsonc.Lookup(raw, "version"); ok && !isNull(v) {
		if err := json.Unmarshal(v, &cfg.Version); err != nil {
			return nil, fmt.Errorf("\"version\" must be a string such as \"2.0\", got %s", kindOf(v))
		}
	}
	if v, ok := jsonc.Lookup(raw, "functionTimeout"); ok && !isNull(v) {
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return nil, fmt.Errorf("\"functionTimeout\" must be a \"hh:mm:ss\" string or \"-1\", got %s", kindOf(v))
		}
		if strings.TrimSpace(s) == "-1" {
			cfg.FunctionTimeout = NoTimeout
		} else {
			d, err := ParseTimeSpan(s)
			if err != nil {
				return nil, fmt.Errorf("\"functionTimeout\": %w", err)
			}
			if d <= 0 {
				return nil, fmt.Errorf("\"functionTimeout\" %q must be positive (or \"-1\" for no limit)", s)
			}
			cfg.FunctionTimeout = d
		}
	}
	if ext, ok := jsonc.Lookup(raw, "extensions"); ok && !isNull(ext) {
		var extObj map[string]json.RawMessage
		if err := json.Unmarshal(ext, &extObj); err != nil {
			return nil, fmt.Errorf("\"extensions\" must be an object, got %s", kindOf(ext))
		}
		if h, ok := jsonc.Lookup(extObj, "http"); ok && !isNull(h) {
			var httpObj map[string]json.RawMessage
			if err := json.Unmarshal(h, &httpObj); err != nil {
				return nil, fmt.Errorf("\"extensions.http\" must be an object, got %s", kindOf(h))
			}
			if rp, ok := jsonc.Lookup(httpObj, "routePrefix"); ok && !isNull(rp) {
				if err := json.Unmarshal(rp, &cfg.RoutePrefix); err != nil {
					return nil, fmt.Errorf("\"extensions.http.routePrefix\" must be a string, got %s", kindOf(rp))
				}
			}
		}
	}
	return cfg, nil
}

// LoadSettings returns the "Values" of appDir/local.settings.json. A missing
// file gives an empty map and no error. Number and boolean values are
// returned as their JSON text; null values are left out.
func LoadSettings(appDir string) (map[string]string, error) {
	path := filepath.Join(appDir, "local.settings.json")
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return map[string]string{}, nil
		}
		return nil, fmt.Errorf("local.settings.json: %w", err)
	}
	raw, err := parseObject(data)
	if err != nil {
		return nil, fmt.Errorf("local.settings.json: %w", err)
	}
	out := map[string]string{}
	v, ok := jsonc.Lookup(raw, "Values")
	if !ok || isNull(v) {
		return out, nil
	}
	var values map[string]json.RawMessage
	if err := json.Unmarshal(v, &values); err != nil {
		return nil, fmt.Errorf("local.settings.json: \"Values\" must be an object of strings, got %s", kindOf(v))
	}
	for k, val := range values {
		switch kindOf(val) {
		case "a string":
			var s string
			if err := json.Unmarshal(val, &s); err != nil {
				return nil, fmt.Errorf("local.settings.json: Values.%s: %w", k, err)
			}
			out[k] = s
		case "a number", "a boolean":
			out[k] = strings.TrimSpace(string(val))
		case "null":
		default:
			return nil, fmt.Errorf("local.settings.json: Values.%s must be a string, got %s", k, kindOf(val))
		}
	}
	return out, nil
}

// App is a function app folder: host.json and one sub-folder per function.
type App struct {
	Dir       string // absolute
	Host      *HostConfig
	Functions []*Function // valid functions, sorted by name
	// Errors has one *FunctionError per broken function, naming it.
	Errors []error
}

// FunctionError is why one function of an app could not be read: its
// function.json is invalid, or its folder name is not a valid function name.
// Its message names the file (e.g. `Fn/function.json: …`).
type FunctionError struct {
	Name string // the function (folder) name
	Err  error
}

func (e *FunctionError) Error() string { return e.Err.Error() }

func (e *FunctionError) Unwrap() error { return e.Err }

// validName reports whether s is an ASCII letter followed by at most 127
// ASCII letters or digits, and also '_' or '-' when punct is set: the
// host's rules for binding names and for function (folder) names. It is
// written out rather than as the regular expressions the host uses: their
// bounded repetition of 127 compiled into a program of thousands of
// allocations, 3 ms of every worker's start.
func validName(s string, punct bool) bool {
	letter := func(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }
	if len(s) == 0 || len(s) > 128 || !letter(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !letter(c) && (c < '0' || c > '9') && (!punct || c != '_' && c != '-') {
			return false
		}
	}
	return true
}

// LoadApp reads host.json (required) and every sub-folder of dir that holds a
// function.json, sorted by name. A broken function goes into App.Errors with
// its name and does not stop the others; the error result is for an
// unreadable folder or a missing or broken host.json.
func LoadApp(dir string) (*App, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("function app folder %q: %w", dir, err)
	}
	host, err := LoadHostConfig(abs)
	if err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(abs)
	if err != nil {
		return nil, fmt.Errorf("function app folder: %w", err)
	}
	app := &App{Dir: abs, Host: host}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		if e.IsDir() {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	for _, name := range names {
		fdir := filepath.Join(abs, name)
		if _, err := os.Stat(filepath.Join(fdir, functionJSON)); err != nil {
			continue // not a function folder
		}
		if !ValidFunctionName(name) {
			app.Errors = append(app.Errors, &FunctionError{Name: name, Err: fmt.Errorf("%s: %q is not a valid function name: it must start with a letter and hold only letters, digits, '_' and '-' (at most 128), and must not be \"host\"", fileLabel(fdir), name)})
			continue
		}
		fn, err := LoadFunction(fdir)
		if err != nil {
			app.Errors = append(app.Errors, &FunctionError{Name: name, Err: err})
			continue
		}
		app.Functions = append(app.Functions, fn)
	}
	return app, nil
}

// Function returns the app's function called name (case-insensitive), or nil.
func (a *App) Function(name string) *Function {
	for _, f := range a.Functions {
		if strings.EqualFold(f.Name, name) {
			return f
		}
	}
	return nil
}

// ParseTimeSpan parses .NET TimeSpan text as host.json and function.json use
// it: "[-]hh:mm[:ss[.fffffff]]", "[-]d.hh:mm[:ss[.fffffff]]" or a whole
// number of days "[-]d". Hours must be 0–23, minutes and seconds 0–59.
func ParseTimeSpan(s string) (time.Duration, error) {
	orig := s
	s = strings.TrimSpace(s)
	bad := func(why string) error {
		return fmt.Errorf("invalid time span %q (%s); expected \"hh:mm:ss\" or \"d.hh:mm:ss\"", orig, why)
	}
	if s == "" {
		return 0, bad("empty")
	}
	neg := false
	if s[0] == '-' {
		neg, s = true, s[1:]
	}
	var days int64
	if !strings.Contains(s, ":") {
		n, err := parseDigits(s, 8)
		if err != nil {
			return 0, bad("not a number of days")
		}
		days = n
		return spanResult(neg, days, 0, 0, 0, 0, bad)
	}
	if i := strings.IndexByte(s, '.'); i >= 0 && i < strings.IndexByte(s, ':') {
		n, err := parseDigits(s[:i], 8)
		if err != nil {
			return 0, bad("bad days")
		}
		days, s = n, s[i+1:]
	}
	var frac int64
	if i := strings.IndexByte(s, '.'); i >= 0 {
		f := s[i+1:]
		if len(f) == 0 || len(f) > 7 {
			return 0, bad("the fraction must have 1 to 7 digits")
		}
		n, err := parseDigits(f, 7)
		if err != nil {
			return 0, bad("bad fraction")
		}
		for k := len(f); k < 7; k++ {
			n *= 10
		}
		frac, s = n, s[:i]
	}
	parts := strings.Split(s, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return 0, bad("expected 2 or 3 parts separated by ':'")
	}
	if frac != 0 && len(parts) != 3 {
		return 0, bad("a fraction needs seconds")
	}
	var hms [3]int64
	limits := [3]int64{23, 59, 59}
	names := [3]string{"hours", "minutes", "seconds"}
	for i, p := range parts {
		n, err := parseDigits(p, 2)
		if err != nil {
			return 0, bad("bad " + names[i])
		}
		if n > limits[i] {
			return 0, bad(fmt.Sprintf("%s must be at most %d", names[i], limits[i]))
		}
		hms[i] = n
	}
	return spanResult(neg, days, hms[0], hms[1], hms[2], frac, bad)
}

func spanResult(neg bool, days, h, m, sec, ticks int64, bad func(string) error) (time.Duration, error) {
	const maxDays = math.MaxInt64 / int64(24*time.Hour)
	if days >= maxDays {
		return 0, bad("too long")
	}
	d := time.Duration(days)*24*time.Hour + time.Duration(h)*time.Hour +
		time.Duration(m)*time.Minute + time.Duration(sec)*time.Second + time.Duration(ticks)*100
	if neg {
		d = -d
	}
	return d, nil
}

// parseDigits parses 1 to maxLen ASCII digits.
func parseDigits(s string, maxLen int) (int64, error) {
	if len(s) == 0 || len(s) > maxLen {
		return 0, errors.New("bad length")
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, errors.New("not a digit")
		}
	}
	return strconv.ParseInt(s, 10, 64)
}

// parseObject parses a JSON object the way the host's Newtonsoft reader
// accepts it: a UTF-8 byte-order mark and // or /* */ comments are allowed.
func parseObject(data []byte) (map[string]json.RawMessage, error) {
	clean, err := jsonc.Strip(data)
	if err != nil {
		return nil, err
	}
	if len(bytes.TrimSpace(clean)) == 0 {
		return nil, errors.New("the file is empty; expected a JSON object")
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(clean, &raw); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			line, col := position(clean, se.Offset)
			return nil, fmt.Errorf("invalid JSON at line %d, column %d: %v", line, col, err)
		}
		return nil, fmt.Errorf("expected a JSON object: %v", err)
	}
	if raw == nil {
		return nil, errors.New("expected a JSON object, got null")
	}
	return raw, nil
}

// position turns a byte offset into 1-based line and column numbers.
func position(data []byte, off int64) (line, col int) {
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	line, col = 1, 1
	for _, c := range data[:off] {
		if c == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return line, col
}
