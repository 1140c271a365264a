#!/bin/sh
# build.sh builds callout.wasm, the C function of the outbound HTTP benchmark
# (BENCHMARKS.md, "Outbound HTTP"), reproducibly; -check rebuilds it into a
# temporary file and fails unless it equals the committed one (CI runs that).
# Toolchain: scripts/install-toolchains.sh.
#
# Usage: examples-wasm/bench/build.sh [-check]
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
committed=examples-wasm/bench/callout.wasm
out=$committed
if [ "${1:-}" = "-check" ]; then
	out=$(mktemp)
	trap 'rm -f "$out"' EXIT
fi
clang --target=wasm32-wasi -O2 -s -mexec-model=reactor \
	-Wl,--stack-first -Wl,-z,stack-size=1048576 \
	-ffile-prefix-map="$root=." -I abi/sdk/c \
	-o "$out" examples-wasm/bench/callout.c abi/sdk/c/wasmworker.c
if [ "$out" != "$committed" ]; then
	if ! cmp -s "$out" "$committed"; then
		echo "FAIL $committed does not match its source: run examples-wasm/bench/build.sh" >&2
		exit 1
	fi
	echo "ok $committed rebuilds byte for byte"
	exit 0
fi
echo "built $committed ($(wc -c <"$committed") bytes)"
