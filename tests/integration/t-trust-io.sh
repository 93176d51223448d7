#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# What the programs open, and what their messages say about it:
#
#  * block devices are images and blobs like regular files: fsck, dump and
#    erofs-verify read a sealed image and its blob from read-only loop
#    devices (sizes come from the device, st_size of a node is 0), given
#    directly, with --device, as BLOB arguments and through --blob-dir;
#  * mkfs.erofs never replaces a block device, FIFO, character device (not
#    even /dev/null) or directory with its output: it refuses before
#    building, says what the path is, and leaves it as it was;
#  * a FIFO as the image, --device, a BLOB or in --blob-dir is refused,
#    never opened for a blocking read: every command runs under
#    `timeout 20`, so a hang fails the test instead of stalling it;
#  * a path of ~4000 bytes in a message is shortened in its middle: the
#    message keeps the start of the path, the file name and the reason.

_lib=$(dirname "$0")/lib.sh
[ -r "$_lib" ] || _lib=${srcdir:-.}/integration/lib.sh
. "$_lib" || { echo "FAIL: cannot source lib.sh"; exit 1; }

need_root
need_progs MKFS FSCK DUMP VERIFY
need_cmd losetup mknod mkfifo timeout stat cmp head

# tcmd NAME WANT cmd...: run cmd under a 20 s timeout (output in
# $T/NAME.out/.err, status in RC); WANT is "ok", "fail" (any failure that
# is not a hang or crash) or a list of exit codes
tcmd() {
	local name=$1 want=$2
	shift 2
	runcmd "$name" timeout 20 "$@"
	[ "$RC" != 124 ] || fail "$name: hung (killed after 20 s): $*"
	crashed "$RC" && fail "$name: crashed (exit $RC): $(head -c 600 "$T/$name.err")"
	case $want in
	ok) [ "$RC" = 0 ] || fail "$name: exit $RC: $(head -c 600 "$T/$name.err")" ;;
	fail) [ "$RC" != 0 ] || fail "$name: exit 0, expected a failure" ;;
	*) case " $want " in
	   *" $RC "*) ;;
	   *) fail "$name: exit $RC, expected $want: $(head -c 600 "$T/$name.err")" ;;
	   esac ;;
	esac
	[ "$RC" = 0 ] || [ -s "$T/$name.err" ] || fail "$name: exit $RC without a message"
}

# err_says NAME REGEX: stderr of NAME matches the extended REGEX (or fail)
err_says() {
	grep -Eq -- "$2" "$T/$1.err" ||
		fail "$1: message does not match '$2': $(head -c 600 "$T/$1.err")"
}

SRC=$T/src
mkdir -p "$SRC/d"
echo hello >"$SRC/a.txt"
# enough distinct blocks for a blob of several blocks
seq 1 60000 >"$SRC/d/numbers"

mkdir "$T/blobs"
tcmd mkfs-sealed ok "$MKFS" --quiet -T 0 -U clear --blob-dir="$T/blobs" "$T/seal.img" "$SRC"
tcmd mkfs-plain ok "$MKFS" --quiet -T 0 -U clear "$T/plain.img" "$SRC"
BLOB=$(cd "$T/blobs" && ls)
[ "$(echo "$BLOB" | wc -l)" = 1 ] && [ ${#BLOB} = 64 ] ||
	fail "expected one blob named by its digest in $T/blobs, got: $BLOB"

# ---------------------------------------------------------------------------
echo "== block devices as images and blobs"
loop_attach "$T/seal.img" -r || skip "cannot attach a loop device"
IMGDEV=$LOOP_DEV
loop_attach "$T/blobs/$BLOB" -r || fail "cannot attach the blob to a loop device"
BLOBDEV=$LOOP_DEV
loop_attach "$T/plain.img" -r || fail "cannot attach the plain image to a loop device"
PLAINDEV=$LOOP_DEV
info "image $IMGDEV, blob $BLOBDEV, plain image $PLAINDEV"
# a blob directory whose blob is a block device
mkdir "$T/devdir"
ln -s "$BLOBDEV" "$T/devdir/$BLOB"

tcmd fsck-plain-dev ok "$FSCK" "$PLAINDEV"
tcmd dump-plain-dev ok "$DUMP" "$PLAINDEV"
tcmd dump-seal-dev ok "$DUMP" -s "$IMGDEV"
cmp -s "$T/dump-seal-dev.out" <("$DUMP" -s "$T/seal.img" 2>/dev/null) ||
	fail "dump -s of the loop device differs from dump -s of the file"
tcmd fsck-seal-device ok "$FSCK" --device="$BLOBDEV" "$IMGDEV"
grep -q "seal: 2 of 2 devices checked" "$T/fsck-seal-device.out" ||
	fail "fsck --device=$BLOBDEV $IMGDEV did not check both devices: $(cat "$T/fsck-seal-device.out")"
tcmd fsck-seal-blobdir ok "$FSCK" --blob-dir="$T/devdir" "$IMGDEV"
grep -q "seal: 2 of 2 devices checked" "$T/fsck-seal-blobdir.out" ||
	fail "fsck --blob-dir with a block-device blob did not check it: $(cat "$T/fsck-seal-blobdir.out")"
# the image device alone: its region verifies, its blob is "not checked"
tcmd verify-dev 3 "$VERIFY" --integrity-only "$IMGDEV"
grep -q "filesystem region: ok" "$T/verify-dev.out" ||
	fail "erofs-verify did not verify the image device: $(cat "$T/verify-dev.out")"
tcmd verify-dev-blob ok "$VERIFY" --integrity-only "$IMGDEV" "$BLOBDEV"
grep -q "blob 1: ok" "$T/verify-dev-blob.out" ||
	fail "erofs-verify did not verify the blob device: $(cat "$T/verify-dev-blob.out")"
tcmd verify-dev-blobdir ok "$VERIFY" --integrity-only --blob-dir="$T/devdir" "$IMGDEV"
grep -q "blob 1: ok" "$T/verify-dev-blobdir.out" ||
	fail "erofs-verify --blob-dir did not verify the blob device: $(cat "$T/verify-dev-blobdir.out")"
info "fsck, dump and erofs-verify read images and blobs from loop devices"

# ---------------------------------------------------------------------------
echo "== mkfs never replaces what is not a regular file"
# a node of our own for a scratch loop device: were mkfs to replace it, it
# would replace this node in $T, not one in /dev
head -c 1048576 /dev/zero >"$T/disk"
loop_attach "$T/disk" || fail "cannot attach a scratch loop device"
read -r maj min < <(stat -c '%t %T' "$LOOP_DEV")
mknod "$T/blkdev" b "0x$maj" "0x$min" || fail "mknod of a block device failed"
ln -s "$T/blkdev" "$T/blklink"
mkfifo "$T/out.fifo"
mknod "$T/null" c 1 3 || fail "mknod of a null device failed"
mkdir "$T/outdir"
before=$(ls -A "$T")

# refused OUTPUT KIND-REGEX TEST-OP [mkfs options]: mkfs into OUTPUT fails
# (exit 1 or 2), says what OUTPUT is, and OUTPUT is still what it was
refused() {
	local out=$1 kind=$2 op=$3 name
	shift 3
	name=mkfs-into-$(basename "$out")
	tcmd "$name" "1 2" "$MKFS" --quiet "$@" "$out" "$SRC"
	err_says "$name" "$kind"
	test "$op" "$out" || fail "$name: $out is no longer what it was (test $op)"
	info "$(basename "$out"): $(head -n1 "$T/$name.err" | cut -c1-150)..."
}
refused "$T/blkdev" "is a block device.*dd if=" -b
refused "$T/blklink" "is a block device" -b
[ -L "$T/blklink" ] || fail "the symlink to the block device was replaced"
refused "$T/out.fifo" "is a FIFO" -p
refused "$T/null" "is a character device" -c
refused "$T/outdir" "is a directory" -d
tcmd mkfs-blobdev-into-blkdev "1 2" "$MKFS" --quiet --chunksize=4096 \
	--blobdev="$T/blkdev" "$T/never.img" "$SRC"
err_says mkfs-blobdev-into-blkdev "is a block device"
[ -b "$T/blkdev" ] || fail "--blobdev replaced the block device node"
cmp -s -n 1048576 "$T/disk" /dev/zero || fail "the scratch device was written to"
[ "$(ls -A "$T" | grep -v '\.\(out\|err\)$')" = "$(echo "$before" | grep -v '\.\(out\|err\)$')" ] ||
	fail "refused builds left files: $(ls -A "$T")"
info "block device, FIFO, character device and directory outputs are refused"

# ---------------------------------------------------------------------------
echo "== FIFOs are refused, not waited on"
mkfifo "$T/fifo.img" "$T/fifo"
mkdir "$T/fifodir"
mkfifo "$T/fifodir/$BLOB"
tcmd fsck-fifo-image 8 "$FSCK" "$T/fifo.img"
err_says fsck-fifo-image "fifo.img is a FIFO, not a regular file or block device"
tcmd dump-fifo-image fail "$DUMP" "$T/fifo.img"
err_says dump-fifo-image "is a FIFO"
tcmd verify-fifo-image 6 "$VERIFY" --integrity-only "$T/fifo.img"
err_says verify-fifo-image "is a FIFO"
tcmd fsck-fifo-device 8 "$FSCK" --device="$T/fifo" "$T/seal.img"
err_says fsck-fifo-device "device 1: .*fifo is a FIFO"
tcmd fsck-fifo-blobdir 8 "$FSCK" --blob-dir="$T/fifodir" "$T/seal.img"
err_says fsck-fifo-blobdir "$BLOB is a FIFO"
tcmd verify-fifo-blobdir 6 "$VERIFY" --integrity-only --blob-dir="$T/fifodir" "$T/seal.img"
err_says verify-fifo-blobdir "$BLOB is a FIFO"
tcmd verify-fifo-blob 6 "$VERIFY" --integrity-only "$T/seal.img" "$T/fifo"
err_says verify-fifo-blob "fifo is a FIFO"
tcmd verify-fifo-named-blob 6 "$VERIFY" --integrity-only "$T/seal.img" "$T/fifodir/$BLOB"
err_says verify-fifo-named-blob "is a FIFO"
tcmd fsck-chardev-image 8 "$FSCK" "$T/null"
err_says fsck-chardev-image "is a character device"
info "FIFOs and character devices as image, device or blob: refused at once"

# ---------------------------------------------------------------------------
echo "== a 4000-byte path in a message keeps its end and the reason"
long=$(printf 'L%.0s' {1..253})
deep=$T/deep
mkdir "$deep"
# built one level at a time: the whole path is near PATH_MAX
(
	cd "$deep" || exit 1
	for i in $(seq -w 1 15); do
		mkdir "$i$long" && cd "$i$long" || exit 1
	done
	echo doomed >"$(printf 'f%.0s' {1..60})-doomed-file"
	mkfifo fifo-at-the-end
	pwd >"$T/deep-path"
) || fail "cannot build the deep tree"
leaf=$(cat "$T/deep-path")
vname=$(printf 'f%.0s' {1..60})-doomed-file
vpath=$leaf/$vname
info "the doomed file's path: ${#vpath} bytes"
[ ${#vpath} -gt 3900 ] || fail "the deep path is only ${#vpath} bytes"

# a reader given a FIFO at the end of the long path
tcmd verify-long-fifo 6 "$VERIFY" --integrity-only "$leaf/fifo-at-the-end"
err_says verify-long-fifo "^erofs-verify: $T/deep/.*\.\.\..*/fifo-at-the-end is a FIFO, not a regular file or block device$"
tcmd fsck-long-missing 8 "$FSCK" "$leaf/no-such.img"
err_says fsck-long-missing "^fsck.erofs: cannot open $T/deep/.*\.\.\..*/no-such\.img: No such file or directory$"
for n in verify-long-fifo fsck-long-missing; do
	len=$(head -n1 "$T/$n.err" | wc -c)
	[ "$len" -lt 600 ] || fail "$n: the message is $len bytes long"
	info "$n: $len bytes"
done

# mkfs with a file that vanishes between the scan and its open (a real race)
if [ -n "${VANISH_PRELOAD:-}" ] && [ -r "$VANISH_PRELOAD" ]; then
	rm -f "$leaf/fifo-at-the-end"
	rc=0
	# the sanitizer runtime need not come first when a shim is preloaded
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0 \
	VANISH_NAME=$vname LD_PRELOAD=$VANISH_PRELOAD \
		timeout 20 "$MKFS" --quiet "$T/deep.img" "$deep" >"$T/mkfs-long.out" \
		2>"$T/mkfs-long.err" || rc=$?
	[ ! -e "$vpath" ] || fail "the shim did not remove the file"
	[ "$rc" = 1 ] || fail "mkfs with a vanishing file exited $rc: $(head -c 600 "$T/mkfs-long.err")"
	err_says mkfs-long "^mkfs.erofs: $T/deep/.*\.\.\..*-doomed-file: cannot open: No such file or directory$"
	len=$(head -n1 "$T/mkfs-long.err" | wc -c)
	[ "$len" -lt 600 ] || fail "the mkfs message is $len bytes long"
	[ ! -e "$T/deep.img" ] || fail "a failed build left an image"
	info "mkfs: $(cut -c1-60 "$T/mkfs-long.err")...$(tail -c 70 "$T/mkfs-long.err")"
else
	echo "  (VANISH_PRELOAD not built: mkfs long-path case not run)"
fi
echo "PASS: trusted I/O"
