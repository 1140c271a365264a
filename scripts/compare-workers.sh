#!/bin/sh
# compare-workers.sh measures issue #16 item 3's ratio (a function's rate
# at concurrency C over the echo baseline's, the whole app loaded) for one
# or more builds of the worker, in alternating rounds, so that builds are
# compared in one sitting (BENCHMARKS.md, "A fourth machine"). A round
# runs, for each workers folder in turn, the echo baseline (the worker with
# WASMWORKER_BENCH_ECHO=1) and then the function; it prints each build's
# echo and function rates and the ratio, and at the end each build's
# median ratio.
#
# Two ways to drive the function:
#   default  `wasmload`, a gRPC client standing in for the host; it also
#            prints the worker's CPU per invocation. This client costs far
#            less per invocation than an HTTP host, so its ratio is the
#            stricter one.
#   -H       HTTP, as a user meets it: `wasmfunc start` (which loads every
#            function of the app into the worker, as the Functions host
#            does) driven by wrk (Debian package wrk, one thread) for -d
#            seconds; it also prints p50 and p99, and every answer must be
#            2xx (BENCHMARKS.md, "Item 3 as a user meets it").
#
# Usage: scripts/compare-workers.sh [-H] [-n ROUNDS] [-c C] [-i INVOCATIONS] [-d SECONDS] APPDIR FUNCTION WORKERS...
#   WORKERS is a folder holding wasm/wasmworker (make worker WORKER_DIR=W/wasm)
#   e.g.: scripts/tenfunc-app.sh /tmp/tenapp
#         make worker WORKER_DIR=/tmp/new/wasm
#         scripts/compare-workers.sh -n 6 /tmp/tenapp CHello /tmp/old /tmp/new
#         scripts/compare-workers.sh -H -n 6 -d 8 /tmp/tenapp CHello /tmp/new
set -eu
rounds=6 c=64 n=40000 secs=10 http=
while getopts Hn:c:i:d: opt; do
	case $opt in
	H) http=1 ;;
	n) rounds=$OPTARG ;;
	c) c=$OPTARG ;;
	i) n=$OPTARG ;;
	d) secs=$OPTARG ;;
	*) exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ $# -ge 3 ] || { echo "usage: $0 [-H] [-n ROUNDS] [-c C] [-i INVOCATIONS] [-d SECONDS] APPDIR FUNCTION WORKERS..." >&2; exit 2; }
[ -z "$http" ] || command -v wrk >/dev/null || { echo "$0: -H needs wrk (apt-get install wrk)" >&2; exit 2; }
app=$1 fn=$2
shift 2
root=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT
(cd "$root" && go build -o "$tmp/wasmload" ./cmd/wasmload && go build -o "$tmp/wasmfunc" ./cmd/wasmfunc)

# field FILE KEY prints a top-level number of wasmload's JSON report.
field() { sed -n "s/.*\"$2\":\([0-9.]*\).*/\1/p" "$1"; }

port=7179
url=http://127.0.0.1:$port/api/$fn

# viaHTTP WORKERS [echo] prints "RPS p50 P50 p99 P99" of one wrk run
# against a fresh `wasmfunc start`; it exits the script on a failure.
viaHTTP() {
	if [ "${2:-}" = echo ]; then
		WASMWORKER_BENCH_ECHO=1 "$tmp/wasmfunc" start "$app" --workers "$1" --port $port --no-build --no-watch >"$tmp/host.log" 2>&1 &
	else
		"$tmp/wasmfunc" start "$app" --workers "$1" --port $port --no-build --no-watch >"$tmp/host.log" 2>&1 &
	fi
	pid=$!
	i=0
	until curl -s -o /dev/null "$url"; do
		i=$((i + 1))
		[ $i -lt 300 ] || { echo "$0: the host did not answer; its log:" >&2; cat "$tmp/host.log" >&2; exit 1; }
		sleep 0.1
	done
	wrk -t 1 -c "$c" -d 2s "$url" >/dev/null # warm-up
	wrk -t 1 -c "$c" -d "${secs}s" --latency "$url" >"$tmp/wrk.out"
	kill "$pid"
	wait "$pid" 2>/dev/null || true
	pid=
	if grep -q "Non-2xx" "$tmp/wrk.out"; then
		echo "$0: some answers were not 2xx:" >&2
		cat "$tmp/wrk.out" >&2
		exit 1
	fi
	echo "$(sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p' "$tmp/wrk.out")" \
		"p50 $(sed -n 's/^ *50% *\([0-9.]*[mu]*s\).*/\1/p' "$tmp/wrk.out")" \
		"p99 $(sed -n 's/^ *99% *\([0-9.]*[mu]*s\).*/\1/p' "$tmp/wrk.out")"
}

# viaWasmload WORKERS [echo] prints "RPS CPU us" of one wasmload run.
viaWasmload() {
	"$tmp/wasmload" -workers "$1" ${2:+-echo} -c "$c" -n "$n" -json "$app" "$fn" >"$tmp/run.json"
	echo "$(field "$tmp/run.json" perSecond) $(field "$tmp/run.json" workerCpuMicros) us"
}

measure=viaWasmload
[ -z "$http" ] || measure=viaHTTP

r=1
while [ "$r" -le "$rounds" ]; do
	line="round $r"
	for w in "$@"; do
		$measure "$w" echo >"$tmp/echo.res"
		read -r e erest <"$tmp/echo.res"
		$measure "$w" >"$tmp/fn.res"
		read -r f frest <"$tmp/fn.res"
		ratio=$(awk -v f="$f" -v e="$e" 'BEGIN { printf "%.3f", f / e }')
		echo "$ratio" >>"$tmp/ratios.$(echo "$w" | cksum | cut -d' ' -f1)"
		line="$line | $w: echo $(printf %.0f "$e")/s $erest, $fn $(printf %.0f "$f")/s $frest, ratio $ratio"
	done
	echo "$line"
	r=$((r + 1))
done
for w in "$@"; do
	median=$(sort -n "$tmp/ratios.$(echo "$w" | cksum | cut -d' ' -f1)" | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }')
	echo "$w: median ratio $median over $rounds rounds"
done
