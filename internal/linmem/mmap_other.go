//go:build !linux

package linmem

import "errors"

// Systems other than Linux keep linear memory in Go slices (as wazero does
// by default): reserve fails, so Memory falls back to a slice.

var errNoMappings = errors.New("no reserved mappings on this system")

func reserve(uint64) (mapping, mem []byte, err error) { return nil, nil, errNoMappings }

func commit([]byte) error { return errNoMappings }

func release([]byte) {}

func clearTouched(b []byte) { clear(b) }

func touchedRuns(b []byte, _ int, f func(run []byte)) { f(b) }

// minSkipCompare is unused here: touchedRuns gives all of b.
const minSkipCompare = 0
