#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The README's quick start, as it stands: the ```sh blocks between
# <!-- quickstart --> and <!-- /quickstart --> are taken from README.md and
# run, with our programs first in PATH under their installed names, in an
# empty folder, each command required to succeed.  Then:
#
#  * the extracted release 2 is the source tree (treecmp);
#  * the mount block (<!-- quickstart-root -->, as root where the kernel
#    has erofs and loop devices) prints release 2's motd, and the tree it
#    mounted, read back by the kernel while mounted, is the source tree;
#  * what the README says mkfs prints ("also publish") and what it says
#    the verifier prints ("verified") is what they print.

_lib=$(dirname "$0")/lib.sh
[ -r "$_lib" ] || _lib=${srcdir:-.}/integration/lib.sh
. "$_lib" || { echo "FAIL: cannot source lib.sh"; exit 1; }

need_progs MKFS FSCK DUMP VERIFY TREECMP
need_cmd openssl awk
README=$LIBDIR/../../README.md
[ -r "$README" ] || fail "cannot find README.md"

# blocks NAME: the shell blocks of README.md between <!-- NAME --> and <!-- /NAME -->
blocks() {
	awk -v start="<!-- $1 -->" -v stop="<!-- /$1 -->" '
		$0 == start { on = 1; next }
		$0 == stop { on = 0; next }
		on && /^```sh$/ { code = 1; next }
		on && /^```$/ { code = 0; next }
		on && code { print }
	' "$README"
}

mkdir -p "$T/bin" "$T/work"
ln -s "$MKFS" "$T/bin/mkfs.erofs"
ln -s "$FSCK" "$T/bin/fsck.erofs"
ln -s "$DUMP" "$T/bin/dump.erofs"
ln -s "$VERIFY" "$T/bin/erofs-verify"
export PATH="$T/bin:$PATH"

blocks quickstart >"$T/quickstart.sh"
[ "$(grep -c 'mkfs.erofs' "$T/quickstart.sh")" -ge 2 ] ||
	fail "README.md has no quick start between <!-- quickstart --> markers"
cd "$T/work" || fail "cannot enter $T/work"
echo "== the quick start"
bash -e "$T/quickstart.sh" >"$T/qs.out" 2>"$T/qs.err" ||
	fail "the quick start failed: $(tail -n 20 "$T/qs.err") $(tail -n 20 "$T/qs.out")"
sed 's/^/  | /' "$T/qs.out" | head -n 30
says quickstart "$T/qs.out" "also publish blobs/" "that release 1's blob is published too"
says quickstart "$T/qs.out" "site/release2.img verified" "verified"
printf 'release 2\n' | cmp -s - release2/etc/motd || bad "release2/etc/motd is not release 2's"
"$TREECMP" rootfs release2 >"$T/cmp.out" 2>&1 ||
	bad "the extracted tree differs from the source: $(head -c 800 "$T/cmp.out")"

echo "== the mount"
if [ "$(id -u)" != 0 ]; then
	info "not root: the mount block is not run"
elif ! grep -qw erofs /proc/filesystems && ! modprobe erofs 2>/dev/null; then
	info "the kernel has no erofs: the mount block is not run"
elif ! command -v losetup >/dev/null || ! losetup -f >/dev/null 2>&1; then
	info "no free loop device: the mount block is not run"
else
	blocks quickstart-root >"$T/mount.sh"
	[ -s "$T/mount.sh" ] || fail "README.md has no mount block"
	# the same block, stopped before it unmounts, to compare what the kernel reads
	sed '/^umount /,$d' "$T/mount.sh" >"$T/mount-keep.sh"
	bash -e "$T/mount-keep.sh" >"$T/mount-keep.out" 2>"$T/mount-keep.err" ||
		fail "the mount block failed: $(cat "$T/mount-keep.err")"
	_MOUNTS+=("$T/work/mnt")
	"$TREECMP" rootfs mnt >"$T/mcmp.out" 2>&1 ||
		bad "the mounted tree differs from the source: $(head -c 800 "$T/mcmp.out")"
	sed -n '/^umount /,$p' "$T/mount.sh" >"$T/unmount.sh"
	bash -e "$T/unmount.sh" || bad "the unmount lines failed"
	mountpoint -q mnt && bad "still mounted after the README's umount"
	for f in site/release2.img site/blobs/*; do
		[ -z "$(losetup -j "$f")" ] || bad "a loop device of $f is still attached"
	done
	# and the whole block as written
	bash -e "$T/mount.sh" >"$T/mount.out" 2>"$T/mount.err" ||
		bad "the mount block failed: $(cat "$T/mount.err")"
	says mount "$T/mount.out" "^release 2$" "release 2's motd"
fi

finish_cases "the README's quick start works as written"
