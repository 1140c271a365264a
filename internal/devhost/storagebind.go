package devhost

// The storage side of the local host: choosing the backend of a load
// (memory and folder, or Azure Storage), the blob trigger, blob inputs and
// blob outputs. The queue trigger is in triggers.go; both run on the
// interfaces of package storage, whatever the backend.

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/wasmworker/wasmworker/internal/devhost/storage"
	"github.com/wasmworker/wasmworker/internal/funcapp"
	"github.com/wasmworker/wasmworker/internal/protocol/rpc"
)

// storageState is the Host's side of storage: what outlives a reload.
type storageState struct {
	mu sync.Mutex
	// schedules is the timer status without a storage account.
	schedules *storage.MemorySchedules
	// azure is the last Azure backend opened, reused while its settings
	// stay the same (so that its queue notifications reach the listeners).
	azure    *storage.Backend
	azureKey string
}

// storageOpTimeout bounds one storage call made on behalf of a trigger
// (deleting a message, writing a receipt) once its invocation is over.
const storageOpTimeout = 30 * time.Second

// openStorage chooses the storage of g from AzureWebJobsStorage: memory and
// the blob folder when it is empty or unset, else that account. When one of
// fns needs the account (a queue or blob binding, or a timer's schedule
// monitor), the account must answer, or the load fails with the reason (for
// development storage: start Azurite).
func (g *generation) openStorage(ctx context.Context, fns []*function) error {
	h := g.h
	conn, _ := g.lookup(storage.ConnectionSetting)
	// A bad extensions.queues setting is reported by each queue listener;
	// the encoding is then the default.
	opts, _ := readQueueOptions(g.app.Host)
	cfg := storage.Config{
		Connection:      conn,
		AppDir:          g.app.Dir,
		HostID:          storage.HostID(g.app.Dir, g.lookup),
		MessageEncoding: opts.MessageEncoding,
		Memory:          &storage.Memory{Store: h.queues},
		Warn:            func(format string, args ...any) { h.con.hostf("Warning", format, args...) },
	}
	h.storage.mu.Lock()
	if h.storage.schedules == nil {
		h.storage.schedules = storage.NewMemorySchedules()
	}
	cfg.Schedules = h.storage.schedules
	key := strings.Join([]string{strings.TrimSpace(conn), cfg.HostID, opts.MessageEncoding}, "\x00")
	var b *storage.Backend
	if strings.TrimSpace(conn) != "" && h.storage.azure != nil && h.storage.azureKey == key {
		b = h.storage.azure
	}
	h.storage.mu.Unlock()
	if b == nil {
		var err error
		if b, err = storage.Open(cfg); err != nil {
			return err
		}
	}
	if needsStorage(fns) {
		if err := b.Check(ctx); err != nil {
			return err
		}
	}
	if b.Kind == storage.KindAzure {
		h.storage.mu.Lock()
		h.storage.azure, h.storage.azureKey = b, key
		h.storage.mu.Unlock()
	}
	g.store = b
	h.con.hostf("Information", "Storage: %s", b)
	return nil
}

// needsStorage reports whether one of fns uses storage: a queue or blob
// binding, or a timer with a schedule monitor.
func needsStorage(fns []*function) bool {
	for _, f := range fns {
		if f.kind == kindTimer && f.useMonitor {
			return true
		}
		for _, b := range f.Bindings {
			if storage.IsStorageType(b.Type) {
				return true
			}
		}
	}
	return false
}

// backend is the storage of the current load (memory before the first).
func (h *Host) backend() *storage.Backend {
	if g := h.gen.Load(); g != nil && g.store != nil {
		return g.store
	}
	return &storage.Backend{Kind: storage.KindMemory, Queues: &storage.Memory{Store: h.queues}}
}

// checkStorageBindings validates the storage bindings of fn at load: blob
// paths, and connections (wasmfunc emulates the one account of
// AzureWebJobsStorage).
func checkStorageBindings(fn *funcapp.Function, lookup func(string) (string, bool)) error {
	main, _ := lookup(storage.ConnectionSetting)
	for _, b := range fn.Bindings {
		if !storage.IsStorageType(b.Type) {
			continue
		}
		if c := strings.TrimSpace(b.Str("connection")); c != "" && !strings.EqualFold(c, storage.ConnectionSetting) {
			v, ok := lookup(c)
			if !ok {
				v, ok = lookup("AzureWebJobs" + c)
			}
			if ok && strings.TrimSpace(v) != strings.TrimSpace(main) {
				return fmt.Errorf("%s: binding %s uses connection %q, a different account than %s; wasmfunc emulates only the %s account",
					fn.Name, b.Name, c, storage.ConnectionSetting, storage.ConnectionSetting)
			}
		}
		if strings.EqualFold(b.Type, "blob") && storage.Supports(b.Type, b.Direction) {
			p, err := resolveSettings(b.Str("path"), lookup)
			if err != nil {
				return fmt.Errorf("%s: binding %s: path: %w", fn.Name, b.Name, err)
			}
			if err := storage.ValidateTemplate(p); err != nil {
				return fmt.Errorf("%s: binding %s: %w", fn.Name, b.Name, err)
			}
		}
	}
	return nil
}

// prepareBlobTrigger reads the path of a blob trigger.
func prepareBlobTrigger(f *function, lookup func(string) (string, bool)) error {
	p, err := resolveSettings(f.trigger.Str("path"), lookup)
	if err != nil {
		return fmt.Errorf("%s: path: %w", f.Name, err)
	}
	tp, err := storage.ParseTriggerPath(p)
	if err != nil {
		return fmt.Errorf("%s: %w", f.Name, err)
	}
	f.blobPath = tp
	return nil
}

// bindingData is the binding data of c for resolving {expressions} in
// binding paths: its trigger metadata and "sys".
func bindingData(c call) storage.BindingData {
	d := storage.BindingData{}
	for k, v := range c.metadata {
		switch x := v.GetData().(type) {
		case *rpc.TypedData_String_:
			d[k] = x.String_
		case *rpc.TypedData_Json:
			d[k] = json.RawMessage(x.Json)
		case *rpc.TypedData_Int:
			d[k] = strconv.FormatInt(x.Int, 10)
		case *rpc.TypedData_Double:
			d[k] = strconv.FormatFloat(x.Double, 'g', -1, 64)
		}
	}
	d["sys"] = map[string]any{
		"MethodName": c.fn.Name,
		"UtcNow":     time.Now().UTC().Format("2006-01-02T15:04:05.0000000Z"),
		"RandGuid":   uuid.NewString(),
	}
	return d
}

// blobValue is a blob's content as the function receives it: text for
// dataType "string", bytes otherwise (the host binds a blob as a stream,
// which reaches a worker as bytes).
func blobValue(b *funcapp.Binding, data []byte) *rpc.TypedData {
	if b.DataType == "string" {
		return &rpc.TypedData{Data: &rpc.TypedData_String_{String_: strings.ToValidUTF8(string(data), "\uFFFD")}}
	}
	return &rpc.TypedData{Data: &rpc.TypedData_Bytes{Bytes: data}}
}

// readBlobInput reads the blob of input binding b; a blob that does not
// exist is null, as in the host.
func (g *generation) readBlobInput(ctx context.Context, b *funcapp.Binding, data storage.BindingData) (*rpc.TypedData, error) {
	p, err := resolveSettings(b.Str("path"), g.lookup)
	if err != nil {
		return nil, fmt.Errorf("input %s: path: %w", b.Name, err)
	}
	container, name, err := storage.ResolveBlobPath(p, data)
	if err != nil {
		return nil, fmt.Errorf("input %s: %w", b.Name, err)
	}
	content, _, err := g.store.Blobs.Read(ctx, container, name)
	if errors.Is(err, storage.ErrBlobNotFound) {
		return &rpc.TypedData{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("input %s: %w", b.Name, err)
	}
	return blobValue(b, content), nil
}

// blobContent converts the value of a blob output into the blob's bytes:
// strings and bytes as they are, a JSON string its content, other JSON its
// text, numbers their text.
func blobContent(v *rpc.TypedData) ([]byte, error) {
	switch d := v.GetData().(type) {
	case *rpc.TypedData_String_:
		return []byte(d.String_), nil
	case *rpc.TypedData_Bytes:
		return d.Bytes, nil
	case *rpc.TypedData_Stream:
		return d.Stream, nil
	case *rpc.TypedData_Int:
		return []byte(strconv.FormatInt(d.Int, 10)), nil
	case *rpc.TypedData_Double:
		return []byte(strconv.FormatFloat(d.Double, 'g', -1, 64)), nil
	case *rpc.TypedData_Json:
		var s string
		if json.Unmarshal([]byte(d.Json), &s) == nil {
			return []byte(s), nil
		}
		if !json.Valid([]byte(d.Json)) {
			return nil, errors.New("json value is not valid JSON")
		}
		return []byte(d.Json), nil
	default:
		return nil, fmt.Errorf("a %T value cannot be a blob", v.GetData())
	}
}

// blobWrite is one blob output to write.
type blobWrite struct {
	container, name string
	data            []byte
}

// blobOutput resolves the path of blob output b and converts its value.
func (g *generation) blobOutput(b funcapp.Binding, v *rpc.TypedData, data storage.BindingData) (blobWrite, error) {
	p, err := resolveSettings(b.Str("path"), g.lookup)
	if err != nil {
		return blobWrite{}, fmt.Errorf("output %s: path: %w", b.Name, err)
	}
	container, name, err := storage.ResolveBlobPath(p, data)
	if err != nil {
		return blobWrite{}, fmt.Errorf("output %s: %w", b.Name, err)
	}
	content, err := blobContent(v)
	if err != nil {
		return blobWrite{}, fmt.Errorf("output %s (blob %s/%s): %w", b.Name, container, name, err)
	}
	return blobWrite{container, name, content}, nil
}

// blobPollInterval is how often a blob trigger lists its container (blobs
// this host writes are seen at once).
const blobPollInterval = 2 * time.Second

// blobTriggerPoisonQueue is where the host puts a blob that failed
// maxDequeueCount times.
const blobTriggerPoisonQueue = "webjobs-blobtrigger-poison"

// runBlob runs f for each new or changed blob that matches its path: it
// lists the container every blobPollInterval, and at once when a function
// of this host writes a blob there. A blob is done once its receipt is
// written (see storage.BlobScan): after a successful run, or after
// maxDequeueCount failed runs, when a message naming it goes to the
// webjobs-blobtrigger-poison queue, as in the host. Up to batchSize +
// newBatchThreshold blobs run at once.
func (g *generation) runBlob(f *function) {
	opts, err := readQueueOptions(g.app.Host)
	if err != nil {
		g.h.con.hostf("Error", "%s: %v", f.Name, err)
		return
	}
	store := g.store
	scan := &storage.BlobScan{Blobs: store.Blobs, Path: f.blobPath, HostID: store.HostID, Function: f.Name}
	failures := map[string]int64{}
	var mu sync.Mutex // guards failures
	sem := make(chan struct{}, opts.BatchSize+opts.threshold())
	var lastErr string
	for {
		changed := store.Blobs.Changed(f.blobPath.Container)
		pending, err := scan.Pending(g.ctx)
		if g.ctx.Err() != nil {
			return
		}
		if err != nil {
			if msg := err.Error(); msg != lastErr {
				g.h.con.hostf("Warning", "%s: blob trigger on %s: %v", f.Name, f.blobPath.Text, err)
				lastErr = msg
			}
		} else {
			lastErr = ""
		}
		var wg sync.WaitGroup
		for _, p := range pending {
			select {
			case sem <- struct{}{}:
			case <-g.ctx.Done():
				wg.Wait()
				return
			}
			wg.Add(1)
			go func(p storage.PendingBlob) {
				defer wg.Done()
				defer func() { <-sem }()
				g.processBlob(f, scan, p, opts, failures, &mu)
			}(p)
		}
		wg.Wait()
		t := time.NewTimer(blobPollInterval)
		select {
		case <-g.ctx.Done():
			t.Stop()
			return
		case <-changed:
		case <-t.C:
		}
		t.Stop()
	}
}

// processBlob runs f for one pending blob.
func (g *generation) processBlob(f *function, scan *storage.BlobScan, p storage.PendingBlob, opts queueOptions, failures map[string]int64, mu *sync.Mutex) {
	store := g.store
	content, info, err := store.Blobs.Read(g.ctx, p.Info.Container, p.Info.Name)
	if errors.Is(err, storage.ErrBlobNotFound) || g.ctx.Err() != nil {
		return // deleted since it was listed
	}
	if err != nil {
		g.h.con.hostf("Warning", "%s: %v", f.Name, err)
		return
	}
	trig, md := blobTrigger(f, content, info, p.Params)
	out := g.invoke(g.ctx, call{fn: f, trigger: trig, metadata: md,
		reason: fmt.Sprintf("New blob detected(%s): %s", "LogsAndContainerScan", info.Path())})
	if g.ctx.Err() != nil {
		return // shutting down: the next load sees it again
	}
	opCtx, cancel := context.WithTimeout(context.WithoutCancel(g.ctx), storageOpTimeout)
	defer cancel()
	if out.err == nil {
		if err := scan.Complete(opCtx, info); err != nil {
			g.h.con.hostf("Warning", "%s: %v", f.Name, err)
		}
		return
	}
	key := scan.ReceiptName(info)
	mu.Lock()
	failures[key]++
	n := failures[key]
	mu.Unlock()
	if n < opts.MaxDequeueCount {
		return // tried again on the next scan
	}
	msg, _ := json.Marshal(map[string]string{
		"Type": "BlobTrigger", "FunctionId": "Host.Functions." + f.Name, "BlobType": "BlockBlob",
		"ContainerName": info.Container, "BlobName": info.Name, "ETag": info.ETag,
	})
	if _, err := store.Queues.Put(opCtx, blobTriggerPoisonQueue, msg); err != nil {
		g.h.con.hostf("Warning", "%s: blob %s failed %d times and could not be put on queue '%s': %v", f.Name, info.Path(), n, blobTriggerPoisonQueue, err)
		return
	}
	g.h.con.hostf("Warning", "%s: blob %s has failed %d times (MaxDequeueCount); a message naming it is on queue '%s'", f.Name, info.Path(), n, blobTriggerPoisonQueue)
	if err := scan.Complete(opCtx, info); err != nil {
		g.h.con.hostf("Warning", "%s: %v", f.Name, err)
	}
	mu.Lock()
	delete(failures, key)
	mu.Unlock()
}

// blobTrigger builds the trigger value and metadata for a blob, as the blob
// extension's BlobTriggerBinding does: BlobTrigger ("<container>/<name>"),
// Uri, Properties and Metadata, then the values of the path's parameters,
// which win.
func blobTrigger(f *function, content []byte, info storage.BlobInfo, params map[string]string) (*rpc.TypedData, map[string]*rpc.TypedData) {
	str := func(s string) *rpc.TypedData { return &rpc.TypedData{Data: &rpc.TypedData_String_{String_: s}} }
	js := func(v any) *rpc.TypedData {
		b, _ := json.Marshal(v)
		return &rpc.TypedData{Data: &rpc.TypedData_Json{Json: string(b)}}
	}
	md := map[string]*rpc.TypedData{
		"BlobTrigger": str(info.Path()),
		"Uri":         js(info.URL),
		"Properties":  js(blobProperties(info)),
		"Metadata":    js(info.Metadata),
	}
	for k, v := range params {
		for mk := range md {
			if strings.EqualFold(mk, k) {
				delete(md, mk)
			}
		}
		md[k] = str(v)
	}
	return blobValue(f.trigger, content), md
}

// blobProperties is the part of the SDK's BlobProperties that wasmfunc
// knows, with its .NET property names (Newtonsoft writes null for an unset
// string, a DateTimeOffset with its offset, an enum as its number: BlobType
// 0 is a block blob).
func blobProperties(info storage.BlobInfo) map[string]any {
	opt := func(s string) any {
		if s == "" {
			return nil
		}
		return s
	}
	date := func(t time.Time) any {
		if t.IsZero() {
			return nil
		}
		return netDate(t.UTC())
	}
	var hash any
	if len(info.ContentMD5) > 0 {
		hash = base64.StdEncoding.EncodeToString(info.ContentMD5)
	}
	return map[string]any{
		"LastModified":       date(info.LastModified),
		"CreatedOn":          date(info.CreatedOn),
		"Metadata":           info.Metadata,
		"BlobType":           0,
		"ContentLength":      info.ContentLength,
		"ContentType":        opt(info.ContentType),
		"ETag":               info.ETag,
		"ContentHash":        hash,
		"ContentEncoding":    opt(info.ContentEncoding),
		"ContentDisposition": opt(info.ContentDisposition),
		"ContentLanguage":    opt(info.ContentLanguage),
		"CacheControl":       opt(info.CacheControl),
	}
}
