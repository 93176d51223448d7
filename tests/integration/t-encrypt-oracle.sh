#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# An oracle we did not write decrypts our encrypted images.
#
# tests/oracle/decrypt_image.py (Python: hashlib, hmac, python3-cryptography,
# python3-argon2; with escrypt.py and keyslots.py, written from the format
# documents, none of our C code) opens a single-file encrypted image of the
# every-case tree with each kind of credential in turn — a key file, a
# passphrase file (Argon2id) and an X25519 identity — checks the table's
# segment digests and its signed digest, recomputes every chunk secret and
# keyed identifier from the domain key and the source tree, decrypts every
# block, clears the incompat bit and fixes the superblock checksum.  Then
# erofs-utils 1.5 (/usr/bin/fsck.erofs) checks the result and extracts it,
# the extraction equals the source (contents, modes, owners), and the
# kernel mounts it and shows exactly the source (xattrs and hard links
# too).  The same with a detached key area.

_lib=$(dirname "$0")/lib.sh
[ -r "$_lib" ] || _lib=${srcdir:-.}/integration/lib.sh
. "$_lib" || { echo "FAIL: cannot source lib.sh"; exit 1; }

need_root
need_progs MKFS FSCK TREECMP GENTREE
need_cmd openssl
[ -x /usr/bin/fsck.erofs ] || skip "needs erofs-utils (/usr/bin/fsck.erofs)"
"$PYTHON" -c 'import cryptography, argon2' 2>/dev/null ||
	skip "needs python3-cryptography and python3-argon2"
ORACLE=$srcdir/oracle/decrypt_image.py
[ -r "$ORACLE" ] || fail "cannot find $ORACLE"

cd "$T" || fail "cannot enter $T"

rnd 32 >domain.key
rnd 48 >slot.key
printf 'correct horse battery staple\nignored second line\n' >pass.txt
openssl genpkey -algorithm x25519 -out reader.pem 2>/dev/null || fail "openssl genpkey x25519"
openssl pkey -in reader.pem -pubout -out reader.pub 2>/dev/null || fail "openssl pkey"
GENTREE_SHORT_PATHS=1 GENTREE_SPARSE_SIZE=64M must bash "$GENTREE" full tree

# the files with an all-zero 4 KiB chunk (stored as a hole)
"$PYTHON" - tree >holey.list <<'EOF' || fail "cannot list files with holes"
import os, sys
root = sys.argv[1]
for d, _, files in os.walk(root):
    for n in files:
        p = os.path.join(d, n)
        if os.path.islink(p) or not os.path.isfile(p):
            continue
        with open(p, "rb") as f:
            while True:
                c = f.read(4096)
                if not c:
                    break
                if c.count(0) == len(c):
                    print(os.path.relpath(p, root))
                    break
EOF
cp -a tree tree-up || fail "cannot copy the tree"
while read -r f; do rm -f "tree-up/$f"; done <holey.list
info "$(wc -l <holey.list) files with holes left out of erofs-utils' extraction"

SLOTS=(--keyslot=keyfile:slot.key --keyslot=passphrase-file:pass.txt
	--keyslot=recipient:reader.pub --pbkdf-memory=65536 --pbkdf-iterations=3)
expect_rc 0 mkfs "$MKFS" --quiet --encrypt --domain-key=domain.key "${SLOTS[@]}" \
	-T 0 --mkfs-time enc.img tree

# oracle IMAGE CRED NAME [KEY_AREA]: decrypt with the oracle, check and
# extract with erofs-utils, compare with the source
oracle() {
	local img=$1 cred=$2 name=$3
	rm -rf "$name.plain" "$name.out"
	KEY_AREA=${4:-} "$PYTHON" "$ORACLE" "$img" tree domain.key "$cred" \
		"$name.plain" >"$name.log" 2>&1 ||
		fail "$name: the oracle failed: $(cat "$name.log")"
	sed 's/^/    /' "$name.log"
	expect_rc 0 "$name-upstream-fsck" /usr/bin/fsck.erofs "$name.plain"
	expect_rc 0 "$name-upstream-extract" /usr/bin/fsck.erofs --extract="$name.out" \
		"$name.plain"
	# 1.5 writes hard links as copies, sets no xattrs and no set-id or
	# sticky bits, and cuts files at a hole of a chunk-based file (which its
	# own mkfs never writes): those files are left out here, the kernel's
	# view below compares everything
	while read -r f; do rm -f "$name.out/$f"; done <holey.list
	runcmd "$name-treecmp" "$TREECMP" --no-mtime --no-hardlinks --no-xattrs --perms-only \
		tree-up "$name.out"
	[ "$RC" -eq 0 ] || fail "$name: erofs-utils' extraction differs from the source: \
$(head -c 1500 "$name-treecmp.out")"
	info "$name: oracle-decrypted image extracted by erofs-utils 1.5 equals the source"
	if [ "$KERNEL" = 1 ]; then
		mount_erofs "$name.plain" "$name.mnt"
		runcmd "$name-kernel" "$TREECMP" --ignore-root-mtime tree "$name.mnt"
		[ "$RC" -eq 0 ] || fail "$name: the kernel's view of the decrypted image \
differs from the source: $(head -c 1500 "$name-kernel.out")"
		umount_erofs "$name.mnt"
		info "$name: the kernel mounts the decrypted image; it equals the source"
	fi
}

KERNEL=0
grep -qw erofs /proc/filesystems 2>/dev/null || modprobe erofs 2>/dev/null
if grep -qw erofs /proc/filesystems; then
	KERNEL=1
else
	info "no kernel EROFS: the kernel's view is not compared (erofs-utils' is)"
fi

oracle enc.img keyfile:slot.key keyfile
oracle enc.img passphrase-file:pass.txt passphrase
oracle enc.img identity:reader.pem x25519

# a detached key area: the image has none
expect_rc 0 mkfs-detached "$MKFS" --quiet --encrypt --domain-key=domain.key \
	--keyslot=keyfile:slot.key --key-area=keys.bin -T 0 --mkfs-time detached.img tree
[ -s keys.bin ] || fail "mkfs --key-area wrote no key area"
oracle detached.img keyfile:slot.key detached keys.bin

echo "PASS: the Python oracle opens keyfile, passphrase and X25519 slots, checks the table, recomputes every chunk key, and erofs-utils extracts the decrypted image equal to the source"
