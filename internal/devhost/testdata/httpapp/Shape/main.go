//go:build wasip1

// Command Shape answers with a body of the kind its route names, so that
// tests can see how the host writes each: "json" an object with a JSON
// content type, "text" a string without a content type.
package main

import (
	"encoding/json"
	"fmt"
	"os"
)

func main() {
	var in struct {
		Data struct {
			Req struct {
				Params map[string]string `json:"Params"`
			} `json:"req"`
		} `json:"Data"`
	}
	if err := json.NewDecoder(os.Stdin).Decode(&in); err != nil {
		fmt.Fprintln(os.Stderr, "Shape: bad invocation payload:", err)
		os.Exit(1)
	}
	res := map[string]any{"statusCode": 200}
	switch kind := in.Data.Req.Params["kind"]; kind {
	case "json":
		res["headers"] = map[string]string{"Content-Type": "application/json"}
		res["body"] = map[string]any{"b": []any{1, 2.5}, "s": "<&>é"}
	case "text":
		res["body"] = "héllo"
	default:
		res["statusCode"] = 404
		res["body"] = "no shape " + kind
	}
	if err := json.NewEncoder(os.Stdout).Encode(map[string]any{"Outputs": map[string]any{"res": res}}); err != nil {
		fmt.Fprintln(os.Stderr, "Shape: write response:", err)
		os.Exit(1)
	}
}
