package devhost

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// Event is one line of the terminal log. In --json mode each event is
// written as one JSON object per line with these field names.
type Event struct {
	Time         time.Time `json:"time"`
	Kind         string    `json:"event"` // "host", "start", "log", "end", "worker"
	Level        string    `json:"level,omitempty"`
	Function     string    `json:"function,omitempty"`
	InvocationID string    `json:"invocationId,omitempty"`
	Reason       string    `json:"reason,omitempty"`
	Status       string    `json:"status,omitempty"` // "Succeeded" or "Failed" (end events)
	DurationMS   *float64  `json:"durationMs,omitempty"`
	// Worker is the pool slot ("1", "2", …) of a worker event, or the one
	// that ran the invocation of an end event.
	Worker string `json:"worker,omitempty"`
	// Stream is "stdout" or "stderr" for a line the worker process wrote,
	// "rpc" for a log it sent over gRPC outside any invocation.
	Stream string `json:"stream,omitempty"`
	// System marks the worker's own diagnostics: console lines prefixed
	// with LanguageWorkerConsoleLog, and RpcLogs (docs/host-contract.md §1.6, §2.15).
	System  bool   `json:"system,omitempty"`
	Message string `json:"message,omitempty"`
	Error   string `json:"error,omitempty"`
}

// console writes events to the terminal, readable by a person or as JSON
// lines. It is safe for concurrent use; each event is one write.
type console struct {
	mu   sync.Mutex
	w    io.Writer
	json bool
	// verbose shows the worker process's own informational output in
	// human mode (JSON mode always has it).
	verbose bool
	// events, when set, receives every event (tests).
	events func(Event)
}

func newConsole(w io.Writer, asJSON, verbose bool) *console {
	if w == nil {
		w = io.Discard
	}
	return &console{w: w, json: asJSON, verbose: verbose}
}

// chatty reports whether e is an informational diagnostic of the worker
// itself, which a person sees only with --verbose.
func chatty(e Event) bool {
	if e.Kind != "worker" || !e.System {
		return false
	}
	switch e.Level {
	case "Warning", "Error", "Critical":
		return false
	}
	return true
}

func (c *console) emit(e Event) {
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	var line []byte
	if c.json {
		b, err := json.Marshal(e)
		if err != nil {
			return
		}
		line = append(b, '\n')
	} else if c.verbose || !chatty(e) {
		line = []byte(formatHuman(e))
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.events != nil {
		c.events(e)
	}
	if line != nil {
		_, _ = c.w.Write(line)
	}
}

func formatHuman(e Event) string {
	var b strings.Builder
	fmt.Fprintf(&b, "[%s] ", e.Time.Format("2006-01-02T15:04:05.000Z07:00"))
	switch e.Kind {
	case "start":
		fmt.Fprintf(&b, "Executing 'Functions.%s' (Reason='%s', Id=%s)", e.Function, e.Reason, e.InvocationID)
	case "end":
		d := 0.0
		if e.DurationMS != nil {
			d = *e.DurationMS
		}
		fmt.Fprintf(&b, "Executed 'Functions.%s' (%s, Id=%s, Duration=%s)", e.Function, e.Status, e.InvocationID, formatMS(d))
		if e.Error != "" {
			b.WriteString("\n    " + indent(e.Error))
		}
	case "log":
		fmt.Fprintf(&b, "%s[%s]: ", e.Function, shortID(e.InvocationID))
		if e.Level != "" && e.Level != "Information" {
			b.WriteString(e.Level + ": ")
		}
		b.WriteString(indent(e.Message))
		if e.Error != "" {
			b.WriteString("\n    " + indent(e.Error))
		}
	case "worker":
		fmt.Fprintf(&b, "worker %s: ", e.Worker)
		if e.Level != "" && e.Level != "Information" {
			b.WriteString(e.Level + ": ")
		}
		b.WriteString(indent(e.Message))
	default:
		if e.Level == "Error" || e.Level == "Warning" {
			b.WriteString(e.Level + ": ")
		}
		b.WriteString(indent(e.Message))
		if e.Error != "" {
			b.WriteString(": " + indent(e.Error))
		}
	}
	b.WriteByte('\n')
	return b.String()
}

func formatMS(ms float64) string {
	if ms < 10 {
		return fmt.Sprintf("%.1fms", ms)
	}
	return fmt.Sprintf("%.0fms", ms)
}

func shortID(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

func indent(s string) string {
	return strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n    ")
}

// hostf logs a host message.
func (c *console) hostf(level, format string, args ...any) {
	c.emit(Event{Kind: "host", Level: level, Message: fmt.Sprintf(format, args...)})
}
