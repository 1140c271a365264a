#!/bin/sh
# tenfunc-app.sh builds the ten-function app of issue #16 (BENCHMARKS.md,
# "Lazy loading"): nine command-mode functions that are nine distinct Go
# modules, built from this repository's sources (the Go functions of
# examples-wasm/app and internal/worker/testdata/app), and one small C
# command module (examples-wasm/command/c, committed prebuilt), each with an
# HTTP-triggered function.json, and host.json.
#
# Usage: scripts/tenfunc-app.sh OUTDIR
#   then: go run ./cmd/wasmload -c 64 -n 20000 OUTDIR CHello
set -eu
[ $# -eq 1 ] || { echo "usage: $0 OUTDIR" >&2; exit 2; }
dir=$1
root=$(cd "$(dirname "$0")/.." && pwd)
rm -rf "$dir"
mkdir -p "$dir"
printf '{"version":"2.0","extensions":{"http":{"routePrefix":"api"}}}\n' >"$dir/host.json"

fnjson() { # NAME [EXTRA]: an HTTP-triggered function.json
	route=$(echo "$1" | tr 'A-Z' 'a-z')
	printf '{"scriptFile":"main.wasm","bindings":[{"type":"httpTrigger","direction":"in","name":"req","authLevel":"anonymous","methods":["get","post"],"route":"%s"},{"type":"http","direction":"out","name":"res"}]%s}\n' \
		"$route" "${2:-}" >"$dir/$1/function.json"
}

for src in examples-wasm/app/HttpHello examples-wasm/app/Enqueue \
	examples-wasm/app/ProcessJob internal/worker/testdata/app/Echo internal/worker/testdata/app/Env \
	internal/worker/testdata/app/Chatty internal/worker/testdata/app/LogsArray internal/worker/testdata/app/ManyMessages internal/worker/testdata/app/Fail; do
	name=Go$(basename "$src")
	mkdir -p "$dir/$name"
	(cd "$root" && GOOS=wasip1 GOARCH=wasm CGO_ENABLED=0 go build -trimpath -o "$dir/$name/main.wasm" "./$src")
	fnjson "$name"
done
mkdir -p "$dir/CHello"
cp "$root/examples-wasm/command/c/Hello/main.wasm" "$dir/CHello/main.wasm"
fnjson CHello

# Nine distinct Go modules: the worker compiles (and holds) each one.
n=$(sha256sum "$dir"/Go*/main.wasm | cut -d' ' -f1 | sort -u | wc -l)
[ "$n" -eq 9 ] || { echo "tenfunc-app: only $n distinct Go modules" >&2; exit 1; }
ls -l "$dir"/*/main.wasm | awk '{printf "%9d %s\n", $5, $NF}'
