//go:build wasip1

// Command Status is an HTTP test function that answers with the status code
// given in the query, ?code=…: a JSON number when it is one ("404",
// "99999"), else a JSON string ("abc"), so that tests can make a function
// return any status. ?sleep=<milliseconds> makes it wait first.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"time"
)

func main() {
	var in struct {
		Data struct {
			Req struct {
				Query map[string]string `json:"Query"`
			} `json:"req"`
		} `json:"Data"`
	}
	if err := json.NewDecoder(os.Stdin).Decode(&in); err != nil {
		fmt.Fprintln(os.Stderr, "Status: bad invocation payload:", err)
		os.Exit(1)
	}
	q := in.Data.Req.Query
	if ms, err := strconv.Atoi(q["sleep"]); err == nil && ms > 0 {
		time.Sleep(time.Duration(ms) * time.Millisecond)
	}
	code, _ := json.Marshal(q["code"])
	if _, err := strconv.ParseFloat(q["code"], 64); err == nil && json.Valid([]byte(q["code"])) {
		code = []byte(q["code"])
	}
	fmt.Printf(`{"Outputs":{"res":{"statusCode":%s,"body":"x"}}}`+"\n", code)
}
