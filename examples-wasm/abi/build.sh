#!/bin/sh
# build.sh builds the ABI v1 example apps: one functions.wasm per language,
# serving both HttpHello and ProcessJob (their function.json files name it
# with scriptFile and pick the export with entryPoint).
#
# Usage: examples-wasm/abi/build.sh [-o OUTDIR] [LANG...]
#   LANG: c rust assemblyscript go (default: all four)
#   OUTDIR: where <LANG>/functions.wasm go (default: in place, next to the
#   sources). The C, Rust and AssemblyScript builds are committed and
#   byte-for-byte reproducible (check-reproducible.sh); the Go build is not
#   committed (3 MB), tests build it.
#
# Toolchains: scripts/install-toolchains.sh (Debian clang + wasi-libc, Debian
# rustc with the wasm32-wasi std, npm ci in abi/sdk/assemblyscript, Go).
set -eu

root=$(cd "$(dirname "$0")/../.." && pwd)
out="$root/examples-wasm/abi"
if [ "${1:-}" = "-o" ]; then
	mkdir -p "$2"
	out=$(cd "$2" && pwd)
	shift 2
fi
langs=${*:-c rust assemblyscript go}

# Sources are named relative to the repository root and the root is mapped
# to "." so that no absolute path ends up in a module.
cd "$root"
for lang in $langs; do
	mkdir -p "$out/$lang"
	dst="$out/$lang/functions.wasm"
	case $lang in
	c)
		clang --target=wasm32-wasi -O2 -s -mexec-model=reactor \
			-Wl,--stack-first -Wl,-z,stack-size=1048576 \
			-ffile-prefix-map="$root=." -I abi/sdk/c \
			-o "$dst" examples-wasm/abi/c/functions.c abi/sdk/c/wasmworker.c
		;;
	rust)
		# Debian's rustc by path: rustup's, earlier on PATH, lacks wasm32-wasi.
		/usr/bin/rustc --target wasm32-wasi --edition 2021 --crate-type cdylib \
			-C opt-level=3 -C strip=symbols --remap-path-prefix="$root=." \
			-o "$dst" examples-wasm/abi/rust/functions.rs
		;;
	assemblyscript)
		(cd abi/sdk/assemblyscript &&
			node node_modules/assemblyscript/bin/asc.js \
				../../../examples-wasm/abi/assemblyscript/functions.ts \
				--config asconfig.json -o "$dst")
		;;
	go)
		GOOS=wasip1 GOARCH=wasm CGO_ENABLED=0 go build -trimpath -buildvcs=false \
			-buildmode=c-shared -o "$dst" ./examples-wasm/abi/go
		;;
	*)
		echo "build.sh: unknown language $lang (want c, rust, assemblyscript or go)" >&2
		exit 2
		;;
	esac
	echo "built $dst ($(wc -c <"$dst") bytes)"
done
