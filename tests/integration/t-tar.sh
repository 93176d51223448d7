#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# mkfs.erofs --tar: a tree (long names, xattrs, hard links, sparse files,
# devices, fifos, numeric owners) archived by GNU tar, plain and gzip, zstd
# and xz compressed, from a file and from standard input, built into an
# image that the kernel mounts equal to the tree (treecmp); -z, --seal and
# an encrypted build through fsck --unlock --extract; two OCI layers with
# whiteouts and an opaque directory stacked by overlayfs against GNU tar
# extracting the layers in order and applying the whiteouts; hostile
# archives refused with a message naming the member, leaving an existing
# IMAGE as it was.

_lib=$(dirname "$0")/lib.sh
[ -r "$_lib" ] || _lib=${srcdir:-.}/integration/lib.sh
. "$_lib" || { echo "FAIL: cannot source lib.sh"; exit 1; }

need_root
need_progs MKFS FSCK VERIFY TREECMP
need_cmd tar gzip zstd xz mount umount setfattr getfattr mknod mkfifo truncate cmp
grep -qw erofs /proc/filesystems 2>/dev/null || modprobe erofs 2>/dev/null
grep -qw erofs /proc/filesystems || skip "kernel has no erofs support"

cd "$T" || fail "cannot enter $T"
TAR=(tar --sort=name --xattrs --xattrs-include='user.*' --sparse --numeric-owner)

# ---- the tree ---------------------------------------------------------------
mktree() {
	local d=$1 l200 n255
	l200=$(printf 'L%.0s' $(seq 1 200))
	n255=$(printf 'n%.0s' $(seq 1 255))
	mkdir -p "$d/long/$l200/$l200" "$d/dir/empty" "$d/links" "$d/dev" || return 1
	(
		cd "$d" || exit 1
		printf 'deep\n' > "long/$l200/$l200/$n255"        # a 671-byte path
		printf 'hundred-and-one\n' > "long/$(printf 'h%.0s' $(seq 1 101))"
		printf 'accent' > "dir/é"
		printf 'raw' > "dir/$(printf 'raw\xff\xfe')"
		: > dir/empty-file
		rnd 4097 > dir/tail4097
		rnd 300000 > dir/random
		{ for i in $(seq 1 3000); do echo "line $i of a compressible file"; done; } \
			> dir/text
		printf 'xattrs' > dir/xa
		setfattr -n user.one -v first dir/xa
		setfattr -n user.empty dir/xa
		setfattr -n user.bin -v 0x00ff10 dir/xa
		setfattr -n user.ondir -v yes dir
		truncate -s 20M dir/sparse
		printf 'island' | dd of=dir/sparse bs=1 seek=7000000 conv=notrunc status=none
		printf 'end' | dd of=dir/sparse bs=1 seek=$((20 * 1048576 - 3)) conv=notrunc \
			status=none
		truncate -s 5M dir/allhole
		rnd 5000 > links/tri1
		ln links/tri1 links/tri2
		ln links/tri1 dir/tri3
		ln -s ../dir/random links/sym
		ln -s "$(printf 's%.0s' $(seq 1 300))" links/longsym
		mknod dev/null c 1 3
		mknod dev/sda1 b 8 1
		mknod dev/big c 259 70000
		mkfifo dev/fifo
		chown 1234:5678 dir/random
		chown -h 4000000000:77 links/sym
		chmod 4751 dir/text
		chmod 1777 dir/empty
	) || return 1
	# whole seconds: GNU tar's ustar/GNU headers keep no nanoseconds
	find "$d" -exec touch -h -d @1600000000 {} +
}
must mktree tree

check_mount() { # check_mount NAME IMG SRC
	mkdir -p "mnt-$1"
	if ! mount_erofs "$2" "mnt-$1"; then
		bad "$1: kernel mount failed"
		return
	fi
	"$TREECMP" "$3" "mnt-$1" > "treecmp-$1.out" 2>&1 ||
		bad "$1: mounted image differs from the tree: $(head -c 1500 "treecmp-$1.out")"
	umount_erofs "mnt-$1"
}

"${TAR[@]}" -C tree -cf tree.tar . || fail "GNU tar failed"
gzip -c tree.tar > tree.tar.gz
zstd -q -c tree.tar > tree.tar.zst
xz -c tree.tar > tree.tar.xz
for c in tar tar.gz tar.zst tar.xz; do
	if run_rc 0 "mkfs-$c" "$MKFS" --quiet --tar=f "$c.img" "tree.$c"; then
		check_mount "$c" "$c.img" tree
	fi
done
# standard input, both spellings; the image needs no temporary copy of the data
run_rc 0 mkfs-stdin-dash "$MKFS" --quiet --tar "stdin.img" - < tree.tar.zst &&
	check_mount stdin-dash stdin.img tree
run_rc 0 mkfs-stdin-none "$MKFS" --quiet --tar "stdin2.img" < tree.tar.gz &&
	check_mount stdin-none stdin2.img tree
# holes stay holes: 25 MiB of sparse files in far less
size=$(stat -c %s tar.img 2>/dev/null || echo 0)
[ "$size" -gt 0 ] && [ "$size" -lt $((4 * 1048576)) ] ||
	bad "sparse: the image takes $size bytes for a tree of ~1 MiB data and 25 MiB holes"

# the builder's options with tar input
for v in "z-lz4hc:-z lz4hc -C 65536" "chunks:--chunksize=8192" "seal:--seal"; do
	name=${v%%:*}
	read -ra opts <<< "${v#*:}"
	if run_rc 0 "mkfs-$name" "$MKFS" --quiet "${opts[@]}" --tar=f "$name.img" tree.tar.xz; then
		check_mount "$name" "$name.img" tree
	fi
done
run_rc 0 verify-seal "$VERIFY" --integrity-only seal.img || true
# a compressible member past the stream's rewind bound (16 MiB), then an
# incompressible one that the compressor hands back to be read again
mkdir big
yes 'a line that compresses well' | head -c $((24 * 1048576 + 5)) > big/text
rnd 3000000 > big/random
find big -exec touch -h -d @1600000000 {} +
tar -C big -cf big.tar . || fail "GNU tar failed"
if run_rc 0 mkfs-big-z "$MKFS" --quiet -z lz4 --tar=f big.img big.tar; then
	check_mount big-z big.img big
	[ "$(stat -c %s big.img)" -lt $((8 * 1048576)) ] ||
		bad "big-z: the compressible member was not compressed ($(stat -c %s big.img) bytes)"
fi

# encrypted, through fsck --unlock --extract
rnd 32 > domain.key
rnd 64 > slot.key
if run_rc 0 mkfs-enc "$MKFS" --quiet --encrypt --domain-key=domain.key \
	--keyslot=keyfile:slot.key --tar=f enc.img tree.tar.gz; then
	rm -rf enc-out
	if run_rc 0 fsck-enc "$FSCK" --unlock=keyfile:slot.key --allow-unsigned \
		--extract=enc-out enc.img; then
		"$TREECMP" tree enc-out > treecmp-enc.out 2>&1 ||
			bad "encrypted: extraction differs: $(head -c 1500 treecmp-enc.out)"
	fi
fi

# ---- OCI layers under overlayfs ---------------------------------------------
if grep -qw overlay /proc/filesystems 2>/dev/null || modprobe overlay 2>/dev/null; then
	mkdir -p l1/a l1/o/sub l1/keep l1/gone-dir/x
	printf one > l1/a/f1; printf two > l1/a/f2; printf x > l1/o/x
	printf y > l1/o/sub/y; printf k > l1/keep/k; printf r > l1/rm-me
	printf z > l1/gone-dir/x/z
	mkdir -p l2/a l2/o l2/b l2/keep
	: > l2/.wh.rm-me; : > l2/a/.wh.f1; : > l2/.wh.gone-dir
	: > l2/o/.wh..wh..opq; printf new > l2/o/new; printf n > l2/b/n
	printf k2 > l2/keep/k2
	find l1 l2 -exec touch -h -d @1500000000 {} +
	tar -C l1 -cf l1.tar . && tar -C l2 -cf l2.tar . || fail "GNU tar failed"
	# expected: extract layer 1, apply layer 2's whiteouts, extract layer 2
	mkdir expect
	tar -C expect -xf l1.tar
	while IFS= read -r -d '' wh; do
		rel=${wh#l2/}
		dir=$(dirname "$rel")
		base=$(basename "$rel")
		if [ "$base" = .wh..wh..opq ]; then
			find "expect/$dir" -mindepth 1 -delete
		else
			rm -rf "expect/$dir/${base#.wh.}"
		fi
	done < <(find l2 -name '.wh.*' -print0)
	tar -C expect --exclude='.wh.*' -xf l2.tar
	if run_rc 0 mkfs-l1 "$MKFS" --quiet --tar=f l1.img l1.tar &&
		run_rc 0 mkfs-l2 "$MKFS" --quiet --tar=f l2.img l2.tar; then
		mkdir -p m1 m2 merged
		if mount_erofs l1.img m1 && mount_erofs l2.img m2; then
			# the whiteouts as overlayfs reads them
			[ "$(stat -c '%F %t:%T' m2/rm-me 2>&1)" = "character special file 0:0" ] ||
				bad "layer 2: rm-me is not a 0/0 character device: $(stat -c '%F %t:%T' m2/rm-me 2>&1)"
			[ "$(getfattr --only-values -n trusted.overlay.opaque m2/o 2>&1)" = y ] ||
				bad "layer 2: o has no trusted.overlay.opaque=y"
			_MOUNTS+=("$T/merged")
			if mount -t overlay overlay -o "lowerdir=$T/m2:$T/m1" merged; then
				"$TREECMP" --ignore-root-mtime expect merged > treecmp-ovl.out 2>&1 ||
					bad "overlay: the stacked layers differ from tar's extraction: $(head -c 1500 treecmp-ovl.out)"
				umount merged
			else
				bad "mount -t overlay failed"
			fi
			umount_erofs m2
			umount_erofs m1
		else
			bad "layer images do not mount"
		fi
	fi
	# --keep-whiteouts keeps the names; --aufs (erofs-utils' word for
	# converting them) is the default
	if run_rc 0 mkfs-keep "$MKFS" --quiet --tar=f --keep-whiteouts l2keep.img l2.tar; then
		mkdir -p mk
		if mount_erofs l2keep.img mk; then
			[ -f mk/.wh.rm-me ] && [ -f mk/o/.wh..wh..opq ] && [ ! -e mk/rm-me ] ||
				bad "--keep-whiteouts: the .wh. files are not kept as they are"
			umount_erofs mk
		fi
	fi
	if run_rc 0 mkfs-aufs "$MKFS" --quiet -T 7 -U clear --tar=f --aufs l2aufs.img l2.tar &&
		run_rc 0 mkfs-noaufs "$MKFS" --quiet -T 7 -U clear --tar=f l2plain.img l2.tar; then
		cmp -s l2aufs.img l2plain.img || bad "--aufs: not the same image as without it"
	fi
else
	info "no overlayfs in this kernel: layer stacking not checked"
fi

# ---- hostile archives -------------------------------------------------------
# hostile NAME REGEX < archive: exit 1 naming what is wrong, IMAGE untouched
printf 'an existing image\n' > keep.img
cp keep.img keep.orig
hostile() {
	local name=$1 regex=$2
	if run_rc 1 "hostile-$name" "$MKFS" --quiet --tar=f keep.img -; then
		says "hostile-$name" "hostile-$name.err" "$regex" "'$regex'"
	fi
	cmp -s keep.img keep.orig || bad "hostile-$name: the existing image was changed"
	ls -a | grep -q '^keep\.img\..' && bad "hostile-$name: a temporary file was left"
	return 0
}
# tarfile writes exact headers for cases GNU tar would not make
craft() {
	"$PYTHON" - "$@" <<'EOF'
import io, sys, tarfile
kind, out = sys.argv[1], sys.argv[2]
buf = io.BytesIO()
t = tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT)
def add(name, data=b"", **kw):
    i = tarfile.TarInfo(name); i.size = len(data)
    for k, v in kw.items(): setattr(i, k, v)
    t.addfile(i, io.BytesIO(data))
add("ok", b"fine")
if kind == "dotdot":
    add("a/../../evil", b"x")
elif kind == "link-out":
    add("l", type=tarfile.LNKTYPE, linkname="../etc/passwd")
elif kind == "link-missing":
    add("l", type=tarfile.LNKTYPE, linkname="not-here")
elif kind == "absurd":
    i = tarfile.TarInfo("huge"); i.size = 1 << 62
    buf.write(i.tobuf(tarfile.GNU_FORMAT)); buf.write(b"\0" * 4096)
elif kind == "past-end":
    i = tarfile.TarInfo("short"); i.size = 1 << 20
    buf.write(i.tobuf(tarfile.GNU_FORMAT)); buf.write(b"d" * 4096)
elif kind == "badsum":
    add("second", b"x")
    t.close()
    data = bytearray(buf.getvalue())
    data[1024 + 3] ^= 0x20          # the second header's name, checksum kept
    open(out, "wb").write(data); sys.exit(0)
if kind in ("absurd", "past-end"):
    open(out, "wb").write(buf.getvalue()); sys.exit(0)
t.close()
open(out, "wb").write(buf.getvalue())
EOF
}
for k in dotdot link-out link-missing absurd past-end badsum; do
	craft "$k" "$k.tar" || fail "cannot craft $k.tar"
done
hostile dotdot 'a/\.\./\.\./evil.*outside' < dotdot.tar
hostile link-out 'l: hard link to \.\./etc/passwd.*outside' < link-out.tar
hostile link-missing 'l: hard link to not-here.*no earlier member' < link-missing.tar
hostile absurd 'huge: size of [0-9]+ bytes is larger than an image can hold' < absurd.tar
hostile past-end 'short: cannot read its data, the archive is truncated' < past-end.tar
hostile badsum 'the header after member ok is damaged' < badsum.tar
# cut in the middle of a member's data, plain and compressed
head -c 400000 tree.tar > cut.tar
hostile truncated '^mkfs.erofs: [^:]+: cannot read its data, the archive is truncated' < cut.tar
head -c 100000 tree.tar.gz > cut.tar.gz
hostile truncated-gz ': cannot read its data, the archive is truncated.*gzip' < cut.tar.gz
printf 'this is not a tar archive at all\n' > notatar
hostile not-tar 'cannot read it as a tar archive' < notatar
# a leading '/' is dropped, as GNU tar does
"$PYTHON" - abs.tar <<'EOF'
import io, sys, tarfile
t = tarfile.open(sys.argv[1], "w", format=tarfile.GNU_FORMAT)
i = tarfile.TarInfo("/abs/file"); i.size = 3
t.addfile(i, io.BytesIO(b"abs"))
t.close()
EOF
if run_rc 0 mkfs-abs "$MKFS" --quiet --tar=f abs.img abs.tar; then
	mkdir -p mabs
	if mount_erofs abs.img mabs; then
		[ "$(cat mabs/abs/file 2>&1)" = abs ] || bad "leading '/': abs/file is not there"
		umount_erofs mabs
	fi
fi

finish_cases "tar input: mounts equal the tree, layers stack, hostile archives refused"
