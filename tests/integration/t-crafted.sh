#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Crafted hostile images and key areas against every reader: fsck.erofs,
# dump.erofs, erofs-verify, erofs-key and the boot reader (boot-extract:
# --unchecked for the filesystem cases, the seal pinned by its manifest's
# SHA-256 (computed by craft.py) or by the signer's key for the seal cases).  Real images built by our mkfs
# are edited by tests/integration/craft.py (its own walker of the format;
# checksums in front of the edited structure are recomputed, so each case
# reaches what it names).  Every program must finish within 60 s, without
# a crash, with its documented exit status and a message that names the
# problem:
#
#   directory graph   a loop through an ancestor, a directory linked from
#                     two parents, a nid out of range, a name running past
#                     its block, unsorted and duplicate names, a 1900-level
#                     tree (valid: read, extracted whole)
#   data              a block address past the image, a chunk address past
#                     its device, a device id past the table, sizes of
#                     2^64 - 1 (flat, inline, chunked), a chunk map shorter
#                     than the file (it runs into the next inode) and one
#                     longer (the file shrank: valid EROFS, read as its size)
#   seal              a trees section a block short (a Merkle level cut),
#                     device counts, sizes and tree offsets that overflow,
#                     a locator section past 2^64, signature counts and
#                     lengths of 2^32 - 1, chunk index counts and records
#                     that overflow
#   key area          entries, offsets and size that overflow (both copies),
#                     a slot of unknown kind, a seed label past its slot,
#                     Argon2 costs of 2^32 - 1 (refused before deriving)
#
# Exit codes (man pages): fsck 4 corrupt, 32 not unlocked; dump 1 corrupt
# (-s shows an unreadable seal and exits 0), 3 not unlocked; erofs-verify
# 4 integrity failure, 5 malformed; erofs-key 2 Argon2 costs out of bounds,
# 3 damaged key area; boot-extract 1 refused.  The boot reader reads
# neither the chunk index nor, with a pinned digest, the signatures: it
# checks every block against the trees, so those cases extract (exit 0).
# For the key area cases it unlocks with --keyfile, the manifest pinned.

_lib=$(dirname "$0")/lib.sh
[ -r "$_lib" ] || _lib=${srcdir:-.}/integration/lib.sh
. "$_lib" || { echo "FAIL: cannot source lib.sh"; exit 1; }

need_progs MKFS FSCK DUMP VERIFY EROFS_KEY
BOOT=${BOOT_EXTRACT:-}
[ -x "$BOOT" ] || { info "no boot-extract: the boot reader is not checked"; BOOT=; }
need_cmd timeout openssl setfattr
CRAFT=$(cd "$(dirname "$_lib")" && pwd)/craft.py
cd "$T" || fail "cannot enter $T"

# expect WANT NAME REGEX CMD...: exits WANT within 60 s, REGEX on stderr
expect() {
	local want=$1 name=$2 re=$3
	shift 3
	run_rc "$want" "$name" timeout 60 "$@" || return 0
	[ -z "$re" ] || says "$name" "$name.err" "$re" "why ($re)"
}

# craft CASE BASE [ARG]: BASE.img -> CASE.img
craft() {
	"$PYTHON" "$CRAFT" "$1" "$2.img" "$1.img" "${@:3}" 2>"$1.craft.err" ||
		{ bad "$1: cannot craft: $(tail -1 "$1.craft.err")"; return 1; }
}

# ---------------------------------------------------------------------------
# the images
mkdir -p src/a/b/c src/sub src/long blobs
printf 'hello world\n' >src/file.txt
setfattr -n user.inline -v some-value src/file.txt
rnd 600000 >src/big.bin	# 147 blocks: the fs region's tree has two levels
printf 'deep\n' >src/a/b/c/deepfile
for i in $(seq -w 1 30); do printf '%s\n' "$i" >"src/sub/x$i"; done
for i in $(seq -w 1 40); do printf '%s\n' "$i" >"src/long/name-long-$i"; done
ln -s file.txt src/link
# nanoseconds in the mtimes: every inode is extended (64-bit sizes)
find src -depth -exec touch -h -d '2022-02-22 22:22:22.222222222' {} +
rnd 32 >domain.key
rnd 64 >slot.key
printf 'a passphrase\n' >pass.txt
openssl genpkey -algorithm ed25519 -out sign.pem 2>/dev/null || fail "openssl genpkey"
openssl pkey -in sign.pem -pubout -out sign.pub 2>/dev/null || fail "openssl pkey"

mk() { must "$MKFS" --quiet -U 6f1d2c3b-4a59-4e6f-8a7b-9c0d1e2f3a4b "$@"; }
mk plain.img src
mk --chunksize=4096 chunked.img src
mk --chunksize=4096 --blobdev=blob.blob blob.img src
mk --seal sealed.img src
mk --seal --chunksize=4096 --blob-dir=blobs sealblob.img src
mk --sign-key=sign.pem signed.img src
mk --encrypt --domain-key=domain.key --keyslot=keyfile:slot.key encrypted.img src
for i in plain chunked blob sealed sealblob signed encrypted; do
	[ -s "$i.img" ] || fail "mkfs did not write $i.img"
done

# ---------------------------------------------------------------------------
# the directory graph (plain image)
fs_case() { # fs_case CASE BASE REGEX [fsck/dump extra args...]
	local c=$1 base=$2 re=$3
	shift 3
	craft "$c" "$base" || return 0
	expect 4 "$c-fsck" "$re" "$FSCK" "$@" "$c.img"
	expect 4 "$c-extract" "$re" "$FSCK" "$@" --extract="$c.out" "$c.img"
	expect 1 "$c-dump" "$re" "$DUMP" -S "$@" "$c.img"
	[ -z "$BOOT" ] || expect 1 "$c-boot" "$re" "$BOOT" --unchecked ${BOOT_DEVICE:+--device "$BOOT_DEVICE"} \
		"$c.img" "$c.boot"
}
fs_case dir-loop plain 'reachable twice \(a directory loop'
fs_case dir-linked-twice plain 'reachable twice \(a directory loop or a hard-linked directory'
fs_case nid-out-of-range plain 'nid 1099511627776 is out of range'
fs_case dir-name-past-block plain 'bogus name offset'
fs_case dir-unsorted plain 'not in strictly ascending order'
fs_case dir-duplicate plain 'not in strictly ascending order'
craft nid-out-of-range plain &&
	expect 1 nid-out-of-range-path 'out of range' "$DUMP" --path=/sub/x05 nid-out-of-range.img

# ---------------------------------------------------------------------------
# data: addresses, devices, sizes, chunk maps
fs_case blkaddr-out-of-range plain 'lie past the end of the image'
fs_case chunk-blkaddr-out-of-range chunked 'points past the end of device 0'
BOOT_DEVICE=blob.blob fs_case device-id-out-of-range blob 'refers to device 32767 but the image has 1 extra devices' \
	--device=blob.blob
fs_case size-overflow-flat plain 'negative file size'
fs_case size-overflow-inline plain 'negative file size'
fs_case size-overflow-chunked chunked 'negative file size'
fs_case chunk-map-shorter chunked 'points past the end of device 0'
# longer: the 5 chunks the file still has, the rest of the map unused
if craft chunk-map-longer chunked; then
	expect 0 chunk-map-longer-fsck '' "$FSCK" chunk-map-longer.img
	expect 0 chunk-map-longer-extract '' "$FSCK" --extract=longer.out chunk-map-longer.img
	head -c 20480 src/big.bin >big.prefix
	cmp -s big.prefix longer.out/big.bin ||
		bad "chunk-map-longer: the file does not read as its first 5 chunks"
fi
# and the same edits in a sealed image: the Merkle tree refuses them first
for c in chunk-map-shorter chunk-map-longer device-id-out-of-range; do
	cp sealblob.img "$c-base.img"
	craft "$c" "$c-base" || continue
	expect 4 "$c-sealed-fsck" 'fails its Merkle tree' "$FSCK" --blob-dir=blobs "$c.img"
	expect 4 "$c-sealed-verify" 'fails its Merkle tree' "$VERIFY" --integrity-only \
		--blob-dir=blobs "$c.img"
done

# deep nesting: valid, read and extracted in bounded work
deep=src-deep/$(printf 'd/%.0s' $(seq 1 1900))
mkdir -p "$deep"
printf 'bottom\n' >"$deep/f"
# (built by erofs-utils where installed: our mkfs scans the source
# recursively, and its ASan build runs out of stack a few hundred levels down)
if [ -x /usr/bin/mkfs.erofs ]; then
	must /usr/bin/mkfs.erofs --quiet -T 0 deep.img src-deep
else
	mk deep.img src-deep
fi
expect 0 deep-fsck '' "$FSCK" deep.img
expect 0 deep-extract '' "$FSCK" --extract=deep.out deep.img
expect 0 deep-dump '' "$DUMP" -S deep.img
cmp -s "$deep/f" "deep.out/${deep#src-deep/}f" || bad "deep: the deepest file was not extracted"
if [ -n "$BOOT" ]; then
	expect 0 deep-boot '' "$BOOT" --unchecked deep.img deep.boot
	cmp -s "$deep/f" "deep.boot/${deep#src-deep/}f" || bad "deep: boot-extract lost the deepest file"
fi

# ---------------------------------------------------------------------------
# the seal
seal_case() { # seal_case CASE BASE REGEX [ARG]
	local c=$1 base=$2 re=$3
	shift 3
	craft "$c" "$base" "$@" || return 0
	expect 4 "$c-fsck" "$re" "$FSCK" --blob-dir=blobs "$c.img"
	expect 5 "$c-verify" "$re" "$VERIFY" --integrity-only --blob-dir=blobs "$c.img"
	expect 0 "$c-dump" '' "$DUMP" -s --blob-dir=blobs "$c.img"
	says "$c-dump" "$c-dump.out" "Seal: +unreadable: .*$re" "the seal is unreadable"
	[ -n "$BOOT" ] || return 0
	local boot_rc=1 trust=() dev=()
	case $c in chunk-index-*) boot_rc=0 re='' ;; esac
	if [ "$base" = signed ]; then
		trust=(--pubkey sign.pub)
	else
		trust=(--expect-digest "$("$PYTHON" "$CRAFT" manifest-digest "$c.img")")
	fi
	[ "$base" != sealblob ] || dev=(--device blobs/*)
	expect "$boot_rc" "$c-boot" "$re" "$BOOT" "${trust[@]}" "${dev[@]}" "$c.img" "$c.boot"
}
seal_case tree-level-short sealed 'the tree of device 0 lies outside the trees section'
seal_case manifest-ndevices-overflow sealblob '4294967295 devices do not match'
seal_case manifest-device-size-overflow sealblob 'the tree of device 1 lies outside' 1
seal_case manifest-device-size-overflow sealed 'the tree of device 0 lies outside' 0
seal_case manifest-tree-offset-overflow sealblob 'the tree of device 1 lies outside' 1
seal_case locator-offset-overflow sealblob 'the chunk index section .* lies outside the seal'
seal_case chunk-index-count-overflow sealblob 'chunk index: malformed'
seal_case chunk-index-record-overflow sealblob 'chunk index entry 0 lies outside its device'
seal_case sigs-count-overflow signed 'signatures: 4294967295 records'
seal_case sigs-length-overflow signed 'signature 1: bad length 4294967295'

# ---------------------------------------------------------------------------
# the key area (an encrypted image, its keyslot a key file)
key_case() { # key_case CASE REGEX
	local c=$1 re=$2
	craft "$c" encrypted || return 0
	expect 3 "$c-list" "$re" "$EROFS_KEY" list "$c.img"
	expect 3 "$c-add" "$re" "$EROFS_KEY" add "$c.img" --unlock=keyfile:slot.key \
		--keyslot=passphrase-file:pass.txt
	expect 4 "$c-fsck" "$re" "$FSCK" --unlock=keyfile:slot.key --allow-unsigned "$c.img"
	expect 1 "$c-dump" "$re" "$DUMP" -S --unlock=keyfile:slot.key --allow-unsigned "$c.img"
	[ -z "$BOOT" ] || expect 1 "$c-boot" "$re" "$BOOT" --keyfile slot.key \
		--expect-digest "$("$PYTHON" "$CRAFT" manifest-digest "$c.img")" "$c.img" "$c.boot"
}
key_case keyarea-entries-overflow '9223372036854775808 table entries are out of range'
key_case keyarea-offsets-overflow 'offsets or sizes differ from the layout'
key_case keyarea-size-overflow 'the key area has [0-9]+ bytes, the copy expects 18446744073709551615'
key_case keyslot-kind-unknown 'slot 0: unknown slot kind 9'
key_case keyslot-label-too-long 'slot 0: malformed parameters of a seed slot'
# costs past the bounds: listed, and refused before anything is derived
if craft keyslot-argon2-costs encrypted; then
	expect 0 argon2-list '' "$EROFS_KEY" list keyslot-argon2-costs.img
	says argon2-list argon2-list.out '4294967295' "the slot's costs"
	expect 2 argon2-add 'outside the bounds .*refused before deriving' "$EROFS_KEY" add \
		keyslot-argon2-costs.img --unlock=passphrase-file:pass.txt --keyslot=keyfile:slot.key
	expect 32 argon2-fsck 'outside the bounds|no keyslot is of the kind' "$FSCK" \
		--unlock=passphrase-file:pass.txt --allow-unsigned keyslot-argon2-costs.img
	[ -z "$BOOT" ] || expect 1 argon2-boot 'no keyslot is of the kind' "$BOOT" \
		--keyfile slot.key --expect-digest \
		"$("$PYTHON" "$CRAFT" manifest-digest keyslot-argon2-costs.img)" \
		keyslot-argon2-costs.img argon2.boot
fi

finish_cases "every crafted image and key area refused (or read) as documented"
