#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The progress line: on a terminal (script(1) gives the programs one),
# mkfs.erofs shows files and bytes done out of the totals of the tree
# (find and du as the oracle), a rate and, for a run of more than a
# second, the time left; erofs-verify and fsck.erofs the devices hashed
# out of the seal's; fsck --extract the files out of the image's.  With
# standard error not a terminal, nothing of it; with --quiet, nothing even
# on a terminal.  The line is wiped at the end (the last thing on stderr
# is not a progress line).

_lib=$(dirname "$0")/lib.sh
[ -r "$_lib" ] || _lib=${srcdir:-.}/integration/lib.sh
. "$_lib" || { echo "FAIL: cannot source lib.sh"; exit 1; }

need_progs MKFS FSCK VERIFY
need_cmd script find

cd "$T" || fail "cannot enter $T"

# on_tty NAME CMD...: run CMD with a terminal; NAME.tty gets what it wrote
on_tty() {
	local name=$1
	shift
	script -qec "$(printf '%q ' "$@")" /dev/null </dev/null >"$name.tty" 2>&1
	RC=$?
	tr '\r' '\n' <"$name.tty" >"$name.lines"
}

mkdir -p tree/d
for i in 1 2 3 4 5 6; do detstream "$i" | head -c $((1536 * 1024)) >"tree/f$i"; done
printf 'x\n' >tree/d/small
files=$(find tree -type f | wc -l)
bytes=$(find tree -type f -printf '%s\n' | awk '{ s += $1 } END { print s }')
total_mb=$(awk -v b="$bytes" 'BEGIN { printf "%.1f", b / 1e6 }')

echo "== mkfs.erofs"
on_tty build "$MKFS" --blob-dir=blobs image.img tree
[ "$RC" = 0 ] || fail "mkfs on a terminal: exit $RC: $(cat build.tty)"
says build build.lines "^mkfs.erofs: [0-9]+/$files files, [0-9.]+/$total_mb MB, [0-9.]+ MB/s" \
	"the files and bytes of the tree ($files, $total_mb MB) and a rate"
grep -q $'\033\\[K' build.tty || bad "build: the progress line is not wiped"
run_rc 0 build-pipe "$MKFS" --blob-dir=blobs image2.img tree
not_says build-pipe build-pipe.err "MB/s" "a progress line without a terminal"
on_tty build-quiet "$MKFS" --quiet --blob-dir=blobs image3.img tree
not_says build-quiet build-quiet.lines "MB/s" "a progress line with --quiet"

echo "== erofs-verify"
on_tty verify "$VERIFY" --integrity-only --blob-dir=blobs image.img
[ "$RC" = 0 ] || bad "verify on a terminal: exit $RC: $(cat verify.tty)"
says verify verify.lines "^erofs-verify: [12]/2 devices, " "the two devices of the seal"
run_rc 0 verify-pipe "$VERIFY" --integrity-only --blob-dir=blobs image.img
not_says verify-pipe verify-pipe.err "MB/s" "a progress line without a terminal"
on_tty verify-quiet "$VERIFY" --quiet --integrity-only --blob-dir=blobs image.img
not_says verify-quiet verify-quiet.lines "MB/s" "a progress line with --quiet"

echo "== fsck.erofs --extract"
on_tty extract "$FSCK" --blob-dir=blobs --extract=out image.img
[ "$RC" = 0 ] || bad "extract on a terminal: exit $RC: $(cat extract.tty)"
says extract extract.lines "^fsck.erofs: [0-9]+/$files files extracted, [0-9.]+/$total_mb MB" \
	"the files and bytes extracted out of the image's"
says extract extract.lines "^fsck.erofs: [12]/2 devices verified" "the devices verified"
run_rc 0 extract-pipe "$FSCK" --blob-dir=blobs --extract=out2 image.img
not_says extract-pipe extract-pipe.err "MB/s" "a progress line without a terminal"
on_tty extract-quiet "$FSCK" --quiet --blob-dir=blobs --extract=out3 image.img
[ "$RC" = 0 ] || bad "extract --quiet on a terminal: exit $RC: $(cat extract-quiet.tty)"
not_says extract-quiet extract-quiet.lines "MB/s" "a progress line with --quiet"

finish_cases "progress on a terminal only"
