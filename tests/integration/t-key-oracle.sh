#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Key areas checked by an oracle we did not write in C:
# tests/oracle/keyslots.py (hashlib, hmac, python3-cryptography and
# python3-argon2, written from docs/FORMAT.md section 4).
#
#  1. The keyslot vectors (docs/FORMAT.md section 4.6) three ways: what the
#     oracle computes, what the document publishes, what libcore computes
#     (keyarea_tool vectors) must be the same text.
#  2. A key area libcore made (keyarea_tool create) is opened by the oracle
#     with a key file, a passphrase and an X25519 identity in turn: it
#     parses the header, unwraps the table key itself, decrypts the table,
#     checks every segment against D and D against the table digest, and
#     finds the plaintext keyarea_tool put in.
#  3. The same after erofs-key changed the key area inside a sealed image
#     (add a seed slot, rotate): the oracle opens the new generation with
#     every credential, the old key file no longer, after it was removed.
#
# Environment: KEYAREA_TOOL, EROFS_KEY, MKFS.

set -u

. "$(dirname "$0")/lib.sh"

need_progs KEYAREA_TOOL EROFS_KEY MKFS
need_cmd openssl diff
PY=
for p in python3 /usr/bin/python3; do
	if command -v "$p" >/dev/null 2>&1 &&
		"$p" -c 'import argon2.low_level, cryptography.hazmat.primitives.ciphers.aead' 2>/dev/null; then
		PY=$p
		break
	fi
done
[ -n "$PY" ] || skip "no python3 with the cryptography and argon2 modules (python3-cryptography, python3-argon2)"
oracle=$srcdir/oracle/keyslots.py
format=$srcdir/../docs/FORMAT.md
[ -r "$format" ] || skip "docs/FORMAT.md is not in this tree"

# 1. vectors
must "$PY" "$oracle" selftest
runcmd oracle "$PY" "$oracle" vectors
[ "$RC" -eq 0 ] || fail "the oracle failed: $(cat "$T/oracle.err")"
mkdir -p "$T/vec"
runcmd ours "$KEYAREA_TOOL" vectors "$T/vec"
[ "$RC" -eq 0 ] || fail "keyarea_tool vectors failed: $(cat "$T/ours.err")"
awk '/^<!-- keyslots vectors/ { m = 1; next }
     m == 1 && /^```/ { m = 2; next }
     m == 2 && /^```/ { exit }
     m == 2 { print }' "$format" >"$T/published"
[ -s "$T/published" ] || fail "no keyslot vector block in docs/FORMAT.md"
diff -u "$T/oracle.out" "$T/published" ||
	fail "docs/FORMAT.md does not publish what the oracle computes"
diff -u "$T/oracle.out" "$T/ours.out" ||
	fail "libcore does not compute what the oracle computes"
info "keyslot vectors: oracle, docs/FORMAT.md and libcore agree ($(wc -l <"$T/oracle.out") values)"

# 2. a detached key area made by libcore, opened by the oracle
rnd 64 >"$T/kf"
rnd 64 >"$T/kf2"
printf 'a passphrase for the oracle\nnot this line\n' >"$T/pass"
printf 'not the passphrase\n' >"$T/wrongpass"
rnd 40 >"$T/seed"
must x25519_pair "$T/x"
must x25519_pair "$T/other"
uuid=$(rnd 16 | od -An -v -tx1 | tr -d ' \n')
runcmd create "$KEYAREA_TOOL" create "$T/area" --uuid "$uuid" --entries 200 \
	--pbkdf-memory 65536 --pbkdf-iterations 3 \
	--keyslot "keyfile:$T/kf" --keyslot "passphrase-file:$T/pass" --keyslot "recipient:$T/x.pub"
[ "$RC" -eq 0 ] || fail "keyarea_tool create: $(cat "$T/create.err")"
want_sha=$(sed -n 's/^table_sha256 = //p' "$T/create.out")
want_digest=$(sed -n 's/^table_digest = //p' "$T/create.out")

# oracle_open NAME AREA-ARGS... CRED: the oracle opens it; sets GOT_SLOT GOT_GEN
oracle_open() {
	local name=$1
	shift
	runcmd "$name" "$PY" "$oracle" open "$@" --uuid "$uuid" --table-digest "$want_digest"
	[ "$RC" -eq 0 ] || fail "$name: the oracle cannot open it: $(cat "$T/$name.err")"
	[ "$(sed -n 's/^table_sha256 = //p' "$T/$name.out")" = "$want_sha" ] ||
		fail "$name: the oracle decrypted another table"
	GOT_SLOT=$(sed -n 's/^slot = //p' "$T/$name.out")
	GOT_GEN=$(sed -n 's/^gen = //p' "$T/$name.out")
}
oracle_open kf "$T/area" "keyfile:$T/kf"
[ "$GOT_SLOT" = 0 ] || fail "the key file opened slot $GOT_SLOT"
oracle_open pass "$T/area" "passphrase-file:$T/pass"
[ "$GOT_SLOT" = 1 ] || fail "the passphrase opened slot $GOT_SLOT"
oracle_open x "$T/area" "identity:$T/x.key"
[ "$GOT_SLOT" = 2 ] || fail "the X25519 identity opened slot $GOT_SLOT"
info "the oracle unwraps a key file, a passphrase and an X25519 slot and decrypts the table"
for c in "keyfile:$T/kf2" "passphrase-file:$T/wrongpass" "identity:$T/other.key"; do
	expect_rc 1 wrong "$PY" "$oracle" open "$T/area" "$c"
done

# 3. inside a sealed image, after erofs-key add and rotate
mkdir -p "$T/tree"
rnd 10000 >"$T/tree/file"
must "$MKFS" --seal -U "$(echo "$uuid" | sed 's/\(........\)\(....\)\(....\)\(....\)/\1-\2-\3-\4-/')" \
	"$T/img" "$T/tree"
runcmd embed "$KEYAREA_TOOL" embed "$T/img" "$T/area"
[ "$RC" -eq 0 ] || fail "embed: $(cat "$T/embed.err")"
at="$(sed -n 's/^key_area_offset = //p' "$T/embed.out"):$(sed -n 's/^key_area_size = //p' "$T/embed.out")"
must "$EROFS_KEY" add "$T/img" --unlock="keyfile:$T/kf" --keyslot="seed:$T/seed:app"
must "$EROFS_KEY" remove "$T/img" --unlock="seed:$T/seed:app" --slot=0
must "$EROFS_KEY" rotate "$T/img" --unlock="passphrase-file:$T/pass" --unlock="seed:$T/seed:app"
for c in "passphrase-file:$T/pass" "identity:$T/x.key" "seed:$T/seed:app"; do
	oracle_open after "$T/img" --at "$at" "$c"
	[ "$GOT_GEN" = 2 ] || fail "$c: generation $GOT_GEN after a rotation, not 2"
done
expect_rc 1 removed "$PY" "$oracle" open "$T/img" --at "$at" "keyfile:$T/kf"
info "after add, remove and rotate by erofs-key the oracle opens generation 2 with every kept credential"
echo "PASS"
