package worker

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/wasmworker/wasmworker/internal/engine"
)

// compileTimeoutSetting is the app setting that bounds how long a function's
// load waits for its module to compile (engine.Limits.CompileTimeout).
const compileTimeoutSetting = "WASMWORKER_COMPILE_TIMEOUT"

// compileTimeout reads the app setting WASMWORKER_COMPILE_TIMEOUT at each
// load (the environment changes with FunctionEnvironmentReloadRequest): a
// Go duration such as "90s" or "2m", or a number of seconds such as "90".
// Unset or empty means the engine's default (60 s); a value that is not a
// positive duration fails the load naming the setting.
func compileTimeout() (time.Duration, error) {
	v := strings.TrimSpace(os.Getenv(compileTimeoutSetting))
	if v == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		secs, ferr := strconv.ParseFloat(v, 64)
		if ferr != nil || secs > (1<<63-1)/float64(time.Second) {
			return 0, fmt.Errorf("app setting %s=%q is not a duration: give seconds (\"90\") or a Go duration (\"90s\", \"2m\")", compileTimeoutSetting, v)
		}
		d = time.Duration(secs * float64(time.Second))
	}
	if d <= 0 {
		return 0, fmt.Errorf("app setting %s=%q must be a positive duration", compileTimeoutSetting, v)
	}
	return d, nil
}

// nameCompileBudget adds to a load error caused by the compile budget the
// app setting that sets it.
func nameCompileBudget(err error) error {
	var cbe *engine.CompileBudgetError
	if errors.As(err, &cbe) {
		return fmt.Errorf("%w (app setting %s)", err, compileTimeoutSetting)
	}
	return err
}
