#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Our fsck must read images made by erofs-utils' mkfs.erofs: build the
# `full` tree with the reference mkfs (plain; --chunksize=4096;
# --chunksize=4096 --blobdev), check each with `$FSCK`, extract it with
# `$FSCK --extract=DIR` and compare DIR with the source.
#
# Entries the reference mkfs (1.5) cannot handle are left out, and said so:
#   * paths longer than PATH_MAX (1.5 builds full paths): the 64-level chain
#     is generated with short names (GENTREE_SHORT_PATHS=1)
#   * 255-byte names (1.5 fails with ENOENT on them; 254 bytes work)
# Everything else of `full` (files > 4 GiB, ACLs, capabilities, shared
# xattrs, hard links, devices, sockets, odd names, pre-1970 and post-2106
# mtimes, ...) round-trips through 1.5 + the kernel.
# No -T: 1.5's -T overwrites every mtime.
#
# UPSTREAM_MKFS overrides the reference mkfs (default /usr/bin/mkfs.erofs).

_lib=$(dirname "$0")/lib.sh
[ -r "$_lib" ] || _lib=${srcdir:-.}/integration/lib.sh
. "$_lib" || { echo "FAIL: cannot source lib.sh"; exit 1; }

UMKFS=${UPSTREAM_MKFS:-/usr/bin/mkfs.erofs}
[ -x "$UMKFS" ] || skip "$UMKFS (erofs-utils) is not installed"
need_root
need_progs FSCK TREECMP GENTREE
if command -v dpkg-query >/dev/null 2>&1; then
	info "reference: $UMKFS ($(dpkg-query -W -f='erofs-utils ${Version}' erofs-utils 2>/dev/null))"
else
	info "reference: $UMKFS"
fi

GENTREE_SHORT_PATHS=1 bash "$GENTREE" full "$T/src" >"$T/gen.log" 2>&1
rc=$?
[ $rc -eq 77 ] && skip "gentree: $(tail -n1 "$T/gen.log")"
[ $rc -eq 0 ] || { cat "$T/gen.log"; fail "gentree full failed ($rc)"; }
info "excluded: paths > PATH_MAX (chain built with short names)"
n=0
while IFS= read -r -d '' f; do
	rm -f -- "$f" || fail "rm"
	n=$((n + 1))
done < <(LC_ALL=C find "$T/src" -name "$(printf '?%.0s' $(seq 1 255))" -print0)
[ "$n" -gt 0 ] || fail "expected some 255-byte names in the full tree"
info "excluded: $n entries with 255-byte names (erofs-utils 1.5 cannot store them)"
# removing entries changed the parent's mtime; make it deterministic again
touch -d '2020-02-29 12:34:56.789' "$T/src/names"

variant() {
	local name=$1 useblob=$2 img=$T/$1.img blob=$T/$1.blob out=$T/out-$1
	local -a dev=()
	shift 2
	if [ "$useblob" = 1 ]; then
		set -- "$@" "--blobdev=$blob"
		dev=("--device=$blob")
	fi
	echo "== $name: reference mkfs $*"
	runcmd umkfs "$UMKFS" --quiet "$@" "$img" "$T/src"
	[ "$RC" -eq 0 ] || fail "reference mkfs exited $RC: $(head -c 2000 "$T/umkfs.err")"

	runcmd fsck "$FSCK" "${dev[@]}" "$img"
	crashed "$RC" && fail "fsck crashed (exit $RC): $(head -c 2000 "$T/fsck.err")"
	[ "$RC" -eq 0 ] || fail "fsck exited $RC on a reference image: $(head -c 2000 "$T/fsck.err")"
	info "fsck: clean"

	runcmd extract "$FSCK" "${dev[@]}" --extract="$out" "$img"
	crashed "$RC" && fail "fsck --extract crashed (exit $RC): $(head -c 2000 "$T/extract.err")"
	[ "$RC" -eq 0 ] || fail "fsck --extract exited $RC: $(head -c 2000 "$T/extract.err")"
	[ -d "$out" ] || fail "fsck --extract did not create $out"

	runcmd treecmp "$TREECMP" --ignore-root-mtime "$T/src" "$out"
	if [ "$RC" -ne 0 ]; then
		echo "treecmp exit $RC; first differences:"
		head -n 40 "$T/treecmp.out" | cut -c1-300
		head -n 10 "$T/treecmp.err" | cut -c1-300
		fail "$name: extracted tree differs from the source"
	fi
	info "extracted tree == source"
	# the sparse file should stay sparse-ish when extracted (not required,
	# just reported)
	info "extracted files/sparse uses $(du -k "$out/files/sparse" | cut -f1) KiB"
	rm -rf "$out" "$img" "$blob"
}

variant plain 0
variant chunk 0 --chunksize=4096
variant blob 1 --chunksize=4096
echo "PASS: our fsck reads and extracts reference images exactly"
exit 0
