#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# What the programs say along a release: build into a blob folder, build
# the next release against the first (--chunk-dict), publish, compare.
#
#  * mkfs makes a --blob-dir that does not exist (its parent must exist:
#    otherwise it says it cannot create the folder, and builds nothing);
#  * "new blob DIR/HEX" the first time, "blob already present DIR/HEX"
#    when the folder already held it (the same tree built again);
#  * after a --chunk-dict build, "also publish DIR/HEX, N MB" for each
#    blob of the dictionary the image reads: HEX = `fsverity digest` of
#    that blob, N its size in MB (stat);
#  * dump.erofs --delta labels its figures: the image file (stat), the
#    whole-blob and the chunk-level download;
#  * a blob missing from --blob-dir is named by digest and folder path;
#    a --blob-dir that does not exist is refused when it is parsed
#    (usage exit), an IMAGE that is a directory before anything is read;
#  * an image written inside the source tree is not in the image
#    (erofs-utils' dump.erofs lists the root).

_lib=$(dirname "$0")/lib.sh
[ -r "$_lib" ] || _lib=${srcdir:-.}/integration/lib.sh
. "$_lib" || { echo "FAIL: cannot source lib.sh"; exit 1; }

need_progs MKFS FSCK DUMP VERIFY
need_cmd fsverity stat

cd "$T" || fail "cannot enter $T"

mkdir -p v1/d
detstream 1 | head -c $((300 * 1024)) >v1/big
printf 'small\n' >v1/d/small
cp -a v1 v2
detstream 2 | head -c $((100 * 1024)) >v2/new

echo "== the blob folder"
run_rc 1 no-parent "$MKFS" --blob-dir=missing/blobs x.img v1
says no-parent no-parent.err "cannot create the blob folder missing/blobs" "why"
[ -e x.img ] && bad "no-parent: an image was written"
run_rc 0 first "$MKFS" --blob-dir=blobs v1.img v1
[ -d blobs ] || bad "first: the blob folder was not made"
says first first.out "created the blob folder blobs" "that it made the folder"
blob1=$(ls blobs)
says first first.out "new blob blobs/$blob1" "new blob"
run_rc 0 again "$MKFS" --blob-dir=blobs v1-again.img v1
says again again.out "blob already present blobs/$blob1" "blob already present"
not_says again again.out "new blob" "new blob"

echo "== the next release against the first"
run_rc 0 second "$MKFS" --blob-dir=blobs --chunk-dict=v1.img v2.img v2
digest1=$(fsverity digest --compact "blobs/$blob1")
size1=$(awk -v b="$(stat -c %s "blobs/$blob1")" 'BEGIN {
	if (b < 1e6) printf "%.1f kB", b / 1e3; else printf "%.1f MB", b / 1e6 }')
says second second.out "also publish blobs/$digest1, $size1 " "to also publish v1's blob"
blob2=$(ls blobs | grep -vx "$blob1")
says second second.out "new blob blobs/$blob2" "its new blob"
[ "$(grep -c 'also publish' second.out)" = 1 ] || bad "second: more than one blob to also publish"
not_says first first.out "also publish" "also publish without --chunk-dict"

echo "== dump --delta"
run_rc 0 delta "$DUMP" --delta=v1.img v2.img
img=$(stat -c %s v2.img) new=$(stat -c %s "blobs/$blob2")
says delta delta.out "^image file: $img bytes" "the image file's size"
says delta delta.out "^whole-blob download \(image file \+ new blobs\): $((img + new)) bytes" \
	"the whole-blob download"
says delta delta.out "^chunk-level download" "the chunk-level download"
says delta delta.out "dump.erofs --delta=v2.img v1.img" "the other direction"
says delta delta.out "^blobs of old no longer read: 0, 0 bytes" "that v2 reads every blob of v1"
run_rc 0 delta-back "$DUMP" --delta=v2.img v1.img
says delta-back delta-back.out "^blobs of old no longer read: 1, $new bytes" \
	"that v1 does not read v2's new blob"
says delta-back delta-back.out "^new blobs: 0 of 1" "that v1 needs no new blob"

echo "== missing blobs and folders"
mkdir part
cp "blobs/$blob2" part/
run_rc 8 fsck-missing "$FSCK" --blob-dir=part --extract=out v2.img
says fsck-missing fsck-missing.err "blob $blob1, which is missing from the blob folder: cannot open part/$blob1" \
	"the missing digest and folder"
for p in FSCK DUMP VERIFY; do
	want=$( case $p in FSCK) echo 16 ;; DUMP) echo 2 ;; VERIFY) echo 64 ;; esac )
	run_rc "$want" "$p-nodir" "${!p}" --blob-dir=no-such-folder v2.img
	says "$p-nodir" "$p-nodir.err" "blob-dir no-such-folder: No such file or directory" "the folder"
	want=$( case $p in FSCK) echo 8 ;; DUMP) echo 1 ;; VERIFY) echo 6 ;; esac )
	run_rc "$want" "$p-dir" "${!p}" $( [ $p = VERIFY ] && echo --integrity-only ) v1
	says "$p-dir" "$p-dir.err" "v1 is a directory" "that IMAGE is a directory"
done

echo "== an image inside the source tree"
cp -a v1 tree
run_rc 0 inside "$MKFS" tree/self.img tree
if [ -x /usr/bin/dump.erofs ]; then
	run_rc 0 upstream-ls /usr/bin/dump.erofs --path=/ --ls tree/self.img &&
		not_says upstream-ls upstream-ls.out "self.img" "its own image"
	says upstream-ls upstream-ls.out "big" "the tree's files"
else
	info "no /usr/bin/dump.erofs: image exclusion not checked by erofs-utils"
fi

finish_cases "release-flow messages"
