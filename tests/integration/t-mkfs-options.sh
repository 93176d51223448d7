#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# mkfs.erofs options that shape the tree: exclusions, ownership, times,
# labels, xattr handling, usage errors, and a source that changes while it
# is read.  Results are read back through the kernel.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need_root
need_progs MKFS FSCK DUMP
need_cmd setfattr getfattr

src=$T/src
mkdir -p "$src/a/b" "$src/skip/deep" "$src/keep"
echo c >"$src/a/b/c.txt"
echo d >"$src/a/b/d.txt"
touch -d '2019-01-01 12:00:00' "$src/a/b/d.txt"
echo log >"$src/x.log"
echo log >"$src/keep/y.log"
echo s >"$src/skip/deep/s"
echo k >"$src/keep/k"
chown 70000:70001 "$src/keep/k"
setfattr -n user.tag -v v "$src/keep/k"
touch -d '2030-01-01 00:00:00' "$src/keep/future"
mnt=$T/mnt
mkdir -p "$mnt"

build_and_mount() { # IMG OPTIONS...
	local img=$1
	shift
	"$MKFS" --quiet "$@" "$img" "$src" || fail "mkfs $* failed"
	"$FSCK" "$img" >/dev/null || fail "fsck failed on mkfs $*"
	mount_erofs "$img" "$mnt"
}

echo "== --exclude-path and --exclude-regex"
build_and_mount "$T/ex.img" --exclude-path=skip/ --exclude-path=/a/b/c.txt --exclude-regex='\.log$'
for gone in skip a/b/c.txt x.log keep/y.log; do
	[ ! -e "$mnt/$gone" ] || fail "$gone was not excluded"
done
for kept in a/b/d.txt keep/k; do
	[ -e "$mnt/$kept" ] || fail "$kept was excluded by mistake"
done
umount_erofs "$mnt"
info "excluded paths and regex matches are absent, the rest present"

echo "== --all-root, --force-uid/--force-gid"
build_and_mount "$T/root.img" --all-root
[ "$(stat -c %u:%g "$mnt/keep/k")" = 0:0 ] || fail "--all-root kept $(stat -c %u:%g "$mnt/keep/k")"
umount_erofs "$mnt"
build_and_mount "$T/force.img" --force-uid=1234 --force-gid=5678
owners=$(find "$mnt" -printf '%U:%G\n' | sort -u)
[ "$owners" = 1234:5678 ] || fail "--force-uid/gid gave $owners"
umount_erofs "$mnt"
build_and_mount "$T/own.img"
[ "$(stat -c %u:%g "$mnt/keep/k")" = 70000:70001 ] || fail "uid/gid over 65535 not kept"
[ "$(getfattr --absolute-names --only-values -n user.tag "$mnt/keep/k")" = v ] || fail "xattr lost"
umount_erofs "$mnt"
info "ownership options work; uid/gid > 65535 and xattrs kept by default"

echo "== -x -1 drops xattrs"
build_and_mount "$T/noxattr.img" -x -1
if getfattr --absolute-names -n user.tag "$mnt/keep/k" >/dev/null 2>&1; then fail "-x -1 kept an xattr"; fi
umount_erofs "$mnt"

echo "== -T, --mkfs-time, SOURCE_DATE_EPOCH, -L"
build_and_mount "$T/t.img" -T 1234567890 -L mylabel
times=$(find "$mnt" -printf '%T@\n' | sort -u)
[ "$times" = 1234567890.0000000000 ] || fail "-T left mtimes $times"
umount_erofs "$mnt"
"$DUMP" -s "$T/t.img" | grep 'label: *mylabel' >/dev/null || fail "label not shown"
"$DUMP" -s "$T/t.img" | grep '2009-02-13 23:31:30' >/dev/null || fail "-T not the build time"
build_and_mount "$T/mt.img" -T 1234567890 --mkfs-time
[ "$(stat -c %Y "$mnt/keep/future")" = "$(stat -c %Y "$src/keep/future")" ] ||
	fail "--mkfs-time changed a file mtime"
umount_erofs "$mnt"
SOURCE_DATE_EPOCH=1600000000 build_and_mount "$T/sde.img"
[ "$(stat -c %Y "$mnt/keep/future")" = 1600000000 ] || fail "SOURCE_DATE_EPOCH did not clamp"
[ "$(stat -c %Y "$mnt/a/b/d.txt")" = "$(stat -c %Y "$src/a/b/d.txt")" ] ||
	fail "SOURCE_DATE_EPOCH changed an older mtime"
umount_erofs "$mnt"
info "-T sets every mtime, --mkfs-time only the superblock, SOURCE_DATE_EPOCH clamps"

echo "== usage errors exit 2 with a message and write nothing"
usage_case() { # EXPECTED-SUBSTRING ARGS...
	local want=$1 rc=0
	shift
	"$MKFS" "$@" "$T/bad.img" "$src" >/dev/null 2>"$T/err" || rc=$?
	[ "$rc" = 2 ] || fail "mkfs $* exited $rc, expected 2"
	grep -q -- "$want" "$T/err" || fail "mkfs $*: message lacks '$want': $(cat "$T/err")"
	[ ! -e "$T/bad.img" ] || fail "mkfs $* left an image"
}
usage_case "only 4096" -b 8192
usage_case "power of two" --chunksize=3000
usage_case "needs a chunk size.*(see --blobdev, --chunksize)" --blobdev="$T/blob"
usage_case "invalid UUID" -U nope
usage_case "need a blob directory.*(see --chunk-dict, --blob-dir)" --chunk-dict="$T/own.img"
usage_case "needs a chunk dictionary.*(see --repack-below, --chunk-dict)" --repack-below=5%
for v in 0 0% 101% 1.234% 5.% 12X -3 1%% 99999999999999G; do
	usage_case "invalid --repack-below '$v'" --repack-below="$v"
done
# (grep reads all of it: grep -q would stop early and, under pipefail, a
# help text longer than one pipe write would then fail with SIGPIPE)
"$MKFS" --help | grep -- '--chunksize' >/dev/null || fail "--help lacks --chunksize"
"$MKFS" --version | grep erofs-seal >/dev/null || fail "--version"

echo "== sealed output does not depend on the number of hashing threads"
rnd 6000000 >"$src/keep/big"
mkdir -p "$T/b1" "$T/b2"
"$MKFS" --quiet -T 1 -U 11111111-2222-3333-4444-555555555555 -j 1 --blob-dir="$T/b1" "$T/j1.img" "$src"
"$MKFS" --quiet -T 1 -U 11111111-2222-3333-4444-555555555555 -j 2 --blob-dir="$T/b2" "$T/j2.img" "$src"
cmp "$T/j1.img" "$T/j2.img" || fail "-j 1 and -j 2 images differ"
[ "$(ls "$T/b1")" = "$(ls "$T/b2")" ] || fail "-j 1 and -j 2 blobs differ"
rm -f "$src/keep/big"
info "-j 1 and -j 2 give byte-identical images and blob names"

echo "== a source file that changes while it is read"
if mount --bind /proc/version "$src/a/b/d.txt" 2>/dev/null; then
	cp "$T/own.img" "$T/keep.img"
	rc=0
	"$MKFS" --quiet "$T/keep.img" "$src" 2>"$T/err" || rc=$?
	umount "$src/a/b/d.txt"
	[ "$rc" = 1 ] || fail "mkfs on a changing file exited $rc"
	grep -q 'd.txt' "$T/err" && grep -q 'changed during the build' "$T/err" ||
		fail "message does not name the file and the change: $(cat "$T/err")"
	cmp -s "$T/own.img" "$T/keep.img" || fail "the existing image was modified"
	leftovers=$(find "$T" -maxdepth 1 -name 'keep.img.tmp*')
	[ -z "$leftovers" ] || fail "temporary files left: $leftovers"
	info "a file that grows while read fails the build, names the file, keeps the old image"
else
	echo "  (bind mount unavailable: changing-source case not run)"
fi
echo "== a source file that vanishes between the scan and its open"
if [ -n "${VANISH_PRELOAD:-}" ] && [ -r "$VANISH_PRELOAD" ]; then
	echo gone >"$src/keep/vanishing"
	cp "$T/own.img" "$T/keep2.img"
	rc=0
	# the sanitizer runtime need not come first when a shim is preloaded
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0 \
	VANISH_NAME=vanishing LD_PRELOAD=$VANISH_PRELOAD \
		"$MKFS" --quiet "$T/keep2.img" "$src" 2>"$T/err" || rc=$?
	[ ! -e "$src/keep/vanishing" ] || fail "the shim did not remove the file"
	[ "$rc" = 1 ] || fail "mkfs with a vanishing file exited $rc: $(cat "$T/err")"
	grep -q 'vanishing' "$T/err" || fail "message does not name the file: $(cat "$T/err")"
	cmp -s "$T/own.img" "$T/keep2.img" || fail "the existing image was modified"
	leftovers=$(find "$T" -maxdepth 1 -name 'keep2.img.tmp*')
	[ -z "$leftovers" ] || fail "temporary files left: $leftovers"
	info "$(head -n1 "$T/err")"
	info "a vanished file fails the build, names the file, keeps the old image"
else
	echo "  (VANISH_PRELOAD not built: vanishing-file case not run)"
fi
echo "== a chunked source file that grows between the scan and its read"
if [ -n "${VANISH_PRELOAD:-}" ] && [ -r "$VANISH_PRELOAD" ]; then
	# 5000 bytes: the end is inside a block (the read of its last run
	# looks one byte further); 8192: on a block boundary (a separate look)
	for size in 5000 8192; do
		rnd "$size" >"$src/keep/growing"
		rm -rf "$T/gb"; mkdir "$T/gb"
		rc=0
		ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0 \
		GROW_AT=growing LD_PRELOAD=$VANISH_PRELOAD \
			"$MKFS" --quiet --blob-dir="$T/gb" "$T/grow.img" "$src" 2>"$T/err" || rc=$?
		[ "$(stat -c %s "$src/keep/growing")" = $((size + 6)) ] ||
			fail "the shim did not grow the file"
		[ "$rc" = 1 ] || fail "mkfs on a file grown to $((size + 6)) exited $rc: $(cat "$T/err")"
		grep -q 'growing: file grew while it was read' "$T/err" ||
			fail "message does not name the file and the growth: $(cat "$T/err")"
		[ ! -e "$T/grow.img" ] || fail "a failed build left grow.img"
		[ -z "$(ls "$T/gb")" ] || fail "a failed build left blobs: $(ls -a "$T/gb")"
		info "$size bytes: $(head -n1 "$T/err" | cut -c1-160)"
	done
	rm -f "$src/keep/growing"
else
	echo "  (VANISH_PRELOAD not built: growing-file case not run)"
fi
echo "PASS: mkfs options"
