#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# A chain of 100 images (30 in the sanitizer pass), each built with --chunk-dict of the one before
# into one --blob-dir: every step adds a file (kept from then on) and
# rewrites a few, so each image adds a blob and keeps reading the old
# ones.  Two chains from the same trees: chain A without a repack policy,
# chain B with --repack-below=5%; and an encrypted chain of 24 images.
#
#  * A's last image reads every one of its 100 blobs, so its device table
#    does not fit block 0: devt_slotoff (read from the superblock's bytes)
#    points past block 0;
#  * the last image of each chain mounts with the kernel, one loop device
#    per blob in device-table order (the kernel refuses a count that is
#    not the superblock's), and equals its tree (treecmp); erofs-verify
#    passes; fsck.erofs --extract equals the tree; so does the boot
#    reader's extraction (boot-extract, the manifest digest pinned);
#  * B's last image reads far fewer blobs: with 5% no old blob that is
#    kept gives less than 5% of the chunk bytes, so at most 20 of them;
#  * dump.erofs --delta between the last two images of B names the one
#    blob a pull needs: the new blob mkfs reported, its size (stat);
#  * the encrypted image of 24 blobs keeps its (plain) device table past
#    block 0; it verifies, and fsck.erofs and the boot reader extract it
#    with the key to its tree.

_lib=$(dirname "$0")/lib.sh
[ -r "$_lib" ] || _lib=${srcdir:-.}/integration/lib.sh
. "$_lib" || { echo "FAIL: cannot source lib.sh"; exit 1; }

need_progs MKFS FSCK DUMP VERIFY TREECMP
need_cmd stat od

STEPS=100
# under ASan/UBSan 30 steps: still past the 23 slots of block 0 (the
# paths are the same; the plain pass shows the full chain)
sanitized_build && STEPS=30
cd "$T" || fail "cannot enter $T"

# fill FILE LEN TEXT: LEN bytes of TEXT repeated (no process: 200 builds
# are the test's time, not the making of their trees)
fill() {
	local pad
	printf -v pad '%*s' "$2" ''
	pad=${pad// /$3}
	printf '%s' "${pad:0:$2}" >"$1"
}

# the tree of step $1, made from the tree of the step before: a new file
# kept from then on (one to two chunks), three files rewritten
step_tree() {
	local i=$1 k
	mkdir -p src/keep/g$((i / 10)) src/hot
	fill "src/keep/g$((i / 10))/f$i" $((4096 + (i * 37) % 3000)) "file $i;"
	for k in 0 1 2; do
		fill "src/hot/h$k" 4096 "hot $k at step $i;"
	done
	echo "$i" >src/step
	[ "$i" = 0 ] && ln -s keep/g0/f0 src/link
	return 0
}

# the blobs of IMAGE in device-table order, as paths under DIR
blobs_of() {
	"$DUMP" "$1" | sed -n 's/^  device [0-9]*: .*tag "\([0-9a-f]\{64\}\)"$/\1/p' |
		sed "s|^|$2/|"
}

# superblock bytes: extra_devices (le16 at 1024 + 86), devt_slotoff (at 1024 + 88)
le16() { od -An -tu2 -j "$2" -N2 "$1" | tr -d ' '; }

# The encrypted image IMG of 24 blobs, while src is its tree: the table
# (plain) is past block 0; verified, extracted with the key by fsck and
# by the boot reader, equal to the tree.
check_encrypted() {
	local img=$1 n slotoff digest b
	local -a devs=()
	n=$(le16 "$img" 1110) slotoff=$(le16 "$img" 1112)
	[ "$n" = "$ENC_STEPS" ] || fail "encrypted chain: $img reads $n blobs, expected $ENC_STEPS"
	[ "$slotoff" -ge 32 ] || fail "encrypted chain: devt_slotoff $slotoff is in block 0"
	runcmd verify-e "$VERIFY" --integrity-only --blob-dir=blobs-e "$img"
	[ "$RC" = 0 ] || fail "encrypted chain: erofs-verify exit $RC: $(cat verify-e.out verify-e.err)"
	runcmd fsck-e "$FSCK" --unlock=keyfile:slot.key --allow-unsigned --blob-dir=blobs-e \
		--extract=out-e "$img"
	[ "$RC" = 0 ] || fail "encrypted chain: fsck --extract exit $RC: $(cat fsck-e.err)"
	"$TREECMP" src out-e >cmp-e.out 2>&1 ||
		fail "encrypted chain: fsck --extract differs from the tree: $(head -20 cmp-e.out)"
	if [ -n "${BOOT_EXTRACT:-}" ] && [ -x "$BOOT_EXTRACT" ]; then
		digest=$("$DUMP" -s "$img" | sed -n 's/^Seal manifest digest: *//p')
		while read -r b; do devs+=(--device "$b"); done < <(blobs_of "$img" blobs-e)
		runcmd boot-e "$BOOT_EXTRACT" --expect-digest "$digest" --keyfile slot.key \
			"${devs[@]}" "$img" boot-e
		[ "$RC" = 0 ] || fail "encrypted chain: boot-extract exit $RC: $(cat boot-e.err)"
		"$TREECMP" --no-hardlinks --no-xattrs out-e boot-e >bcmp-e.out 2>&1 ||
			fail "encrypted chain: the boot reader's extraction differs: $(head -20 bcmp-e.out)"
	fi
	info "encrypted chain: $img reads $n blobs, device table at block $((slotoff / 32)), extracts equal"
}

ENC_STEPS=24
fill domain.key 32 "domain key;"
fill slot.key 64 "slot key;"
start=$(date +%s)
prev_a="" prev_b="" prev_e=""
for ((i = 0; i < STEPS; i++)); do
	step_tree "$i"
	runcmd mkfs-a "$MKFS" -j 1 --blob-dir=blobs-a \
		${prev_a:+--chunk-dict=$prev_a} "a$i.img" src
	[ "$RC" = 0 ] || fail "chain A step $i: mkfs exit $RC: $(cat mkfs-a.err)"
	runcmd mkfs-b "$MKFS" -j 1 --blob-dir=blobs-b \
		${prev_b:+--chunk-dict=$prev_b --repack-below=5%} "b$i.img" src
	[ "$RC" = 0 ] || fail "chain B step $i: mkfs exit $RC: $(cat mkfs-b.err)"
	prev_a=a$i.img prev_b=b$i.img
	# an encrypted chain as long as it takes to leave block 0
	if [ "$i" -lt "$ENC_STEPS" ]; then
		runcmd mkfs-e "$MKFS" -j 1 --encrypt --domain-key=domain.key \
			--keyslot=keyfile:slot.key --blob-dir=blobs-e \
			${prev_e:+--chunk-dict=$prev_e} "e$i.img" src
		[ "$RC" = 0 ] || fail "encrypted chain step $i: mkfs exit $RC: $(cat mkfs-e.err)"
		prev_e=e$i.img
	fi
	[ "$i" = $((ENC_STEPS - 1)) ] && check_encrypted "e$i.img"
done
last=$((STEPS - 1))
cp mkfs-b.out last-b.out
info "built 2 x $STEPS images in $(($(date +%s) - start)) s"

mapfile -t blobs_a < <(blobs_of "a$last.img" blobs-a)
mapfile -t blobs_b < <(blobs_of "b$last.img" blobs-b)
na=${#blobs_a[@]} nb=${#blobs_b[@]}
info "last image of chain A: $na blobs; of chain B (--repack-below=5%): $nb blobs"
[ "$na" = "$STEPS" ] || fail "chain A: the last image reads $na blobs, expected $STEPS"
[ "$nb" -ge 2 ] && [ "$nb" -le 21 ] ||
	fail "chain B: the last image reads $nb blobs, expected 2..21 (20 old + its own)"
for b in "${blobs_a[@]}" "${blobs_b[@]}"; do
	[ -f "$b" ] || fail "the device table names $b, which is not in the blob folder"
done

[ "$(le16 "a$last.img" 1110)" = "$na" ] || fail "chain A: extra_devices is not $na"
slotoff=$(le16 "a$last.img" 1112)
[ "$slotoff" -ge 32 ] || fail "chain A: devt_slotoff $slotoff: the table of $na blobs is in block 0"
info "chain A: device table at byte $((slotoff * 128)) (block $((slotoff / 32)))"

for c in a b; do
	img=$c$last.img
	if [ $c = a ]; then blobs=("${blobs_a[@]}"); else blobs=("${blobs_b[@]}"); fi
	runcmd verify-$c "$VERIFY" --integrity-only --blob-dir=blobs-$c "$img"
	[ "$RC" = 0 ] || fail "chain $c: erofs-verify exit $RC: $(cat verify-$c.out verify-$c.err)"
	runcmd fsck-$c "$FSCK" --blob-dir=blobs-$c --extract=out-$c "$img"
	[ "$RC" = 0 ] || fail "chain $c: fsck --extract exit $RC: $(cat fsck-$c.err)"
	"$TREECMP" src out-$c >cmp-$c.out 2>&1 ||
		fail "chain $c: fsck --extract differs from the tree: $(head -20 cmp-$c.out)"
	if [ -n "${BOOT_EXTRACT:-}" ] && [ -x "$BOOT_EXTRACT" ]; then
		digest=$("$DUMP" -s "$img" | sed -n 's/^Seal manifest digest: *//p')
		devs=()
		for b in "${blobs[@]}"; do devs+=(--device "$b"); done
		runcmd boot-$c "$BOOT_EXTRACT" --expect-digest "$digest" "${devs[@]}" "$img" boot-$c
		[ "$RC" = 0 ] || fail "chain $c: boot-extract exit $RC: $(cat boot-$c.err)"
		"$TREECMP" --no-hardlinks --no-xattrs out-$c boot-$c >bcmp-$c.out 2>&1 ||
			fail "chain $c: the boot reader's extraction differs from fsck's: $(head -20 bcmp-$c.out)"
	fi
done

echo "== dump --delta: the blob a pull of b$last needs"
new_b=$(sed -n 's|^mkfs.erofs: new blob blobs-b/\([0-9a-f]\{64\}\),.*|\1|p' last-b.out)
[ -n "$new_b" ] || fail "mkfs did not report a new blob for b$last: $(cat last-b.out)"
runcmd delta "$DUMP" --delta="b$((last - 1)).img" "b$last.img"
[ "$RC" = 0 ] || fail "dump --delta exit $RC: $(cat delta.err)"
grep -q "^new blobs: 1 of $nb\$" delta.out || fail "dump --delta: $(cat delta.out)"
grep -q "^  pull blob $new_b (device 1): $(stat -c %s "blobs-b/$new_b") bytes\$" delta.out ||
	fail "dump --delta does not name the new blob $new_b: $(cat delta.out)"

echo "== the kernel mounts the last images, one loop device per blob"
# the checks above passed; what follows needs root and the kernel's erofs
[ "$(id -u)" = 0 ] || skip "the kernel mounts need root (everything else passed)"
need_cmd mount umount losetup
grep -qw erofs /proc/filesystems 2>/dev/null || modprobe erofs 2>/dev/null
grep -qw erofs /proc/filesystems || skip "kernel has no erofs support (everything else passed)"
for c in a b; do
	if [ $c = a ]; then blobs=("${blobs_a[@]}"); else blobs=("${blobs_b[@]}"); fi
	mount_erofs "$c$last.img" mnt-$c "${blobs[@]}" ||
		fail "chain $c: the kernel does not mount the last image with ${#blobs[@]} devices"
	"$TREECMP" src mnt-$c >mcmp-$c.out 2>&1 ||
		fail "chain $c: the mounted image differs from the tree: $(head -20 mcmp-$c.out)"
	umount_erofs mnt-$c
done
info "chain test took $(($(date +%s) - start)) s"
exit 0
