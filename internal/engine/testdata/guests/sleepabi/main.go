//go:build wasip1

// Command sleepabi is an ABI v1 reactor (build with -buildmode=c-shared):
// entry point "nap" sleeps for a minute in WASI poll_oneoff; "count" logs
// how many times it ran in this instance, so that a test can tell a fresh
// instance from a reused one.
package main

import (
	"strconv"
	"time"

	ww "github.com/wasmworker/wasmworker/abi/sdk/go"
)

func main() {}

var runs int

//go:wasmexport nap
func nap() int32 {
	return ww.Run(func() error {
		time.Sleep(time.Minute)
		return nil
	})
}

//go:wasmexport count
func count() int32 {
	return ww.Run(func() error {
		runs++
		ww.Log(ww.Information, "runs="+strconv.Itoa(runs))
		return nil
	})
}
