package engine

import (
	"context"
	crand "crypto/rand"
	"errors"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/wasmworker/wasmworker/internal/wasmbin"
)

// freshGuest returns a copy of a built Go guest made unique by a custom
// section of random bytes, so that no compilation cache knows it: loading
// it compiles it (seconds for a Go guest).
func freshGuest(t *testing.T, name string) string {
	t.Helper()
	bin, err := os.ReadFile(guestPath(t, name))
	if err != nil {
		t.Fatal(err)
	}
	nonce := make([]byte, 16)
	_, _ = crand.Read(nonce)
	custom := append(wasmbin.AppendULEB(nil, 5), "nonce"...)
	return writeFile(t, name+".wasm", wasmbin.AppendSection(bin, wasmbin.SectionCustom, append(custom, nonce...)))
}

// TestCompileBudget loads a Go guest no cache knows with a compile budget
// of 1 ms: the load fails naming the budget while a healthy module keeps
// running, and the abandoned compile ends in the background, giving its
// compile slot back. The same module then loads within the default budget.
func TestCompileBudget(t *testing.T) {
	healthy := loadGuest(t, "echo", Limits{})
	path := freshGuest(t, "exit")
	_, err := testEngine.Load(context.Background(), path, Limits{CompileTimeout: time.Millisecond})
	var cbe *CompileBudgetError
	if !errors.As(err, &cbe) || cbe.Budget != time.Millisecond {
		t.Fatalf("error = %v, want a *CompileBudgetError of 1ms", err)
	}
	if msg := err.Error(); !strings.Contains(msg, "wasm module "+path+" took longer than the compile budget of 1ms") {
		t.Errorf("message: %s", msg)
	}
	// The compile goes on in the background; other modules run meanwhile.
	out, err := healthy.RunCommand(context.Background(), CommandInput{Stdin: []byte("still here")})
	if err != nil || string(out.Stdout) != "still here" {
		t.Fatalf("healthy run during the abandoned compile: %v %v", out, err)
	}
	testEngine.compiles.Wait()
	if n := len(testEngine.compileSlots); n != 0 {
		t.Errorf("%d compile slots still taken after every compile ended", n)
	}
	m, err := testEngine.Load(context.Background(), path, Limits{})
	if err != nil {
		t.Fatalf("load within the default budget: %v", err)
	}
	m.Close(context.Background())
}

// TestCloseWaitsForAbandonedCompiles closes an engine right after a load
// gave up on its compile: Close waits for the compile to end before it
// closes the compilation cache the compile uses.
func TestCloseWaitsForAbandonedCompiles(t *testing.T) {
	e, err := NewEngine(Config{CacheDir: t.TempDir(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Load(context.Background(), freshGuest(t, "exit"), Limits{CompileTimeout: time.Millisecond}); !errors.As(err, new(*CompileBudgetError)) {
		t.Fatalf("error = %v, want a *CompileBudgetError", err)
	}
	if err := e.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := len(e.compileSlots); n != 0 {
		t.Errorf("Close returned with %d compiles running", n)
	}
}
