#!/bin/sh
# check-reproducible.sh rebuilds the committed example modules
# (<LANG>/functions.wasm for c, rust and assemblyscript) into a temporary
# directory with build.sh and compares them byte for byte with cmp. It fails
# on any difference. A language whose toolchain is not installed is skipped
# with a message, or fails when REQUIRE_ALL=1 (use that in CI after
# scripts/install-toolchains.sh).
#
# Usage: examples-wasm/abi/check-reproducible.sh [LANG...]
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
langs=${*:-c rust assemblyscript}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

have() {
	case $1 in
	c) command -v clang >/dev/null 2>&1 && [ -d /usr/lib/wasm32-wasi ] ;;
	rust) [ -x /usr/bin/rustc ] && [ -d "$(/usr/bin/rustc --print sysroot)/lib/rustlib/wasm32-wasi" ] ;;
	assemblyscript) command -v node >/dev/null 2>&1 && [ -f "$root/abi/sdk/assemblyscript/node_modules/assemblyscript/bin/asc.js" ] ;;
	*) return 1 ;;
	esac
}

status=0
for lang in $langs; do
	committed="$here/$lang/functions.wasm"
	if ! have "$lang"; then
		if [ "${REQUIRE_ALL:-}" = 1 ]; then
			echo "FAIL $lang: toolchain not installed (scripts/install-toolchains.sh)" >&2
			status=1
		else
			echo "SKIP $lang: toolchain not installed (scripts/install-toolchains.sh)"
		fi
		continue
	fi
	if [ ! -f "$committed" ]; then
		echo "FAIL $lang: $committed is missing (run examples-wasm/abi/build.sh $lang)" >&2
		status=1
		continue
	fi
	"$here/build.sh" -o "$tmp" "$lang" >/dev/null
	if cmp "$committed" "$tmp/$lang/functions.wasm"; then
		echo "ok   $lang: functions.wasm is reproducible from source"
	else
		echo "FAIL $lang: functions.wasm differs from a rebuild of its source (run examples-wasm/abi/build.sh $lang and commit the result)" >&2
		status=1
	fi
done
exit $status
