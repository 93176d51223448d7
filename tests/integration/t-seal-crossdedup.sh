#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Cross-image deduplication with --chunk-dict:
#
#  * tree A: a few MiB of random, mostly block-aligned files; image A with
#    --blob-dir;
#  * tree B: a copy of A with known block-aligned changes (blocks
#    overwritten, appended, new files, copies of A's data, copies within B,
#    zero blocks, a removed and a renamed file); image B with --blob-dir
#    --chunk-dict=A.  B's new blob must hold exactly the 4 KiB chunks A
#    lacks (counted here from the changes we made), `dump --delta=A B`
#    must say the same, and B's device table must list its new blob and
#    A's blob;
#  * a third generation C (--chunk-dict=B) and an unchanged copy D
#    (--chunk-dict=A: no new blob at all);
#  * every image mounts with the kernel (blobs on loop devices in
#    device-table order) and equals its tree (treecmp), erofs-verify
#    --blob-dir accepts it, fsck --extract of B and C equals their trees.

_lib=$(dirname "$0")/lib.sh
[ -r "$_lib" ] || _lib=${srcdir:-.}/integration/lib.sh
. "$_lib" || { echo "FAIL: cannot source lib.sh"; exit 1; }

need_root
need_progs MKFS DUMP VERIFY FSCK TREECMP
need_cmd mount umount losetup mountpoint dd cmp
grep -qw erofs /proc/filesystems 2>/dev/null || modprobe erofs 2>/dev/null
grep -qw erofs /proc/filesystems || skip "kernel has no erofs support"

cd "$T" || fail "cannot enter $T"
B=4096

# put_block FILE INDEX: overwrite block INDEX of FILE with random bytes
put_block() {
	rnd $B | dd of="$1" bs=$B seek="$2" conv=notrunc status=none ||
		fail "cannot write block $2 of $1"
}

# mkimg NAME TREE [MKFS-ARGS...]: image NAME.img of TREE into blobs/;
# sets NEWBLOB to the blob it added (empty when none)
mkimg() {
	local name=$1 tree=$2 before after
	shift 2
	before=$(LC_ALL=C ls blobs)
	runcmd "mkfs-$name" "$MKFS" --quiet --blob-dir=blobs "$@" "$name.img" "$tree"
	crashed "$RC" && fail "mkfs $name crashed ($RC): $(head -c 2000 "mkfs-$name.err")"
	[ "$RC" -eq 0 ] || fail "mkfs $name exited $RC: $(head -c 2000 "mkfs-$name.err")"
	after=$(LC_ALL=C ls blobs)
	NEWBLOB=$(LC_ALL=C comm -13 <(echo "$before") <(echo "$after") | sed '/^$/d')
	[ "$(echo "$NEWBLOB" | sed '/^$/d' | wc -l)" -le 1 ] ||
		fail "mkfs $name added more than one blob: $NEWBLOB"
	"$DUMP" -s "$name.img" >"dump-$name.out" 2>"dump-$name.err" ||
		fail "dump -s $name failed: $(cat "dump-$name.err")"
}

# devtags NAME: the device-table tags of NAME.img, in slot order
devtags() {
	sed -n 's/^ *device \([0-9]*\): blocks [0-9]*, mapped at block [0-9]*, tag "\([^"]*\)".*/\1 \2/p' \
		"dump-$1.out" | sort -n | cut -d' ' -f2
}

# delta_field OLD NEW FIELD: a value from dump --delta
delta_field() {
	"$DUMP" --delta="$1.img" "$2.img" >"delta-$1-$2.out" 2>"delta-$1-$2.err" ||
		fail "dump --delta=$1 $2 failed: $(cat "delta-$1-$2.err")"
	sed -n "s/^$3: *\\([0-9]*\\).*/\\1/p" "delta-$1-$2.out"
}

# check_delta OLD NEW NEWBLOCKS
check_delta() {
	local want=$(($3 * B)) v
	v=$(delta_field "$1" "$2" "new blob bytes")
	[ "$v" = "$want" ] || fail "dump --delta=$1 $2: new blob bytes $v, expected $want"
	v=$(delta_field "$1" "$2" "new chunk bytes")
	[ "$v" = "$want" ] || fail "dump --delta=$1 $2: new chunk bytes $v, expected $want"
	v=$(delta_field "$1" "$2" "new chunks")
	[ "$v" = "$3" ] || fail "dump --delta=$1 $2: new chunks $v, expected $3"
	info "dump --delta=$1 $2: $3 new chunks, $want new blob bytes"
}

# check_image NAME TREE: kernel mount + treecmp, erofs-verify
check_image() {
	local name=$1 tree=$2 mnt=$T/mnt-$1 t
	local -a devs=()
	for t in $(devtags "$name"); do
		[ -f "blobs/$t" ] || fail "$name: device-table blob $t is not in blobs/"
		devs+=("blobs/$t")
	done
	mount_erofs "$name.img" "$mnt" "${devs[@]}" ||
		fail "$name: kernel mount with ${#devs[@]} blob(s) failed"
	runcmd "treecmp-$name" "$TREECMP" "$tree" "$mnt"
	if [ "$RC" -ne 0 ]; then
		head -n 30 "treecmp-$name.out" "treecmp-$name.err" | cut -c1-300
		umount_erofs "$mnt"
		fail "$name: the mounted image differs from its tree (treecmp $RC)"
	fi
	umount_erofs "$mnt" || fail "cannot unmount $mnt"
	info "$name: kernel mount with ${#devs[@]} blob(s) equals the tree"
	runcmd "verify-$name" "$VERIFY" --integrity-only --blob-dir=blobs "$name.img"
	crashed "$RC" && fail "erofs-verify $name crashed ($RC)"
	[ "$RC" -eq 0 ] || fail "erofs-verify --blob-dir $name exited $RC: $(head -c 1000 "verify-$name.err")"
	grep -q "blob $((${#devs[@]})): ok" "verify-$name.out" ||
		fail "erofs-verify did not check all ${#devs[@]} blobs: $(cat "verify-$name.out")"
	info "$name: erofs-verify --blob-dir: 0, all ${#devs[@]} blob(s) ok"
}

# check_extract NAME TREE: fsck --extract equals the tree
check_extract() {
	runcmd "fsck-$1" "$FSCK" --blob-dir=blobs --extract="ext-$1" "$1.img"
	crashed "$RC" && fail "fsck $1 crashed ($RC)"
	[ "$RC" -eq 0 ] || fail "fsck --extract $1 exited $RC: $(head -c 1000 "fsck-$1.err")"
	runcmd "treecmp-ext-$1" "$TREECMP" "$2" "ext-$1"
	if [ "$RC" -ne 0 ]; then
		head -n 30 "treecmp-ext-$1.out" "treecmp-ext-$1.err" | cut -c1-300
		fail "$1: fsck --extract differs from its tree (treecmp $RC)"
	fi
	info "$1: fsck --extract equals the tree"
}

echo "== tree A and image A"
mkdir -p A/sub blobs
rnd $((512 * B)) >A/big
rnd $((100 * B)) >A/mid
rnd $((50 * B + 100)) >A/tail      # 51 chunks, the last one 100 bytes
rnd $((20 * B)) >A/grow
rnd $((30 * B)) >A/sub/s1
rnd $((10 * B)) >A/gone
printf 'hello\n' >A/small           # 1 chunk
A_CHUNKS=$((512 + 100 + 51 + 20 + 30 + 10 + 1))
mkimg A A
blobA=$NEWBLOB
[ -n "$blobA" ] || fail "image A wrote no blob"
[ "$(stat -c %s "blobs/$blobA")" -eq $((A_CHUNKS * B)) ] ||
	fail "A's blob is $(stat -c %s "blobs/$blobA") bytes, expected $A_CHUNKS blocks"
[ "$(devtags A)" = "$blobA" ] || fail "A's device table should list only its blob: $(devtags A)"
info "A: blob $blobA, $A_CHUNKS blocks"

echo "== tree B = A + known changes; image B with --chunk-dict=A"
cp -a A B
new=0
put_block B/big 10; put_block B/big 300; new=$((new + 2))
rnd $((3 * B + 777)) >>B/grow; new=$((new + 4))        # 3 blocks + a tail
rnd $((5 * B)) >B/sub/new1; new=$((new + 5))
cp B/sub/new1 B/sub/new2                                # duplicates B's own
dd if=A/mid of=B/copy-of-mid bs=$B skip=20 count=20 status=none # A's chunks
{ head -c $((8 * B)) /dev/zero; rnd $B; } >B/zeros; new=$((new + 1)) # zero chunks: no space
rm B/gone
mv B/sub/s1 B/sub/renamed
echo "  expect $new new 4 KiB chunks in B"
mkimg B B --chunk-dict=A.img
blobB=$NEWBLOB
[ -n "$blobB" ] || fail "image B wrote no new blob"
[ "$(stat -c %s "blobs/$blobB")" -eq $((new * B)) ] ||
	fail "B's new blob is $(stat -c %s "blobs/$blobB") bytes, expected $((new * B)) ($new chunks A lacks)"
info "B: new blob $blobB holds exactly the $new chunks A lacks"
tagsB=$(devtags B | tr '\n' ' ')
[ "$tagsB" = "$blobB $blobA " ] || fail "B's device table lists [$tagsB], expected [$blobB $blobA ]"
grep -q "fs-verity sha256:$blobA" dump-B.out || fail "B's seal does not list A's blob digest"
grep -q "fs-verity sha256:$blobB" dump-B.out || fail "B's seal does not list its blob digest"
info "B: device table = its new blob, then A's blob; both digests sealed"
check_delta A B "$new"
# A is unchanged by building B
runcmd verifyA0 "$VERIFY" --integrity-only --blob-dir=blobs A.img
[ "$RC" -eq 0 ] || fail "A no longer verifies after building B ($RC)"

echo "== generation C = B + 2 blocks, --chunk-dict=B"
cp -a B C
rnd $((2 * B)) >C/gen3
printf 'tail of c' >>C/mid; # A's mid + a 9-byte chunk: 1 more
newc=3
mkimg C C --chunk-dict=B.img
blobC=$NEWBLOB
[ -n "$blobC" ] || fail "image C wrote no new blob"
[ "$(stat -c %s "blobs/$blobC")" -eq $((newc * B)) ] ||
	fail "C's new blob is $(stat -c %s "blobs/$blobC") bytes, expected $((newc * B))"
tagsC=$(devtags C | tr '\n' ' ')
case " $tagsC" in
" $blobC "*) ;;
*) fail "C's device table should list its new blob first: [$tagsC]" ;;
esac
for t in "$blobA" "$blobB"; do
	case " $tagsC" in *" $t "*) ;; *) fail "C's device table lacks $t: [$tagsC]" ;; esac
done
[ "$(echo "$tagsC" | wc -w)" -eq 3 ] || fail "C's device table should have 3 blobs: [$tagsC]"
info "C: new blob of $newc blocks; device table lists C's, B's and A's blobs"
check_delta B C "$newc"

echo "== unchanged copy D, --chunk-dict=A"
cp -a A D
mkimg D D --chunk-dict=A.img
[ -z "$NEWBLOB" ] || fail "an unchanged tree wrote a new blob $NEWBLOB ($(stat -c %s "blobs/$NEWBLOB") bytes)"
[ "$(devtags D)" = "$blobA" ] || fail "D's device table should list only A's blob: $(devtags D | tr '\n' ' ')"
check_delta A D 0
info "D: no new blob, only A's blob referenced"

echo "== kernel mounts, erofs-verify"
check_image A A
check_image B B
check_image C C
check_image D D

echo "== fsck --extract"
check_extract B B
check_extract C C

echo "PASS"
exit 0
