#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Our signatures against the openssl CLI (and fsverity-utils), both ways:
#
#  * signatures made by libcore (lib/crypto/) verify with stock openssl commands:
#      CMS      openssl cms -verify -binary -inform DER -content MSG -in SIG
#                 -CAfile CERT -purpose any
#               (-CAfile rather than -noverify: openssl then also checks the
#               self-signed certificate as the root of trust, the strongest
#               check it offers; -purpose any because our trust model is the
#               key alone and ignores key-usage extensions, which openssl's
#               default purpose, smimesign, would enforce)
#      ed25519  openssl pkeyutl -verify -pubin -inkey PUB -rawin -in MSG
#                 -sigfile SIG
#      raw      openssl dgst -sha256 -verify PUB -signature SIG MSG
#    and a modified message is rejected by openssl too;
#  * signatures made by openssl verify with our code, the key id (SHA-256 of
#    the DER SubjectPublicKeyInfo) matches `openssl pkey -outform DER`, and
#    the deterministic schemes (RSA PKCS#1 v1.5, Ed25519) are byte-identical;
#  * our fs-verity builtin signature is byte-identical to
#    `fsverity sign FILE OUT --key=KEY --cert=CERT` for RSA keys (several
#    files, PKCS#8 and traditional keys, key+cert in one file), and ECDSA
#    ones verify with openssl and with fsverity's own counterpart.
#
# Environment: SIGN_TOOL = path of the built tests/unit/sign_tool.
# Exit status: 0 pass, 77 skip (prints "SKIP: reason"), 1 fail.

set -u

. "$(dirname "$0")/lib.sh"

need_progs SIGN_TOOL
command -v openssl >/dev/null 2>&1 || skip "openssl CLI not installed"
openssl genpkey -algorithm ed25519 >/dev/null 2>&1 ||
	skip "this openssl cannot make Ed25519 keys"

# lib.sh made $T and removes it at exit
work=$T
cd "$work" || fail "cannot enter $work"

checks=0
ok() {
	checks=$((checks + 1))
}

# run CMD...: must succeed; its output is shown only on failure
run() {
	"$@" >out.log 2>&1 || {
		cat out.log >&2
		fail "command failed: $*"
	}
}

# refuse CMD...: must fail
refuse() {
	if "$@" >out.log 2>&1; then
		cat out.log >&2
		fail "command succeeded but should not have: $*"
	fi
}

# key_id PUB.pem: SHA-256 of the DER SubjectPublicKeyInfo, as hex
key_id() {
	openssl pkey -pubin -in "$1" -outform DER | openssl dgst -sha256 -r |
		cut -c1-64
}

# hex2bin HEX: the bytes, on stdout (no xxd needed)
hex2bin() {
	_h=$1
	while [ -n "$_h" ]; do
		_rest=${_h#??}
		_pair=${_h%"$_rest"}
		# shellcheck disable=SC2059
		printf "\\$(printf '%03o' $((0x$_pair)))"
		_h=$_rest
	done
}

# ---- keys -----------------------------------------------------------------

newcert() { # NAME SUBJECT KEYOPTS...
	_name=$1 _subj=$2
	shift 2
	run openssl req -x509 "$@" -nodes -keyout "$_name.pem" \
		-out "$_name-cert.pem" -days 3650 -subj "$_subj" -sha256
	run openssl pkey -in "$_name.pem" -pubout -out "$_name-pub.pem"
}

newcert rsa "/CN=t-sign RSA" -newkey rsa:2048
newcert ec "/CN=t-sign EC" -newkey ec -pkeyopt ec_paramgen_curve:prime256v1
newcert other "/CN=t-sign other RSA" -newkey rsa:2048
run openssl genpkey -algorithm ed25519 -out ed.pem
run openssl req -x509 -key ed.pem -out ed-cert.pem -days 3650 \
	-subj "/CN=t-sign Ed25519"
run openssl pkey -in ed.pem -pubout -out ed-pub.pem
run openssl genpkey -algorithm ed25519 -out ed2.pem
run openssl pkey -in ed2.pem -pubout -out ed2-pub.pem

# a random message, and a copy with one byte changed
size=$(( $(rnd 2 | od -An -tu2 | tr -d ' ') % 5000 + 200 ))
rnd "$size" >msg || fail "cannot write msg"
cp msg msg.bad || fail "cannot copy msg"
byte=$(od -An -j100 -N1 -tu1 msg | tr -d ' ')
# shellcheck disable=SC2059
printf "\\$(printf '%03o' $(( (byte + 1) % 256 )))" |
	dd of=msg.bad bs=1 seek=100 conv=notrunc 2>/dev/null ||
	fail "cannot modify msg.bad"
cmp -s msg msg.bad && fail "msg.bad equals msg"
echo "message of $size bytes"

# sign_as EXPECTED_TYPE PUB SIGN_TOOL_ARGS...: sign, check type and key id
sign_as() {
	_type=$1 _pub=$2
	shift 2
	out=$("$SIGN_TOOL" sign "$@") || fail "sign_tool sign $* failed"
	set -- $out
	[ "$1" = "$_type" ] || fail "expected a $_type signature, got '$out'"
	[ "$2" = "$(key_id "$_pub")" ] ||
		fail "key id $2 is not SHA-256(SPKI) of $_pub"
	sig_key_id=$2
	ok
}

# verify_ours EXIT ARGS...: sign_tool verify must exit with EXIT
verify_ours() {
	_want=$1
	shift
	"$SIGN_TOOL" verify "$@" >out.log 2>&1
	_got=$?
	[ "$_got" = "$_want" ] || {
		cat out.log >&2
		fail "sign_tool verify $* exited $_got, expected $_want"
	}
	ok
}

# ---- CMS (RSA and ECDSA with certificates) ---------------------------------

for k in rsa ec; do
	sign_as cms "$k-pub.pem" "$k.pem" "$k-cert.pem" msg "$k.sig"
	run openssl cms -verify -binary -inform DER -in "$k.sig" \
		-content msg -CAfile "$k-cert.pem" -purpose any -out /dev/null
	ok
	refuse openssl cms -verify -binary -inform DER -in "$k.sig" \
		-content msg.bad -CAfile "$k-cert.pem" -purpose any \
		-out /dev/null
	ok
	# the certificate is embedded: openssl needs nothing else to check
	# the signature itself
	run openssl cms -verify -binary -inform DER -in "$k.sig" \
		-content msg -noverify -out /dev/null
	ok
	# our verifier: cert or bare key anchors, wrong anchors, bad message
	verify_ours 0 --cert "$k-cert.pem" --key-id "$sig_key_id" \
		cms "$k.sig" msg
	verify_ours 0 --pubkey "$k-pub.pem" cms "$k.sig" msg
	verify_ours 2 --cert other-cert.pem --pubkey ed-pub.pem \
		cms "$k.sig" msg
	verify_ours 1 --cert "$k-cert.pem" cms "$k.sig" msg.bad
	verify_ours 1 --cert "$k-cert.pem" \
		--key-id "$(key_id other-pub.pem)" cms "$k.sig" msg

	# openssl-made CMS, without and with signed attributes
	run openssl cms -sign -binary -noattr -md sha256 \
		-signer "$k-cert.pem" -inkey "$k.pem" -in msg \
		-outform DER -out "$k-ossl.sig"
	verify_ours 0 --pubkey "$k-pub.pem" cms "$k-ossl.sig" msg
	verify_ours 1 --pubkey "$k-pub.pem" cms "$k-ossl.sig" msg.bad
	run openssl cms -sign -binary -md sha256 -signer "$k-cert.pem" \
		-inkey "$k.pem" -in msg -outform DER -out "$k-attr.sig"
	verify_ours 0 --cert "$k-cert.pem" cms "$k-attr.sig" msg
	verify_ours 1 --cert "$k-cert.pem" cms "$k-attr.sig" msg.bad
done
# dump's description names the embedded certificate's subject
desc=$("$SIGN_TOOL" describe cms rsa.sig) || fail "describe failed"
case $desc in
*"signer CN=t-sign RSA"*) ok ;;
*) fail "unexpected description: $desc" ;;
esac

# ---- Ed25519 --------------------------------------------------------------

sign_as ed25519 ed-pub.pem ed.pem msg ed.sig
[ "$(wc -c <ed.sig | tr -d ' ')" = 64 ] || fail "ed25519 signature not 64 bytes"
run openssl pkeyutl -verify -pubin -inkey ed-pub.pem -rawin -in msg \
	-sigfile ed.sig
grep -q "Signature Verified Successfully" out.log ||
	fail "openssl pkeyutl did not verify ed.sig"
ok
refuse openssl pkeyutl -verify -pubin -inkey ed-pub.pem -rawin \
	-in msg.bad -sigfile ed.sig
ok
# a certificate does not change the type
sign_as ed25519 ed-pub.pem ed.pem ed-cert.pem msg ed-c.sig
cmp -s ed.sig ed-c.sig || fail "Ed25519 signatures should be deterministic"
ok
# openssl's signature is the same bytes (RFC 8032 is deterministic)
run openssl pkeyutl -sign -rawin -inkey ed.pem -in msg -out ed-ossl.sig
cmp -s ed.sig ed-ossl.sig || fail "ed25519: ours differs from openssl's"
ok
verify_ours 0 --pubkey ed-pub.pem --key-id "$sig_key_id" ed25519 ed.sig msg
verify_ours 0 --cert ed-cert.pem --key-id "$sig_key_id" ed25519 ed.sig msg
verify_ours 1 --pubkey ed-pub.pem --key-id "$sig_key_id" ed25519 ed.sig \
	msg.bad
verify_ours 2 --pubkey ed2-pub.pem --key-id "$sig_key_id" ed25519 ed.sig msg

# ---- raw SHA-256 signatures (RSA and ECDSA without certificates) ----------

for k in rsa ec; do
	sign_as raw "$k-pub.pem" "$k.pem" msg "$k-raw.sig"
	run openssl dgst -sha256 -verify "$k-pub.pem" -signature "$k-raw.sig" \
		msg
	grep -q "Verified OK" out.log || fail "openssl dgst: $k-raw.sig"
	ok
	refuse openssl dgst -sha256 -verify "$k-pub.pem" \
		-signature "$k-raw.sig" msg.bad
	ok
	verify_ours 0 --pubkey "$k-pub.pem" --key-id "$sig_key_id" \
		raw "$k-raw.sig" msg
	verify_ours 0 --cert "$k-cert.pem" --key-id "$sig_key_id" \
		raw "$k-raw.sig" msg
	verify_ours 1 --pubkey "$k-pub.pem" --key-id "$sig_key_id" \
		raw "$k-raw.sig" msg.bad
	verify_ours 2 --pubkey other-pub.pem --key-id "$sig_key_id" \
		raw "$k-raw.sig" msg
	run openssl dgst -sha256 -sign "$k.pem" -out "$k-raw-ossl.sig" msg
	verify_ours 0 --pubkey "$k-pub.pem" --key-id "$sig_key_id" \
		raw "$k-raw-ossl.sig" msg
done
cmp -s rsa-raw.sig rsa-raw-ossl.sig ||
	fail "RSA PKCS#1 v1.5: ours differs from openssl dgst -sign"
ok

# trust files that hold a private key are refused
verify_ours 3 --pubkey rsa.pem cms rsa.sig msg
grep -q "private key" out.log || fail "no private-key hint: $(cat out.log)"

echo "openssl: $checks checks passed"

# ---- fs-verity builtin signatures -----------------------------------------

if ! command -v fsverity >/dev/null 2>&1; then
	echo "NOTE: fsverity (fsverity-utils) not installed; fs-verity part not run"
	exit 0
fi
fsverity sign --help 2>&1 | grep -q -- '--cert' ||
	fail "this fsverity sign has no --cert option"

run openssl pkey -in rsa.pem -traditional -out rsa-trad.pem
grep -q "BEGIN RSA PRIVATE KEY" rsa-trad.pem ||
	fail "openssl pkey -traditional did not write a PKCS#1 key"
cat rsa.pem rsa-cert.pem >rsa-both.pem || fail "cannot write rsa-both.pem"

: >f-empty
printf 'a' >f-1
head -c 4096 /dev/zero >f-4096
rnd 4097 >f-4097
rnd 100000 >f-100000
rnd 1048577 >f-1m
fsv=0
for f in f-empty f-1 f-4096 f-4097 f-100000 f-1m; do
	d=$(fsverity digest --compact "$f") || fail "fsverity digest $f"
	[ ${#d} = 64 ] || fail "unexpected digest '$d' for $f"

	# RSA: byte for byte, with every key layout fsverity accepts
	run fsverity sign "$f" "$f.ref.sig" --key=rsa.pem --cert=rsa-cert.pem
	run "$SIGN_TOOL" fsverity-sign rsa.pem rsa-cert.pem "$d" "$f.sig"
	cmp "$f.ref.sig" "$f.sig" ||
		fail "$f: fs-verity signature differs from fsverity sign"
	run fsverity sign "$f" "$f.ref2.sig" --key=rsa-trad.pem \
		--cert=rsa-cert.pem
	run "$SIGN_TOOL" fsverity-sign rsa-trad.pem rsa-cert.pem "$d" \
		"$f.sig2"
	cmp "$f.ref2.sig" "$f.sig2" || fail "$f: traditional key: differs"
	run fsverity sign "$f" "$f.ref3.sig" --key=rsa-both.pem
	run "$SIGN_TOOL" fsverity-sign rsa-both.pem rsa-both.pem "$d" \
		"$f.sig3"
	cmp "$f.ref3.sig" "$f.sig3" || fail "$f: key+cert file: differs"

	# what is signed: our formatted digest equals fsverity's
	hex2bin 465356657269747901002000"$d" >"$f.fmt"
	want=$(fsverity digest --for-builtin-sig --compact "$f")
	have=$(od -An -v -tx1 "$f.fmt" | tr -d ' \n')
	[ "$have" = "$want" ] || fail "$f: formatted digest $have != $want"
	run openssl smime -verify -binary -inform DER -in "$f.sig" \
		-content "$f.fmt" -certfile rsa-cert.pem -nointern \
		-CAfile rsa-cert.pem -purpose any -out /dev/null
	verify_ours 0 --cert rsa-cert.pem cms "$f.ref.sig" "$f.fmt"
	# no certificate inside: a bare key cannot find the signer
	verify_ours 2 --pubkey rsa-pub.pem cms "$f.ref.sig" "$f.fmt"

	# ECDSA signatures are random: cross-verify instead
	run "$SIGN_TOOL" fsverity-sign ec.pem ec-cert.pem "$d" "$f.ec.sig"
	run openssl smime -verify -binary -inform DER -in "$f.ec.sig" \
		-content "$f.fmt" -certfile ec-cert.pem -nointern \
		-CAfile ec-cert.pem -purpose any -out /dev/null
	refuse openssl smime -verify -binary -inform DER -in "$f.ec.sig" \
		-content msg -certfile ec-cert.pem -nointern \
		-CAfile ec-cert.pem -purpose any -out /dev/null
	run fsverity sign "$f" "$f.ec.ref.sig" --key=ec.pem --cert=ec-cert.pem
	verify_ours 0 --cert ec-cert.pem cms "$f.ec.ref.sig" "$f.fmt"
	verify_ours 0 --cert ec-cert.pem cms "$f.ec.sig" "$f.fmt"
	fsv=$((fsv + 1))
done
echo "fs-verity: $fsv files, signatures identical to fsverity sign"
echo "PASS: $checks checks"
exit 0
