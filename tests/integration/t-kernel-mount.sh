#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Build images of the `full` and `large` trees with our mkfs (plain,
# --chunksize=4096, --chunksize=4096 --blobdev), check each with our fsck,
# mount it with the kernel and compare it with the source tree: contents,
# modes, owners, mtimes (no -T, so they are kept), xattrs (user.* needs the
# default user_xattr; trusted.* is visible because we are root), devices,
# hard links.

_lib=$(dirname "$0")/lib.sh
[ -r "$_lib" ] || _lib=${srcdir:-.}/integration/lib.sh
. "$_lib" || { echo "FAIL: cannot source lib.sh"; exit 1; }

need_root
need_progs MKFS FSCK TREECMP GENTREE
need_cmd mount umount losetup mountpoint
grep -qw erofs /proc/filesystems 2>/dev/null || modprobe erofs 2>/dev/null
grep -qw erofs /proc/filesystems || skip "kernel has no erofs support"

gen() {
	bash "$GENTREE" "$1" "$T/$1" >"$T/gen-$1.log" 2>&1
	local rc=$?
	[ $rc -eq 77 ] && skip "gentree $1: $(tail -n1 "$T/gen-$1.log")"
	[ $rc -eq 0 ] || { cat "$T/gen-$1.log"; fail "gentree $1 failed ($rc)"; }
}

# check_variant TREE NAME USE-BLOB(0|1) MKFS-OPTIONS...
check_variant() {
	local tree=$1 name=$2 img=$T/$1-$2.img blob="" src=$T/$1 mnt=$T/mnt
	local -a devopt=() blobs=()
	if [ "$3" = 1 ]; then
		blob=$T/$tree-$name.blob
		devopt=("--device=$blob")
		blobs=("$blob")
	fi
	shift 3
	[ -n "$blob" ] && set -- "$@" "--blobdev=$blob"
	echo "== $tree / $name: mkfs $*"
	# a file (and a root mtime) from the very second of the build: the
	# nanoseconds must survive even when the seconds equal the build time
	: > "$src/created-just-now"
	runcmd mkfs "$MKFS" --quiet "$@" "$img" "$src"
	crashed "$RC" && fail "mkfs crashed (exit $RC): $(head -c 2000 "$T/mkfs.err")"
	[ "$RC" -eq 0 ] || fail "mkfs exited $RC: $(head -c 2000 "$T/mkfs.err")"
	[ -s "$T/mkfs.out" ] && fail "mkfs --quiet wrote to stdout: $(head -c 500 "$T/mkfs.out")"
	info "image $(stat -c %s "$img") bytes (allocated $(du -k "$img" | cut -f1) KiB)${blob:+, blob $(stat -c %s "$blob") bytes}"

	runcmd fsck "$FSCK" "${devopt[@]}" "$img"
	[ "$RC" -eq 0 ] || fail "fsck exited $RC on a fresh image: $(head -c 2000 "$T/fsck.err")"
	info "fsck: clean"

	mount_erofs "$img" "$mnt" "${blobs[@]}" || fail "kernel mount failed"
	runcmd treecmp "$TREECMP" "$src" "$mnt"
	if [ "$RC" -ne 0 ]; then
		echo "treecmp exit $RC; first differences:"
		head -n 40 "$T/treecmp.out" | cut -c1-300
		head -n 10 "$T/treecmp.err" | cut -c1-300
		umount_erofs "$mnt"
		fail "$tree/$name: mounted image differs from the source"
	fi
	info "kernel mount == source tree"
	umount_erofs "$mnt" || fail "umount failed"
	rm -f "$img" ${blob:+"$blob"}
}

gen full
gen large
for tree in full large; do
	check_variant "$tree" plain 0
	check_variant "$tree" chunk 0 --chunksize=4096
	check_variant "$tree" blob 1 --chunksize=4096
done
echo "PASS: kernel mounts of our images match their sources"
exit 0
