#!/bin/sh
# cold-app.sh makes the 10-function app the cold-start benchmark loads
# (BENCHMARKS.md, "Cold start") from the ABI example of one language.
#
# Usage: scripts/cold-app.sh LANG DIR [shared|copies]
#   shared (default): the 10 functions name one ../functions.wasm
#   copies:           each function folder holds its own copy, f.wasm
# The Go example's module is not committed: build it first with
#   examples-wasm/abi/build.sh go
set -eu
lang=$1 dir=$2 layout=${3:-shared}
root=$(cd "$(dirname "$0")/.." && pwd)
src="$root/examples-wasm/abi/$lang/functions.wasm"
[ -f "$src" ] || { echo "cold-app: $src is missing" >&2; exit 1; }
rm -rf "$dir"
mkdir -p "$dir"
echo '{"version":"2.0"}' >"$dir/host.json"
cp "$src" "$dir/functions.wasm"
for i in 0 1 2 3 4 5 6 7 8 9; do
	mkdir -p "$dir/F$i"
	script=../functions.wasm
	if [ "$layout" = copies ]; then
		cp "$src" "$dir/F$i/f.wasm"
		script=f.wasm
	fi
	printf '{"scriptFile":"%s","entryPoint":"hello","bindings":[{"type":"httpTrigger","direction":"in","name":"req","authLevel":"anonymous","route":"f%d/{name?}"},{"type":"http","direction":"out","name":"res"}]}\n' "$script" "$i" >"$dir/F$i/function.json"
done
