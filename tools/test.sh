#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Run every test: unit tests (cmocka) and integration tests against the
# kernel, erofs-utils, fsverity and openssl — once in a -Werror build and
# once more under AddressSanitizer + UndefinedBehaviorSanitizer.
# Needs root (kernel mounts, loop devices, device nodes).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/setup.sh"

es_setup_packages
passed=0 failed=0 skipped=0
status=0

run_suite() {
	local name=$1 dir=$2
	shift 2
	echo "== $name: building in $dir"
	es_build "$dir" "$@"
	echo "== $name: running tests"
	if ! make -C "$ES_TOP/$dir" -s check VERBOSE=1 >"$ES_TOP/$dir/check.out" 2>&1; then
		status=1
	fi
	# One line per test: with VERBOSE=1 automake repeats the result line
	# of every failed test when it prints test-suite.log, so keep the first
	# (and only result lines: a log may hold "SKIP: reason" lines too)
	# line for each name only.
	grep -E '^(PASS|FAIL|SKIP|XFAIL|XPASS|ERROR): tests/' "$ES_TOP/$dir/check.out" |
		awk '!seen[$2]++ { print $1, $2 }' >"$ES_TOP/$dir/check.results" || true
	sed "s/^/[$name] /" "$ES_TOP/$dir/check.results"
	# show the logs of what failed
	# (no failure: grep finds nothing, which is not an error under pipefail)
	{ grep -E '^(FAIL|ERROR|XPASS):' "$ES_TOP/$dir/check.results" || true; } |
		awk '{print $2}' | while read -r t; do
			echo "---- $t.log"
			tail -n 60 "$ES_TOP/$dir/$t.log" 2>/dev/null || true
		done
	local p f s
	p=$(grep -cE '^(PASS|XFAIL):' "$ES_TOP/$dir/check.results" || true)
	f=$(grep -cE '^(FAIL|ERROR|XPASS):' "$ES_TOP/$dir/check.results" || true)
	s=$(grep -cE '^SKIP:' "$ES_TOP/$dir/check.results" || true)
	passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
}

run_suite werror _build --enable-werror
ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=0:detect_leaks=1} \
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
	run_suite asan _build-asan --enable-werror --enable-sanitizers

echo
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ] && [ "$status" = 0 ]
