#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Compressed images with blobs (mkfs -z ... --blob-dir), and the -j
# independence of compressed output:
#  kernel    for lz4, lz4hc, deflate and zstd (1-block and big pclusters),
#            the kernel mounts the image with its blob on a loop device
#            (-o device=) and it equals the source (treecmp); our fsck
#            --blob-dir --extract equals it too; the pclusters are in the
#            blob, not in the image (the image is no larger than the image
#            of the same tree built without -z, data in its blob too);
#            the filesystem region followed by the blob mounts as one flat
#            device too
#  seal      erofs-verify passes; a flipped bit in the blob's pclusters is
#            caught by the blob's Merkle tree
#  encrypt   --encrypt -z --blob-dir: fsck --unlock --extract equals the
#            source; the encrypted blob holds none of the plain blob's
#            pclusters
#  dict      a second image with --chunk-dict of the first stores no
#            pcluster of a file the first holds (its new blob is smaller
#            than that file's pclusters) and mounts, with both blobs, equal
#            to its source
#  workers   -j1, -j2 and -j8 give byte-identical images and blobs (lz4hc
#            and zstd with a blob, deflate without), for a tree with a file
#            of several segments and more files than one window holds
# Every case runs; the failures are listed at the end.

_lib=$(dirname "$0")/lib.sh
[ -r "$_lib" ] || _lib=${srcdir:-.}/integration/lib.sh
. "$_lib" || { echo "FAIL: cannot source lib.sh"; exit 1; }

need_root
need_progs MKFS FSCK VERIFY TREECMP GENTREE
need_cmd mount umount losetup mountpoint cmp openssl
grep -qw erofs /proc/filesystems 2>/dev/null || modprobe erofs 2>/dev/null
grep -qw erofs /proc/filesystems || skip "kernel has no erofs support"

cd "$T" || fail "cannot enter $T"
UUID=0c0ffee0-1234-4abc-8def-0123456789ab

must bash "$GENTREE" full tree
mkdir tree/z
seq 1 200000 >tree/z/numbers.txt
{ for i in $(seq 1 400); do printf 'line %d of a log file: status=%d\n' "$i" $((i % 7)); done; } \
	>tree/z/log.txt
cp tree/z/numbers.txt tree/z/numbers-copy.txt

# the blob of a build into DIR (one new blob per build here)
blob_of() { ls "$1"/* 2>/dev/null | grep -v '\.sig$' | head -n 1; }

# variant NAME MKFS-OPTIONS...: kernel mount and our extraction equal the tree
variant() {
	local name=$1 img=$T/$1.img blobs=$T/$1.blobs blob
	shift
	run_rc 0 "mkfs-$name" "$MKFS" --quiet -T 0 --mkfs-time -U "$UUID" -j2 "$@" \
		--blob-dir "$blobs" "$img" tree || return
	blob=$(blob_of "$blobs")
	[ -n "$blob" ] || { bad "$name: no blob written"; return; }
	[ ! -f plain.img ] || [ "$(stat -c %s "$img")" -le $(($(stat -c %s plain.img) + 65536)) ] ||
		bad "$name: the image holds $(stat -c %s "$img") bytes, the uncompressed one" \
		    "$(stat -c %s plain.img): pclusters are not in the blob"
	if mount_erofs "$img" "$T/mnt" "$blob"; then
		echo 3 >/proc/sys/vm/drop_caches
		runcmd "treecmp-$name" "$TREECMP" tree "$T/mnt"
		[ "$RC" -eq 0 ] || bad "$name: kernel mount differs: $(head -c 800 "treecmp-$name.out")"
		umount_erofs "$T/mnt" || bad "$name: umount failed"
	else
		bad "$name: the kernel does not mount it: $(dmesg 2>/dev/null | tail -n 3)"
	fi
	rm -rf "x-$name"
	run_rc 0 "fsck-$name" "$FSCK" --blob-dir="$blobs" --extract="x-$name" "$img" &&
		{ "$TREECMP" tree "x-$name" >/dev/null 2>&1 ||
		  bad "$name: our fsck --extract differs from the source"; }
	rm -rf "x-$name"
	info "$name: image $(stat -c %s "$img") bytes, blob $(stat -c %s "$blob") bytes"
}

# ---- kernel, our fsck -------------------------------------------------------
# the same tree without -z: its image holds the same metadata (a chunk
# index entry per block where the compressed one has an lcluster index)
run_rc 0 mkfs-plain "$MKFS" --quiet -T 0 --mkfs-time -U "$UUID" --blob-dir plain.blobs \
	plain.img tree
variant lz4 -z lz4
variant lz4hc-big -z lz4hc,12 -C 65536
variant deflate -z deflate,9
variant zstd-big -z zstd,10 -C 262144

# ---- flat: the filesystem region (its blocks, from the superblock) followed
# by the blob, one device with no device= option, also mounts equal
if [ -f lz4hc-big.img ]; then
	fs_bytes=$(($(rd_le32 lz4hc-big.img 1060) << $(rd_u8 lz4hc-big.img 1036)))
	{ head -c "$fs_bytes" lz4hc-big.img; cat "$(blob_of lz4hc-big.blobs)"; } >flat.img
	if mount_erofs flat.img "$T/mnt"; then
		echo 3 >/proc/sys/vm/drop_caches
		runcmd treecmp-flat "$TREECMP" tree "$T/mnt"
		[ "$RC" -eq 0 ] || bad "flat: kernel mount differs: $(head -c 800 treecmp-flat.out)"
		umount_erofs "$T/mnt" || bad "flat: umount failed"
	else
		bad "flat: the kernel does not mount the image region and its blob as one device"
	fi
	rm -f flat.img
fi

# ---- seal -------------------------------------------------------------------
if [ -f lz4.img ]; then
	run_rc 0 verify-lz4 "$VERIFY" --integrity-only --blob-dir lz4.blobs lz4.img
	blob=$(blob_of lz4.blobs)
	cp "$blob" bad-blob
	# a bit in the middle of the blob: some pcluster's byte
	flip_bit bad-blob $(($(stat -c %s bad-blob) / 2)) 3
	mkdir -p badblobs
	mv bad-blob "badblobs/$(basename "$blob")"
	run_rc 4 verify-bad "$VERIFY" --integrity-only --blob-dir badblobs lz4.img &&
		says verify-bad verify-bad.err 'blob 1.*fails its Merkle tree' "the damaged block"
fi

# ---- encrypt ----------------------------------------------------------------
rnd 32 >domain.key
rnd 64 >slot.key
openssl genpkey -algorithm ed25519 -out sign.pem 2>/dev/null || fail "openssl genpkey"
openssl pkey -in sign.pem -pubout -out sign.pub 2>/dev/null || fail "openssl pkey"
if run_rc 0 mkfs-enc "$MKFS" --quiet -T 0 --mkfs-time -U "$UUID" --encrypt \
	--domain-key=domain.key --keyslot=keyfile:slot.key --sign-key=sign.pem \
	-z lz4hc,12 -C 65536 --blob-dir enc.blobs enc.img tree; then
	run_rc 0 fsck-enc "$FSCK" --unlock=keyfile:slot.key --pubkey=sign.pub \
		--blob-dir enc.blobs --extract=xe enc.img &&
		{ "$TREECMP" tree xe >/dev/null 2>&1 ||
		  bad "encrypt: --unlock --extract differs from the source"; }
	# the plain blob's pclusters (same compressor, same -C) must not
	# appear in the encrypted one
	if [ -f lz4hc-big.img ]; then
		"$PYTHON" - "$(blob_of lz4hc-big.blobs)" "$(blob_of enc.blobs)" <<'EOF' ||
import sys
plain, enc = (open(p, 'rb').read() for p in sys.argv[1:3])
blocks = {enc[i:i + 4096] for i in range(0, len(enc), 4096)}
hits = [i for i in range(0, len(plain), 4096)
        if plain[i:i + 4096] in blocks and plain[i:i + 4096].count(0) < 4000]
sys.exit(1 if hits else 0)
EOF
			bad "encrypt: a plaintext pcluster is in the encrypted blob"
	fi
fi

# ---- dict -------------------------------------------------------------------
mkdir -p d1 d2 dblobs
cp tree/z/numbers.txt d1/a.txt
cp tree/z/numbers.txt d2/copy.txt
cp tree/z/log.txt d2/log.txt
if run_rc 0 mkfs-d1 "$MKFS" --quiet -T 0 --mkfs-time -z lz4hc --blob-dir dblobs d1.img d1; then
	first=$(blob_of dblobs)
	if run_rc 0 mkfs-d2 "$MKFS" --quiet -T 0 --mkfs-time -z lz4hc --blob-dir dblobs --chunk-dict d1.img \
		d2.img d2; then
		second=$(ls dblobs/* | grep -v "$first" | head -n 1)
		[ -z "$second" ] || [ "$(stat -c %s "$second")" -lt $(($(stat -c %s "$first") / 2)) ] ||
			bad "dict: the second image stored the first's pclusters again"
		# shellcheck disable=SC2086
		if mount_erofs d2.img "$T/mnt" $second "$first"; then
			runcmd treecmp-d2 "$TREECMP" --ignore-root-mtime d2 "$T/mnt"
			[ "$RC" -eq 0 ] || bad "dict: kernel mount differs: $(head -c 800 treecmp-d2.out)"
			umount_erofs "$T/mnt" || bad "dict: umount failed"
		else
			bad "dict: the kernel does not mount it"
		fi
	fi
fi

# ---- workers ----------------------------------------------------------------
# a file of several 4 MiB segments, and more than 128 files (one window)
mkdir -p w/many
seq 1 1000000 >w/big.txt
for i in $(seq 1 150); do seq "$i" $((i * 40)) >"w/many/f$i"; done
cp -a tree/z w/
for v in lz4hc zstd deflate; do
	case $v in
	lz4hc) opts=(-z lz4hc) ;;
	zstd) opts=(-z zstd,5 -C 16384) ;;
	deflate) opts=(-z deflate) ;;
	esac
	for j in 1 2 8; do
		out=w-$v-j$j
		blobopt=()
		[ "$v" = deflate ] || blobopt=(--blob-dir "$out.blobs")
		run_rc 0 "mkfs-$out" "$MKFS" --quiet -T 0 -U "$UUID" -j$j "${opts[@]}" \
			"${blobopt[@]}" "$out.img" w || continue
		[ "$j" = 1 ] && continue
		cmp -s "w-$v-j1.img" "$out.img" || bad "workers: $v -j$j image differs from -j1"
		if [ -d "$out.blobs" ]; then
			{ diff <(cd "w-$v-j1.blobs" && ls) <(cd "$out.blobs" && ls) >/dev/null &&
			  cmp -s "$(blob_of "w-$v-j1.blobs")" "$(blob_of "$out.blobs")"; } ||
				bad "workers: $v -j$j blob differs from -j1"
		fi
	done
done

finish_cases "compressed images with blobs mount, extract, verify, dedup and do not depend on -j"
