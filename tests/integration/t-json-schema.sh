#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Every JSON object erofs-verify --json and dump.erofs --json print, on
# success and on every kind of failure, against the schema documented in
# docs/erofs-seal.schema.json (python3-jsonschema, Draft 2020-12), and the
# values that an oracle can tell:
#
#  * signers: key_id = SHA-256 of the signer's DER SubjectPublicKeyInfo
#    (openssl pkey), subject = openssl x509 -subject (RFC 2253), algorithm
#    = the key's type, bytes = the size of the exported signature;
#  * devices: digest = `fsverity digest` of each blob, size = its size;
#    manifest_digest = sha256sum of the exported manifest;
#  * a top-level "error" exactly when the exit code is not 0: a missing
#    image, a directory, an unsealed image, no anchor, a usage error, a
#    missing and a damaged blob;
#  * dump --delta: image_file_bytes = stat of the image, new_blob_bytes =
#    the sizes of the blobs the old image lacks (from the folder), and the
#    two download totals add the image file to them.

_lib=$(dirname "$0")/lib.sh
[ -r "$_lib" ] || _lib=${srcdir:-.}/integration/lib.sh
. "$_lib" || { echo "FAIL: cannot source lib.sh"; exit 1; }

need_progs MKFS DUMP VERIFY
need_cmd openssl sha256sum fsverity stat
"$PYTHON" -c 'import jsonschema' 2>/dev/null || skip "needs python3-jsonschema"
SCHEMA=${srcdir:-$LIBDIR/..}/../docs/erofs-seal.schema.json
[ -r "$SCHEMA" ] || SCHEMA=$LIBDIR/../../docs/erofs-seal.schema.json
[ -r "$SCHEMA" ] || fail "cannot find docs/erofs-seal.schema.json"

cd "$T" || fail "cannot enter $T"

# valid NAME RC: NAME.out is one JSON object the schema accepts, with an
# "error" object exactly when RC is not 0 (and then its exit_code is RC)
valid() {
	"$PYTHON" - "$SCHEMA" "$1.out" "$2" <<'EOF' || bad "$1: $(head -c 1500 "$1.out")"
import json, sys
import jsonschema
schema = json.load(open(sys.argv[1]))
jsonschema.Draft202012Validator.check_schema(schema)
with open(sys.argv[2], encoding="utf-8", errors="strict") as f:
    text = f.read()
j = json.loads(text)
assert text.count("\n") == 1 and text.endswith("\n"), "not one line"
jsonschema.Draft202012Validator(schema).validate(j)
rc = int(sys.argv[3])
if rc:
    assert j["error"]["exit_code"] == rc, (j["error"], rc)
else:
    assert "error" not in j, j["error"]
EOF
}

# case NAME RC CMD...: run it, exit RC, output valid
case_json() {
	local name=$1 want=$2
	shift 2
	run_rc "$want" "$name" "$@" && valid "$name" "$want"
}

# py NAME ASSERTIONS: Python on j (NAME.out) must hold
py() {
	"$PYTHON" -c '
import json, sys
j = json.load(open(sys.argv[1]))
exec(sys.argv[2])
' "$1.out" "$2" || bad "$1: $(head -c 1500 "$1.out")"
}

echo "== setup: signers of every type, a release and its successor"
must openssl req -x509 -newkey rsa:2048 -nodes -keyout rsa.pem -out rsa-cert.pem \
	-days 3650 -subj "/O=erofs-seal tests/CN=json rsa" -sha256
must openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ec.pem \
	-out ec-cert.pem -days 3650 -subj "/CN=json ecdsa" -sha256
must openssl genpkey -algorithm ed25519 -out ed.pem
must openssl pkey -in ed.pem -pubout -out ed.pub
must openssl pkey -in ec.pem -pubout -out ec.pub
mkdir -p v1/d blobs
detstream 1 | head -c $((200 * 1024)) >v1/big
printf 'small\n' >v1/d/small
cp -a v1 v2
detstream 2 | head -c $((64 * 1024)) >v2/new
must "$MKFS" --quiet --sign-key=rsa.pem --sign-cert=rsa-cert.pem --sign-key=ed.pem \
	--sign-key=ec.pem --blob-dir=blobs v1.img v1
blob1=$(ls blobs)
must "$MKFS" --quiet --sign-key=rsa.pem --sign-cert=rsa-cert.pem --blob-dir=blobs \
	--chunk-dict=v1.img v2.img v2
blob2=$(ls blobs | grep -vx "$blob1")
must "$MKFS" --quiet plain.img v1
mkdir emptydir

echo "== erofs-verify --json"
case_json ok 0 "$VERIFY" --json --cert=rsa-cert.pem --pubkey=ed.pub --blob-dir=blobs v1.img
# oracles for the signers and the devices
spki() { openssl pkey -in "$1" -pubout -outform DER | sha256sum | cut -c1-64; }
subj() { openssl x509 -in "$1" -noout -subject -nameopt RFC2253 | sed 's/^subject=//'; }
must "$DUMP" --export-manifest=v1.manifest --export-signature=1:sig1 v1.img
must "$DUMP" --export-signature=2:sig2 v1.img
must "$DUMP" --export-signature=3:sig3 v1.img
py ok '
want = [("cms", "'"$(subj rsa-cert.pem)"'", "'"$(spki rsa.pem)"'", "rsa", '"$(stat -c %s sig1)"', "trusted"),
        ("ed25519", None, "'"$(spki ed.pem)"'", "ed25519", '"$(stat -c %s sig2)"', "trusted"),
        ("raw", None, "'"$(spki ec.pem)"'", None, '"$(stat -c %s sig3)"', "untrusted")]
got = [(s["type"], s["subject"], s["key_id"], s["algorithm"], s["bytes"], s["status"]) for s in j["signers"]]
assert got == want, (got, want)
assert j["manifest_digest"] == "sha256:'"$(sha256sum <v1.manifest | cut -c1-64)"'", j
d = j["devices"]
assert [x["role"] for x in d] == ["filesystem", "blob"], d
assert d[1]["digest"] == "'"$(fsverity digest --compact "blobs/$blob1")"'", d
assert d[1]["size"] == '"$(stat -c %s "blobs/$blob1")"', d
assert all(x["status"] == "verified" for x in d) and j["verified"], j'
# the ECDSA key as an anchor: its raw signature now names an algorithm
case_json ec-anchor 0 "$VERIFY" --json --pubkey=ec.pub --blob-dir=blobs v1.img
py ec-anchor 'assert j["signers"][2]["algorithm"] == "ecdsa" and j["signers"][2]["status"] == "trusted", j'
case_json pinned 0 "$VERIFY" --json --expect-digest="sha256:$(sha256sum <v1.manifest | cut -c1-64)" \
	--blob-dir=blobs v1.img
case_json integrity 0 "$VERIFY" --json --integrity-only --blob-dir=blobs v1.img
case_json no-anchor 7 "$VERIFY" --json --blob-dir=blobs v1.img
py no-anchor '
assert j["error"]["kind"] == "no-anchor", j
assert [x["status"] for x in j["devices"]] == ["not-checked"] * 2, j'
case_json missing-image 6 "$VERIFY" --json --cert=rsa-cert.pem nothing-here.img
py missing-image 'assert "nothing-here.img" in j["error"]["message"], j'
case_json directory 6 "$VERIFY" --json --cert=rsa-cert.pem emptydir
py directory 'assert "directory" in j["error"]["message"], j'
case_json unsealed 5 "$VERIFY" --json --cert=rsa-cert.pem plain.img
py unsealed 'assert "not sealed" in j["error"]["message"] and j["devices"] == [], j'
case_json usage 64 "$VERIFY" --json --integrity-only --cert=rsa-cert.pem v1.img
case_json bad-option 64 "$VERIFY" --no-such-option --json v1.img
case_json untrusted 2 "$VERIFY" --json --cert=ec-cert.pem --blob-dir=blobs v2.img
case_json not-given 3 "$VERIFY" --json --cert=rsa-cert.pem v2.img
py not-given '
assert [x["status"] for x in j["devices"]] == ["verified", "not-checked", "not-checked"], j'
mkdir partial
cp "blobs/$blob2" partial/
case_json blob-missing 3 "$VERIFY" --json --cert=rsa-cert.pem --blob-dir=partial v2.img
cp "blobs/$blob1" partial/
printf 'X' | dd of="partial/$blob1" bs=1 seek=5000 conv=notrunc status=none
case_json blob-damaged 4 "$VERIFY" --json --cert=rsa-cert.pem --blob-dir=partial v2.img
py blob-damaged '
assert [x["status"] for x in j["devices"]] == ["verified", "verified", "failed"], j
assert j["error"]["kind"] == "integrity", j'
case_json foreign 4 "$VERIFY" --json --cert=rsa-cert.pem v1.img "blobs/$blob2"

echo "== dump.erofs --json"
case_json dump-s 0 "$DUMP" --json -s v2.img
py dump-s '
s = j["seal"]
assert [d["digest"] for d in s["devices"][1:]] == ["'"$blob2"'", "'"$blob1"'"], s
assert [d["tag"] for d in j["superblock"]["devices"]] == ["'"$blob2"'", "'"$blob1"'"], j'
case_json dump-plain 0 "$DUMP" --json plain.img
py dump-plain 'assert j["seal"] is None and j["superblock"]["devices"] == [], j'
case_json dump-S 0 "$DUMP" --json -S v1.img
py dump-S 'assert j["stats"]["regular_files"] == '"$(find v1 -type f | wc -l)"', j'
# compressed: the ratio is the stored pcluster bytes over the bytes they
# decode to; one compressible file of known size, stored once, its copy
# shares every pcluster (the blob holds the pclusters and nothing else)
mkdir -p zsrc
seq 1 100000 >zsrc/numbers.txt
cp zsrc/numbers.txt zsrc/copy.txt
if run_rc 0 mkfs-z "$MKFS" --quiet -T 0 -z lz4hc --blob-dir zblobs z.img zsrc; then
	case_json dump-S-z 0 "$DUMP" --json -S --blob-dir zblobs z.img
	py dump-S-z '
s = j["stats"]
size = '"$(stat -c %s zsrc/numbers.txt)"'
blob = '"$(cat zblobs/* | wc -c)"'
assert s["compressed_files"] == 2 and s["compressed_logical_bytes"] == 2 * size, s
assert s["pcluster_bytes"] == blob and s["shared_pclusters"] == s["unique_pclusters"], s
assert abs(s["compression_ratio"] - blob / (2 * size)) < 1e-3 and s["compression_ratio"] < 0.5, s
'
fi
case_json dump-S-plain 0 "$DUMP" --json -S plain.img
py dump-S-plain 'assert j["stats"]["compression_ratio"] is None and j["stats"]["pclusters"] == 0, j'
case_json dump-delta 0 "$DUMP" --json --delta=v1.img v2.img
img=$(stat -c %s v2.img) new=$(stat -c %s "blobs/$blob2")
py dump-delta '
d = j["delta"]
assert d["image_file_bytes"] == '"$img"' and d["new_blob_bytes"] == '"$new"', d
assert d["new_blobs"] == 1 and d["blobs"] == 2, d
assert d["whole_blob_download_bytes"] == '"$((img + new))"', d
assert d["chunk_level_download_bytes"] == '"$img"' + d["new_chunk_bytes"], d
assert d["unused_old_blobs"] == 0 and d["unused_old_blob_bytes"] == 0, d'
# the other way round, release 1 against 2: release 2's own blob is not read
case_json dump-delta-back 0 "$DUMP" --json --delta=v2.img v1.img
py dump-delta-back '
d = j["delta"]
assert d["unused_old_blobs"] == 1 and d["unused_old_blob_bytes"] == '"$new"', d
assert d["new_blobs"] == 0 and d["new_blob_bytes"] == 0, d'
case_json dump-all 0 "$DUMP" --json -s -S --delta=v1.img v2.img
case_json dump-missing 1 "$DUMP" --json -s nothing-here.img
case_json dump-unsealed-delta 1 "$DUMP" --json --delta=plain.img v1.img
case_json dump-usage 2 "$DUMP" --json --nid=1 v1.img
case_json dump-bad-option 2 "$DUMP" --json --no-such-option v1.img

finish_cases "every JSON output matches docs/erofs-seal.schema.json"
