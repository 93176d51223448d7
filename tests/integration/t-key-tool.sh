#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# erofs-key on key areas embedded in a sealed image and detached, and the
# attacks of issue 9 with their distinct exit codes:
#
#  * list, add (passphrase file, seed, key file), remove, rotate (X25519
#    slots rewrapped without the identity), backup, restore, gen-domain;
#  * nothing outside the key area changes: file size, filesystem, seal,
#    locator;
#  * wrong passphrase or key (1); a slot's Argon2 costs lowered in place
#    (1) or raised past the bound (2); one header copy damaged (the other
#    opens), both (3, nothing written); a removed slot pasted back after a
#    rotation opens nothing (1); a key area of another image (4); refusals
#    (5); usage (64); truncated and bit-flipped key areas never crash;
#  * the seal reader accepts an embedded key area in its place and refuses
#    one that is not (erofs-verify, fsck.erofs).
#
# Key areas come from keyarea_tool (create, embed) until mkfs.erofs
# --encrypt makes them.  Environment: EROFS_KEY, KEYAREA_TOOL, MKFS, FSCK,
# VERIFY.

set -u

. "$(dirname "$0")/lib.sh"

need_progs EROFS_KEY KEYAREA_TOOL MKFS FSCK VERIFY
need_cmd openssl sha256sum cmp dd stat od

KEY=$EROFS_KEY
cd "$T" || fail "cd"

# ---- credentials, images ----------------------------------------------------
rnd 64 >kf0
rnd 64 >kf1
rnd 31 >short
printf 'the first passphrase\nignored\n' >pass
printf 'not it\n' >wrongpass
rnd 40 >seed
must x25519_pair x
must x25519_pair y
PB="--pbkdf-memory=65536 --pbkdf-iterations=3 --pbkdf-parallel=1"

mkdir -p tree
rnd 20000 >tree/a
rnd 5000 >tree/b
uuid=$(rnd 16 | od -An -v -tx1 | tr -d ' \n')
dashed=$(echo "$uuid" | sed 's/\(........\)\(....\)\(....\)\(....\)/\1-\2-\3-\4-/')
must "$MKFS" --seal -U "$dashed" plain.img tree

# make_area OUT SLOT-SPEC...: a key area of this image's UUID
make_area() {
	local out=$1 a=()
	shift
	for s in "$@"; do a+=(--keyslot "$s"); done
	must "$KEYAREA_TOOL" create "$out" --uuid "$uuid" --entries 100 \
		--pbkdf-memory 65536 --pbkdf-iterations 3 "${a[@]}"
}

# sums IMG: SHA-256 of everything but the key area, and the size
sums() {
	{
		head -c "$KA_OFF" "$1" | sha256sum
		tail -c 4096 "$1" | sha256sum
		stat -c %s "$1"
	} | tr -d ' \n-'
}

# fix_sum FILE BASE COPY: recompute header copy COPY's checksum (the area at
# byte BASE of FILE), as anyone who can write the image can
fix_sum() {
	local f=$1 at=$(($2 + $3 * 8192)) sum
	sum=$({
		dd if="$f" bs=4096 iflag=skip_bytes,count_bytes skip="$at" count=224 status=none
		head -c 32 /dev/zero
		dd if="$f" bs=4096 iflag=skip_bytes,count_bytes skip=$((at + 256)) count=7936 status=none
	} | sha256sum | cut -c1-64)
	wr_hex "$f" $((at + 224)) "$sum"
}

# ---- embedded ---------------------------------------------------------------
make_area area "keyfile:$T/kf0" "recipient:$T/x.pub"
cp plain.img img
runcmd embed "$KEYAREA_TOOL" embed img area
[ "$RC" -eq 0 ] || fail "embed: $(cat embed.err)"
KA_OFF=$(sed -n 's/^key_area_offset = //p' embed.out)
KA_LEN=$(sed -n 's/^key_area_size = //p' embed.out)
outside=$(sums img)

expect_rc 0 list "$KEY" list img
grep -q "not covered by the image's signature" list.out || fail "list does not say slots are unsigned"
grep -q "^   0  keyfile$" list.out || fail "list: no key file slot 0"
grep -q "^   1  x25519      recipient [0-9a-f]\{64\}" list.out || fail "list: no X25519 slot 1"
grep -q "generation 1" list.out || fail "list: generation"

expect_rc 0 add-pass "$KEY" add img --unlock="keyfile:$T/kf0" --keyslot="passphrase-file:$T/pass" $PB
grep -q "Added keyslot 2 (passphrase)" add-pass.out || fail "add: $(cat add-pass.out)"
expect_rc 0 add-seed "$KEY" add img --unlock="passphrase-file:$T/pass" --keyslot="seed:$T/seed:app"
expect_rc 0 list2 "$KEY" list img
grep -q "argon2id, 3 iterations, 65536 KiB, 1 lane$" list2.out || fail "list: argon2 costs"
grep -q 'seed        label "app"' list2.out || fail "list: seed label"

# wrong credentials
expect_rc 1 wrong-pass "$KEY" add img --unlock="passphrase-file:$T/wrongpass" --keyslot="keyfile:$T/kf1"
grep -q "no credential opens a keyslot" wrong-pass.err || fail "wrong passphrase: $(cat wrong-pass.err)"
expect_rc 1 wrong-key "$KEY" add img --unlock="keyfile:$T/kf1" --keyslot="keyfile:$T/kf1"
expect_rc 1 wrong-identity "$KEY" add img --unlock="identity:$T/y.key" --keyslot="keyfile:$T/kf1"
expect_rc 64 short-key "$KEY" add img --unlock="keyfile:$T/kf0" --keyslot="keyfile:$T/short"
grep -q "fewer than the 32" short-key.err || fail "short key file: $(cat short-key.err)"

# rotate: every slot needs its credential; X25519 none
cp img before-rotate
expect_rc 5 rotate-missing "$KEY" rotate img --unlock="keyfile:$T/kf0" --unlock="passphrase-file:$T/pass"
grep -q "slot 3 (seed)" rotate-missing.err || fail "rotate: $(cat rotate-missing.err)"
cmp -s img before-rotate || fail "a refused rotation changed the image"
expect_rc 0 rotate "$KEY" rotate img --unlock="keyfile:$T/kf0" --unlock="passphrase-file:$T/pass" \
	--unlock="seed:$T/seed:app"
grep -q "generation 2, table slot 1" rotate.out || fail "rotate: $(cat rotate.out)"
grep -q "slot 1: rewrapped" rotate.out || fail "rotate: the X25519 slot"
expect_rc 0 after-rotate "$KEY" add img --unlock="identity:$T/x.key" --keyslot="keyfile:$T/kf1"
grep -q "Added keyslot 4" after-rotate.out || fail "add after rotate: $(cat after-rotate.out)"

# remove, then rotate: the removed slot, pasted back into both copies with
# their checksums fixed, opens nothing
slot0_a=$(od -An -v -tx1 -j $((KA_OFF + 4096)) -N 256 img | tr -d ' \n')
expect_rc 0 remove "$KEY" remove img --unlock="passphrase-file:$T/pass" --slot=0
expect_rc 1 removed "$KEY" add img --unlock="keyfile:$T/kf0" --keyslot="keyfile:$T/kf1"
expect_rc 0 rotate2 "$KEY" rotate img --unlock="passphrase-file:$T/pass" --unlock="seed:$T/seed:app" \
	--unlock="keyfile:$T/kf1"
for c in 0 1; do
	wr_hex img $((KA_OFF + c * 8192 + 4096)) "$slot0_a"
	fix_sum img "$KA_OFF" "$c"
done
expect_rc 0 pasted-list "$KEY" list img
grep -q "^   0  keyfile$" pasted-list.out || fail "the pasted slot is not in place"
expect_rc 1 pasted "$KEY" add img --unlock="keyfile:$T/kf0" --keyslot="keyfile:$T/kf1"
info "a removed slot pasted back after a rotation opens nothing"
expect_rc 0 unpaste "$KEY" remove img --unlock="keyfile:$T/kf1" --slot=0
[ "$(sums img)" = "$outside" ] || fail "erofs-key changed bytes outside the key area"
info "file size, filesystem, seal and locator unchanged"

# Argon2 costs changed in place (slot 2 is the passphrase slot)
cp img good
for c in 0 1; do
	wr_le32 img $((KA_OFF + c * 8192 + 4096 + 2 * 256 + 8 + 32)) 1	# t lowered
	fix_sum img "$KA_OFF" "$c"
done
expect_rc 1 argon2-lowered "$KEY" add img --unlock="passphrase-file:$T/pass" --keyslot="keyfile:$T/kf0"
cp good img
for c in 0 1; do
	wr_le32 img $((KA_OFF + c * 8192 + 4096 + 2 * 256 + 8 + 36)) 4294967295	# 4 TiB
	fix_sum img "$KA_OFF" "$c"
done
expect_rc 2 argon2-raised "$KEY" add img --unlock="passphrase-file:$T/pass" --keyslot="keyfile:$T/kf0"
grep -q "outside the bounds" argon2-raised.err || fail "raised costs: $(cat argon2-raised.err)"
expect_rc 0 argon2-list "$KEY" list img
grep -q "outside the bounds: refused" argon2-list.out || fail "list does not flag the costs"
cp good img

# one header copy damaged: the other opens; both: a clear error, nothing written
flip_bit img $((KA_OFF + 100)) 3
expect_rc 0 one-copy "$KEY" list img
grep -q "Header copy A:  not valid: checksum mismatch" one-copy.out || fail "copy A: $(cat one-copy.out)"
grep -q "Header copy B:  sequence [0-9]* (current)" one-copy.out || fail "copy B is not current"
expect_rc 0 one-copy-add "$KEY" add img --unlock="seed:$T/seed:app" --keyslot="keyfile:$T/kf0"
expect_rc 0 two-valid "$KEY" list img
grep -q "Header copy A:  sequence" two-valid.out || fail "the commit did not rewrite copy A"
flip_bit img $((KA_OFF + 100)) 3
flip_bit img $((KA_OFF + 8192 + 5000)) 0
cp img both-bad
expect_rc 3 both-list "$KEY" list img
grep -q "copy A: checksum mismatch.*copy B: checksum mismatch" both-list.err || fail "both: $(cat both-list.err)"
expect_rc 3 both-add "$KEY" add img --unlock="seed:$T/seed:app" --keyslot="keyfile:$T/kf1"
cmp -s img both-bad || fail "a key area without a valid copy was written"

# backup and restore (over both damaged copies)
cp good img
expect_rc 0 backup "$KEY" backup img img.keys
[ "$(stat -c %a img.keys)" = 600 ] || fail "the backup is not mode 0600"
[ "$(stat -c %s img.keys)" = "$KA_LEN" ] || fail "the backup is not the whole key area"
expect_rc 5 backup-again "$KEY" backup img img.keys
cp both-bad img
expect_rc 1 restore-wrong "$KEY" restore img img.keys --unlock="keyfile:$T/kf0"
expect_rc 5 restore-missing "$KEY" restore img img.keys --unlock="passphrase-file:$T/pass"
expect_rc 0 restore "$KEY" restore img img.keys --unlock="passphrase-file:$T/pass" \
	--unlock="seed:$T/seed:app" --unlock="keyfile:$T/kf0" --unlock="keyfile:$T/kf1"
expect_rc 0 restored "$KEY" list img
grep -q "generation 4" restored.out || fail "restore: not a new generation: $(cat restored.out)"
grep -q "^   4  keyfile$" restored.out || fail "restore: the key file slot"
grep -q "Header copy A:  sequence 1 " restored.out &&
	fail "restore: the sequence number went back to 1"
[ "$(sums img)" = "$outside" ] || fail "restore changed bytes outside the key area"
# a backup of another image
make_area other.keys "keyfile:$T/kf0" "recipient:$T/x.pub"
wr_hex other.keys 48 00
fix_sum other.keys 0 0
wr_hex other.keys 8192 00
expect_rc 4 restore-other "$KEY" restore img other.keys --unlock="keyfile:$T/kf0"

# refusals and usage (slots now: 1 x25519, 2 passphrase, 3 seed, 4 key file)
for s in 2 3 4; do
	expect_rc 0 "rm$s" "$KEY" remove img --unlock="identity:$T/x.key" --slot="$s"
done
expect_rc 0 one-left "$KEY" list img
grep -q "1 of 16 used" one-left.out || fail "not one slot left: $(cat one-left.out)"
expect_rc 5 last-slot "$KEY" remove img --unlock="identity:$T/x.key" --slot=1
grep -q "last one" last-slot.err || fail "last slot: $(cat last-slot.err)"
expect_rc 5 empty-slot-remove "$KEY" remove img --unlock="identity:$T/x.key" --slot=7
for i in $(seq 2 16); do
	runcmd fill "$KEY" add img --unlock="identity:$T/x.key" --keyslot="keyfile:$T/kf0"
done
expect_rc 5 full "$KEY" add img --unlock="identity:$T/x.key" --keyslot="keyfile:$T/kf0"
grep -q "all 16 keyslots are in use" full.err || fail "full: $(cat full.err)"
expect_rc 64 no-command "$KEY"
expect_rc 64 bad-command "$KEY" frobnicate img
expect_rc 64 no-keyslot "$KEY" add img --unlock="keyfile:$T/kf0"
expect_rc 64 bad-slot "$KEY" remove img --unlock="keyfile:$T/kf0" --slot=16
expect_rc 64 list-unlock "$KEY" list img --unlock="keyfile:$T/kf0"
expect_rc 64 bad-memory "$KEY" add img --unlock="keyfile:$T/kf0" --keyslot=passphrase --pbkdf-memory=1024
expect_rc 64 bad-spec "$KEY" add img --unlock="password:x" --keyslot="keyfile:$T/kf0"
expect_rc 64 recipient-unlock "$KEY" add img --unlock="recipient:$T/x.pub" --keyslot="keyfile:$T/kf0"
expect_rc 0 help "$KEY" --help
grep -q "^Exit status" help.out || fail "--help has no exit status"
if command -v setsid >/dev/null 2>&1; then
	expect_rc 6 no-tty setsid -w "$KEY" add img --unlock=passphrase --keyslot="keyfile:$T/kf0" </dev/null
	grep -q "no terminal" no-tty.err || fail "no terminal: $(cat no-tty.err)"
fi

# images without a key area
expect_rc 4 plain-image "$KEY" list plain.img
expect_rc 4 unsealed "$KEY" list tree/a

# ---- the seal reader and an embedded key area -----------------------------------
cp plain.img kept.img
must "$KEYAREA_TOOL" embed kept.img area --keep-manifest
expect_rc 0 verify-kept "$VERIFY" --integrity-only kept.img
expect_rc 0 fsck-kept "$FSCK" kept.img
expect_rc 4 key-kept "$KEY" list kept.img
grep -q "not encrypted" key-kept.err || fail "$(cat key-kept.err)"
# the key area one block later than where the chunk index ends
size=$(stat -c %s kept.img)
wr_le64 kept.img $((size - 4096 + 104)) $((KA_OFF + 4096))
wr_le64 kept.img $((size - 4096 + 112)) $((KA_LEN - 4096))
sum=$(head -c $((size - 4096 + 120)) kept.img | tail -c 120 | sha256sum | cut -c1-64)
wr_hex kept.img $((size - 4096 + 120)) "$sum"
expect_rc 5 verify-moved "$VERIFY" --integrity-only kept.img
grep -q "key area section starts at byte" verify-moved.err verify-moved.out ||
	fail "moved key area: $(cat verify-moved.err verify-moved.out)"

# ---- detached ---------------------------------------------------------------
cp plain.img det.img
make_area det.keys "keyfile:$T/kf0" "seed:$T/seed"
must "$KEYAREA_TOOL" embed det.img det.keys --manifest-only
chmod 640 det.keys
ino=$(stat -c %i det.keys)
det_img=$(sha256sum <det.img)
expect_rc 0 det-list "$KEY" list det.img --key-area=det.keys
grep -q "^Key area:       det.keys" det-list.out || fail "$(head -1 det-list.out)"
expect_rc 0 det-add "$KEY" add det.img --key-area=det.keys --unlock="seed:$T/seed" \
	--keyslot="recipient:$T/y.pub"
[ "$(stat -c %i det.keys)" != "$ino" ] || fail "the detached key area was not replaced"
[ "$(stat -c %a det.keys)" = 640 ] || fail "the replaced key area lost its mode"
ls -a | grep -q 'erofs-key-' && fail "a temporary file was left behind"
expect_rc 0 det-open "$KEY" add det.img --key-area=det.keys --unlock="identity:$T/y.key" \
	--keyslot="keyfile:$T/kf1"
[ "$(sha256sum <det.img)" = "$det_img" ] || fail "a detached change wrote to the image"
must "$MKFS" --seal -U 0123abcd-0000-4000-8000-00000000abcd other.img tree
must "$KEYAREA_TOOL" embed other.img det.keys --manifest-only
expect_rc 4 det-other-image "$KEY" list other.img --key-area=det.keys
grep -q "another image" det-other-image.err || fail "$(cat det-other-image.err)"
info "detached key areas are replaced whole, image untouched"

# ---- hostile key areas never crash ------------------------------------------------
cp det.keys fuzz.orig
size=$(stat -c %s fuzz.orig)
crashes=0
for len in 0 100 8191 8192 16383 16384 20000 $((size - 1)); do
	head -c "$len" fuzz.orig >fuzz.keys
	runcmd trunc "$KEY" list det.img --key-area=fuzz.keys
	crashed "$RC" && crashes=$((crashes + 1))
	[ "$RC" -ne 0 ] || fail "a key area truncated to $len bytes was accepted"
done
i=0
for off in $(seq 0 397 $((size - 1))); do
	cp fuzz.orig fuzz.keys
	flip_bit fuzz.keys "$off" $((i % 8))
	i=$((i + 1))
	runcmd flip "$KEY" add det.img --key-area=fuzz.keys --unlock="keyfile:$T/kf0" \
		--keyslot="keyfile:$T/kf1"
	crashed "$RC" && { crashes=$((crashes + 1)); cat flip.err; }
	runcmd flip-list "$KEY" list det.img --key-area=fuzz.keys
	crashed "$RC" && crashes=$((crashes + 1))
done
[ "$crashes" = 0 ] || fail "$crashes runs crashed on damaged key areas"
info "$i bit flips and 8 truncations: no crash"

# ---- gen-domain ----------------------------------------------------------------
expect_rc 0 gen "$KEY" gen-domain domain.key
[ "$(stat -c %s domain.key)" = 32 ] || fail "the domain key is not 32 bytes"
[ "$(stat -c %a domain.key)" = 600 ] || fail "the domain key is not mode 0600"
cp domain.key domain.before
expect_rc 5 gen-again "$KEY" gen-domain domain.key
cmp -s domain.key domain.before || fail "gen-domain overwrote a key"
expect_rc 0 gen2 "$KEY" gen-domain domain2.key
cmp -s domain.key domain2.key && fail "two domain keys are equal"
echo "PASS"
