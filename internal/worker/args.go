package worker

import (
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"
)

// Args is what the host tells a worker on its command line (docs/host-contract.md §1.5).
type Args struct {
	// Addr is the host's gRPC endpoint as host:port.
	Addr string
	// WorkerID identifies this worker on the stream (StartStream.worker_id).
	WorkerID string
	// RequestID is echoed on StartStream; the host does not check it.
	RequestID string
	// MaxMessageBytes bounds gRPC messages in both directions.
	MaxMessageBytes int
}

// ParseArgs reads the host's command line. It accepts both the legacy
// (--host, --port, --workerId, --requestId, --grpcMaxMessageLength) and the
// --functions-* flag families, in "--x v" and "--x=v" forms, prefers the
// --functions-* values, and ignores flags it does not know (the host may
// prepend configured arguments). A missing max length means unlimited.
func ParseArgs(argv []string) (Args, error) {
	vals := map[string]string{}
	for i := 0; i < len(argv); i++ {
		a := argv[i]
		if !strings.HasPrefix(a, "-") {
			continue // a positional argument, such as a quoted worker path
		}
		name := strings.TrimLeft(a, "-")
		if k, v, ok := strings.Cut(name, "="); ok {
			vals[strings.ToLower(k)] = v
			continue
		}
		if i+1 < len(argv) && !strings.HasPrefix(argv[i+1], "--") {
			vals[strings.ToLower(name)] = argv[i+1]
			i++
			continue
		}
		vals[strings.ToLower(name)] = ""
	}
	pick := func(keys ...string) string {
		for _, k := range keys {
			if v := vals[strings.ToLower(k)]; v != "" {
				return v
			}
		}
		return ""
	}

	var a Args
	if uri := pick("functions-uri"); uri != "" {
		u, err := url.Parse(uri)
		if err != nil || u.Host == "" {
			return a, fmt.Errorf("--functions-uri %q is not an absolute URI like http://127.0.0.1:5000/", uri)
		}
		if u.Scheme != "http" {
			return a, fmt.Errorf("--functions-uri %q: only http (HTTP/2 cleartext) is supported", uri)
		}
		a.Addr = u.Host
	} else if host, port := pick("host"), pick("port"); host != "" && port != "" {
		if _, err := strconv.ParseUint(port, 10, 16); err != nil {
			return a, fmt.Errorf("--port %q is not a TCP port", port)
		}
		a.Addr = host + ":" + port
		if strings.Contains(host, ":") && !strings.HasPrefix(host, "[") {
			a.Addr = "[" + host + "]:" + port
		}
	} else {
		return a, fmt.Errorf("no host address: pass --functions-uri http://127.0.0.1:PORT/ or --host 127.0.0.1 --port PORT")
	}
	a.WorkerID = pick("functions-worker-id", "workerId")
	if a.WorkerID == "" {
		return a, fmt.Errorf("no worker id: pass --functions-worker-id ID or --workerId ID")
	}
	a.RequestID = pick("functions-request-id", "requestId")
	a.MaxMessageBytes = math.MaxInt32
	if s := pick("functions-grpc-max-message-length", "grpcMaxMessageLength"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n <= 0 {
			return a, fmt.Errorf("max message length %q is not a positive integer", s)
		}
		a.MaxMessageBytes = int(min(n, math.MaxInt32))
	}
	return a, nil
}
