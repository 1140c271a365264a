// Package outbound sends the HTTP requests of guests, within each function's
// grant and limits.
//
// It implements the host side of abi/SPEC.md §5.7 (Outbound HTTP) without
// knowing about WebAssembly: the ABI layer copies the guest's bytes in and
// out and calls a [Session], one per invocation, created from the function's
// [Client].
//
// # Grant
//
// A [Client] holds the function's [Policy]: an [Allowlist] of
// scheme://host[:port] entries and the per-invocation limits. Every request,
// and every redirect it follows (at most [MaxRedirects]), must match an
// entry; otherwise the call fails with [CodeDenied] and a message naming the
// URL and the setting that would allow it.
//
// # Addresses
//
// The client resolves names itself and checks every address it is about to
// dial, after resolution, on the address actually dialled: loopback,
// unspecified, link-local (including the instance metadata endpoint
// 169.254.169.254), private, shared, unique-local, multicast, broadcast and
// reserved addresses, the Azure platform address 168.63.129.16, and the
// IPv4-mapped, IPv4-compatible, NAT64 and 6to4 IPv6 forms of refused IPv4
// addresses, are refused unless an allowlist entry names that exact address
// (and its port). A name that resolves to any refused address is refused as
// a whole, even when the name itself is allowed, so DNS rebinding cannot
// reach the machine or the platform. The exact-address exemption compares
// address and port, not scheme: the URL itself must still match an entry.
//
// # Limits and memory
//
// A [Session] counts requests ([DefaultMaxRequests]), response body bytes
// across all its responses ([DefaultMaxResponseBytes]) and open responses
// ([MaxOpen]); a request body is at most [MaxRequestBody] bytes and a head
// at most [MaxRequestHead]. Response bodies are never buffered beyond the
// transport's own bounded buffers (HTTP/1 read buffers, HTTP/2 flow-control
// windows of 1 MiB per stream): they stream through [Session.Read] into the
// caller's buffer. Every request runs under the invocation's context, so a
// deadline or cancellation aborts requests and body reads at once, and
// [Session.Close] aborts whatever is still in flight.
//
// # Messages
//
// Messages name URLs with their query replaced by "?…", because queries
// often carry keys (the code= of a function URL) and messages end up in logs.
package outbound
