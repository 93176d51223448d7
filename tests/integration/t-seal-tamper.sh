#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Tampering with a signed, blob-backed sealed image is detected, with the
# documented exit status of erofs-verify (and fsck.erofs where it applies),
# and never crashes either program.  Each case works on a fresh copy of the
# image and its blob directory:
#
#   one bit of the blob (first, middle, last block)   verify 4, fsck 4;
#                                                     message names blob+block
#   one bit of the filesystem region (block 0 padding, superblock, device
#   table tag with and without a fixed-up checksum, inode, directory block,
#   last byte)                                        verify 4, fsck 4
#   one bit of a Merkle tree (top level and level 0 of the blob's tree,
#   device 0's tree; located through the locator and the manifest)  4
#   one bit of the manifest                           verify --cert 1
#   one bit of the chunk index                        4 or 5
#   one bit of the signature                          verify --cert 1
#   one bit of the locator (magic, a field, checksum) verify 5
#   truncated blob (one block less, one byte less)    4
#   missing blob with --blob-dir                      3
#   another image's blob renamed to this blob's name  4
#   a signature by a key that is not trusted          2
#
# With python3, every `erofs-verify --json` answer must parse and carry the
# same exit code.

_lib=$(dirname "$0")/lib.sh
[ -r "$_lib" ] || _lib=${srcdir:-.}/integration/lib.sh
. "$_lib" || { echo "FAIL: cannot source lib.sh"; exit 1; }

need_progs MKFS DUMP VERIFY FSCK
need_cmd openssl od dd cmp truncate
have_python=0
command -v python3 >/dev/null 2>&1 && have_python=1

cd "$T" || fail "cannot enter $T"

echo "== setup: keys, two trees of the same shape, signed images"
for k in rsa other; do
	must openssl req -x509 -newkey rsa:2048 -nodes -keyout "$k.pem" \
		-out "$k-cert.pem" -days 3650 -subj "/CN=t-seal-tamper $k" -sha256
done

# mktree DIR: ~4 MiB file (blob > 128 blocks: a two-level tree) and a
# directory of 300 small files (directory and inodes span several blocks)
mktree() {
	mkdir -p "$1/many"
	rnd $((4 * 1024 * 1024 + 100)) >"$1/big"
	local i
	for ((i = 0; i < 300; i++)); do
		printf 'file %d\n' "$i" >"$1/many/file-with-a-longish-name-$i"
	done
}
mktree srcA
mktree srcB
mkdir blobsA blobsB blobsU
must "$MKFS" --quiet --sign-key=rsa.pem --sign-cert=rsa-cert.pem --blob-dir=blobsA A.img srcA
must "$MKFS" --quiet --sign-key=rsa.pem --sign-cert=rsa-cert.pem --blob-dir=blobsB B.img srcB
must "$MKFS" --quiet --sign-key=other.pem --sign-cert=other-cert.pem --blob-dir=blobsU U.img srcA
blobA=$(ls blobsA)
blobB=$(ls blobsB)
[ "$(echo "$blobA" | wc -w)" -eq 1 ] || fail "image A should have one blob: $blobA"
[ "$(echo "$blobB" | wc -w)" -eq 1 ] || fail "image B should have one blob: $blobB"
bsize=$(stat -c %s "blobsA/$blobA")
[ "$bsize" -eq "$(stat -c %s "blobsB/$blobB")" ] || fail "blobs of A and B should have the same size"
bblocks=$((bsize / 4096))
[ "$bblocks" -gt 128 ] || fail "blob has $bblocks blocks: its tree would have one level only"
info "blob $blobA: $bblocks blocks"

# layout from the locator and the manifest (independent of our dump)
isz=$(stat -c %s A.img)
LOC=$((isz - 4096))
[ "$(dd if=A.img bs=1 skip=$LOC count=8 status=none)" = EROFSEAL ] || fail "no locator"
FSZ=$(rd_le64 A.img $((LOC + 32)))
MOFF=$(rd_le64 A.img $((LOC + 40)))
SOFF=$(rd_le64 A.img $((LOC + 56)))
SLEN=$(rd_le64 A.img $((LOC + 64)))
TOFF=$(rd_le64 A.img $((LOC + 72)))
TLEN=$(rd_le64 A.img $((LOC + 80)))
[ "$(rd_le32 A.img $((MOFF + 52)))" -eq 2 ] || fail "manifest should list 2 devices"
TREE0=$((TOFF + $(rd_le64 A.img $((MOFF + 120 + 40)))))
TREE1=$((TOFF + $(rd_le64 A.img $((MOFF + 120 + 48 + 40)))))
# fs-verity tree of the blob: level 0 has ceil(blocks/128) blocks, the top
# level (stored first) one block here
lvl0=$(((bblocks + 127) / 128))
{ [ "$lvl0" -gt 1 ] && [ "$lvl0" -le 128 ]; } || fail "unexpected tree shape ($lvl0 level-0 blocks)"
[ $((TREE1 + (1 + lvl0) * 4096)) -le $((TOFF + TLEN)) ] || fail "blob tree does not fit the trees section"
info "fs region $FSZ bytes; manifest @$MOFF; signatures @$SOFF ($SLEN); trees @$TOFF ($TLEN): device 0 @$TREE0, blob @$TREE1"

erofs_sb A.img
erofs_lookup A.img /many || fail "cannot find /many in A.img"
DIRBLK=$DE_BLK_OFF      # a block of the root directory
MANY_NID=$LK_NID
erofs_dir_find A.img "$MANY_NID" file-with-a-longish-name-150 ||
	fail "cannot find many/file-with-a-longish-name-150"
MANYBLK=$DE_BLK_OFF     # a block of /many
INODE_OFF=$((SB_META * SB_BLKSZ + MANY_NID * 32))
info "superblock meta block $SB_META, /many nid $MANY_NID (inode @$INODE_OFF), dir blocks @$DIRBLK, @$MANYBLK"

cases=0
# fresh: new copy of image A and its blobs in W/
fresh() {
	rm -rf W
	mkdir -p W/blobs
	cp A.img W/A.img
	cp "blobsA/$blobA" W/blobs/
}

# verify WANT NAME ARGS...: erofs-verify ARGS W/A.img [BLOB...] must exit
# WANT, or one of "A|B" (blob paths in the array VBLOBS); also the --json
# form (same exit, parses, same exit_code)
VBLOBS=()

verify() {
	local want=$1 name=$2 jrc
	shift 2
	runcmd "$name" "$VERIFY" "$@" W/A.img "${VBLOBS[@]}"
	cases=$((cases + 1))
	if crashed "$RC"; then
		bad "$name: erofs-verify crashed (exit $RC): $(head -c 2000 "$name.err")"
		return 1
	fi
	case "|$want|" in
	*"|$RC|"*) ;;
	*)
		bad "$name: erofs-verify exit $RC, expected $want: $(head -c 600 "$name.err")"
		return 1 ;;
	esac
	runcmd "$name.json" "$VERIFY" --json "$@" W/A.img "${VBLOBS[@]}"
	jrc=$RC
	if crashed "$jrc"; then
		bad "$name: erofs-verify --json crashed (exit $jrc)"
		return 1
	fi
	if [ "$jrc" -ne "$RC" ]; then
		bad "$name: erofs-verify --json exit $jrc, without --json $RC"
		return 1
	fi
	if [ "$have_python" = 1 ] && ! python3 -c '
import json, sys
j = json.load(sys.stdin)
want = int(sys.argv[1])
if "exit_code" in j and j["exit_code"] != want:
    sys.exit("exit_code %r != %d" % (j["exit_code"], want))
if want != 0 and j.get("verified") is True:
    sys.exit("verified is true")
' "$RC" <"$name.json.out"; then
		bad "$name: --json output is wrong: $(head -c 1000 "$name.json.out")"
		return 1
	fi
	info "$name: erofs-verify exit $RC: $(head -n 1 "$name.err" | cut -c1-150)"
	return 0
}

# expect_msg NAME FILE REGEX WHAT: FILE must match REGEX
expect_msg() {
	grep -q -- "$3" "$2" || bad "$1: message does not name $4: $(head -c 600 "$2")"
}

# fsck_expect WANT NAME ARGS...: fsck.erofs ARGS W/A.img; WANT may be a
# list "4|8"
fsck_expect() {
	local want=$1 name=$2
	shift 2
	runcmd "$name" "$FSCK" "$@" W/A.img
	if crashed "$RC"; then
		bad "$name: fsck crashed (exit $RC): $(head -c 2000 "$name.err")"
		return 1
	fi
	case "|$want|" in
	*"|$RC|"*) ;;
	*)
		bad "$name: fsck exit $RC, expected $want: $(head -c 600 "$name.err")"
		return 1 ;;
	esac
	info "$name: fsck exit $RC"
}

echo "== the untouched copy verifies"
fresh
verify 0 pristine --cert=rsa-cert.pem --blob-dir=W/blobs
fsck_expect 0 pristine-fsck --cert=rsa-cert.pem --blob-dir=W/blobs

echo "== one bit of the blob"
for blk in 0 $((bblocks / 2 + 3)) $((bblocks - 1)); do
	fresh
	flip_bit "W/blobs/$blobA" $((blk * 4096 + 1234)) 5
	if verify 4 "blob-blk$blk" --cert=rsa-cert.pem --blob-dir=W/blobs; then
		expect_msg "blob-blk$blk" "blob-blk$blk.err" "block $blk\b" "block $blk"
		expect_msg "blob-blk$blk" "blob-blk$blk.err" "blob 1\|${blobA:0:16}" "the blob"
	fi
	# the blob given by path instead of --blob-dir
	VBLOBS=("W/blobs/$blobA")
	verify 4 "blob-blk$blk-arg" --cert=rsa-cert.pem
	VBLOBS=()
	fsck_expect 4 "blob-blk$blk-fsck" --blob-dir=W/blobs &&
		expect_msg "blob-blk$blk-fsck" "blob-blk$blk-fsck.err" "block $blk\b" "block $blk"
	fsck_expect 4 "blob-blk$blk-fsck-dev" "--device=W/blobs/$blobA"
done

echo "== one bit of the filesystem region"
# name offset
for spec in "pad0 0" "pad1000 1000" "sb-epoch $((1024 + 24))" \
	"sb-root $((1024 + 14))" "inode $((INODE_OFF + 4))" \
	"rootdir $((DIRBLK + 30))" "manydir $((MANYBLK + 100))" \
	"last $((FSZ - 1))"; do
	set -- $spec
	fresh
	flip_bit W/A.img "$2" 1
	blk=$(($2 / 4096))
	verify 4 "region-$1" --cert=rsa-cert.pem --blob-dir=W/blobs &&
		expect_msg "region-$1" "region-$1.err" "block $blk\b" "block $blk"
	verify 4 "region-$1-noanchor" --integrity-only --blob-dir=W/blobs
	fsck_expect 4 "region-$1-fsck" --blob-dir=W/blobs
done

echo "== device table tag in block 0"
# slot 1 at devt_slotoff (le16 at superblock offset 88) x 128; the tag is
# the first 64 bytes of the slot
[ "$(rd_le16 A.img $((1024 + 86)))" -eq 1 ] || fail "superblock should list one extra device"
slotoff=$(rd_le16 A.img $((1024 + 88)))
[ "$slotoff" -gt 0 ] || fail "no device table slot offset in the superblock"
TAG=$((slotoff * 128))
[ "$(dd if=A.img bs=1 skip=$TAG count=64 status=none)" = "$blobA" ] ||
	fail "device table tag at $TAG is not the blob digest"
for fix in nofix crcfix; do
	fresh
	flip_bit W/A.img $((TAG + 7)) 0 # hex digit stays a hex digit
	[ $fix = crcfix ] && sb_fix_crc W/A.img
	verify 4 "devtag-$fix" --cert=rsa-cert.pem --blob-dir=W/blobs
	fsck_expect 4 "devtag-$fix-fsck" --blob-dir=W/blobs
done

echo "== one bit of a Merkle tree"
for spec in "blob-top $((TREE1 + 40))" "blob-level0 $((TREE1 + 4096 + 3 * 4096 / 2))" \
	"blob-level0-last $((TREE1 + lvl0 * 4096 + 100))" "dev0 $((TREE0 + 5))"; do
	set -- $spec
	fresh
	flip_bit W/A.img "$2" 6
	verify 4 "tree-$1" --cert=rsa-cert.pem --blob-dir=W/blobs
	fsck_expect 4 "tree-$1-fsck" --blob-dir=W/blobs
done

echo "== one bit of the manifest"
for spec in "mtime $((MOFF + 32))" "dev0digest $((MOFF + 120 + 8 + 3))" \
	"blobdigest $((MOFF + 168 + 8 + 30))" "chunkidx $((MOFF + 88))"; do
	set -- $spec
	fresh
	flip_bit W/A.img "$2" 2
	verify 1 "manifest-$1" --cert=rsa-cert.pem --blob-dir=W/blobs
	fsck_expect 4 "manifest-$1-fsck" --cert=rsa-cert.pem --blob-dir=W/blobs
done
# without anchors (--integrity-only), a changed device digest is an
# integrity failure
fresh
flip_bit W/A.img $((MOFF + 120 + 8 + 3)) 2
verify 4 manifest-dev0digest-noanchor --integrity-only --blob-dir=W/blobs

echo "== one bit of the chunk index section"
CIOFF=$(rd_le64 A.img $((LOC + 88)))
CILEN=$(rd_le64 A.img $((LOC + 96)))
[ "$(dd if=A.img bs=1 skip=$CIOFF count=8 status=none)" = ESCHIDX1 ] || fail "no chunk index at $CIOFF"
fresh
flip_bit W/A.img $((CIOFF + CILEN / 2)) 3
# the manifest binds its SHA-256: damaged (4) or malformed seal (5)
verify "4|5" chunkindex --cert=rsa-cert.pem --blob-dir=W/blobs
fsck_expect 4 chunkindex-fsck --cert=rsa-cert.pem --blob-dir=W/blobs

echo "== one bit of the signature"
[ "$(dd if=A.img bs=1 skip=$SOFF count=8 status=none)" = ESSIGS01 ] || fail "no signatures section at $SOFF"
siglen=$(rd_le32 A.img $((SOFF + 16 + 4)))
for spec in "early $((SOFF + 16 + 40 + 50))" "late $((SOFF + 16 + 40 + siglen - 20))"; do
	set -- $spec
	fresh
	flip_bit W/A.img "$2" 4
	verify 1 "signature-$1" --cert=rsa-cert.pem --blob-dir=W/blobs
	fsck_expect 4 "signature-$1-fsck" --cert=rsa-cert.pem --blob-dir=W/blobs
done

echo "== one bit of the locator"
for spec in "magic $LOC" "fs_size $((LOC + 33))" "trees $((LOC + 73))" \
	"checksum $((LOC + 130))"; do
	set -- $spec
	fresh
	flip_bit W/A.img "$2" 0
	verify 5 "locator-$1" --cert=rsa-cert.pem --blob-dir=W/blobs
	fsck_expect 4 "locator-$1-fsck" --blob-dir=W/blobs
done

echo "== truncated blob"
for cut in 4096 1; do
	fresh
	truncate -s $((bsize - cut)) "W/blobs/$blobA"
	verify 4 "truncated-$cut" --cert=rsa-cert.pem --blob-dir=W/blobs
	fsck_expect 4 "truncated-$cut-fsck" --blob-dir=W/blobs
done

echo "== missing blob"
fresh
rm "W/blobs/$blobA"
verify 3 missing --cert=rsa-cert.pem --blob-dir=W/blobs
fsck_expect "4|8" missing-fsck --blob-dir=W/blobs

echo "== another image's blob under this blob's name"
fresh
cp "blobsB/$blobB" "W/blobs/$blobA"
verify 4 swapped --cert=rsa-cert.pem --blob-dir=W/blobs
fsck_expect 4 swapped-fsck --blob-dir=W/blobs
VBLOBS=("W/blobs/$blobA")
verify 4 swapped-arg --cert=rsa-cert.pem
VBLOBS=()

echo "== signed by an untrusted key"
rm -rf W
mkdir W
cp U.img W/A.img
cp -r blobsU W/blobs
verify 2 untrusted --cert=rsa-cert.pem --blob-dir=W/blobs
verify 0 untrusted-own-anchor --cert=other-cert.pem --blob-dir=W/blobs
fsck_expect 4 untrusted-fsck --cert=rsa-cert.pem --blob-dir=W/blobs

echo "$cases erofs-verify cases"
finish_cases
