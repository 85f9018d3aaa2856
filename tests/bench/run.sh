#!/usr/bin/env bash
# What `make bench` runs (docs/performance.md): rebuild the helper
# programs when stale, then run tests/bench/bench.py, which starts every
# server by pid, measures, stops them all and writes
# tests/bench/results/YYYY-MM-DD-HHMM.{md,json,png}.
#
#   tests/bench/run.sh [BUILD_DIR]      full run, ~6-10 minutes on 2 cores
#   QUICK=1 tests/bench/run.sh build    scaled down, under 2 minutes
#
# Needs build/bin/whoisd-loadgen (make), perl with Net::Server
# (libnet-server-perl), nginx, gnuplot, nsd (the suggestion scenario);
# wrk and perf are used if present.
set -eu
cd "$(dirname "$0")/../.."
B=${1:-build}
H=$B/bench
mkdir -p "$H"

CFLAGS="-std=c11 -D_GNU_SOURCE -I. -Wall -Wextra -Werror -Wstrict-prototypes
    -Wmissing-prototypes -Wshadow -Wpointer-arith -O2 -g"
LIBS="$(pkg-config --libs libevent libevent_pthreads sqlite3 zlib msgpack \
    libsystemd libidn2) -lm"

# Rebuild a helper when its source (or a library it links) is newer.
stale() {
	local out=$1; shift
	[ -x "$out" ] || return 0
	for f in "$@"; do
		[ "$f" -nt "$out" ] && return 0
	done
	return 1
}

if stale "$H/limitd" tests/bench/limitd.c; then
	cc $CFLAGS -o "$H/limitd" tests/bench/limitd.c
fi
if [ -f "$B/lib/libd_cache.a" ] && nm "$B/lib/libd_cache.a" 2>/dev/null |
    grep -q ' T cache_store_write$'; then
	if stale "$H/bulkfill" tests/bench/bulkfill.c tests/bench/cache_fill.c \
	    "$B/lib/libd_cache.a" "$B/lib/libproto.a" "$B/lib/libcommon.a"; then
		cc $CFLAGS -o "$H/bulkfill" tests/bench/bulkfill.c \
		    tests/bench/cache_fill.c "$B/lib/libd_cache.a" \
		    "$B/lib/libproto.a" "$B/lib/libcommon.a" $LIBS
	fi
else
	echo "bench: $B/lib/libd_cache.a has no cache_store_write();" \
	    "no scale scenario" >&2
	rm -f "$H/bulkfill"
fi
for need in "$B/bin/whoisd-loadgen"; do
	[ -x "$need" ] || { echo "bench: $need missing: run make" >&2; exit 1; }
done
command -v gnuplot >/dev/null ||
	echo "bench: gnuplot missing (apt-get install gnuplot-nox): no plot" >&2
[ -x /usr/sbin/nsd ] ||
	echo "bench: nsd missing (apt-get install nsd): no suggestion" \
	    "scenario" >&2
perl -MNet::Server::PreFork -e1 2>/dev/null ||
	echo "bench: Net::Server missing (apt-get install libnet-server-perl)" >&2

exec /usr/bin/python3 tests/bench/bench.py --build "$B" "${@:2}"
