package engine

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/wasmworker/wasmworker/internal/invocation"
)

// stdoutLimitError is why a run was stopped (cmdInstance.stopRun) when
// the guest wrote more than its stdout limit.
type stdoutLimitError struct{ limit int }

func (e *stdoutLimitError) Error() string {
	return fmt.Sprintf("stdout limit of %s (%d bytes) exceeded", bytesString(int64(e.limit)), e.limit)
}

// stdoutBuffer keeps up to limit bytes. The first write past the limit
// stops the run (cancel; it is called on the guest's goroutine, and the
// guest is stopped at its next guard check) and fails.
type stdoutBuffer struct {
	buf    []byte
	limit  int
	over   bool
	cancel func(error)
}

func (w *stdoutBuffer) Write(p []byte) (int, error) {
	if w.over {
		return 0, errStdoutClosed
	}
	room := w.limit - len(w.buf)
	if len(p) <= room {
		w.buf = append(w.buf, p...)
		return len(p), nil
	}
	w.buf = append(w.buf, p[:room]...)
	w.over = true
	w.cancel(&stdoutLimitError{limit: w.limit})
	return room, errStdoutClosed
}

var errStdoutClosed = errors.New("stdout limit exceeded")

// logLimitError is why a run was stopped (cmdInstance.stopRun) when the
// guest wrote more stderr than its log limit.
type logLimitError struct{ limit int }

func (e *logLimitError) Error() string {
	return fmt.Sprintf("log limit of %s (%d bytes of stderr) per invocation exceeded", bytesString(int64(e.limit)), e.limit)
}

// tailLines is how many stderr lines a run keeps for error messages.
const tailLines = 20

// stderrLines splits the guest's stderr into lines, cuts long lines, passes
// them to fn until maxBytes have been forwarded, and keeps the last
// tailLines lines. It runs on the guest's goroutine; it is not shared.
type stderrLines struct {
	fn       func(string)
	log      func(invocation.Log) // instead of fn (CommandInput.StderrLog)
	maxLine  int
	maxBytes int
	cancel   func(error) // stops the run when maxBytes is passed (nil: only drop)

	line []byte // the current line, at most maxLine bytes
	cut  int    // bytes of the current line beyond maxLine

	forwarded int   // stderr bytes of the lines passed to fn (cut parts and "\n" included)
	dropped   int64 // bytes of lines not forwarded once maxBytes was reached
	stopped   bool

	tail  [tailLines][]byte // ring of the last lines (buffers are reused)
	tailN int               // lines seen in total

	// headline is the first line that reads like the guest's fatal error
	// ("fatal error: …", "panic: …"), kept for messages when a long
	// traceback pushes it out of the tail.
	headline    string
	headlineAge int // tailN when headline was seen
}

// headlinePrefixes start the lines guest runtimes print when they die.
var headlinePrefixes = []string{"fatal error:", "panic:", "runtime: out of memory", "runtime: goroutine stack exceeds"}

func (s *stderrLines) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		chunk := p
		if i >= 0 {
			chunk = p[:i]
		}
		if room := s.maxLine - len(s.line); room > 0 {
			k := min(room, len(chunk))
			s.line = append(s.line, chunk[:k]...)
			s.cut += len(chunk) - k
		} else {
			s.cut += len(chunk)
		}
		if i < 0 {
			// A line that never ends still spends the budget: stop as
			// soon as it alone passes what is left.
			if !s.stopped && s.forwarded+len(s.line)+s.cut > s.maxBytes {
				s.stop()
			}
			break
		}
		s.endLine(1)
		p = p[i+1:]
	}
	return n, nil
}

// stop ends forwarding and the run: the log budget is spent.
func (s *stderrLines) stop() {
	s.stopped = true
	if s.cancel != nil {
		s.cancel(&logLimitError{limit: s.maxBytes})
	}
}

// endLine completes the current line; nl is 1 when it ended with "\n".
func (s *stderrLines) endLine(nl int) {
	raw := len(s.line) + s.cut + nl
	text := s.line
	if s.cut > 0 {
		text = trimPartialRune(text)
		text = fmt.Appendf(text, " … [%d bytes cut]", raw-nl-len(text))
	}
	if s.headline == "" && len(text) > 0 && (text[0] == 'f' || text[0] == 'p' || text[0] == 'r' || text[0] == 't') {
		for _, p := range headlinePrefixes {
			if bytes.HasPrefix(text, []byte(p)) || (text[0] == 't' && bytes.Contains(text, []byte("' panicked at"))) {
				s.headline, s.headlineAge = validUTF8(text), s.tailN
				break
			}
		}
	}
	slot := &s.tail[s.tailN%tailLines]
	*slot = append((*slot)[:0], text...)
	s.tailN++
	if !s.stopped {
		// The budget counts the bytes the guest wrote, the part of a long
		// line that was cut included.
		if cost := max(raw, len(text)+1); s.forwarded+cost <= s.maxBytes {
			s.forwarded += cost
			s.emit(validUTF8(text))
		} else {
			s.stop()
		}
	}
	if s.stopped {
		s.dropped += int64(raw)
	}
	s.line, s.cut = s.line[:0], 0
}

// trimPartialRune drops an incomplete UTF-8 sequence at the end of b (left
// where a long line was cut).
func trimPartialRune(b []byte) []byte {
	for i := len(b) - 1; i >= 0 && i >= len(b)-utf8.UTFMax; i-- {
		if utf8.RuneStart(b[i]) {
			if !utf8.FullRune(b[i:]) {
				return b[:i]
			}
			break
		}
	}
	return b
}

// finish completes a last line without "\n" and reports dropped stderr.
func (s *stderrLines) finish() {
	if len(s.line) > 0 || s.cut > 0 {
		s.endLine(0)
	}
	if s.dropped > 0 && (s.fn != nil || s.log != nil) {
		s.emit(fmt.Sprintf("... %d bytes of stderr dropped: stderr limit of %s (%d bytes) per run reached", s.dropped, bytesString(int64(s.maxBytes)), s.maxBytes))
	}
}

// emit forwards one line to fn or, as an Information log, to log.
func (s *stderrLines) emit(line string) {
	switch {
	case s.fn != nil:
		s.fn(line)
	case s.log != nil:
		s.log(invocation.Log{Level: invocation.LevelInformation, Message: line})
	}
}

// lostHeadline returns the guest's fatal error line if it is no longer in
// the tail, else "".
func (s *stderrLines) lostHeadline() string {
	if s.headline == "" || s.tailN-s.headlineAge <= tailLines {
		return ""
	}
	return s.headline
}

// lastLines returns the kept tail, oldest first.
func (s *stderrLines) lastLines() []string {
	n := min(s.tailN, tailLines)
	if n == 0 {
		return nil
	}
	out := make([]string, 0, n)
	for i := s.tailN - n; i < s.tailN; i++ {
		out = append(out, validUTF8(s.tail[i%tailLines]))
	}
	return out
}

// validUTF8 returns b as a string that is valid UTF-8 (so that it can go
// into a protobuf string field), replacing invalid bytes with U+FFFD.
func validUTF8(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}
