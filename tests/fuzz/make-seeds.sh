#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# make-seeds.sh OUTDIR - seed corpora for the fuzz targets, from real images
#
# Two trees: a small one (a few files of every kind, fast to run) and a
# cut of tests/integration/gentree.sh's "full" tree (every name, xattr,
# link and layout case, without its 10,000-entry folder and its large
# files).  Each is built plain, chunked, into a blob, sealed, signed and
# encrypted (keyslot: the key file fuzz_keyarea.c unlocks with, 64 x 'K');
# plus one image of erofs-utils' mkfs.erofs when installed.  Then:
#
#   OUTDIR/images/   every image: fuzz_image, fuzz_super, fuzz_dir,
#                    fuzz_xattr, fuzz_data and (the boot reader) fuzz_boot
#   OUTDIR/seal/     the sealed ones: fuzz_seal
#   OUTDIR/keyarea/  the key areas alone (a detached one, and the embedded
#                    ones cut out at the locator's offset): fuzz_keyarea
#
# Environment: MKFS (our mkfs.erofs), GENTREE (default: next to this
# script), openssl for the signing key.  Deterministic: fixed UUIDs, build
# times and key bytes; the signing key is a fixed Ed25519 seed.
set -euo pipefail

out=${1:?usage: make-seeds.sh OUTDIR}
here=$(cd "$(dirname "$0")" && pwd)
: "${MKFS:?set MKFS to our mkfs.erofs}"
GENTREE=${GENTREE:-$here/../integration/gentree.sh}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

mkdir -p "$out/images" "$out/seal" "$out/keyarea"

# the small tree
small=$work/small
mkdir -p "$small/a/b" "$small/d"
printf 'hello\n' >"$small/a/b/c"
head -c 20000 /dev/zero | tr '\0' 'z' >"$small/d/bin"
printf 'different' >>"$small/d/bin"
cp "$small/d/bin" "$small/d/bin2"
ln -s ../a/b/c "$small/d/link"
ln "$small/a/b/c" "$small/d/hard"
truncate -s 1M "$small/d/sparse"
mkfifo "$small/d/fifo"
for i in 1 2 3 4; do
	printf '%s' "$i" >"$small/d/x$i"
	setfattr -n user.shared -v same "$small/d/x$i" 2>/dev/null || true
done
setfattr -n user.long -v "$(printf 'v%.0s' {1..300})" "$small/a" 2>/dev/null || true

# the cut of the full tree (needs root for its device nodes and owners)
trees=(small)
if GENTREE_SPARSE_SIZE=1M bash "$GENTREE" full "$work/full" >/dev/null 2>&1; then
	find "$work/full/dirs/big" -mindepth 1 -maxdepth 1 | sort | tail -n +201 |
		xargs -r rm -rf
	find "$work/full/files" -type f -size +64k ! -name sparse -delete
	trees+=(full)
else
	echo "make-seeds: gentree full unavailable (not root?): small tree only" >&2
fi

# a fixed Ed25519 key (PKCS#8 prefix + 32 seed bytes) and the slot key file
{ printf '\x30\x2e\x02\x01\x00\x30\x05\x06\x03\x2b\x65\x70\x04\x22\x04\x20'
  printf 'S%.0s' {1..32}; } | openssl pkey -inform DER -out "$work/sign.pem"
printf 'K%.0s' {1..64} >"$work/slot.key"
printf 'D%.0s' {1..32} >"$work/domain.key"

uuid=5eed5eed-0000-4000-8000-00000000f022
enc=(--encrypt --domain-key="$work/domain.key" --keyslot=keyfile:"$work/slot.key")

# key area section of a sealed image: locator section 4 (offset, length)
cut_keyarea() {
	local img=$1 dst=$2 size off len
	size=$(stat -c %s "$img")
	off=$(od -An -t u8 -j $((size - 4096 + 40 + 64)) -N 8 "$img" | tr -d ' ')
	len=$(od -An -t u8 -j $((size - 4096 + 40 + 72)) -N 8 "$img" | tr -d ' ')
	[ "$len" -gt 0 ] || return 0
	dd if="$img" of="$dst" bs=4096 iflag=skip_bytes,count_bytes skip="$off" \
		count="$len" status=none
}

for t in "${trees[@]}"; do
	src=$work/$t
	mk() { "$MKFS" --quiet -T 0 -U "$uuid" "$@"; }
	mk "$out/images/$t-plain.img" "$src"
	mk --chunksize=4096 "$out/images/$t-chunked.img" "$src"
	mkdir -p "$work/blobs-$t"
	mk --chunksize=8192 --blob-dir="$work/blobs-$t" "$out/images/$t-blob.img" "$src"
	mk --seal "$out/images/$t-sealed.img" "$src"
	mk --sign-key="$work/sign.pem" --chunksize=4096 "$out/images/$t-signed.img" "$src"
	mk "${enc[@]}" --sign-key="$work/sign.pem" "$out/images/$t-encrypted.img" "$src"
	mk "${enc[@]}" --key-area="$out/keyarea/$t-detached.keys" \
		"$work/$t-detached.img" "$src"
	for s in sealed signed encrypted; do
		cp "$out/images/$t-$s.img" "$out/seal/"
	done
	cut_keyarea "$out/images/$t-encrypted.img" "$out/keyarea/$t-embedded.keys"
done
if [ -x /usr/bin/mkfs.erofs ]; then
	/usr/bin/mkfs.erofs --quiet -T 0 "$out/images/upstream.img" "$small" >/dev/null 2>&1 ||
		rm -f "$out/images/upstream.img"
fi
echo "make-seeds: $(find "$out" -type f | wc -l) seeds in $out"
