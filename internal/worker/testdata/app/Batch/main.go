//go:build wasip1

// Batch receives an event-hub-style batch (cardinality "many") and returns
// "<items> <sequence numbers> <items joined by |> <Guid> <Enqueued>": the
// number of events and of entries in the per-event metadata array, which
// must match, the items, and two metadata values as the payload holds them
// (a Guid double-encoded, a date not).
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
)

func main() {
	var in struct {
		Data struct {
			Events string `json:"events"`
		}
		Metadata struct {
			SequenceNumberArray string
			Guid, Enqueued      string
		}
	}
	if err := json.NewDecoder(os.Stdin).Decode(&in); err != nil {
		fmt.Fprintln(os.Stderr, "bad input:", err)
		os.Exit(1)
	}
	var events []string
	var seq []int64
	// Both arrive as JSON text in a string (abi/COMMAND.md).
	if err := json.Unmarshal([]byte(in.Data.Events), &events); err != nil {
		fmt.Fprintln(os.Stderr, "events:", err)
		os.Exit(1)
	}
	if err := json.Unmarshal([]byte(in.Metadata.SequenceNumberArray), &seq); err != nil {
		fmt.Fprintln(os.Stderr, "SequenceNumberArray:", err)
		os.Exit(1)
	}
	out, _ := json.Marshal(fmt.Sprintf("%d %d %s %s %s", len(events), len(seq), strings.Join(events, "|"), in.Metadata.Guid, in.Metadata.Enqueued))
	fmt.Printf(`{"ReturnValue":%s}`, out)
}
