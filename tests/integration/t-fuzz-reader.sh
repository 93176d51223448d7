#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# A small, deterministic fuzz run of the reader: seed images (ours plain,
# chunked, sealed, signed with a blob; one from erofs-utils) each mutated a
# few thousand times with random bit flips and truncations (the upstream
# seeds include LZ4-compressed ones), and every
# mutant walked as fsck, dump and erofs-verify walk an image.  Under the
# ASan/UBSan build any memory error aborts the run.  The same harness is a
# libFuzzer target (tests/fuzz/fuzz_image.c) for longer campaigns.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need_progs MKFS FUZZ_IMAGE
need_cmd openssl

src=$T/src
mkdir -p "$src/a/b" "$src/d"
printf 'hello\n' >"$src/a/b/c"
rnd 20000 >"$src/d/bin"
cp "$src/d/bin" "$src/d/bin2"
ln -s ../a/b/c "$src/d/link"
ln "$src/a/b/c" "$src/d/hard"
truncate -s 1M "$src/d/sparse"
seq 1 30000 >"$src/d/text"	# compressible: compressed seeds below
mkfifo "$src/d/fifo"
for i in 1 2 3 4; do
	printf '%s' "$i" >"$src/d/x$i"
	setfattr -n user.shared -v same "$src/d/x$i" 2>/dev/null || true
done
openssl genpkey -algorithm ed25519 -out "$T/ed.pem" 2>/dev/null
mkdir -p "$T/seeds" "$T/blobs"
"$MKFS" --quiet -T 1 -U clear "$T/seeds/plain.img" "$src"
"$MKFS" --quiet -T 1 -U clear --chunksize=4096 "$T/seeds/chunk.img" "$src"
"$MKFS" --quiet -T 1 -U clear --seal "$T/seeds/seal.img" "$src"
"$MKFS" --quiet -T 1 -U clear --blob-dir="$T/blobs" --sign-key="$T/ed.pem" "$T/seeds/signed.img" "$src"
if [ -x /usr/bin/mkfs.erofs ]; then
	/usr/bin/mkfs.erofs --quiet -T 1 "$T/seeds/upstream.img" "$src" >/dev/null 2>&1 ||
		rm -f "$T/seeds/upstream.img"
	# compressed inodes: compact and full indexes, big pclusters, an
	# inline (ztailpacking) tail
	/usr/bin/mkfs.erofs --quiet -T 1 -zlz4hc -C16384 -Eztailpacking \
		"$T/seeds/upstream-lz4.img" "$src" >/dev/null 2>&1 || rm -f "$T/seeds/upstream-lz4.img"
	/usr/bin/mkfs.erofs --quiet -T 1 -zlz4 -Elegacy-compress \
		"$T/seeds/upstream-lz4full.img" "$src" >/dev/null 2>&1 ||
		rm -f "$T/seeds/upstream-lz4full.img"
fi
rounds=${FUZZ_ROUNDS:-1500}
rc=0
"$FUZZ_IMAGE" --mutate "$rounds" 20261124 "$T"/seeds/*.img || rc=$?
if [ "$rc" -ne 0 ]; then
	fail "the reader crashed or failed (exit $rc) on a mutated image"
fi
echo "PASS: $(ls "$T"/seeds | wc -l) seed images x $rounds mutants each walked without a crash"
