#!/bin/sh
# compare-http.sh measures issue #16 item 3's ratio as a user meets it:
# HTTP requests at concurrency C through the local host (`wasmfunc start`,
# which loads every function of the app into the worker, as the Functions
# host does) to one HTTP function, against the same with the worker
# answering without running wasm (WASMWORKER_BENCH_ECHO=1). A round runs,
# for each workers folder in turn, echo and then the function, each on a
# fresh `wasmfunc start`, and prints requests per second, p50 and p99 and
# the ratio; at the end, each build's median ratio. The load comes from
# wrk (Debian package wrk), one thread.
#
# scripts/compare-workers.sh measures the same ratio with `wasmload`, a
# gRPC client in place of the host: that client costs far less per
# invocation than an HTTP host, so its ratio is the stricter one.
#
# Usage: scripts/compare-http.sh [-n ROUNDS] [-c C] [-d SECONDS] APPDIR FUNCTION WORKERS...
#   WORKERS is a folder holding wasm/wasmworker (make worker WORKER_DIR=W/wasm)
#   e.g.: scripts/tenfunc-app.sh /tmp/tenapp
#         make worker WORKER_DIR=/tmp/new/wasm
#         scripts/compare-http.sh -n 6 /tmp/tenapp CHello /tmp/new
set -eu
rounds=6 c=64 secs=10
while getopts n:c:d: opt; do
	case $opt in
	n) rounds=$OPTARG ;;
	c) c=$OPTARG ;;
	d) secs=$OPTARG ;;
	*) exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ $# -ge 3 ] || { echo "usage: $0 [-n ROUNDS] [-c C] [-d SECONDS] APPDIR FUNCTION WORKERS..." >&2; exit 2; }
command -v wrk >/dev/null || { echo "$0: needs wrk (apt-get install wrk)" >&2; exit 2; }
app=$1 fn=$2
shift 2
root=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT
(cd "$root" && go build -o "$tmp/wasmfunc" ./cmd/wasmfunc)
port=7179
url=http://127.0.0.1:$port/api/$fn

# run WORKERS MODE prints "RPS P50 P99" of one measurement (MODE echo or fn).
# It exits the script on a failure (it runs in the script's shell).
run() {
	if [ "$2" = echo ]; then
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
	rps=$(sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p' "$tmp/wrk.out")
	p50=$(sed -n 's/^ *50% *\([0-9.]*[mu]*s\).*/\1/p' "$tmp/wrk.out")
	p99=$(sed -n 's/^ *99% *\([0-9.]*[mu]*s\).*/\1/p' "$tmp/wrk.out")
	echo "$rps $p50 $p99"
}

r=1
while [ "$r" -le "$rounds" ]; do
	line="round $r"
	for w in "$@"; do
		run "$w" echo >"$tmp/echo.res"
		read -r e ep50 ep99 <"$tmp/echo.res"
		run "$w" fn >"$tmp/fn.res"
		read -r f fp50 fp99 <"$tmp/fn.res"
		ratio=$(awk -v f="$f" -v e="$e" 'BEGIN { printf "%.3f", f / e }')
		echo "$ratio" >>"$tmp/ratios.$(echo "$w" | cksum | cut -d' ' -f1)"
		line="$line | $w: echo $(printf %.0f "$e")/s p50 $ep50 p99 $ep99, $fn $(printf %.0f "$f")/s p50 $fp50 p99 $fp99, ratio $ratio"
	done
	echo "$line"
	r=$((r + 1))
done
for w in "$@"; do
	median=$(sort -n "$tmp/ratios.$(echo "$w" | cksum | cut -d' ' -f1)" | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }')
	echo "$w: median ratio $median over $rounds rounds"
done
