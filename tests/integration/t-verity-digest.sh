#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Compare our fs-verity digests and Merkle trees with the external oracle
# `fsverity digest` (fsverity-utils) over edge-case and random file sizes.
#
# Environment: VERITY_TOOL = path of the built tests/unit/verity_digest_tool.
# Exit status: 0 pass, 77 skip (prints "SKIP: reason"), 1 fail.
# The random part is reproducible with VERITY_SEED=<number>.

set -u

. "$(dirname "$0")/lib.sh"

need_progs VERITY_TOOL
command -v fsverity >/dev/null 2>&1 || skip "fsverity (fsverity-utils) not installed"
fsverity digest --help >/dev/null 2>&1 ||
	skip "this fsverity has no 'digest' command"

compare_trees=yes
if ! fsverity digest --help 2>&1 | grep -q -- '--out-merkle-tree'; then
	echo "NOTE: fsverity digest has no --out-merkle-tree; not comparing tree bytes"
	compare_trees=no
fi

# lib.sh made $T and removes it at exit
work=$T

# a fixed default seed: every run checks the same sizes (VERITY_SEED=N
# explores others)
seed=${VERITY_SEED:-2026120204}
echo "seed $seed"

# Deterministic pseudo-random numbers from the seed (LCG, 31 bits).
rng_state=$seed
next_random() {
	rng_state=$(( (rng_state * 1103515245 + 12345) % 2147483648 ))
}

# Pseudo-random content of exactly $2 bytes into $1.
make_file() {
	rnd "$2" >"$1" || fail "cannot write $1"
	[ "$(wc -c <"$1" | tr -d ' ')" = "$2" ] || fail "short file $1"
}

checked=0
check_size() {
	size=$1
	file="$work/data"
	make_file "$file" "$size"

	if [ "$compare_trees" = yes ]; then
		want=$(fsverity digest --compact \
			--out-merkle-tree="$work/want.tree" "$file") ||
			fail "fsverity digest failed on $size bytes"
		got=$("$VERITY_TOOL" --compact --tree "$work/got.tree" "$file") ||
			fail "$VERITY_TOOL failed on $size bytes"
	else
		want=$(fsverity digest --compact "$file") ||
			fail "fsverity digest failed on $size bytes"
		got=$("$VERITY_TOOL" --compact "$file") ||
			fail "$VERITY_TOOL failed on $size bytes"
	fi
	[ "$got" = "$want" ] ||
		fail "size $size: digest $got, fsverity says $want (seed $seed)"
	if [ "$compare_trees" = yes ]; then
		cmp -s "$work/got.tree" "$work/want.tree" ||
			fail "size $size: Merkle tree bytes differ (seed $seed)"
	fi

	# the default (non-compact) output format matches too
	want=$(fsverity digest "$file") || fail "fsverity digest failed"
	got=$("$VERITY_TOOL" "$file") || fail "$VERITY_TOOL failed"
	[ "$got" = "$want" ] || fail "size $size: output '$got' vs '$want'"
	checked=$((checked + 1))
}

# edge cases: no tree, one block, one tree block, two levels, three levels
for size in 0 1 4095 4096 4097 524288 524289 16777217; do
	check_size "$size"
done

# the same edge cases with SHA-NI masked off: the one-by-one hashing that
# CPUs without it get (on those the run above already was)
export ES_SHA256_NO_SHANI=1
for size in 0 1 4095 4096 4097 524289; do
	check_size "$size"
done
unset ES_SHA256_NO_SHANI

# 20 random sizes: 10 below 1 MiB (mostly shallow trees), 10 up to 80 MiB
# (up to three levels)
i=0
while [ $i -lt 20 ]; do
	next_random
	if [ $i -lt 10 ]; then
		size=$((rng_state % 1048576))
	else
		size=$((rng_state % 83886080))
	fi
	check_size "$size"
	i=$((i + 1))
done

# the formatted digest for builtin signatures
make_file "$work/data" 12345
want=$(fsverity digest --for-builtin-sig --compact "$work/data") ||
	fail "fsverity digest --for-builtin-sig failed"
got=$("$VERITY_TOOL" --for-builtin-sig --compact "$work/data") ||
	fail "$VERITY_TOOL --for-builtin-sig failed"
[ "$got" = "$want" ] || fail "formatted digest $got, fsverity says $want"

echo "PASS: $checked sizes (trees compared: $compare_trees)"
exit 0
