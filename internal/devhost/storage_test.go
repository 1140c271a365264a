//go:build unix

package devhost

// Tests of the storage pipelines through the wasmfunc command over real
// HTTP: an HTTP function queues a job, a queue-triggered function writes a
// blob, a blob-triggered function reads another blob and writes a blob and a
// queue message, and a failing job ends on the poison queue. They run
// against Azurite (started per test by azuritetest) and against the
// in-memory queues and blob folder used without AzureWebJobsStorage.

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue/queueerror"

	"github.com/wasmworker/wasmworker/internal/appbuild"
	"github.com/wasmworker/wasmworker/internal/devhost/storage"
	"github.com/wasmworker/wasmworker/internal/devhost/storage/azuritetest"
)

var (
	storageAppOnce sync.Once
	storageApp     string // testdata/storageapp with its .wasm files built
	storageAppErr  error
)

// builtStorageApp builds testdata/storageapp once per test binary.
func builtStorageApp(t *testing.T) string {
	t.Helper()
	storageAppOnce.Do(func() {
		storageApp = filepath.Join(scratch, "apps", "storage")
		_, storageAppErr = appbuild.Build(context.Background(), filepath.Join("testdata", "storageapp"), storageApp)
	})
	if storageAppErr != nil {
		t.Fatalf("building testdata/storageapp: %v", storageAppErr)
	}
	return copyApp(t, storageApp, false)
}

// report is what OnDoc puts on the "done" queue.
type report struct {
	Name     string `json:"name"`
	URI      string `json:"uri"`
	Length   int64  `json:"length"`
	Text     string `json:"text"`
	Settings string `json:"settings"`
}

func checkReport(t *testing.T, text string) {
	t.Helper()
	var r report
	if err := json.Unmarshal([]byte(text), &r); err != nil {
		t.Fatalf("done message %q: %v", text, err)
	}
	if r.Name != "a1" || r.Text != "HELLO" || r.Length != 5 || r.Settings != "cfg-1" || !strings.HasSuffix(r.URI, "/docs/a1.txt") {
		t.Errorf("OnDoc reported %+v; want name a1, text HELLO, length 5, settings cfg-1, a Uri ending in /docs/a1.txt", r)
	}
}

// submit posts a job to the Submit function.
func submit(h *cmdHost, id, text string) {
	h.t.Helper()
	body, _ := json.Marshal(map[string]string{"id": id, "text": text})
	if code, _, resp := h.do(http.MethodPost, "/api/submit", "application/json", string(body)); code != http.StatusAccepted {
		h.t.Fatalf("POST /api/submit = %d %s", code, resp)
	}
}

// checkPoisoned checks that the failing job p1 ran maxDequeueCount (2,
// host.json) times, then moved to work-poison.
func checkPoisoned(h *cmdHost, poisoned string) {
	h.t.Helper()
	var job map[string]string
	if err := json.Unmarshal([]byte(poisoned), &job); err != nil || job["id"] != "p1" {
		h.t.Errorf("work-poison holds %q, want job p1", poisoned)
	}
	h.waitLine("the poison warning", func(l string) bool {
		return strings.Contains(l, "has reached MaxDequeueCount of 2; moving it to queue 'work-poison'")
	})
	failed := 0
	for _, e := range h.events() {
		if e.Kind == "end" && e.Function == "Work" && e.Status == "Failed" {
			failed++
		}
	}
	if failed != 2 {
		h.t.Errorf("Work failed %d times before the message moved to the poison queue, want 2", failed)
	}
}

// TestStoragePipelineAzurite runs the pipeline against Azurite, reading the
// results back with the Azure SDK.
func TestStoragePipelineAzurite(t *testing.T) {
	az := azuritetest.Start(t)
	ctx := context.Background()
	blobs, err := azblob.NewClientFromConnectionString(az.ConnectionString, nil)
	if err != nil {
		t.Fatal(err)
	}
	queues, err := azqueue.NewServiceClientFromConnectionString(az.ConnectionString, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := blobs.CreateContainer(ctx, "config", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := blobs.UploadBuffer(ctx, "config", "settings.txt", []byte("cfg-1"), nil); err != nil {
		t.Fatal(err)
	}
	app := builtStorageApp(t)
	h := startHost(t, app, hostConfig{args: []string{"--no-build", "--no-watch"}, env: []string{"AzureWebJobsStorage=" + az.ConnectionString}})
	h.waitLine("the storage line", func(l string) bool { return strings.Contains(l, "Storage: Azure Storage") })

	submit(h, "a1", "hello")
	submit(h, "p1", "fail")

	// A message OnDoc queued, read with the Azure SDK (base64, as the
	// host encodes messages).
	done := waitAzureMessage(t, queues.NewQueueClient("done"))
	checkReport(t, done)
	resp, err := blobs.DownloadStream(ctx, "copies", "a1.txt", nil)
	if err != nil {
		t.Fatalf("reading copies/a1.txt: %v", err)
	}
	copied, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || string(copied) != "copy of HELLO" {
		t.Errorf("copies/a1.txt = %q (%v), want \"copy of HELLO\"", copied, err)
	}
	// wasmfunc's admin endpoint shows the Azure queue too.
	poisoned := h.waitQueue("work-poison", func(m []queueMessage) bool { return len(m) == 1 })
	checkPoisoned(h, poisoned[0].Text)
	if raw := waitAzureMessage(t, queues.NewQueueClient("work-poison")); raw != poisoned[0].Text {
		t.Errorf("work-poison read with the SDK = %q, admin endpoint = %q", raw, poisoned[0].Text)
	}
	// The blob receipt of OnDoc, where the host keeps it.
	pager := blobs.NewListBlobsFlatPager(storage.HostsContainer, &azblob.ListBlobsFlatOptions{Prefix: to.Ptr("blobreceipts/")})
	var receipts []string
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range page.Segment.BlobItems {
			receipts = append(receipts, *b.Name)
		}
	}
	if len(receipts) != 1 || !strings.Contains(receipts[0], "/Host.Functions.OnDoc/") || !strings.HasSuffix(receipts[0], "/docs/a1.txt") {
		t.Errorf("blob receipts = %q", receipts)
	}
}

// waitAzureMessage waits until queue q holds a message and returns its
// text, base64-decoded.
func waitAzureMessage(t *testing.T, q *azqueue.QueueClient) string {
	t.Helper()
	deadline := time.Now().Add(waitLong)
	for {
		resp, err := q.PeekMessages(context.Background(), nil)
		if err != nil && !queueerror.HasCode(err, queueerror.QueueNotFound) {
			t.Fatalf("peeking at %s: %v", q.URL(), err)
		}
		if err == nil && len(resp.Messages) > 0 {
			b, err := base64.StdEncoding.DecodeString(*resp.Messages[0].MessageText)
			if err != nil {
				t.Fatalf("message of %s is not base64: %v", q.URL(), err)
			}
			return string(b)
		}
		if time.Now().After(deadline) {
			t.Fatalf("no message on %s within %s", q.URL(), waitLong)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestStoragePipelineMemory runs the same pipeline without
// AzureWebJobsStorage: queues in memory, blobs in <app>/.wasmfunc/blobs.
func TestStoragePipelineMemory(t *testing.T) {
	app := builtStorageApp(t)
	folder := filepath.Join(app, ".wasmfunc", "blobs")
	if err := os.MkdirAll(filepath.Join(folder, "config"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(folder, "config", "settings.txt"), []byte("cfg-1"), 0o644); err != nil {
		t.Fatal(err)
	}
	h := startHost(t, app, hostConfig{args: []string{"--no-build", "--no-watch"}, env: []string{"AzureWebJobsStorage="}})
	h.waitLine("the storage line", func(l string) bool { return strings.Contains(l, "Storage: queues in memory") })

	submit(h, "a1", "hello")
	submit(h, "p1", "fail")

	done := h.waitQueue("done", func(m []queueMessage) bool { return len(m) == 1 })
	checkReport(t, done[0].Text)
	copied, err := os.ReadFile(filepath.Join(folder, "copies", "a1.txt"))
	if err != nil || string(copied) != "copy of HELLO" {
		t.Errorf("copies/a1.txt = %q (%v), want \"copy of HELLO\"", copied, err)
	}
	if doc, err := os.ReadFile(filepath.Join(folder, "docs", "a1.txt")); err != nil || string(doc) != "HELLO" {
		t.Errorf("docs/a1.txt = %q (%v), want HELLO", doc, err)
	}
	poisoned := h.waitQueue("work-poison", func(m []queueMessage) bool { return len(m) == 1 })
	checkPoisoned(h, poisoned[0].Text)
	receipts, err := filepath.Glob(filepath.Join(folder, storage.HostsContainer, "blobreceipts", "*", "Host.Functions.OnDoc", "*", "docs", "a1.txt"))
	if err != nil || len(receipts) != 1 {
		t.Errorf("blob receipt files = %q (%v)", receipts, err)
	}
}

// TestStorageUnreachable: with AzureWebJobsStorage pointing at this machine
// where no Azurite listens, an app with storage bindings does not start,
// and says to start Azurite.
func TestStorageUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	conn := "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=" + storage.DevAccountKey +
		";BlobEndpoint=http://" + addr + "/devstoreaccount1;QueueEndpoint=http://" + addr + "/devstoreaccount1;"
	app := builtStorageApp(t)
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	cmd := exec.CommandContext(ctx, wasmfuncBin, "start", app, "--port", "0", "--workers", workersDir, "--no-build", "--no-watch")
	cmd.Env = append(os.Environ(), "WASMWORKER_CACHE_DIR="+wazeroCache, "AzureWebJobsStorage="+conn)
	cmd.Dir = t.TempDir()
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() == 0 {
		t.Fatalf("wasmfunc start = %v, want a non-zero exit; output:\n%s", err, out)
	}
	if !strings.Contains(string(out), "Azurite") || !strings.Contains(string(out), addr) {
		t.Errorf("the error does not name Azurite and %s:\n%s", addr, out)
	}
}

// dailyStatus waits for Daily's log of its timer value (the RunOnStartup
// run) and returns the ScheduleStatus it received.
func dailyStatus(h *cmdHost) map[string]string {
	h.t.Helper()
	const prefix = "Daily: timer "
	e := h.waitEvent("Daily's log of its timer value", func(e Event) bool {
		return e.Kind == "log" && e.Function == "Daily" && strings.HasPrefix(e.Message, prefix)
	})
	var v struct {
		ScheduleStatus map[string]string `json:"ScheduleStatus"`
	}
	if err := json.Unmarshal([]byte(strings.TrimPrefix(e.Message, prefix)), &v); err != nil || v.ScheduleStatus == nil {
		h.t.Fatalf("Daily logged %q (%v), want a ScheduleStatus", e.Message, err)
	}
	return v.ScheduleStatus
}

// TestTimerStatusPersistsAzurite: with a storage account the timer's
// ScheduleStatus is kept in blob azure-webjobs-hosts/timers/<hostId>/
// Host.Functions.Daily/status, so a second run of wasmfunc starts from what
// the first one recorded: its run at start-up is the Last occurrence.
func TestTimerStatusPersistsAzurite(t *testing.T) {
	az := azuritetest.Start(t)
	app := builtStorageApp(t)
	hc := hostConfig{args: []string{"--no-build", "--no-watch"}, env: []string{"AzureWebJobsStorage=" + az.ConnectionString}}
	h := startHost(t, app, hc)
	if first := dailyStatus(h); !strings.HasPrefix(first["Last"], "0001-01-01") {
		t.Errorf("the first run ever has Last %q, want default(DateTime)", first["Last"])
	}
	// Stop once the status the run wrote is in the blob.
	blobs, err := azblob.NewClientFromConnectionString(az.ConnectionString, nil)
	if err != nil {
		t.Fatal(err)
	}
	var stored map[string]string
	deadline := time.Now().Add(waitLong)
	for stored == nil || strings.HasPrefix(stored["Last"], "0001-01-01") {
		if time.Now().After(deadline) {
			t.Fatalf("no status with a Last occurrence in %s within %s (last seen %v)", storage.HostsContainer, waitLong, stored)
		}
		time.Sleep(100 * time.Millisecond)
		pager := blobs.NewListBlobsFlatPager(storage.HostsContainer, &azblob.ListBlobsFlatOptions{Prefix: to.Ptr("timers/")})
		for pager.More() {
			page, err := pager.NextPage(context.Background())
			if err != nil {
				break // the container is created by the first write
			}
			for _, b := range page.Segment.BlobItems {
				if !strings.HasSuffix(*b.Name, "/Host.Functions.Daily/status") {
					continue
				}
				resp, err := blobs.DownloadStream(context.Background(), storage.HostsContainer, *b.Name, nil)
				if err != nil {
					t.Fatal(err)
				}
				data, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil || json.Unmarshal(data, &stored) != nil {
					t.Fatalf("status blob %s = %q (%v)", *b.Name, data, err)
				}
			}
		}
	}
	h.stop()

	second := dailyStatus(startHost(t, app, hc))
	if second["Last"] != stored["Last"] {
		t.Errorf("the second run got Last %q, want the first run's %q kept in the blob", second["Last"], stored["Last"])
	}
}
