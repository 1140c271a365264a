#!/bin/sh
# build.sh builds app.wasm from src/lib.rs with Cargo (wasmfunc.json runs it
# on `wasmfunc start` and when a source changes).
#
# Toolchain: a rustc with the std of a WASI target, either rustup's
# (`rustup target add wasm32-wasip1`) or Debian's rustc 1.63
# (/usr/bin/rustc with libstd-rust-dev-wasm32, target wasm32-wasi). The
# first one found is used; set RUSTC, CARGO and TARGET to choose. Also:
# CARGO_FLAGS (e.g. --offline), CARGO_TARGET_DIR, OUT (default app.wasm).
set -eu
cd "$(dirname "$0")"
has_std() { # rustc target
	d=$("$1" --print target-libdir --target "$2" 2>/dev/null) && [ -d "$d" ]
}
if [ -z "${TARGET:-}" ]; then
	if command -v rustc >/dev/null 2>&1 && has_std rustc wasm32-wasip1; then
		TARGET=wasm32-wasip1
	elif [ -x /usr/bin/rustc ] && has_std /usr/bin/rustc wasm32-wasi; then
		TARGET=wasm32-wasi RUSTC=${RUSTC:-/usr/bin/rustc} CARGO=${CARGO:-/usr/bin/cargo}
		export RUSTC
	else
		echo "build.sh: no rustc with a WASI std: run 'rustup target add wasm32-wasip1' (or install Debian's libstd-rust-dev-wasm32)" >&2
		exit 1
	fi
fi
# No absolute path of this machine in the module (panic locations): the
# repository root becomes /wasmworker.
root=$(cd ../../.. && pwd)
RUSTFLAGS="--remap-path-prefix=$root=/wasmworker ${RUSTFLAGS:-}" \
	"${CARGO:-cargo}" build --release --target "$TARGET" ${CARGO_FLAGS:-}
out=${OUT:-app.wasm}
cp "${CARGO_TARGET_DIR:-target}/$TARGET/release/app.wasm" "$out"
echo "built $out ($(wc -c <"$out") bytes)"
