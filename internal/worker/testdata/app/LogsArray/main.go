//go:build wasip1

// LogsArray answers with a "Logs" array of 200,000 tiny entries: each costs
// the worker an RpcLog message, so the array must count against the log
// limit like stderr does.
package main

import (
	"bufio"
	"os"
)

func main() {
	w := bufio.NewWriter(os.Stdout)
	w.WriteString(`{"Logs":[`)
	for i := range 200_000 {
		if i > 0 {
			w.WriteByte(',')
		}
		w.WriteString(`"x"`)
	}
	w.WriteString(`],"ReturnValue":"done"}`)
	w.Flush()
}
