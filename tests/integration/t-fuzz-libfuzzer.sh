#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Every fuzz target under libFuzzer, briefly (FUZZ_SECONDS, default 10 s
# each): tests/fuzz/run.sh builds them with clang --enable-fuzzing in a
# build folder of its own (kept between runs: the corpus grows) and fails
# on any crash, leak, timeout or sanitizer report.  SKIP without clang or
# libFuzzer.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need_progs FUZZ_IMAGE
fuzz_src=${srcdir:-$(dirname "$0")/..}/fuzz
build=${FUZZ_BUILD:-$(cd "$(dirname "$FUZZ_IMAGE")/../.." && pwd)/_fuzz}
rc=0
FUZZ_BUILD=$build bash "$fuzz_src/run.sh" -t "${FUZZ_SECONDS:-10}" >"$T/run.out" 2>&1 || rc=$?
cat "$T/run.out"
case $rc in
0) echo "PASS: every fuzz target ran ${FUZZ_SECONDS:-10} s under libFuzzer without a finding" ;;
77) grep -m1 '^SKIP' "$T/run.out" >/dev/null || echo "SKIP: no libFuzzer"; exit 77 ;;
*) fail "a fuzz target found something or did not build (exit $rc); see above" ;;
esac
