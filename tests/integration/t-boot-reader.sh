#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The boot reader (boot/liberofs_boot.a, through boot/boot-extract) against
# fsck.erofs --extract, and what it refuses.
#
#  extract      for each tree (a mixed one, gentree dups, gentree full when
#               root), a plain image read unchecked, a sealed image pinned by
#               its manifest digest (sha256sum of the exported manifest), a
#               sealed image with its data in a blob, an image signed with
#               an Ed25519 key (boot-extract given the public key as PEM,
#               fsck.erofs --pubkey): boot-extract writes exactly what
#               fsck.erofs --extract writes (treecmp; hard links come out
#               as copies, xattrs are not read)
#  data         one bit flipped in a data block of a sealed image: the read
#               of that file fails ("fails its Merkle tree") and none of its
#               bytes are written; read unchecked, the flip comes through
#  metadata     one bit flipped in a directory's inode: refused the same way
#  tree         one bit flipped in a level-0 block of the stored tree (the
#               top level is intact): refused, naming the tree; in the top
#               block: the image does not open
#  blob         one bit flipped in the blob: refused
#  trust        another image's digest, a digest for an image without a
#               seal, another Ed25519 key, a changed signature, a changed
#               manifest: refused at open, nothing extracted; the raw
#               32-byte key works as the PEM one does
#  encrypted    for each tree, an encrypted image (mkfs --encrypt, signed
#               with Ed25519) with a key-file slot and a seed slot, and one
#               with its data in a blob: boot-extract --keyfile / --seed
#               (erofs_boot_unlock) writes exactly what fsck.erofs --unlock
#               --extract writes; without a credential, with a wrong key
#               file or a seed label no slot has: refused
#  work-size    a work buffer smaller than EROFS_BOOT_WORK_MIN: refused
#               with "too small", no crash
#  encrypted    an encrypted, signed image opens (its superblock is plain and
#               verified) but not a byte of its metadata is read without a
#               key; erofs_boot_unlock() says it is not there yet
#
# Every case runs; the failures are listed at the end.

_lib=$(dirname "$0")/lib.sh
[ -r "$_lib" ] || _lib=${srcdir:-.}/integration/lib.sh
. "$_lib" || { echo "FAIL: cannot source lib.sh"; exit 1; }

need_progs MKFS FSCK DUMP TREECMP GENTREE BOOT_EXTRACT
need_cmd sha256sum od dd cmp openssl

cd "$T" || fail "cannot enter $T"

# pin IMG: the manifest digest, from the manifest's bytes by sha256sum
pin() {
	"$DUMP" --export-manifest="$1.manifest" "$1" >/dev/null || return 1
	sha256sum "$1.manifest" | cut -c1-64
}

# same NAME A B: boot-extract's tree B equals fsck's tree A
same() {
	runcmd "$1.cmp" "$TREECMP" --no-hardlinks --no-xattrs "$2" "$3"
	[ "$RC" -eq 0 ] ||
		bad "$1: boot-extract's tree differs from fsck's: $(head -n 5 "$1.cmp.out" "$1.cmp.err" | cut -c1-200)"
}

# ---- trees --------------------------------------------------------------
mkdir -p mix/a/b/c mix/empty-dir
rnd 2200000 >mix/a/b/big		# > 512 blocks: a two-level tree
rnd 4096 >mix/a/block
rnd 5000 >mix/a/b/c/odd
: >mix/a/empty
echo hello >mix/hello
ln -s ../hello mix/a/rel-link
ln -s /etc/passwd mix/a/abs-link
ln mix/hello mix/a/hard
name=$(printf 'n%.0s' $(seq 255))
echo long >"mix/$name"
chmod 0750 mix/a/b
chmod 0600 mix/a/block
chmod 4755 mix/a/b/c/odd 2>/dev/null || chmod 0755 mix/a/b/c/odd
trees="mix"
must bash "$GENTREE" dups dups
trees="$trees dups"
if [ "$(id -u)" -eq 0 ]; then
	GENTREE_SPARSE_SIZE=16M GENTREE_SHORT_PATHS=1 bash "$GENTREE" full full >gentree.log 2>&1
	case $? in
	0) trees="$trees full" ;;
	77) info "gentree full skipped: $(tail -n 1 gentree.log)" ;;
	*) fail "gentree full: $(tail -n 3 gentree.log)" ;;
	esac
fi

ed25519_pair ed || fail "cannot make an Ed25519 key"
ed25519_pair other || fail "cannot make an Ed25519 key"
rnd 32 >domain.key
rnd 64 >boot.key
rnd 64 >wrong.key
rnd 48 >boot.seed
ENC=(--encrypt --domain-key=domain.key --keyslot=keyfile:boot.key --keyslot=seed:boot.seed:boot)

echo "== extract: boot-extract equals fsck.erofs --extract"
for t in $trees; do
	must "$MKFS" --quiet "$t.plain.img" "$t"
	must "$MKFS" --quiet --seal "$t.sealed.img" "$t"
	mkdir "$t.blobs"
	must "$MKFS" --quiet --seal --blob-dir="$t.blobs" "$t.blob.img" "$t"
	blob=$(ls "$t.blobs")
	[ "$(echo "$blob" | wc -w)" -eq 1 ] || fail "$t.blob.img: expected one blob, got: $blob"
	must "$MKFS" --quiet --sign-key=ed.pem "$t.signed.img" "$t"

	if run_rc 0 "$t-fsck-plain" "$FSCK" --extract="$t.fsck.plain" "$t.plain.img" &&
	   run_rc 0 "$t-boot-plain" "$BOOT_EXTRACT" --unchecked "$t.plain.img" "$t.boot.plain"; then
		same "$t-plain" "$t.fsck.plain" "$t.boot.plain"
	fi
	d=$(pin "$t.sealed.img") || fail "cannot export the manifest of $t.sealed.img"
	if run_rc 0 "$t-fsck-sealed" "$FSCK" --expect-digest="sha256:$d" \
		--extract="$t.fsck.sealed" "$t.sealed.img" &&
	   run_rc 0 "$t-boot-sealed" "$BOOT_EXTRACT" --expect-digest "$d" "$t.sealed.img" \
		"$t.boot.sealed"; then
		same "$t-sealed" "$t.fsck.sealed" "$t.boot.sealed"
	fi
	d=$(pin "$t.blob.img") || fail "cannot export the manifest of $t.blob.img"
	if run_rc 0 "$t-fsck-blob" "$FSCK" --expect-digest="sha256:$d" --device="$t.blobs/$blob" \
		--extract="$t.fsck.blob" "$t.blob.img" &&
	   run_rc 0 "$t-boot-blob" "$BOOT_EXTRACT" --expect-digest "$d" \
		--device "$t.blobs/$blob" "$t.blob.img" "$t.boot.blob"; then
		same "$t-blob" "$t.fsck.blob" "$t.boot.blob"
	fi
	if run_rc 0 "$t-fsck-signed" "$FSCK" --pubkey=ed.pub --extract="$t.fsck.signed" \
		"$t.signed.img" &&
	   run_rc 0 "$t-boot-signed" "$BOOT_EXTRACT" --pubkey ed.pub "$t.signed.img" \
		"$t.boot.signed"; then
		same "$t-signed" "$t.fsck.signed" "$t.boot.signed"
	fi

	must "$MKFS" --quiet "${ENC[@]}" --sign-key=ed.pem "$t.enc.img" "$t"
	if run_rc 0 "$t-fsck-enc" "$FSCK" --pubkey=ed.pub --unlock=keyfile:boot.key \
		--extract="$t.fsck.enc" "$t.enc.img"; then
		run_rc 0 "$t-boot-enc-keyfile" "$BOOT_EXTRACT" --pubkey ed.pub --keyfile boot.key \
			"$t.enc.img" "$t.boot.enc.kf" &&
			same "$t-enc-keyfile" "$t.fsck.enc" "$t.boot.enc.kf"
		d=$(pin "$t.enc.img") || fail "cannot export the manifest of $t.enc.img"
		run_rc 0 "$t-boot-enc-seed" "$BOOT_EXTRACT" --expect-digest "$d" \
			--seed boot.seed:boot "$t.enc.img" "$t.boot.enc.seed" &&
			same "$t-enc-seed" "$t.fsck.enc" "$t.boot.enc.seed"
	fi
	mkdir "$t.eblobs"
	must "$MKFS" --quiet "${ENC[@]}" --sign-key=ed.pem --blob-dir="$t.eblobs" \
		"$t.eblob.img" "$t"
	blob=$(ls "$t.eblobs")
	if run_rc 0 "$t-fsck-eblob" "$FSCK" --pubkey=ed.pub --unlock=seed:boot.seed:boot \
		--device="$t.eblobs/$blob" --extract="$t.fsck.eblob" "$t.eblob.img" &&
	   run_rc 0 "$t-boot-eblob" "$BOOT_EXTRACT" --pubkey ed.pub --seed boot.seed \
		--device "$t.eblobs/$blob" "$t.eblob.img" "$t.boot.eblob"; then
		same "$t-eblob" "$t.fsck.eblob" "$t.boot.eblob"
	fi
done

# refused NAME WHAT-REGEX ARGS...: boot-extract ARGS exits 1 saying WHAT
refused() {
	local name=$1 what=$2
	shift 2
	run_rc 1 "$name" "$BOOT_EXTRACT" "$@" && says "$name" "$name.err" "$what" "'$what'"
}

# offset_of IMG FILE SKIP: where bytes SKIP.. of FILE are stored in IMG
offset_of() {
	"$PYTHON" -c '
import sys
img, f, skip = open(sys.argv[1], "rb").read(), open(sys.argv[2], "rb").read(), int(sys.argv[3])
at = img.find(f[skip:skip + 256])
assert at >= 0 and img.find(f[skip:skip + 256], at + 1) < 0, "not found once"
print(at)' "$@"
}

# the layout of the seal, from its locator (docs/FORMAT.md), not our code
isz=$(stat -c %s mix.sealed.img)
LOC=$((isz - 4096))
[ "$(dd if=mix.sealed.img bs=1 skip=$LOC count=8 status=none)" = EROFSEAL ] ||
	fail "mix.sealed.img has no locator"
FSZ=$(rd_le64 mix.sealed.img $((LOC + 32)))
TOFF=$(rd_le64 mix.sealed.img $((LOC + 72)))
fsblocks=$((FSZ / 4096))
[ "$fsblocks" -gt 128 ] && [ "$fsblocks" -le 16384 ] ||
	fail "mix.sealed.img: $fsblocks blocks, the cases need a two-level tree"
d=$(pin mix.sealed.img)

echo "== data: a flipped bit in a data block"
cp mix.sealed.img data.img
at=$(offset_of data.img mix/a/b/big 8192) || fail "cannot find big's data"
flip_bit data.img $((at + 100)) 3
refused data "fails its Merkle tree" --expect-digest "$d" data.img x-data
if [ -s x-data/a/b/big ]; then
	bad "data: bytes of the file that failed were written ($(stat -c %s x-data/a/b/big))"
fi
# without the trees the flip reaches the caller: the check above is what stops it
if run_rc 0 data-unchecked "$BOOT_EXTRACT" --unchecked data.img x-data-unchecked; then
	cmp -s mix/a/b/big x-data-unchecked/a/b/big &&
		bad "data-unchecked: the flipped bit did not reach the unchecked reader"
fi

echo "== metadata: a flipped bit in a directory inode"
cp mix.sealed.img meta.img
if erofs_lookup meta.img /a/b; then
	erofs_inode meta.img "$LK_NID"
	flip_bit meta.img $((I_OFF + 12)) 0	# in the inode, not its mode
	refused metadata "fails its Merkle tree" --expect-digest "$d" meta.img x-meta
	[ -e x-meta/a/b/big ] && bad "metadata: files under the damaged directory were written"
else
	bad "metadata: cannot find /a/b in the image"
fi

echo "== tree: a flipped bit in the stored Merkle tree"
# two levels: the top block first, then the level-0 blocks; level-0 block 1
# holds the digests of filesystem blocks 128..255
cp mix.sealed.img tree.img
flip_bit tree.img $((TOFF + 2 * 4096 + 5)) 1
refused tree "tree level 0 fails its Merkle tree" --expect-digest "$d" tree.img x-tree
cp mix.sealed.img top.img
flip_bit top.img $((TOFF + 7)) 6
refused top "fails its Merkle tree" --expect-digest "$d" top.img x-top
[ -e x-top ] && bad "top: the image opened and DIR was created"

echo "== blob: a flipped bit in a blob"
blob=$(ls mix.blobs)
cp -r mix.blobs bad.blobs
at=$(offset_of "bad.blobs/$blob" mix/a/b/big 65536) || fail "cannot find big in the blob"
flip_bit "bad.blobs/$blob" $((at + 7)) 0
refused blob "device 1: block [0-9]+ fails its Merkle tree" \
	--expect-digest "$(pin mix.blob.img)" --device "bad.blobs/$blob" mix.blob.img x-blob

echo "== trust: the wrong image"
refused other-digest "not the trusted digest" --expect-digest "$(pin dups.sealed.img)" \
	mix.sealed.img x-other
[ -e x-other ] && bad "other-digest: DIR was created"
refused no-seal "carries no seal" --expect-digest "$d" mix.plain.img x-noseal
[ -e x-noseal ] && bad "no-seal: DIR was created"

if run_rc 0 raw-key "$BOOT_EXTRACT" --pubkey ed.raw mix.signed.img x-raw; then
	same raw-key mix.fsck.signed x-raw
fi
refused other-key "no Ed25519 signature by the trusted key" --pubkey other.pub \
	mix.signed.img x-other-key
[ -e x-other-key ] && bad "other-key: DIR was created"
refused unsigned "no Ed25519 signature by the trusted key" --pubkey ed.pub \
	mix.sealed.img x-unsigned
# the signature record: header (16), record header (40), then the 64 bytes
isz=$(stat -c %s mix.signed.img)
SLOC=$((isz - 4096))
SOFF=$(rd_le64 mix.signed.img $((SLOC + 56)))
MOFF=$(rd_le64 mix.signed.img $((SLOC + 40)))
[ "$(rd_le32 mix.signed.img $((SOFF + 16)))" -eq 2 ] ||
	fail "mix.signed.img: the first signature record is not an Ed25519 one"
cp mix.signed.img badsig.img
flip_bit badsig.img $((SOFF + 16 + 40 + 9)) 2
refused bad-signature "signature by the trusted key does not verify" --pubkey ed.pub \
	badsig.img x-badsig
[ -e x-badsig ] && bad "bad-signature: DIR was created"
cp mix.signed.img badmf.img
flip_bit badmf.img $((MOFF + 32)) 0	# the build time
refused changed-manifest "signature by the trusted key does not verify" --pubkey ed.pub \
	badmf.img x-badmf

echo "== encrypted: what is refused"
refused enc-locked "cannot be read without a key" --pubkey ed.pub mix.enc.img x-locked
refused enc-wrong-key "no credential opens a keyslot" --pubkey ed.pub --keyfile wrong.key \
	mix.enc.img x-wrong
[ -e x-wrong ] && bad "enc-wrong-key: DIR was created"
refused enc-wrong-label "no keyslot is of the kind" --pubkey ed.pub --seed boot.seed:other \
	mix.enc.img x-label

echo "== work-size: a buffer too small"
refused work-size "too small" --work-size 16384 --expect-digest "$d" mix.sealed.img x-small

echo "== encrypted: nothing without a key"
rnd 32 >domain.key
rnd 64 >slot.key
must "$MKFS" --quiet --encrypt --domain-key=domain.key --keyslot=keyfile:slot.key \
	--sign-key=ed.pem enc.img mix
refused enc-locked "cannot be read without a key" --pubkey ed.pub enc.img x-enc
[ -e x-enc ] && bad "enc-locked: DIR was created"

finish_cases "the boot reader extracts $trees as fsck.erofs does and refuses damaged blocks"
