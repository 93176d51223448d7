#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# What mkfs.erofs must not trust or get wrong:
#
#  * --chunk-dict: a dictionary whose chunk index was tampered with (two
#    digests swapped, the index digest in its unsigned manifest fixed, so
#    it still passes erofs-verify), whose blob is missing or damaged where
#    the new image would use it, whose stored tree of a blob or whose
#    filesystem region is damaged, is
#    refused; damage where the new image uses nothing of the blob builds,
#    and verifying the new image then names the damaged block; with
#    --dict-pubkey a dictionary must be signed by that key;
#  * an output that is another output or an input (same file by another
#    name included) is a usage error (2) and nothing is written;
#  * an invalid --exclude-regex and --blobdev with --blob-dir are usage
#    errors (2);
#  * outputs inside the source tree are left out of it: two builds give the
#    same bytes;
#  * SIGTERM and SIGINT in the middle of a build (the preload shim pauses
#    the build at a known file until the signal comes) exit 143 and 130 and
#    leave no temporary file; an existing image is unchanged;
#  * a tree 1500 directories deep builds under `ulimit -n 256`, and a
#    directory moved while it is scanned fails the build.

_lib=$(dirname "$0")/lib.sh
[ -r "$_lib" ] || _lib=${srcdir:-.}/integration/lib.sh
. "$_lib" || { echo "FAIL: cannot source lib.sh"; exit 1; }

need_progs MKFS FSCK DUMP VERIFY TREECMP
need_cmd python3 cmp find

cd "$T" || fail "cannot enter $T"

# expect_msg NAME TEXT: the stderr of NAME says TEXT
expect_msg() {
	grep -q -- "$2" "$T/$1.err" || fail "$1: the message lacks '$2': $(cat "$T/$1.err")"
}

# no_temps DIR...: no temporary output file anywhere below the DIRs
no_temps() {
	local left
	left=$(find "$@" \( -name '*.tmp??????' -o -name '.new-blob*' \) -print)
	[ -z "$left" ] || fail "temporary files left behind: $left"
}

# fill FILE CHAR BYTES: deterministic, non-zero content
fill() {
	yes "$2" | tr -d '\n' | head -c "$3" >"$1"
}

blobsum() { (cd "$1" && LC_ALL=C ls -A | while read -r f; do cksum "$f"; done); }

# ---------------------------------------------------------------------------
echo "== --chunk-dict: a tampered chunk index"
mkdir -p srcA srcB blobs
fill srcA/x x 4096
fill srcA/y y 4096
cp srcA/x srcB/x
expect_rc 0 mkfs-A "$MKFS" --quiet -T 1 -U clear --blob-dir=blobs A.img srcA
blobA=$(LC_ALL=C ls blobs)
[ -n "$blobA" ] || fail "A wrote no blob"
cp A.img A.keep
cp A.img A-tampered.img
# swap the digests of its two chunk records
seal_swap_chunks A-tampered.img || fail "cannot tamper with the chunk index"
cmp -s A.img A-tampered.img && fail "the tampering changed nothing"
# a dictionary is anyone's file: without anchors it verifies
expect_rc 0 verify-tampered "$VERIFY" --integrity-only --blob-dir=blobs A-tampered.img
before=$(blobsum blobs)
expect_rc 1 mkfs-B-tampered "$MKFS" --quiet --blob-dir=blobs --chunk-dict=A-tampered.img B.img srcB
expect_msg mkfs-B-tampered "A-tampered.img"
expect_msg mkfs-B-tampered "tampered"
[ ! -e B.img ] || fail "a refused build left B.img"
[ "$(blobsum blobs)" = "$before" ] || fail "a refused build changed the blob directory"
no_temps . blobs
info "$(head -n 1 mkfs-B-tampered.err | cut -c1-200)"

echo "== --chunk-dict: the honest dictionary is used"
expect_rc 0 mkfs-B "$MKFS" --quiet --blob-dir=blobs --chunk-dict=A.img B.img srcB
[ "$(blobsum blobs)" = "$before" ] || fail "B stored a chunk A has"
expect_rc 0 verify-B "$VERIFY" --integrity-only --blob-dir=blobs B.img
expect_rc 0 fsck-B "$FSCK" --blob-dir=blobs --extract=ext-B B.img
cmp -s ext-B/x srcB/x || fail "B's x does not extract as x"
info "B references A's blob and extracts equal"

echo "== --chunk-dict: a missing blob, a damaged blob, a damaged filesystem region"
mkdir -p blobs2
expect_rc 0 mkfs-A2 "$MKFS" --quiet -T 1 -U clear --blob-dir=blobs2 A2.img srcA
mv "blobs2/$blobA" away.blob
expect_rc 1 mkfs-missing "$MKFS" --quiet --blob-dir=blobs2 --chunk-dict=A2.img M.img srcB
expect_msg mkfs-missing "$blobA"
expect_msg mkfs-missing "blobs2"
[ ! -e M.img ] || fail "a refused build left M.img"
no_temps . blobs2
info "$(head -n 1 mkfs-missing.err | cut -c1-200)"
cp away.blob "blobs2/$blobA"
flip_bit "blobs2/$blobA" 100 0
expect_rc 1 mkfs-damaged "$MKFS" --quiet --blob-dir=blobs2 --chunk-dict=A2.img M.img srcB
expect_msg mkfs-damaged "$blobA"
expect_msg mkfs-damaged "block 0 fails its Merkle tree"
[ ! -e M.img ] || fail "a refused build left M.img"
no_temps . blobs2
info "$(head -n 1 mkfs-damaged.err | cut -c1-200)"
# y (block 1 of A's blob) is not in srcB: B reads nothing of that block,
# so it builds; the damaged blob then fails B's own verification there
cp away.blob "blobs2/$blobA"
flip_bit "blobs2/$blobA" $((4096 + 100)) 0
expect_rc 0 mkfs-unused-damaged "$MKFS" --quiet --blob-dir=blobs2 --chunk-dict=A2.img M.img srcB
expect_rc 4 verify-unused-damaged "$VERIFY" --integrity-only --blob-dir=blobs2 M.img
expect_msg verify-unused-damaged "block 1 fails its Merkle tree"
rm -f M.img
info "damage in a block the new image does not use: it builds, and its verification names the block"
# the dictionary's stored tree of its blob (one level: 2 blocks), damaged
# where no manifest digest covers it: refused when the blob is first used
cp A2.img A2-tree.img
loc=$(( $(stat -c %s A2-tree.img) - 4096 ))
moff=$(rd_le64 A2-tree.img $((loc + 40)))
toff=$(rd_le64 A2-tree.img $((loc + 72)))
flip_bit A2-tree.img $((toff + $(rd_le64 A2-tree.img $((moff + 120 + 48 + 40))) + 5)) 3
expect_rc 1 mkfs-dict-tree "$MKFS" --quiet --blob-dir=blobs2 --chunk-dict=A2-tree.img M.img srcB
expect_msg mkfs-dict-tree "Merkle tree in the seal does not match"
[ ! -e M.img ] || fail "a refused build left M.img"
no_temps . blobs2
info "$(head -n 1 mkfs-dict-tree.err | cut -c1-200)"
cp away.blob "blobs2/$blobA"
cp A2.img A2-fs.img
flip_bit A2-fs.img 100 0     # in block 0, before the superblock
expect_rc 1 mkfs-fsregion "$MKFS" --quiet --blob-dir=blobs2 --chunk-dict=A2-fs.img M.img srcB
expect_msg mkfs-fsregion "filesystem region"
[ ! -e M.img ] || fail "a refused build left M.img"
no_temps . blobs2
info "$(head -n 1 mkfs-fsregion.err | cut -c1-200)"

echo "== --chunk-dict with --dict-pubkey"
if openssl genpkey -algorithm ed25519 -out key1.pem >/dev/null 2>&1 &&
   openssl genpkey -algorithm ed25519 -out key2.pem >/dev/null 2>&1 &&
   openssl pkey -in key1.pem -pubout -out pub1.pem >/dev/null 2>&1 &&
   openssl pkey -in key2.pem -pubout -out pub2.pem >/dev/null 2>&1; then
	expect_rc 0 mkfs-signed "$MKFS" --quiet -T 1 -U clear --sign-key=key1.pem \
		--blob-dir=blobs S.img srcA
	expect_rc 0 mkfs-trusted "$MKFS" --quiet --blob-dir=blobs --chunk-dict=S.img \
		--dict-pubkey=pub1.pem ST.img srcB
	expect_rc 1 mkfs-untrusted "$MKFS" --quiet --blob-dir=blobs --chunk-dict=S.img \
		--dict-pubkey=pub2.pem SU.img srcB
	expect_msg mkfs-untrusted "not trusted"
	expect_rc 1 mkfs-unsigned "$MKFS" --quiet --blob-dir=blobs --chunk-dict=A.img \
		--dict-pubkey=pub1.pem SU.img srcB
	[ ! -e SU.img ] || fail "a refused build left SU.img"
	expect_rc 2 mkfs-anchor-alone "$MKFS" --quiet --dict-pubkey=pub1.pem SU.img srcB
	no_temps . blobs
	info "a signed dictionary is used with its key, refused with another key or unsigned"
else
	echo "  (openssl cannot make Ed25519 keys: --dict-pubkey case not run)"
fi

# ---------------------------------------------------------------------------
echo "== an output that is another output or an input: usage error 2"
mkdir -p src
fill src/f f 10000
printf 'precious blob' >X
cp X X.orig
ln -s X L
usage() { # NAME TEXT ARGS...
	local name=$1 text=$2
	shift 2
	expect_rc 2 "$name" "$MKFS" --quiet "$@"
	expect_msg "$name" "$text"
}
usage blobdev-is-image "same file" --chunksize=4096 --blobdev=X X src
usage blobdev-is-image-new "same file" --chunksize=4096 --blobdev=new.blob ./new.blob src
usage blobdev-via-symlink "same file" --chunksize=4096 --blobdev=X L src
usage blobdev-other-spelling "same file" --chunksize=4096 --blobdev="$T/X" ./X src
cmp -s X X.orig || fail "the blob was overwritten"
[ -L L ] || fail "the symlink was replaced"
[ ! -e new.blob ] || fail "a refused build wrote new.blob"
usage image-is-source "own input" src src
usage image-is-dict "own input" --blob-dir=blobs --chunk-dict=A.img A.img srcB
cmp -s A.img A.keep || fail "A.img was overwritten"
expect_rc 0 verify-A-kept "$VERIFY" --integrity-only --blob-dir=blobs A.img
usage blobdev-is-source "own input" --chunksize=4096 --blobdev=src out.img src
usage blobdir-is-source "own input" --blob-dir=src out.img src
usage image-named-as-blob "taken for a blob" --blob-dir=blobs "blobs/$blobA" srcA
[ "$(blobsum blobs)" = "$before" ] || fail "a refused build changed the blob directory"
no_temps .
info "equal outputs, an output equal to an input, an image named as a blob: all refused"

echo "== usage errors found by the option check exit 2"
usage bad-regex "exclude-regex" --exclude-regex='(' out.img src
usage blobdev-and-blobdir "exclude each other" --chunksize=4096 --blobdev=b.blob \
	--blob-dir=blobs out.img src
[ ! -e out.img ] && [ ! -e b.blob ] || fail "a usage error wrote an output"

# ---------------------------------------------------------------------------
echo "== outputs inside the source tree are left out"
mkdir -p srcR/sub
fill srcR/a a 5000
fill srcR/sub/b b 300
fixed=(-T 1000 -U 01234567-89ab-cdef-0123-456789abcdef)
expect_rc 0 mkfs-in1 "$MKFS" --quiet "${fixed[@]}" srcR/out.img srcR
cp srcR/out.img in1.img
expect_rc 0 mkfs-in2 "$MKFS" --quiet "${fixed[@]}" srcR/out.img srcR
cmp -s in1.img srcR/out.img || fail "two builds with the image inside the source differ"
expect_rc 0 ls-in "$DUMP" --path=/ --ls srcR/out.img
grep -q 'out\.img' ls-in.out && fail "the image lists itself: $(cat ls-in.out)"
grep -q 'sub' ls-in.out || fail "dump --ls does not list the tree: $(cat ls-in.out)"
expect_rc 0 fsck-in "$FSCK" --extract=ext-in srcR/out.img
[ -z "$(find ext-in -name 'out.img*')" ] || fail "the image extracted with itself inside"
rm srcR/out.img
mkdir -p srcR/blobs
expect_rc 0 mkfs-bin1 "$MKFS" --quiet "${fixed[@]}" --blob-dir=srcR/blobs bin1.img srcR
expect_rc 0 mkfs-bin2 "$MKFS" --quiet "${fixed[@]}" --blob-dir=srcR/blobs bin2.img srcR
cmp -s bin1.img bin2.img || fail "two builds with --blob-dir inside the source differ"
expect_rc 0 ls-bin "$DUMP" --path=/ --ls bin2.img
grep -q blobs ls-bin.out && fail "the blob directory is in the image: $(cat ls-bin.out)"
rm -r srcR/blobs
expect_rc 0 mkfs-dev1 "$MKFS" --quiet "${fixed[@]}" --chunksize=4096 \
	--blobdev=srcR/out.blob srcR/dev.img srcR
cp srcR/dev.img dev1.img
cp srcR/out.blob dev1.blob
expect_rc 0 mkfs-dev2 "$MKFS" --quiet "${fixed[@]}" --chunksize=4096 \
	--blobdev=srcR/out.blob srcR/dev.img srcR
cmp -s dev1.img srcR/dev.img && cmp -s dev1.blob srcR/out.blob ||
	fail "two builds with image and --blobdev inside the source differ"
expect_rc 0 ls-dev "$DUMP" --path=/ --ls srcR/dev.img
grep -q -e 'dev\.img' -e 'out\.blob' -e blobs ls-dev.out &&
	fail "outputs listed in the image: $(cat ls-dev.out)"
no_temps srcR
info "image, --blobdev and --blob-dir inside the source: not in the image, builds identical"

# ---------------------------------------------------------------------------
echo "== SIGTERM and SIGINT in the middle of a build"
if [ -n "${VANISH_PRELOAD:-}" ] && [ -r "$VANISH_PRELOAD" ] &&
   env --default-signal=INT true 2>/dev/null; then
	mkdir -p srcP blobsP outP
	fill srcP/a a 50000
	fill srcP/pause-here p 50000
	fill srcP/z z 50000
	expect_rc 0 mkfs-P0 "$MKFS" --quiet outP/P.img srcP
	expect_rc 0 mkfs-PB0 "$MKFS" --quiet --blob-dir=blobsP outP/PB.img srcP
	cp outP/P.img P.orig
	cp outP/PB.img PB.orig
	blobsP_before=$(blobsum blobsP)
	# stopped SIG RC NAME ARGS...: mkfs pauses at srcP/pause-here; then SIG
	stopped() {
		local sig=$1 want=$2 name=$3 pid i
		shift 3
		rm -f ready
		# background jobs of a script ignore SIGINT: give mkfs the default
		ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0 \
		PAUSE_AT=pause-here PAUSE_READY=$T/ready LD_PRELOAD=$VANISH_PRELOAD \
			env --default-signal=INT "$MKFS" --quiet "$@" srcP \
			>"$name.out" 2>"$name.err" &
		pid=$!
		for ((i = 0; i < 600; i++)); do
			[ -e ready ] && break
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		[ -e ready ] || { kill -KILL "$pid" 2>/dev/null; fail "$name: mkfs never reached pause-here"; }
		ls -A outP blobsP >"$name.during"
		grep -q 'tmp' "$name.during" || fail "$name: no temporary file mid-build?"
		kill "-$sig" "$pid"
		wait "$pid"
		RC=$?
		[ "$RC" -eq "$want" ] || fail "$name: exit $RC, expected $want: $(cat "$name.err")"
		expect_msg "$name" "interrupted"
	}
	stopped TERM 143 sigterm --blob-dir=blobsP outP/PB.img
	no_temps outP blobsP
	cmp -s outP/PB.img PB.orig || fail "SIGTERM: the existing image changed"
	[ "$(blobsum blobsP)" = "$blobsP_before" ] || fail "SIGTERM: the blob directory changed"
	info "SIGTERM: exit 143, $(head -n 1 sigterm.err | cut -c1-120)"
	stopped INT 130 sigint outP/P.img
	no_temps outP blobsP
	cmp -s outP/P.img P.orig || fail "SIGINT: the existing image changed"
	info "SIGINT: exit 130, no temporary file, the existing image unchanged"
else
	echo "  (VANISH_PRELOAD not built or env lacks --default-signal: signal cases not run)"
fi

# ---------------------------------------------------------------------------
echo "== a tree 1500 directories deep under ulimit -n 256"
# every level holds d and then z, which is read once the scan is back from d
# (python: bash's cd costs the depth of the path each time)
python3 - <<'EOF' || fail "cannot create the deep tree"
import os
os.mkdir("deep")
os.chdir("deep")
for level in range(1, 1501):
    with open("z", "w") as f:
        f.write("%d\n" % level)
    os.mkdir("d")
    os.chdir("d")
with open("leaf", "w") as f:
    f.write("bottom\n")
EOF
expect_rc 0 mkfs-deep bash -c 'ulimit -n 256 && exec "$0" --quiet D.img deep' "$MKFS"
grep -qw erofs /proc/filesystems 2>/dev/null || modprobe erofs 2>/dev/null
if [ "$(id -u)" -eq 0 ] && grep -qw erofs /proc/filesystems &&
   mount_erofs D.img "$T/mnt-deep" 2>/dev/null; then
	expect_rc 0 treecmp-deep "$TREECMP" deep "$T/mnt-deep"
	umount_erofs "$T/mnt-deep" || fail "cannot unmount"
	info "1500 levels under 256 descriptors: the kernel mount equals the tree"
else
	expect_rc 0 fsck-deep "$FSCK" --extract=ext-deep D.img
	expect_rc 0 treecmp-deep "$TREECMP" deep ext-deep
	info "1500 levels under 256 descriptors: the extraction equals the tree"
fi

echo "== a directory moved away while the scan is below it"
if [ -n "${VANISH_PRELOAD:-}" ] && [ -r "$VANISH_PRELOAD" ]; then
	mkdir -p mv/a mv/other
	p=mv/a
	for ((i = 0; i < 40; i++)); do
		p=$p/d
		mkdir "$p"
	done
	echo go >"$p/trigger"
	# level 5 (mv/a/d/d/d/d) goes to another parent when trigger is opened
	expect_rc 1 mkfs-moved env \
		ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" \
		RENAME_AT=trigger RENAME_FROM=mv/a/d/d/d/d RENAME_TO=mv/other/moved \
		LD_PRELOAD="$VANISH_PRELOAD" "$MKFS" --quiet MV.img mv
	[ -d mv/other/moved ] || fail "the shim did not move the directory"
	expect_msg mkfs-moved "source changed"
	[ ! -e MV.img ] || fail "a failed build left MV.img"
	no_temps .
	info "$(head -n 1 mkfs-moved.err | cut -c1-200)"
else
	echo "  (VANISH_PRELOAD not built: moved-directory case not run)"
fi

echo "PASS"
exit 0
