//go:build wasip1

// Garbage writes text that is not the JSON response payload.
package main

import "os"

func main() {
	os.Stdout.WriteString("hello, this is not JSON \xff\xfe")
}
