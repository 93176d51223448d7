#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# mkfs.erofs -j N: the output does not depend on the thread count.
#
# A generated tree with duplicate files and blocks, all-zero chunks, two
# files larger than the build's chunk window (one sharing half of the
# other), 500 small files (many of them copies), sparse files and a symlink
# whose target needs a block of its own is built with -j1, -j2 and -j8:
#
#  plain       flat files (the sparse ones chunked): images equal
#  chunks      --chunksize=4096 in the image: images equal
#  sealed      --seal --blob-dir: images and blobs equal
#  signed      --sign-key --blob-dir --chunksize=16384: images and blobs equal
#  encrypted   --encrypt --blob-dir: blobs equal (the metadata is encrypted
#              under a fresh key each build, so the images differ by design)
#
# The -j8 images are checked by oracles: the plain and chunked images are
# mounted by the kernel and compare equal to the tree (treecmp), and pass
# /usr/bin/fsck.erofs; the sealed and signed ones mount with their blobs;
# the encrypted one unlocks and extracts equal to the tree.

_lib=$(dirname "$0")/lib.sh
[ -r "$_lib" ] || _lib=${srcdir:-.}/integration/lib.sh
. "$_lib" || { echo "FAIL: cannot source lib.sh"; exit 1; }

need_root
need_progs MKFS FSCK TREECMP
need_cmd openssl mount umount cmp losetup

cd "$T" || fail "cannot enter $T"

# ---- the tree ---------------------------------------------------------------
# Seeded: the same bytes on every run.  The window holds 4 MiB: the large
# files span several windows at 4 KiB chunks.
"$PYTHON" - tree <<'PY' || fail "cannot generate the tree"
import os, random, sys
root = sys.argv[1]
rng = random.Random(11)
def put(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
big = rng.randbytes(5 << 20)
put(f"{root}/large/a.bin", big)
# the first half shared, a run of zeros, then new bytes (unaligned end)
put(f"{root}/large/b.bin", big[:5 << 19] + bytes(1 << 19) + rng.randbytes((3 << 19) + 777))
blocks = [rng.randbytes(4096) for _ in range(16)]
put(f"{root}/dups/blocks.bin", b"".join(rng.choice(blocks) for _ in range(300)))
small = []
for i in range(500):
    if small and i % 5 == 0:
        data = rng.choice(small)
    else:
        data = rng.randbytes(rng.randrange(0, 12000))
    small.append(data)
    put(f"{root}/small/d{i % 40}/f{i}", data)
for name, islands in (("sparse1", [0, 3 << 20]), ("sparse2", [1 << 20, (7 << 20) + 100])):
    path = f"{root}/sparse/{name}"
    put(path, b"")
    with open(path, "r+b") as f:
        for off in islands:
            f.seek(off)
            f.write(rng.randbytes(50000))
        f.truncate(24 << 20)
os.symlink("t" * 4000, f"{root}/long-link")
PY
openssl genpkey -algorithm ed25519 -out sign.pem 2>/dev/null || fail "openssl genpkey"
rnd 32 >domain.key
rnd 64 >slot.key

FIXED=(--quiet -T 1700000000 --mkfs-time -U 0c5e8a7d-3f41-4b6a-9d2e-7a1b3c4d5e6f)

# build NAME J ARGS...: NAME-jJ.img (and NAME-jJ.blobs/ where ARGS use it)
build() {
	local name=$1 j=$2
	shift 2
	run_rc 0 "mkfs-$name-j$j" "$MKFS" "${FIXED[@]}" -j "$j" "${@//@/$name-j$j}" \
		"$name-j$j.img" tree
}

# same NAME: the -j2 and -j8 outputs equal the -j1 ones
same() {
	local name=$1 what=$2 j
	for j in 2 8; do
		if [ "$what" != blobs-only ]; then
			cmp -s "$name-j1.img" "$name-j$j.img" ||
				bad "$name: the -j$j image differs from the -j1 image: $(cmp "$name-j1.img" "$name-j$j.img" 2>&1)"
		fi
		if [ -d "$name-j1.blobs" ]; then
			diff -r "$name-j1.blobs" "$name-j$j.blobs" >/dev/null ||
				bad "$name: the -j$j blobs differ from the -j1 blobs"
		fi
	done
	info "$name: -j1, -j2 and -j8 agree"
}

# mounted NAME [BLOB...]: the kernel mounts NAME-j8.img and it equals tree
mounted() {
	local name=$1
	shift
	if mount_erofs "$name-j8.img" "mnt-$name" "$@"; then
		"$TREECMP" tree "mnt-$name" >"treecmp-$name.out" 2>&1 ||
			bad "$name: the mounted -j8 image differs from the tree: $(head -c 800 "treecmp-$name.out")"
		umount_erofs "mnt-$name"
	else
		bad "$name: the kernel does not mount the -j8 image"
	fi
}

upstream_fsck() {
	[ -x /usr/bin/fsck.erofs ] || { info "no /usr/bin/fsck.erofs: not run"; return; }
	run_rc 0 "upstream-fsck-$1" /usr/bin/fsck.erofs "$1-j8.img"
}

for j in 1 2 8; do
	build plain $j
	build chunks $j --chunksize=4096
	build sealed $j --seal --blob-dir=@.blobs
	build signed $j --sign-key=sign.pem --chunksize=16384 --blob-dir=@.blobs
	build encrypted $j --encrypt --domain-key=domain.key --keyslot=keyfile:slot.key \
		--blob-dir=@.blobs
done

same plain all
same chunks all
same sealed all
same signed all
same encrypted blobs-only
# the encrypted images differ only in their encrypted metadata: same size
[ "$(stat -c %s encrypted-j1.img)" = "$(stat -c %s encrypted-j8.img)" ] ||
	bad "encrypted: the -j1 and -j8 images differ in size"

mounted plain
mounted chunks
upstream_fsck plain
upstream_fsck chunks
mounted sealed sealed-j8.blobs/*
mounted signed signed-j8.blobs/*
rm -rf out
if run_rc 0 fsck-unlock "$FSCK" --unlock=keyfile:slot.key --allow-unsigned \
	--blob-dir=encrypted-j8.blobs --extract=out encrypted-j8.img; then
	"$TREECMP" tree out >treecmp-enc.out 2>&1 ||
		bad "encrypted: the -j8 image extracts different from the tree: $(head -c 800 treecmp-enc.out)"
fi

finish_cases "images do not depend on -j"
