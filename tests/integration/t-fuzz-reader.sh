#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# A small, deterministic fuzz run of every reader area, without libFuzzer:
# each fuzz target (tests/fuzz/fuzz_*, built with its replay-and-mutate
# main) takes the seed corpora of tests/fuzz/make-seeds.sh (real images:
# plain, chunked, blob, sealed, signed, encrypted; key areas) and a few
# hundred random bit flips and truncations of each (fixed seed), then
# replays the inputs that once crashed a reader (tests/fuzz/regress/TARGET).
# Under the ASan/UBSan build any memory error aborts the run.  The same
# targets are libFuzzer targets (tests/fuzz/run.sh, t-fuzz-libfuzzer.sh).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need_progs MKFS FUZZ_IMAGE
need_cmd openssl
: "${FUZZ_BIN:=$(dirname "$FUZZ_IMAGE")}"
fuzz_src=${srcdir:-$(dirname "$0")/..}/fuzz

MKFS=$MKFS GENTREE=$GENTREE bash "$fuzz_src/make-seeds.sh" "$T/seeds" >/dev/null ||
	fail "make-seeds.sh failed"
rounds=${FUZZ_ROUNDS:-150}
n=0
for src in "$fuzz_src"/fuzz_*.c; do
	t=$(basename "$src" .c)
	[ -x "$FUZZ_BIN/$t" ] || { info "$t: not built here, skipped"; continue; }
	case $t in
	fuzz_seal) seeds=$T/seeds/seal ;;
	fuzz_keyarea) seeds=$T/seeds/keyarea ;;
	*) seeds=$T/seeds/images ;;
	esac
	inputs=("$seeds")
	[ -d "$fuzz_src/regress/$t" ] && inputs+=("$fuzz_src/regress/$t")
	rc=0
	"$FUZZ_BIN/$t" --mutate "$rounds" 20261124 "${inputs[@]}" >"$T/$t.out" 2>&1 || rc=$?
	if [ "$rc" -ne 0 ]; then
		tail -30 "$T/$t.out"
		fail "$t: the reader crashed or failed (exit $rc) on a mutated or regression input"
	fi
	info "$(tail -1 "$T/$t.out")"
	n=$((n + 1))
done
[ "$n" -gt 0 ] || fail "no fuzz target was built"
echo "PASS: $n fuzz targets, every seed x $rounds mutants and every regression input, no crash"
