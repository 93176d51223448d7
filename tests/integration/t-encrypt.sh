#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Encrypted images (mkfs.erofs --encrypt), end to end:
#
#  roundtrip   the every-case tree, encrypted and signed into blobs:
#              fsck.erofs --unlock --pubkey --extract equals the source;
#              the kernel and /usr/bin/fsck.erofs refuse the image; fsck
#              and erofs-verify without a key check signatures and trees
#              and say the contents were not checked
#  policy      --unlock of an image no trusted key signed is refused (exit
#              32) unless --allow-unsigned; a wrong key file is refused
#  detached    --key-area=FILE at build time; fsck needs it named to unlock
#  leaks       no plaintext 4 KiB block of the source, no plaintext SHA-256
#              of a source chunk, no file name of 8 bytes or more, no
#              symlink target and no xattr value appears in the image,
#              its blobs or its key area
#  repeat      two builds of the same tree (same -T, -U, domain key) give
#              equal blobs and different metadata ciphertext
#  domains     two overlapping trees under one domain key share exactly
#              the ciphertext blocks of their common chunks; under two
#              domain keys they share none
#  order       with 16 KiB chunks (in a blob, and in the image) the data
#              region is in keyed-identifier order, and extracts equal
#  keys        erofs-key add, remove and rotate on a signed image: the
#              signature still verifies, the removed credential no longer
#              opens it (a copy taken before still opens: rotation cannot
#              reach copies)
#  dump        -S needs --unlock (and a signature or --allow-unsigned);
#              --leakage counts what the images share
#  dictionaries --chunk-dict of the same domain stores only the new chunks
#              and extracts equal to the source; a dictionary of another
#              domain, an encrypted one for a plain build and a damaged
#              dictionary blob are refused
#
# Every case runs; the failures are listed at the end.

_lib=$(dirname "$0")/lib.sh
[ -r "$_lib" ] || _lib=${srcdir:-.}/integration/lib.sh
. "$_lib" || { echo "FAIL: cannot source lib.sh"; exit 1; }

need_root
need_progs MKFS FSCK DUMP VERIFY TREECMP GENTREE
need_cmd openssl mount umount cmp
"$PYTHON" -c 'import cryptography' 2>/dev/null || skip "needs python3-cryptography"

cd "$T" || fail "cannot enter $T"

UUID=6f1d2c3b-4a59-4e6f-8a7b-9c0d1e2f3a4b
rnd 32 >domain.key
rnd 32 >other-domain.key
rnd 64 >slot.key
rnd 64 >wrong.key
openssl genpkey -algorithm ed25519 -out sign.pem 2>/dev/null || fail "openssl genpkey"
openssl pkey -in sign.pem -pubout -out sign.pub 2>/dev/null || fail "openssl pkey"

GENTREE_SPARSE_SIZE=64M must bash "$GENTREE" full tree

ENC=(--encrypt --domain-key=domain.key --keyslot=keyfile:slot.key -T 0 --mkfs-time -U "$UUID")

# ---- roundtrip --------------------------------------------------------------
mkdir blobs
if run_rc 0 mkfs-enc "$MKFS" --quiet "${ENC[@]}" --sign-key=sign.pem --blob-dir=blobs \
	enc.img tree; then
	rm -rf out
	if run_rc 0 fsck-unlock "$FSCK" --unlock=keyfile:slot.key --pubkey=sign.pub \
		--blob-dir=blobs --extract=out enc.img; then
		"$TREECMP" tree out >treecmp.out 2>&1 ||
			bad "roundtrip: extraction differs from the source: $(head -c 1500 treecmp.out)"
	fi
	mkdir -p mnt
	if mount -t erofs -o ro enc.img mnt 2>mount.err; then
		umount mnt
		bad "roundtrip: the kernel mounted an encrypted image"
	else
		info "kernel refuses: $(head -c 200 mount.err)"
	fi
	if [ -x /usr/bin/fsck.erofs ]; then
		runcmd upstream-fsck /usr/bin/fsck.erofs enc.img
		[ "$RC" -ne 0 ] || bad "roundtrip: /usr/bin/fsck.erofs accepted an encrypted image"
		info "erofs-utils refuses: exit $RC"
	fi
	run_rc 0 fsck-nokey "$FSCK" --pubkey=sign.pub --blob-dir=blobs enc.img &&
		says fsck-nokey fsck-nokey.out "not checked" "that contents were not checked"
	openssl genpkey -algorithm ed25519 -out other.pem 2>/dev/null &&
		openssl pkey -in other.pem -pubout -out other.pub 2>/dev/null
	if run_rc 4 fsck-untrusted "$FSCK" --pubkey=other.pub --blob-dir=blobs \
		--unlock=keyfile:slot.key enc.img; then
		says fsck-untrusted fsck-untrusted.out "seal failed" "that nothing was checked"
		grep -q "without a key" fsck-untrusted.err &&
			bad "fsck-untrusted: walked the locked image: $(head -c 300 fsck-untrusted.err)"
	fi
	run_rc 0 verify-nokey "$VERIFY" --pubkey=sign.pub --blob-dir=blobs enc.img &&
		says verify-nokey verify-nokey.out "contents: encrypted — checked as ciphertext only" \
			"that the contents are encrypted and checked as ciphertext"
	run_rc 0 verify-nokey-json "$VERIFY" --json --pubkey=sign.pub --blob-dir=blobs enc.img &&
		{ "$PYTHON" -c 'import json, sys; sys.exit(json.load(open(sys.argv[1]))["encrypted"] is not True)' \
			verify-nokey-json.out || bad "roundtrip: erofs-verify --json has no \"encrypted\": true"; }
fi

# ---- policy -------------------------------------------------------------------
if run_rc 0 mkfs-unsigned "$MKFS" --quiet "${ENC[@]}" unsigned.img tree; then
	run_rc 32 unlock-unsigned "$FSCK" --unlock=keyfile:slot.key --extract=o1 unsigned.img
	[ -e o1 ] && bad "policy: an unsigned image was extracted"
	run_rc 0 unlock-allow "$FSCK" --unlock=keyfile:slot.key --allow-unsigned \
		--extract=o2 unsigned.img &&
		{ "$TREECMP" tree o2 >/dev/null 2>&1 || bad "policy: --allow-unsigned extraction differs"; }
	runcmd unlock-wrong "$FSCK" --unlock=keyfile:wrong.key --allow-unsigned unsigned.img
	crashed "$RC" && bad "policy: crash on a wrong key ($RC)"
	[ "$RC" -ne 0 ] || bad "policy: a wrong key file opened the image"
fi

# ---- detached key area ------------------------------------------------------------
if run_rc 0 mkfs-detached "$MKFS" --quiet "${ENC[@]}" --key-area=detached.keys \
	detached.img tree; then
	run_rc 8 fsck-detached-missing "$FSCK" --unlock=keyfile:slot.key --allow-unsigned \
		detached.img &&
		says fsck-detached-missing fsck-detached-missing.err "detached" \
			"that the key area is detached"
	rm -rf od2
	run_rc 0 fsck-detached "$FSCK" --unlock=keyfile:slot.key --allow-unsigned \
		--key-area=detached.keys --extract=od2 detached.img &&
		{ "$TREECMP" tree od2 >/dev/null 2>&1 || bad "detached: extraction differs"; }
fi

# ---- leaks --------------------------------------------------------------------
if [ -f enc.img ]; then
	"$PYTHON" - tree enc.img blobs >leaks.out 2>&1 <<'EOF' || bad "leaks: $(head -c 2000 leaks.out)"
import hashlib, os, sys
tree, image, blobdir = sys.argv[1:4]
stored = open(image, "rb").read()
for n in sorted(os.listdir(blobdir)):
    stored += open(os.path.join(blobdir, n), "rb").read()
aligned = {stored[i:i + 4096] for i in range(0, len(stored) - 4095, 4096)}
problems, blocks, names, values = [], 0, 0, 0
for dirpath, dirnames, filenames in os.walk(tree):
    for name in dirnames + filenames:
        path = os.path.join(dirpath, name)
        raw = os.fsencode(name)
        if len(raw) >= 8:
            names += 1
            if raw in stored:
                problems.append("file name %r" % raw)
        if os.path.islink(path):
            target = os.fsencode(os.readlink(path))
            if len(target) >= 8 and target in stored:
                problems.append("symlink target %r" % target)
            continue
        try:
            for x in os.listxattr(path, follow_symlinks=False):
                v = os.getxattr(path, x, follow_symlinks=False)
                if len(v) >= 8:
                    values += 1
                    if v in stored:
                        problems.append("xattr value of %s %s" % (path, x))
        except OSError:
            pass
        if not os.path.isfile(path):
            continue
        with open(path, "rb") as f:
            while True:
                c = f.read(4096)
                if not c:
                    break
                if c.count(0) == len(c):
                    continue
                blocks += 1
                if len(c) == 4096 and c in aligned:
                    problems.append("plaintext block of %s" % path)
                if hashlib.sha256(c).digest() in stored:
                    problems.append("plaintext SHA-256 of a chunk of %s" % path)
print("checked %d blocks, %d names, %d xattr values" % (blocks, names, values))
if problems:
    print("\n".join(problems[:20]))
    sys.exit(1)
EOF
	info "leaks: $(head -1 leaks.out)"
fi

# ---- repeat ---------------------------------------------------------------------
mkdir blobs2
if run_rc 0 mkfs-again "$MKFS" --quiet "${ENC[@]}" --sign-key=sign.pem --blob-dir=blobs2 \
	enc2.img tree; then
	[ "$(ls blobs)" = "$(ls blobs2)" ] || bad "repeat: different blob names"
	for b in blobs/*; do
		cmp -s "$b" "blobs2/${b#blobs/}" || bad "repeat: blob ${b#blobs/} differs"
	done
	cmp -s enc.img enc2.img && bad "repeat: two builds gave the same metadata ciphertext"
fi

# ---- domains ----------------------------------------------------------------------
mkdir -p ta tb
rnd $((64 * 4096)) >ta/common.bin
rnd $((16 * 4096)) >ta/only-a.bin
cp ta/common.bin tb/common.bin
rnd $((8 * 4096)) >tb/only-b.bin
mkdir ba bb bc
if run_rc 0 mkfs-a "$MKFS" --quiet "${ENC[@]}" --blob-dir=ba a.img ta &&
	run_rc 0 mkfs-b "$MKFS" --quiet "${ENC[@]}" --blob-dir=bb b.img tb &&
	run_rc 0 mkfs-c "$MKFS" --quiet --encrypt --domain-key=other-domain.key \
		--keyslot=keyfile:slot.key -T 0 -U "$UUID" --blob-dir=bc c.img tb; then
	"$PYTHON" - ba bb bc >domains.out 2>&1 <<'EOF' || bad "domains: $(head -c 1000 domains.out)"
import os, sys
def blocks(d):
    out = set()
    for n in os.listdir(d):
        data = open(os.path.join(d, n), "rb").read()
        out |= {data[i:i + 4096] for i in range(0, len(data), 4096)}
    return out
a, b, c = (blocks(d) for d in sys.argv[1:4])
same, other = len(a & b), len(a & c)
print("same domain shares %d blocks, other domain %d" % (same, other))
if same != 64 or other != 0:
    sys.exit(1)
EOF
	info "domains: $(cat domains.out)"
fi

# ---- order: chunks larger than a block, in keyed-identifier order ----------------
# with 16 KiB chunks a file's short last chunk would sit right after its full
# ones; the chunks of the data region are in keyed-identifier order instead
for where in blob single; do
	args=(--chunksize=16384)
	[ "$where" = blob ] && { mkdir -p "o-$where-blobs"; args+=(--blob-dir="o-$where-blobs"); }
	if run_rc 0 "mkfs-order-$where" "$MKFS" --quiet "${ENC[@]}" "${args[@]}" \
		"order-$where.img" tree; then
		rm -rf "order-$where.out"
		run_rc 0 "fsck-order-$where" "$FSCK" --unlock=keyfile:slot.key --allow-unsigned \
			"${args[@]:1}" --extract="order-$where.out" "order-$where.img" &&
			{ "$TREECMP" tree "order-$where.out" >/dev/null 2>&1 ||
				bad "order: $where: extraction differs from the source"; }
		"$PYTHON" - "order-$where.img" "$where" >"order-$where.log" 2>&1 <<'EOF' ||
import struct, sys
img = open(sys.argv[1], "rb").read()
ioff, ilen = struct.unpack_from("<QQ", img, len(img) - 4096 + 40 + 48)
count, = struct.unpack_from("<Q", img, ioff + 8)
recs = []
for i in range(count):
    r = img[ioff + 16 + 48 * i:ioff + 16 + 48 * (i + 1)]
    blk, nblocks, length, dev = struct.unpack_from("<IIIH", r, 32)
    recs.append((dev, blk, nblocks, r[:32]))
want_dev = 1 if sys.argv[2] == "blob" else 0
mine = sorted(r for r in recs if r[0] == want_dev)
ids = [r[3] for r in mine]
short = sum(1 for r in mine if r[2] < 4)
print("%d chunks on device %d, %d shorter than the chunk size" % (len(mine), want_dev, short))
if len(mine) < 10 or not short or ids != sorted(ids):
    sys.exit("not in keyed-identifier order")
EOF
			bad "order: $where: $(cat "order-$where.log")"
		info "order: $where: $(cat "order-$where.log")"
	fi
done

# ---- keys: erofs-key on a signed image ------------------------------------------
# slots change, the signature and the trees do not; a removed and rotated
# credential no longer opens this copy, but still opens a copy taken before
if [ -f unsigned.img ] && [ -n "${EROFS_KEY:-}" ]; then
	printf 'a passphrase for the test\n' >pass.txt
	cp enc.img keys.img
	run_rc 0 key-add "$EROFS_KEY" add keys.img --unlock=keyfile:slot.key \
		--keyslot=passphrase-file:pass.txt --pbkdf-memory=65536 --pbkdf-iterations=3
	run_rc 0 key-verify "$VERIFY" --pubkey=sign.pub --blob-dir=blobs keys.img
	run_rc 0 key-unlock-pass "$FSCK" --pubkey=sign.pub --blob-dir=blobs \
		--unlock=passphrase-file:pass.txt keys.img
	cp keys.img keys-before.img
	run_rc 0 key-remove "$EROFS_KEY" remove keys.img --unlock=passphrase-file:pass.txt \
		--slot=0
	run_rc 0 key-rotate "$EROFS_KEY" rotate keys.img --unlock=passphrase-file:pass.txt
	run_rc 0 key-verify-after "$VERIFY" --pubkey=sign.pub --blob-dir=blobs keys.img
	run_rc 32 key-removed "$FSCK" --pubkey=sign.pub --blob-dir=blobs \
		--unlock=keyfile:slot.key keys.img
	rm -rf ok
	run_rc 0 key-rotated "$FSCK" --pubkey=sign.pub --blob-dir=blobs \
		--unlock=passphrase-file:pass.txt --extract=ok keys.img &&
		{ "$TREECMP" tree ok >/dev/null 2>&1 || bad "keys: extraction after rotate differs"; }
	run_rc 0 key-old-copy "$FSCK" --pubkey=sign.pub --blob-dir=blobs \
		--unlock=keyfile:slot.key keys-before.img
	cmp -s <(head -c "$(stat -c %s enc.img)" keys.img) enc.img &&
		bad "keys: the key area did not change"
fi

# ---- dump ----------------------------------------------------------------------------
if [ -f a.img ] && [ -f c.img ]; then
	run_rc 1 dump-locked "$DUMP" -S a.img &&
		says dump-locked dump-locked.err "without a key" "that a key is needed"
	run_rc 0 dump-unlocked "$DUMP" --unlock=keyfile:slot.key --allow-unsigned -S a.img &&
		says dump-unlocked dump-unlocked.out "regular files: 2" "the file count"
	run_rc 3 dump-unsigned "$DUMP" --unlock=keyfile:slot.key -S a.img
	if run_rc 0 dump-leakage "$DUMP" --leakage a.img b.img c.img; then
		says dump-leakage dump-leakage.out "a.img and b.img share 64 chunks" \
			"the chunks a and b share"
		says dump-leakage dump-leakage.out "a.img and c.img share 0 chunks" \
			"that another domain shares nothing"
	fi
fi

# ---- dictionaries --------------------------------------------------------------
# tb against a.img: only tb's own 8 blocks are new; the rest is a.img's blob,
# checked against the source's ciphertext before it is referenced
if [ -f a.img ]; then
	mkdir bd && cp ba/* bd/ && cp a.img dict.img
	if run_rc 0 mkfs-dict "$MKFS" "${ENC[@]}" --blob-dir=bd --chunk-dict=dict.img \
		--sign-key=sign.pem bdict.img tb; then
		n=$(find bd -type f -newer dict.img | wc -l)
		new=$(find bd -type f -newer dict.img -printf '%s\n' | head -1)
		[ "$n" = 1 ] && [ "$new" = $((8 * 4096)) ] ||
			bad "dictionaries: expected one new blob of 8 blocks, got $n ($new bytes)"
		# the keyed identifiers compare across images without a key
		run_rc 0 dump-delta "$DUMP" --delta=dict.img bdict.img &&
			says dump-delta dump-delta.out "^new chunks: 8 of" "the 8 new chunks"
		rm -rf od
		run_rc 0 fsck-dict "$FSCK" --unlock=keyfile:slot.key --pubkey=sign.pub \
			--blob-dir=bd --extract=od bdict.img &&
			{ "$TREECMP" tb od >/dev/null 2>&1 || bad "dictionaries: extraction differs"; }
	fi
	run_rc 1 mkfs-dict-other "$MKFS" --quiet --encrypt --domain-key=other-domain.key \
		--keyslot=keyfile:slot.key --blob-dir=bd --chunk-dict=dict.img x.img tb &&
		says mkfs-dict-other mkfs-dict-other.err "another dedup domain" \
			"that the dictionary is of another domain"
	run_rc 1 mkfs-dict-plain "$MKFS" --quiet --blob-dir=bd --chunk-dict=dict.img y.img tb &&
		says mkfs-dict-plain mkfs-dict-plain.err "encrypted" \
			"that an encrypted dictionary serves encrypted builds only"
	# a dictionary whose index lists a chunk at another chunk's blocks (two
	# keyed identifiers swapped, seal_swap_chunks): the bytes there are not
	# the ciphertext of the source's chunk, and the build says which
	cp a.img dict-swapped.img
	seal_swap_chunks dict-swapped.img || bad "dictionaries: cannot tamper with the chunk index"
	rm -rf bs && mkdir bs && cp ba/* bs/
	run_rc 1 mkfs-dict-swapped "$MKFS" --quiet "${ENC[@]}" --blob-dir=bs \
		--chunk-dict=dict-swapped.img s.img tb &&
		says mkfs-dict-swapped mkfs-dict-swapped.err "dict-swapped.img lists chunk" \
			"that the dictionary lists a chunk its blob does not hold"
	[ ! -e s.img ] || bad "dictionaries: a refused build left s.img"
	[ "$(ls bs)" = "$(ls ba)" ] || bad "dictionaries: a refused build changed the blob directory"
	# a tampered dictionary blob is caught before anything refers to it
	b1=$(ls ba)
	printf 'X' | dd of="bd/$b1" bs=1 seek=100 conv=notrunc status=none
	runcmd mkfs-dict-tampered "$MKFS" --quiet "${ENC[@]}" --blob-dir=bd \
		--chunk-dict=dict.img z.img tb
	[ "$RC" -eq 1 ] || bad "dictionaries: a damaged dictionary blob gave exit $RC"
fi

finish_cases "encrypted images round-trip, are refused by the kernel and erofs-utils, leak nothing checked, dedup within their domain only"
