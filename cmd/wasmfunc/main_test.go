package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	var stderr bytes.Buffer
	o, err := parse([]string{"--port", "0", "app", "--json", "--workers", "w"}, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	if o.appDir != "app" || o.port != 0 || !o.json || o.workers != "w" || o.host != "127.0.0.1" {
		t.Errorf("parse = %+v", o)
	}
	o, err = parse([]string{"--read-header-timeout", "2s", "--read-timeout=1m", "--idle-timeout", "-1s", "--max-header-bytes", "4096", "--max-conns", "8"}, &stderr)
	if err != nil || o.readHeaderTimeout != 2*time.Second || o.readTimeout != time.Minute || o.idleTimeout != -time.Second ||
		o.maxHeaderBytes != 4096 || o.maxConns != 8 {
		t.Errorf("listener limits: %+v, %v", o, err)
	}
	o, err = parse(nil, &stderr)
	if err != nil || o.appDir != "." || o.port != 7071 || o.json || o.noBuild || o.noWatch {
		t.Errorf("parse(nil) = %+v, %v; want the defaults", o, err)
	}
	for _, bad := range [][]string{
		{"a", "b"},
		{"--port", "70000"},
		{"--port", "x"},
		{"--nope"},
		{"--read-timeout", "soon"},
	} {
		if _, err := parse(bad, &stderr); err == nil {
			t.Errorf("parse(%q) succeeded", bad)
		}
	}
}

func TestRunUsageAndErrors(t *testing.T) {
	var out, errOut bytes.Buffer
	if err := run([]string{"--help"}, &out, &errOut); err != nil || !strings.Contains(out.String(), "wasmfunc start [appdir]") {
		t.Errorf("run --help = %v, output %q", err, out.String())
	}
	if err := run([]string{"stop"}, &out, &errOut); err == nil || !strings.Contains(err.Error(), "unknown command") {
		t.Errorf("run stop = %v, want an unknown command error", err)
	}
	if err := run([]string{"start", t.TempDir() + "/missing"}, &out, &errOut); err == nil || !strings.Contains(err.Error(), "not a function app folder") {
		t.Errorf("run start on a missing folder = %v", err)
	}
}
