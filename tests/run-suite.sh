#!/usr/bin/env bash
# Start the four daemons in the foreground, logs prefixed by daemon, and
# stop them all on Ctrl-C.  Used by `make run` (real registries) and
# `make demo` (whoisd-regsim as every registry).
#
#   tests/run-suite.sh BUILD_DIR etc|demo
set -u
B=${1:-build}
MODE=${2:-etc}
BIN=$B/bin
STATE=${WHOISD_STATE:-$B/state}
mkdir -p "$STATE/spool"
# The internal links' role keys, made once (an install makes them in
# /etc/whoisd/keys with whoisd-keygen.service).
KEYS=$STATE/keys
"$BIN/whoisctl" keygen "$KEYS" >/dev/null || exit 1
export WHOISD_KEYS=$KEYS
pids=()

start() {
	local name=$1; shift
	( exec "$@" 2>&1 | sed -u "s/^/[$name] /" ) &
	pids+=($!)
}

stop() {
	trap - INT TERM
	echo
	echo "stopping the suite..."
	pkill -TERM -P $$ -f "$BIN/" 2>/dev/null
	for p in "${pids[@]}"; do
		pkill -TERM -P "$p" 2>/dev/null
	done
	wait
	echo "stopped."
	exit 0
}
trap stop INT TERM

start errdb "$BIN/whoisd-errdb" --link_keys="$KEYS" -f etc/whoisd-errdb.conf --db_path="$STATE/errdb.db"
start cache "$BIN/whoisd-cache" --link_keys="$KEYS" -f etc/whoisd-cache.conf --db_path="$STATE/cache.db"
if [ "$MODE" = demo ]; then
	start regsim "$BIN/whoisd-regsim" --listen=127.0.0.1:4300 \
	    --corpus=tests/corpus --data=tests/regsim/regsim.conf --latency-ms=50
	start query "$BIN/whoisd-query" --link_keys="$KEYS" -f etc/whoisd-query.conf \
	    --registry_override=127.0.0.1:4300 --spool_dir="$STATE/spool"
else
	start query "$BIN/whoisd-query" --link_keys="$KEYS" -f etc/whoisd-query.conf \
	    --spool_dir="$STATE/spool"
fi
start front "$BIN/whoisd" --link_keys="$KEYS" -f etc/whoisd.conf \
    --http_www=www

sleep 1
cat <<MSG

whoisd is running ($MODE mode). Try:
    whois -h 127.0.0.1 -p 4343 example.com
    whois -h 127.0.0.1 -p 4343 free-name-$$.com
    curl 'http://127.0.0.1:8043/v1/check?domain=example.com&domain=bücher.de'
    curl 'http://127.0.0.1:8043/v1/whois?domain=example.org'
    the search page: http://127.0.0.1:8043/ (operators: /status.html)
    curl http://127.0.0.1:8043/status
    WHOISD_KEYS=$KEYS $BIN/whoisctl stats
Press Ctrl-C to stop.
MSG
wait
