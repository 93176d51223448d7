#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# fsck.erofs -j N: file data read and written on N threads.
#
#  extract   the every-case tree (hard links, sparse files, xattrs with
#            security.capability, device nodes, owners, set-id bits,
#            read-only directories) built plain, --chunksize=4096, -z lz4,
#            and encrypted + signed (--unlock keyfile): --extract with -j 1,
#            2 and 8 gives the source tree (treecmp), and the sparse file
#            takes the room of its data only (stat's block count)
#  hostile   an existing DIR (chunked image) with symlinks where the image has a file and
#            a directory: refused without --overwrite, replaced (never
#            followed) with it, with -j 4; the symlinks' targets are intact
#  data      check-only does not read file data (erofs-utils' default): an
#            lz4 image with a zeroed pcluster (found with /usr/bin/dump.erofs
#            -e) passes without --extract and fails with --extract (no
#            DIR), with -j 1 and -j 2; a sealed lz4 image passes --extract

_lib=$(dirname "$0")/lib.sh
[ -r "$_lib" ] || _lib=${srcdir:-.}/integration/lib.sh
. "$_lib" || { echo "FAIL: cannot source lib.sh"; exit 1; }

need_root
need_progs MKFS FSCK TREECMP GENTREE
need_cmd openssl stat

cd "$T" || fail "cannot enter $T"

GENTREE_SPARSE_SIZE=64M must bash "$GENTREE" full tree
rnd 32 >domain.key
rnd 64 >slot.key
openssl genpkey -algorithm ed25519 -out sign.pem 2>/dev/null || fail "openssl genpkey"
openssl pkey -in sign.pem -pubout -out sign.pub 2>/dev/null || fail "openssl pkey"

# ---- extract ---------------------------------------------------------------
sparse_size=$(stat -c %s tree/files/sparse)

# extract_all NAME FSCK-OPTIONS...: NAME.img extracted with -j 1, 2 and 8
extract_all() {
	local name=$1 j out used
	shift
	for j in 1 2 8; do
		out=out-$name-$j
		expect_rc 0 "extract-$name-j$j" "$FSCK" -j "$j" "$@" --extract="$out" "$name.img"
		"$TREECMP" tree "$out" >treecmp.out 2>&1 ||
			fail "$name -j $j: the extracted tree differs: $(head -c 1500 treecmp.out)"
		# gentree writes 1 MiB of data into the sparse file
		used=$(($(stat -c %b "$out/files/sparse") * $(stat -c %B "$out/files/sparse")))
		[ "$used" -lt $((sparse_size / 4)) ] ||
			fail "$name -j $j: files/sparse takes $used bytes for $sparse_size"
		rm -rf "$out"
	done
	info "$name: -j 1, 2 and 8 extract the source tree"
}

must "$MKFS" --quiet plain.img tree
extract_all plain
# the 10,000 entries of dirs/big only once: the test stays short
touch -r tree/dirs dirs.mtime
rm -rf tree/dirs/big
touch -r dirs.mtime tree/dirs
must "$MKFS" --quiet --chunksize=4096 chunked.img tree
extract_all chunked
must "$MKFS" --quiet -z lz4 lz4.img tree
extract_all lz4
mkdir blobs
must "$MKFS" --quiet --encrypt --domain-key=domain.key --keyslot=keyfile:slot.key \
	--sign-key=sign.pem --blob-dir=blobs enc.img tree
extract_all enc --unlock=keyfile:slot.key --pubkey=sign.pub --blob-dir=blobs

# ---- hostile ---------------------------------------------------------------
mkdir victim victim/dir
echo keep >victim/file
echo keep >victim/dir/b4097
mkdir -p hostile/files
ln -s ../../victim/file hostile/files/b4097
ln -s ../victim/dir hostile/names
expect_rc 8 hostile-refused "$FSCK" -j 4 --extract=hostile chunked.img
grep -q "already exists" hostile-refused.err ||
	fail "hostile: no 'already exists' message: $(head -c 800 hostile-refused.err)"
expect_rc 0 hostile-overwrite "$FSCK" -j 4 --overwrite --extract=hostile chunked.img
[ "$(cat victim/file)" = keep ] && [ "$(cat victim/dir/b4097)" = keep ] ||
	fail "hostile: a symlink in DIR was written through"
[ "$(ls -A victim/dir)" = b4097 ] || fail "hostile: files were created outside DIR"
[ ! -L hostile/files/b4097 ] && cmp -s tree/files/b4097 hostile/files/b4097 ||
	fail "hostile: files/b4097 was not replaced by the image's file"
[ ! -L hostile/names ] && [ -d hostile/names ] ||
	fail "hostile: the symlink 'names' was not replaced by the image's directory"
"$TREECMP" --ignore-root-mtime tree hostile >treecmp.out 2>&1 ||
	fail "hostile: the overwritten tree differs: $(head -c 1500 treecmp.out)"

# ---- data ------------------------------------------------------------------
UDUMP=/usr/bin/dump.erofs
if [ -x "$UDUMP" ]; then
	mkdir ct
	for i in $(seq 1 20000); do echo "line $i of a compressible text"; done >ct/text
	must "$MKFS" --quiet -z lz4 ct.img ct
	must "$MKFS" --quiet -z lz4 --sign-key=sign.pem ct-sealed.img ct
	# the third extent's pcluster, from the reference dump: "2: L.. | N : P.. Q | M"
	"$UDUMP" --path=/text -e ct.img >dump.out 2>&1 || fail "$UDUMP -e failed"
	poff=$(awk '$1 == "2:" { split($0, f, ":"); split(f[3], p, "\\.\\."); print p[1] + 0 }' \
		dump.out)
	[ -n "$poff" ] && [ "$poff" -gt 0 ] && [ $((poff % 4096)) -eq 0 ] ||
		fail "no pcluster found in: $(cat dump.out)"
	dd if=/dev/zero of=ct.img bs=4096 seek=$((poff / 4096)) count=1 conv=notrunc \
		status=none
	for j in 1 2; do
		expect_rc 0 "nodata-j$j" "$FSCK" -j "$j" ct.img
		expect_rc 4 "checkdata-j$j" "$FSCK" -j "$j" --extract ct.img
		grep -q "/text" "checkdata-j$j.err" ||
			fail "--extract -j $j: the damaged file is not named: $(head -c 800 "checkdata-j$j.err")"
	done
	expect_rc 0 sealed-checkdata "$FSCK" -j 2 --pubkey=sign.pub --extract ct-sealed.img
else
	info "data: SKIP ($UDUMP, the reference that finds a pcluster, is not installed)"
fi
exit 0
