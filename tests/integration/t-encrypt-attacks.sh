#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Attacks on an encrypted image's keys, each refused with a clear message
# and its exit code (fsck.erofs: 32 no credential opens a slot, 4 the key
# area or key table is not this image's or is damaged):
#
#  wrong-credential   a wrong key file, a wrong passphrase             -> 32
#  argon2-lowered     a passphrase slot's Argon2 costs lowered in place
#                     (checksums fixed)                                 -> 32
#  argon2-raised      the costs raised past the read bound (64 GiB)     -> 32,
#                     refused before any memory is spent, said so
#  copied-area        the key area of another image copied in           -> 4
#  foreign-table      another image's key table (same layout, other
#                     domain), re-encrypted under this image's table key,
#                     UUID and generation, its digests fixed in both
#                     header copies: only the signed table digest
#                     catches it                                        -> 4
#  swapped-secrets    two chunk secrets of this image's own table
#                     swapped and re-encrypted likewise                 -> 4
#  one-copy-damaged   header copy A overwritten: copy B still opens     -> 0
#  both-damaged       both copies overwritten                           -> 4
#  truncated / flips  a key area cut short, bytes flipped all over it:
#                     never a crash (ASan/UBSan in the sanitizer pass)
#
# The tampering is done by the Python oracle's key-area code
# (tests/oracle/keyslots.py, escrypt.py), the way an attacker holding a
# table key would.

_lib=$(dirname "$0")/lib.sh
[ -r "$_lib" ] || _lib=${srcdir:-.}/integration/lib.sh
. "$_lib" || { echo "FAIL: cannot source lib.sh"; exit 1; }

need_progs MKFS FSCK
need_cmd openssl
"$PYTHON" -c 'import cryptography, argon2' 2>/dev/null ||
	skip "needs python3-cryptography and python3-argon2"
ORACLE_DIR=$srcdir/oracle
[ -r "$ORACLE_DIR/keyslots.py" ] || fail "cannot find the oracle in $ORACLE_DIR"

cd "$T" || fail "cannot enter $T"

# attack NAME WANT REGEX IMAGE [FSCK-ARGS...]: fsck --unlock of IMAGE must
# exit WANT and say REGEX on stderr
attack() {
	local name=$1 want=$2 regex=$3 img=$4
	shift 4
	runcmd "$name" "$FSCK" --pubkey=sign.pub "$@" "$img"
	if crashed "$RC"; then
		bad "$name: crashed (exit $RC): $(head -c 1000 "$name.err")"
	elif [ "$RC" -ne "$want" ]; then
		bad "$name: exit $RC, expected $want: $(head -c 800 "$name.err")"
	elif [ -n "$regex" ] && ! grep -Eq -- "$regex" "$name.err"; then
		bad "$name: exit $RC but no message matching '$regex': $(head -c 800 "$name.err")"
	else
		info "$name: exit $RC: $(grep -v '^seal:' "$name.err" | head -c 200)"
	fi
}

# tamper SCRIPT IMAGE OUT ARGS...: run a key-area attack of the oracle
tamper() {
	local script=$1
	shift
	"$PYTHON" - "$ORACLE_DIR" "$@" <<<"$script" >tamper.log 2>&1 ||
		fail "tampering failed: $(cat tamper.log)"
}

rnd 32 >domain.key
rnd 32 >other-domain.key
rnd 64 >slot.key
rnd 64 >wrong.key
printf 'the right passphrase\n' >pass.txt
printf 'a wrong passphrase\n' >wrong-pass.txt
openssl genpkey -algorithm ed25519 -out sign.pem 2>/dev/null || fail "openssl genpkey"
openssl pkey -in sign.pem -pubout -out sign.pub 2>/dev/null || fail "openssl pkey"
mkdir tree tree/d
rnd $((40 * 4096)) >tree/a.bin
rnd 10000 >tree/d/b.bin
rnd 300 >tree/small

build() {
	expect_rc 0 "mkfs-$1" "$MKFS" --quiet --encrypt --domain-key="$2" \
		--keyslot=keyfile:slot.key --keyslot=passphrase-file:pass.txt \
		--pbkdf-memory=65536 --pbkdf-iterations=3 --sign-key=sign.pem -T 0 "$1.img" tree
}
build x domain.key
build y other-domain.key
attack good 0 "" x.img --unlock=keyfile:slot.key

# the key area's bytes in an image: offset and length from the locator
AREA_PY='
import struct, sys
def area(path):
    img = open(path, "rb").read()
    off, ln = struct.unpack_from("<QQ", img, len(img) - 4096 + 40 + 64)
    return img, off, ln
'

# ---- credentials and slot parameters -----------------------------------------
attack wrong-keyfile 32 "no credential opens" x.img --unlock=keyfile:wrong.key
attack wrong-passphrase 32 "no credential opens" x.img --unlock=passphrase-file:wrong-pass.txt

for change in lowered:3:8192:1 raised:3:67108864:1; do
	IFS=: read -r how t m lanes <<<"$change"
	cp x.img "argon2-$how.img"
	tamper "$AREA_PY
sys.path.insert(0, sys.argv[1])
import keyslots
path, t, m, lanes = sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
img, off, ln = area(path)
h = keyslots.winner(img[off:off + ln])
slot = [i for i, e in enumerate(h['slots']) if e[0] == keyslots.KIND_PASSPHRASE][0]
new = keyslots.set_argon2(img[off:off + ln], slot, t, m, lanes)
open(path, 'r+b').write(img[:off] + bytes(new) + img[off + ln:])
" "argon2-$how.img" "$t" "$m" "$lanes"
	if [ "$how" = raised ]; then
		attack "argon2-$how" 32 "bound|limit|memory" "argon2-$how.img" \
			--unlock=passphrase-file:pass.txt
	else
		attack "argon2-$how" 32 "no credential opens" "argon2-$how.img" \
			--unlock=passphrase-file:pass.txt
	fi
done

# ---- key areas and tables that are not this image's ----------------------------
cp x.img copied-area.img
tamper "$AREA_PY
x, xo, xl = area(sys.argv[2])
y, yo, yl = area(sys.argv[3])
assert xl == yl, 'same layout expected'
open(sys.argv[2], 'r+b').write(x[:xo] + y[yo:yo + yl] + x[xo + xl:])
" copied-area.img y.img
attack copied-area 4 "another image|not the one|not this" copied-area.img \
	--unlock=keyfile:slot.key

# re-encrypt a table plaintext under x's own table key, UUID and generation,
# with D and the header copies' table digest made to match it
FORGE_PY="$AREA_PY
sys.path.insert(0, sys.argv[1])
import escrypt, keyslots
def forge(path, make_plain, fix_d=True, fix_header=True):
    img, off, ln = area(path)
    buf = bytearray(img[off:off + ln])
    h, slot, tk, plain = keyslots.open_area(bytes(buf), [keyslots.load_cred('keyfile:slot.key')])
    plain = make_plain(plain)
    uuid, suite, gen, entries = h['uuid'], h['suite'], h['gen'], h['entries']
    ct = escrypt.encrypt_table(tk, uuid, suite, gen, plain)
    digests, tdigest = escrypt.table_digests(uuid, suite, plain)
    g = h['geom']
    t_off = g['t_off'][h['active']]
    buf[t_off:t_off + len(ct)] = ct
    if fix_d:
        buf[g['d_off']:g['d_off'] + g['d_len']] = b''.join(digests)
    for which in ((0, 1) if fix_header else ()):
        c = which * keyslots.COPY_SIZE
        buf[c + 80:c + 112] = tdigest
        buf[c + 224:c + 256] = keyslots.copy_checksum(bytes(buf[c:c + keyslots.COPY_SIZE]))
    open(path, 'r+b').write(img[:off] + bytes(buf) + img[off + ln:])
"
cp x.img foreign-table.img
tamper "$FORGE_PY
y, yo, yl = area(sys.argv[3])
_, _, _, yplain = keyslots.open_area(y[yo:yo + yl], [keyslots.load_cred('keyfile:slot.key')])
forge(sys.argv[2], lambda plain: yplain)
" foreign-table.img y.img
attack foreign-table 4 "table digest|manifest" foreign-table.img --unlock=keyfile:slot.key
# the same table with the header's digest left as signed: D no longer
# matches it; with D left too, the segments no longer match their D_k
cp x.img foreign-table-d.img
tamper "$FORGE_PY
y, yo, yl = area(sys.argv[3])
_, _, _, yplain = keyslots.open_area(y[yo:yo + yl], [keyslots.load_cred('keyfile:slot.key')])
forge(sys.argv[2], lambda plain: yplain, fix_header=False)
" foreign-table-d.img y.img
attack foreign-table-d 4 "digest" foreign-table-d.img --unlock=keyfile:slot.key
cp x.img foreign-table-ct.img
tamper "$FORGE_PY
y, yo, yl = area(sys.argv[3])
_, _, _, yplain = keyslots.open_area(y[yo:yo + yl], [keyslots.load_cred('keyfile:slot.key')])
forge(sys.argv[2], lambda plain: yplain, fix_d=False, fix_header=False)
" foreign-table-ct.img y.img
attack foreign-table-ct 4 "segment|digest" foreign-table-ct.img --unlock=keyfile:slot.key

cp x.img swapped-secrets.img
tamper "$FORGE_PY
def swap(plain):
    p = bytearray(plain)
    a, b = 64 * 1, 64 * 2
    p[a:a + 32], p[b:b + 32] = plain[b:b + 32], plain[a:a + 32]
    return bytes(p)
forge(sys.argv[2], swap)
" swapped-secrets.img
attack swapped-secrets 4 "table digest|manifest" swapped-secrets.img --unlock=keyfile:slot.key

# ---- header copies --------------------------------------------------------------
copy_damage() {
	local img=$1 which=$2
	tamper "$AREA_PY
img, off, ln = area(sys.argv[2])
b = bytearray(img)
for which in sys.argv[3].split(','):
    start = off + int(which) * 8192
    b[start + 100:start + 140] = bytes(40 * [0x5a])
open(sys.argv[2], 'r+b').write(bytes(b))
" "$img" "$which"
}
cp x.img copy-a.img
copy_damage copy-a.img 0
attack one-copy-damaged 0 "" copy-a.img --unlock=keyfile:slot.key
cp x.img copy-ab.img
copy_damage copy-ab.img 0,1
sum_before=$(sha256sum copy-ab.img)
attack both-damaged 4 "header|copy" copy-ab.img --unlock=keyfile:slot.key
[ "$(sha256sum copy-ab.img)" = "$sum_before" ] || bad "both-damaged: the image was changed"

# ---- hostile key areas: cut short, bytes flipped ------------------------------------
cp x.img trunc.img
tamper "$AREA_PY
img, off, ln = area(sys.argv[2])
open(sys.argv[2], 'r+b').write(img[:off + 5000] + bytes(ln - 5000) + img[off + ln:])
" trunc.img
attack truncated 4 "" trunc.img --unlock=keyfile:slot.key
flips=0
for seed in 1 2 3 4 5 6 7 8; do
	cp x.img flip.img
	tamper "$AREA_PY
import random
img, off, ln = area(sys.argv[2])
rng = random.Random(int(sys.argv[3]))
b = bytearray(img)
for _ in range(rng.randint(1, 64)):
    b[off + rng.randrange(ln)] ^= 1 << rng.randrange(8)
open(sys.argv[2], 'r+b').write(bytes(b))
" flip.img "$seed"
	runcmd "flip-$seed" "$FSCK" --pubkey=sign.pub --unlock=keyfile:slot.key flip.img
	crashed "$RC" && bad "flip-$seed: crashed ($RC): $(head -c 600 "flip-$seed.err")"
	flips=$((flips + 1))
done
info "bit flips: $flips key areas, no crash"

finish_cases "every attack on the keys is refused with its exit code"
