#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# One trust pipeline (docs/DECISIONS.md, "Verification order"): fsck.erofs
# with an anchor checks the filesystem region against its Merkle tree
# BEFORE it parses any EROFS structure, exactly as erofs-verify does.
#
#  superblock-feature  a signed image whose superblock claims an
#                      incompatible feature (checksum fixed): parsed, that
#                      is an unsupported image (fsck exit 8, "incompatible
#                      features" — shown on the same bytes without their
#                      seal).  fsck --cert / --pubkey / --expect-digest and
#                      erofs-verify --cert refuse it as an integrity failure
#                      (exit 4, "filesystem region (device 0): block 0
#                      fails its Merkle tree") and never say what the
#                      parser would have said: the superblock was not
#                      parsed.  Without anchors fsck reports the region too
#                      and, the image being corrupt, exits 4.
#  superblock-magic    the same with a broken magic (parsed: "no EROFS
#                      superblock: bad magic", exit 4)
#  container           an unsealed image on a loop device larger than the
#                      image checks (exit 0); the same bytes in a plain file
#                      are bytes after the filesystem without a seal (exit 4)

_lib=$(dirname "$0")/lib.sh
[ -r "$_lib" ] || _lib=${srcdir:-.}/integration/lib.sh
. "$_lib" || { echo "FAIL: cannot source lib.sh"; exit 1; }

need_progs MKFS FSCK DUMP VERIFY
need_cmd openssl sha256sum od dd head

cd "$T" || fail "cannot enter $T"

echo "== setup: a key, a small tree, a signed image"
must openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem -out cert.pem \
	-days 3650 -subj "/CN=t-trust-pipeline" -sha256
must openssl pkey -in key.pem -pubout -out key.pub
mkdir -p src/d
printf 'a file\n' >src/a
printf 'below\n' >src/d/b
touch -d '2020-01-01 00:00:00' src/d src
must "$MKFS" --quiet --sign-key=key.pem --sign-cert=cert.pem S.img src
must "$DUMP" --export-manifest=S.manifest S.img
pin=sha256:$(sha256sum S.manifest | cut -c1-64)
LOC=$(($(stat -c %s S.img) - 4096))
[ "$(dd if=S.img bs=1 skip=$LOC count=8 status=none)" = EROFSEAL ] || fail "S.img has no seal locator"
FSZ=$(rd_le64 S.img $((LOC + 32)))
run_rc 0 pristine "$FSCK" --cert=cert.pem S.img || fail "the pristine image does not check"

REGION='filesystem region \(device 0\): block 0 fails its Merkle tree'

# refused NAME PARSER-REGEX: the tampered T.img, refused by every anchored
# program as an integrity failure of the region, with nothing the parser
# would have said (PARSER-REGEX, shown first on the same bytes unsealed)
refused() {
	local name=$1 parser=$2 a
	for a in --cert=cert.pem --pubkey=key.pub "--expect-digest=$pin"; do
		local n=$name-fsck${a%%=*}
		if run_rc 4 "$n" "$FSCK" "$a" T.img; then
			says "$n" "$n.err" "$REGION" "that the filesystem region fails its Merkle tree"
			not_says "$n" "$n.err" "$parser" "what the superblock parser says (the superblock was parsed)"
			says "$n" "$n.out" "^seal: .*not authenticated" "'not authenticated'"
		fi
	done
	# --extract writes nothing
	run_rc 4 "$name-extract" "$FSCK" --cert=cert.pem --extract="x-$name" T.img
	[ -e "x-$name" ] && bad "$name-extract: x-$name was created"
	# erofs-verify: the same exit code (4, integrity) and message
	if run_rc 4 "$name-verify" "$VERIFY" --cert=cert.pem T.img; then
		says "$name-verify" "$name-verify.err" "$REGION" \
			"that the filesystem region fails its Merkle tree"
		not_says "$name-verify" "$name-verify.err" "$parser" "what the superblock parser says (the superblock was parsed)"
	fi
	# without anchors fsck still names the region, and the image is corrupt
	if run_rc 4 "$name-noanchor" "$FSCK" T.img; then
		says "$name-noanchor" "$name-noanchor.err" "$REGION" \
			"that the filesystem region fails its Merkle tree"
	fi
}

echo "== superblock-feature: an incompatible feature bit, checksum fixed"
cp S.img T.img
incompat=$(rd_le32 T.img $((1024 + 80)))
wr_le32 T.img $((1024 + 80)) $((incompat | 0x40000000))
sb_fix_crc T.img
# what the parser says about these bytes when nothing verifies them first
head -c "$FSZ" T.img >T-unsealed.img
if run_rc 8 feature-parsed "$FSCK" T-unsealed.img; then
	says feature-parsed feature-parsed.err "incompatible features" "the parser's reason"
fi
refused feature "incompatible features|not supported"

echo "== superblock-magic: not an EROFS superblock any more"
cp S.img T.img
wr_le32 T.img 1024 $((0x12345678))
head -c "$FSZ" T.img >T-unsealed.img
if run_rc 4 magic-parsed "$FSCK" T-unsealed.img; then
	says magic-parsed magic-parsed.err "bad magic" "the parser's reason"
fi
refused magic "bad magic|no EROFS superblock"

echo "== container: an unsealed image on a larger block device"
must "$MKFS" --quiet P.img src
cp P.img P-padded.img
truncate -s $(($(stat -c %s P.img) + 1024 * 1024)) P-padded.img
if run_rc 4 padded-file "$FSCK" P-padded.img; then
	says padded-file padded-file.err "bytes follow the filesystem" "why the file is refused"
fi
if [ "$(id -u)" -eq 0 ] && loop_attach P-padded.img -r 2>/dev/null; then
	run_rc 0 padded-device "$FSCK" "$LOOP_DEV" &&
		says padded-device padded-device.out "^seal: none" "that the image is not sealed"
else
	info "container: no loop device (not root, or none free): block device case not run"
fi

finish_cases
