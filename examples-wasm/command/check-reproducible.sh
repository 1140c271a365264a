#!/bin/sh
# check-reproducible.sh rebuilds the committed command-mode modules
# (<LANG>/Hello/main.wasm for c, rust and assemblyscript) with build.sh into a
# temporary directory and compares each with the committed file using cmp.
# Any difference fails. A language whose toolchain is missing is skipped with
# a message, or fails when REQUIRE_ALL=1 (for CI, after
# scripts/install-toolchains.sh).
#
# Usage: examples-wasm/command/check-reproducible.sh [LANG...]
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
langs=${*:-c rust assemblyscript}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

toolchain_ok() {
	case $1 in
	c) command -v clang >/dev/null 2>&1 && [ -d /usr/lib/wasm32-wasi ] ;;
	rust) [ -x /usr/bin/rustc ] && [ -d "$(/usr/bin/rustc --print sysroot)/lib/rustlib/wasm32-wasi" ] ;;
	assemblyscript) command -v node >/dev/null 2>&1 &&
		[ -f "$root/abi/sdk/assemblyscript/node_modules/assemblyscript/bin/asc.js" ] &&
		[ -f "$root/abi/sdk/assemblyscript/node_modules/@assemblyscript/wasi-shim/asconfig.json" ] ;;
	*) echo "check-reproducible.sh: unknown language $1 (want c, rust or assemblyscript)" >&2; exit 2 ;;
	esac
}

status=0
for lang in $langs; do
	committed="$here/$lang/Hello/main.wasm"
	if ! toolchain_ok "$lang"; then
		if [ "${REQUIRE_ALL:-}" = 1 ]; then
			echo "FAIL $lang: toolchain not installed (scripts/install-toolchains.sh)" >&2
			status=1
		else
			echo "SKIP $lang: toolchain not installed (scripts/install-toolchains.sh)"
		fi
		continue
	fi
	if [ ! -f "$committed" ]; then
		echo "FAIL $lang: $committed is missing (run examples-wasm/command/build.sh $lang)" >&2
		status=1
		continue
	fi
	if ! "$here/build.sh" -o "$tmp" "$lang" >/dev/null; then
		echo "FAIL $lang: build.sh $lang failed" >&2
		status=1
		continue
	fi
	if cmp "$committed" "$tmp/$lang/Hello/main.wasm"; then
		echo "ok   $lang: Hello/main.wasm is reproducible from source"
	else
		echo "FAIL $lang: Hello/main.wasm differs from a rebuild of its source (run examples-wasm/command/build.sh $lang and commit the result)" >&2
		status=1
	fi
done
exit $status
