#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# gentree.sh MODE DIR - create a test tree in DIR (which must not exist).
#
#   full   every kind of entry, name, mode, owner, timestamp and xattr case
#          (needs root, mknod, mkfifo, setfattr, setfacl)
#   large  ~3000 files in ~200 directories, ~150 MiB, deterministic
#          (override the size with GENTREE_LARGE_FILES=N)
#   dups   duplicate files and duplicate 4 KiB blocks with known totals:
#            dups/same00..same09   10 copies of one 1 MiB random file
#            dups/repeat.bin       one random 4 KiB block repeated 256 times
#            dups/pairs.bin        64 distinct random 4 KiB blocks, each twice
#          => logical 12058624 bytes, 321 distinct 4 KiB blocks (1314816 B)
#
# Environment (mode full):
#   GENTREE_SPARSE_SIZE   apparent size of the big sparse file (default 4200M,
#                         i.e. > 4 GiB)
#   GENTREE_SHORT_PATHS=1 the 64-level chain uses short names only, so every
#                         path stays below PATH_MAX (for tools that build full
#                         paths, e.g. erofs-utils 1.5)
#
# Exit 0 ok, 77 when a required tool/privilege is missing ("SKIP: ..."), 1 on
# any other error.

set -eu -o pipefail

die()  { echo "gentree: $*" >&2; exit 1; }
skip() { echo "SKIP: gentree: $*" >&2; exit 77; }

[ $# -eq 2 ] || die "usage: gentree.sh full|large|dups DIR"
MODE=$1
DIR=$2
[ -e "$DIR" ] || [ -L "$DIR" ] && die "$DIR already exists"

# deterministic data: detstream SEED, rnd N (see detrand.sh)
TEST_NAME=gentree-$MODE
. "$(dirname "${BASH_SOURCE[0]}")/detrand.sh"
_DETRAND_COUNTER=$(mktemp "${TMPDIR:-/tmp}/gentree-rnd.XXXXXX")
trap 'rm -f "$_DETRAND_COUNTER"' EXIT

# ---------------------------------------------------------------------------
gen_full() {
	[ "$(id -u)" -eq 0 ] || skip "mode full needs root (mknod, chown)"
	local t
	for t in setfattr setfacl mknod mkfifo truncate dd; do
		command -v "$t" >/dev/null 2>&1 || skip "mode full needs $t"
	done
	local sparse=${GENTREE_SPARSE_SIZE:-4200M}

	mkdir -p -- "$DIR"
	cd "$DIR"
	# probe xattr support of the target filesystem
	: > .probe
	setfattr -n user.probe -v 1 .probe 2>/dev/null ||
		skip "filesystem of $DIR lacks user xattrs"
	setfattr -n trusted.probe -v 1 .probe 2>/dev/null ||
		skip "filesystem of $DIR lacks trusted xattrs"
	setfacl -m u:1000:r .probe 2>/dev/null ||
		skip "filesystem of $DIR lacks POSIX ACLs"
	rm -f .probe

	# --- regular files of interesting sizes --------------------------
	mkdir files
	: > files/empty
	printf x > files/one
	rnd 4095 > files/b4095
	rnd 4096 > files/b4096
	rnd 4097 > files/b4097
	rnd 8191 > files/b8191
	rnd 8193 > files/b8193
	rnd 65536 > files/b65536
	rnd 100000 > files/b100000
	rnd $((3 * 1024 * 1024 + 123)) > files/random3m
	head -c 65536 /dev/zero > files/zeros64k
	{ head -c 4096 /dev/zero; rnd 4096; head -c 8192 /dev/zero; rnd 10; } \
		> files/zero-data-zero
	# sparse file > 4 GiB with data islands (incl. one straddling 4 GiB)
	truncate -s "$sparse" files/sparse
	local ssz
	ssz=$(stat -c %s files/sparse)
	island() { # island OFFSET < data
		if [ "$1" -ge 0 ] && [ "$1" -lt "$ssz" ]; then
			head -c $((ssz - $1)) |
				dd of=files/sparse oflag=seek_bytes seek="$1" \
					conv=notrunc status=none
		else
			cat >/dev/null
		fi
	}
	printf 'island-at-0' | island 0
	rnd 5000 | island $((1073741824 + 123))
	printf 'straddles-4GiB' | island $((4294967296 - 7))
	printf 'island-near-end' | island $((ssz - 4096 - 5))
	printf 'last' | island $((ssz - 4))

	# --- directories -------------------------------------------------
	mkdir dirs dirs/empty dirs/big
	(
		cd dirs/big
		local i xs
		xs=$(printf 'x%.0s' $(seq 1 200))
		for ((i = 0; i < 10000; i++)); do
			case $((i % 7)) in
			0) : > "f$i" ;;
			1) : > "entry-with-a-longer-name-number-$i" ;;
			2) : > "${xs:0:$((i % 200 + 1))}-$i" ;;
			*) : > "n$i.dat" ;;
			esac
		done
		mkdir sub-a sub-b
		printf 'inside big dir' > sub-a/file
		ln -s f0 link-to-f0
	)

	# nesting > 60 levels; every other level has a 255-byte name
	mkdir deep
	(
		cd deep
		local i name long
		long=$(printf 'L%.0s' $(seq 1 252))
		for ((i = 0; i < 64; i++)); do
			if ((i % 2)) && [ "${GENTREE_SHORT_PATHS:-0}" != 1 ]; then
				name=$long$(printf '%03d' "$i")
			else
				name=d$i
			fi
			mkdir -- "$name"
			cd -- "$name"
			printf 'level %d\n' "$i" > "file$i"
		done
		printf 'the bottom\n' > bottom
		setfattr -n user.deep -v bottom bottom
		ln -s ../../../file61 up3
		ln bottom bottom-hardlink
		# mtimes bottom-up, after everything in the chain exists
		touch -h -d '2019-01-02 03:04:05.6' up3
		for ((i = 63; i >= 0; i--)); do
			touch -d "2018-06-$(printf %02d $((i % 28 + 1))) 12:00:00.$i" .
			cd ..
		done
	)

	# --- symlinks ----------------------------------------------------
	mkdir links
	ln -s a links/short
	ln -s ../files/one links/relative
	ln -s /etc/passwd links/absolute
	ln -s ../dirs links/to-dir
	ln -s does-not-exist links/dangling
	ln -s self links/self
	ln -s "$(printf 'p%.0s' $(seq 1 4095))" links/long4095
	ln -s "$(printf 'q%.0s' $(seq 1 300))" links/long300
	ln -s "$(printf 'r%.0s' $(seq 1 4000))" links/long4000
	ln -s $'odd\nname\xff' links/odd-target

	# --- hard links --------------------------------------------------
	mkdir hardlinks hardlinks2
	printf 'two' > hardlinks/pair1
	ln hardlinks/pair1 hardlinks/pair2
	rnd 5000 > hardlinks/tri1
	ln hardlinks/tri1 hardlinks/tri2
	ln hardlinks/tri1 hardlinks2/tri3       # across directories
	: > hardlinks/empty1
	ln hardlinks/empty1 hardlinks/empty2
	ln -s target hardlinks/sym1
	ln -P hardlinks/sym1 hardlinks/sym2     # hard-linked symlink
	mkfifo hardlinks/fifo1
	ln hardlinks/fifo1 hardlinks2/fifo2     # hard-linked fifo

	# --- special files -----------------------------------------------
	mkdir special
	mknod special/null c 1 3
	mknod special/sda1 b 8 1
	mknod special/whiteout c 0 0
	mknod special/bigminor c 259 70000
	mknod special/maxdev b 4095 1048575
	mkfifo special/fifo
	if command -v python3 >/dev/null 2>&1; then
		(cd special && python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1])' sock)
	else
		echo "gentree: note: python3 missing, no unix socket created" >&2
	fi

	# --- names -------------------------------------------------------
	mkdir names
	(
		cd names
		local n
		for n in a é 日本 'with space' $'new\nline' -dash '!bang' \
			'+plus' ' leading-space' $'\xff\xfe' '#hash' '~tilde' \
			UPPER '...' '.hidden' '..x' '.x' 'trailing-space ' \
			$'tab\there' 'back\slash' '*' '?' '=' '%' ':' ',' \
			"'" '"' '$dollar' '&amp' '(' ')' '[x]' '{}'; do
			printf '%s' "$n" > "./$n"
		done
		: > "$(printf 'n%.0s' $(seq 1 255))"
		# 85 x 3-byte UTF-8 = 255 bytes
		: > "$(printf '日%.0s' $(seq 1 85))"
		mkdir -- '!dir' '-dir' ' dir'
		: > '!dir/!x'
		: > '!dir/.y'
		: > '-dir/-'
	)

	# --- modes, owners -----------------------------------------------
	mkdir meta
	(
		cd meta
		printf s > setuid;       chmod 4755 setuid
		printf s > setgid;       chmod 2755 setgid
		printf s > all-special;  chmod 7777 all-special
		printf s > m6711;        chmod 6711 m6711
		printf s > m0000;        chmod 0000 m0000
		printf s > m0777;        chmod 0777 m0777
		printf s > m0400;        chmod 0400 m0400
		mkdir sticky;            chmod 1777 sticky
		mkdir d0700;             chmod 0700 d0700
		mkdir d0000;             chmod 0000 d0000
		mkdir setgid-dir;        chmod 2775 setgid-dir
		printf o > uid70000;     chown 70000:70001 uid70000
		printf o > uid1;         chown 1:2 uid1
		printf o > uid65535;     chown 65535:65534 uid65535
		printf o > uid65536;     chown 65536:65536 uid65536
		printf o > uidmax;       chown 4294967294:4294967294 uidmax
		mkdir bigowner-dir;      chown 100000:200000 bigowner-dir
		ln -s x symlink-owner;   chown -h 70000:70000 symlink-owner
		mknod dev-owner c 1 7;   chown 123:456 dev-owner
		# timestamps (set after owners/modes: chown does not touch mtime)
		printf t > mtime-ns
		touch -d '2021-03-04 05:06:07.123456789' mtime-ns
		printf t > mtime-zero;   touch -d '@0' mtime-zero
		printf t > mtime-neg;    touch -d '1969-07-20 20:17:40.5' mtime-neg
		printf t > mtime-2200;   touch -d '2200-01-01 00:00:00.999999999' mtime-2200
		printf t > mtime-2038;   touch -d '@2147483648' mtime-2038
		printf t > mtime-u32;    touch -d '@4294967296' mtime-u32
		touch -h -d '2022-02-02 02:02:02.000000002' symlink-owner
		touch -d '2001-01-01 01:01:01.1' dev-owner
	)

	# --- xattrs ------------------------------------------------------
	mkdir xattrs
	(
		cd xattrs
		printf 'x' > user
		setfattr -n user.a -v 1 user
		setfattr -n user.empty user
		setfattr -n user.bin -v 0x00ff00fe01 user
		setfattr -n "user.$(printf 'k%.0s' $(seq 1 250))" -v long-name user
		printf 'x' > big-value
		setfattr -n user.big -v "$(printf 'v%.0s' $(seq 1 2000))" big-value
		printf 'x' > many
		local i
		for ((i = 0; i < 40; i++)); do
			setfattr -n "user.attr$i" -v "value-$i" many
		done
		printf 'x' > trusted
		setfattr -n trusted.overlay.opaque -v y trusted
		setfattr -n trusted.a -v 0x0102 trusted
		printf 'x' > security
		setfattr -n security.foo -v bar security
		if command -v setcap >/dev/null 2>&1; then
			printf 'x' > cap
			setcap cap_net_raw,cap_sys_admin+ep cap
		else
			printf 'x' > cap
			# v2 vfs_cap_data (le32 each): magic 0x02000000|effective,
			# permitted lo = cap_net_raw(13)|cap_sys_admin(21),
			# inheritable lo, permitted hi, inheritable hi
			setfattr -n security.capability \
				-v 0x0100000200202000000000000000000000000000 cap
		fi
		printf 'x' > acl
		setfacl -m u:1000:rx,g:1001:r,m:rwx acl
		mkdir acl-dir
		setfacl -m u:1002:rwx acl-dir
		setfacl -d -m u:1003:rx,g:1004:rwx acl-dir
		mkdir xdir
		setfattr -n trusted.overlay.opaque -v y xdir
		setfattr -n user.on-dir -v d xdir
		ln -s target sym
		setfattr -h -n trusted.on-symlink -v s sym
		setfattr -h -n security.on-symlink -v s sym
		mknod chr c 5 1
		setfattr -n trusted.on-chr -v c chr
		mkfifo fifo
		setfattr -n trusted.on-fifo -v f fifo
		# the same name/value on 6 inodes -> shared xattr
		for i in 1 2 3 4 5; do
			printf '%s' "$i" > "shared$i"
			setfattr -n user.shared -v same-value-for-all "shared$i"
			setfattr -n trusted.shared -v t "shared$i"
		done
		setfattr -n user.shared -v same-value-for-all xdir
		# same name, different value: must not be merged
		printf 6 > shared-other
		setfattr -n user.shared -v a-different-value shared-other
		# hard-linked file with xattrs
		printf h > hl1
		setfattr -n user.hl -v linked hl1
		ln hl1 hl2
	)
	setfattr -n user.root -v root-xattr .

	# --- directory mtimes last ---------------------------------------
	touch -h -d '2023-05-06 07:08:09.000000001' links/short
	touch -h -d '1999-12-31 23:59:59.999999999' links/long4095
	touch -d '2020-02-29 12:34:56.789' files dirs dirs/empty links \
		hardlinks hardlinks2 special names meta xattrs deep
	touch -d '2010-10-10 10:10:10.101010101' dirs/big names/'!dir'
	touch -d '1969-12-31 23:59:58.25' meta/sticky
	touch -d '2200-01-01 00:00:00' meta/d0000
	touch -d '2024-01-01 00:00:00.5' .
}

# ---------------------------------------------------------------------------
gen_large() {
	local nfiles=${GENTREE_LARGE_FILES:-3000}
	local -a dirs=()
	local a b c i x=12345 d sz r

	mkdir -p -- "$DIR"
	cd "$DIR"
	for ((a = 0; a < 10; a++)); do
		mkdir "top$a"
		dirs+=("top$a")
		for ((b = 0; b < 4; b++)); do
			mkdir "top$a/mid$b"
			dirs+=("top$a/mid$b")
			for ((c = 0; c < 4; c++)); do
				mkdir "top$a/mid$b/leaf$c"
				dirs+=("top$a/mid$b/leaf$c")
			done
		done
	done
	lcg() { x=$(((x * 1103515245 + 12345) % 2147483648)); }

	set +o pipefail
	detstream 42 | {
		for ((i = 0; i < nfiles; i++)); do
			lcg; d=${dirs[$((x % ${#dirs[@]}))]}
			lcg; r=$((x % 1000))
			lcg
			if ((r < 620)); then
				sz=$((x % 8192))
			elif ((r < 920)); then
				sz=$((8192 + x % 57344))
			elif ((r < 995)); then
				sz=$((65536 + x % 458752))
			else
				sz=$((1048576 + x % 4194304))
			fi
			# a few exact block multiples
			((i % 50 == 0)) && sz=$(((sz / 4096 + 1) * 4096))
			head -c "$sz" > "$d/file$i.bin"
		done
	}
	local st=("${PIPESTATUS[@]}")
	set -o pipefail
	[ "${st[1]}" -eq 0 ] || die "large: writing files failed"

	# a few symlinks and hard links, deterministic mtimes on some files
	for ((i = 0; i < 20; i++)); do
		ln -s "../file$i.bin" "top$((i % 10))/link$i"
	done
	for ((i = 0; i < nfiles; i += 97)); do
		for d in "${dirs[@]}"; do
			if [ -e "$d/file$i.bin" ]; then
				ln "$d/file$i.bin" "$d/file$i.hardlink"
				touch -d "@$((1600000000 + i))" "$d/file$i.bin"
				break
			fi
		done
	done
}

# ---------------------------------------------------------------------------
gen_dups() {
	local i
	mkdir -p -- "$DIR"
	cd "$DIR"
	mkdir dups
	rnd 1048576 > dups/same00
	for ((i = 1; i < 10; i++)); do
		cp dups/same00 "dups/same0$i"
	done
	rnd 4096 > dups/.block
	for ((i = 0; i < 256; i++)); do cat dups/.block; done > dups/repeat.bin
	rm dups/.block
	rnd $((64 * 4096)) > dups/.blocks
	{
		cat dups/.blocks
		# second copy in reverse block order
		for ((i = 63; i >= 0; i--)); do
			dd if=dups/.blocks bs=4096 skip=$i count=1 status=none
		done
	} > dups/pairs.bin
	rm dups/.blocks
}

case $MODE in
full)  gen_full ;;
large) gen_large ;;
dups)  gen_dups ;;
*) die "unknown mode $MODE" ;;
esac
exit 0
