package worker

import (
	"math"
	"strings"
	"testing"
	"time"
)

// hostArgv is exactly what host v4 passes (docs/host-contract.md §1.5).
func hostArgv(port string) []string {
	return strings.Fields("--host 127.0.0.1 --port " + port +
		" --workerId 8d3c1f2a-0b6e-4d55-9c1e-0a1b2c3d4e5f --requestId 1f2e3d4c-5b6a-4978-8877-665544332211 --grpcMaxMessageLength 2147483647" +
		" --functions-uri http://127.0.0.1:" + port + "/ --functions-worker-id 8d3c1f2a-0b6e-4d55-9c1e-0a1b2c3d4e5f" +
		" --functions-request-id 1f2e3d4c-5b6a-4978-8877-665544332211 --functions-grpc-max-message-length 2147483647")
}

func TestParseArgs(t *testing.T) {
	const id, rid = "8d3c1f2a-0b6e-4d55-9c1e-0a1b2c3d4e5f", "1f2e3d4c-5b6a-4978-8877-665544332211"
	tests := []struct {
		name string
		argv []string
		want Args
	}{
		{"host command line", hostArgv("50123"), Args{"127.0.0.1:50123", id, rid, math.MaxInt32}},
		{"configured arguments and a quoted worker path come first",
			append([]string{"--verbose", `"/opt/worker/main.js"`}, hostArgv("7")...), Args{"127.0.0.1:7", id, rid, math.MaxInt32}},
		{"functions family only, = form",
			[]string{"--functions-uri=http://127.0.0.1:9/", "--functions-worker-id=w", "--functions-request-id=r", "--functions-grpc-max-message-length=1048576"},
			Args{"127.0.0.1:9", "w", "r", 1 << 20}},
		{"legacy family only", []string{"--host", "127.0.0.1", "--port", "81", "--workerId", "w", "--requestId", "r"},
			Args{"127.0.0.1:81", "w", "r", math.MaxInt32}},
		{"functions family wins over legacy",
			[]string{"--host", "127.0.0.2", "--port", "1", "--workerId", "old", "--functions-uri", "http://127.0.0.1:2/", "--functions-worker-id", "new"},
			Args{"127.0.0.1:2", "new", "", math.MaxInt32}},
		{"unknown flags ignored, with and without values",
			[]string{"--log-level", "debug", "--flag", "--functions-uri", "http://127.0.0.1:3/", "--workerId", "w"},
			Args{"127.0.0.1:3", "w", "", math.MaxInt32}},
		{"flag names are case-insensitive", []string{"--HOST", "127.0.0.1", "--Port", "4", "--WORKERID", "w"},
			Args{"127.0.0.1:4", "w", "", math.MaxInt32}},
		{"IPv6 host", []string{"--host", "::1", "--port", "5", "--workerId", "w"}, Args{"[::1]:5", "w", "", math.MaxInt32}},
		{"oversized max length is clamped", []string{"--functions-uri", "http://127.0.0.1:6/", "--workerId", "w", "--grpcMaxMessageLength", "9999999999"},
			Args{"127.0.0.1:6", "w", "", math.MaxInt32}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseArgs(tt.argv)
			if err != nil {
				t.Fatalf("ParseArgs(%q): %v", tt.argv, err)
			}
			if got != tt.want {
				t.Errorf("ParseArgs(%q)\n got %+v\nwant %+v", tt.argv, got, tt.want)
			}
		})
	}
}

func TestParseArgsErrors(t *testing.T) {
	tests := []struct {
		argv    []string
		wantErr string
	}{
		{nil, "no host address"},
		{[]string{"--host", "127.0.0.1", "--workerId", "w"}, "no host address"},
		{[]string{"--functions-uri", "127.0.0.1:5", "--workerId", "w"}, "not an absolute URI"},
		{[]string{"--functions-uri", "https://127.0.0.1:5/", "--workerId", "w"}, "only http"},
		{[]string{"--host", "127.0.0.1", "--port", "http", "--workerId", "w"}, "not a TCP port"},
		{[]string{"--functions-uri", "http://127.0.0.1:5/"}, "no worker id"},
		{[]string{"--functions-uri", "http://127.0.0.1:5/", "--workerId", "w", "--grpcMaxMessageLength", "-1"}, "not a positive integer"},
	}
	for _, tt := range tests {
		_, err := ParseArgs(tt.argv)
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("ParseArgs(%q) = %v, want an error containing %q", tt.argv, err, tt.wantErr)
		}
	}
}

func TestInvocationTimeout(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"5m", "4m30s"}, {"10s", "9s"}, {"2s", "1.8s"}, {"0s", "29m30s"}, {"30m", "29m30s"}, {"-1s", "0s"},
	} {
		in, _ := parseDur(tt.in)
		want, _ := parseDur(tt.want)
		if got := invocationTimeout(in); got != want {
			t.Errorf("invocationTimeout(%s) = %v, want %v", tt.in, got, want)
		}
	}
}

func parseDur(s string) (d time.Duration, err error) { return time.ParseDuration(s) }
