package devhost

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/wasmworker/wasmworker/internal/devhost/httpbind"
	"github.com/wasmworker/wasmworker/internal/devhost/queue"
	"github.com/wasmworker/wasmworker/internal/protocol/rpc"
)

// maxRequestBody is the host's request size limit (100 MiB).
const maxRequestBody = 100 << 20

// ServeHTTP serves the admin endpoints and the HTTP triggers.
func (h *Host) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g := h.gen.Load()
	if g == nil {
		http.Error(w, "the host is not running", http.StatusServiceUnavailable)
		return
	}
	p := r.URL.Path
	switch {
	case p == "/admin/host/status":
		h.serveStatus(w, r, g)
		return
	case p == "/admin/functions" || p == "/admin/functions/":
		h.serveFunctionList(w, r, g)
		return
	case strings.HasPrefix(p, "/admin/functions/") && strings.HasSuffix(p, "/status"):
		h.serveFunctionStatus(w, r, g, strings.TrimSuffix(strings.TrimPrefix(p, "/admin/functions/"), "/status"))
		return
	case strings.HasPrefix(p, "/admin/functions/"):
		h.serveAdminInvoke(w, r, g, strings.TrimPrefix(p, "/admin/functions/"))
		return
	case p == "/admin/queues" || p == "/admin/queues/":
		sum, err := h.queueSummary(r.Context())
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		writeJSON(w, http.StatusOK, sum)
		return
	case strings.HasPrefix(p, "/admin/queues/"):
		h.serveQueue(w, r, strings.TrimPrefix(p, "/admin/queues/"))
		return
	}
	h.serveTrigger(w, r, g)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func (h *Host) serveStatus(w http.ResponseWriter, r *http.Request, g *generation) {
	state := g.state
	if state == "Running" && g.pool != nil && !g.pool.ready() {
		state = "Initialized"
	}
	errs := g.errs
	if errs == nil {
		errs = []string{}
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"state":     state,
		"version":   HostVersion,
		"errors":    errs,
		"workers":   workerCount(g),
		"processes": processList(g),
	})
}

func processList(g *generation) []processInfo {
	if g.pool == nil {
		return []processInfo{}
	}
	return g.pool.processes()
}

func workerCount(g *generation) int {
	if g.pool == nil {
		return 0
	}
	return len(g.pool.slots)
}

func (h *Host) serveFunctionList(w http.ResponseWriter, r *http.Request, g *generation) {
	type fnInfo struct {
		Name       string   `json:"name"`
		Trigger    string   `json:"trigger"`
		URL        string   `json:"invoke_url_template,omitempty"`
		Methods    []string `json:"methods,omitempty"`
		Queue      string   `json:"queue,omitempty"`
		Schedule   string   `json:"schedule,omitempty"`
		IsDisabled bool     `json:"isDisabled"`
		ScriptFile string   `json:"script_href"`
	}
	out := []fnInfo{}
	for _, f := range g.fns {
		i := fnInfo{Name: f.Name, Trigger: f.trigger.Type, IsDisabled: f.disabled, ScriptFile: f.ScriptFile, Queue: f.queueName, Schedule: f.schedule.text}
		if f.kind == kindHTTP {
			i.URL = h.URL() + "/" + f.routeText
			for m := range f.methods {
				i.Methods = append(i.Methods, m)
			}
			sort.Strings(i.Methods)
		}
		out = append(out, i)
	}
	writeJSON(w, http.StatusOK, out)
}

// serveFunctionStatus implements GET /admin/functions/<name>/status as the
// host does: {"errors": [...]} for a function in error, {} for one that
// loaded, 404 for a name that is neither.
func (h *Host) serveFunctionStatus(w http.ResponseWriter, r *http.Request, g *generation, name string) {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", "GET")
		http.Error(w, "use GET /admin/functions/<name>/status", http.StatusMethodNotAllowed)
		return
	}
	if reason, bad := g.failed[strings.ToLower(name)]; bad {
		writeJSON(w, http.StatusOK, map[string][]string{"errors": {reason}})
		return
	}
	if g.byName[strings.ToLower(name)] == nil {
		http.Error(w, fmt.Sprintf("no function called %q", name), http.StatusNotFound)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{})
}

// serveAdminInvoke implements POST /admin/functions/<name> {"input": "..."}:
// like the host it answers 202 Accepted and runs the function in the
// background with the input as its trigger value.
func (h *Host) serveAdminInvoke(w http.ResponseWriter, r *http.Request, g *generation, name string) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		http.Error(w, "use POST /admin/functions/<name> with {\"input\": \"...\"}", http.StatusMethodNotAllowed)
		return
	}
	f := g.byName[strings.ToLower(name)]
	if f == nil {
		// Like the host, a function in error cannot be invoked: it is not indexed.
		if reason, bad := g.failed[strings.ToLower(name)]; bad {
			http.Error(w, fmt.Sprintf("function %q is in error: %s", name, reason), http.StatusNotFound)
			return
		}
		http.Error(w, fmt.Sprintf("no function called %q", name), http.StatusNotFound)
		return
	}
	var body struct {
		Input *string `json:"input"`
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBody))
	if err != nil || json.Unmarshal(data, &body) != nil {
		http.Error(w, `the body must be a JSON object {"input": "<trigger value>"}`, http.StatusBadRequest)
		return
	}
	input := ""
	if body.Input != nil {
		input = *body.Input
	}
	c := call{fn: f, reason: "This function was programmatically called via the host APIs."}
	now := time.Now()
	switch f.kind {
	case kindHTTP:
		req := &rpc.RpcHttp{Method: http.MethodPost, Url: h.URL() + "/" + f.routeText,
			Headers: map[string]string{}, Query: map[string]string{}, Params: map[string]string{}}
		if input != "" {
			req.Body = &rpc.TypedData{Data: &rpc.TypedData_String_{String_: input}}
		}
		c.trigger = &rpc.TypedData{Data: &rpc.TypedData_Http{Http: req}}
	case kindTimer:
		// As the extension binds an invocation from outside the schedule:
		// the stored status (with a monitor), not past due.
		var status *ScheduleStatus
		if f.useMonitor {
			status = g.scheduleStatus(f)
		}
		c.trigger = timerPayload(f, status, false)
		c.metadata = map[string]*rpc.TypedData{}
	case kindQueue:
		m := queue.Message{ID: uuid.NewString(), Body: []byte(input), InsertionTime: now.UTC(),
			ExpirationTime: maxTime, NextVisibleTime: maxTime}
		c.trigger, c.metadata = queueTrigger(f, m)
	default:
		c.trigger = &rpc.TypedData{Data: &rpc.TypedData_String_{String_: input}}
	}
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		g.invoke(g.ctx, c)
	}()
	w.WriteHeader(http.StatusAccepted)
}

// queueSummary lists every queue of the current storage with its message
// count (in Azure Storage, of at most 32 peeked messages).
func (h *Host) queueSummary(ctx context.Context) ([]map[string]any, error) {
	q := h.backend().Queues
	names, err := q.Names(ctx)
	if err != nil {
		return nil, err
	}
	out := []map[string]any{}
	for _, n := range names {
		msgs, err := q.Peek(ctx, n)
		if err != nil {
			return nil, err
		}
		out = append(out, map[string]any{"name": n, "count": len(msgs)})
	}
	return out, nil
}

// queueMessageJSON is how GET /admin/queues/<name> shows a message.
type queueMessageJSON struct {
	queue.Message
	Text   *string `json:"text,omitempty"`   // the body, when it is UTF-8
	Base64 string  `json:"base64,omitempty"` // the body otherwise
}

// serveQueue implements wasmfunc's own queue endpoints:
// GET /admin/queues/<name> lists the messages, POST adds the body as a message.
func (h *Host) serveQueue(w http.ResponseWriter, r *http.Request, name string) {
	if err := queue.ValidateName(name); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	switch r.Method {
	case http.MethodGet:
		peeked, err := h.backend().Queues.Peek(r.Context(), name)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		msgs := []queueMessageJSON{}
		for _, m := range peeked {
			j := queueMessageJSON{Message: m}
			if utf8.Valid(m.Body) {
				s := string(m.Body)
				j.Text = &s
			} else {
				j.Base64 = base64.StdEncoding.EncodeToString(m.Body)
			}
			msgs = append(msgs, j)
		}
		writeJSON(w, http.StatusOK, msgs)
	case http.MethodPost:
		body, err := io.ReadAll(io.LimitReader(r.Body, 64<<10+1))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if len(body) > 64<<10 {
			http.Error(w, "a queue message may be at most 64 KiB", http.StatusRequestEntityTooLarge)
			return
		}
		m, err := h.backend().Queues.Put(r.Context(), name, body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		writeJSON(w, http.StatusCreated, map[string]any{"id": m.ID, "queue": queue.Normalize(name)})
	default:
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "use GET or POST", http.StatusMethodNotAllowed)
	}
}

// serveTrigger routes a request to an HTTP-triggered function (docs/host-contract.md §3.3, §3.4).
func (h *Host) serveTrigger(w http.ResponseWriter, r *http.Request, g *generation) {
	f, params, ok := g.routes.Lookup(r.URL.Path, func(f *function) bool {
		return !f.disabled && (len(f.methods) == 0 || f.methods[r.Method])
	})
	if !ok {
		if r.URL.Path == "/" {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			fmt.Fprintf(w, "Your wasmfunc host is up and running. See %s/admin/functions for the functions.\n", h.URL())
			return
		}
		http.NotFound(w, r)
		return
	}
	if r.ContentLength > maxRequestBody {
		http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRequestBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "reading the request body: "+err.Error(), http.StatusBadRequest)
		return
	}
	// Capabilities of any ready worker (all run the same worker).
	pctx, cancel := context.WithTimeout(r.Context(), pickTimeout)
	caps, err := g.pool.capabilities(pctx)
	cancel()
	if err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	req := httpbind.Request(r, body, params, caps)
	md := httpbind.TriggerMetadata(r, body, params, req, f.trigger.Name, caps)
	g.wg.Add(1)
	defer g.wg.Done()
	out := g.invoke(r.Context(), call{
		fn: f, trigger: &rpc.TypedData{Data: &rpc.TypedData_Http{Http: req}}, metadata: md,
		reason: "This HTTP triggered function executed: " + r.Method + " " + r.URL.RequestURI(),
	})
	if out.err != nil {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusInternalServerError)
		// A failed function gets the host's empty 500; a failure of the
		// local host itself says what went wrong.
		var he *hostError
		if errors.As(out.err, &he) {
			_, _ = io.WriteString(w, he.Error()+"\n")
		}
		return
	}
	if err := httpbind.WriteResponse(w, r, out.response); err != nil {
		// As the host: the invocation succeeded, the response failed (its
		// ExceptionMiddleware logs "An unhandled host error has occurred").
		h.con.emit(Event{Kind: "log", Level: "Error", Function: f.Name, InvocationID: out.id, Message: "writing the HTTP response: " + err.Error()})
	}
}
