//go:build wasip1

// Command Binary answers with every byte value from 0x00 to 0xff, in order,
// as its HTTP body. Its http output binding has "dataType": "binary", so the
// body it prints is the base64 of those bytes (abi/COMMAND.md §2.2).
package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
)

func main() {
	body := make([]byte, 256)
	for i := range body {
		body[i] = byte(i)
	}
	out := map[string]any{"Outputs": map[string]any{"res": map[string]any{
		"statusCode": 200,
		"headers":    map[string]string{"Content-Type": "image/x-test"},
		"body":       base64.StdEncoding.EncodeToString(body),
	}}}
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		fmt.Fprintln(os.Stderr, "Binary: write response:", err)
		os.Exit(1)
	}
}
