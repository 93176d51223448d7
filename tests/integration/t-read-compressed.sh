#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Our reader decompresses images made by erofs-utils' own mkfs.erofs (the
# oracle, 1.5 by default): LZ4 and LZ4HC, compact and full indexes, big
# pclusters (-C), ztailpacking, legacy images without 0-padding.  For each
# tree and variant:
#   * `$FSCK` passes the image, `$FSCK --extract` reproduces the source
#     (treecmp);
#   * `$DUMP -e` gives, for every compressed file of the text tree, the
#     same extents (logical range, physical start) as the reference
#     dump.erofs -e.
# Then corrupt compressed clusters (bad lcluster indexes, lengths past the
# cluster, clusters that decode long or short, a decompressor bomb, an
# all-zero pcluster) must make fsck --extract (no DIR: all data read)
# exit non-zero with a message naming the
# problem, never crash (run it under ASan/UBSan with an --enable-sanitizers
# build).
#
# Trees: gentree `full` (minus what 1.5 cannot store, as t-read-upstream.sh
# says; sparse file 64 MiB so that compressing it stays quick), gentree
# `dups`, and a text tree of compressible files (seeded, $PYTHON).
#
# UPSTREAM_MKFS / UPSTREAM_DUMP override the reference tools.

_lib=$(dirname "$0")/lib.sh
[ -r "$_lib" ] || _lib=${srcdir:-.}/integration/lib.sh
. "$_lib" || { echo "FAIL: cannot source lib.sh"; exit 1; }

UMKFS=${UPSTREAM_MKFS:-/usr/bin/mkfs.erofs}
UDUMP=${UPSTREAM_DUMP:-/usr/bin/dump.erofs}
[ -x "$UMKFS" ] || skip "$UMKFS (erofs-utils) is not installed"
[ -x "$UDUMP" ] || skip "$UDUMP (erofs-utils) is not installed"
need_root
need_progs FSCK DUMP TREECMP GENTREE
"$UMKFS" --help 2>&1 | grep -q lz4 || skip "$UMKFS has no LZ4 support"
cd "$T" || fail "cd $T"

# ---- trees ------------------------------------------------------------
GENTREE_SHORT_PATHS=1 GENTREE_SPARSE_SIZE=64M bash "$GENTREE" full "$T/full" >"$T/gen.log" 2>&1
rc=$?
[ $rc -eq 77 ] && skip "gentree: $(tail -n1 "$T/gen.log")"
[ $rc -eq 0 ] || { cat "$T/gen.log"; fail "gentree full failed ($rc)"; }
LC_ALL=C find "$T/full" -name "$(printf '?%.0s' $(seq 1 255))" -delete
touch -d '2020-02-29 12:34:56.789' "$T/full/names"
bash "$GENTREE" dups "$T/dups" >"$T/gen.log" 2>&1 || { cat "$T/gen.log"; fail "gentree dups"; }

mkdir "$T/text" || fail "mkdir"
"$PYTHON" - "$T/text" <<'EOF' || fail "text tree"
import os, random, sys
r = random.Random(20261202)
words = [''.join(r.choice('abcdefghijklmnopqrstuvwxyz') for _ in range(r.randint(2, 9)))
         for _ in range(600)]
def text(n):
    out, size = [], 0
    while size < n:
        w = r.choice(words) + (' ' if r.random() < 0.9 else '\n')
        out.append(w)
        size += len(w)
    return ''.join(out)[:n].encode()
top = sys.argv[1]
# sizes around lcluster, pcluster and pack boundaries, and a tail that
# compresses into less than a block (ztailpacking)
for n in (1, 100, 4095, 4096, 4097, 5000, 8191, 8193, 9000, 12289, 65536,
          65537, 100000, 200000, 1 << 20, 3 * (1 << 20) + 123):
    with open(os.path.join(top, 'text%d' % n), 'wb') as f:
        f.write(text(n))
# text then random: raw (PLAIN) pclusters between compressed ones
with open(os.path.join(top, 'mixed'), 'wb') as f:
    for i in range(8):
        f.write(text(20000))
        f.write(bytes(r.getrandbits(8) for _ in range(9000)))
os.mkdir(os.path.join(top, 'sub'))
with open(os.path.join(top, 'sub', 'zeros'), 'wb') as f:
    f.write(bytes(2 << 20))
EOF

# ---- reading upstream images -------------------------------------------
# extents of one file as "lstart lend pstart", from the reference dump and
# from ours
upstream_extents() {
	"$UDUMP" --path="$2" -e "$1" | awk -F'[ .|:]+' '/^ *[0-9]+:/ { print $3, $4, $6 }'
}
our_extents() {
	"$DUMP" --path="$2" -e "$1" | awk '
		/ -> device 0 block / { split($1, r, /\.\./); b = $6; sub(/,/, "", b);
					print r[1], r[2], b * 4096 }
		/ -> inline at byte / { split($1, r, /\.\./); b = $6; sub(/,/, "", b);
					print r[1], r[2], b }'
}

VARIANTS=("-zlz4" "-zlz4hc" "-zlz4hc,12" "-zlz4hc -C65536" "-zlz4 -C16384 -Eztailpacking"
	  "-zlz4 -Eztailpacking" "-zlz4hc -Elegacy-compress")
# the gentree trees are mostly random data: fewer variants, for time
FEW_VARIANTS=("-zlz4hc" "-zlz4 -C16384 -Eztailpacking" "-zlz4hc -Elegacy-compress")
compressed_files=0
inline_tails=0
for tree in text full dups; do
	if [ "$tree" = text ]; then vs=("${VARIANTS[@]}"); else vs=("${FEW_VARIANTS[@]}"); fi
	for v in "${vs[@]}"; do
		name="$tree $v"
		img=$T/img
		out=$T/out
		rm -rf "$img" "$out"
		# shellcheck disable=SC2086
		runcmd umkfs "$UMKFS" --quiet $v "$img" "$T/$tree"
		[ "$RC" -eq 0 ] || fail "$name: reference mkfs exited $RC: $(head -c 1000 "$T/umkfs.err")"
		run_rc 0 fsck "$FSCK" "$img" || continue
		run_rc 0 extract "$FSCK" --extract="$out" "$img" || continue
		runcmd treecmp "$TREECMP" --ignore-root-mtime "$T/$tree" "$out"
		if [ "$RC" -ne 0 ]; then
			bad "$name: extracted tree differs: $(head -n 5 "$T/treecmp.out" | cut -c1-200)"
			continue
		fi
		[ "$tree" = text ] || { info "$name: fsck clean, extracted tree == source"; continue; }
		n=0
		for f in $(cd "$T/text" && find . -type f | sort); do
			f=${f#.}
			"$DUMP" --path="$f" "$img" >"$T/inode.txt" 2>&1 || { bad "$name: dump $f"; continue; }
			grep -q '^layout: compressed' "$T/inode.txt" || continue
			grep -q '^inline_pcluster:' "$T/inode.txt" && inline_tails=$((inline_tails + 1))
			n=$((n + 1))
			upstream_extents "$img" "$f" >"$T/ext.want"
			our_extents "$img" "$f" >"$T/ext.got"
			[ -s "$T/ext.want" ] || { bad "$name: no reference extents for $f"; continue; }
			cmp -s "$T/ext.want" "$T/ext.got" ||
				bad "$name: $f: extents differ from the reference dump: $(diff "$T/ext.want" "$T/ext.got" | head -n 4 | tr '\n' ' ')"
		done
		[ "$n" -gt 0 ] || bad "$name: no compressed file in the text tree"
		compressed_files=$((compressed_files + n))
		info "$name: fsck clean, extracted tree == source, extents of $n compressed files == reference"
	done
done
[ "$inline_tails" -gt 0 ] || bad "no ztailpacking inline pcluster was exercised"
info "$compressed_files compressed files compared, $inline_tails with inline tails"

# ---- corrupt compressed clusters ----------------------------------------
# One file per image; the byte positions come from the inode as the
# reference mkfs laid it out (lib.sh's erofs_* readers).
mkdir "$T/one" && cp "$T/text/text200000" "$T/one/f" || fail "cp"
mkdir "$T/zero" && head -c $((1 << 20)) /dev/zero >"$T/zero/f" || fail "zeros"
mkone() {	# mkone SRC VARIANT...: $T/base.img, sets I_* and MAPH (map header)
	local src=$1
	shift
	rm -f "$T/base.img"
	must "$UMKFS" --quiet "$@" "$T/base.img" "$src"
	erofs_sb "$T/base.img"
	erofs_lookup "$T/base.img" /f >/dev/null || fail "lookup /f"
	erofs_inode "$T/base.img" "$LK_NID"
	MAPH=$(((I_OFF + I_ISIZE + I_XSIZE + 7) / 8 * 8))
}
# (--extract without DIR: every file's data is decompressed; a plain check
# reads no data, as erofs-utils' does not)
corrupt() {	# corrupt NAME REGEX WHAT: fsck of $T/bad.img finds a problem saying REGEX
	local name=$1 re=$2 what=$3
	sb_fix_crc "$T/bad.img"	# patches in block 0 must reach the reader
	run_rc 4 "c-$name" "$FSCK" --extract "$T/bad.img" || return 0
	says "$name" "c-$name.err" "$re" "$what"
	run_rc 4 "x-$name" "$FSCK" --extract="$T/x-$name" "$T/bad.img" || return 0
	says "$name (extract)" "x-$name.err" "$re" "$what"
}

# full index: entries of 8 bytes from MAPH + 16
mkone "$T/one" -zlz4hc -Elegacy-compress
[ "$I_LAYOUT" = 1 ] || fail "expected a full-index inode, got layout $I_LAYOUT"
IDX=$((MAPH + 16))
BLK1=$(rd_le32 "$T/base.img" $((IDX + 4)))	# lcluster 0: head, first pcluster

cp "$T/base.img" "$T/bad.img"; wr_le16 "$T/bad.img" $((IDX + 8 + 2)) 5000
wr_le16 "$T/bad.img" $((IDX + 8)) 1		# lcluster 1: a head at offset 5000
corrupt head-offset "lcluster 1: extent offset 5000 is past the lcluster" "the offset past the lcluster"

cp "$T/base.img" "$T/bad.img"
for l in 1 2 3 4 5 6; do	# the first NONHEAD after lcluster 0 looks back too far
	[ "$(rd_le16 "$T/base.img" $((IDX + 8 * l)))" = 2 ] || continue
	wr_le16 "$T/bad.img" $((IDX + 8 * l + 4)) 999
	break
done
corrupt lookback "looks back 999 lclusters" "the bad lookback"

cp "$T/base.img" "$T/bad.img"; wr_le16 "$T/bad.img" $((IDX + 8)) 7	# unknown bits
corrupt index-bits "lcluster 1: unknown index bits" "the unknown index bits"

cp "$T/base.img" "$T/bad.img"; wr_le32 "$T/bad.img" $((IDX + 4)) 99999999
corrupt past-image "pcluster at block 99999999 .*past the end" "the pcluster past the image"

cp "$T/base.img" "$T/bad.img"; wr_le16 "$T/bad.img" $((IDX + 2)) 1	# lcluster 0 starts at 1
corrupt first-extent "the first extent starts at byte 1" "the first extent's offset"

# lengths: the second head starts one byte later / earlier than it did, so
# the first pcluster's extent claims one byte more / less than it holds
for l in 1 2 3; do
	t=$(rd_le16 "$T/base.img" $((IDX + 8 * l)))
	[ "$t" = 1 ] || [ "$t" = 0 ] && { H2=$l; break; }
done
[ -n "${H2:-}" ] || fail "no second head in the first lclusters"
OFS=$(rd_le16 "$T/base.img" $((IDX + 8 * H2 + 2)))
if [ "$OFS" -lt 4095 ]; then
	cp "$T/base.img" "$T/bad.img"; wr_le16 "$T/bad.img" $((IDX + 8 * H2 + 2)) $((OFS + 1))
	corrupt decodes-short "pcluster at block $BLK1 decodes to [0-9]+ bytes, expected [0-9]+" \
		"the short pcluster"
fi
if [ "$OFS" -gt 0 ]; then
	cp "$T/base.img" "$T/bad.img"; wr_le16 "$T/bad.img" $((IDX + 8 * H2 + 2)) $((OFS - 1))
	corrupt decodes-long "pcluster at block $BLK1 .*decodes to more than [0-9]+ bytes" \
		"the long pcluster"
fi

# the stream itself: garbage in the middle of the first pcluster, and a
# pcluster of zeros only (0-padding leaves no stream)
cp "$T/base.img" "$T/bad.img"
dd if=/dev/urandom of="$T/bad.img" bs=1 seek=$((BLK1 * 4096 + 2000)) count=200 conv=notrunc status=none
run_rc 4 c-garbage "$FSCK" --extract "$T/bad.img" &&
	says garbage c-garbage.err "pcluster at block $BLK1" "the bad pcluster"

mkone "$T/one" -zlz4hc
[ "$I_LAYOUT" = 3 ] || fail "expected a compact-index inode, got layout $I_LAYOUT"
cp "$T/base.img" "$T/bad.img"
BLKC=$(( $(rd_le32 "$T/base.img" $((MAPH + 8 + 4))) + 1 ))	# first 4B pack's base + 1
dd if=/dev/zero of="$T/bad.img" bs=4096 seek="$BLKC" count=1 conv=notrunc status=none
corrupt all-zeros "pcluster at block $BLKC holds only zeros" "the all-zero pcluster"

# compact: lcluster 2 (the first slot of the second 4B pack, which holds
# delta[0]) turned into a NONHEAD (type 2 in bits 12..13) that looks back
# past the file's start
cp "$T/base.img" "$T/bad.img"; wr_le16 "$T/bad.img" $((MAPH + 8 + 8)) $(((2 << 12) | 0x7ff))
corrupt compact-lookback "lcluster 2: looks back 2047 lclusters" "the compact lookback"

# big pclusters: the CBLKCNT entry claims 300 blocks (more than 1 MiB)
mkone "$T/one" -zlz4hc -C65536 -Elegacy-compress
IDX=$((MAPH + 16))
cp "$T/base.img" "$T/bad.img"; wr_le16 "$T/bad.img" $((IDX + 8 + 4)) $((0x800 | 300))
corrupt big-pcluster "300 blocks exceeds 1 MiB" "the oversized pcluster"
cp "$T/base.img" "$T/bad.img"; wr_le16 "$T/bad.img" $((IDX + 8 + 4)) 1	# CBLKCNT lost
corrupt cblkcnt "bogus CBLKCNT" "the missing pcluster size"

# a decompressor bomb: a 4 KiB pcluster holding about 1 MiB of zeros, in a
# file whose inode now says 4 KiB
mkone "$T/zero" -zlz4hc
if [ "$I_EXT" = 1 ]; then wr_off=8; wr_n=8; else wr_off=8; wr_n=4; fi
cp "$T/base.img" "$T/bad.img"; _wr_le "$T/bad.img" $((I_OFF + wr_off)) "$wr_n" 4096
corrupt bomb "decodes to more than 4096 bytes" "the bomb"
info "corrupt images: all refused with a message"

finish_cases "our reader decompresses reference LZ4/LZ4HC images exactly and refuses corrupt clusters"
