// Package azuritetest starts Azurite, the Azure Storage emulator, for tests
// that run against real Azure Storage APIs. Azurite is installed (once, into
// a cache folder) by scripts/start-azurite.sh; each Start runs a fresh
// in-memory instance on ports the system picks and stops it when the test
// ends.
//
// Without Node.js a test is skipped, unless the CI environment variable is
// set (as .ci/run sets it): then a missing Azurite fails the test.
package azuritetest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// Azurite is a running emulator.
type Azurite struct {
	// ConnectionString reaches it, as AzureWebJobsStorage would.
	ConnectionString string
	// BlobEndpoint and QueueEndpoint are the account's service URLs.
	BlobEndpoint, QueueEndpoint string
}

// Azurite's development account.
const (
	account = "devstoreaccount1"
	key     = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)

// startTimeout bounds installing (a first run downloads the npm package)
// and starting Azurite.
const startTimeout = 10 * time.Minute

// inCI reports whether the tests run in CI, where a missing Azurite is an
// error rather than a reason to skip.
func inCI() bool {
	v := strings.ToLower(strings.TrimSpace(os.Getenv("CI")))
	return v != "" && v != "0" && v != "false"
}

// unavailable skips the test outside CI and fails it in CI.
func unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if inCI() {
		t.Fatalf("Azurite is required in CI (CI=%s): %s", os.Getenv("CI"), msg)
	}
	t.Skipf("skipping: %s (install Node.js 18+ to run the tests against Azurite; CI runs them)", msg)
}

var (
	installOnce sync.Once
	scriptJS    string
	installErr  error
)

// findScript finds scripts/start-azurite.sh above the working directory.
func findScript() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		p := filepath.Join(dir, "scripts", "start-azurite.sh")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("scripts/start-azurite.sh not found above the working directory")
		}
		dir = parent
	}
}

// install runs the script once per test binary and returns azurite.js.
func install() (string, error) {
	installOnce.Do(func() {
		script, err := findScript()
		if err != nil {
			installErr = err
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
		defer cancel()
		cmd := exec.CommandContext(ctx, "sh", script, "--install-only")
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			installErr = fmt.Errorf("%s --install-only: %w\n%s", script, err, stderr.String())
			return
		}
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		scriptJS = strings.TrimSpace(lines[len(lines)-1])
	})
	return scriptJS, installErr
}

var listening = regexp.MustCompile(`^Azurite (Blob|Queue) service is successfully listening at (http://\S+)`)

// Start runs a fresh Azurite for the test and stops it at the test's end.
func Start(t testing.TB) *Azurite {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		unavailable(t, "node is not on PATH")
	}
	if _, err := exec.LookPath("npm"); err != nil {
		unavailable(t, "npm is not on PATH")
	}
	js, err := install()
	if err != nil {
		t.Fatalf("installing Azurite: %v", err)
	}
	cmd := exec.Command(node, js, "--inMemoryPersistence", "--silent", "--disableTelemetry", "--skipApiVersionCheck",
		"--blobHost", "127.0.0.1", "--queueHost", "127.0.0.1", "--tableHost", "127.0.0.1",
		"--blobPort", "0", "--queuePort", "0", "--tablePort", "0", "--extentMemoryLimit", "512")
	cmd.Dir = t.TempDir()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting Azurite: %v", err)
	}
	exited := make(chan struct{})
	found := make(chan [2]string, 2)
	var output strings.Builder
	var mu sync.Mutex
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			mu.Lock()
			output.WriteString(sc.Text() + "\n")
			mu.Unlock()
			if m := listening.FindStringSubmatch(sc.Text()); m != nil {
				found <- [2]string{m[1], m[2]}
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
		_ = cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	})
	a := &Azurite{}
	deadline := time.After(time.Minute)
	for a.BlobEndpoint == "" || a.QueueEndpoint == "" {
		select {
		case f := <-found:
			if f[0] == "Blob" {
				a.BlobEndpoint = f[1] + "/" + account
			} else {
				a.QueueEndpoint = f[1] + "/" + account
			}
		case <-exited:
			mu.Lock()
			defer mu.Unlock()
			t.Fatalf("Azurite exited before it listened:\n%s", output.String())
		case <-deadline:
			mu.Lock()
			defer mu.Unlock()
			t.Fatalf("Azurite did not listen within a minute:\n%s", output.String())
		}
	}
	a.ConnectionString = "DefaultEndpointsProtocol=http;AccountName=" + account + ";AccountKey=" + key +
		";BlobEndpoint=" + a.BlobEndpoint + ";QueueEndpoint=" + a.QueueEndpoint + ";"
	return a
}
