package fnhost

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/wasmworker/wasmworker/internal/protocol/rpc"
)

// echoWorkerBin is the testdata/echoworker program, built once by TestMain.
var echoWorkerBin string

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	dir, err := os.MkdirTemp("", "host-echoworker-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	echoWorkerBin = filepath.Join(dir, "echoworker")
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	cmd := exec.Command(goBin, "build", "-o", echoWorkerBin, "./testdata/echoworker")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build echoworker:", err)
		return 1
	}
	return m.Run()
}

// writeConfig writes worker.config.json into a new folder and returns the folder.
func writeConfig(t *testing.T, json string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, ConfigFileName), []byte(json), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// echoConfig is a config that starts the echo worker.
func echoConfig(t *testing.T) *WorkerConfig {
	t.Helper()
	dir := writeConfig(t, fmt.Sprintf(`{"description":{"language":"echo","extensions":[".echo"],"defaultExecutablePath":%q}}`, echoWorkerBin))
	cfg, err := LoadWorkerConfig(dir)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// echoEnv is the current environment plus extra KEY=VALUE entries.
func echoEnv(extra ...string) []string {
	return append(os.Environ(), extra...)
}

// startEcho registers a worker id on srv, starts the echo worker and waits
// for its StartStream. The process is killed at the end of the test.
func startEcho(t *testing.T, srv *Server, o StartOptions) (*Process, *Stream) {
	t.Helper()
	if o.Config == nil {
		o.Config = echoConfig(t)
	}
	if o.WorkerID == "" {
		o.WorkerID = uuid.NewString()
	}
	if o.AppDir == "" {
		o.AppDir = t.TempDir()
	}
	o.Port = srv.Port()
	st := srv.Register(o.WorkerID)
	p, err := StartProcess(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.Kill()
		<-p.Done()
	})
	select {
	case <-st.Started():
	case <-p.Done():
		t.Fatalf("worker exited with %d before StartStream; stderr: %q", p.ExitCode(), p.StderrTail())
	case <-time.After(30 * time.Second):
		t.Fatal("no StartStream within 30 s")
	}
	return p, st
}

// recvSystemLog reads messages until a System RpcLog of the category arrives.
func recvSystemLog(t *testing.T, st *Stream, category string) string {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case m, ok := <-st.Recv():
			if !ok {
				t.Fatalf("stream ended before a %s log", category)
			}
			if l := m.GetRpcLog(); l != nil && l.Category == category {
				return l.Message
			}
		case <-timeout:
			t.Fatalf("no %s log within 30 s", category)
		}
	}
}

// echoReport mirrors testdata/echoworker's Report.
type echoReport struct {
	Args []string          `json:"args"`
	Cwd  string            `json:"cwd"`
	Env  map[string]string `json:"env"`
}

func readReport(t *testing.T, st *Stream) echoReport {
	t.Helper()
	var r echoReport
	if err := json.Unmarshal([]byte(recvSystemLog(t, st, "echoworker.report")), &r); err != nil {
		t.Fatal(err)
	}
	return r
}

func listen(t *testing.T) *Server {
	t.Helper()
	srv, err := Listen()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	return srv
}

func msgInvocationRequest(id, fnID, value string) *rpc.StreamingMessage {
	return &rpc.StreamingMessage{Content: &rpc.StreamingMessage_InvocationRequest{InvocationRequest: &rpc.InvocationRequest{
		InvocationId: id, FunctionId: fnID,
		InputData: []*rpc.ParameterBinding{{Name: "in", RpcData: &rpc.ParameterBinding_Data{Data: &rpc.TypedData{Data: &rpc.TypedData_String_{String_: value}}}}},
	}}}
}
