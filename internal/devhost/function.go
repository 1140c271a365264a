package devhost

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/wasmworker/wasmworker/internal/devhost/ncrontab"
	"github.com/wasmworker/wasmworker/internal/devhost/queue"
	"github.com/wasmworker/wasmworker/internal/devhost/route"
	"github.com/wasmworker/wasmworker/internal/devhost/storage"
	"github.com/wasmworker/wasmworker/internal/funcapp"
)

// Trigger kinds wasmfunc serves locally.
const (
	kindHTTP  = "http"
	kindQueue = "queue"
	kindTimer = "timer"
	kindBlob  = "blob"
	kindOther = "other"
)

// function is a loaded function with what its trigger needs at run time.
type function struct {
	*funcapp.Function
	trigger  *funcapp.Binding
	kind     string
	disabled bool

	// HTTP
	route      *route.Template
	routeText  string // with the prefix, for display
	methods    map[string]bool
	httpOutput string // name of the http output binding, "" if none

	// queue
	queueName string

	// blob trigger
	blobPath *storage.TriggerPath

	// timer
	schedule     schedule
	runOnStartup bool
	useMonitor   bool
}

// schedule is an NCRONTAB expression or a constant interval.
type schedule struct {
	cron     *ncrontab.Schedule
	interval time.Duration
	text     string
}

// next returns the first occurrence after t (zero if none).
func (s schedule) next(t time.Time) time.Time {
	if s.cron != nil {
		return s.cron.Next(t)
	}
	return t.Add(s.interval)
}

var settingRef = regexp.MustCompile(`%([^%]+)%`)

// resolveSettings replaces %Name% with the app setting Name, as the host's
// name resolver does for binding expressions.
func resolveSettings(s string, lookup func(string) (string, bool)) (string, error) {
	var missing []string
	out := settingRef.ReplaceAllStringFunc(s, func(m string) string {
		name := m[1 : len(m)-1]
		if v, ok := lookup(name); ok {
			return v
		}
		missing = append(missing, name)
		return m
	})
	if len(missing) > 0 {
		return "", fmt.Errorf("%q refers to app setting %s, which is not set (add it to local.settings.json Values)", s, strings.Join(missing, ", "))
	}
	return out, nil
}

// prepare reads the trigger settings of fn; routePrefix comes from host.json.
func prepare(fn *funcapp.Function, routePrefix string, lookup func(string) (string, bool)) (*function, error) {
	f := &function{Function: fn, trigger: fn.Trigger(), kind: kindOther}
	if f.trigger == nil {
		return nil, fmt.Errorf("%s: no trigger binding", fn.Name)
	}
	if v, ok := lookup("AzureWebJobs." + fn.Name + ".Disabled"); ok && (strings.EqualFold(v, "true") || v == "1") {
		f.disabled = true
	}
	f.disabled = f.disabled || fn.Disabled
	switch strings.ToLower(f.trigger.Type) {
	case "httptrigger":
		f.kind = kindHTTP
		tmpl := f.trigger.Str("route")
		if tmpl == "" {
			tmpl = fn.Name
		}
		full := strings.Trim(routePrefix, "/")
		if t := strings.Trim(tmpl, "/"); t != "" {
			if full != "" {
				full += "/"
			}
			full += t
		}
		rt, err := route.Parse(full)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", fn.Name, err)
		}
		f.route, f.routeText = rt, full
		f.methods = map[string]bool{}
		for _, m := range f.trigger.Strs("methods") {
			f.methods[strings.ToUpper(m)] = true
		}
		for _, b := range fn.Outputs() {
			if strings.EqualFold(b.Type, "http") {
				f.httpOutput = b.Name
			}
		}
	case "queuetrigger":
		f.kind = kindQueue
		name, err := resolveSettings(f.trigger.Str("queueName"), lookup)
		if err != nil {
			return nil, fmt.Errorf("%s: queueName: %w", fn.Name, err)
		}
		if err := queue.ValidateName(name); err != nil {
			return nil, fmt.Errorf("%s: %w", fn.Name, err)
		}
		f.queueName = queue.Normalize(name)
	case "blobtrigger":
		f.kind = kindBlob
		if err := prepareBlobTrigger(f, lookup); err != nil {
			return nil, err
		}
	case "timertrigger":
		f.kind = kindTimer
		expr, err := resolveSettings(f.trigger.Str("schedule"), lookup)
		if err != nil {
			return nil, fmt.Errorf("%s: schedule: %w", fn.Name, err)
		}
		s, err := parseSchedule(expr)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", fn.Name, err)
		}
		f.schedule = s
		f.runOnStartup = f.trigger.Bool("runOnStartup")
		f.useMonitor = true
		if _, ok := f.trigger.Raw["useMonitor"]; ok {
			f.useMonitor = f.trigger.Bool("useMonitor")
		}
		if subMinute(s, time.Now()) {
			f.useMonitor = false
		}
	}
	for _, b := range fn.Outputs() {
		if strings.EqualFold(b.Type, "queue") {
			name, err := resolveSettings(b.Str("queueName"), lookup)
			if err != nil {
				return nil, fmt.Errorf("%s: output %s: queueName: %w", fn.Name, b.Name, err)
			}
			if err := queue.ValidateName(name); err != nil {
				return nil, fmt.Errorf("%s: output %s: %w", fn.Name, b.Name, err)
			}
		}
	}
	if err := checkStorageBindings(fn, lookup); err != nil {
		return nil, err
	}
	return f, nil
}

// subMinute reports whether the timer extension turns the schedule monitor
// off for s (TimerSchedule.Create, ShouldDisableScheduleMonitor; the
// function then sees a null ScheduleStatus): a TimeSpan under a minute, or an
// NCRONTAB schedule whose fields other than the seconds allow every value
// and that fires more than once in the minute after now.
func subMinute(s schedule, now time.Time) bool {
	if s.cron == nil {
		return s.interval < time.Minute
	}
	if !s.cron.EveryMinute() {
		return false
	}
	n1 := s.next(now)
	if n1.IsZero() {
		return false
	}
	n2 := s.next(n1)
	return !n2.IsZero() && n2.Before(now.Add(time.Minute))
}

// parseSchedule accepts an NCRONTAB expression (six fields, or five without
// seconds) or, as the timer extension does, a TimeSpan such as "00:05:00".
func parseSchedule(expr string) (schedule, error) {
	s, cronErr := ncrontab.Parse(expr)
	if cronErr == nil {
		return schedule{cron: s, text: expr}, nil
	}
	if d, err := funcapp.ParseTimeSpan(expr); err == nil && d > 0 {
		return schedule{interval: d, text: expr}, nil
	}
	return schedule{}, fmt.Errorf("schedule: %w (nor is it a TimeSpan such as \"00:05:00\")", cronErr)
}

// envLookup returns a lookup function over an environment list (later entries win).
func envLookup(env []string) func(string) (string, bool) {
	m := make(map[string]string, len(env))
	for _, kv := range env {
		if i := strings.IndexByte(kv, '='); i > 0 {
			m[kv[:i]] = kv[i+1:]
		}
	}
	return func(k string) (string, bool) {
		v, ok := m[k]
		if !ok {
			for mk, mv := range m {
				if strings.EqualFold(mk, k) {
					return mv, true
				}
			}
		}
		return v, ok
	}
}

// buildEnv returns the environment for workers: the process environment plus
// the local.settings.json Values that it does not already define (Core
// Tools skips a setting that is already an environment variable).
func buildEnv(values map[string]string) (env []string, skipped []string) {
	env = os.Environ()
	have := map[string]bool{}
	for _, kv := range env {
		if i := strings.IndexByte(kv, '='); i > 0 {
			have[kv[:i]] = true
		}
	}
	for k, v := range values {
		if have[k] {
			skipped = append(skipped, k)
			continue
		}
		env = append(env, k+"="+v)
	}
	return env, skipped
}
