package devhost

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/wasmworker/wasmworker/internal/fnhost"
	"github.com/wasmworker/wasmworker/internal/funcapp"
	"github.com/wasmworker/wasmworker/internal/protocol/rpc"
)

// startIndexing starts the generation's pool of workers for config cfg,
// which has workerIndexing, and asks the first worker for the app's
// functions (docs/host-contract.md §2.1 B): it returns nil when the worker
// answers use_default_metadata_indexing (the function.json folders are the
// functions), else the functions it answered. An error means no worker
// answered; the pool then loads nothing.
func (g *generation) startIndexing(ctx context.Context, cfg *fnhost.WorkerConfig) (*indexedApp, error) {
	count := processCount(cfg, g.lookup)
	g.h.con.hostf("Information", "Starting %d %s worker process(es) to index the functions (worker %s)", count, cfg.Language, cfg.Dir)
	g.pool = newIndexingPool(g, cfg, count)
	g.pool.start()
	ictx, cancel := context.WithTimeout(ctx, cfg.Process.ProcessStartupTimeout+cfg.Process.InitializationTimeout+fnhost.MetadataTimeout)
	defer cancel()
	resp, err := g.pool.waitIndex(ictx)
	if err != nil {
		g.pool.plan(nil, nil, indexFailures{})
		return nil, err
	}
	if resp.GetUseDefaultMetadataIndexing() {
		return nil, nil
	}
	return fromMetadata(resp), nil
}

// indexedApp is what the host makes of a FunctionMetadataResponse that
// does not ask for default indexing (docs/host-contract.md §2.5).
type indexedApp struct {
	fns []*funcapp.Function
	// ids maps each function to the function_id and properties the worker
	// answered, which its loads carry back.
	ids map[*funcapp.Function]fnhost.Indexed
	// failed are the functions in error, each naming its function (Name
	// is "" when the worker's answer has no usable name).
	failed []*funcapp.FunctionError
	// overall is the response's own failure message ("" when it succeeded).
	overall string
}

// fromMetadata turns the worker's answer into functions as the host's
// WorkerFunctionMetadataProvider does: each RpcFunctionMetadata gives name,
// directory, script_file, entry_point, function_id, retry_options and
// raw_bindings (function.json binding objects), validated as the host
// validates them (funcapp.ParseDeclaration: the name rule, binding names,
// "$return" as an output only, unique names, exactly one trigger); a
// function whose status is a failure, that fails validation, that has no
// script file or no id, or whose name or id repeats an earlier one is in
// error by name. properties "IsDisabled" = "True" disables a function.
func fromMetadata(resp *rpc.FunctionMetadataResponse) *indexedApp {
	out := &indexedApp{ids: map[*funcapp.Function]fnhost.Indexed{}}
	if r := resp.GetResult(); r != nil && r.GetStatus() != rpc.StatusResult_Success {
		msg := r.GetException().GetMessage()
		if msg == "" {
			msg = "result " + r.GetStatus().String()
		}
		out.overall = msg
	}
	names := map[string]bool{}
	ids := map[string]string{}
	for i, md := range resp.GetFunctionMetadataResults() {
		name := md.GetName()
		fail := func(format string, args ...any) {
			msg := fmt.Sprintf(format, args...)
			if name != "" && !strings.Contains(msg, name) {
				msg = fmt.Sprintf("function %s: %s", name, msg)
			}
			out.failed = append(out.failed, &funcapp.FunctionError{Name: name, Err: fmt.Errorf("%s", msg)})
		}
		if name == "" {
			fail("function %d of the worker's FunctionMetadataResponse has no name", i+1)
			continue
		}
		if names[strings.ToLower(name)] {
			// The host keys functions by name; a second one is an error of
			// its own, and the first one stays.
			out.failed = append(out.failed, &funcapp.FunctionError{Name: "", Err: fmt.Errorf("the worker indexed function %s twice; the second is ignored", name)})
			continue
		}
		names[strings.ToLower(name)] = true
		if st := md.GetStatus(); st != nil && st.GetStatus() != rpc.StatusResult_Success {
			msg := st.GetException().GetMessage()
			if msg == "" {
				msg = "the worker failed to index it (status " + st.GetStatus().String() + ")"
			}
			fail("%s", msg)
			continue
		}
		id := md.GetFunctionId()
		switch {
		case id == "":
			fail("the worker gave no function_id")
			continue
		case ids[id] != "":
			fail("the worker gave function_id %s, already the id of %s", id, ids[id])
			continue
		}
		if md.GetScriptFile() == "" {
			// FunctionMetadataManager.IsScriptFileDetermined.
			fail("Unable to determine the primary function script (the worker gave no script_file)")
			continue
		}
		data, err := declaration(md)
		if err != nil {
			fail("%v", err)
			continue
		}
		dir := md.GetDirectory()
		if dir == "" {
			dir = filepath.Dir(md.GetScriptFile())
		}
		fn, err := funcapp.ParseDeclaration(dir, md.GetScriptFile(), data)
		if err != nil {
			fail("%v", err)
			continue
		}
		if strings.EqualFold(md.GetProperties()["IsDisabled"], "true") {
			fn.Disabled = true
		}
		ids[id] = name
		out.ids[fn] = fnhost.Indexed{ID: id, Properties: md.GetProperties()}
		out.fns = append(out.fns, fn)
	}
	return out
}

// declaration writes what md says as a declaration (abi/SPEC.md §2.3:
// function.json syntax plus "name") for funcapp.ParseDeclaration. Only
// what the host reads is used: name, entry_point, raw_bindings and
// retry_options (the bindings map, is_proxy and language are ignored, as
// the host ignores them).
func declaration(md *rpc.RpcFunctionMetadata) ([]byte, error) {
	bindings := make([]json.RawMessage, 0, len(md.GetRawBindings()))
	for i, rb := range md.GetRawBindings() {
		if !json.Valid([]byte(rb)) {
			return nil, fmt.Errorf("raw binding %d is not JSON: %s", i+1, rb)
		}
		bindings = append(bindings, json.RawMessage(rb))
	}
	decl := map[string]any{"name": md.GetName(), "bindings": bindings}
	if ep := md.GetEntryPoint(); ep != "" {
		decl["entryPoint"] = ep
	}
	if r := md.GetRetryOptions(); r != nil {
		retry := map[string]any{"maxRetryCount": r.GetMaxRetryCount()}
		switch r.GetRetryStrategy() {
		case rpc.RpcRetryOptions_fixed_delay:
			retry["strategy"] = funcapp.StrategyFixedDelay
			if r.GetDelayInterval() != nil {
				retry["delayInterval"] = timeSpan(r.GetDelayInterval().AsDuration())
			}
		default:
			retry["strategy"] = funcapp.StrategyExponentialBackoff
			if r.GetMinimumInterval() != nil {
				retry["minimumInterval"] = timeSpan(r.GetMinimumInterval().AsDuration())
			}
			if r.GetMaximumInterval() != nil {
				retry["maximumInterval"] = timeSpan(r.GetMaximumInterval().AsDuration())
			}
		}
		decl["retry"] = retry
	}
	return json.Marshal(decl)
}

// timeSpan writes d as .NET TimeSpan text ("[-][d.]hh:mm:ss[.fffffff]"),
// which funcapp.ParseTimeSpan reads back exactly (to 100 ns).
func timeSpan(d time.Duration) string {
	sign := ""
	if d < 0 {
		sign, d = "-", -d
	}
	ticks := int64(d / 100)
	const perSec = int64(time.Second / 100)
	secs, frac := ticks/perSec, ticks%perSec
	days, h, m, s := secs/86400, secs/3600%24, secs/60%60, secs%60
	out := sign
	if days > 0 {
		out += fmt.Sprintf("%d.", days)
	}
	out += fmt.Sprintf("%02d:%02d:%02d", h, m, s)
	if frac > 0 {
		out += fmt.Sprintf(".%07d", frac)
	}
	return out
}

var wasmFileName = regexp.MustCompile(`[^\s/\\"'=:]+\.wasm\b`)

// moduleNames returns the base names of the .wasm files msg names.
func moduleNames(msg string) []string {
	var out []string
	for _, m := range wasmFileName.FindAllString(msg, -1) {
		if !slices.Contains(out, m) {
			out = append(out, m)
		}
	}
	return out
}

// IndexedFunctions is what the host makes of a worker's
// FunctionMetadataResponse that does not ask for default indexing, for
// other players of the host's side (cmd/wasmload): the functions to load,
// the id and properties each load carries back (fnhost.Worker.LoadIndexed),
// and one error per function in error or per failure of the whole answer.
func IndexedFunctions(resp *rpc.FunctionMetadataResponse) ([]*funcapp.Function, map[*funcapp.Function]fnhost.Indexed, []error) {
	ix := fromMetadata(resp)
	var problems []error
	if ix.overall != "" {
		problems = append(problems, fmt.Errorf("Worker failed to index functions: %s", ix.overall))
	}
	for _, f := range ix.failed {
		problems = append(problems, f)
	}
	return ix.fns, ix.ids, problems
}
