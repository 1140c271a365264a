#!/bin/sh
# install-toolchains.sh installs the guest toolchains that build the ABI v1
# SDKs and examples (abi/SPEC.md): Debian clang + wasi-libc for C, Debian
# rustc (and cargo) with the wasm32-wasi std for Rust, wabt, and the pinned
# AssemblyScript npm packages of abi/sdk/assemblyscript. Go needs nothing
# beyond the Go toolchain. Running it again is harmless.
#
# Usage: scripts/install-toolchains.sh            (as root, or with sudo on PATH)
#        SKIP_APT=1 scripts/install-toolchains.sh (npm part only)
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
# librust-serde*-dev: serde, serde_derive and serde_json as a Cargo directory
# source (/usr/share/cargo/registry) for the Rust SDK's "serde" feature
# without crates.io (examples-wasm/incode_rust_test.go).
pkgs="clang lld wasi-libc libclang-rt-14-dev-wasm32 rustc cargo libstd-rust-dev-wasm32 wabt librust-serde-dev librust-serde-derive-dev librust-serde-json-dev"

sudo=""
if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi

# apt retries while another apt/dpkg holds the lock (other jobs on shared
# machines install packages too).
apt_retry() {
	i=0
	until $sudo env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=120 "$@"; do
		i=$((i + 1))
		if [ "$i" -ge 5 ]; then
			echo "install-toolchains: apt-get $* failed 5 times" >&2
			return 1
		fi
		echo "install-toolchains: apt-get busy or failed; retrying in 10 s ($i/5)" >&2
		sleep 10
	done
}

if [ "${SKIP_APT:-}" = "" ]; then
	missing=""
	for p in $pkgs; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
	done
	if [ -n "$missing" ]; then
		echo "install-toolchains: installing$missing"
		apt_retry update
		# shellcheck disable=SC2086
		apt_retry install -y --no-install-recommends $missing
	else
		echo "install-toolchains: Debian packages already installed"
	fi
fi

# AssemblyScript: exact versions from package-lock.json (npm ci is
# reproducible and offline-friendly once the npm cache is warm).
as_dir="$root/abi/sdk/assemblyscript"
if [ ! -f "$as_dir/package.json" ]; then
	echo "install-toolchains: no AssemblyScript SDK in this tree; skipping npm"
else
	if ! command -v npm >/dev/null 2>&1 && [ "${SKIP_APT:-}" = "" ]; then
		echo "install-toolchains: installing Debian nodejs and npm for AssemblyScript"
		apt_retry update
		apt_retry install -y --no-install-recommends nodejs npm
	fi
fi
if [ ! -f "$as_dir/package.json" ]; then
	:
elif command -v npm >/dev/null 2>&1; then
	cd "$as_dir"
	if [ ! -x node_modules/.bin/asc ] || ! npm ls --depth=0 >/dev/null 2>&1; then
		echo "install-toolchains: npm ci in abi/sdk/assemblyscript"
		npm ci --no-audit --no-fund
	else
		echo "install-toolchains: AssemblyScript packages already installed"
	fi
else
	echo "install-toolchains: npm not found; install Node.js 18+ for the AssemblyScript SDK" >&2
	exit 1
fi

# Rust: Debian's rustc is the one with the wasm32-wasi std (rustup's shadows
# it on PATH; see docs/guest-toolchains.md P1).
/usr/bin/rustc --version
clang --version | head -n 1
echo "install-toolchains: done"
