#!/bin/sh
# compare-workers.sh measures issue #16 item 3's ratio (a function's rate
# at concurrency C over the echo baseline's, the whole app loaded) for one
# or more builds of the worker, in alternating rounds, so that builds are
# compared in one sitting (BENCHMARKS.md, "A fourth machine"). A round
# runs, for each workers folder in turn, `wasmload -echo` and then the
# function; it prints each build's echo and function rates, the worker's
# CPU per invocation and the ratio, and at the end each build's median
# ratio.
#
# scripts/compare-http.sh measures the same ratio through HTTP and the local
# host, as a user meets it; this client costs far less per invocation than
# an HTTP host, so its ratio is the stricter one.
#
# Usage: scripts/compare-workers.sh [-n ROUNDS] [-c C] [-i INVOCATIONS] APPDIR FUNCTION WORKERS...
#   WORKERS is a folder holding wasm/wasmworker (make worker WORKER_DIR=W/wasm)
#   e.g.: scripts/tenfunc-app.sh /tmp/tenapp
#         make worker WORKER_DIR=/tmp/new/wasm
#         scripts/compare-workers.sh -n 6 /tmp/tenapp CHello /tmp/old /tmp/new
set -eu
rounds=6 c=64 n=40000
while getopts n:c:i: opt; do
	case $opt in
	n) rounds=$OPTARG ;;
	c) c=$OPTARG ;;
	i) n=$OPTARG ;;
	*) exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ $# -ge 3 ] || { echo "usage: $0 [-n ROUNDS] [-c C] [-i INVOCATIONS] APPDIR FUNCTION WORKERS..." >&2; exit 2; }
app=$1 fn=$2
shift 2
root=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$root" && go build -o "$tmp/wasmload" ./cmd/wasmload)

# field FILE KEY prints a top-level number of wasmload's JSON report.
field() { sed -n "s/.*\"$2\":\([0-9.]*\).*/\1/p" "$1"; }

r=1
while [ "$r" -le "$rounds" ]; do
	line="round $r"
	for w in "$@"; do
		"$tmp/wasmload" -workers "$w" -echo -c "$c" -n "$n" -json "$app" "$fn" >"$tmp/echo.json"
		"$tmp/wasmload" -workers "$w" -c "$c" -n "$n" -json "$app" "$fn" >"$tmp/fn.json"
		e=$(field "$tmp/echo.json" perSecond) f=$(field "$tmp/fn.json" perSecond)
		ratio=$(awk -v f="$f" -v e="$e" 'BEGIN { printf "%.3f", f / e }')
		echo "$ratio" >>"$tmp/ratios.$(echo "$w" | cksum | cut -d' ' -f1)"
		line="$line | $w: echo $(printf %.0f "$e")/s $(field "$tmp/echo.json" workerCpuMicros) us, $fn $(printf %.0f "$f")/s $(field "$tmp/fn.json" workerCpuMicros) us, ratio $ratio"
	done
	echo "$line"
	r=$((r + 1))
done
for w in "$@"; do
	median=$(sort -n "$tmp/ratios.$(echo "$w" | cksum | cut -d' ' -f1)" | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }')
	echo "$w: median ratio $median over $rounds rounds"
done
