#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# A small, deterministic fuzz run of the boot reader's API: seed images
# (plain, chunked, sealed, sealed with a blob) each mutated a few thousand
# times with random bit flips and truncations, and every mutant opened
# unchecked and pinned by its own manifest's digest, then walked (every
# directory, inode and file).  Under the ASan/UBSan build any memory error
# aborts the run; the read callback aborts on a read past the device.  The
# same harness is a libFuzzer target (tests/fuzz/fuzz_boot.c).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need_progs MKFS FUZZ_BOOT

src=$T/src
mkdir -p "$src/a/b" "$src/d"
printf 'hello\n' >"$src/a/b/c"
rnd 20000 >"$src/d/bin"
cp "$src/d/bin" "$src/d/bin2"
ln -s ../a/b/c "$src/d/link"
truncate -s 1M "$src/d/sparse"
mkdir -p "$T/seeds" "$T/blobs"
"$MKFS" --quiet -T 1 -U clear "$T/seeds/plain.img" "$src"
"$MKFS" --quiet -T 1 -U clear --chunksize=4096 "$T/seeds/chunk.img" "$src"
"$MKFS" --quiet -T 1 -U clear --seal "$T/seeds/seal.img" "$src"
"$MKFS" --quiet -T 1 -U clear --seal --blob-dir="$T/blobs" "$T/seeds/blob.img" "$src"
rounds=${FUZZ_ROUNDS:-1500}
rc=0
"$FUZZ_BOOT" --mutate "$rounds" 20261202 "$T"/seeds/*.img || rc=$?
[ "$rc" -eq 0 ] || fail "the boot reader crashed or failed (exit $rc) on a mutated image"
echo "PASS: $(ls "$T"/seeds | wc -l) seed images x $rounds mutants each opened and walked without a crash"
