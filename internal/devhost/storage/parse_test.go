package storage

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestParseConnectionString(t *testing.T) {
	dev, err := ParseConnectionString("UseDevelopmentStorage=true")
	if err != nil {
		t.Fatal(err)
	}
	if !dev.Development || dev.Name != DevAccountName || dev.BlobEndpoint != DevBlobEndpoint || dev.QueueEndpoint != DevQueueEndpoint || !dev.Local() {
		t.Errorf("UseDevelopmentStorage=true = %+v", dev)
	}
	if _, err := ParseConnectionString(" usedevelopmentstorage=TRUE; "); err != nil {
		t.Errorf("keys and values are matched without regard to case: %v", err)
	}

	az, err := ParseConnectionString("DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=a2V5;EndpointSuffix=core.windows.net")
	if err != nil {
		t.Fatal(err)
	}
	if az.BlobEndpoint != "https://acct.blob.core.windows.net" || az.QueueEndpoint != "https://acct.queue.core.windows.net" || az.Local() || az.Development {
		t.Errorf("account connection string = %+v", az)
	}
	if strings.Contains(az.String(), "a2V5") {
		t.Errorf("String shows the key: %s", az)
	}

	ep, err := ParseConnectionString("DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;BlobEndpoint=http://127.0.0.1:1234/devstoreaccount1/;QueueEndpoint=http://localhost:5678/devstoreaccount1;")
	if err != nil {
		t.Fatal(err)
	}
	if ep.BlobEndpoint != "http://127.0.0.1:1234/devstoreaccount1" || ep.QueueEndpoint != "http://localhost:5678/devstoreaccount1" || !ep.Local() {
		t.Errorf("explicit endpoints = %+v", ep)
	}

	for _, bad := range []string{
		"AccountName=acct",                         // no key
		"AccountKey=a2V5",                          // no name nor endpoints
		"AccountName=acct;AccountKey=k;secretpart", // not key=value
		"AccountName=acct;AccountKey=k;BlobEndpoint=ftp://x",
	} {
		_, err := ParseConnectionString(bad)
		if err == nil {
			t.Errorf("ParseConnectionString(%q) succeeded", bad)
		} else if strings.Contains(err.Error(), "secretpart") {
			t.Errorf("the error quotes a part that may be secret: %v", err)
		}
	}
}

func TestTriggerPath(t *testing.T) {
	tp, err := ParseTriggerPath("samples/in/{name}.{ext}")
	if err != nil {
		t.Fatal(err)
	}
	if tp.Container != "samples" || tp.Prefix != "in/" {
		t.Errorf("container %q, prefix %q", tp.Container, tp.Prefix)
	}
	got, ok := tp.Match("in/report.final.txt")
	if !ok || got["name"] != "report.final" || got["ext"] != "txt" {
		t.Errorf("Match = %v, %v", got, ok)
	}
	if _, ok := tp.Match("out/x.txt"); ok {
		t.Error("a blob outside the pattern matched")
	}
	all, err := ParseTriggerPath("samples")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := all.Match("any/thing"); !ok {
		t.Error("a container-only path must match every blob")
	}
	lit, err := ParseTriggerPath("samples/{{literal}}/{name}")
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := lit.Match("{literal}/x"); !ok || got["name"] != "x" {
		t.Errorf("escaped braces: %v, %v", got, ok)
	}
	for _, bad := range []string{"{c}/x", "Bad_Container/x", "samples/{a-b}", "samples/{n}/{n}", "samples/{open", "samples/close}"} {
		if _, err := ParseTriggerPath(bad); err == nil {
			t.Errorf("ParseTriggerPath(%q) succeeded", bad)
		}
	}
}

func TestResolve(t *testing.T) {
	data := BindingData{
		"QueueTrigger": "hello",
		"id":           json.RawMessage(`"42"`),
		"order":        json.RawMessage(`{"Customer":{"name":"ada"},"n":7}`),
		"sys":          map[string]any{"MethodName": "Fn", "RandGuid": "g-1"},
	}
	for in, want := range map[string]string{
		"out/{queueTrigger}.txt":         "out/hello.txt",
		"out/{ID}/{order.customer.name}": "out/42/ada",
		"out/{order.n}-{sys.randguid}":   "out/7-g-1",
		"out/{{x}}":                      "out/{x}",
		"out/{order.Customer}":           `out/{"name":"ada"}`,
		"plain/name":                     "plain/name",
	} {
		got, err := Resolve(in, data)
		if err != nil || got != want {
			t.Errorf("Resolve(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	g1, _ := Resolve("{rand-guid}", data)
	g2, _ := Resolve("{rand-guid}", data)
	if len(g1) != 36 || g1 == g2 {
		t.Errorf("{rand-guid} gave %q and %q", g1, g2)
	}
	if d, _ := Resolve("{DateTime}", data); len(d) != len("2006-01-02T15-04-05Z") || strings.Contains(d, ":") {
		t.Errorf("{DateTime} = %q", d)
	}
	for _, bad := range []string{"out/{missing}", "out/{order.none}", "out/{DateTime:yyyy}", "out/{"} {
		if got, err := Resolve(bad, data); err == nil {
			t.Errorf("Resolve(%q) = %q, want an error", bad, got)
		}
	}
	if _, _, err := ResolveBlobPath("out/{queueTrigger}/../x", data); err == nil {
		t.Error("a resolved name with a .. segment must be refused")
	}
	if c, n, err := ResolveBlobPath("out/{queueTrigger}.txt", data); err != nil || c != "out" || n != "hello.txt" {
		t.Errorf("ResolveBlobPath = %q, %q, %v", c, n, err)
	}
}

func TestSupports(t *testing.T) {
	for _, c := range []struct {
		typ, dir string
		want     bool
	}{
		{"queueTrigger", "in", true}, {"QUEUE", "out", true}, {"queue", "in", false},
		{"blobTrigger", "in", true}, {"blob", "in", true}, {"blob", "out", true}, {"blob", "inout", false},
		{"table", "in", false}, {"http", "out", false},
	} {
		if got := Supports(c.typ, c.dir); got != c.want {
			t.Errorf("Supports(%q, %q) = %v", c.typ, c.dir, got)
		}
	}
	for _, typ := range BindingTypes {
		if !IsStorageType(typ) || !IsStorageType(strings.ToUpper(typ)) {
			t.Errorf("IsStorageType(%q) is false", typ)
		}
	}
}

func TestHostID(t *testing.T) {
	// The host's Utility.GetStableHash: 23*31 + 'a' = 810.
	if h := stableHash("a"); h != 810 {
		t.Errorf("stableHash(a) = %d", h)
	}
	if h := stableHash(""); h != 23 {
		t.Errorf("stableHash() = %d", h)
	}
	id := HostID(t.TempDir(), nil)
	if len(id) == 0 || len(id) > 32 || strings.ToLower(id) != id || strings.HasSuffix(id, "-") {
		t.Errorf("HostID = %q", id)
	}
	set := HostID("x", func(k string) (string, bool) { return "my-host", k == "AzureFunctionsWebHost__hostid" })
	if set != "my-host" {
		t.Errorf("HostID with the setting = %q", set)
	}
}
