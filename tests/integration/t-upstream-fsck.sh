#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Cross-check our images with the reference tools: erofs-utils' fsck.erofs
# must accept every image our mkfs builds from the `full` tree (plain,
# --chunksize=4096, --chunksize=4096 --blobdev), also with --extract (no
# directory: reads and checks all file data), and dump.erofs -s / -S must
# work on them.
#
# UPSTREAM_FSCK / UPSTREAM_DUMP override the tools (default /usr/bin/...).

_lib=$(dirname "$0")/lib.sh
[ -r "$_lib" ] || _lib=${srcdir:-.}/integration/lib.sh
. "$_lib" || { echo "FAIL: cannot source lib.sh"; exit 1; }

UFSCK=${UPSTREAM_FSCK:-/usr/bin/fsck.erofs}
UDUMP=${UPSTREAM_DUMP:-/usr/bin/dump.erofs}
[ -x "$UFSCK" ] || skip "$UFSCK (erofs-utils) is not installed"
[ -x "$UDUMP" ] || skip "$UDUMP (erofs-utils) is not installed"
need_progs MKFS GENTREE
info "reference: $("$UFSCK" -V 2>&1 | head -n1)"

bash "$GENTREE" full "$T/src" >"$T/gen.log" 2>&1
rc=$?
[ $rc -eq 77 ] && skip "gentree: $(tail -n1 "$T/gen.log")"
[ $rc -eq 0 ] || { cat "$T/gen.log"; fail "gentree full failed ($rc)"; }

# upstream NAME CMD...: must exit 0, must not crash
upstream() {
	local what=$1
	shift
	runcmd up "$@"
	if [ "$RC" -ne 0 ]; then
		head -c 3000 "$T/up.err"
		fail "$what exited $RC"
	fi
	info "$what: ok"
}

# variant NAME USE-BLOB(0|1) EXTRACT(0|1) MKFS-OPTIONS...
variant() {
	local name=$1 useblob=$2 extract=$3 img=$T/$1.img blob=$T/$1.blob
	local -a dev=()
	shift 3
	if [ "$useblob" = 1 ]; then
		set -- "$@" "--blobdev=$blob"
		dev=("--device=$blob")
	fi
	echo "== $name: mkfs $*"
	runcmd mkfs "$MKFS" --quiet "$@" "$img" "$T/src"
	[ "$RC" -eq 0 ] || fail "mkfs exited $RC: $(head -c 2000 "$T/mkfs.err")"

	upstream "upstream fsck" "$UFSCK" "${dev[@]}" "$img"
	if [ "$extract" = 1 ]; then
		upstream "upstream fsck --extract (all data)" \
			"$UFSCK" "${dev[@]}" --extract "$img"
	fi
	upstream "upstream dump -s" "$UDUMP" "${dev[@]}" -s "$img"
	grep -q 'Filesystem root nid' "$T/up.out" ||
		fail "upstream dump -s printed no root nid: $(head -c 500 "$T/up.out")"
	upstream "upstream dump -S" "$UDUMP" "${dev[@]}" -S "$img"
	upstream "upstream dump --path=/files/b4097 -e" \
		"$UDUMP" "${dev[@]}" --path=/files/b4097 -e "$img"
	grep -q 'Size: 4097' "$T/up.out" ||
		fail "upstream dump sees a wrong size for /files/b4097: $(head -c 500 "$T/up.out")"
	upstream "upstream dump --path=/names --ls" \
		"$UDUMP" "${dev[@]}" --path=/names --ls "$img"
	grep -q 'with space' "$T/up.out" ||
		fail "upstream dump --ls /names misses an entry: $(head -c 800 "$T/up.out")"
	rm -f "$img" "$blob"
}

# erofs-utils 1.5 fsck --extract crashes (SIGSEGV, or fails with EFAULT) on
# a FLAT (non-chunked) file over 4 GiB: it reads the whole extent in one go.
# If our plain image stores files/sparse that way, the plain image is checked
# without --extract, and a second plain image without that one file gets the
# full data check.
runcmd mkfs "$MKFS" --quiet "$T/probe.img" "$T/src"
[ "$RC" -eq 0 ] || fail "mkfs exited $RC: $(head -c 2000 "$T/mkfs.err")"
erofs_lookup "$T/probe.img" /files/sparse || fail "walker: /files/sparse not found"
erofs_inode "$T/probe.img" "$LK_NID"
rm -f "$T/probe.img"
if [ "$I_LAYOUT" != 4 ] && [ "$I_SIZE" -gt 4294967296 ]; then
	variant plain 0 0
	echo "   (upstream fsck --extract skipped on this plain image: files/sparse is a"
	echo "    flat file > 4 GiB, which 1.5 cannot read; re-checking without it)"
	mv "$T/src/files/sparse" "$T/sparse.aside" || fail "mv"
	variant plain-no-sparse 0 1
	mv "$T/sparse.aside" "$T/src/files/sparse" || fail "mv"
else
	info "files/sparse is stored with layout $I_LAYOUT (not flat): full data check"
	variant plain 0 1
fi
variant chunk 0 1 --chunksize=4096
variant blob 1 1 --chunksize=4096
echo "PASS: erofs-utils accepts our images"
exit 0
