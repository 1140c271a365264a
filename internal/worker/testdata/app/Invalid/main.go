//go:build wasip1

// Invalid answers with what the host cannot take as it is. By the query
// parameter "case": "utf8" puts bytes that are not valid UTF-8 where the
// protocol needs text (a JSON object body, a log line) and returns a value
// although the function declares no $return binding; "header" sets a
// response header with CR LF in its value, which the host's web server
// refuses.
package main

import (
	"encoding/json"
	"os"
)

func main() {
	var in struct {
		Data struct {
			Req struct{ Query map[string]string } `json:"req"`
		}
	}
	_ = json.NewDecoder(os.Stdin).Decode(&in)
	switch in.Data.Req.Query["case"] {
	case "header":
		os.Stdout.WriteString(`{"Outputs":{"res":{"statusCode":200,"headers":{"x-split":"a\r\nSet-Cookie: s=1"},"body":"x"}}}`)
	default:
		os.Stderr.WriteString("log \xff\xfe end\n")
		os.Stdout.WriteString("{\"Outputs\":{\"res\":{\"statusCode\":200,\"body\":{\"a\":\"\xff\"}}}," +
			"\"Logs\":[\"logs \xc3\"],\"ReturnValue\":\"dropped\"}")
	}
}
