#!/bin/sh
# build.sh builds the command-mode Hello functions (abi/COMMAND.md) into
# <LANG>/Hello/main.wasm, the module each function.json names.
#
# Usage: examples-wasm/command/build.sh [-o OUTDIR] [LANG...]
#   LANG: c rust assemblyscript (default: all three). Go is built by the
#   tests, or with: go run ./cmd/wasmbuild examples-wasm/command/go
#   OUTDIR: write OUTDIR/<LANG>/Hello/main.wasm instead of building in place.
#
# The outputs are committed and must be byte-for-byte reproducible from any
# checkout directory (check-reproducible.sh): sources are named relative to
# the repository root, which is remapped to ".", and debug info is stripped.
# Toolchains: scripts/install-toolchains.sh (Debian clang + wasi-libc, Debian
# rustc with the wasm32-wasi std, npm ci in abi/sdk/assemblyscript, whose
# pinned AssemblyScript compiler and WASI shim this build uses).
set -eu

root=$(cd "$(dirname "$0")/../.." && pwd)
out="$root/examples-wasm/command"
if [ "${1:-}" = "-o" ]; then
	mkdir -p "$2"
	out=$(cd "$2" && pwd)
	shift 2
fi
langs=${*:-c rust assemblyscript}

cd "$root"
for lang in $langs; do
	src=examples-wasm/command/$lang/Hello
	mkdir -p "$out/$lang/Hello"
	dst="$out/$lang/Hello/main.wasm"
	case $lang in
	c)
		# --stack-first: a stack overflow traps instead of overwriting data.
		clang --target=wasm32-wasi -O2 -s -Wl,--stack-first \
			-ffile-prefix-map="$root=." \
			-o "$dst" "$src/main.c"
		;;
	rust)
		# Debian's rustc by path: rustup's, earlier on PATH, lacks wasm32-wasi.
		/usr/bin/rustc --target wasm32-wasi --edition 2021 \
			-C opt-level=3 -C strip=symbols --remap-path-prefix="$root=." \
			-o "$dst" "$src/main.rs"
		;;
	assemblyscript)
		node abi/sdk/assemblyscript/node_modules/assemblyscript/bin/asc.js \
			"$src/main.ts" --config "$src/asconfig.json" -o "$dst"
		;;
	go)
		echo "build.sh: Go is built with: go run ./cmd/wasmbuild examples-wasm/command/go" >&2
		exit 2
		;;
	*)
		echo "build.sh: unknown language $lang (want c, rust or assemblyscript)" >&2
		exit 2
		;;
	esac
	echo "built $dst ($(wc -c <"$dst") bytes)"
done
