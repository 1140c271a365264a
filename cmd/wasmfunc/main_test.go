package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wasmworker/wasmworker/internal/scaffold"
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

func TestParseNew(t *testing.T) {
	var stderr bytes.Buffer
	o, err := parseNew([]string{"app", "-lang", "rust", "-sdk", "/x"}, &stderr, []string{"go", "rust"})
	if err != nil || o.dir != "app" || o.lang != "rust" || o.sdk != "/x" {
		t.Errorf("parseNew = %+v, %v", o, err)
	}
	o, err = parseNew([]string{"app"}, &stderr, nil)
	if err != nil || o.lang != "go" || o.sdk != "" {
		t.Errorf("parseNew defaults = %+v, %v", o, err)
	}
	for _, bad := range [][]string{nil, {"a", "b"}, {"-nope", "a"}} {
		if _, err := parseNew(bad, &stderr, nil); err == nil {
			t.Errorf("parseNew(%q) succeeded", bad)
		}
	}
}

func TestRunNewHelpListsLanguages(t *testing.T) {
	langs, err := scaffold.Languages(nil)
	if err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	if err := run([]string{"new", "-h"}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "wasmfunc new [-lang LANG] [-sdk PATH] DIR") || !strings.Contains(out.String(), "-lang LANG   the language: "+strings.Join(langs, ", ")+" (default go)") {
		t.Errorf("wasmfunc new -h:\n%s", out.String())
	}
}

func TestRunNewErrors(t *testing.T) {
	var out, errOut bytes.Buffer
	full := t.TempDir()
	if err := os.WriteFile(filepath.Join(full, "x"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for name, args := range map[string][]string{
		"not a checkout":            {"new", "-sdk", t.TempDir(), filepath.Join(t.TempDir(), "app")},
		"no folder":                 {"new", "-lang", "go"},
		"unknown lang":              {"new", "-lang", "cobol", "-sdk", "../..", filepath.Join(t.TempDir(), "app")},
		"unknown lang, no checkout": {"new", "-lang", "cobol", "-sdk", t.TempDir(), filepath.Join(t.TempDir(), "app")},
		"not empty":                 {"new", "-sdk", "../..", full},
	} {
		err := run(args, &out, &errOut)
		if err == nil {
			t.Errorf("%s: wasmfunc %q succeeded", name, args)
		} else if strings.HasPrefix(name, "unknown lang") && !strings.Contains(err.Error(), `no template for language "cobol"`) {
			t.Errorf("%s: %v, want it to name the language", name, err)
		}
	}
}
