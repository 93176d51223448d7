#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The fs-verity digests the seal binds are the ones fsverity-utils computes:
#
#  * every blob mkfs writes into --blob-dir is named by `fsverity digest` of
#    its bytes, and `dump.erofs -s` lists that digest (and the blob's size)
#    both in the seal and as the device-table tag;
#  * device 0 of the seal is `fsverity digest` of the image truncated to its
#    filesystem region (`Filesystem blocks` x 4096 bytes, which the locator
#    also records).
#
# Trees are chosen so that blobs are 1, 128 (one full tree block), 129 (two
# tree levels) and 4097 (>= 16 MiB, three levels) blocks long; each tree is
# also built as a plain `--seal` image (no blobs) so the filesystem regions
# cover the same range of sizes.

_lib=$(dirname "$0")/lib.sh
[ -r "$_lib" ] || _lib=${srcdir:-.}/integration/lib.sh
. "$_lib" || { echo "FAIL: cannot source lib.sh"; exit 1; }

need_progs MKFS DUMP
need_cmd fsverity od head
fsverity digest --help >/dev/null 2>&1 || skip "fsverity has no 'digest' command"

# verity_hex FILE: the fs-verity digest (sha256, 4 KiB blocks) as hex
verity_hex() {
	local out
	out=$(fsverity digest --hash-alg=sha256 --block-size=4096 "$1") ||
		fail "fsverity digest $1 failed"
	out=${out%% *}
	echo "${out#sha256:}"
}

# seal_devices IMG: "INDEX SIZE HEX" per line, from dump -s
seal_devices() {
	sed -n 's/^ *device \([0-9]*\): \([0-9]*\) bytes, fs-verity sha256:\([0-9a-f]*\).*/\1 \2 \3/p' "$1"
}

# devt_tags DUMP-OUTPUT: "INDEX BLOCKS TAG" per line (device table)
devt_tags() {
	sed -n 's/^ *device \([0-9]*\): blocks \([0-9]*\), mapped at block [0-9]*, tag "\([^"]*\)".*/\1 \2 \3/p' "$1"
}

checked_blobs=0
checked_regions=0

# check_fs_region IMG DUMPOUT: device 0 digest == fsverity digest of the
# first Filesystem-blocks x 4096 bytes; the locator agrees on the size
check_fs_region() {
	local img=$1 d=$2 blocks fs_size loc_size want got size0 imgsize
	blocks=$(sed -n 's/^Filesystem blocks: *\([0-9]*\).*/\1/p' "$d")
	[ -n "$blocks" ] || fail "dump -s shows no 'Filesystem blocks'"
	fs_size=$((blocks * 4096))
	imgsize=$(stat -c %s "$img")
	[ "$fs_size" -lt "$imgsize" ] ||
		fail "filesystem region ($fs_size) is not smaller than the sealed image ($imgsize)"
	[ "$(tail -c 4096 "$img" | head -c 8)" = EROFSEAL ] ||
		fail "$img: no EROFSEAL locator in its last 4096 bytes"
	loc_size=$(rd_le64 "$img" $((imgsize - 4096 + 32)))
	[ "$loc_size" = "$fs_size" ] ||
		fail "locator fs_size $loc_size != Filesystem blocks x 4096 = $fs_size"
	read -r _ size0 want < <(seal_devices "$d" | awk '$1 == 0')
	[ -n "${want:-}" ] || fail "dump -s lists no seal device 0"
	[ "$size0" = "$fs_size" ] || fail "seal device 0 size $size0 != $fs_size"
	head -c "$fs_size" "$img" >"$T/region"
	got=$(verity_hex "$T/region")
	[ "$got" = "$want" ] ||
		fail "device 0: fsverity digest of the region is $got, seal says $want"
	info "filesystem region: $blocks blocks, digest $got matches fsverity"
	checked_regions=$((checked_regions + 1))
	rm -f "$T/region"
}

# build NAME EXPECTED-BLOB-BLOCKS: image of $T/src-NAME with --blob-dir and
# with plain --seal, all digests checked
build() {
	local name=$1 want_blocks=$2
	local src=$T/src-$name bd=$T/blobs-$name img=$T/$name.img d=$T/$name.dump
	local f hex n idx dsize size blocks
	echo "== tree $name (expect one blob of $want_blocks blocks)"
	mkdir "$bd"
	runcmd mkfs "$MKFS" --quiet --blob-dir="$bd" "$img" "$src"
	crashed "$RC" && fail "mkfs crashed ($RC): $(head -c 2000 "$T/mkfs.err")"
	[ "$RC" -eq 0 ] || fail "mkfs --blob-dir exited $RC: $(head -c 2000 "$T/mkfs.err")"
	"$DUMP" -s "$img" >"$d" 2>"$T/dump.err" || fail "dump -s failed: $(cat "$T/dump.err")"

	n=0
	for f in "$bd"/*; do
		[ -f "$f" ] || continue
		n=$((n + 1))
		hex=$(verity_hex "$f")
		[ "$hex" = "$(basename "$f")" ] ||
			fail "blob $(basename "$f"): fsverity digest is $hex"
		size=$(stat -c %s "$f")
		[ $((size % 4096)) -eq 0 ] || fail "blob size $size is not a block multiple"
		[ "$size" -eq $((want_blocks * 4096)) ] ||
			fail "blob is $((size / 4096)) blocks, the tree should give $want_blocks"
		read -r idx dsize _ < <(seal_devices "$d" | awk -v h="$hex" '$3 == h')
		[ -n "${idx:-}" ] || fail "dump -s does not list blob digest $hex in the seal"
		[ "$idx" -ge 1 ] || fail "blob digest listed as device $idx"
		[ "$dsize" = "$size" ] || fail "seal says blob $idx is $dsize bytes, file has $size"
		read -r _ blocks < <(devt_tags "$d" | awk -v h="$hex" '$3 == h { print $1, $2 }')
		[ -n "${blocks:-}" ] || fail "device table has no tag $hex"
		[ "$blocks" = $((size / 4096)) ] || fail "device table says $blocks blocks, blob has $((size / 4096))"
		info "blob $idx: $((size / 4096)) blocks, name = fsverity digest = seal digest = device tag"
		checked_blobs=$((checked_blobs + 1))
	done
	[ "$n" -eq 1 ] || fail "expected exactly one blob in $bd, found $n"
	[ "$(seal_devices "$d" | wc -l)" -eq 2 ] || fail "seal should list 2 devices: $(seal_devices "$d")"
	check_fs_region "$img" "$d"

	echo "== tree $name, plain --seal"
	runcmd mkfs "$MKFS" --quiet --seal "$img.plain" "$src"
	crashed "$RC" && fail "mkfs --seal crashed ($RC): $(head -c 2000 "$T/mkfs.err")"
	[ "$RC" -eq 0 ] || fail "mkfs --seal exited $RC: $(head -c 2000 "$T/mkfs.err")"
	"$DUMP" -s "$img.plain" >"$d.plain" 2>"$T/dump.err" || fail "dump -s failed: $(cat "$T/dump.err")"
	[ "$(seal_devices "$d.plain" | wc -l)" -eq 1 ] ||
		fail "plain --seal image should have one sealed device: $(seal_devices "$d.plain")"
	check_fs_region "$img.plain" "$d.plain"
	rm -rf "$bd" "$img" "$img.plain"
}

# build_plain NAME EXPECTED-REGION-BLOCKS: plain --seal image only, with a
# filesystem region of a chosen size
build_plain() {
	local name=$1 want=$2
	local src=$T/src-$name img=$T/$name.img d=$T/$name.dump blocks
	echo "== tree $name, plain --seal (expect a $want-block filesystem region)"
	runcmd mkfs "$MKFS" --quiet --seal "$img" "$src"
	crashed "$RC" && fail "mkfs --seal crashed ($RC): $(head -c 2000 "$T/mkfs.err")"
	[ "$RC" -eq 0 ] || fail "mkfs --seal exited $RC: $(head -c 2000 "$T/mkfs.err")"
	"$DUMP" -s "$img" >"$d" 2>"$T/dump.err" || fail "dump -s failed: $(cat "$T/dump.err")"
	blocks=$(sed -n 's/^Filesystem blocks: *\([0-9]*\).*/\1/p' "$d")
	[ "$blocks" = "$want" ] ||
		fail "filesystem region is $blocks blocks, this tree should give $want"
	check_fs_region "$img" "$d"
	rm -f "$img"
}

# 1 block: a tiny file (the chunk is zero-padded to a block)
mkdir "$T/src-b1"
printf 'hello, verity\n' >"$T/src-b1/small"
build b1 1

# 128 blocks: exactly one full level-0 tree block of hashes
mkdir "$T/src-b128"
rnd $((128 * 4096)) >"$T/src-b128/f"
build b128 128

# 129 blocks: one block more, two tree levels; split over several files
# (100 + 28 blocks + a 1-byte tail)
mkdir -p "$T/src-b129/d"
rnd $((100 * 4096)) >"$T/src-b129/a"
rnd $((28 * 4096)) >"$T/src-b129/d/b"
printf 'x' >"$T/src-b129/d/c"
build b129 129

# >= 16 MiB: 4096 blocks + 1 partial block
mkdir "$T/src-big"
rnd $((16 * 1024 * 1024 + 5)) >"$T/src-big/big"
build big 4097

# filesystem regions of exactly 128 and 129 blocks: block 0 (superblock),
# one flat file of 126 / 127 blocks, one block of inodes
mkdir "$T/src-r128" "$T/src-r129"
rnd $((126 * 4096)) >"$T/src-r128/f"
rnd $((127 * 4096)) >"$T/src-r129/f"
build_plain r128 128
build_plain r129 129

echo "checked $checked_blobs blobs and $checked_regions filesystem regions"
echo "PASS"
exit 0
