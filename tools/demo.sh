#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The main job on a built-in default: build a signed, encrypted,
# deduplicated image of a sample tree with throwaway keys (data in a
# content-addressed blob), verify it without a key, unlock and extract it,
# compare the extraction with the source and print a short summary.  Run as
# root on Debian 12.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/setup.sh"

es_setup_packages
es_build _build --enable-werror
make -s -C "$ES_TOP/_build" tests/integration/treecmp >/dev/null

B=$ES_TOP/_build
work=$(mktemp -d /tmp/erofs-seal-demo.XXXXXX)
trap 'rm -rf "$work"' EXIT
src=$work/sample

# A sample tree: text, a binary used three times, a file with a hole,
# a symlink, a hard link, xattrs, and a deep directory.
mkdir -p "$src/etc" "$src/usr/bin" "$src/var/lib/data" "$src/a/b/c/d/e"
printf 'erofs-seal demo\n' >"$src/etc/motd"
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$src/etc/passwd"
head -c 300000 /dev/urandom >"$src/usr/bin/tool"
cp "$src/usr/bin/tool" "$src/usr/bin/tool-copy"
cp "$src/usr/bin/tool" "$src/var/lib/data/tool.bak"
truncate -s 50M "$src/var/lib/data/sparse.img"
printf 'tail' | dd of="$src/var/lib/data/sparse.img" bs=1 seek=$((40 << 20)) conv=notrunc status=none
ln -s ../etc/motd "$src/usr/motd-link"
ln "$src/etc/passwd" "$src/a/b/c/d/e/passwd-hardlink"
setfattr -n user.origin -v demo "$src/etc/motd" 2>/dev/null || true
chmod 4755 "$src/usr/bin/tool"

# throwaway signing keys: RSA with a certificate (CMS) and Ed25519 (raw)
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/rsa.pem" -out "$work/rsa-cert.pem" \
	-subj /CN=erofs-seal-demo -days 1 2>/dev/null
openssl genpkey -algorithm ed25519 -out "$work/ed.pem"
openssl pkey -in "$work/ed.pem" -pubout -out "$work/ed.pub"
mkdir -p "$work/blobs"
# throwaway encryption keys: the dedup domain's key, and a reader's key file
"$B/key/erofs-key" gen-domain "$work/domain.key"
head -c 32 /dev/urandom >"$work/reader.key"

"$B/mkfs/mkfs.erofs" --quiet --blob-dir="$work/blobs" \
	--encrypt --domain-key="$work/domain.key" --keyslot=keyfile:"$work/reader.key" \
	--sign-key="$work/rsa.pem" --sign-cert="$work/rsa-cert.pem" --sign-key="$work/ed.pem" \
	"$work/sample.erofs" "$src"
# a registry or CI checks it without any key
verify_out=$("$B/verify/erofs-verify" --cert "$work/rsa-cert.pem" --pubkey "$work/ed.pub" \
	--blob-dir "$work/blobs" "$work/sample.erofs")
# a reader unlocks it with its key file, after the signatures
"$B/fsck/fsck.erofs" --blob-dir="$work/blobs" --cert "$work/rsa-cert.pem" \
	--unlock=keyfile:"$work/reader.key" --extract="$work/extracted" "$work/sample.erofs" \
	>/dev/null
"$B/tests/integration/treecmp" "$src" "$work/extracted"
# nothing of the plaintext is in what was published
if grep -rqF 'erofs-seal demo' "$work/sample.erofs" "$work/blobs"; then
	echo "demo: plaintext found in the encrypted image" >&2
	exit 1
fi

logical=$(du -sb --apparent-size "$src" | cut -f1)
stats=$("$B/dump/dump.erofs" -S --blob-dir="$work/blobs" --unlock=keyfile:"$work/reader.key" \
	--cert "$work/rsa-cert.pem" "$work/sample.erofs")
blob=$(ls "$work/blobs")
echo
echo "erofs-seal demo"
echo "  source tree:      $logical bytes (apparent)"
echo "  image:            $(stat -c %s "$work/sample.erofs") bytes (metadata + seal)"
echo "  blob:             $blob, $(stat -c %s "$work/blobs/$blob") bytes"
echo "$stats" | sed -n 's/^\(chunks\|unique chunks\|shared chunks\|holes\): /  \1: /p'
echo "  encryption:       AES-256-XTS, keyed convergent per chunk (domain key), metadata"
echo "                    under a random key; key table opened by a key-file keyslot"
echo "  signatures:       RSA (CMS) and Ed25519, both verified by erofs-verify (no key needed)"
echo "$verify_out" | sed 's/^/    /'
echo "  unlock+extract:   identical to the source (content, modes, owners, times, xattrs, links)"
echo "  plaintext:        not found in the image or its blob"
