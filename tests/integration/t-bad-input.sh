#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Robustness against bad input.
#
# Part 1: corrupted images.  A small image (plain, chunked, blobdev) is
# corrupted in one place at a time; then
#     F  $FSCK IMG                 must exit 4
#     X  $FSCK --extract=OUT IMG   must exit 4
#     s  $DUMP -s IMG
#     p  $DUMP --path=P IMG        (P goes through the corrupted structure)
#     S  $DUMP -S IMG
# are run.  Each case lists the commands that must fail ("FXpS" ...): those
# that cannot do their job without reading the corrupted structure.  The
# others may succeed.  For every command: no crash (exit >= 128, i.e. a
# signal or a sanitizer abort), no hang (60 s), a message on stderr whenever
# the exit status is non-zero, and no file created anywhere outside OUT (the
# tree includes an image whose names/symlinks try to escape OUT).
# Structures are located with a small independent walker (lib.sh) that is
# cross-checked against `$DUMP --path` (nid, offset, mode, size, layout).
# Patches inside block 0 get the superblock checksum recomputed, so that
# each case tests what it names, not only the checksum.
#
# Part 2: operational and usage errors (exit 8 / 16 / 2 / 1).
#
# Part 3: mkfs on a source with an unreadable file/directory (run as an
# unprivileged user): exit 1, the message names the file, no image and no
# temp file is left, and an existing image of the same name is unchanged.

_lib=$(dirname "$0")/lib.sh
[ -r "$_lib" ] || _lib=${srcdir:-.}/integration/lib.sh
. "$_lib" || { echo "FAIL: cannot source lib.sh"; exit 1; }

need_root
need_progs MKFS FSCK DUMP TREECMP
need_cmd timeout setfattr od dd truncate

mkdir -p "$T/log"
runlog() { # like runcmd, but into $T/log (excluded from the escape check)
	local name=$1
	shift
	timeout 60 "$@" >"$T/log/$name.out" 2>"$T/log/$name.err"
	RC=$?
}

# ---------------------------------------------------------------------------
# the source tree and the clean images
SRC=$T/src
VICTIM=$T/victim
mkdir -p "$VICTIM" "$SRC"/a/b/c "$SRC"/sub "$SRC"/sym/d "$SRC"/names
printf 'hello world\n' > "$SRC/file.txt"
setfattr -n user.inline -v unique-inline-value "$SRC/file.txt"
rnd 40000 > "$SRC/big.bin"
head -c 8192 /dev/zero > "$SRC/zero.bin"
printf 'deep\n' > "$SRC/a/b/c/deepfile"
for i in $(seq -w 1 30); do printf '%s\n' "$i" > "$SRC/sub/x$i"; done
ln -s file.txt "$SRC/link"
ln -s "$VICTIM" "$SRC/sym/c"            # an absolute symlink ...
printf 'x' > "$SRC/sym/d/pwned02"       # ... next to a directory
printf 'x' > "$SRC/names/escape-candidate"
printf 'x' > "$SRC/names/zz"            # patched into ".."
printf 'x' > "$SRC/names/q"             # patched into "."
# a relative symlink that leads out of OUT (into $VICTIM, see WORK below) ...
ln -s ../../../../../../../../victim "$SRC/sym/e"
mkdir -p "$SRC/sym/f"                   # ... next to a directory
printf 'x' > "$SRC/sym/f/pwned03"
for i in 1 2 3 4 5 6; do
	printf '%s' "$i" > "$SRC/shared$i"
	setfattr -n user.shared -v same-value "$SRC/shared$i"
done
printf 'h' > "$SRC/hard1"
ln "$SRC/hard1" "$SRC/hard2"
# fixed past timestamps (with nanoseconds) for everything
find "$SRC" -depth -exec touch -h -d '2022-02-22 22:22:22.222222222' {} +

P=$T/plain.img
C=$T/chunk.img
B=$T/blob.img
BB=$T/blob.blob
runlog mkfs-p "$MKFS" --quiet "$P" "$SRC"
[ "$RC" -eq 0 ] || fail "mkfs (plain) exited $RC: $(head -c 1000 "$T/log/mkfs-p.err")"
runlog mkfs-c "$MKFS" --quiet --chunksize=4096 "$C" "$SRC"
[ "$RC" -eq 0 ] || fail "mkfs (chunk) exited $RC: $(head -c 1000 "$T/log/mkfs-c.err")"
runlog mkfs-b "$MKFS" --quiet --chunksize=4096 --blobdev="$BB" "$B" "$SRC"
[ "$RC" -eq 0 ] || fail "mkfs (blob) exited $RC: $(head -c 1000 "$T/log/mkfs-b.err")"

# clean images must pass, and extract to the same tree
for v in P C B; do
	img=${!v}
	dev=()
	[ $v = B ] && dev=("--device=$BB")
	runlog fsck "$FSCK" "${dev[@]}" "$img"
	[ "$RC" -eq 0 ] || fail "fsck of the clean $v image exited $RC: $(head -c 1000 "$T/log/fsck.err")"
	rm -rf "$T/x"
	runlog extract "$FSCK" "${dev[@]}" --extract="$T/x" "$img"
	[ "$RC" -eq 0 ] || fail "extract of the clean $v image exited $RC: $(head -c 1000 "$T/log/extract.err")"
	runlog cmp "$TREECMP" --ignore-root-mtime "$SRC" "$T/x"
	[ "$RC" -eq 0 ] || fail "clean $v image extracts differently: $(head -c 1000 "$T/log/cmp.out")"
	rm -rf "$T/x"
done
info "clean images: fsck 0, extract == source"

# ---------------------------------------------------------------------------
# walker vs. our dump
LAYOUTS=(flat_plain compressed_full flat_inline compressed_compact chunk_based)
dumpval() { sed -n "s/^$1: *//p" "$T/log/dump.out" | head -n1; }
crosscheck() { # crosscheck IMG PATH [DEVOPT]
	local img=$1 path=$2
	shift 2
	erofs_lookup "$img" "$path" || fail "walker: $path not found in $img"
	erofs_inode "$img" "$LK_NID"
	runlog dump "$DUMP" "$@" --path="$path" "$img"
	[ "$RC" -eq 0 ] || fail "dump --path=$path exited $RC: $(head -c 500 "$T/log/dump.err")"
	[ "$(dumpval nid)" = "$LK_NID" ] ||
		fail "$path: dump says nid '$(dumpval nid)', walker says $LK_NID"
	[ "$(dumpval offset)" = "$I_OFF" ] ||
		fail "$path: dump says offset '$(dumpval offset)', walker says $I_OFF"
	[ "$(dumpval size)" = "$I_SIZE" ] ||
		fail "$path: dump says size '$(dumpval size)', walker says $I_SIZE"
	# mode: with or without the file type bits
	local m
	m=$(dumpval mode)
	[[ "$m" =~ ^0[0-7]+$ ]] && { [ $((m)) = "$I_MODE" ] || [ $((m)) = $((I_MODE & 07777)) ]; } ||
		fail "$path: dump says mode '$m', walker says $(printf '0%o' "$I_MODE")"
	[ "$(dumpval layout)" = "${LAYOUTS[$I_LAYOUT]}" ] ||
		fail "$path: dump says layout '$(dumpval layout)', walker says ${LAYOUTS[$I_LAYOUT]}"
	[ "$(dumpval xattr_size)" = "$I_XSIZE" ] ||
		fail "$path: dump says xattr_size '$(dumpval xattr_size)', walker says $I_XSIZE"
}
for p in / /file.txt /big.bin /sub /sub/x17 /a/b/c/deepfile /link /shared3; do
	crosscheck "$P" "$p"
done
crosscheck "$C" /big.bin
[ "$I_LAYOUT" = 4 ] || fail "/big.bin in the chunked image is not chunk_based"
crosscheck "$B" /big.bin --device="$BB"
runlog dump "$DUMP" --path=/sub --ls "$P"
[ "$RC" -eq 0 ] || fail "dump --path=/sub --ls exited $RC"
erofs_lookup "$P" /sub/x07
grep -Eq "^$LK_NID +[^ ]+ +x07\$" "$T/log/dump.out" ||
	fail "dump --ls /sub has no line '$LK_NID TYPE x07': $(head -n 5 "$T/log/dump.out")"
info "walker and dump agree on nids, offsets, modes, sizes, layouts"

# ---------------------------------------------------------------------------
# the corruption runner
WORK=$T/w/a/b/c/d/e     # deep, so that ../ escapes from OUT stay inside $T
OUT=$WORK/out
mkdir -p "$WORK"
BAD=$T/bad.img
BADBLOB=$T/bad.blob
ncases=0

snapshot() {
	find "$T" \( -path "$OUT" -o -path "$T/log" \) -prune -o -print | LC_ALL=C sort
}

# A failing check is reported and counted; all cases run, and the test fails
# at the end of part 1 if any check failed (so one run shows every gap).
nbad=0
casefail() { echo "  CASE FAILED: $*" | cut -c1-600; nbad=$((nbad + 1)); }

# check1 CASE LETTER REQUIRED EXPECTED-RC cmd...
check1() {
	local case=$1 letter=$2 req=$3 want=$4 before after
	shift 4
	rm -rf "$OUT"
	before=$(snapshot)
	(cd "$WORK" && timeout 60 "$@" >"$T/log/c.out" 2>"$T/log/c.err")
	RC=$?
	after=$(snapshot)
	if [ "$before" != "$after" ]; then
		diff <(echo "$before") <(echo "$after") | head -n 10
		# do not let an escape spoil the following cases
		fail "$case: '$*' created or removed files outside $OUT"
	fi
	if [ "$RC" -eq 124 ]; then
		casefail "$case: '$*' hung (timeout)"
		return 0
	fi
	if crashed "$RC"; then
		casefail "$case: '$*' crashed (exit $RC): $(head -c 1500 "$T/log/c.err")"
		return 0
	fi
	if [ "$RC" -ne 0 ] && [ ! -s "$T/log/c.err" ]; then
		casefail "$case: '$*' exited $RC without a message on stderr"
		return 0
	fi
	case $req in
	*"$letter"*)
		if [ -n "$want" ]; then
			case " $want " in
			*" $RC "*) ;;
			*) casefail "$case: '$*' exited $RC, expected $want: $(head -c 300 "$T/log/c.err")" ;;
			esac
		elif [ "$RC" -eq 0 ]; then
			casefail "$case: '$*' succeeded on a corrupt image"
		fi
		;;
	esac
	return 0
}

# run_case NAME REQUIRED PATH-FOR-p [blob]
# (FSCK_RCS: accepted fsck exit codes, default 4)
run_case() {
	local name=$1 req=$2 ppath=$3 useblob=${4:-}
	local -a dev=()
	[ -n "$useblob" ] && dev=("--device=$BADBLOB")
	ncases=$((ncases + 1))
	check1 "$name" F "$req" "${FSCK_RCS:-4}" "$FSCK" "${dev[@]}" "$BAD"
	local msg
	msg=$(head -n 1 "$T/log/c.err" | cut -c1-150)
	check1 "$name" X "$req" "${FSCK_RCS:-4}" "$FSCK" "${dev[@]}" --extract="$OUT" "$BAD"
	check1 "$name" s "$req" "" "$DUMP" "${dev[@]}" -s "$BAD"
	check1 "$name" p "$req" "" "$DUMP" "${dev[@]}" --path="$ppath" "$BAD"
	check1 "$name" S "$req" "" "$DUMP" "${dev[@]}" -S "$BAD"
	info "$name: done (must fail: $req) fsck: ${msg:-(no message)}"
}

fresh() { # fresh IMG [BLOB]: start a case from a clean image
	cp "$1" "$BAD"
	FRESH_FROM=$1
	[ -n "${2:-}" ] && cp "$2" "$BADBLOB"
	return 0
}
# recompute the superblock checksum if block 0 was patched
fixcrc() {
	cmp -s -n 4096 "$BAD" "$FRESH_FROM" || sb_fix_crc "$BAD"
}

echo "== truncated / non-images"
fresh "$P"; truncate -s $(($(stat -c %s "$P") / 2)) "$BAD"
run_case trunc-half FX /big.bin
fresh "$P"; truncate -s 1000 "$BAD"
run_case trunc-1000 FXspS /file.txt
: > "$BAD"
run_case empty-file FXspS /file.txt
rnd 65536 > "$BAD"
run_case random-bytes FXspS /file.txt

echo "== superblock"
erofs_sb "$P"
fresh "$P"; flip_bit "$BAD" 1024 0
run_case sb-magic FXspS /file.txt
fresh "$P"; flip_bit "$BAD" 1028 5
run_case sb-checksum FXspS /file.txt
fresh "$P"; flip_bit "$BAD" 4000 3
run_case sb-crc-covers-block0 FXspS /file.txt
for bits in 0 8 255; do
	fresh "$P"; wr_u8 "$BAD" 1036 "$bits"; fixcrc
	run_case "sb-blkszbits-$bits" FXspS /file.txt
done
# 8 KiB blocks are valid EROFS, just not this image's: reading it that way
# must run into inconsistencies
fresh "$P"; wr_u8 "$BAD" 1036 13; fixcrc
run_case sb-blkszbits-13 FXpS /file.txt
erofs_zero_nid "$P" || fail "walker: no all-zero inode slot found"
GARBAGE_NID=$ZERO_NID
fresh "$P"; wr_le16 "$BAD" 1038 "$GARBAGE_NID"; fixcrc
run_case sb-rootnid-garbage FXpS /file.txt
erofs_lookup "$P" /file.txt
fresh "$P"; wr_le16 "$BAD" 1038 "$LK_NID"; fixcrc
run_case sb-rootnid-not-dir FXpS /file.txt
fresh "$P"; wr_le16 "$BAD" 1038 65535; fixcrc
run_case sb-rootnid-past-end FXpS /file.txt
fresh "$P"; wr_le32 "$BAD" 1064 16777215; fixcrc
run_case sb-meta-blkaddr FXpS /file.txt

echo "== root inode"
erofs_sb "$P"
erofs_inode "$P" "$SB_ROOT"
ROOT_OFF=$I_OFF ROOT_FMT=$I_FORMAT ROOT_EXT=$I_EXT
fresh "$P"; wr_le16 "$BAD" "$ROOT_OFF" $((ROOT_FMT | 0x0e)); fixcrc
run_case root-layout-7 FXpS /file.txt
fresh "$P"; wr_le16 "$BAD" "$ROOT_OFF" $((ROOT_FMT | 0x100)); fixcrc
run_case root-format-reserved-bit FXpS /file.txt
fresh "$P"; wr_le16 "$BAD" $((ROOT_OFF + 4)) $((0170755)); fixcrc
run_case root-mode-bogus-type FXpS /file.txt
fresh "$P"; wr_le16 "$BAD" $((ROOT_OFF + 4)) $((0100755)); fixcrc
run_case root-mode-regular FXpS /file.txt
fresh "$P"
if [ "$ROOT_EXT" = 1 ]; then
	wr_le64 "$BAD" $((ROOT_OFF + 8)) $((1 << 40))
else
	wr_le32 "$BAD" $((ROOT_OFF + 8)) 4294967295
fi
fixcrc
run_case root-size-huge FXpS /file.txt

echo "== directories"
erofs_lookup "$P" /sub; SUB=$LK_NID
erofs_lookup "$P" /a; A=$LK_NID
erofs_lookup "$P" /a/b; AB=$LK_NID
erofs_dir_find "$P" "$SUB" x03 || fail "walker: x03"
fresh "$P"; wr_le16 "$BAD" "$DE_NAMEOFF_AT" 65535; fixcrc
run_case dir-nameoff-past-block FXpS /sub/x20
fresh "$P"; wr_le16 "$BAD" "$DE_NAMEOFF_AT" 13; fixcrc
run_case dir-nameoff-backwards FXpS /sub/x20
erofs_dir_find "$P" "$SUB" . || fail "walker: ."
fresh "$P"; wr_le16 "$BAD" $((DE_BLK_OFF + 8)) 5; fixcrc
run_case dir-nameoff0-too-small FXpS /sub/x20
erofs_dir_find "$P" "$SUB" x05 || fail "walker: x05"
fresh "$P"; wr_le64 "$BAD" "$DE_OFF" $((0x00ffffffffffff)); fixcrc
run_case dir-nid-out-of-range FXpS /sub/x05
fresh "$P"; wr_le64 "$BAD" "$DE_OFF" "$GARBAGE_NID"; fixcrc
run_case dir-nid-garbage-inode FXpS /sub/x05
erofs_dir_find "$P" "$AB" c || fail "walker: c"
fresh "$P"; wr_le64 "$BAD" "$DE_OFF" "$SB_ROOT"; fixcrc
run_case dir-loop-to-root FXpS /a/b/c/deepfile
fresh "$P"; wr_le64 "$BAD" "$DE_OFF" "$AB"; fixcrc
run_case dir-loop-to-self FXpS /a/b/c/deepfile
erofs_dir_find "$P" "$SUB" . || fail "walker: ."
fresh "$P"; wr_le64 "$BAD" "$DE_OFF" "$A"; fixcrc
run_case dir-dot-wrong FX /sub/x01
erofs_dir_find "$P" "$AB" .. || fail "walker: .."
fresh "$P"; wr_le64 "$BAD" "$DE_OFF" "$SUB"; fixcrc
run_case dir-dotdot-wrong FX /a/b/c/deepfile
erofs_dir_find "$P" "$SUB" x01 || fail "walker: x01"
N1=$DE_NAME_AT
erofs_dir_find "$P" "$SUB" x02 || fail "walker: x02"
N2=$DE_NAME_AT
fresh "$P"; wr_str "$BAD" "$N1" x02; wr_str "$BAD" "$N2" x01; fixcrc
run_case dir-unsorted FX /sub/x20
erofs_lookup "$P" /names/escape-candidate || fail "walker: escape-candidate"
fresh "$P"; wr_str "$BAD" "$DE_NAME_AT" '../../../pwned01'; fixcrc
run_case dir-name-with-slash FXp /names/escape-candidate
erofs_lookup "$P" /sym/c || fail "walker: /sym/c"
fresh "$P"; wr_str "$BAD" "$DE_NAME_AT" d; fixcrc
run_case dir-duplicate-name-symlink-escape FX /sym/d/pwned02
erofs_lookup "$P" /sym/e || fail "walker: /sym/e"
fresh "$P"; wr_str "$BAD" "$DE_NAME_AT" f; fixcrc
run_case dir-duplicate-name-relative-symlink-escape FX /sym/f/pwned03
[ -z "$(ls -A "$VICTIM")" ] || fail "extraction wrote through a symlink into $VICTIM"
erofs_lookup "$P" /names/zz || fail "walker: /names/zz"
fresh "$P"; wr_str "$BAD" "$DE_NAME_AT" ..; fixcrc
run_case dir-name-dotdot FX /names/escape-candidate
erofs_lookup "$P" /names/q || fail "walker: /names/q"
fresh "$P"; wr_str "$BAD" "$DE_NAME_AT" .; fixcrc
run_case dir-name-dot FX /names/escape-candidate

echo "== the extraction target already holds symlinks and hard links out of it"
# What is in OUT is never followed: without --overwrite it is in the way
# (exit 8); with it, a non-directory is unlinked and made again, whatever
# it pointed to.  The symlinks in the image itself are data: extracted as
# they are, pointing wherever they point.
printf 'victim file\n' > "$T/victim-file"
printf 'victim link\n' > "$T/victim-hard"
prepare_out() {
	rm -rf "$OUT"
	mkdir -p "$OUT"
	ln -s "$VICTIM" "$OUT/sub"
	ln -s "$T/victim-file" "$OUT/file.txt"
	ln "$T/victim-hard" "$OUT/hard1"
}
prepare_out
runlog x-in-way "$FSCK" --extract="$OUT" "$P"
[ "$RC" = 8 ] || fail "extraction over symlinks in OUT exited $RC, expected 8: $(head -c 300 "$T/log/x-in-way.err")"
grep -q 'already exists' "$T/log/x-in-way.err" ||
	fail "extraction over symlinks in OUT does not say what is in the way: $(head -c 300 "$T/log/x-in-way.err")"
prepare_out
runlog x-overwrite "$FSCK" --overwrite --extract="$OUT" "$P"
[ "$RC" = 0 ] || fail "--overwrite over symlinks in OUT exited $RC: $(head -c 300 "$T/log/x-overwrite.err")"
[ -z "$(ls -A "$VICTIM")" ] || fail "--overwrite wrote through the symlink OUT/sub into $VICTIM"
[ "$(cat "$T/victim-file")" = 'victim file' ] || fail "--overwrite wrote through the symlink OUT/file.txt"
[ "$(cat "$T/victim-hard")" = 'victim link' ] || fail "--overwrite wrote through the hard link OUT/hard1"
[ -d "$OUT/sub" ] && [ ! -L "$OUT/sub" ] && [ -f "$OUT/sub/x17" ] ||
	fail "--overwrite: OUT/sub is not the image's directory"
[ "$(readlink "$OUT/sym/c")" = "$VICTIM" ] && [ "$(readlink "$OUT/sym/e")" = ../../../../../../../../victim ] ||
	fail "the image's symlinks out of OUT were not extracted as they are"
runlog cmp-overwrite "$TREECMP" --ignore-root-mtime "$SRC" "$OUT"
[ "$RC" = 0 ] || fail "--overwrite over symlinks in OUT: not the source tree: $(head -c 500 "$T/log/cmp-overwrite.out")"
rm -rf "$OUT"
info "symlinks and hard links in OUT: in the way without --overwrite, replaced (never followed) with it"

echo "== inodes"
erofs_lookup "$P" /file.txt; erofs_inode "$P" "$LK_NID"
F_OFF=$I_OFF F_EXT=$I_EXT F_ISIZE=$I_ISIZE
fresh "$P"
if [ "$F_EXT" = 1 ]; then
	wr_le64 "$BAD" $((F_OFF + 8)) $((1 << 50))
else
	wr_le32 "$BAD" $((F_OFF + 8)) 4294967280
fi
fixcrc
run_case file-size-huge FX /file.txt
erofs_lookup "$P" /link; erofs_inode "$P" "$LK_NID"
fresh "$P"
if [ "$I_EXT" = 1 ]; then wr_le64 "$BAD" $((I_OFF + 8)) 70000; else wr_le32 "$BAD" $((I_OFF + 8)) 70000; fi
fixcrc
run_case symlink-size-70000 FX /link
# nlink: /hard1 and /hard2 share one inode with nlink 2; claim 5
erofs_lookup "$P" /hard1; erofs_inode "$P" "$LK_NID"
fresh "$P"
if [ "$I_EXT" = 1 ]; then wr_le32 "$BAD" $((I_OFF + 44)) 5; else wr_le16 "$BAD" $((I_OFF + 6)) 5; fi
fixcrc
run_case nlink-inconsistent F /hard1

echo "== xattrs"
erofs_lookup "$P" /file.txt; erofs_inode "$P" "$LK_NID"
[ "$I_XICOUNT" -gt 0 ] || fail "walker: /file.txt has no xattr body"
XB=$((I_OFF + I_ISIZE))
XSHARED=$(rd_u8 "$P" $((XB + 4)))
XE=$((XB + 12 + 4 * XSHARED))
[ "$(rd_u8 "$P" $((XE + 1)))" = 1 ] ||
	fail "walker: first inline xattr of /file.txt is not a user.* entry"
fresh "$P"; wr_le16 "$BAD" $((XE + 2)) 65535; fixcrc
run_case xattr-value-size-huge FX /file.txt
fresh "$P"; wr_u8 "$BAD" "$XE" 255; fixcrc
run_case xattr-name-len-huge FX /file.txt
fresh "$P"; wr_u8 "$BAD" $((XE + 1)) 99; fixcrc
run_case xattr-unknown-prefix-index FX /file.txt
fresh "$P"; wr_le16 "$BAD" $((I_OFF + 2)) 65535; fixcrc
run_case xattr-icount-huge FX /file.txt
fresh "$P"; wr_le16 "$BAD" $((I_OFF + 2)) 1; fixcrc
run_case xattr-icount-header-only FX /file.txt
erofs_lookup "$P" /shared3; erofs_inode "$P" "$LK_NID"
XB=$((I_OFF + I_ISIZE))
if [ "$I_XICOUNT" -gt 0 ] && [ "$(rd_u8 "$P" $((XB + 4)))" -gt 0 ]; then
	fresh "$P"; wr_le32 "$BAD" $((XB + 12)) 16777215; fixcrc
	run_case xattr-shared-id-out-of-range FX /shared3
	fresh "$P"; wr_u8 "$BAD" $((XB + 4)) 200; fixcrc
	run_case xattr-shared-count-huge FX /shared3
else
	info "note: user.shared (6 inodes) was not stored as a shared xattr; shared-id cases not run"
fi

echo "== chunks"
chunk_table() { # chunk_table IMG PATH: sets CT_OFF CT_ENT
	erofs_lookup "$1" "$2" || fail "walker: $2"
	erofs_inode "$1" "$LK_NID"
	[ "$I_LAYOUT" = 4 ] || fail "$2 is not chunk_based"
	CT_ENT=4
	(((I_U & 0xffff) & 0x20)) && CT_ENT=8
	CT_OFF=$(((I_OFF + I_ISIZE + I_XSIZE + CT_ENT - 1) / CT_ENT * CT_ENT))
}
chunk_table "$C" /big.bin
fresh "$C"
if [ "$CT_ENT" = 8 ]; then wr_le32 "$BAD" $((CT_OFF + 4)) 268435455; else wr_le32 "$BAD" "$CT_OFF" 268435455; fi
fixcrc
run_case chunk-past-image-end FX /big.bin
if [ "$CT_ENT" = 8 ]; then
	fresh "$C"; wr_le16 "$BAD" $((CT_OFF + 2)) 7; fixcrc
	run_case chunk-bad-device-id FX /big.bin
fi
fresh "$C"; wr_le16 "$BAD" $((I_OFF + 16)) $(((I_U & 0xffff) | 0x8000)); fixcrc
run_case chunk-format-reserved-bit FX /big.bin
chunk_table "$B" /big.bin
[ "$CT_ENT" = 8 ] || fail "blobdev image uses 4-byte chunk entries"
[ "$(rd_le16 "$B" $((CT_OFF + 2)))" = 1 ] || fail "blobdev chunk entry is not on device 1"
fresh "$B" "$BB"; wr_le32 "$BAD" $((CT_OFF + 4)) 268435455; fixcrc
run_case blob-chunk-past-blob-end FX /big.bin blob
fresh "$B" "$BB"; truncate -s 4096 "$BADBLOB"
FSCK_RCS="4 8" run_case blob-truncated FX /big.bin blob
# blobdev image without its blob: must fail cleanly (4 or 8)
fresh "$B" "$BB"
check1 blob-missing F F "4 8" "$FSCK" "$BAD"
check1 blob-missing X X "4 8" "$FSCK" --extract="$OUT" "$BAD"
info "blob-missing: ok"

[ "$nbad" -eq 0 ] || fail "$nbad checks failed in $ncases corruption cases (see CASE FAILED above)"
info "$ncases corruption cases passed"

# ---------------------------------------------------------------------------
echo "== operational and usage errors"
expect_rc() { # expect_rc WHAT RCS|nonzero cmd...
	local what=$1 want=$2
	shift 2
	runlog e "$@"
	crashed "$RC" && fail "$what: crashed (exit $RC)"
	case " $want " in
	" nonzero ") [ "$RC" -ne 0 ] || fail "$what: exit 0, expected failure" ;;
	*" $RC "*) ;;
	*) fail "$what: exit $RC, expected $want: $(head -c 500 "$T/log/e.err")" ;;
	esac
	[ "$RC" -eq 0 ] || [ -s "$T/log/e.err" ] || fail "$what: exit $RC without a message"
	info "$what: exit $RC"
}
top_before=$(ls -A "$T")
expect_rc "fsck: missing image" 8 "$FSCK" "$T/no-such.img"
expect_rc "fsck: image is a directory" 8 "$FSCK" "$T"
expect_rc "fsck: extract below a regular file" 8 "$FSCK" --extract="$SRC/file.txt/out" "$P"
expect_rc "fsck: no arguments" 16 "$FSCK"
expect_rc "fsck: unknown option" 16 "$FSCK" --no-such-option "$P"
expect_rc "fsck: two images" 16 "$FSCK" "$P" "$C"
expect_rc "mkfs: no arguments" 2 "$MKFS"
expect_rc "mkfs: unknown option" 2 "$MKFS" --no-such-option "$T/u.img" "$SRC"
expect_rc "mkfs: chunksize not a power of two" 2 "$MKFS" --chunksize=5000 "$T/u.img" "$SRC"
expect_rc "mkfs: chunksize below block size" 2 "$MKFS" --chunksize=2048 "$T/u.img" "$SRC"
expect_rc "mkfs: blobdev without chunksize" 2 "$MKFS" --blobdev="$T/u.blob" "$T/u.img" "$SRC"
expect_rc "mkfs: bad -U" 2 "$MKFS" -U not-a-uuid "$T/u.img" "$SRC"
expect_rc "mkfs: bad -T" 2 "$MKFS" -T yesterday "$T/u.img" "$SRC"
expect_rc "mkfs: missing source" 1 "$MKFS" "$T/u.img" "$T/no-such-dir"
expect_rc "mkfs: source is a file" 1 "$MKFS" "$T/u.img" "$SRC/file.txt"
expect_rc "mkfs: output dir missing" 1 "$MKFS" "$T/no-such-dir/u.img" "$SRC"
[ "$(ls -A "$T")" = "$top_before" ] ||
	fail "failed runs left files in $T: $(diff <(echo "$top_before") <(ls -A "$T") | head -n 5)"
expect_rc "mkfs: --help" 0 "$MKFS" --help
expect_rc "mkfs: --version" 0 "$MKFS" --version
expect_rc "dump: no arguments" nonzero "$DUMP"
expect_rc "dump: missing image" nonzero "$DUMP" -s "$T/no-such.img"
runlog e "$DUMP" --path=/no/such/file "$P"
[ "$RC" -ne 0 ] && [ -s "$T/log/e.err" ] && ! crashed "$RC" ||
	fail "dump --path of a missing file: exit $RC"
runlog e "$DUMP" --nid=999999999 "$P"
[ "$RC" -ne 0 ] && [ -s "$T/log/e.err" ] && ! crashed "$RC" ||
	fail "dump --nid out of range: exit $RC"
info "dump: missing path / nid out of range rejected"

# ---------------------------------------------------------------------------
echo "== mkfs on unreadable input (as an unprivileged user)"
need_cmd setpriv
NOBODY=(setpriv --reuid=65534 --regid=65534 --clear-groups)
MK=$MKFS
if ! "${NOBODY[@]}" test -x "$MK"; then
	# the build tree may not be reachable for uid 65534: use a copy
	cp "$MKFS" "$T/mkfs-copy" && chmod 755 "$T/mkfs-copy" && MK=$T/mkfs-copy
fi
U=$T/unr
mkdir -p "$U/src/dir" "$U/out"
printf 'ok' > "$U/src/ok1"
printf 'secret' > "$U/src/dir/secret-file"
printf 'ok' > "$U/src/ok2"
chmod 000 "$U/src/dir/secret-file"
chmod -R a+rX "$U/src" 2>/dev/null
chmod 000 "$U/src/dir/secret-file"
chown 65534:65534 "$U/out"
if ! "${NOBODY[@]}" test -r "$U/src/ok1" || ! "${NOBODY[@]}" test -x "$MK"; then
	fail "uid 65534 cannot reach $U (is \$TMPDIR traversable by others?)"
fi
"${NOBODY[@]}" test -r "$U/src/dir/secret-file" && fail "setup: secret file readable by 65534"

runlog u "${NOBODY[@]}" "$MK" --quiet "$U/out/new.img" "$U/src"
crashed "$RC" && fail "mkfs crashed on an unreadable file (exit $RC)"
[ "$RC" -eq 1 ] || fail "mkfs with an unreadable file exited $RC, expected 1"
grep -q 'secret-file' "$T/log/u.err" ||
	fail "mkfs error does not name the unreadable file: $(head -c 500 "$T/log/u.err")"
[ -z "$(ls -A "$U/out")" ] || fail "failed mkfs left files in the output dir: $(ls -A "$U/out")"
info "unreadable file: exit 1, message names it, nothing left behind"

printf 'PREVIOUS IMAGE CONTENT' > "$U/out/pre.img"
chown 65534:65534 "$U/out/pre.img"
cp "$U/out/pre.img" "$T/pre.copy"
runlog u "${NOBODY[@]}" "$MK" --quiet "$U/out/pre.img" "$U/src"
[ "$RC" -eq 1 ] || fail "mkfs over an existing image with an unreadable file exited $RC"
cmp -s "$U/out/pre.img" "$T/pre.copy" || fail "failed mkfs modified the existing image"
[ "$(ls -A "$U/out")" = pre.img ] || fail "failed mkfs left files: $(ls -A "$U/out")"
info "existing image untouched by a failed build"

chmod 644 "$U/src/dir/secret-file"
mv "$U/src/dir" "$U/src/locked-dir"
chmod 000 "$U/src/locked-dir"
runlog u "${NOBODY[@]}" "$MK" --quiet "$U/out/new.img" "$U/src"
crashed "$RC" && fail "mkfs crashed on an unreadable directory (exit $RC)"
[ "$RC" -eq 1 ] || fail "mkfs with an unreadable directory exited $RC, expected 1"
grep -q 'locked-dir' "$T/log/u.err" || fail "mkfs error does not name the directory: $(head -c 500 "$T/log/u.err")"
[ "$(ls -A "$U/out")" = pre.img ] || fail "failed mkfs left files: $(ls -A "$U/out")"
chmod 755 "$U/src/locked-dir"
runlog u "${NOBODY[@]}" "$MK" --quiet "$U/out/new.img" "$U/src"
[ "$RC" -eq 0 ] || fail "mkfs as uid 65534 on a readable tree exited $RC: $(head -c 500 "$T/log/u.err")"
[ "$(ls -A "$U/out" | LC_ALL=C sort | tr '\n' ' ')" = "new.img pre.img " ] ||
	fail "successful mkfs left extra files: $(ls -A "$U/out")"
info "unreadable directory: exit 1; readable tree as uid 65534: ok"

echo "PASS: bad input is rejected cleanly"
exit 0
