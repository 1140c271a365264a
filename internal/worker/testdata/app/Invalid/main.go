//go:build wasip1

// Invalid answers with bytes that are not valid UTF-8 where the protocol
// needs text: in a JSON object body, a header value and a log line; and it
// returns a value although the function declares no $return binding.
package main

import "os"

func main() {
	os.Stderr.WriteString("log \xff\xfe end\n")
	os.Stdout.WriteString("{\"Outputs\":{\"res\":{\"statusCode\":200,\"headers\":{\"x-bad\":\"a\xffb\"},\"body\":{\"a\":\"\xff\"}}}," +
		"\"Logs\":[\"logs \xc3\"],\"ReturnValue\":\"dropped\"}")
}
