#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# run.sh [-t SECONDS] [TARGET...] - build the fuzz targets for libFuzzer
# and run each for SECONDS (default 60), one after the other.
#
#   TARGET    fuzz_super, super, ...; default every tests/fuzz/fuzz_*.c
#   -t N      seconds per target
#   -b DIR    the libFuzzer build folder (default $FUZZ_BUILD, else
#             _build-fuzz in the source tree): configured once with
#             CC=clang --enable-fuzzing, so libcore is compiled by the
#             build system, with the coverage and sanitizer flags
#
# In DIR: fuzz-seeds/ (make-seeds.sh, made once), fuzz-corpus/TARGET/
# (what libFuzzer keeps; it grows from run to run) and
# fuzz-findings/TARGET/ (crash-*, leak-*, timeout-*, oom-* inputs; slow-unit-*
# too, which are not counted).
# Prints per target: executions, coverage (cov: edges, ft: features),
# corpus size and findings.  Exit 1 when a target found something, 77
# (SKIP) when clang or libFuzzer is missing.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
secs=60
build=${FUZZ_BUILD:-$top/_build-fuzz}
targets=()
while [ $# -gt 0 ]; do
	case $1 in
	-t) secs=$2; shift 2 ;;
	-b) build=$2; shift 2 ;;
	-h|--help) sed -n '3,22p' "$0"; exit 0 ;;
	*) t=${1#fuzz_}; targets+=("fuzz_$t"); shift ;;
	esac
done
if [ ${#targets[@]} -eq 0 ]; then
	for f in "$here"/fuzz_*.c; do
		targets+=("$(basename "$f" .c)")
	done
fi

command -v clang >/dev/null || { echo "SKIP: clang is not installed (tools/setup.sh)"; exit 77; }
mkdir -p "$build"
build=$(cd "$build" && pwd)
if [ ! -f "$build/Makefile" ]; then
	if [ ! -x "$top/configure" ]; then
		(cd "$top" && autoreconf -fi >/dev/null 2>&1)
	fi
	if ! (cd "$build" && CC=clang "$top/configure" -q --enable-fuzzing \
		CFLAGS="-g -O1" >configure.out 2>&1); then
		if grep -q 'needs a compiler with libFuzzer' "$build/configure.out"; then
			echo "SKIP: clang cannot link libFuzzer targets"
			rm -f "$build/Makefile"
			exit 77
		fi
		cat "$build/configure.out"
		exit 2
	fi
fi
# only what the targets and the seeds need: libcore, mkfs, the targets
buildable=()
for t in "${targets[@]}"; do
	if make -C "$build" -n "tests/fuzz/$t" >/dev/null 2>&1; then
		buildable+=("$t")
	else
		echo "$t: no build rule in Makefile.am yet, not run"
	fi
done
if ! make -C "$build" -s -j"${FUZZ_JOBS:-2}" mkfs/mkfs.erofs "${buildable[@]/#/tests/fuzz/}" \
	>"$build/make.out" 2>&1; then
	cat "$build/make.out"
	exit 2
fi

seeds=$build/fuzz-seeds
if [ ! -d "$seeds/images" ]; then
	rm -rf "$seeds"
	MKFS=$build/mkfs/mkfs.erofs ASAN_OPTIONS=detect_leaks=0 \
		bash "$here/make-seeds.sh" "$seeds.tmp" >/dev/null
	mv "$seeds.tmp" "$seeds"
fi

# crashes, leaks, timeouts, out-of-memory; not libFuzzer's slow-unit-*
# (the wall-clock time of one input, which a loaded machine inflates)
count_findings() {
	find "$1" -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' \
		-o -name 'oom-*' \) | wc -l
}

found=0
for t in "${buildable[@]}"; do
	case $t in
	fuzz_seal) seed=$seeds/seal ;;
	fuzz_keyarea) seed=$seeds/keyarea ;;
	*) seed=$seeds/images ;;
	esac
	corpus=$build/fuzz-corpus/$t
	findings=$build/fuzz-findings/$t
	mkdir -p "$corpus" "$findings"
	before=$(count_findings "$findings")
	log=$build/fuzz-$t.log
	rc=0
	"$build/tests/fuzz/$t" -max_total_time="$secs" -timeout=30 -rss_limit_mb=2048 \
		-max_len=1200000 -print_final_stats=1 -artifact_prefix="$findings/" \
		"$corpus" "$seed" >"$log" 2>&1 || rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	cov=$(grep -Eo 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -1)
	after=$(count_findings "$findings")
	printf '%s: %ss, %s execs, %s, corpus %s, findings %s (new %s)\n' "$t" "$secs" \
		"${execs:-?}" "${cov:-cov: ?}" "$(find "$corpus" -type f | wc -l)" "$after" \
		$((after - before))
	if [ "$rc" -ne 0 ] || [ "$after" -gt "$before" ]; then
		found=1
		grep -E 'ERROR|SUMMARY|runtime error' "$log" | head -5 || true
		echo "  (log: $log, inputs: $findings)"
	fi
done
exit $found
