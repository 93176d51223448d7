#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# A seal does not break the foundation: sealed images of the `full` tree -
# plain `--seal`, signed (RSA CMS + Ed25519), and signed `--blob-dir` - are
# still plain EROFS for the kernel and erofs-utils 1.5:
#
#  * kernel mount (blobs on loop devices, device= in device-table order)
#    and treecmp against the source tree;
#  * /usr/bin/fsck.erofs (1.5) exits 0, also with --extract (no directory:
#    reads all file data), with --device= for the blob;
#  * our fsck.erofs checks the seal and exits 0;
#  * with -T and -U, the filesystem region of a `--seal` image is
#    byte-identical to the unsealed image (the seal is only appended).

_lib=$(dirname "$0")/lib.sh
[ -r "$_lib" ] || _lib=${srcdir:-.}/integration/lib.sh
. "$_lib" || { echo "FAIL: cannot source lib.sh"; exit 1; }

UFSCK=${UPSTREAM_FSCK:-/usr/bin/fsck.erofs}
need_root
need_progs MKFS FSCK DUMP TREECMP GENTREE
need_cmd mount umount losetup mountpoint openssl cmp
[ -x "$UFSCK" ] || skip "$UFSCK (erofs-utils) is not installed"
grep -qw erofs /proc/filesystems 2>/dev/null || modprobe erofs 2>/dev/null
grep -qw erofs /proc/filesystems || skip "kernel has no erofs support"
info "reference: $("$UFSCK" -V 2>&1 | head -n1)"

cd "$T" || fail "cannot enter $T"


must openssl req -x509 -newkey rsa:2048 -nodes -keyout rsa.pem -out rsa-cert.pem \
	-days 3650 -subj "/CN=t-seal-compat" -sha256
if openssl genpkey -algorithm ed25519 -out ed.pem >/dev/null 2>&1; then
	must openssl pkey -in ed.pem -pubout -out ed.pub
	ED=(--sign-key=ed.pem)
else
	ED=()
fi

bash "$GENTREE" full "$T/src" >gen.log 2>&1
rc=$?
[ $rc -eq 77 ] && skip "gentree: $(tail -n1 gen.log)"
[ $rc -eq 0 ] || { cat gen.log; fail "gentree full failed ($rc)"; }

# variant NAME USE-BLOB-DIR(0|1) MKFS-OPTIONS...
variant() {
	local name=$1 img=$T/$1.img mnt=$T/mnt-$1 bd="" t blocks isz
	local -a devs=() udev=() ourdev=()
	if [ "$2" = 1 ]; then
		bd=$T/blobs-$name
		mkdir "$bd"
	fi
	shift 2
	if [ -n "$bd" ]; then
		set -- "$@" "--blob-dir=$bd"
		ourdev=("--blob-dir=$bd")
	fi
	echo "== $name: mkfs $*"
	runcmd mkfs "$MKFS" --quiet "$@" "$img" "$T/src"
	crashed "$RC" && fail "mkfs crashed ($RC): $(head -c 2000 mkfs.err)"
	[ "$RC" -eq 0 ] || fail "mkfs exited $RC: $(head -c 2000 mkfs.err)"
	"$DUMP" -s "$img" >"dump-$name.out" 2>dump.err || fail "dump -s failed: $(cat dump.err)"
	grep -q '^Seal:' "dump-$name.out" || fail "dump -s shows no seal"
	blocks=$(sed -n 's/^Filesystem blocks: *\([0-9]*\).*/\1/p' "dump-$name.out")
	isz=$(stat -c %s "$img")
	[ $((blocks * 4096)) -lt "$isz" ] || fail "no seal after the $blocks-block filesystem"
	for t in $(sed -n 's/^ *device \([0-9]*\): blocks [0-9]*, mapped at block [0-9]*, tag "\([^"]*\)".*/\1 \2/p' \
		"dump-$name.out" | sort -n | cut -d' ' -f2); do
		[ -f "$bd/$t" ] || fail "blob $t of the device table is not in $bd"
		devs+=("$bd/$t")
		udev+=("--device=$bd/$t")
	done
	[ -z "$bd" ] || [ ${#devs[@]} -ge 1 ] || fail "--blob-dir image has no blob in its device table"
	info "image: $blocks filesystem blocks + $((isz - blocks * 4096)) bytes of seal, ${#devs[@]} blob(s)"

	case " $* " in
	*" --sign-cert=rsa-cert.pem "*) ourdev+=(--cert=rsa-cert.pem) ;;
	esac
	runcmd ourfsck "$FSCK" "${ourdev[@]}" "$img"
	crashed "$RC" && fail "our fsck crashed ($RC)"
	[ "$RC" -eq 0 ] || fail "our fsck exited $RC: $(head -c 2000 ourfsck.err)"
	grep -q '^seal: ' ourfsck.out || fail "our fsck printed no seal line: $(cat ourfsck.out)"
	info "our fsck: $(grep '^seal: ' ourfsck.out)"

	runcmd ufsck "$UFSCK" "${udev[@]}" "$img"
	[ "$RC" -eq 0 ] || fail "$UFSCK ${udev[*]} exited $RC: $(head -c 2000 ufsck.err)"
	info "erofs-utils fsck: exit 0"
	runcmd ufsckx "$UFSCK" "${udev[@]}" --extract "$img"
	[ "$RC" -eq 0 ] || fail "$UFSCK ${udev[*]} --extract exited $RC: $(head -c 2000 ufsckx.err)"
	info "erofs-utils fsck --extract (all data read): exit 0"

	mount_erofs "$img" "$mnt" "${devs[@]}" || fail "kernel mount failed"
	runcmd treecmp "$TREECMP" "$T/src" "$mnt"
	if [ "$RC" -ne 0 ]; then
		head -n 30 treecmp.out treecmp.err | cut -c1-300
		umount_erofs "$mnt"
		fail "$name: mounted image differs from the source (treecmp $RC)"
	fi
	umount_erofs "$mnt" || fail "cannot unmount $mnt"
	info "kernel mount: equals the source tree"
	rm -rf "$img" ${bd:+"$bd"}
}

variant seal 0 --seal
variant signed 0 --sign-key=rsa.pem --sign-cert=rsa-cert.pem "${ED[@]}"
variant blobdir 1 --sign-key=rsa.pem --sign-cert=rsa-cert.pem "${ED[@]}"

echo "== the seal is only appended: -T/-U builds with and without --seal"
must "$MKFS" --quiet -T 1700000000 -U 01234567-89ab-cdef-0123-456789abcdef plain.img "$T/src"
must "$MKFS" --quiet --seal -T 1700000000 -U 01234567-89ab-cdef-0123-456789abcdef sealed.img "$T/src"
psz=$(stat -c %s plain.img)
[ "$(stat -c %s sealed.img)" -gt "$psz" ] || fail "sealed image is not larger than the plain one"
head -c "$psz" sealed.img | cmp -s - plain.img ||
	fail "the first $psz bytes of the sealed image differ from the unsealed image"
info "first $psz bytes identical"

echo "PASS"
exit 0
