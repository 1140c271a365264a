//go:build wasip1

// Command gohttp is an ABI v1 test guest: entry points that exercise every
// import of the Go SDK.
package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	ww "github.com/wasmworker/wasmworker/abi/sdk/go"
)

func main() {}

// hello answers an HTTP request: "Hello, <name>" with name from the query,
// the route or the body.
//
//go:wasmexport hello
func hello() int32 {
	return ww.Run(func() error {
		name := ww.Query("name")
		if name == "" {
			name = ww.Param("who")
		}
		if name == "" {
			name = string(ww.Body())
		}
		ww.SetStatus(201)
		ww.SetHeader("Content-Type", "text/plain")
		ww.AddCookie("seen=1; Path=/; Max-Age=60; HttpOnly; SameSite=Lax")
		ww.Log(ww.Information, "greeting "+name)
		return ww.WriteString("Hello, " + name + " (" + ww.Method() + ")")
	})
}

// queue copies its trigger to output "out" upper-cased and returns the
// dequeue count.
//
//go:wasmexport queue
func queue() int32 {
	return ww.Run(func() error {
		msg, err := ww.Input("msg")
		if err != nil {
			return fmt.Errorf("read msg: %w", err)
		}
		if err := ww.SetOutputString("out", strings.ToUpper(msg.String())); err != nil {
			return err
		}
		dc, err := ww.Metadata("DequeueCount")
		if err != nil {
			return fmt.Errorf("read DequeueCount: %w", err)
		}
		return ww.SetOutputRaw("$return", ww.JSON, []byte(`{"dequeueCount":`+dc.String()+`}`))
	})
}

// inspect reports what it can read: names, keys, types, collections.
//
//go:wasmexport inspect
func inspect() int32 {
	return ww.Run(func() error {
		var b strings.Builder
		fmt.Fprintf(&b, "id=%s inputs=%v meta=%v headers=%v\n", ww.InvocationID(), ww.InputNames(), ww.MetadataKeys(), ww.HeaderNames())
		for _, name := range ww.InputNames() {
			v, err := ww.Input(name)
			if err != nil {
				return err
			}
			fmt.Fprintf(&b, "%s type=%d len=%d", name, v.Type, v.Len)
			switch {
			case v.Type.IsCollection():
				for i := 0; i < v.Len; i++ {
					it, err := ww.Item(name, i)
					if err != nil {
						return err
					}
					fmt.Fprintf(&b, " [%d]=%s", it.Type, it.String())
				}
				if _, err := ww.Item(name, v.Len); !ww.ErrorIs(err, ww.ErrNotFound) {
					return fmt.Errorf("item past the end: %v", err)
				}
			case v.Type != ww.HTTP:
				fmt.Fprintf(&b, " value=%s", v.String())
			}
			b.WriteString("\n")
		}
		if _, err := ww.Input("nope"); !errors.Is(err, ww.ErrNotFound) {
			return fmt.Errorf("missing input: %v", err)
		}
		if err := ww.SetOutputString("nope", "x"); !errors.Is(err, ww.ErrNotOutput) {
			return fmt.Errorf("unknown output: %v", err)
		}
		if err := ww.SetOutputRaw("out", ww.JSON, []byte("{bad")); !errors.Is(err, ww.ErrBadJSON) {
			return fmt.Errorf("bad json: %v", err)
		}
		big := strings.Repeat("x", 10000) // larger than the SDK's 4 KiB scratch buffer
		if err := ww.SetOutputString("out", big); err != nil {
			return err
		}
		return ww.SetOutputString("report", b.String())
	})
}

// fail reports a handled failure after writing output and a log line.
//
//go:wasmexport fail
func fail() int32 {
	return ww.Run(func() error {
		ww.SetOutputString("out", "not sent")
		ww.Log(ww.Warning, "about to fail")
		fmt.Println("a line on stdout")
		fmt.Fprint(os.Stderr, "partial stderr")
		return errors.New("bad input: no name")
	})
}

// crash panics outside Run: a trap.
//
//go:wasmexport crash
func crash() int32 {
	var m map[string]int
	m["x"] = 1
	return 0
}

var calls int

// counter returns how many times this instance ran it, as $return.
//
//go:wasmexport counter
func counter() int32 {
	calls++
	return ww.Run(func() error { return ww.SetOutputInt("$return", int64(calls)) })
}

// spin never returns.
//
//go:wasmexport spin
func spin() int32 {
	for {
		calls++
	}
}
