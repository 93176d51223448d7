#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Compressed images (mkfs -z, -C):
#  kernel      for lz4, lz4hc, deflate and zstd (1-block and big
#              pclusters), the kernel mounts our image of the `full` tree
#              plus compressible files, and it equals the source (treecmp);
#              our fsck --extract equals it too
#  upstream    erofs-utils' fsck.erofs accepts our LZ4/LZ4HC images and
#              extracts them equal to the source
#  shrink      the image of compressible data is smaller than the data
#              (stat sizes); a file of random bytes is stored raw (the
#              image holds it in no fewer blocks than it has)
#  dedup       a second copy of a compressed file costs no pcluster: two
#              images, with and without the copy, differ by less than a
#              tenth of the file (LZ4 cannot shrink base64 of random
#              bytes: no entropy coding, so the text is stored raw)
#  repro       two builds with the same -T and -U are byte-identical
#  seal        --seal: erofs-verify passes; a pcluster replaced by a
#              malformed LZ4 stream is caught by the tree (erofs-verify and
#              fsck name the region), and fsck's message is not the
#              decoder's message for the same damage in an unsealed image:
#              the decoder never saw the bytes
#  encrypt     --encrypt -z: fsck --unlock --extract equals the source;
#              the image holds none of the source's compressed pclusters
# Every case runs; the failures are listed at the end.

_lib=$(dirname "$0")/lib.sh
[ -r "$_lib" ] || _lib=${srcdir:-.}/integration/lib.sh
. "$_lib" || { echo "FAIL: cannot source lib.sh"; exit 1; }

need_root
need_progs MKFS FSCK VERIFY TREECMP GENTREE
need_cmd mount umount losetup mountpoint cmp openssl
grep -qw erofs /proc/filesystems 2>/dev/null || modprobe erofs 2>/dev/null
grep -qw erofs /proc/filesystems || skip "kernel has no erofs support"
UFSCK=${UPSTREAM_FSCK:-/usr/bin/fsck.erofs}

cd "$T" || fail "cannot enter $T"
UUID=0c0ffee0-1234-4abc-8def-0123456789ab

must bash "$GENTREE" full tree
# compressible data of several kinds next to gentree's random bytes
mkdir tree/z
seq 1 200000 >tree/z/numbers.txt
rnd 300000 | base64 >tree/z/base64.txt
{ for i in $(seq 1 400); do printf 'line %d of a log file: status=%d\n' "$i" $((i % 7)); done; } \
	>tree/z/log.txt
cp tree/z/numbers.txt tree/z/numbers-copy.txt
head -c 20000 tree/z/numbers.txt >tree/z/small.txt

# variant NAME MKFS-OPTIONS...: kernel mount and our extraction equal the tree
variant() {
	local name=$1 img=$T/$1.img
	shift
	run_rc 0 "mkfs-$name" "$MKFS" --quiet -T 0 --mkfs-time -U "$UUID" "$@" "$img" tree ||
		return
	if mount_erofs "$img" "$T/mnt"; then
		runcmd "treecmp-$name" "$TREECMP" tree "$T/mnt"
		[ "$RC" -eq 0 ] || bad "$name: kernel mount differs: $(head -c 800 "treecmp-$name.out")"
		umount_erofs "$T/mnt" || bad "$name: umount failed"
	else
		bad "$name: the kernel does not mount it: $(dmesg 2>/dev/null | tail -n 3)"
	fi
	rm -rf "x-$name"
	run_rc 0 "fsck-$name" "$FSCK" --extract="x-$name" "$img" &&
		{ "$TREECMP" tree "x-$name" >/dev/null 2>&1 ||
		  bad "$name: our fsck --extract differs from the source"; }
	rm -rf "x-$name"
	info "$name: $(stat -c %s "$img") bytes"
}

# ---- kernel, our fsck -------------------------------------------------------
variant lz4 -z lz4
variant lz4hc -z lz4hc,12
variant lz4hc-big -z lz4hc -C 65536
variant deflate -z deflate,9
variant deflate-big -z deflate -C 131072
variant zstd -z zstd,10
variant zstd-big -z zstd -C 262144

# ---- upstream fsck ----------------------------------------------------------
# 1.5 checks every image; its extraction is compared on regular files
# only (whatever the image, it crashes on names near PATH_MAX and drops
# hard links, set-id bits and sparse files' holes)
if [ -x "$UFSCK" ]; then
	mkdir -p utree/files
	cp -a tree/z utree/
	find tree/files -maxdepth 1 -type f -links 1 ! -perm /7000 | while read -r f; do
		[ $(($(stat -c '%b * %B' "$f"))) -ge "$(stat -c %s "$f")" ] && cp -a "$f" utree/files/
	done
	for name in lz4 lz4hc lz4hc-big; do
		[ -f "$name.img" ] && run_rc 0 "upstream-check-$name" "$UFSCK" "$name.img"
	done
	for v in "lz4:-z lz4" "lz4hc:-z lz4hc" "lz4hc-big:-z lz4hc -C 65536"; do
		name=u-${v%%:*}
		# shellcheck disable=SC2086
		run_rc 0 "mkfs-$name" "$MKFS" --quiet -T 0 --mkfs-time ${v#*:} "$name.img" utree ||
			continue
		rm -rf "x-$name"
		run_rc 0 "upstream-extract-$name" "$UFSCK" --extract="x-$name" "$name.img" &&
			{ "$TREECMP" --no-xattrs --no-hardlinks --ignore-root-mtime utree "x-$name" \
				>"treecmp-$name.out" 2>&1 ||
			  bad "$name: upstream fsck.erofs --extract differs: $(head -c 600 "treecmp-$name.out")"; }
	done
else
	info "upstream: $UFSCK not installed, not checked"
fi

# ---- shrink -----------------------------------------------------------------
mkdir -p only-z only-rand
cp tree/z/numbers.txt tree/z/base64.txt only-z/
rnd 200000 >only-rand/random.bin
run_rc 0 mkfs-onlyz "$MKFS" --quiet -T 0 -z lz4hc onlyz.img only-z &&
	{ data=$(($(stat -c %s only-z/numbers.txt) + $(stat -c %s only-z/base64.txt)))
	  [ "$(stat -c %s onlyz.img)" -lt $((data * 8 / 10)) ] ||
		bad "shrink: image of $data compressible bytes is $(stat -c %s onlyz.img) bytes"; }
run_rc 0 mkfs-onlyrand "$MKFS" --quiet -T 0 -z lz4hc onlyrand.img only-rand &&
	{ [ "$(stat -c %s onlyrand.img)" -ge 200000 ] ||
		bad "shrink: random data stored in fewer bytes than it has"; }
if [ -x "$UFSCK" ] && [ -f onlyrand.img ]; then
	run_rc 0 upstream-onlyrand "$UFSCK" onlyrand.img
fi

# ---- dedup ------------------------------------------------------------------
mkdir -p d1 d2
cp tree/z/numbers.txt d1/a.txt
cp tree/z/numbers.txt d2/a.txt
cp tree/z/numbers.txt d2/b.txt
run_rc 0 mkfs-d1 "$MKFS" --quiet -T 0 -z lz4hc d1.img d1 &&
run_rc 0 mkfs-d2 "$MKFS" --quiet -T 0 -z lz4hc d2.img d2 &&
	{ growth=$(($(stat -c %s d2.img) - $(stat -c %s d1.img)))
	  [ "$growth" -lt $(($(stat -c %s d1/a.txt) / 10)) ] ||
		bad "dedup: a second copy grew the image by $growth bytes"; }

# ---- repro ------------------------------------------------------------------
run_rc 0 mkfs-repro "$MKFS" --quiet -T 0 --mkfs-time -U "$UUID" -z zstd,10 zstd-again.img tree &&
	{ cmp -s zstd.img zstd-again.img || bad "repro: two zstd builds differ"; }
run_rc 0 mkfs-repro2 "$MKFS" --quiet -T 0 --mkfs-time -U "$UUID" -z lz4hc -C 65536 lz4hc-big-again.img tree &&
	{ cmp -s lz4hc-big.img lz4hc-big-again.img || bad "repro: two lz4hc -C 65536 builds differ"; }

# ---- seal -------------------------------------------------------------------
# one file that LZ4 compresses from its first byte: its first pcluster is
# block 1 (data comes first)
mkdir -p one
for i in $(seq 1 20); do cat tree/z/log.txt; done >one/log.txt
# an LZ4 block no decoder accepts: a literal, then a match 65535 bytes back
# from byte 1, right-aligned in the block like a real pcluster
craft() {
	local img=$1
	dd if=/dev/zero of="$img" bs=4096 seek=1 count=1 conv=notrunc status=none
	printf '\x1f\x41\xff\xff\x00\x00\x00\x00' |
		dd of="$img" bs=1 seek=$((8192 - 8)) conv=notrunc status=none
}
run_rc 0 mkfs-sealed "$MKFS" --quiet -T 0 -U "$UUID" -z lz4 --seal sealed.img one &&
	run_rc 0 verify-sealed "$VERIFY" --integrity-only sealed.img
run_rc 0 mkfs-unsealed "$MKFS" --quiet -T 0 -U "$UUID" -z lz4 unsealed.img one
if [ -f sealed.img ] && [ -f unsealed.img ]; then
	cp sealed.img sealed-bad.img
	cp unsealed.img unsealed-bad.img
	craft sealed-bad.img
	craft unsealed-bad.img
	run_rc 4 verify-bad "$VERIFY" --integrity-only sealed-bad.img &&
		says verify-bad verify-bad.err 'block 1 fails its Merkle tree' "the damaged block"
	runcmd fsck-unsealed-bad "$FSCK" --extract=xu unsealed-bad.img
	[ "$RC" -ne 0 ] || bad "seal: fsck extracted a malformed pcluster without complaint"
	crashed "$RC" && bad "seal: fsck crashed on a malformed pcluster (exit $RC)"
	runcmd fsck-sealed-bad "$FSCK" --extract=xs sealed-bad.img
	[ "$RC" -ne 0 ] || bad "seal: fsck passed a sealed image with a replaced pcluster"
	crashed "$RC" && bad "seal: fsck crashed (exit $RC)"
	says seal fsck-sealed-bad.err 'block 1 fails its Merkle tree' "that the tree caught it"
	# the unsealed image's complaint about the file is the decoder's
	decoder_msg=$(grep -m1 '/log.txt: nid [0-9]*: ' fsck-unsealed-bad.err | sed 's/^[^:]*: //')
	[ -n "$decoder_msg" ] || bad "seal: fsck of the unsealed image names no damaged file"
	[ -n "$decoder_msg" ] && grep -qF -- "$decoder_msg" fsck-sealed-bad.err &&
		bad "seal: the sealed image's fsck reports the decoder's error ($decoder_msg)"
fi

# ---- encrypt ----------------------------------------------------------------
rnd 32 >domain.key
rnd 64 >slot.key
openssl genpkey -algorithm ed25519 -out sign.pem 2>/dev/null || fail "openssl genpkey"
openssl pkey -in sign.pem -pubout -out sign.pub 2>/dev/null || fail "openssl pkey"
if run_rc 0 mkfs-enc "$MKFS" --quiet -T 0 --mkfs-time -U "$UUID" --encrypt \
	--domain-key=domain.key --keyslot=keyfile:slot.key --sign-key=sign.pem \
	-z lz4hc -C 65536 enc.img tree; then
	run_rc 0 fsck-enc "$FSCK" --unlock=keyfile:slot.key --pubkey=sign.pub \
		--extract=xe enc.img &&
		{ "$TREECMP" tree xe >/dev/null 2>&1 ||
		  bad "encrypt: --unlock --extract differs from the source"; }
	# the plain image's pclusters (same compressor, same -C) must not
	# appear in the encrypted one
	if [ -f lz4hc-big.img ]; then
		"$PYTHON" - lz4hc-big.img enc.img <<'EOF' || bad "encrypt: a plaintext pcluster is in the encrypted image"
import sys
plain, enc = (open(p, 'rb').read() for p in sys.argv[1:3])
blocks = {enc[i:i + 4096] for i in range(4096, len(enc), 4096)}
hits = [i for i in range(4096, len(plain), 4096)
        if plain[i:i + 4096] in blocks and plain[i:i + 4096].count(0) < 4000]
sys.exit(1 if hits else 0)
EOF
	fi
fi

finish_cases "compressed images mount, extract, dedup, seal and encrypt"
