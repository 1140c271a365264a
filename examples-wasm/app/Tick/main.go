//go:build wasip1

// Command Tick runs every five minutes on a timer trigger. It only logs; a
// timer function has no outputs.
package main

import (
	"encoding/json"
	"fmt"
	"os"
)

// request is the custom-handler payload. Unlike strings, the timer info is an
// object, so it arrives as a plain JSON object (no second encoding).
type request struct {
	Data struct {
		Timer timerInfo `json:"timer"` // the trigger's binding name
	} `json:"Data"`
}

type timerInfo struct {
	Schedule struct {
		AdjustForDST bool `json:"AdjustForDST"`
	} `json:"Schedule"`
	// ScheduleStatus is null on a first run. Its times are kept as strings:
	// the host may write them with or without a time zone.
	ScheduleStatus *struct {
		Last        string `json:"Last"`
		Next        string `json:"Next"`
		LastUpdated string `json:"LastUpdated"`
	} `json:"ScheduleStatus"`
	IsPastDue bool `json:"IsPastDue"`
}

func main() {
	var in request
	if err := json.NewDecoder(os.Stdin).Decode(&in); err != nil {
		fmt.Fprintln(os.Stderr, "Tick: bad invocation payload:", err)
		os.Exit(1)
	}
	t := in.Data.Timer
	if t.IsPastDue {
		fmt.Fprintln(os.Stderr, "Tick: running late (the timer is past due)")
	}
	if s := t.ScheduleStatus; s != nil {
		fmt.Fprintf(os.Stderr, "Tick: tick; last run %s, next run %s\n", s.Last, s.Next)
	} else {
		fmt.Fprintln(os.Stderr, "Tick: tick; first run")
	}
	// Always answer with a JSON object, even with nothing to say.
	fmt.Println("{}")
}
