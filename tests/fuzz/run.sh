#!/bin/sh
# run.sh BUILD SECONDS NAME... — run each libFuzzer target BUILD/fuzz/fuzz_NAME
# for SECONDS, from its seeds in tests/fuzz/corpus/NAME/ (read only: what
# the run learns goes to BUILD/fuzz-corpus/NAME/).  Optional per target:
# tests/fuzz/NAME.dict (a libFuzzer dictionary) and tests/fuzz/NAME.options
# (extra libFuzzer flags on one line, e.g. -max_len=8192).  FUZZ_RUNS=N
# stops each target after N executions instead (SECONDS still caps it).
#
# A crash, leak, timeout or out-of-memory input is written to
# $FUZZ_CRASHES/NAME/ (default BUILD/crashes) and fails the run.  One
# summary line per target quotes libFuzzer's own counters.
# Run from the top of the tree: targets load etc/ files by relative path.
set -u

build=$1
seconds=$2
shift 2
crashes=${FUZZ_CRASHES:-$build/crashes}
timeout=${FUZZ_TIMEOUT:-10}		# seconds one input may take
rss=${FUZZ_RSS_MB:-2048}
logs=$build/fuzz-logs
mkdir -p "$logs"

fail=0
summary=""
for name in "$@"; do
	bin=$build/fuzz/fuzz_$name
	work=$build/fuzz-corpus/$name
	seeds=tests/fuzz/corpus/$name
	out=$crashes/$name
	log=$logs/$name.log
	mkdir -p "$work" "$out"
	# Paths and flags hold no blanks: one string, split on use.
	args="-max_total_time=$seconds -print_final_stats=1 -timeout=$timeout"
	[ -n "${FUZZ_RUNS:-}" ] && args="$args -runs=$FUZZ_RUNS"
	args="$args -rss_limit_mb=$rss -artifact_prefix=$out/"
	[ -f "tests/fuzz/$name.dict" ] && args="$args -dict=tests/fuzz/$name.dict"
	[ -f "tests/fuzz/$name.options" ] &&
	    args="$args $(grep -v '^#' "tests/fuzz/$name.options")"
	args="$args $work"
	[ -d "$seeds" ] && args="$args $seeds"
	before=$(ls "$out" | wc -l)
	echo "== fuzz_$name: $seconds s (log: $log)"
	"$bin" $args >"$log" 2>&1
	rc=$?
	after=$(ls "$out" | wc -l)
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	units=$(sed -n 's/^stat::new_units_added: *//p' "$log")
	rssmb=$(sed -n 's/^stat::peak_rss_mb: *//p' "$log")
	took=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log")
	status=ok
	if [ "$rc" -ne 0 ] || [ "$after" -ne "$before" ]; then
		status="FAIL (exit $rc; $((after - before)) new in $out/)"
		grep -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error)' "$log" | head -5
		fail=1
	fi
	line=$(printf 'fuzz: %-12s %10s execs in %s s, %s new units, peak %s MB: %s' \
	    "$name" "${execs:-?}" "${took:-$seconds}" "${units:-?}" \
	    "${rssmb:-?}" "$status")
	echo "$line"
	summary="$summary$line
"
done
printf '\n%s' "$summary"
exit $fail
