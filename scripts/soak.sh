#!/bin/sh
# soak.sh runs the worker under load with hostile guests mixed in (issue #4
# item 7): the C ABI HttpHello at concurrency 64 plus, for 5 % of the
# invocations, guests that trap, exit non-zero, print garbage or spin until
# a 50 ms deadline. wasmload fails if any healthy invocation fails, and
# reports the worker's RSS after warm-up and at the end.
#
# Usage: scripts/soak.sh [N]   (N invocations, default 200000)
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
n=${1:-200000}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$root"

make -s worker WORKER_DIR="$tmp/workers/wasm"
go run ./cmd/wasmbuild internal/worker/testdata/app "$tmp/app" >/dev/null
cp examples-wasm/abi/c/functions.wasm "$tmp/app/functions.wasm"
cp -r examples-wasm/abi/c/HttpHello "$tmp/app/HttpHello"
# Spin gets a short timeout of its own, so the soak is not all waiting.
cat >"$tmp/app/Spin/function.json" <<'JSON'
{
  "scriptFile": "main.wasm",
  "bindings": [{ "type": "queueTrigger", "direction": "in", "name": "msg", "queueName": "spin" }],
  "wasmworker": { "timeout": "00:00:00.050" }
}
JSON
go build -o "$tmp/wasmload" ./cmd/wasmload
"$tmp/wasmload" -workers "$tmp/workers" -c 64 -n "$n" -warmup 2000 \
	-mix Trap=2 -mix Fail=1 -mix Garbage=1 -mix Spin=1 \
	"$tmp/app" HttpHello
