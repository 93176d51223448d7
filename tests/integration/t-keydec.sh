#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The boot unlock (include/erofs/keydec.h: no heap, the key table opened a
# 4 KiB segment at a time) as the reader's decryption stage, through
# keydec_tool, which extracts with lib/read/ as the boot reader does:
#
#  keyfile     an image with a key-file and a seed slot, 9000+ chunks (145
#              key-table segments: two per group): extracting through the
#              key-file slot equals fsck.erofs --unlock --extract and the
#              source, over a memory source and over the file source
#  seed        the same through the seed slot, named by its label or not
#  oracle      tests/oracle/decrypt_image.py (Python, from FORMAT.md alone)
#              decrypts the image; /usr/bin/fsck.erofs extracts that: equal
#  rotated     after erofs-key rotate (the other table slot, generation 2)
#  detached    a detached key area (--key-area=FILE at build time)
#  refused     a wrong key file, a wrong seed, a seed label no slot has, a
#              flipped byte in a key-table segment, in the digests D, and a
#              passphrase credential: each refused with its message, nothing
#              extracted
#
# Every case runs; the failures are listed at the end.

_lib=$(dirname "$0")/lib.sh
[ -r "$_lib" ] || _lib=${srcdir:-.}/integration/lib.sh
. "$_lib" || { echo "FAIL: cannot source lib.sh"; exit 1; }

need_progs MKFS FSCK EROFS_KEY KEYDEC_TOOL
need_cmd diff

cd "$T" || fail "cannot enter $T"

rnd 32 >domain.key
rnd 64 >slot.key
rnd 64 >wrong.key
rnd 48 >seed
rnd 48 >wrong-seed

mkdir -p tree/etc/deep/er/still tree/boot tree/empty-dir
rnd 37748736 >tree/boot/vmlinuz		# 9216 chunks of 4 KiB
rnd 5000 >tree/boot/initrd.part
rnd 100 >tree/etc/deep/er/still/small
: >tree/etc/empty
printf 'hello\n' >tree/etc/hello
ln -s ../boot/vmlinuz tree/etc/kernel
ln -s /nowhere/at/all tree/etc/dangling
ln tree/etc/hello tree/etc/hello-again
# a file with a hole and a repeated chunk
{ rnd 4096; head -c 65536 /dev/zero; rnd 4096; } >tree/boot/sparse
cat tree/boot/initrd.part tree/boot/initrd.part >tree/boot/twice

ENC=(--quiet --encrypt --domain-key=domain.key --keyslot=keyfile:slot.key
	--keyslot=seed:seed:boot -T 0 --mkfs-time -U 0a1b2c3d-4e5f-4061-8293-a4b5c6d7e8f9)
must "$MKFS" "${ENC[@]}" enc.img tree
must "$FSCK" --unlock=keyfile:slot.key --allow-unsigned --extract=ref enc.img

# same NAME DIR: DIR holds what fsck.erofs extracted, and the source
same() {
	diff -r --no-dereference ref "$2" >"$1.diff" 2>&1 ||
		bad "$1: differs from fsck.erofs --extract: $(head -c 600 "$1.diff")"
	diff -r --no-dereference tree "$2" >"$1.diff" 2>&1 ||
		bad "$1: differs from the source: $(head -c 600 "$1.diff")"
}

# ---- keyfile, seed ---------------------------------------------------------------
run_rc 0 keyfile-mem "$KEYDEC_TOOL" enc.img keyfile:slot.key out-kf && same keyfile-mem out-kf
run_rc 0 keyfile-file "$KEYDEC_TOOL" --file enc.img keyfile:slot.key out-kf2 &&
	same keyfile-file out-kf2
run_rc 0 seed "$KEYDEC_TOOL" enc.img seed:seed:boot out-seed && same seed out-seed &&
	says seed seed.out "slot 1 opened" "that the seed slot opened"
run_rc 0 seed-any "$KEYDEC_TOOL" enc.img seed-any:seed out-seed-any && same seed-any out-seed-any

# ---- oracle ---------------------------------------------------------------------
if [ -x /usr/bin/fsck.erofs ] && "$PYTHON" -c 'import cryptography' 2>/dev/null; then
	# (erofs-utils extracts a chunk-based file with a hole short, 8 of its
	# 72 KiB: the hole is compared with fsck.erofs and the source above)
	if run_rc 0 oracle "$PYTHON" "$srcdir/oracle/decrypt_image.py" enc.img tree domain.key \
		keyfile:slot.key plain.img; then
		run_rc 0 oracle-extract /usr/bin/fsck.erofs --extract=oracle-out plain.img &&
			{ diff -r --no-dereference -x sparse oracle-out out-kf >oracle.diff 2>&1 ||
				bad "oracle: the boot unlock's extraction differs from the oracle's: $(head -c 600 oracle.diff)"; }
	fi
else
	info "oracle: skipped (needs /usr/bin/fsck.erofs and python3-cryptography)"
fi

# ---- rotated ----------------------------------------------------------------------
cp enc.img rot.img
if run_rc 0 rotate "$EROFS_KEY" rotate rot.img --unlock=keyfile:slot.key --unlock=seed:seed:boot; then
	run_rc 0 rotated-kf "$KEYDEC_TOOL" rot.img keyfile:slot.key out-rot && same rotated-kf out-rot
	run_rc 0 rotated-seed "$KEYDEC_TOOL" rot.img seed:seed:boot out-rot2 &&
		same rotated-seed out-rot2
fi

# ---- detached --------------------------------------------------------------------
if run_rc 0 mkfs-detached "$MKFS" "${ENC[@]}" --key-area=det.keys det.img tree; then
	run_rc 1 detached-missing "$KEYDEC_TOOL" det.img keyfile:slot.key out-none
	run_rc 0 detached "$KEYDEC_TOOL" --key-area=det.keys det.img keyfile:slot.key out-det &&
		same detached out-det
fi

# ---- refused ---------------------------------------------------------------------
# refused NAME REGEX WHAT IMAGE CREDENTIAL: exit 1, the message, nothing extracted
refused() {
	run_rc 1 "$1" "$KEYDEC_TOOL" "$4" "$5" "out-$1" && says "$1" "$1.err" "$2" "$3"
	[ -e "out-$1" ] && bad "$1: extracted something"
	return 0
}
refused wrong-key "no credential opens a keyslot \(wrong passphrase or key: 1 slot tried\)" \
	"that the key file opens no slot" enc.img keyfile:wrong.key
refused wrong-seed "no credential opens a keyslot" "that the seed opens no slot" \
	enc.img seed:wrong-seed:boot
refused wrong-seed-any "no credential opens a keyslot" "that the seed opens no slot" \
	enc.img seed-any:wrong-seed
refused wrong-label "no keyslot is of the kind of the credentials given .*seed label" \
	"that no slot has that label" enc.img seed:seed:other
printf 'a passphrase\n' >pass.txt
refused passphrase "key-file and seed slots only" "that it opens key-file and seed slots only" enc.img passphrase-file:pass.txt

# key_area_at IMAGE: offset of the embedded key area, its active table slot's
# offset in it, its D array's offset and the number of segments
key_area_at() {
	"$PYTHON" - "$1" <<'PY'
import struct, sys
img = open(sys.argv[1], 'rb').read()
loc = img[-4096:]
area_off, area_len = struct.unpack_from('<QQ', loc, 104)
hdr = img[area_off:area_off + 8192]
entries, = struct.unpack_from('<Q', hdr, 72)
active, = struct.unpack_from('<I', hdr, 176)
d_off, t0, t1 = struct.unpack_from('<QQQ', hdr, 184)
nseg = (entries + 63) // 64
print(area_off, (t0, t1)[active], d_off, nseg)
PY
}
read -r area table d nseg < <(key_area_at enc.img)
info "key area at $area: table at +$table, D at +$d, $nseg segments"
[ "${nseg:-0}" -gt 128 ] || bad "the test image has $nseg key-table segments, not more than 128 (groups of two)"
# flip IMAGE OFFSET: a copy of enc.img with the byte at OFFSET inverted
flip() {
	cp enc.img "$1"
	"$PYTHON" - "$1" "$2" <<'PY'
import sys
with open(sys.argv[1], 'r+b') as f:
    f.seek(int(sys.argv[2]))
    b = f.read(1)
    f.seek(int(sys.argv[2]))
    f.write(bytes([b[0] ^ 0xff]))
PY
}
flip seg.img $((area + table + 3 * 4112 + 100))
refused flipped-segment "key table segment 3 does not decrypt" \
	"that segment 3 does not decrypt" seg.img keyfile:slot.key
flip tag.img $((area + table + 4112 * (nseg - 1) + 10))
refused flipped-last "key table segment $((nseg - 1)) does not decrypt" \
	"that the last segment does not decrypt" tag.img seed:seed:boot
flip d.img $((area + d + 32 * 7 + 5))
refused flipped-d "key table segment 7 does not match its signed digest|table digests \(D\) do not match" \
	"that the digests do not match the table digest" d.img keyfile:slot.key

finish_cases "the boot unlock extracts key-file and seed images as fsck.erofs does and refuses wrong keys and altered tables"
