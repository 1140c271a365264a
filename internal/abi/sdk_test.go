package abi

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/wasmworker/wasmworker/internal/wasmbuild"
)

// guestBuild is one way to build a test guest: the input files it is made of
// (hashed for the cache key) and the command that writes the module to out.
type guestBuild struct {
	name    string
	inputs  []string // files whose contents decide the result
	tool    string   // the command, checked with exec.LookPath
	missing string   // why the toolchain is unusable here, "" if fine
	args    func(out string) []string
	dir     string
}

var (
	buildMu    sync.Mutex
	buildCache = map[string][]byte{}
)

// build runs b once per test binary, caching the module on disk (under
// wasmbuild.CacheDir, keyed by the inputs and the command) across runs. It
// skips the test with a clear message when the toolchain is not installed.
func (b guestBuild) build(t testing.TB) []byte {
	t.Helper()
	if b.missing != "" {
		t.Skipf("%s guest not built: %s (run scripts/install-toolchains.sh)", b.name, b.missing)
	}
	if _, err := exec.LookPath(b.tool); err != nil {
		t.Skipf("%s guest not built: %s not found (run scripts/install-toolchains.sh)", b.name, b.tool)
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%q\n", b.tool, b.args("OUT"))
	for _, f := range b.inputs {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(h, "%s %d\n", f, len(data))
		h.Write(data)
	}
	out := filepath.Join(wasmbuild.CacheDir(), b.name+"-"+hex.EncodeToString(h.Sum(nil))[:16]+".wasm")

	buildMu.Lock()
	defer buildMu.Unlock()
	if wasm, ok := buildCache[out]; ok {
		return wasm
	}
	if wasm, err := os.ReadFile(out); err == nil {
		buildCache[out] = wasm
		return wasm
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		t.Fatal(err)
	}
	tmp := out + ".tmp"
	cmd := exec.Command(b.tool, b.args(tmp)...)
	cmd.Dir = b.dir
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build %s guest: %s %s: %v\n%s", b.name, b.tool, strings.Join(b.args(tmp), " "), err, msg)
	}
	if err := os.Rename(tmp, out); err != nil {
		t.Fatal(err)
	}
	wasm, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	buildCache[out] = wasm
	return wasm
}

// abs returns the absolute path of a file of this package's directory.
func abs(t testing.TB, rel string) string {
	t.Helper()
	p, err := filepath.Abs(rel)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// clangFlags are the C SDK's documented build flags (abi/sdk/c/README.md).
var clangFlags = []string{"--target=wasm32-wasi", "-O2", "-s", "-mexec-model=reactor",
	"-Wl,--stack-first", "-Wl,-z,stack-size=1048576", "-Wall", "-Wextra", "-Werror"}

// cGuest builds testdata/guests/c with the C SDK.
func cGuest(t testing.TB) []byte {
	src := abs(t, "testdata/guests/c/guest.c")
	sdk := abs(t, "../../abi/sdk/c")
	return guestBuild{
		name:   "abi-c-guest",
		inputs: []string{src, filepath.Join(sdk, "wasmworker.c"), filepath.Join(sdk, "wasmworker.h")},
		tool:   "clang",
		args: func(out string) []string {
			return append(slices.Clone(clangFlags), "-I", sdk, "-o", out, src, filepath.Join(sdk, "wasmworker.c"))
		},
	}.build(t)
}

// rustMissing says why /usr/bin/rustc cannot build wasm32-wasi modules here
// ("" when it can): Debian's rustc needs libstd-rust-dev-wasm32.
func rustMissing() string {
	out, err := exec.Command("/usr/bin/rustc", "--print", "sysroot").Output()
	if err != nil {
		return "/usr/bin/rustc not usable: " + err.Error()
	}
	std := filepath.Join(strings.TrimSpace(string(out)), "lib", "rustlib", "wasm32-wasi", "lib")
	if _, err := os.Stat(std); err != nil {
		return "/usr/bin/rustc has no wasm32-wasi std (" + std + " is missing; install libstd-rust-dev-wasm32)"
	}
	return ""
}

// rustFlags are the Rust SDK's documented one-command build flags
// (abi/sdk/rust/README.md), without the output and source.
var rustFlags = []string{"--target", "wasm32-wasi", "--edition", "2021", "--crate-type", "cdylib",
	"-C", "opt-level=3", "-C", "strip=symbols", "-D", "warnings"}

// rustGuest builds testdata/guests/rust with the Rust SDK, with Debian's
// rustc (rustup's, earlier on PATH, has no wasm32-wasi std here).
func rustGuest(t testing.TB) []byte {
	src := abs(t, "testdata/guests/rust/guest.rs")
	return guestBuild{
		name:    "abi-rust-guest",
		inputs:  append([]string{src}, rustSDKSources(t)...),
		tool:    "/usr/bin/rustc",
		missing: rustMissing(),
		args: func(out string) []string {
			return append(slices.Clone(rustFlags), "-o", out, src)
		},
	}.build(t)
}

// rustSDKSources lists every source file of the Rust SDK: a guest's cached
// build is stale when any of them changes.
func rustSDKSources(t testing.TB) []string {
	files, err := filepath.Glob(abs(t, "../../abi/sdk/rust/src/*.rs"))
	if err != nil || len(files) == 0 {
		t.Fatalf("Rust SDK sources: %v (found %d)", err, len(files))
	}
	return files
}

// ascMissing says why the AssemblyScript compiler cannot run here ("" when
// it can): it is installed by npm ci in abi/sdk/assemblyscript.
func ascMissing(sdk string) string {
	if _, err := os.Stat(filepath.Join(sdk, "node_modules", "assemblyscript", "bin", "asc.js")); err != nil {
		return "the assemblyscript package is not installed (npm ci in abi/sdk/assemblyscript)"
	}
	return ""
}

// asGuest builds testdata/guests/assemblyscript with the AssemblyScript SDK
// and its asconfig.json.
func asGuest(t testing.TB) []byte {
	src := abs(t, "testdata/guests/assemblyscript/guest.ts")
	sdk := abs(t, "../../abi/sdk/assemblyscript")
	return guestBuild{
		name: "abi-as-guest",
		inputs: []string{src, filepath.Join(sdk, "assembly", "index.ts"), filepath.Join(sdk, "assembly", "version.ts"),
			filepath.Join(sdk, "asconfig.json"), filepath.Join(sdk, "package-lock.json")},
		tool:    "node",
		missing: ascMissing(sdk),
		dir:     sdk,
		args: func(out string) []string {
			return []string{filepath.Join("node_modules", "assemblyscript", "bin", "asc.js"), src, "--config", "asconfig.json", "-o", out}
		},
	}.build(t)
}

// sdkGuests are the test guests of every SDK. Each exports the entry points
// hello, queue, counter, fail and crash with the same behaviour (see
// testdata/guests/gohttp).
var sdkGuests = []struct {
	lang  string
	build func(testing.TB) []byte
}{
	{"go", goGuest},
	{"c", cGuest},
	{"rust", rustGuest},
	{"assemblyscript", asGuest},
}

// TestSDKGuests runs the common entry points of every SDK's test guest
// through a Pool: an HTTP response, a queue output and return value, a
// handled failure that keeps the instance, and a trap that discards it.
func TestSDKGuests(t *testing.T) {
	for _, g := range sdkGuests {
		t.Run(g.lang, func(t *testing.T) {
			wasm := g.build(t)
			rt := newRuntime(t, true)
			_, info := compile(t, rt, wasm)
			for _, e := range []string{"hello", "queue", "counter", "fail", "crash"} {
				if _, err := info.Entry(e); err != nil {
					t.Fatal(err)
				}
			}
			cm, _ := compile(t, rt, wasm)
			p := NewPool(rt, cm, PoolConfig{MaxInstances: 1})
			defer p.Close(context.Background())
			ctx := context.Background()

			inv := newInv(httpRequest(), httpBindings)
			if err := p.Invoke(ctx, "hello", inv); err != nil {
				t.Fatal(err)
			}
			checkHello(t, inv, "Hello, Azure (POST)")

			// Without a query "name" the route parameter is used.
			req := httpRequest()
			delete(req.InputData[0].GetData().GetHttp().NullableQuery, "Name")
			inv = newInv(req, httpBindings)
			if err := p.Invoke(ctx, "hello", inv); err != nil {
				t.Fatal(err)
			}
			checkHello(t, inv, "Hello, world (POST)")

			inv = newInv(queueRequest(), queueBindings)
			if err := p.Invoke(ctx, "queue", inv); err != nil {
				t.Fatal(err)
			}
			outs, ret, _, _ := rpcResult(inv)
			if len(outs) != 1 || outs[0].Name != "out" || outs[0].GetData().GetString_() != `{"ID":7,"KIND":"X"}` {
				t.Errorf("queue outputs %v", outs)
			}
			if ret.GetJson() != `{"dequeueCount":1}` {
				t.Errorf("queue return %v", ret)
			}

			checkReuse(t, p)
		})
	}
}

// checkReuse asserts SPEC.md §3 on a pool of one instance: a handled
// failure keeps the instance (its counter goes on), a trap discards it.
func checkReuse(t *testing.T, p *Pool) {
	t.Helper()
	ctx := context.Background()
	counter := func() int64 {
		t.Helper()
		inv := newInv(queueRequest(), queueBindings)
		if err := p.Invoke(ctx, "counter", inv); err != nil {
			t.Fatal(err)
		}
		_, ret, _, _ := rpcResult(inv)
		return ret.GetInt()
	}
	first := counter()
	inv := newInv(queueRequest(), queueBindings)
	err := p.Invoke(ctx, "fail", inv)
	var fe *FunctionError
	if !errors.As(err, &fe) || fe.Message != "bad input: no name" || !Reusable(err) {
		t.Fatalf("fail: %v", err)
	}
	outs, _, logs, _ := rpcResult(inv)
	if outs != nil {
		t.Errorf("outputs of a failed invocation: %v", outs)
	}
	var msgs []string
	for _, l := range logs {
		msgs = append(msgs, fmt.Sprintf("%v:%s", l.Level, l.Message))
	}
	if got := strings.Join(msgs, "|"); got != "Warning:about to fail|Information:a line on stdout|Information:partial stderr" {
		t.Errorf("logs of fail: %s", got)
	}
	if n := counter(); n != first+1 {
		t.Errorf("counter after a handled failure = %d, want %d (same instance)", n, first+1)
	}
	inv = newInv(queueRequest(), queueBindings)
	err = p.Invoke(ctx, "crash", inv)
	var ce *CallError
	if !errors.As(err, &ce) || Reusable(err) {
		t.Fatalf("crash: %v", err)
	}
	if n := counter(); n != 1 {
		t.Errorf("counter after a trap = %d, want 1 (fresh instance)", n)
	}
}
