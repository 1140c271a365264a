package wasmworker

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"strings"
	"time"
)

// EntryPoint is the export that serves every registered function (SPEC.md
// §2.3: several declarations name the same export and the guest tells them
// apart by CONTEXT "function_name").
const EntryPoint = "ww_dispatch"

// Binding is one binding object of a function, in function.json syntax
// (keys "type", "direction", "name" and the binding's own properties).
type Binding map[string]any

// Retry is a function's retry policy (function.json "retry").
type Retry struct {
	Strategy        string `json:"strategy"` // "fixedDelay" or "exponentialBackoff"
	MaxRetryCount   int    `json:"maxRetryCount"`
	DelayInterval   string `json:"delayInterval,omitempty"`   // fixedDelay, "hh:mm:ss"
	MinimumInterval string `json:"minimumInterval,omitempty"` // exponentialBackoff
	MaximumInterval string `json:"maximumInterval,omitempty"` // exponentialBackoff
}

// declaration is what wasmworker_functions sends for one function (SPEC.md
// §2.3); its JSON keys are exactly those the host accepts.
type declaration struct {
	Name       string         `json:"name"`
	EntryPoint string         `json:"entryPoint"`
	Bindings   []Binding      `json:"bindings"`
	Retry      *Retry         `json:"retry,omitempty"`
	Disabled   bool           `json:"disabled,omitempty"`
	Wasmworker map[string]any `json:"wasmworker,omitempty"`
}

// Option adds to or changes a function's declaration.
type Option interface {
	apply(d *declaration)
}

type optionFunc func(d *declaration)

func (f optionFunc) apply(d *declaration) { f(d) }

// registration is one registered function.
type registration struct {
	decl declaration
	run  func(ctx context.Context) error
}

var (
	registry []*registration
	// regErrs are registration mistakes (duplicate or empty names, no
	// trigger); wasmworker_functions and wwtest report them.
	regErrs []string
)

// trigger returns the declaration's trigger binding (the first binding whose
// type ends in "Trigger"), or nil.
func (d *declaration) trigger() Binding {
	for _, b := range d.Bindings {
		if t, _ := b["type"].(string); strings.HasSuffix(t, "Trigger") {
			return b
		}
	}
	return nil
}

// Handle registers the function name: run is called for each of its
// invocations, and opts declare its bindings (Bind for any binding object,
// and the helpers such as QueueOutput) and settings (Retry, Disabled,
// Env, …). Exactly one binding must be a trigger. HandleQueue, HandleTimer,
// HandleBlob and package wwhttp are Handle with the trigger filled in and
// the trigger's value decoded.
//
// Call Handle from an init function: a module built with -buildmode=c-shared
// never runs main. Registering a name twice (case-insensitively) is an
// error that the worker reports when it indexes the module.
func Handle(name string, run func(ctx context.Context) error, opts ...Option) {
	register(name, run, nil, opts)
}

// register adds a registration whose first bindings are trigger (may be
// nil) and then those of opts.
func register(name string, run func(ctx context.Context) error, bindings []Binding, opts []Option) {
	r := &registration{decl: declaration{Name: name, EntryPoint: EntryPoint, Bindings: bindings}, run: run}
	for _, o := range opts {
		o.apply(&r.decl)
	}
	r.decl.fillConnections()
	switch {
	case name == "":
		regErrs = append(regErrs, "a function was registered with an empty name")
	case run == nil:
		regErrs = append(regErrs, fmt.Sprintf("function %s was registered with a nil handler", name))
	}
	for _, o := range registry {
		if strings.EqualFold(o.decl.Name, name) {
			regErrs = append(regErrs, fmt.Sprintf("function %s is registered twice", name))
		}
	}
	registry = append(registry, r)
}

// lookup returns the registration of the function name (exact match first,
// then case-insensitive), or nil.
func lookup(name string) *registration {
	for _, r := range registry {
		if r.decl.Name == name {
			return r
		}
	}
	for _, r := range registry {
		if strings.EqualFold(r.decl.Name, name) {
			return r
		}
	}
	return nil
}

// registered lists the registered names, for messages.
func registered() string {
	if len(registry) == 0 {
		return "none"
	}
	names := make([]string, len(registry))
	for i, r := range registry {
		names[i] = r.decl.Name
	}
	return strings.Join(names, ", ")
}

// declareAll is the body of the export wasmworker_functions: it calls the
// host's declare once per registered function.
func declareAll() int32 {
	h := host()
	if len(regErrs) > 0 {
		h.SetError("wasmworker: " + strings.Join(regErrs, "; "))
		return 1
	}
	for _, r := range registry {
		b, err := json.Marshal(r.decl)
		if err != nil {
			h.SetError(fmt.Sprintf("wasmworker: declare %s: %v", r.decl.Name, err))
			return 1
		}
		if code := h.Declare(b); code < 0 {
			h.SetError(fmt.Sprintf("wasmworker: declare %s: %v", r.decl.Name, Error(code)))
			return 1
		}
	}
	return 0
}

// Bind adds a binding object as it would appear in function.json, for
// bindings the helpers do not cover:
//
//	ww.Bind(ww.Binding{"type": "table", "direction": "in", "name": "row",
//		"tableName": "items", "partitionKey": "p", "rowKey": "{id}"})
//
// A binding of type "…Trigger" is the function's trigger (Handle needs
// exactly one).
func Bind(b Binding) Option {
	return optionFunc(func(d *declaration) { d.Bindings = append(d.Bindings, maps.Clone(b)) })
}

// TriggerProperty sets property key of the function's trigger binding
// (Route, Methods, AuthLevel and Connection are TriggerProperty calls). It
// applies to the trigger present when the option runs: with Handle, put it
// after the Bind of the trigger.
func TriggerProperty(key string, value any) Option {
	return optionFunc(func(d *declaration) {
		t := d.trigger()
		if t == nil {
			regErrs = append(regErrs, fmt.Sprintf("function %s: option %q comes before the function's trigger binding", d.Name, key))
			return
		}
		t[key] = value
	})
}

// Route sets an HTTP trigger's route template, e.g. "hello/{name?}" (served
// under the host's route prefix, /api by default). Read route parameters
// with r.PathValue.
func Route(template string) Option { return TriggerProperty("route", template) }

// Methods sets the HTTP methods an HTTP trigger accepts (all when not set).
func Methods(methods ...string) Option {
	lower := make([]string, len(methods))
	for i, m := range methods {
		lower[i] = strings.ToLower(m)
	}
	return TriggerProperty("methods", lower)
}

// AuthLevel sets an HTTP trigger's authorization level: "anonymous",
// "function" (the default) or "admin".
func AuthLevel(level string) Option { return TriggerProperty("authLevel", level) }

// Connection names the app setting holding the storage connection of the
// trigger, and of the QueueOutput, BlobInput and BlobOutput bindings that
// name none ("AzureWebJobsStorage" when never set).
func Connection(setting string) Option {
	return optionFunc(func(d *declaration) {
		if t := d.trigger(); t != nil {
			t["connection"] = setting
		}
		for _, b := range d.Bindings {
			if _, ok := b["connection"]; !ok && storageBinding(b) {
				b["connection"] = setting
			}
		}
	})
}

// storageBinding reports whether b is a queue or blob binding.
func storageBinding(b Binding) bool {
	switch t, _ := b["type"].(string); t {
	case "queue", "queueTrigger", "blob", "blobTrigger":
		return true
	}
	return false
}

// fillConnections gives storage bindings without a connection the
// trigger's, or AzureWebJobsStorage.
func (d *declaration) fillConnections() {
	conn := any("AzureWebJobsStorage")
	if t := d.trigger(); t != nil && t["connection"] != nil {
		conn = t["connection"]
	}
	for _, b := range d.Bindings {
		if _, ok := b["connection"]; !ok && storageBinding(b) {
			b["connection"] = conn
		}
	}
}

// QueueOutput adds a queue output binding: SetOutput(ctx, name, v) sends v
// to queue.
func QueueOutput(name, queue string) Option {
	return Bind(Binding{"type": "queue", "direction": "out", "name": name, "queueName": queue})
}

// BlobOutput adds a blob output binding writing the blob at path (e.g.
// "results/{rand-guid}.json").
func BlobOutput(name, path string) Option {
	return Bind(Binding{"type": "blob", "direction": "out", "name": name, "path": path})
}

// BlobInput adds a blob input binding reading the blob at path; read it with
// FromContext(ctx).Input(name).
func BlobInput(name, path string) Option {
	return Bind(Binding{"type": "blob", "direction": "in", "name": name, "path": path, "dataType": "binary"})
}

// Return adds a "$return" output binding of type typ (for example "queue"
// with property "queueName"), set with SetOutput(ctx, "$return", v).
func Return(typ string, properties Binding) Option {
	b := maps.Clone(properties)
	if b == nil {
		b = Binding{}
	}
	b["type"], b["direction"], b["name"] = typ, "out", "$return"
	return Bind(b)
}

// hms formats d as the "[d.]hh:mm:ss" of function.json intervals (hours
// stop at 23: a day or more is written with its days, as .NET's TimeSpan
// is; a negative d is written as zero, which the worker refuses by name).
func hms(d time.Duration) string {
	s := max(int64(d.Round(time.Second)/time.Second), 0)
	if s >= 86400 {
		return fmt.Sprintf("%d.%02d:%02d:%02d", s/86400, s/3600%24, s/60%60, s%60)
	}
	return fmt.Sprintf("%02d:%02d:%02d", s/3600, s/60%60, s%60)
}

// RetryFixedDelay retries a failed invocation up to maxRetries times (-1:
// forever), delay apart. Retries apply to timer and event-based triggers,
// not to HTTP or queue triggers (queues retry through their own dequeue
// count).
func RetryFixedDelay(maxRetries int, delay time.Duration) Option {
	return RetryPolicy(Retry{Strategy: "fixedDelay", MaxRetryCount: maxRetries, DelayInterval: hms(delay)})
}

// RetryExponentialBackoff retries a failed invocation up to maxRetries times
// with delays growing from minDelay to maxDelay.
func RetryExponentialBackoff(maxRetries int, minDelay, maxDelay time.Duration) Option {
	return RetryPolicy(Retry{Strategy: "exponentialBackoff", MaxRetryCount: maxRetries,
		MinimumInterval: hms(minDelay), MaximumInterval: hms(maxDelay)})
}

// RetryPolicy sets the function's retry policy as given.
func RetryPolicy(r Retry) Option {
	return optionFunc(func(d *declaration) { d.Retry = &r })
}

// Disabled declares the function disabled: the host lists it but does not
// run it.
func Disabled() Option { return optionFunc(func(d *declaration) { d.Disabled = true }) }

// Grant sets key of the function's "wasmworker" block (README "Limits and
// grants"), e.g. Grant("memoryMB", 64) or Grant("timeout", "00:00:10").
// Env, AllowedHosts and Dir are Grant calls.
func Grant(key string, value any) Option {
	return optionFunc(func(d *declaration) {
		if d.Wasmworker == nil {
			d.Wasmworker = map[string]any{}
		}
		d.Wasmworker[key] = value
	})
}

// appendGrant appends values to the list of key in the "wasmworker" block.
func appendGrant[T any](key string, values ...T) Option {
	return optionFunc(func(d *declaration) {
		if d.Wasmworker == nil {
			d.Wasmworker = map[string]any{}
		}
		old, _ := d.Wasmworker[key].([]T)
		d.Wasmworker[key] = append(old, values...)
	})
}

// Env grants the function the app settings names as environment variables
// (os.Getenv); nothing else of the environment is visible.
func Env(names ...string) Option { return appendGrant("env", names...) }

// AllowedHosts grants outbound HTTP requests to origins such as
// "https://api.example.com" or "https://*.example.org:8443" (package
// outbound sends them).
func AllowedHosts(origins ...string) Option { return appendGrant("allowedHosts", origins...) }

// DirGrant is one directory of the "dirs" grant.
type DirGrant struct {
	Path     string `json:"path"`  // folder, relative to the app folder
	Mount    string `json:"mount"` // where the function sees it, e.g. "/data"
	Writable bool   `json:"writable,omitempty"`
}

// Dir grants the function the app's folder path, seen at mount (read-only
// unless writable).
func Dir(path, mount string, writable bool) Option {
	return appendGrant("dirs", DirGrant{Path: path, Mount: mount, Writable: writable})
}
