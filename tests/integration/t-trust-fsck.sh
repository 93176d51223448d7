#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# What fsck.erofs trusts, and what it writes when it extracts.
#
#  seal-stripped   a signed image cut back to its filesystem region, a file
#                  edited: with --cert or --pubkey exit 4 ("not sealed ...
#                  cannot be authenticated"), nothing extracted; without
#                  anchors it is checked (exit 0) and called not
#                  authenticated
#  seal-failed     one byte of the filesystem region edited, a blob edited
#                  (given with --device), a signer that is not trusted, a
#                  blob not given: exit 4 (8 for the missing blob), DIR not
#                  created, an existing DIR left exactly as it was; a blob
#                  edited and found with --blob-dir (checked on read):
#                  exit 4, its block named, only whole files in DIR
#  authenticated   a good image with --cert extracts equal to its source;
#                  without anchors it extracts too but stderr says the
#                  content was not authenticated
#  verdict         the "seal:" line on stdout says "not authenticated"
#                  unless anchors authenticated the seal
#  overwrite       --overwrite --extract twice into the same DIR (symlinks,
#                  hard links, devices, ... already there) equals the source
#  existing-root   --extract into an existing DIR leaves its own mode,
#                  owner and xattrs alone and does not give it the image
#                  root's mtime (--overwrite applies all of them)
#  pinned          --expect-digest with the manifest's SHA-256 (from
#                  sha256sum of the exported manifest) authenticates and
#                  extracts; another image's digest, or a stripped seal,
#                  extracts nothing (exit 4); a malformed pin is usage (16)
#  deep            a chain of 1500 directories (paths > PATH_MAX, a hard link
#                  at the bottom) checks with 32 descriptors and extracts
#                  with 256, equal to its source
#  deep-files      200 nested read-only directories with a file in each
#                  (files made by the data threads, their directories'
#                  metadata after them): -j 1, 2, 8 extract it equal to its
#                  source
#
# Every case runs; the failures are listed at the end.

_lib=$(dirname "$0")/lib.sh
[ -r "$_lib" ] || _lib=${srcdir:-.}/integration/lib.sh
. "$_lib" || { echo "FAIL: cannot source lib.sh"; exit 1; }

need_root
need_progs MKFS FSCK DUMP VERIFY TREECMP GENTREE
need_cmd openssl od dd truncate getfattr setfattr mknod stat cmp

cd "$T" || fail "cannot enter $T"

# fsck_rc WANT NAME ARGS...: fsck.erofs ARGS must exit WANT (output in
# NAME.out / NAME.err); returns 1 otherwise
fsck_rc() {
	local want=$1 name=$2
	shift 2
	runcmd "$name" "$FSCK" "$@"
	if crashed "$RC"; then
		bad "$name: fsck crashed (exit $RC): $(head -c 1000 "$name.err")"
		return 1
	fi
	if [ "$RC" -ne "$want" ]; then
		bad "$name: fsck exit $RC, expected $want: $(head -c 600 "$name.err")"
		return 1
	fi
	info "$name: exit $RC"
}



# absent NAME DIR: the extraction target must not have been created
absent() {
	if [ -e "$2" ] || [ -L "$2" ]; then
		bad "$1: $2 was created ($(find "$2" | head -n 5 | tr '\n' ' '))"
		rm -rf "$2"
	fi
}

# same_tree NAME A B [TREECMP-OPTIONS...]
same_tree() {
	local name=$1 a=$2 b=$3
	shift 3
	runcmd "$name.cmp" "$TREECMP" "$@" "$a" "$b"
	[ "$RC" -eq 0 ] ||
		bad "$name: $b differs from $a: $(head -n 5 "$name.cmp.out" "$name.cmp.err" | cut -c1-200)"
}

echo "== setup: keys, a tree with setuid files and device nodes, images"
for k in good other; do
	must openssl req -x509 -newkey rsa:2048 -nodes -keyout "$k.pem" \
		-out "$k-cert.pem" -days 3650 -subj "/CN=t-trust-fsck $k" -sha256
	must openssl pkey -in "$k.pem" -pubout -out "$k.pub"
done
mkdir -p src/sub
printf 'the original content of the victim file\n' >src/victim.txt
printf 'setuid\n' >src/suid
chmod 4755 src/suid
mknod src/null c 1 3
mknod src/disk b 8 1
ln -s victim.txt src/link
printf 'below\n' >src/sub/file
head -c 20000 /dev/zero | tr '\0' 'z' >src/sub/bigger
touch -d '2020-01-01 00:00:00' src/sub src
must "$MKFS" --quiet --sign-key=good.pem --sign-cert=good-cert.pem S.img src
must "$MKFS" --quiet --sign-key=other.pem --sign-cert=other-cert.pem U.img src
must "$MKFS" --quiet --seal N.img src
mkdir blobs
must "$MKFS" --quiet --sign-key=good.pem --sign-cert=good-cert.pem --blob-dir=blobs B.img src
blob=$(ls blobs)
[ "$(echo "$blob" | wc -w)" -eq 1 ] || fail "B.img should have one blob: $blob"
fsck_rc 0 pristine --cert=good-cert.pem S.img || fail "the pristine image does not check"

isz=$(stat -c %s S.img)
LOC=$((isz - 4096))
[ "$(dd if=S.img bs=1 skip=$LOC count=8 status=none)" = EROFSEAL ] || fail "S.img has no seal locator"
FSZ=$(rd_le64 S.img $((LOC + 32)))
erofs_lookup S.img /victim.txt || fail "cannot find /victim.txt in S.img"
erofs_inode S.img "$LK_NID"
VOFF=$(erofs_data_off S.img 0)
[ "$VOFF" -gt 0 ] && [ "$VOFF" -lt "$FSZ" ] || fail "cannot locate the data of /victim.txt ($VOFF)"
[ "$(dd if=S.img bs=1 skip="$VOFF" count=12 status=none)" = "the original" ] ||
	fail "/victim.txt data is not at $VOFF"
info "filesystem region $FSZ bytes of $isz; /victim.txt data @$VOFF"

# tamper IMG: "the original" -> "THE TAMPERED" in /victim.txt
tamper() { wr_str "$1" "$VOFF" "THE TAMPERED"; }

echo "== seal-stripped: a signed image without its seal"
head -c "$FSZ" S.img >stripped.img
tamper stripped.img
for anchor in --cert=good-cert.pem --pubkey=good.pub; do
	name=stripped${anchor%%=*}
	if fsck_rc 4 "$name" "$anchor" --extract=x-"$name" stripped.img; then
		says "$name" "$name.err" "not sealed" "that the image is not sealed"
		says "$name" "$name.err" "cannot be authenticated" "that it cannot be authenticated"
	fi
	absent "$name" x-"$name"
done
runcmd stripped-verify "$VERIFY" --cert=good-cert.pem stripped.img
[ "$RC" -eq 5 ] || bad "stripped-verify: erofs-verify exit $RC, expected 5"
# without anchors an unsealed image is checked as before, but not trusted
fsck_rc 0 stripped-noanchor stripped.img &&
	says stripped-noanchor stripped-noanchor.out "^seal: .*not authenticated" \
		"'not authenticated' on its seal line"

echo "== seal-failed: nothing is extracted"
cp S.img T.img
tamper T.img
fsck_rc 4 region-cert --cert=good-cert.pem --extract=x-region-cert T.img
absent region-cert x-region-cert
if fsck_rc 4 region-noanchor --extract=x-region-noanchor T.img; then
	says region-noanchor region-noanchor.err "not extract|nothing (is|was) extracted" \
		"why nothing was extracted"
fi
absent region-noanchor x-region-noanchor
# an existing target stays exactly as it was
mkdir x-keep
printf 'mine\n' >x-keep/mine
chmod 0751 x-keep
touch -d '2001-02-03 04:05:06' x-keep/mine x-keep
before=$(stat -c '%a %u %g %Y' x-keep; ls -A x-keep)
fsck_rc 4 region-existing --cert=good-cert.pem --extract=x-keep T.img
fsck_rc 4 region-existing-noanchor --extract=x-keep T.img
after=$(stat -c '%a %u %g %Y' x-keep; ls -A x-keep)
[ "$before" = "$after" ] || bad "region-existing: the target changed: '$before' -> '$after'"

fsck_rc 4 untrusted --cert=good-cert.pem --extract=x-untrusted U.img
absent untrusted x-untrusted

# a blob that fails its tree: found by --blob-dir, it is checked as
# extraction reads it (verify on read): exit 4, the block named, and no
# regular file in DIR that is not whole and equal to the source; given by
# --device, it is checked whole first and nothing is extracted
mkdir badblobs
cp "blobs/$blob" badblobs/
flip_bit "badblobs/$blob" 100 3
# only_whole_files NAME DIR: every regular file below DIR equals the source
only_whole_files() {
	local f
	while IFS= read -r -d '' f; do
		cmp -s "$2/$f" "src/$f" || bad "$1: $2/$f is not the source's"
	done < <(cd "$2" && find . -type f -print0)
	rm -rf "$2"
}
for anchor in --cert=good-cert.pem ""; do
	name=blob-bad${anchor:+-anchored}
	if fsck_rc 4 "$name" $anchor --blob-dir=badblobs --extract=x-"$name" B.img; then
		says "$name" "$name.err" "blob 1: block 0 fails its Merkle tree" "which block failed"
		says "$name" "$name.out" "^seal: .*not authenticated" "'not authenticated'"
	fi
	only_whole_files "$name" x-"$name"
done
fsck_rc 4 blob-bad-device --cert=good-cert.pem --device="badblobs/$blob" \
	--extract=x-blob-bad-device B.img
absent blob-bad-device x-blob-bad-device
# a blob that is not given cannot be checked: nothing is extracted
if fsck_rc 8 blob-unchecked --cert=good-cert.pem --extract=x-blob-unchecked B.img; then
	says blob-unchecked blob-unchecked.err "not checked|could not be checked" \
		"that a device was not checked"
fi
absent blob-unchecked x-blob-unchecked

echo "== pinned manifest digest (--expect-digest)"
# the pin comes from the manifest bytes themselves, hashed by sha256sum
must "$DUMP" --export-manifest=S.manifest S.img
pin=sha256:$(sha256sum S.manifest | cut -c1-64)
must "$DUMP" --export-manifest=U.manifest U.img
otherpin=sha256:$(sha256sum U.manifest | cut -c1-64)
if fsck_rc 0 pin-good --expect-digest="$pin" --extract=x-pin-good S.img; then
	same_tree pin-good src x-pin-good
	says pin-good pin-good.out "^seal: .*expect-digest.* authenticated" \
		"that the pinned digest authenticated the seal"
fi
fsck_rc 4 pin-wrong --expect-digest="$otherpin" --extract=x-pin-wrong S.img
absent pin-wrong x-pin-wrong
# a stripped seal fails with a pin as with a key
fsck_rc 4 pin-stripped --expect-digest="$pin" --extract=x-pin-stripped stripped.img
absent pin-stripped x-pin-stripped
fsck_rc 16 pin-syntax --expect-digest=sha256:1234 S.img

echo "== authenticated extraction"
if fsck_rc 0 good-cert --cert=good-cert.pem --extract=x-good S.img; then
	same_tree good-cert src x-good
	not_says good-cert good-cert.err "not authenticated" "'not authenticated'"
	not_says good-cert good-cert.out "not authenticated" "'not authenticated'"
fi
if fsck_rc 0 good-blob --pubkey=good.pub --blob-dir=blobs --extract=x-good-blob B.img; then
	same_tree good-blob src x-good-blob
fi
if fsck_rc 0 good-noanchor --extract=x-good-noanchor S.img; then
	same_tree good-noanchor src x-good-noanchor
	says good-noanchor good-noanchor.err "not authenticated" \
		"that the extracted content was not authenticated"
fi
# the untrusted signer is only an integrity check without anchors
fsck_rc 0 untrusted-noanchor --extract=x-untrusted-noanchor U.img &&
	says untrusted-noanchor untrusted-noanchor.err "not authenticated" \
		"that the extracted content was not authenticated"

echo "== verdict: the seal line on stdout"
fsck_rc 0 verdict-signed S.img &&
	says verdict-signed verdict-signed.out \
		"^seal: .*1 signature not checked — not authenticated \(give --cert or --pubkey\)" \
		"that the signature was not checked and the image is not authenticated"
fsck_rc 0 verdict-unsigned N.img &&
	says verdict-unsigned verdict-unsigned.out "^seal: .*the seal is unsigned — not authenticated" \
		"that an unsigned seal is not authenticated"
fsck_rc 0 verdict-cert --cert=good-cert.pem S.img && {
	says verdict-cert verdict-cert.out "^seal: .*1 of 1 signatures by a trusted key" \
		"the trusted signature"
	not_says verdict-cert verdict-cert.out "not authenticated" "'not authenticated'"
}
fsck_rc 4 verdict-untrusted --cert=good-cert.pem U.img &&
	says verdict-untrusted verdict-untrusted.out "^seal: .*not authenticated" \
		"that the image is not authenticated"

echo "== overwrite: extract twice into the same directory"
# short names: the paths stay below PATH_MAX (the deep case covers longer)
GENTREE_SHORT_PATHS=1 GENTREE_SPARSE_SIZE=64M bash "$GENTREE" full full >gen-full.log 2>&1
grc=$?
if [ $grc -eq 77 ]; then
	info "overwrite: skipped ($(tail -n 1 gen-full.log))"
elif [ $grc -ne 0 ]; then
	cat gen-full.log
	fail "gentree full failed ($grc)"
else
	must "$MKFS" --quiet full.img full
	for pass in 1 2; do
		fsck_rc 0 overwrite-$pass --overwrite --extract=x-full full.img || break
	done
	[ -d x-full ] && same_tree overwrite full x-full
	rm -rf full x-full full.img
fi

echo "== existing-root: an existing target keeps its own metadata"
mkdir -p rsrc/inner
printf 'in\n' >rsrc/inner/f
chmod 0755 rsrc
setfattr -n trusted.overlay.opaque -v y rsrc
setfattr -n user.root -v r rsrc
touch -d '2011-11-11 11:11:11' rsrc
must "$MKFS" --quiet R.img rsrc
mkdir x-root x-root-ow
for d in x-root x-root-ow; do
	chmod 0710 "$d"
	chown 1234:4321 "$d"
	touch -d '2003-03-03 03:03:03' "$d"
done
before=$(stat -c '%a %u %g' x-root)
if fsck_rc 0 existing-root --extract=x-root R.img; then
	after=$(stat -c '%a %u %g' x-root)
	[ "$before" = "$after" ] ||
		bad "existing-root: the target's own metadata changed: '$before' -> '$after'"
	# its mtime moves as entries are added, but is not the image root's
	[ "$(stat -c %Y x-root)" != "$(stat -c %Y rsrc)" ] ||
		bad "existing-root: the target got the image root's mtime"
	getfattr -h -d -m - x-root 2>/dev/null >x-root.xattrs
	not_says existing-root x-root.xattrs "overlay|user.root" "the image root's xattrs on the target"
	[ -f x-root/inner/f ] || bad "existing-root: x-root/inner/f was not extracted"
fi
# with --overwrite, the target takes the image root's metadata
if fsck_rc 0 existing-root-ow --overwrite --extract=x-root-ow R.img; then
	same_tree existing-root-ow rsrc x-root-ow
fi

echo "== deep: 1500 nested directories"
mkdir deep
(
	cd deep || exit 1
	for ((i = 1; i <= 1500; i++)); do
		mkdir dir && cd dir || exit 1
		((i % 300 == 0)) && printf 'level %d\n' "$i" >"file$i"
	done
	printf 'the bottom\n' >bottom
	ln bottom bottom-link
	ln -s ../file1500 up
	exit 0
) || fail "cannot build the deep tree"
# the source tree's own descriptors are not under test: raise the limit for
# mkfs and treecmp (each may hold one or two per level)
(ulimit -n 8192 && exec "$MKFS" --quiet deep.img deep) >mkfs-deep.log 2>&1 ||
	{ head -c 1000 mkfs-deep.log; fail "mkfs of the deep tree failed"; }
(ulimit -n 32 && exec "$FSCK" deep.img) >deep-check.out 2>deep-check.err
rc=$?
[ $rc -eq 0 ] || bad "deep-check: fsck with 32 descriptors exited $rc: $(head -c 300 deep-check.err)"
(ulimit -n 256 && exec "$FSCK" --extract=x-deep deep.img) >deep-x.out 2>deep-x.err
rc=$?
if [ $rc -eq 0 ]; then
	(ulimit -n 8192 && exec "$TREECMP" deep x-deep) >deep-cmp.out 2>&1 ||
		bad "deep: extracted tree differs: $(head -n 5 deep-cmp.out | cut -c1-200)"
else
	bad "deep: fsck --extract with 256 descriptors exited $rc: $(head -c 300 deep-x.err | cut -c1-300)"
fi
info "deep: done"

# files of one name are created by the data threads: each directory's
# mtime and mode wait for them, and one they are still to be created in
# stays open past the window of descriptors
echo "== deep-files: 200 nested directories, a file and a read-only one in each"
mkdir deepf
(
	cd deepf || exit 1
	for ((i = 1; i <= 200; i++)); do
		mkdir d && printf 'level %d\n' "$i" >"f$i" && cd d || exit 1
	done
	exit 0
) || fail "cannot build the deep-files tree"
find deepf -type d -name d -exec chmod 0555 {} + -exec touch -d @1500000000 {} + ||
	fail "cannot make the deep-files directories read-only"
(ulimit -n 8192 && exec "$MKFS" --quiet deepf.img deepf) >mkfs-deepf.log 2>&1 ||
	{ head -c 1000 mkfs-deepf.log; fail "mkfs of the deep-files tree failed"; }
for j in 1 2 8; do
	# what is in flight grows with -j (as open files did before)
	(ulimit -n $((j < 8 ? 256 : 1024)) && exec "$FSCK" -j"$j" --extract="x-deepf$j" deepf.img) \
		>"deepf$j-x.out" 2>"deepf$j-x.err"
	rc=$?
	if [ $rc -eq 0 ]; then
		(ulimit -n 8192 && exec "$TREECMP" deepf "x-deepf$j") >"deepf$j-cmp.out" 2>&1 ||
			bad "deep-files -j$j: extracted tree differs: $(head -n 5 "deepf$j-cmp.out" | cut -c1-200)"
	else
		bad "deep-files -j$j: fsck --extract exited $rc: $(head -c 300 "deepf$j-x.err")"
	fi
done
chmod -R u+w deepf x-deepf1 x-deepf2 x-deepf8 2>/dev/null
info "deep-files: done"

finish_cases
