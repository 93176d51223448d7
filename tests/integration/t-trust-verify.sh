#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# What "verified" means for erofs-verify, and the trust holes it had:
#
#  * no trust anchor: refused with exit 7 (it used to say "verified" and
#    exit 0 although nothing was authenticated); --integrity-only checks
#    integrity and says "integrity only — not authenticated" (text and
#    JSON "authentication": "integrity-only");
#  * --expect-digest=sha256:HEX pins the manifest without any key: the
#    digest mkfs.erofs prints when it seals = the one `dump.erofs -s`
#    prints = sha256sum of the exported manifest; a match authenticates
#    (also an unsigned image), another image's digest or a changed
#    manifest exits 8; with --cert too, either one authenticates;
#  * every device of the manifest is reported (text and JSON) as
#    verified / failed / missing / not-checked, and exit 0 needs all of
#    them verified: an image with blobs but none given, or only its second
#    blob given, exits 3 (it used to exit 0);
#  * bytes in the seal region that no section accounts for are malformed
#    (exit 5): 4 KiB of junk before the locator, a junk block between the
#    filesystem and the manifest or after the trees (locator rewritten to
#    match, checksum fixed), a non-zero byte in the padding after the
#    manifest or in the unused part of the locator, and slack after the
#    last signature record;
#  * --json is valid UTF-8 for an image path that is not (0xff, an
#    overlong and a surrogate encoding become U+FFFD; é passes through);
#  * dump.erofs --nid=N --export-signature=1:F shows inode N (the option
#    parser used to reset N to 0: "nid 0: bogus file type").

_lib=$(dirname "$0")/lib.sh
[ -r "$_lib" ] || _lib=${srcdir:-.}/integration/lib.sh
. "$_lib" || { echo "FAIL: cannot source lib.sh"; exit 1; }

need_progs MKFS DUMP VERIFY
need_cmd openssl sha256sum cmp od dd head tail
have_python=0
command -v python3 >/dev/null 2>&1 && have_python=1

cd "$T" || fail "cannot enter $T"



# jcheck NAME PYTHON: NAME.out must be strictly valid UTF-8 JSON, and the
# Python assertions (on j) must hold
jcheck() {
	[ "$have_python" = 1 ] || { info "$1: no python3, JSON not checked"; return 0; }
	python3 -c '
import json, sys
with open(sys.argv[1], encoding="utf-8", errors="strict") as f:
    j = json.load(f)
exec(sys.argv[2])
' "$1.out" "$2" || fail "$1: JSON check failed: $(head -c 1500 "$1.out")"
}

# deterministic filler: N bytes of AES-CTR keystream for SEED
filler() {
	head -c "$2" /dev/zero | openssl enc -aes-128-ctr -nosalt \
		-K "$(printf '%032x' "$1")" -iv 0 2>/dev/null
}

# locator helpers (docs/FORMAT.md 2.1)
loc_of() { echo $(($(stat -c %s "$1") - 4096)); }
fix_locator_sum() {
	local loc sum
	loc=$(loc_of "$1")
	sum=$(dd if="$1" bs=4096 iflag=skip_bytes,count_bytes skip="$loc" count=120 \
		status=none | sha256sum | cut -c1-64)
	wr_hex "$1" $((loc + 120)) "$sum"
}
# insert_junk IMG OFF LEN: LEN bytes of junk inserted at OFF
insert_junk() {
	{
		head -c "$2" "$1"
		yes 'junk junk junk' | head -c "$3"
		tail -c +$(($2 + 1)) "$1"
	} >"$1.new" && mv "$1.new" "$1"
}

echo "== setup: keys, a tree, signed images with blobs, an unsigned one"
for k in rsa other; do
	must openssl req -x509 -newkey rsa:2048 -nodes -keyout "$k.pem" \
		-out "$k-cert.pem" -days 3650 -subj "/CN=t-trust-verify $k" -sha256
done
mkdir -p srcA/d blobs
filler 1 $((300 * 1024 + 17)) >srcA/big
printf 'small\n' >srcA/d/small
cp -a srcA srcB
filler 2 $((40 * 4096)) >srcB/new
runcmd mkfsA "$MKFS" --sign-key=rsa.pem --sign-cert=rsa-cert.pem --blob-dir=blobs A.img srcA
[ "$RC" -eq 0 ] || fail "mkfs A: $(cat mkfsA.err)"
blobA=$(ls blobs)
[ "$(echo "$blobA" | wc -w)" -eq 1 ] || fail "A should have one blob: $blobA"
# B shares A's chunks: its device table lists its own blob, then A's
must "$MKFS" --quiet --sign-key=rsa.pem --sign-cert=rsa-cert.pem --blob-dir=blobs \
	--chunk-dict=A.img B.img srcB
blobB=$(ls blobs | grep -vx "$blobA")
[ "$(echo "$blobB" | wc -w)" -eq 1 ] || fail "B should add one blob: $blobB"
must "$DUMP" -s B.img
grep -q "device 2: .*sha256:$blobA" must.log || fail "B's device 2 should be A's blob: $(cat must.log)"
grep -q "device 1: .*sha256:$blobB" must.log || fail "B's device 1 should be its own blob"
must "$MKFS" --quiet --seal U.img srcA

echo "== item 4: no trust anchor"
expect_rc 7 noanchor "$VERIFY" --blob-dir=blobs A.img
grep -q 'not authenticated' noanchor.err || fail "exit 7 without saying why: $(cat noanchor.err)"
grep -q 'verified$' noanchor.out && fail "says verified without an anchor: $(cat noanchor.out)"
expect_rc 7 noanchor-json "$VERIFY" --json --blob-dir=blobs A.img
jcheck noanchor-json '
assert j["verified"] is False and j["exit_code"] == 7, j
assert j["authenticated"] is False and j["authentication"] == "no-anchor", j'
expect_rc 7 noanchor-unsigned "$VERIFY" U.img
expect_rc 0 integrity "$VERIFY" --integrity-only --blob-dir=blobs A.img
grep -q 'integrity only — not authenticated' integrity.out ||
	fail "--integrity-only does not say 'integrity only — not authenticated': $(cat integrity.out)"
grep -q ' verified' integrity.out && fail "--integrity-only says verified: $(cat integrity.out)"
expect_rc 0 integrity-json "$VERIFY" --json --integrity-only --blob-dir=blobs A.img
jcheck integrity-json '
assert j["exit_code"] == 0 and j["verified"] is True, j
assert j["authenticated"] is False and j["authentication"] == "integrity-only", j
assert j["signature_status"] == "not-checked", j'
expect_rc 64 integrity-and-cert "$VERIFY" --integrity-only --cert=rsa-cert.pem A.img

echo "== item 4: the manifest digest, from mkfs, dump and sha256sum"
mkfs_digest=$(sed -n 's/^.*manifest digest \(sha256:[0-9a-f]\{64\}\) .*/\1/p' mkfsA.out)
[ -n "$mkfs_digest" ] || fail "mkfs.erofs printed no manifest digest: $(cat mkfsA.out)"
must "$DUMP" -s A.img
dump_digest=$(sed -n 's/^Seal manifest digest: *\(sha256:[0-9a-f]*\)$/\1/p' must.log)
must "$DUMP" --export-manifest=A.manifest A.img
file_digest=sha256:$(sha256sum <A.manifest | cut -c1-64)
[ "$mkfs_digest" = "$file_digest" ] || fail "mkfs printed $mkfs_digest, the manifest is $file_digest"
[ "$dump_digest" = "$file_digest" ] || fail "dump -s printed '$dump_digest', the manifest is $file_digest"
DIGA=$file_digest
must "$DUMP" -s B.img
DIGB=$(sed -n 's/^Seal manifest digest: *\(sha256:[0-9a-f]*\)$/\1/p' must.log)
must "$DUMP" -s U.img
DIGU=$(sed -n 's/^Seal manifest digest: *\(sha256:[0-9a-f]*\)$/\1/p' must.log)
[ -n "$DIGB" ] && [ -n "$DIGU" ] || fail "dump -s prints no manifest digest for B or U"
info "A: $DIGA (mkfs = dump -s = sha256sum of the manifest)"

echo "== item 4: pinned manifest digest"
expect_rc 0 pinned "$VERIFY" --expect-digest="$DIGA" --blob-dir=blobs A.img
grep -q 'pinned' pinned.out || fail "does not say it was authenticated by the pinned digest"
expect_rc 0 pinned-json "$VERIFY" --json --expect-digest="$DIGA" --blob-dir=blobs A.img
jcheck pinned-json '
assert j["verified"] is True and j["authenticated"] is True, j
assert j["authentication"] == "pinned-digest" and j["digest_status"] == "match", j
assert j["manifest_digest"] == "'"$DIGA"'", j
assert j["encrypted"] is False, j'
grep -q 'encrypted' pinned.out && fail "a plain image is said to be encrypted: $(cat pinned.out)"
expect_rc 0 pinned-upper "$VERIFY" --expect-digest="$(echo "$DIGA" | tr a-f A-F)" --blob-dir=blobs A.img
expect_rc 0 pinned-two "$VERIFY" --expect-digest="$DIGB" --expect-digest="$DIGA" --blob-dir=blobs A.img
expect_rc 0 pinned-unsigned "$VERIFY" --expect-digest="$DIGU" U.img
expect_rc 1 unsigned-cert "$VERIFY" --cert=rsa-cert.pem U.img
expect_rc 8 pinned-other "$VERIFY" --expect-digest="$DIGB" --blob-dir=blobs A.img
grep -q "$DIGA" pinned-other.err || fail "a pin mismatch does not name the image's digest: $(cat pinned-other.err)"
expect_rc 8 pinned-other-json "$VERIFY" --json --expect-digest="$DIGB" --blob-dir=blobs A.img
jcheck pinned-other-json '
assert j["exit_code"] == 8 and j["verified"] is False, j
assert j["authentication"] == "failed" and j["digest_status"] == "mismatch", j'
cp A.img M.img
flip_bit M.img $(($(rd_le64 A.img $(($(loc_of A.img) + 40))) + 32)) 0 # build time
expect_rc 8 pinned-changed "$VERIFY" --expect-digest="$DIGA" --blob-dir=blobs M.img
# either anchor authenticates; when none does, the signature verdict decides
expect_rc 0 pinned-or-untrusted "$VERIFY" --expect-digest="$DIGA" --cert=other-cert.pem --blob-dir=blobs A.img
expect_rc 0 signed-or-wrongpin "$VERIFY" --expect-digest="$DIGB" --cert=rsa-cert.pem --blob-dir=blobs A.img
expect_rc 2 neither "$VERIFY" --expect-digest="$DIGB" --cert=other-cert.pem --blob-dir=blobs A.img
n=0
for bad in "${DIGA:7}" "sha256:${DIGA:7:60}" "sha512:${DIGA:7}" "${DIGA}00" \
	"sha256:$(printf 'g%.0s' {1..64})" ""; do
	n=$((n + 1))
	expect_rc 64 "badpin-$n" "$VERIFY" --expect-digest="$bad" A.img
done

echo "== item 10: every device of the manifest, and 'verified' means all"
expect_rc 3 noblobs "$VERIFY" --cert=rsa-cert.pem A.img
grep -q 'blob 1 .*NOT checked' noblobs.err || fail "blob 1 not reported as NOT checked: $(cat noblobs.err)"
expect_rc 3 noblobs-json "$VERIFY" --json --cert=rsa-cert.pem A.img
jcheck noblobs-json '
d = {x["index"]: x["status"] for x in j["devices"]}
assert d == {0: "verified", 1: "not-checked"}, d
assert j["verified"] is False and j["exit_code"] == 3, j'
expect_rc 3 blob2only "$VERIFY" --cert=rsa-cert.pem B.img "blobs/$blobA"
grep -q 'blob 2: ok' blob2only.out || fail "blob 2 was not verified: $(cat blob2only.out)"
grep -q 'blob 1 .*NOT checked' blob2only.err || fail "blob 1 not reported as NOT checked: $(cat blob2only.err)"
expect_rc 3 blob2only-json "$VERIFY" --json --cert=rsa-cert.pem B.img "blobs/$blobA"
jcheck blob2only-json '
d = {x["index"]: x["status"] for x in j["devices"]}
assert d == {0: "verified", 1: "not-checked", 2: "verified"}, d
assert j["verified"] is False and j["exit_code"] == 3, j'
expect_rc 0 allblobs "$VERIFY" --cert=rsa-cert.pem B.img "blobs/$blobA" "blobs/$blobB"
expect_rc 0 allblobs-json "$VERIFY" --json --cert=rsa-cert.pem --blob-dir=blobs B.img
jcheck allblobs-json '
assert [x["status"] for x in j["devices"]] == ["verified"] * 3, j
assert j["verified"] is True and j["authentication"] == "signature", j'
mkdir partial
cp "blobs/$blobB" partial/
expect_rc 3 missing-json "$VERIFY" --json --cert=rsa-cert.pem --blob-dir=partial B.img
jcheck missing-json '
d = {x["index"]: x["status"] for x in j["devices"]}
assert d == {0: "verified", 1: "verified", 2: "missing"}, d'
cp "blobs/$blobA" partial/
filler 3 4096 | dd of="partial/$blobA" bs=4096 seek=5 conv=notrunc status=none
expect_rc 4 failed-json "$VERIFY" --json --cert=rsa-cert.pem --blob-dir=partial B.img
jcheck failed-json '
d = {x["index"]: x["status"] for x in j["devices"]}
assert d == {0: "verified", 1: "verified", 2: "failed"}, d
assert any("block 5" in e for e in j["errors"]), j'
expect_rc 4 foreign-json "$VERIFY" --json --cert=rsa-cert.pem A.img "blobs/$blobB"
jcheck foreign-json '
assert j["unmatched_blobs"][0]["status"] == "foreign", j
assert j["devices"][1]["status"] == "not-checked", j'

echo "== item 11: bytes of the seal that no section accounts for"
LOC=$(loc_of A.img)
MOFF=$(rd_le64 A.img $((LOC + 40)))
MLEN=$(rd_le64 A.img $((LOC + 48)))
SLEN=$(rd_le64 A.img $((LOC + 64)))
TOFF=$(rd_le64 A.img $((LOC + 72)))
TLEN=$(rd_le64 A.img $((LOC + 80)))
expect_rc 0 layout-pristine "$VERIFY" --cert=rsa-cert.pem --blob-dir=blobs A.img
# 4 KiB of junk between the chunk index and the locator
cp A.img J1.img
insert_junk J1.img "$LOC" 4096
expect_rc 5 junk-before-locator "$VERIFY" --cert=rsa-cert.pem --blob-dir=blobs J1.img
grep -q 'between the chunk index and the locator' junk-before-locator.err ||
	fail "junk before the locator: unclear message: $(cat junk-before-locator.err)"
# a junk block between the filesystem and the manifest, every section
# offset in the locator moved to match and its checksum fixed
cp A.img J2.img
insert_junk J2.img "$MOFF" 4096
L2=$(loc_of J2.img)
for i in 0 1 2 3; do
	o=$(rd_le64 J2.img $((L2 + 40 + 16 * i)))
	[ "$o" -ne 0 ] && wr_le64 J2.img $((L2 + 40 + 16 * i)) $((o + 4096))
done
fix_locator_sum J2.img
expect_rc 5 junk-after-fs "$VERIFY" --cert=rsa-cert.pem --blob-dir=blobs J2.img
# a junk block after the trees, counted into the trees section
cp A.img J3.img
insert_junk J3.img $((TOFF + TLEN)) 4096
L3=$(loc_of J3.img)
wr_le64 J3.img $((L3 + 80)) $((TLEN + 4096))
wr_le64 J3.img $((L3 + 88)) $(($(rd_le64 J3.img $((L3 + 88))) + 4096))
fix_locator_sum J3.img
expect_rc 5 junk-in-trees "$VERIFY" --cert=rsa-cert.pem --blob-dir=blobs J3.img
# non-zero padding after the manifest
[ $((MLEN % 4096)) -ne 0 ] || fail "the manifest fills its block: no padding to test"
cp A.img J4.img
wr_str J4.img $((MOFF + MLEN + 7)) X
expect_rc 5 junk-manifest-padding "$VERIFY" --cert=rsa-cert.pem --blob-dir=blobs J4.img
# non-zero byte in the unused part of the locator (outside its checksum)
cp A.img J5.img
wr_str J5.img $((LOC + 2000)) X
expect_rc 5 junk-locator-tail "$VERIFY" --cert=rsa-cert.pem --blob-dir=blobs J5.img
# the signatures section grown over 8 bytes of its padding
{ [ $((SLEN % 4096)) -ne 0 ] && [ $((SLEN % 4096 + 8)) -le 4096 ]; } ||
	fail "no room after the signatures section ($SLEN bytes)"
cp A.img J6.img
wr_le64 J6.img $((LOC + 64)) $((SLEN + 8))
fix_locator_sum J6.img
expect_rc 5 slack-after-signatures "$VERIFY" --cert=rsa-cert.pem --blob-dir=blobs J6.img
expect_rc 0 layout-pristine-again "$VERIFY" --cert=rsa-cert.pem --blob-dir=blobs A.img

echo "== item 17: --json is valid UTF-8 whatever the image path"
name=$'caf\xc3\xa9-\xff-\xc0\xaf-\xed\xa0\x80.img'
cp A.img "$name"
expect_rc 0 json-path "$VERIFY" --json --cert=rsa-cert.pem --blob-dir=blobs "$name"
jcheck json-path '
want = "caf\u00e9-\ufffd-\ufffd\ufffd-\ufffd\ufffd\ufffd.img"
assert j["image"] == want, (j["image"], want)
assert j["devices"][0]["path"] == want, j'
rm -f "$name"
cp A.img $'bad\xff.img'
expect_rc 3 json-path-fail "$VERIFY" --json --cert=rsa-cert.pem --blob-dir=blobs $'bad\xff.img' \
	$'missing\xfe'
jcheck json-path-fail '
assert j["image"] == "bad\ufffd.img", j
assert j["unmatched_blobs"][0]["path"] == "missing\ufffd", j
assert all("\ufffd" in e for e in j["errors"] if "missing" in e), j'

echo "== item 8: dump --nid=N with --export-signature"
must "$DUMP" -s A.img
root=$(sed -n 's/^Filesystem root nid: *\([0-9]*\)$/\1/p' must.log)
[ -n "$root" ] || fail "no root nid in dump -s"
expect_rc 0 dump-nid-sig "$DUMP" --nid="$root" --export-signature=1:sig1 A.img
grep -qx "nid: $root" dump-nid-sig.out || fail "dump shows another inode: $(head -n 3 dump-nid-sig.out)"
grep -qx 'type: dir' dump-nid-sig.out || fail "the root is not shown as a directory: $(cat dump-nid-sig.out)"
must "$DUMP" --export-signature=1:sig1.alone A.img
cmp -s sig1 sig1.alone || fail "--export-signature with --nid wrote another signature"

echo "PASS"
exit 0
