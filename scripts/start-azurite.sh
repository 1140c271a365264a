#!/bin/sh
# start-azurite.sh installs Azurite, the Azure Storage emulator (npm package
# azurite, the version pinned below), into a cache folder, starts it in the
# background with in-memory storage, waits until it answers and prints how
# to reach it. `wasmfunc start` uses it when AzureWebJobsStorage is
# UseDevelopmentStorage=true (standard ports) or the printed connection
# string. Needs Node.js 18+ and npm (scripts/install-toolchains.sh installs
# them). Running it again reuses the installed copy.
#
# Usage: scripts/start-azurite.sh                 ports 10000 (blobs), 10001 (queues), 10002 (tables)
#        scripts/start-azurite.sh --free-ports    ports the system picks (for tests)
#        scripts/start-azurite.sh --install-only  install only; print the path of azurite.js
#
# Environment: AZURITE_DIR, the install folder (default: azurite next to
# `go env GOCACHE`, else ${XDG_CACHE_HOME:-~/.cache}/azurite).
#
# Output (stdout), shell-quoted so that `eval "$(scripts/start-azurite.sh)"` works:
#   AZURITE_PID=<pid>  AZURITE_LOG=<log file>  AzureWebJobsStorage=<connection string>
# Stop it with `kill <pid>`. Its data lives in memory and ends with it.
set -eu

version=3.37.0
account=devstoreaccount1
key='Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='

mode=standard
case "${1:-}" in
"") ;;
--free-ports) mode=free ;;
--install-only) mode=install ;;
*)
	echo "usage: $0 [--free-ports | --install-only]" >&2
	exit 2
	;;
esac

if [ -z "${AZURITE_DIR:-}" ]; then
	gocache=$(go env GOCACHE 2>/dev/null || true)
	if [ -n "$gocache" ]; then
		AZURITE_DIR=$(dirname "$gocache")/azurite
	else
		AZURITE_DIR=${XDG_CACHE_HOME:-$HOME/.cache}/azurite
	fi
fi
dir=$AZURITE_DIR
js=$dir/node_modules/azurite/dist/src/azurite.js

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
	echo "start-azurite: node and npm are needed (Node.js 18+; scripts/install-toolchains.sh installs them)" >&2
	exit 1
fi

installed() {
	[ -f "$js" ] && [ "$(node -p "require(process.argv[1]).version" "$dir/node_modules/azurite/package.json" 2>/dev/null)" = "$version" ]
}

if ! installed; then
	mkdir -p "$dir"
	# Several test processes may ask at once: one installs, the others wait.
	lock=$dir/.install-lock
	waited=0
	until mkdir "$lock" 2>/dev/null; do
		owner=$(cat "$lock/pid" 2>/dev/null || true)
		if [ -n "$owner" ] && ! kill -0 "$owner" 2>/dev/null; then
			rm -rf "$lock" # left by an installer that died
			continue
		fi
		waited=$((waited + 1))
		if [ "$waited" -gt 900 ]; then
			echo "start-azurite: gave up waiting for $lock after 15 minutes" >&2
			exit 1
		fi
		sleep 1
	done
	echo $$ >"$lock/pid"
	trap 'rm -rf "$lock"' EXIT
	if ! installed; then
		echo "start-azurite: installing azurite@$version into $dir" >&2
		npm install --prefix "$dir" --no-audit --no-fund --loglevel=error "azurite@$version" >&2
	fi
	rm -rf "$lock"
	trap - EXIT
fi

if [ "$mode" = install ]; then
	echo "$js"
	exit 0
fi

if [ "$mode" = free ]; then
	bport=0 qport=0 tport=0
else
	bport=10000 qport=10001 tport=10002
fi
log=$(mktemp "${TMPDIR:-/tmp}/azurite.XXXXXX")
nohup node "$js" --inMemoryPersistence --silent --disableTelemetry --skipApiVersionCheck \
	--blobHost 127.0.0.1 --queueHost 127.0.0.1 --tableHost 127.0.0.1 \
	--blobPort "$bport" --queuePort "$qport" --tablePort "$tport" >"$log" 2>&1 &
pid=$!

# Azurite logs "Azurite <Service> service is successfully listening at <url>"
# once each service accepts requests.
listening() {
	sed -n "s|^Azurite $1 service is successfully listening at \(http://[^ ]*\).*|\1|p" "$log" | head -n 1
}
waited=0
while [ -z "$(listening Blob)" ] || [ -z "$(listening Queue)" ]; do
	if ! kill -0 "$pid" 2>/dev/null; then
		echo "start-azurite: Azurite exited; its output:" >&2
		cat "$log" >&2
		exit 1
	fi
	waited=$((waited + 1))
	if [ "$waited" -gt 600 ]; then
		echo "start-azurite: Azurite did not start within 60 s; its output:" >&2
		cat "$log" >&2
		kill "$pid" 2>/dev/null || true
		exit 1
	fi
	sleep 0.1
done
blob=$(listening Blob)/$account
queue=$(listening Queue)/$account

echo "start-azurite: Azurite $version is running (pid $pid; blobs $blob, queues $queue); stop it with: kill $pid" >&2
echo "AZURITE_PID=$pid"
echo "AZURITE_LOG='$log'"
echo "AzureWebJobsStorage='DefaultEndpointsProtocol=http;AccountName=$account;AccountKey=$key;BlobEndpoint=$blob;QueueEndpoint=$queue;'"
