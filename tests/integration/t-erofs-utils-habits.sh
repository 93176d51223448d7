#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# erofs-utils habits.  Every option of mkfs.erofs, fsck.erofs and
# dump.erofs of erofs-utils 1.9.3 (the list below is copied by hand from
# its getopt tables) either works as it does there, checked by its effect,
# or is refused with "PROG: OPTION is not supported by this PROG".  Unknown
# options are reported under the program's name, not the path it was run
# by.  Then a whole tree is extracted as an unprivileged user
# (setpriv --reuid=65534): owners are not set by default, device nodes and
# trusted.* xattrs are left out with a warning, everything else arrives.
# Oracles: the source tree, stat/getfattr/readlink, blkid.

_lib=$(dirname "$0")/lib.sh
[ -r "$_lib" ] || _lib=${srcdir:-.}/integration/lib.sh
. "$_lib" || { echo "FAIL: cannot source lib.sh"; exit 1; }

need_root
need_progs MKFS FSCK DUMP VERIFY TREECMP
need_cmd setpriv setfattr getfattr blkid mknod

FAILS=()
cd "$T" || fail "cd $T"

# ---------------------------------------------------------------------------
# the source
SRC=$T/src
mkdir -p "$SRC/sub/deep/er" "$SRC/ro" "$SRC/skip-me"
printf 'hello\n' > "$SRC/file.txt"
rnd 70000 > "$SRC/sub/big.bin"
printf 'deep\n' > "$SRC/sub/deep/er/leaf"
printf 'excluded\n' > "$SRC/skip-me/x"
printf 'regex\n' > "$SRC/sub/drop.tmp"
ln -s ../file.txt "$SRC/sub/link"
ln "$SRC/file.txt" "$SRC/sub/hard"
printf 'setuid\n' > "$SRC/suid"
chmod 4755 "$SRC/suid"
chmod 0666 "$SRC/file.txt"
printf 'ro\n' > "$SRC/ro/inside"
chmod 0555 "$SRC/ro"
mknod "$SRC/null" c 1 3
mknod "$SRC/loopdev" b 7 200
mkfifo "$SRC/fifo"
chown 1234:4321 "$SRC/sub/big.bin"
chown 42:42 "$SRC/sub"
setfattr -n user.color -v blue "$SRC/file.txt"
setfattr -n trusted.secret -v only-root "$SRC/sub/big.bin"
find "$SRC" -depth -exec touch -h -d '2023-03-03 03:03:03.333333333' {} +

IMG=$T/img
UUID=0b1e2f3a-4b5c-6d7e-8f90-a1b2c3d4e5f6
run_rc 0 build "$MKFS" -T 1600000000 --mkfs-time -U "$UUID" -L habits "$IMG" "$SRC" ||
	fail "mkfs failed"

# ---------------------------------------------------------------------------
echo "== options erofs-utils 1.9.3 has and this project does not: refused by name"
# PROG OPTION [ARGS...]: exit 16 (fsck) / 2 (mkfs, dump) and the sentence
unsupported() {
	local prog=$1 opt=$2 bin want name
	shift 2
	case $prog in
	mkfs.erofs) bin=$MKFS want=2 ;;
	fsck.erofs) bin=$FSCK want=16 ;;
	dump.erofs) bin=$DUMP want=2 ;;
	esac
	name="$prog-${opt//[^A-Za-z0-9]/_}"
	run_rc "$want" "$name" "$bin" "$@" || return 0
	says "$name" "$name.err" "^$prog: ${opt//^/\\^} is not supported by this $prog" \
		"'$prog: $opt is not supported by this $prog'"
	not_says "$name" "$name.err" "/" "a path"
}
M=(mkfs.erofs)
# -z and -C are ours too (t-compress)
for o in "-m 4096" --max-extent-bytes=1 --compress-hints=f \
	--zfeature-bits=1 --zD --zD=1 --MZ --ovlfs-strip=1 --gzip \
	--ungzip --gzinfo --unlzma --unxz --oci --s3=x --incremental --incremental=data \
	--ignore-mtime --uid-offset=1 --gid-offset=1 --file-contexts=f --mount-point=/x \
	--product-out=d --fs-config-file=f --offset=1 --root-xattr-isize=1 --sort=none \
	--hard-dereference --dsunit=1 --async-queue-limit=1 --fsalignblks=1 \
	--vmdk-desc=f --xattr-prefix=user.x --xattr-inode-digest; do
	read -ra words <<< "$o"
	case $o in
	--*) name=${o%%=*} ;;
	*) name=${o:0:2} ;;
	esac
	unsupported mkfs.erofs "$name" "${words[@]}" "$T/u.img" "$SRC"
done
unsupported mkfs.erofs --clean=rvsp --clean=rvsp "$T/u.img" "$SRC"
# --tar is ours (t-tar); its index-only modes are not
unsupported mkfs.erofs --tar=i --tar=i "$T/u.img" "$SRC"
unsupported mkfs.erofs --tar=headerball --tar=headerball "$T/u.img" "$SRC"
for e in dedupe fragments all-fragments ztailpacking legacy-compress noinline_data \
	force-inode-compact force-inode-extended nosbcrc 48bit xattr-name-filter \
	plain-xattr-prefixes; do
	unsupported mkfs.erofs "-E $e" -E "$e" "$T/u.img" "$SRC"
done
unsupported mkfs.erofs "-E fragments" -E ^fragments,dedupe "$T/u.img" "$SRC"
# the sentence the issue asks for, word for word
grep -qx 'mkfs.erofs: -E dedupe is not supported by this mkfs.erofs; chunk dedup is --chunksize' \
	mkfs.erofs-_E_dedupe.err || bad "-E dedupe: $(cat mkfs.erofs-_E_dedupe.err)"
for o in -p --offset=1 --no-sbcrc --xattr-inode-digest; do
	unsupported fsck.erofs "${o%%=*}" "$o" "$IMG"
done
unsupported dump.erofs --offset --offset=1 "$IMG"
[ -e "$T/u.img" ] && bad "a refused mkfs left $T/u.img"

echo "== unknown options: under the program's name"
for p in MKFS FSCK DUMP VERIFY; do
	runcmd "unknown-$p" "${!p}" --no-such-option "$IMG"
	says "unknown-$p" "$T/unknown-$p.err" "^(mkfs\.erofs|fsck\.erofs|dump\.erofs|erofs-verify): unrecognized option '--no-such-option'" \
		"the program's name"
	not_says "unknown-$p" "$T/unknown-$p.err" "^/" "the path it was run by"
done

# ---------------------------------------------------------------------------
echo "== mkfs.erofs options that work as in erofs-utils"
run_rc 0 mkfs-V "$MKFS" -V && says mkfs-V mkfs-V.out "mkfs.erofs" "its name"
run_rc 0 mkfs-h "$MKFS" -h && says mkfs-h mkfs-h.out "--workers" "--workers"
# -U, -L: as blkid reads them
[ "$(blkid -o value -s UUID "$IMG")" = "$UUID" ] || bad "-U: blkid says $(blkid -o value -s UUID "$IMG")"
[ "$(blkid -o value -s LABEL "$IMG")" = habits ] || bad "-L: blkid says '$(blkid -o value -s LABEL "$IMG")'"
# -T with --mkfs-time: files keep their mtimes; --all-time (the default): -T for all
run_rc 0 x-mkfs-time "$FSCK" --extract="$T/x-mkfs-time" "$IMG"
[ "$(stat -c %Y "$T/x-mkfs-time/sub/deep/er/leaf")" = "$(stat -c %Y "$SRC/sub/deep/er/leaf")" ] ||
	bad "--mkfs-time: a file's mtime was not kept"
for o in --all-time ""; do
	run_rc 0 "mkfs-all-time$o" "$MKFS" --quiet -T 1600000000 $o "$T/all.img" "$SRC"
	run_rc 0 "x-all-time$o" "$FSCK" --extract="$T/x-all$o" "$T/all.img"
	[ "$(stat -c %Y "$T/x-all$o/sub/deep/er/leaf")" = 1600000000 ] ||
		bad "-T ${o:-(default)}: a file's mtime is not -T"
done
run_rc 0 mkfs-preserve-mtime "$MKFS" --quiet --preserve-mtime --clean --clean=data -d 3 \
	"$T/pm.img" "$SRC"
run_rc 0 x-pm "$FSCK" --extract="$T/x-pm" "$T/pm.img"
run_rc 0 cmp-pm "$TREECMP" --ignore-root-mtime "$SRC" "$T/x-pm"
# -b 4096 and -x -1 (no xattrs)
run_rc 0 mkfs-b-x "$MKFS" --quiet -b 4096 -x -1 "$T/nox.img" "$SRC"
run_rc 0 x-nox "$FSCK" --extract="$T/x-nox" "$T/nox.img"
[ -z "$(getfattr -d --absolute-names "$T/x-nox/file.txt" 2>/dev/null)" ] || bad "-x -1 kept xattrs"
# --exclude-path, --exclude-regex, --force-uid, --force-gid, --all-root, --quiet
run_rc 0 mkfs-excl "$MKFS" --quiet --exclude-path=skip-me --exclude-regex='\.tmp$' \
	--force-uid=777 --force-gid=888 "$T/ex.img" "$SRC"
[ -s mkfs-excl.out ] && bad "--quiet printed: $(head -c 200 mkfs-excl.out)"
run_rc 0 x-ex "$FSCK" --extract="$T/x-ex" "$T/ex.img"
[ -e "$T/x-ex/skip-me" ] && bad "--exclude-path: skip-me is in the image"
[ -e "$T/x-ex/sub/drop.tmp" ] && bad "--exclude-regex: drop.tmp is in the image"
[ "$(stat -c %u:%g "$T/x-ex/sub/big.bin")" = 777:888 ] || bad "--force-uid/--force-gid"
run_rc 0 mkfs-root "$MKFS" --quiet --all-root "$T/root.img" "$SRC"
run_rc 0 x-root "$FSCK" --extract="$T/x-root" "$T/root.img"
[ "$(stat -c %u:%g "$T/x-root/sub/big.bin")" = 0:0 ] || bad "--all-root"
# --chunksize, --blobdev; --workers (0: all cores) gives the same bytes as 1
for w in 0 1 2; do
	run_rc 0 "mkfs-workers$w" "$MKFS" --quiet -T 1 -U "$UUID" --workers=$w --chunksize=8192 \
		--blobdev="$T/w$w.blob" "$T/w$w.img" "$SRC"
done
cmp -s "$T/w0.img" "$T/w1.img" && cmp -s "$T/w0.blob" "$T/w1.blob" &&
	cmp -s "$T/w2.img" "$T/w1.img" || bad "--workers 0, 1 and 2 give different images"
run_rc 0 fsck-blobdev "$FSCK" --device="$T/w0.blob" --extract="$T/x-blob" "$T/w0.img"
run_rc 0 cmp-blob "$TREECMP" --no-mtime "$SRC" "$T/x-blob"

# ---------------------------------------------------------------------------
echo "== fsck.erofs options that work as in erofs-utils"
run_rc 0 fsck-V "$FSCK" -V
run_rc 0 fsck-h "$FSCK" --help && says fsck-h fsck-h.out "--extract\[=DIR\]" "--extract[=DIR]"
# -a, -A, -y, -d N: no-ops, the same verdict as without them
run_rc 0 fsck-plain "$FSCK" "$IMG"
run_rc 0 fsck-aAy "$FSCK" -a -A -y -d 3 "$IMG"
cmp -s fsck-plain.out fsck-aAy.out || bad "-a -A -y -d 3 changed fsck's output"
# --extract without DIR: a check that writes nothing
mkdir -p "$T/empty"
(cd "$T/empty" && "$FSCK" --extract "$IMG" >/dev/null 2>&1) || bad "--extract without DIR failed"
[ -z "$(ls -A "$T/empty")" ] || bad "--extract without DIR wrote something"
run_rc 16 fsck-extract-empty "$FSCK" --extract= "$IMG"
# --extract=DIR, --nid/--path (a subtree into DIR)
run_rc 0 fsck-x "$FSCK" --extract="$T/x" "$IMG" &&
	run_rc 0 cmp-x "$TREECMP" --ignore-root-mtime "$SRC" "$T/x"
run_rc 0 fsck-path "$FSCK" --extract="$T/x-path" --path=/sub "$IMG"
(cd "$SRC/sub" && find . | LC_ALL=C sort) > want-sub.list
(cd "$T/x-path" && find . | LC_ALL=C sort) > got-sub.list
cmp -s want-sub.list got-sub.list || bad "--path=/sub: $(diff want-sub.list got-sub.list | head -5)"
cmp -s "$SRC/sub/big.bin" "$T/x-path/big.bin" || bad "--path=/sub: big.bin differs"
[ "$(readlink "$T/x-path/link")" = ../file.txt ] || bad "--path=/sub: link target"
[ "$(stat -c %u:%g "$T/x-path")" = 42:42 ] || bad "--path=/sub: DIR did not get /sub's owner"
runcmd nid "$DUMP" --path=/sub/deep "$IMG"
nid=$(sed -n 's/^nid: //p' nid.out)
run_rc 0 fsck-nid "$FSCK" --extract="$T/x-nid" --nid="$nid" "$IMG"
cmp -s "$SRC/sub/deep/er/leaf" "$T/x-nid/er/leaf" || bad "--nid: er/leaf differs"
run_rc 0 fsck-nid-check "$FSCK" --nid="$nid" "$IMG"
# a file: DIR is the name it is extracted as
run_rc 0 fsck-path-file "$FSCK" --path=/sub/big.bin --extract="$T/one.bin" "$IMG"
cmp -s "$SRC/sub/big.bin" "$T/one.bin" || bad "--path=FILE: not the file's bytes"
[ "$(stat -c %u "$T/one.bin")" = 1234 ] || bad "--path=FILE: owner not set"
run_rc 0 fsck-path-link "$FSCK" --path=/sub/link --extract="$T/one.link" "$IMG"
[ "$(readlink "$T/one.link")" = ../file.txt ] || bad "--path=SYMLINK: target"
run_rc 0 fsck-path-file-check "$FSCK" --path=/sub/big.bin "$IMG"
run_rc 16 fsck-path-missing "$FSCK" --path=/no/such "$IMG"
# --overwrite
run_rc 8 fsck-again "$FSCK" --extract="$T/x" "$IMG"
says fsck-again fsck-again.err "--overwrite" "--overwrite"
run_rc 0 fsck-overwrite "$FSCK" --overwrite --extract="$T/x" "$IMG"
# --force: --extract=/ needs it; it and the extraction options need --extract=DIR
run_rc 16 fsck-root "$FSCK" --extract=/ "$IMG" && says fsck-root fsck-root.err "--force" "--force"
for o in --force --overwrite --preserve --no-preserve --preserve-owner --no-preserve-perms; do
	run_rc 16 "fsck-alone$o" "$FSCK" $o "$IMG"
done
# --[no-]preserve*, --[no-]xattrs (as root the default is to preserve)
run_rc 0 fsck-nopres "$FSCK" --no-preserve --no-xattrs --extract="$T/x-np" "$IMG"
[ "$(stat -c %u "$T/x-np/sub/big.bin")" = 0 ] || bad "--no-preserve: owner was set"
[ -z "$(getfattr -d --absolute-names "$T/x-np/file.txt" 2>/dev/null)" ] || bad "--no-xattrs set xattrs"
(umask 027; run_rc 0 fsck-umask "$FSCK" --no-preserve-perms --xattrs --extract="$T/x-um" "$IMG")
[ "$(stat -c %a "$T/x-um/file.txt")" = 640 ] || bad "--no-preserve-perms: 0666 & ~027 is $(stat -c %a "$T/x-um/file.txt")"
[ "$(stat -c %u "$T/x-um/sub/big.bin")" = 1234 ] || bad "--no-preserve-perms changed owners"
[ "$(getfattr --only-values -n user.color "$T/x-um/file.txt" 2>/dev/null)" = blue ] || bad "--xattrs"
run_rc 0 fsck-pres "$FSCK" --no-preserve --preserve --extract="$T/x-p" "$IMG"
[ "$(stat -c %a:%u "$T/x-p/suid")" = 4755:0 ] && [ "$(stat -c %u "$T/x-p/sub/big.bin")" = 1234 ] ||
	bad "--preserve: $(stat -c %a:%u "$T/x-p/suid") $(stat -c %u "$T/x-p/sub/big.bin")"
# --device, with the blobs in the wrong order (a sealed image: found by digest)
mkdir -p "$T/s1" "$T/s2" "$T/blobs"
rnd 90000 > "$T/s1/a"
cp "$T/s1/a" "$T/s2/a"
rnd 50000 | tr '\0-\377' '\1-\377\0' > "$T/s2/b"
run_rc 0 seal1 "$MKFS" --quiet --blob-dir="$T/blobs" "$T/s1.img" "$T/s1"
run_rc 0 seal2 "$MKFS" --quiet --blob-dir="$T/blobs" --chunk-dict="$T/s1.img" "$T/s2.img" "$T/s2"
mapfile -t devs < <("$DUMP" -s "$T/s2.img" | sed -n 's/^  device [12]: .*tag "\([0-9a-f]*\)"$/\1/p')
[ ${#devs[@]} = 2 ] || fail "expected 2 blobs in s2.img, dump -s says: ${devs[*]}"
cp "$T/blobs/${devs[0]}" "$T/first.blob"
cp "$T/blobs/${devs[1]}" "$T/second.blob"
run_rc 0 fsck-dev "$FSCK" --device="$T/first.blob" --device="$T/second.blob" "$T/s2.img"
run_rc 0 fsck-dev-swapped "$FSCK" --device="$T/second.blob" --device="$T/first.blob" \
	--extract="$T/x-s2" "$T/s2.img"
says fsck-dev-swapped fsck-dev-swapped.err "device 1 \(.*second.blob\) is blob 2 \(sha256:${devs[1]}\): wrong order\?" \
	"'device 1 (...) is blob 2 (...): wrong order?'"
run_rc 0 cmp-s2 "$TREECMP" --ignore-root-mtime "$T/s2" "$T/x-s2"

# ---------------------------------------------------------------------------
echo "== dump.erofs options that work as in erofs-utils"
run_rc 0 dump-V "$DUMP" -V
run_rc 0 dump-h "$DUMP" -h && says dump-h dump-h.out "--cat" "--cat"
run_rc 0 dump-s "$DUMP" -s "$IMG" && says dump-s dump-s.out "$UUID" "the UUID"
run_rc 0 dump-S "$DUMP" -S "$IMG"
run_rc 0 dump-ls "$DUMP" --path=/sub --ls "$IMG" && says dump-ls dump-ls.out " big\.bin$" "big.bin"
run_rc 0 dump-nid "$DUMP" --nid="$nid" "$IMG" && says dump-nid dump-nid.out "^type: dir" "a directory"
run_rc 0 dump-dev "$DUMP" --device="$T/w0.blob" --path=/sub/big.bin -e "$T/w0.img" &&
	says dump-dev dump-dev.out "device 1 block" "a chunk on device 1"
# -e of files that are not chunked: the flat blocks and the inline tail
run_rc 0 dump-e "$DUMP" -e --path=/sub/big.bin "$IMG"
says dump-e dump-e.out "^0\.\.[0-9]+ -> device 0 block [0-9]+$" "the flat blocks"
says dump-e dump-e.out "\.\.70000 -> inline at byte [0-9]+$" "the inline tail"
# --cat: the bytes of a file, a symlink's target
run_rc 0 dump-cat "$DUMP" --cat --path=/sub/big.bin "$IMG"
cmp -s dump-cat.out "$SRC/sub/big.bin" || bad "--cat: not the file's bytes"
run_rc 0 dump-cat-blob "$DUMP" --cat --device="$T/w0.blob" --path=/sub/big.bin "$T/w0.img"
cmp -s dump-cat-blob.out "$SRC/sub/big.bin" || bad "--cat (chunked, blob): not the file's bytes"
run_rc 0 dump-cat-link "$DUMP" --cat --path=/sub/link "$IMG"
[ "$(cat dump-cat-link.out)" = ../file.txt ] || bad "--cat of a symlink: $(cat dump-cat-link.out)"
run_rc 1 dump-cat-dir "$DUMP" --cat --path=/sub "$IMG"
run_rc 2 dump-cat-s "$DUMP" --cat -s --path=/file.txt "$IMG"
# --blkid-udev: what blkid says
run_rc 0 dump-udev "$DUMP" --blkid-udev "$IMG"
blkid -o udev "$IMG" | grep -E '^ID_FS_(UUID|UUID_ENC|TYPE)=' | LC_ALL=C sort > udev.want
grep -E '^ID_FS_(UUID|UUID_ENC|TYPE)=' dump-udev.out | LC_ALL=C sort > udev.got
cmp -s udev.want udev.got || bad "--blkid-udev: $(diff udev.want udev.got | head -5)"

# ---------------------------------------------------------------------------
echo "== erofs-verify: -j/--workers, 0 = all cores"
for o in -j0 --workers=0 --workers=3 --threads=1; do
	run_rc 0 "verify$o" "$VERIFY" --integrity-only $o "$T/s2.img" "$T/first.blob" "$T/second.blob"
done
run_rc 16 fsck-workers-bad "$FSCK" --workers=x "$IMG"
run_rc 0 fsck-workers "$FSCK" -j 0 --workers=2 "$IMG"

# ---------------------------------------------------------------------------
echo "== a whole tree extracted by an unprivileged user"
NOBODY=(setpriv --reuid=65534 --regid=65534 --clear-groups)
FS=$FSCK
if ! "${NOBODY[@]}" test -x "$FS"; then
	cp "$FSCK" "$T/fsck-copy" && chmod 755 "$T/fsck-copy" && FS=$T/fsck-copy
fi
mkdir -p "$T/nb"
chown 65534:65534 "$T/nb"
chmod 644 "$IMG"
"${NOBODY[@]}" test -r "$IMG" || fail "uid 65534 cannot read $IMG (is \$TMPDIR traversable?)"
runcmd nobody "${NOBODY[@]}" bash -c 'umask 0; exec "$@"' - "$FS" --extract="$T/nb/out" "$IMG"
crashed "$RC" && fail "non-root extraction crashed (exit $RC)"
[ "$RC" = 0 ] || bad "non-root extraction exited $RC: $(head -c 600 nobody.err)"
says nobody nobody.err "warning: /null: character device 1:3 not created" "a warning for /null"
says nobody nobody.err "warning: /loopdev: block device 7:200 not created" "a warning for /loopdev"
says nobody nobody.err "warning: .*xattr trusted\.secret not set" "a warning for trusted.secret"
not_says nobody nobody.err "owner" "a word about owners (not asked to set them)"
# the oracle: the source without what only root can make, owners aside
cp -a "$SRC" "$T/want"
rm "$T/want/null" "$T/want/loopdev"
setfattr -x trusted.secret "$T/want/sub/big.bin"
runcmd cmp-nobody "$TREECMP" --no-owner --ignore-root-mtime "$T/want" "$T/nb/out"
[ "$RC" = 0 ] || bad "non-root extraction differs from the source: $(head -c 800 cmp-nobody.out)"
[ -z "$(find "$T/nb/out" ! -user 65534 -print -quit)" ] || bad "a file is not owned by the extracting user"
[ "$(stat -c %a "$T/nb/out/suid")" = 4755 ] || bad "umask 0: suid is $(stat -c %a "$T/nb/out/suid")"
# the default for users is the umask; --preserve-owner asks for owners it cannot give
rm -rf "$T/nb/out"
runcmd nobody-umask "${NOBODY[@]}" bash -c 'umask 022; exec "$@"' - "$FS" --preserve-owner \
	--extract="$T/nb/out" "$IMG"
[ "$RC" = 0 ] || bad "non-root extraction with --preserve-owner exited $RC: $(head -c 600 nobody-umask.err)"
[ "$(stat -c %a "$T/nb/out/file.txt")" = 644 ] || bad "umask 022: 0666 gave $(stat -c %a "$T/nb/out/file.txt")"
[ "$(grep -c 'owner .* not set' nobody-umask.err)" = 1 ] ||
	bad "--preserve-owner as a user: not one warning about owners: $(head -c 600 nobody-umask.err)"

finish_cases "erofs-utils options work or are refused by name; a user extracts a whole tree"
