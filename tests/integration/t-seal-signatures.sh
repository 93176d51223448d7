#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Signatures of sealed images against stock tools:
#
#  * one image signed with RSA-2048 and ECDSA P-256 keys (self-signed
#    certificates, CMS signatures) and an Ed25519 key (raw signature); the
#    manifest and each signature exported with dump.erofs verify with
#    `openssl cms -verify` / `openssl pkeyutl -verify`, and the same
#    commands reject a manifest with one bit flipped;
#  * the exported manifest is the manifest section the locator points at,
#    and it binds the fs-verity digests of the filesystem region and blob;
#  * an RSA key without a certificate gives a raw signature that
#    `openssl dgst -sha256 -verify` accepts;
#  * --fsverity-sigs writes DIR/<digest>.sig byte-identical to
#    `fsverity sign DIR/<digest> OUT --key --cert`;
#  * erofs-verify: each anchor alone -> 0, an Ed25519 --pubkey -> 0, an
#    unrelated certificate -> 2, an unsigned image with --cert -> 1, no
#    anchors -> 7, --integrity-only -> 0 saying the signatures were not
#    checked and nothing is authenticated; fsck.erofs agrees.

_lib=$(dirname "$0")/lib.sh
[ -r "$_lib" ] || _lib=${srcdir:-.}/integration/lib.sh
. "$_lib" || { echo "FAIL: cannot source lib.sh"; exit 1; }

need_progs MKFS DUMP VERIFY FSCK
need_cmd openssl fsverity cmp od
openssl genpkey -algorithm ed25519 -out "$T/probe.pem" >/dev/null 2>&1 ||
	skip "this openssl cannot make Ed25519 keys"
fsverity sign --help >/dev/null 2>&1 || skip "fsverity has no 'sign' command"

cd "$T" || fail "cannot enter $T"



verity_hex() {
	local out
	out=$(fsverity digest --hash-alg=sha256 --block-size=4096 "$1") ||
		fail "fsverity digest $1 failed"
	out=${out%% *}
	echo "${out#sha256:}"
}

# hex of N bytes at OFF of FILE
hexat() { od -An -v -t x1 -j "$2" -N "$3" "$1" | tr -d ' \n'; }

echo "== keys"
newcert() { # NAME SUBJECT KEYOPTS...
	local name=$1 subj=$2
	shift 2
	must openssl req -x509 "$@" -nodes -keyout "$name.pem" \
		-out "$name-cert.pem" -days 3650 -subj "$subj" -sha256
	must openssl pkey -in "$name.pem" -pubout -out "$name.pub"
}
newcert rsa "/CN=t-seal RSA" -newkey rsa:2048
newcert ec "/CN=t-seal ECDSA" -newkey ec -pkeyopt ec_paramgen_curve:prime256v1
newcert other "/CN=t-seal unrelated" -newkey rsa:2048
must openssl genpkey -algorithm ed25519 -out ed.pem
must openssl pkey -in ed.pem -pubout -out ed.pub
info "RSA-2048, ECDSA P-256 (self-signed certificates), Ed25519, unrelated RSA"

mkdir src blobs
rnd $((300 * 1024 + 17)) >src/data
mkdir src/sub
printf 'signed\n' >src/sub/note
rnd 9000 >src/sub/more

echo "== image signed by RSA, ECDSA and Ed25519, --blob-dir, --fsverity-sigs"
expect_rc 0 mkfs "$MKFS" --quiet \
	--sign-key=rsa.pem --sign-cert=rsa-cert.pem \
	--sign-key=ec.pem --sign-cert=ec-cert.pem \
	--sign-key=ed.pem \
	--blob-dir=blobs --fsverity-sigs signed.img src
blob=""
for f in blobs/*; do
	case $f in *.sig) continue ;; esac
	[ -z "$blob" ] || fail "more than one blob: $blob $f"
	blob=$f
done
[ -n "$blob" ] || fail "no blob written"
hex=$(basename "$blob")
"$DUMP" -s signed.img >dump.out 2>dump.err || fail "dump -s failed: $(cat dump.err)"
grep -q '3 signatures' dump.out || fail "dump -s does not report 3 signatures: $(grep -i seal dump.out)"
grep -Eq '^ *signature 1: cms .*CN=t-seal RSA' dump.out || fail "signature 1 is not the RSA CMS one: $(grep signature dump.out)"
grep -Eq '^ *signature 2: cms .*CN=t-seal ECDSA' dump.out || fail "signature 2 is not the ECDSA CMS one: $(grep signature dump.out)"
grep -Eq '^ *signature 3: ed25519 \(64 bytes\)' dump.out || fail "signature 3 is not a 64-byte Ed25519 one: $(grep signature dump.out)"
info "dump -s: cms RSA, cms ECDSA, ed25519 (64 bytes)"

echo "== export manifest and signatures"
must "$DUMP" --export-manifest=manifest signed.img
for i in 1 2 3; do
	must "$DUMP" --export-signature="$i:sig$i" signed.img
	[ -s "sig$i" ] || fail "signature $i is empty"
done
[ "$(stat -c %s sig3)" -eq 64 ] || fail "Ed25519 signature is $(stat -c %s sig3) bytes, not 64"
# the manifest is the section the locator names
isz=$(stat -c %s signed.img)
loc=$((isz - 4096))
moff=$(rd_le64 signed.img $((loc + 40)))
mlen=$(rd_le64 signed.img $((loc + 48)))
[ "$mlen" -eq "$(stat -c %s manifest)" ] || fail "exported manifest is $(stat -c %s manifest) bytes, locator says $mlen"
dd if=signed.img of=manifest.img bs=4096 iflag=skip_bytes,count_bytes skip="$moff" count="$mlen" status=none
cmp -s manifest manifest.img || fail "exported manifest differs from the bytes at the locator's offset $moff"
[ "$(head -c 8 manifest)" = ESMANIF1 ] || fail "manifest magic is not ESMANIF1"
ndev=$(rd_le32 manifest 52)
[ "$ndev" -eq 2 ] || fail "manifest lists $ndev devices, expected 2"
fsz=$(rd_le64 manifest 120)
head -c "$fsz" signed.img >region
[ "$(hexat manifest 128 32)" = "$(verity_hex region)" ] ||
	fail "manifest device 0 digest is not fsverity digest of the filesystem region"
[ "$(rd_le64 manifest 168)" -eq "$(stat -c %s "$blob")" ] || fail "manifest device 1 size differs from the blob"
[ "$(hexat manifest 176 32)" = "$hex" ] || fail "manifest device 1 digest is not the blob's ($hex)"
info "manifest ($mlen bytes) = locator section; binds region and blob digests"

echo "== openssl accepts the signatures"
must openssl cms -verify -binary -inform DER -content manifest -in sig1 -CAfile rsa-cert.pem -purpose any -out /dev/null
info "sig1 (RSA CMS): openssl cms -verify OK"
must openssl cms -verify -binary -inform DER -content manifest -in sig2 -CAfile ec-cert.pem -purpose any -out /dev/null
info "sig2 (ECDSA CMS): openssl cms -verify OK"
must openssl pkeyutl -verify -pubin -inkey ed.pub -rawin -in manifest -sigfile sig3
info "sig3 (Ed25519): openssl pkeyutl -verify OK"
# CMS: the embedded signer must be the certificate's
if openssl cms -verify -binary -inform DER -content manifest -in sig1 -CAfile ec-cert.pem -purpose any -out /dev/null >/dev/null 2>&1; then
	fail "sig1 verifies with the ECDSA certificate as CA"
fi
if openssl cms -verify -binary -inform DER -content manifest -in sig2 -CAfile rsa-cert.pem -purpose any -out /dev/null >/dev/null 2>&1; then
	fail "sig2 verifies with the RSA certificate as CA"
fi
info "CMS signatures do not verify against the other certificate"

echo "== openssl rejects a modified manifest"
cp manifest manifest.bad
flip_bit manifest.bad 130 3 # a bit of device 0's digest
cmp -s manifest manifest.bad && fail "could not modify the manifest copy"
if openssl cms -verify -binary -inform DER -content manifest.bad -in sig1 -CAfile rsa-cert.pem -purpose any -out /dev/null >/dev/null 2>&1; then
	fail "openssl accepts sig1 over a modified manifest"
fi
if openssl cms -verify -binary -inform DER -content manifest.bad -in sig2 -CAfile ec-cert.pem -purpose any -out /dev/null >/dev/null 2>&1; then
	fail "openssl accepts sig2 over a modified manifest"
fi
if openssl pkeyutl -verify -pubin -inkey ed.pub -rawin -in manifest.bad -sigfile sig3 >/dev/null 2>&1; then
	fail "openssl accepts sig3 over a modified manifest"
fi
info "all three rejected"

echo "== --fsverity-sigs: identical to fsverity sign"
[ -f "$blob.sig" ] || fail "--fsverity-sigs wrote no $blob.sig"
must fsverity sign "$blob" fsv.sig --key=rsa.pem --cert=rsa-cert.pem
cmp "$blob.sig" fsv.sig || fail "$blob.sig differs from fsverity sign's output"
info "$hex.sig = fsverity sign output ($(stat -c %s fsv.sig) bytes)"

echo "== erofs-verify with anchors"
expect_rc 0 verify-rsa "$VERIFY" --cert=rsa-cert.pem --blob-dir=blobs signed.img
expect_rc 0 verify-ec "$VERIFY" --cert=ec-cert.pem --blob-dir=blobs signed.img
expect_rc 0 verify-ed "$VERIFY" --pubkey=ed.pub --blob-dir=blobs signed.img
expect_rc 0 verify-rsapub "$VERIFY" --pubkey=rsa.pub --blob-dir=blobs signed.img
expect_rc 0 verify-ecpub "$VERIFY" --pubkey=ec.pub --blob-dir=blobs signed.img
expect_rc 2 verify-other "$VERIFY" --cert=other-cert.pem --blob-dir=blobs signed.img
expect_rc 2 verify-otherpub "$VERIFY" --pubkey=other.pub --blob-dir=blobs signed.img
expect_rc 7 verify-noanchor "$VERIFY" --blob-dir=blobs signed.img
expect_rc 0 verify-none "$VERIFY" --integrity-only --blob-dir=blobs signed.img
grep -qi 'not checked' verify-none.out verify-none.err ||
	fail "without anchors the output does not say the signatures were not checked: $(cat verify-none.out)"
grep -q 'not authenticated' verify-none.out ||
	fail "--integrity-only: the output does not say 'not authenticated': $(cat verify-none.out)"
info "no anchors: refused (7); --integrity-only says signatures were not checked"
expect_rc 0 verify-json "$VERIFY" --json --cert=ec-cert.pem --blob-dir=blobs signed.img
if command -v python3 >/dev/null 2>&1; then
	python3 -c '
import json, sys
j = json.load(sys.stdin)
assert j["verified"] is True, j
assert j["exit_code"] == 0, j
st = {s["index"]: s["status"] for s in j["signers"]}
assert st[2] == "trusted", st
assert st[1] != "trusted" and st[3] != "trusted", st
' <verify-json.out || fail "--json output wrong: $(cat verify-json.out)"
	info "--json parses; only signature 2 trusted with the ECDSA certificate"
fi

echo "== unsigned image"
expect_rc 0 mkfs-unsigned "$MKFS" --quiet --seal unsigned.img src
expect_rc 1 verify-unsigned "$VERIFY" --cert=rsa-cert.pem unsigned.img
expect_rc 1 verify-unsigned-pub "$VERIFY" --pubkey=ed.pub unsigned.img
expect_rc 0 verify-unsigned-none "$VERIFY" --integrity-only unsigned.img
grep -qi 'not checked\|unsigned\|not signed' verify-unsigned-none.out verify-unsigned-none.err ||
	fail "unsigned image without anchors: output does not say it is unsigned/unchecked"

echo "== raw signature (RSA key without certificate)"
expect_rc 0 mkfs-raw "$MKFS" --quiet --sign-key=rsa.pem raw.img src
must "$DUMP" --export-manifest=raw.manifest raw.img
must "$DUMP" --export-signature=1:raw.sig raw.img
must openssl dgst -sha256 -verify rsa.pub -signature raw.sig raw.manifest
cp raw.manifest raw.manifest.bad
flip_bit raw.manifest.bad 20 0
if openssl dgst -sha256 -verify rsa.pub -signature raw.sig raw.manifest.bad >/dev/null 2>&1; then
	fail "openssl dgst accepts the raw signature over a modified manifest"
fi
info "openssl dgst -verify: accepts the manifest, rejects a modified one"
expect_rc 0 verify-raw "$VERIFY" --pubkey=rsa.pub raw.img
expect_rc 0 verify-raw-cert "$VERIFY" --cert=rsa-cert.pem raw.img
expect_rc 2 verify-raw-other "$VERIFY" --cert=other-cert.pem raw.img

echo "== fsck.erofs and the signatures"
expect_rc 0 fsck-rsa "$FSCK" --blob-dir=blobs --cert=rsa-cert.pem signed.img
grep -q '^seal: ' fsck-rsa.out || fail "fsck prints no 'seal:' line: $(cat fsck-rsa.out)"
expect_rc 0 fsck-ed "$FSCK" --blob-dir=blobs --pubkey=ed.pub signed.img
expect_rc 0 fsck-none "$FSCK" --blob-dir=blobs signed.img
expect_rc 4 fsck-other "$FSCK" --blob-dir=blobs --cert=other-cert.pem signed.img
expect_rc 0 fsck-unsigned "$FSCK" unsigned.img
grep -q '^seal: .*unsigned' fsck-unsigned.out ||
	fail "fsck of an unsigned seal does not say 'unsigned': $(cat fsck-unsigned.out)"
expect_rc 4 fsck-unsigned-cert "$FSCK" --cert=rsa-cert.pem unsigned.img

echo "PASS"
exit 0
