#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Slow tier (issue 11, "must show" 4): building a 2 GB synthetic tree keeps
# mkfs.erofs's peak resident memory under 256 MiB, plain and sealed into a
# blob (the chunk index grows with the data).  The peak is measured by
# /usr/bin/time (its %M, the kernel's maxrss), not by us; erofs-utils 1.5's
# fsck.erofs checks each image.  Needs about 6 GB in $TMPDIR and a few
# minutes, so it runs only with ES_SLOW_TESTS=1 (bench/run sets it).
#
# Environment: ES_SLOW_BYTES overrides the tree's size (default 2000000000).

_lib=$(dirname "$0")/lib.sh
[ -r "$_lib" ] || _lib=${srcdir:-.}/integration/lib.sh
. "$_lib" || { echo "FAIL: cannot source lib.sh"; exit 1; }

[ "${ES_SLOW_TESTS:-0}" = 1 ] ||
	skip "slow tier: a 2 GB build takes minutes and 6 GB of disk; set ES_SLOW_TESTS=1 (bench/run does)"
need_progs MKFS
need_cmd openssl
[ -x /usr/bin/time ] || skip "needs /usr/bin/time (Debian package time)"
[ -x /usr/bin/fsck.erofs ] || skip "needs /usr/bin/fsck.erofs (erofs-utils)"
# ASan's shadow memory and quarantine count in the resident set: the bound
# is for the program as shipped, so a sanitizer build runs the builds and
# checks but not the bound
SANITIZED=0
ldd "$MKFS" 2>/dev/null | grep -q 'libasan\|libubsan' && SANITIZED=1

BYTES=${ES_SLOW_BYTES:-2000000000}
LIMIT_KIB=$((256 * 1024))
avail=$(df -B1 --output=avail "$T" | tail -1)
[ "$avail" -gt $((BYTES * 3 + 500000000)) ] ||
	skip "needs $((BYTES * 3 / 1000000 + 500)) MB free in $T, has $((avail / 1000000)) MB"

set +o pipefail
{ detstream 2000 || true; } |
	"$PYTHON" "$LIBDIR/synthtree.py" "$T/tree" --bytes "$BYTES" --files 10000 >"$T/gen.log" 2>&1 ||
	fail "synthtree.py: $(tail -3 "$T/gen.log")"
set -o pipefail
info "$(cat "$T/gen.log")"

# peak KIND IMAGE MKFS-OPTIONS...: build, check with 1.5, bound the peak
peak() {
	local kind=$1 img=$2
	shift 2
	/usr/bin/time -f %M -o "$T/time.$kind" "$MKFS" --quiet "$@" "$img" "$T/tree" \
		>"$T/mkfs.$kind.log" 2>&1 ||
		fail "$kind build exited $?: $(tail -3 "$T/mkfs.$kind.log")"
	local kib
	kib=$(tail -1 "$T/time.$kind")
	case $kib in ''|*[!0-9]*) fail "$kind: /usr/bin/time gave no peak memory: $(cat "$T/time.$kind")" ;; esac
	local -a dev=()
	[ -d "$T/blobs" ] && for b in "$T"/blobs/*; do dev+=("--device=$b"); done
	/usr/bin/fsck.erofs "${dev[@]}" "$img" >"$T/fsck.$kind.log" 2>&1 ||
		fail "$kind image: erofs-utils fsck.erofs: $(tail -3 "$T/fsck.$kind.log")"
	info "$kind build of $BYTES bytes: peak $((kib / 1024)) MiB (limit $((LIMIT_KIB / 1024)) MiB)"
	if [ "$SANITIZED" = 1 ]; then
		info "sanitizer build: the bound is not checked"
		rm -rf "$img" "$T/blobs"
		return
	fi
	[ "$kib" -lt "$LIMIT_KIB" ] ||
		fail "$kind build of $BYTES bytes peaked at $kib KiB, over $LIMIT_KIB KiB"
	rm -rf "$img" "$T/blobs"
}

peak plain "$T/plain.img"
peak sealed "$T/sealed.img" --blob-dir="$T/blobs"
exit 0
