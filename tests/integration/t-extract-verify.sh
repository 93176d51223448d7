#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# fsck.erofs --extract with --blob-dir checks each blob block against its
# Merkle tree as it reads it (lib/read/verified_read.c), and the blocks it
# did not read afterwards (docs/DESIGN.md, "Verify on read").
#
#  good      a sealed image with a blob, plain and encrypted + signed
#            (--unlock keyfile, --pubkey): -j 1, 2 and 8 extract the source
#            tree, and the seal line says both devices were checked
#            (src/big, over 8 MiB, is read in pieces by several threads)
#  tampered  one bit flipped in a middle block of the blob (src/big's): exit 4, "blob 1:
#            block K fails its Merkle tree", "not authenticated" on the
#            seal line; every regular file left in DIR is whole and equal to
#            the source (none holds a byte of the bad block, none is cut
#            short), and the file that needed the block is not there
#  unread    --path=/a extracts a subtree that does not use the bad block:
#            it is found afterwards, exit 4, same message
#  device    the blob given with --device (the whole-blob check first):
#            nothing is extracted, as before

_lib=$(dirname "$0")/lib.sh
[ -r "$_lib" ] || _lib=${srcdir:-.}/integration/lib.sh
. "$_lib" || { echo "FAIL: cannot source lib.sh"; exit 1; }

need_progs MKFS FSCK
need_cmd openssl cmp

cd "$T" || fail "cannot enter $T"

mkdir -p src/a src/b/c
rnd 3000 >src/a/small
rnd 20000 >src/a/mid
for i in 1 2 3 4 5 6; do rnd $((40000 + i * 4096)) >"src/b/c/f$i"; done
rnd 400000 >src/b/zlast
rnd $((10 * 1048576 + 1234)) >src/big
rnd 32 >domain.key
rnd 64 >slot.key
openssl genpkey -algorithm ed25519 -out sign.pem 2>/dev/null || fail "openssl genpkey"
openssl pkey -in sign.pem -pubout -out sign.pub 2>/dev/null || fail "openssl pkey"

mkdir blobs-p blobs-e
must "$MKFS" --quiet --chunksize=4096 --blob-dir=blobs-p --sign-key=sign.pem P.img src
must "$MKFS" --quiet --chunksize=4096 --blob-dir=blobs-e --encrypt --domain-key=domain.key \
	--keyslot=keyfile:slot.key --sign-key=sign.pem E.img src
UNLOCK=(--unlock=keyfile:slot.key)

# same_files DIR [SRC]: every regular file below DIR equals its source
# (below SRC, default src); prints how many there are
same_files() {
	local f n=0
	while IFS= read -r -d '' f; do
		cmp -s "$1/$f" "${2:-src}/$f" || fail "$1/$f differs from the source"
		n=$((n + 1))
	done < <(cd "$1" && find . -type f -print0)
	echo "$n"
}
nsrc=$(find src -type f | wc -l)

for kind in p e; do
	img=${kind^^}.img
	opts=(--pubkey=sign.pub --blob-dir=blobs-$kind)
	[ "$kind" = e ] && opts+=("${UNLOCK[@]}")
	blob=$(ls "blobs-$kind")
	[ "$(echo "$blob" | wc -w)" -eq 1 ] || fail "$img should have one blob: $blob"

	for j in 1 2 8; do
		expect_rc 0 "good-$kind-j$j" "$FSCK" -j "$j" "${opts[@]}" --extract="x-$kind-$j" "$img"
		grep -q "^seal: 2 of 2 devices checked.* — authenticated" "$T/good-$kind-j$j.out" ||
			fail "good-$kind-j$j: seal line: $(cat "$T/good-$kind-j$j.out")"
		[ "$(same_files "x-$kind-$j")" -eq "$nsrc" ] || fail "good-$kind-j$j: files missing"
		rm -rf "x-$kind-$j"
	done

	# a middle block of the blob (all of it is file data)
	bsize=$(stat -c %s "blobs-$kind/$blob")
	bad=$((bsize / 4096 / 2))
	mkdir "bad-$kind"
	cp "blobs-$kind/$blob" "bad-$kind/"
	flip_bit "bad-$kind/$blob" $((bad * 4096 + 77)) 2
	badopts=(--pubkey=sign.pub --blob-dir="bad-$kind")
	[ "$kind" = e ] && badopts+=("${UNLOCK[@]}")
	for j in 1 2 8; do
		out=xbad-$kind-$j
		expect_rc 4 "tampered-$kind-j$j" "$FSCK" -j "$j" "${badopts[@]}" --extract="$out" "$img"
		grep -q "blob 1: block $bad fails its Merkle tree" "$T/tampered-$kind-j$j.err" ||
			fail "tampered-$kind-j$j: no message naming the block: $(cat "$T/tampered-$kind-j$j.err")"
		grep -q "not authenticated" "$T/tampered-$kind-j$j.out" ||
			fail "tampered-$kind-j$j: the seal line does not say 'not authenticated'"
		n=$(same_files "$out")
		[ "$n" -lt "$nsrc" ] || fail "tampered-$kind-j$j: every file was extracted"
		info "tampered-$kind-j$j: $n of $nsrc files extracted, each whole"
		rm -rf "$out"
	done

	# the subtree /a does not read the bad block: it is checked afterwards
	last=$((bsize / 4096 - 1))
	cp "blobs-$kind/$blob" "bad-$kind/"
	flip_bit "bad-$kind/$blob" $((last * 4096 + 5)) 0
	expect_rc 4 "unread-$kind" "$FSCK" "${badopts[@]}" --path=/a --extract="xa-$kind" "$img"
	grep -q "blob 1: block $last fails its Merkle tree" "$T/unread-$kind.err" ||
		fail "unread-$kind: no message naming the block: $(cat "$T/unread-$kind.err")"
	[ "$(same_files "xa-$kind" src/a)" -eq 2 ] || fail "unread-$kind: /a is not whole"

	# the blob by path: checked whole first, nothing extracted
	devopts=(--pubkey=sign.pub --device="bad-$kind/$blob")
	[ "$kind" = e ] && devopts+=("${UNLOCK[@]}")
	expect_rc 4 "device-$kind" "$FSCK" "${devopts[@]}" --extract="xd-$kind" "$img"
	[ ! -e "xd-$kind" ] || fail "device-$kind: something was extracted"
done
echo "PASS: blobs are checked on read; a tampered block stops the extraction"
