package storage

import (
	"bytes"
	"context"
	"errors"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"

	"github.com/wasmworker/wasmworker/internal/devhost/queue"
	"github.com/wasmworker/wasmworker/internal/devhost/storage/azuritetest"
)

// TestBackends runs the same checks against the memory-and-folder backend
// and against a fresh Azurite, through the same interfaces.
func TestBackends(t *testing.T) {
	run := func(t *testing.T, b *Backend) {
		t.Run("queues", func(t *testing.T) { testQueues(t, b.Queues) })
		t.Run("blobs", func(t *testing.T) { testBlobs(t, b.Blobs) })
		t.Run("scan", func(t *testing.T) { testBlobScan(t, b.Blobs) })
		t.Run("schedules", func(t *testing.T) { testSchedules(t, b.Schedules) })
	}
	t.Run("memory", func(t *testing.T) {
		b, err := Open(Config{AppDir: t.TempDir(), HostID: "testhost", Memory: NewMemory(), Schedules: NewMemorySchedules()})
		if err != nil {
			t.Fatal(err)
		}
		run(t, b)
	})
	t.Run("azurite", func(t *testing.T) {
		az := azuritetest.Start(t)
		b, err := Open(Config{Connection: az.ConnectionString, AppDir: t.TempDir(), HostID: "testhost"})
		if err != nil {
			t.Fatal(err)
		}
		if err := b.Check(context.Background()); err != nil {
			t.Fatalf("Check against Azurite: %v", err)
		}
		run(t, b)
	})
}

func bodies(msgs []queue.Message) []string {
	var out []string
	for _, m := range msgs {
		out = append(out, string(m.Body))
	}
	slices.Sort(out)
	return out
}

func testQueues(t *testing.T, q Queues) {
	ctx := context.Background()
	const name = "Work-Items"
	if got, err := q.Receive(ctx, "never-used", 4, time.Minute); err != nil || len(got) != 0 {
		t.Fatalf("Receive from a queue that does not exist = %v, %v", got, err)
	}
	changed := q.Changed(name)
	if _, err := q.Put(ctx, name, []byte("a")); err != nil {
		t.Fatal(err)
	}
	select {
	case <-changed:
	default:
		t.Error("Put did not close the Changed channel")
	}
	binary := []byte{0xff, 0x00, 0xfe}
	for _, body := range [][]byte{[]byte(`{"k":"b"}`), binary} {
		if _, err := q.Put(ctx, name, body); err != nil {
			t.Fatal(err)
		}
	}
	first, err := q.Receive(ctx, name, 2, time.Minute)
	if err != nil || len(first) != 2 {
		t.Fatalf("Receive(2) = %d messages, %v", len(first), err)
	}
	for _, m := range first {
		if m.ID == "" || m.PopReceipt == "" || m.DequeueCount != 1 || m.InsertionTime.IsZero() || !m.NextVisibleTime.After(time.Now()) {
			t.Errorf("received %+v", m)
		}
	}
	// Update makes one visible again at once, with a new pop receipt.
	again, err := q.Update(ctx, name, first[0], 0)
	if err != nil || again.PopReceipt == first[0].PopReceipt {
		t.Fatalf("Update = %+v, %v", again, err)
	}
	if err := q.Delete(ctx, name, first[0]); !errors.Is(err, ErrMessageGone) {
		t.Errorf("Delete with the old pop receipt = %v, want ErrMessageGone", err)
	}
	rest, err := q.Receive(ctx, name, 32, time.Minute)
	if err != nil || len(rest) != 2 {
		t.Fatalf("second Receive = %d messages, %v", len(rest), err)
	}
	all := append(append([]queue.Message{}, first[1]), rest...)
	if got := bodies(all); !slices.Equal(got, bodies([]queue.Message{{Body: []byte("a")}, {Body: []byte(`{"k":"b"}`)}, {Body: binary}})) {
		t.Errorf("bodies = %q", got)
	}
	for _, m := range rest {
		if m.ID == first[0].ID && m.DequeueCount != 2 {
			t.Errorf("the released message comes back with dequeue count %d, want 2", m.DequeueCount)
		}
	}
	for _, m := range all {
		if err := q.Delete(ctx, name, m); err != nil {
			t.Errorf("Delete %s: %v", m.ID, err)
		}
	}
	if _, err := q.Put(ctx, name, []byte("left")); err != nil {
		t.Fatal(err)
	}
	peeked, err := q.Peek(ctx, name)
	if err != nil || len(peeked) != 1 || string(peeked[0].Body) != "left" {
		t.Errorf("Peek = %+v, %v", peeked, err)
	}
	names, err := q.Names(ctx)
	if err != nil || !slices.Contains(names, "work-items") {
		t.Errorf("Names = %v, %v", names, err)
	}
	if az, ok := q.(*AzureQueues); ok {
		testUndecodable(t, az)
	}
}

// testUndecodable: a message that is not base64 (written by another tool)
// goes to the poison queue as it is, as in the queue extension.
func testUndecodable(t *testing.T, q *AzureQueues) {
	ctx := context.Background()
	raw := q.svc.NewQueueClient("raw-text")
	if _, err := raw.Create(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := raw.EnqueueMessage(ctx, "not base64!", nil); err != nil {
		t.Fatal(err)
	}
	got, err := q.Receive(ctx, "raw-text", 8, time.Minute)
	if err != nil || len(got) != 0 {
		t.Fatalf("Receive = %+v, %v; want nothing", got, err)
	}
	peek, err := q.svc.NewQueueClient("raw-text-poison").PeekMessages(ctx, &azqueue.PeekMessagesOptions{NumberOfMessages: to.Ptr(int32(5))})
	if err != nil || len(peek.Messages) != 1 || *peek.Messages[0].MessageText != "not base64!" {
		t.Fatalf("raw-text-poison holds %+v (%v)", peek.Messages, err)
	}
	left, err := raw.PeekMessages(ctx, nil)
	if err != nil || len(left.Messages) != 0 {
		t.Errorf("the undecodable message is still on its queue: %+v, %v", left.Messages, err)
	}
}

func testBlobs(t *testing.T, b Blobs) {
	ctx := context.Background()
	if _, _, err := b.Read(ctx, "nocontainer", "x"); !errors.Is(err, ErrBlobNotFound) {
		t.Errorf("Read from a missing container = %v", err)
	}
	if got, err := b.List(ctx, "nocontainer", ""); err != nil || len(got) != 0 {
		t.Errorf("List of a missing container = %v, %v", got, err)
	}
	changed := b.Changed("docs")
	w1, err := b.Write(ctx, "docs", "a/b.txt", []byte("one"))
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-changed:
	default:
		t.Error("Write did not close the Changed channel")
	}
	if _, _, err := b.Read(ctx, "docs", "a/missing"); !errors.Is(err, ErrBlobNotFound) {
		t.Errorf("Read of a missing blob = %v", err)
	}
	data, info, err := b.Read(ctx, "docs", "a/b.txt")
	if err != nil || string(data) != "one" || info.ETag != w1.ETag || info.ContentLength != 3 || info.Path() != "docs/a/b.txt" || info.URL == "" {
		t.Fatalf("Read = %q, %+v, %v (write gave ETag %s)", data, info, err, w1.ETag)
	}
	w2, err := b.Write(ctx, "docs", "a/b.txt", []byte("two"))
	if err != nil || w2.ETag == w1.ETag || w2.ETag == "" {
		t.Fatalf("rewrite: ETag %q then %q (%v)", w1.ETag, w2.ETag, err)
	}
	if _, err := b.Write(ctx, "docs", "c.bin", []byte{0, 1, 2}); err != nil {
		t.Fatal(err)
	}
	list, err := b.List(ctx, "docs", "a/")
	if err != nil || len(list) != 1 || list[0].Name != "a/b.txt" || list[0].ETag != w2.ETag {
		t.Errorf("List(a/) = %+v, %v", list, err)
	}
	if all, err := b.List(ctx, "docs", ""); err != nil || len(all) != 2 {
		t.Errorf("List = %+v, %v", all, err)
	}
	if _, err := b.Write(ctx, "Bad_Name", "x", nil); err == nil {
		t.Error("Write to an invalid container name succeeded")
	}
}

func testBlobScan(t *testing.T, b Blobs) {
	ctx := context.Background()
	path, err := ParseTriggerPath("scan/in/{name}")
	if err != nil {
		t.Fatal(err)
	}
	newScan := func() *BlobScan { return &BlobScan{Blobs: b, Path: path, HostID: "testhost", Function: "OnBlob"} }
	s := newScan()
	if p, err := s.Pending(ctx); err != nil || len(p) != 0 {
		t.Fatalf("Pending of an empty container = %v, %v", p, err)
	}
	for _, n := range []string{"in/x.txt", "other/y.txt"} {
		if _, err := b.Write(ctx, "scan", n, []byte(n)); err != nil {
			t.Fatal(err)
		}
	}
	p, err := s.Pending(ctx)
	if err != nil || len(p) != 1 || p[0].Info.Name != "in/x.txt" || p[0].Params["name"] != "x.txt" {
		t.Fatalf("Pending = %+v, %v", p, err)
	}
	if err := s.Complete(ctx, p[0].Info); err != nil {
		t.Fatal(err)
	}
	if p, err := s.Pending(ctx); err != nil || len(p) != 0 {
		t.Errorf("Pending after Complete = %+v, %v", p, err)
	}
	// A new scan (a restart) reads the receipts.
	if p, err := newScan().Pending(ctx); err != nil || len(p) != 0 {
		t.Errorf("Pending of a new scan = %+v, %v", p, err)
	}
	receipts, err := b.List(ctx, HostsContainer, "blobreceipts/testhost/Host.Functions.OnBlob/")
	if err != nil || len(receipts) != 1 || !strings.HasSuffix(receipts[0].Name, "/scan/in/x.txt") {
		t.Errorf("receipts = %+v, %v", receipts, err)
	}
	// A changed blob has a new ETag, so it is pending again.
	if _, err := b.Write(ctx, "scan", "in/x.txt", []byte("changed")); err != nil {
		t.Fatal(err)
	}
	if p, err := newScan().Pending(ctx); err != nil || len(p) != 1 {
		t.Errorf("Pending after a change = %+v, %v", p, err)
	}
}

func testSchedules(t *testing.T, s ScheduleStore) {
	ctx := context.Background()
	if st, err := s.Get(ctx, "Tick"); err != nil || st != nil {
		t.Fatalf("Get before Put = %+v, %v", st, err)
	}
	next := time.Now().Add(time.Hour).Truncate(time.Second)
	want := ScheduleStatus{Next: next, LastUpdated: next.Add(-time.Hour)}
	if err := s.Put(ctx, "Tick", want); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(ctx, "Tick")
	if err != nil || got == nil || !got.Last.IsZero() || !got.Next.Equal(want.Next) || !got.LastUpdated.Equal(want.LastUpdated) {
		t.Fatalf("Get = %+v, %v; want %+v", got, err, want)
	}
	if bs, ok := s.(*BlobSchedules); ok {
		data, _, err := bs.Blobs.Read(ctx, HostsContainer, "timers/testhost/Host.Functions.Tick/status")
		if err != nil || !bytes.Contains(data, []byte(`"Last":"0001-01-01T00:00:00"`)) {
			t.Errorf("status blob = %s, %v", data, err)
		}
	}
}

// TestCheckNamesAzurite: a connection string for this machine where nothing
// listens fails with a message that says to start Azurite.
func TestCheckNamesAzurite(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	conn := "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=" + DevAccountKey +
		";BlobEndpoint=http://" + addr + "/devstoreaccount1;QueueEndpoint=http://" + addr + "/devstoreaccount1;"
	b, err := Open(Config{Connection: conn, HostID: "h"})
	if err != nil {
		t.Fatal(err)
	}
	err = b.Check(context.Background())
	if err == nil || !strings.Contains(err.Error(), "Azurite") || !strings.Contains(err.Error(), addr) {
		t.Errorf("Check = %v, want an error naming Azurite and %s", err, addr)
	}
	mem, err := Open(Config{AppDir: t.TempDir(), Memory: NewMemory(), Schedules: NewMemorySchedules()})
	if err != nil {
		t.Fatal(err)
	}
	if err := mem.Check(context.Background()); err != nil {
		t.Errorf("the memory backend needs nothing: %v", err)
	}
	if !strings.Contains(mem.String(), ".wasmfunc") {
		t.Errorf("memory backend String = %q, want the blob folder", mem.String())
	}
}
