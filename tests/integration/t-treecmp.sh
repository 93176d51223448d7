#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Self-test of the treecmp helper: two identically built trees compare
# equal, and every kind of difference the other tests rely on is reported
# (exit 1, with a line naming the path).  Without this, a treecmp bug could
# make every round-trip test pass vacuously.

_lib=$(dirname "$0")/lib.sh
[ -r "$_lib" ] || _lib=${srcdir:-.}/integration/lib.sh
. "$_lib" || { echo "FAIL: cannot source lib.sh"; exit 1; }

need_progs TREECMP
need_root
need_cmd setfattr setfacl mknod mkfifo

LONG=$(printf 'L%.0s' $(seq 1 255))

# mk DIR: deterministic tree (same bytes, modes, owners, times, xattrs)
mk() {
	local d=$1 i
	mkdir "$d"
	(
		set -e
		cd "$d"
		printf 'hello\n' > file
		head -c 300000 /dev/zero | tr '\0' 'z' > big
		printf 'x' > 'odd'$'\n''name'$'\xff'
		truncate -s 100M sparse
		printf 'tail' | dd of=sparse bs=1 seek=$((100 * 1048576 - 4)) conv=notrunc status=none
		printf a > link1; ln link1 link2
		printf b > grp1; ln grp1 grp2
		printf c > grp3; ln grp3 grp4
		ln -s file sym
		mkfifo fifo
		mknod chr c 1 3
		mknod blk b 8 1
		mkdir sub emptydir
		printf 's' > sub/inner
		setfattr -n user.a -v 1 file
		setfattr -n trusted.t -v 2 file
		setfattr -h -n trusted.s -v 3 sym
		setfacl -m u:1000:rx file
		setfacl -d -m u:1001:rwx sub
		chown 70000:70001 file
		chmod 4755 file
		# a chain 70 levels deep with 255-byte names (paths > PATH_MAX)
		(
			for ((i = 0; i < 70; i++)); do
				mkdir "$LONG"; cd "$LONG"
			done
			printf 'bottom' > bottom
			setfattr -n user.deep -v 1 bottom
			touch -d '2011-11-11 11:11:11.111111111' bottom
			for ((i = 0; i < 70; i++)); do
				touch -d '2020-01-01 00:00:00.5' .; cd ..
			done
		)
		touch -h -d '2001-02-03 04:05:06.7' sym
		for f in file big link1 grp1 grp3 fifo chr blk sparse 'odd'$'\n''name'$'\xff' sub/inner; do
			touch -d '2011-11-11 11:11:11.111111111' "$f"
		done
		touch -d '2012-12-12 12:12:12.12' sub emptydir "$LONG"
		touch -d '2013-01-01 00:00:00.000000001' .
	) || fail "building $d"
}

# expect_diff WHAT PATTERN: treecmp A B must exit 1 and print PATTERN
expect_diff() {
	local what=$1 pat=$2
	shift 2
	runcmd cmp "$TREECMP" "$@" "$T/a" "$T/b"
	if [ "$RC" -ne 1 ]; then
		cat "$T/cmp.out" "$T/cmp.err" | cut -c1-300
		fail "$what: treecmp exited $RC, expected 1"
	fi
	grep -q -- "$pat" "$T/cmp.out" ||
		{ cut -c1-300 "$T/cmp.out"; fail "$what: no line matching '$pat'"; }
	info "detected: $what"
}

expect_same() {
	runcmd cmp "$TREECMP" "$@" "$T/a" "$T/b"
	[ "$RC" -eq 0 ] ||
		{ cut -c1-300 "$T/cmp.out" "$T/cmp.err"; fail "equal trees (options: $*): treecmp exited $RC, expected 0"; }
}

# fresh B for each mutation
reset_b() { rm -rf "$T/b"; mk "$T/b"; }

mk "$T/a"
reset_b
expect_same
info "identical trees compare equal"
runcmd cmp "$TREECMP" "$T/a" "$T/a"
[ "$RC" -eq 0 ] || fail "tree vs itself: exit $RC"

# same size, different content (keep metadata)
reset_b
printf 'J' | dd of="$T/b/big" bs=1 seek=299999 conv=notrunc status=none
touch -d '2011-11-11 11:11:11.111111111' "$T/b/big"
expect_diff "content" "^./big: content differs at byte 299999"

reset_b
printf 'X' | dd of="$T/b/sparse" bs=1 seek=$((50 * 1048576)) conv=notrunc status=none
touch -d '2011-11-11 11:11:11.111111111' "$T/b/sparse"
expect_diff "data inside a hole" "^./sparse: content differs at byte 52428800"

reset_b
truncate -s 300001 "$T/b/big"
touch -d '2011-11-11 11:11:11.111111111' "$T/b/big"
expect_diff "size" "^./big: size differs"

reset_b
chmod 0755 "$T/b/file"
expect_diff "mode (setuid lost)" "^./file: mode differs: 4755 vs 0755"

reset_b
chown 70000:1 "$T/b/file"
chmod 4755 "$T/b/file"
expect_diff "gid" "^./file: gid differs"
expect_same --no-owner

reset_b
touch -d '2011-11-11 11:11:11.111111112' "$T/b/file"
expect_diff "mtime nanoseconds" "^./file: mtime differs"
expect_same --no-mtime

reset_b
touch -h -d '2001-02-03 04:05:06.8' "$T/b/sym"
expect_diff "symlink mtime" "^./sym: mtime differs"

reset_b
touch -d '2012-12-12 12:12:12.13' "$T/b/emptydir"
expect_diff "directory mtime" "^./emptydir: mtime differs"

reset_b
touch -d '2000-01-01' "$T/b"
expect_diff "root mtime" "^.: mtime differs"
expect_same --ignore-root-mtime

reset_b
setfattr -n user.a -v 2 "$T/b/file"
expect_diff "xattr value" "^./file: xattr user.a value differs"
expect_same --no-xattrs

reset_b
setfattr -x trusted.t "$T/b/file"
expect_diff "missing trusted xattr" "^./file: xattr trusted.t only in A"

reset_b
setfattr -h -n trusted.s -v 4 "$T/b/sym"
expect_diff "symlink xattr" "^./sym: xattr trusted.s value differs"

reset_b
setfacl -m u:1000:r "$T/b/file"
expect_diff "ACL" "^./file: xattr system.posix_acl_access value differs"

reset_b
setfacl -k "$T/b/sub"
expect_diff "default ACL" "^./sub: xattr system.posix_acl_default only in A"

reset_b
rm "$T/b/sym"; ln -s fil3 "$T/b/sym"
touch -h -d '2001-02-03 04:05:06.7' "$T/b/sym"
expect_diff "symlink target" "^./sym: symlink target differs: file vs fil3"

reset_b
rm "$T/b/chr"; mknod "$T/b/chr" c 1 5
touch -d '2011-11-11 11:11:11.111111111' "$T/b/chr"
expect_diff "rdev" "^./chr: rdev differs: 1:3 vs 1:5"

reset_b
rm "$T/b/fifo"; printf '' > "$T/b/fifo"
touch -d '2011-11-11 11:11:11.111111111' "$T/b/fifo"
expect_diff "type" "^./fifo: type differs: fifo vs regular file"

reset_b
: > "$T/b/extra"
expect_diff "extra entry" "^./extra: only in B"

reset_b
rm "$T/b/sub/inner"
expect_diff "missing entry" "^./sub/inner: only in A"

reset_b
# break a hard link: nlink changes
rm "$T/b/link2"; printf a > "$T/b/link2"
touch -d '2011-11-11 11:11:11.111111111' "$T/b/link1" "$T/b/link2"
expect_diff "broken hard link" "nlink differs"

reset_b
# same nlink everywhere, same contents, different grouping:
# A = {grp1,grp2} {grp3,grp4}, B = {grp1,grp3} {grp2,grp4}
rm -rf "$T/a"; mk "$T/a"
for d in "$T/a" "$T/b"; do
	rm "$d/grp1" "$d/grp2" "$d/grp3" "$d/grp4"
done
printf s > "$T/a/grp1"; ln "$T/a/grp1" "$T/a/grp2"
printf s > "$T/a/grp3"; ln "$T/a/grp3" "$T/a/grp4"
printf s > "$T/b/grp1"; ln "$T/b/grp1" "$T/b/grp3"
printf s > "$T/b/grp2"; ln "$T/b/grp2" "$T/b/grp4"
touch -d '2011-11-11 11:11:11.111111111' "$T"/a/grp? "$T"/b/grp?
touch -d '2013-01-01 00:00:00.000000001' "$T/a" "$T/b"
expect_diff "hard-link partition" "hard-link group differs"
rm -rf "$T/a"; mk "$T/a"

reset_b
# a difference at the bottom of the 70-level chain (path > PATH_MAX)
(
	cd "$T/b" || exit 1
	for ((i = 0; i < 70; i++)); do cd "$LONG" || exit 1; done
	printf 'BOTTOM' > bottom
	touch -d '2011-11-11 11:11:11.111111111' bottom
	touch -d '2020-01-01 00:00:00.5' .
) || fail "patching the deep chain"
expect_diff "content 70 levels deep" "/bottom: content differs at byte 0"
len=$(grep '/bottom: content' "$T/cmp.out" | head -1 | wc -c)
[ "$len" -gt 17000 ] || fail "deep path printed too short ($len bytes)"
info "deep path printed in full ($len bytes)"

reset_b
(
	cd "$T/b" || exit 1
	for ((i = 0; i < 70; i++)); do cd "$LONG" || exit 1; done
	setfattr -n user.deep -v 2 bottom
) || fail "patching the deep chain"
expect_diff "xattr 70 levels deep" "/bottom: xattr user.deep value differs"

reset_b
printf 'y' > "$T/b/odd"$'\n''name'$'\xff'
touch -d '2011-11-11 11:11:11.111111111' "$T/b/odd"$'\n''name'$'\xff'
expect_diff "escaped name" '^./odd\\x0aname\\xff: content differs'

# usage and error exits
runcmd cmp "$TREECMP" "$T/a"
[ "$RC" -eq 2 ] || fail "one argument: exit $RC, expected 2"
runcmd cmp "$TREECMP" "$T/a" "$T/does-not-exist"
[ "$RC" -eq 2 ] || fail "missing tree: exit $RC, expected 2"
runcmd cmp "$TREECMP" --bogus "$T/a" "$T/b"
[ "$RC" -eq 2 ] || fail "bad option: exit $RC, expected 2"
info "usage errors exit 2"

echo "PASS: treecmp detects every difference class"
exit 0
