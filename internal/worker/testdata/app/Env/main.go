//go:build wasip1

// Env returns the environment it can see, to check that a function gets the
// app settings its function.json lists and nothing else.
package main

import (
	"encoding/json"
	"os"
	"sort"
	"strings"
)

func main() {
	env := os.Environ()
	sort.Strings(env)
	json.NewEncoder(os.Stdout).Encode(map[string]any{"ReturnValue": strings.Join(env, ";")})
}
