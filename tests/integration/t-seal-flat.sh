#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The unified address space of an image with blobs (device-table uniaddr):
# the filesystem region of a sealed image (its first blocks x 4096 bytes,
# read from the superblock, not from our tools) followed by its blobs in
# device-table order mounts as one flat device and equals the tree.  The
# whole sealed image file followed by its blobs does not (the seal sits
# between the filesystem and the first blob): docs/FORMAT.md says so, and
# this test shows that the claim it makes holds.

_lib=$(dirname "$0")/lib.sh
[ -r "$_lib" ] || _lib=${srcdir:-.}/integration/lib.sh
. "$_lib" || { echo "FAIL: cannot source lib.sh"; exit 1; }

need_root
need_progs MKFS TREECMP
need_cmd mount umount mountpoint head cat cmp python3
grep -qw erofs /proc/filesystems 2>/dev/null || modprobe erofs 2>/dev/null
grep -qw erofs /proc/filesystems || skip "kernel has no erofs support"

cd "$T" || fail "cannot enter $T"

# deterministic contents: a seeded generator, several blocks per file
python3 - <<'PY' || fail "cannot make the tree"
import os, random
r = random.Random(20261202)
os.makedirs("src/d", exist_ok=True)
for i, size in enumerate([1, 4096, 4097, 65536, 300000, 1 << 20]):
    with open(f"src/d/f{i}", "wb") as f:
        f.write(r.randbytes(size))
with open("src/small", "w") as f:
    f.write("hello\n")
PY

mkdir blobs || fail "mkdir"
runcmd mkfs "$MKFS" --blob-dir=blobs -U 6c0e7a61-2b1d-4c3e-9f40-0123456789ab \
	img src
[ "$RC" = 0 ] || fail "mkfs --blob-dir: $(cat "$T/mkfs.err")"
# block size and block count straight from the superblock
blkbits=$(rd_u8 img 1036)
blocks=$(rd_le32 img 1060)
fs_bytes=$((blocks << blkbits))
img_bytes=$(stat -c %s img)
[ "$img_bytes" -gt "$fs_bytes" ] || fail "image of $img_bytes bytes carries no seal"
ndev=$(rd_le16 img 1110)
[ "$ndev" = 1 ] || fail "expected one blob in the device table, found $ndev"
blob=$(ls blobs)

head -c "$fs_bytes" img >flat.img
cat "blobs/$blob" >>flat.img
mount_erofs flat.img mnt || fail "the filesystem region followed by its blob does not mount"
"$TREECMP" src mnt >"$T/cmp.out" 2>&1 || fail "flat mount differs from the tree: $(head -5 "$T/cmp.out")"
umount_erofs mnt || fail "cannot unmount"
info "filesystem region ($fs_bytes bytes) + blob mounts flat and equals the tree"

# the claim we no longer make: the sealed image file itself + its blob
cat img "blobs/$blob" >whole.img
if mount_erofs whole.img mnt2; then
	if "$TREECMP" src mnt2 >/dev/null 2>&1; then
		fail "the sealed image file followed by its blob reads right: update docs/FORMAT.md"
	fi
	umount_erofs mnt2
fi
info "the sealed image file + blob does not read right, as docs/FORMAT.md warns"
echo "PASS: $TEST_NAME"
