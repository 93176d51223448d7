# SPDX-License-Identifier: GPL-2.0-or-later
#
# lib.sh - helpers sourced by the integration tests (t-*.sh).
#
# Environment (set by the harness):
#   MKFS, FSCK, DUMP   absolute paths of our programs
#   TREECMP            path of the treecmp helper
#   GENTREE            path of gentree.sh
#   srcdir             tests directory of the source tree
# Optional:
#   KEEP_TMP=1         keep the per-test temp dir (printed at exit)
#
# Provides: skip, fail, info, need_root, need_cmd, need_progs, must,
# expect_rc, $T (per-test
# temp dir, removed at exit), mount_erofs/umount_erofs and loop_attach
# (mounts and loop devices are undone at exit even on failure), runcmd, and byte-level image
# helpers (rd_le*, wr_*, sb_fix_crc) plus a small EROFS walker (erofs_*).

TEST_NAME=$(basename "$0" .sh)
LIBDIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# gentree.sh lives next to this file; the harness may override it
GENTREE=${GENTREE:-$LIBDIR/gentree.sh}

# The oracles need Debian's python3 packages (python3-cryptography,
# python3-argon2, from tools/setup.sh): use the interpreter they belong to,
# not whichever python3 comes first in PATH.
if [ -x /usr/bin/python3 ]; then PYTHON=/usr/bin/python3; else PYTHON=python3; fi

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }
info() { echo "  $*"; }

need_root() { [ "$(id -u)" -eq 0 ] || skip "needs root"; }

need_cmd() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || skip "needs $c"
	done
}

# need_progs VAR...: each named variable must name an existing program
# (scripts such as $GENTREE only need to be readable: run them with bash)
need_progs() {
	local v p
	for v in "$@"; do
		p=${!v:-}
		[ -n "$p" ] || fail "\$$v is not set (run through 'make check')"
		case $p in
		*.sh) [ -r "$p" ] || fail "\$$v=$p is not readable" ;;
		*) [ -x "$p" ] || fail "\$$v=$p is not executable" ;;
		esac
	done
}

# ---------------------------------------------------------------------------
# temp dir, mounts, loop devices

_MOUNTS=()
declare -A _MOUNT_LOOPS=()
_LOOPS=()
T=$(mktemp -d "${TMPDIR:-/tmp}/erofs-seal-$TEST_NAME.XXXXXX") ||
	{ echo "FAIL: mktemp"; exit 1; }
chmod 755 "$T"
# deterministic test data: rnd N, detstream SEED
. "$LIBDIR/detrand.sh"

_cleanup() {
	local rc=$? m l busy=0 i
	trap - EXIT
	for ((i = ${#_MOUNTS[@]} - 1; i >= 0; i--)); do
		m=${_MOUNTS[$i]}
		[ -n "$m" ] || continue
		if mountpoint -q "$m" 2>/dev/null; then
			umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null ||
				{ echo "WARNING: cannot unmount $m" >&2; busy=1; }
		fi
		for l in ${_MOUNT_LOOPS[$m]:-}; do
			losetup -d "$l" 2>/dev/null
		done
	done
	for l in "${_LOOPS[@]}"; do
		losetup -d "$l" 2>/dev/null
	done
	if [ "${KEEP_TMP:-0}" = 1 ]; then
		echo "(kept $T)"
	elif [ "$busy" = 0 ]; then
		rm -rf --one-file-system "$T" 2>/dev/null ||
			{ chmod -R u+rwx "$T" 2>/dev/null; rm -rf --one-file-system "$T"; }
	fi
	exit "$rc"
}
trap _cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# mount_erofs IMG DIR [BLOB...]
# Without blobs: plain `mount -t erofs -o ro IMG DIR`.  With blobs: every
# blob (and the image) is attached read-only to a loop device and passed as
# device=/dev/loopN in slot order.  Returns mount's status.
mount_erofs() {
	local img=$1 dir=$2 opts=ro l loops="" src rc
	shift 2
	mkdir -p "$dir"
	src=$img
	if [ $# -gt 0 ]; then
		for b in "$@"; do
			l=$(losetup -r -f --show "$b") || {
				for l in $loops; do losetup -d "$l"; done
				return 1
			}
			loops="$loops $l"
			opts="$opts,device=$l"
		done
		l=$(losetup -r -f --show "$img") || {
			for l in $loops; do losetup -d "$l"; done
			return 1
		}
		loops="$loops $l"
		src=$l
	fi
	_MOUNTS+=("$dir")
	_MOUNT_LOOPS[$dir]=$loops
	mount -t erofs -o "$opts" "$src" "$dir"
	rc=$?
	if [ $rc -ne 0 ]; then
		for l in $loops; do losetup -d "$l" 2>/dev/null; done
		_MOUNT_LOOPS[$dir]=""
		dmesg 2>/dev/null | tail -n 3 | sed 's/^/  dmesg: /' >&2
	fi
	return $rc
}

# loop_attach FILE [LOSETUP-OPTION...]: attach FILE to a free loop device
# (e.g. loop_attach img -r) and set LOOP_DEV to it; it is detached at exit,
# even on failure.  Call it directly, not in $(...).
loop_attach() {
	local file=$1
	shift
	LOOP_DEV=$(losetup "$@" -f --show "$file") || return 1
	_LOOPS+=("$LOOP_DEV")
}

umount_erofs() {
	local dir=$1 l
	umount "$dir" || return 1
	for l in ${_MOUNT_LOOPS[$dir]:-}; do
		losetup -d "$l" 2>/dev/null
	done
	_MOUNT_LOOPS[$dir]=""
	return 0
}

# runcmd NAME cmd...: run cmd with stdout/stderr captured to $T/NAME.out and
# $T/NAME.err; sets RC.  Never aborts.
runcmd() {
	local name=$1
	shift
	"$@" >"$T/$name.out" 2>"$T/$name.err"
	RC=$?
	return 0
}

# sanitized_build: true when MKFS was built with ASan/UBSan.  Their CPU
# cost is several-fold, so a test that repeats a build many times to show
# a property at scale shows it at full scale in the plain pass and runs
# the same paths fewer times under the sanitizers.
sanitized_build() {
	ldd "$MKFS" 2>/dev/null | grep -q 'libasan\|libubsan'
}

# crashed RC: true when RC means "killed by a signal" (or a sanitizer abort)
crashed() { [ "$1" -ge 128 ]; }

# must CMD...: CMD must succeed (its output is shown when it does not)
must() {
	"$@" >"$T/must.log" 2>&1 || { cat "$T/must.log"; fail "command failed: $*"; }
}

# expect_rc WANT NAME CMD...: run CMD (output in $T/NAME.out/.err); its exit
# status must be WANT; a signal is a failure unless WANT is that status
expect_rc() {
	local want=$1 name=$2
	shift 2
	runcmd "$name" "$@"
	if [ "$want" -lt 128 ] && crashed "$RC"; then
		fail "$name: crashed (exit $RC): $(head -c 2000 "$T/$name.err")"
	fi
	if [ "$RC" -ne "$want" ]; then
		head -c 2000 "$T/$name.out"
		head -c 2000 "$T/$name.err"
		fail "$name: exit $RC, expected $want ($*)"
	fi
	info "$name: exit $RC as expected"
}

# ---------------------------------------------------------------------------
# byte-level access (little endian)

# rd_bytes IMG OFF N -> decimal bytes, one per line
rd_bytes() {
	od -An -v -t u1 -j "$2" -N "$3" "$1" | tr -s ' ' '\n' | sed '/^$/d'
}

_rd_le() {
	local img=$1 off=$2 n=$3 v=0 i=0 b
	for b in $(od -An -v -t u1 -j "$off" -N "$n" "$img"); do
		v=$((v | (b << (8 * i))))
		i=$((i + 1))
	done
	[ "$i" -eq "$n" ] || { echo "short read at $off" >&2; echo -1; return 1; }
	echo "$v"
}
rd_u8()   { _rd_le "$1" "$2" 1; }
rd_le16() { _rd_le "$1" "$2" 2; }
rd_le32() { _rd_le "$1" "$2" 4; }
rd_le64() { _rd_le "$1" "$2" 8; }

# wr_hex IMG OFF HEXBYTES (e.g. "ff00") - overwrite in place
wr_hex() {
	local img=$1 off=$2 hex=$3 esc="" i
	for ((i = 0; i < ${#hex}; i += 2)); do
		esc="$esc\\x${hex:$i:2}"
	done
	printf "$esc" | dd of="$img" bs=4096 oflag=seek_bytes seek="$off" \
		conv=notrunc status=none
}

_wr_le() {
	local img=$1 off=$2 n=$3 v=$4 hex="" i
	for ((i = 0; i < n; i++)); do
		hex="$hex$(printf '%02x' $(((v >> (8 * i)) & 255)))"
	done
	wr_hex "$img" "$off" "$hex"
}
wr_u8()   { _wr_le "$1" "$2" 1 "$3"; }
wr_le16() { _wr_le "$1" "$2" 2 "$3"; }
wr_le32() { _wr_le "$1" "$2" 4 "$3"; }
wr_le64() { _wr_le "$1" "$2" 8 "$3"; }

# wr_str IMG OFF STRING - overwrite with the raw bytes of STRING
wr_str() {
	printf '%s' "$3" | dd of="$1" bs=4096 oflag=seek_bytes seek="$2" \
		conv=notrunc status=none
}

# flip_bit IMG OFF BIT
flip_bit() {
	local b
	b=$(rd_u8 "$1" "$2")
	wr_u8 "$1" "$2" $((b ^ (1 << $3)))
}

# CRC-32C (Castagnoli, reflected, init ~0, no final xor), as used by the
# EROFS superblock checksum.
_CRC32C_TAB=()
_crc32c_init() {
	local i j c
	for ((i = 0; i < 256; i++)); do
		c=$i
		for ((j = 0; j < 8; j++)); do
			if ((c & 1)); then
				c=$(((c >> 1) ^ 0x82F63B78))
			else
				c=$((c >> 1))
			fi
		done
		_CRC32C_TAB[$i]=$c
	done
}

# sb_fix_crc IMG - recompute the superblock checksum (when the SB_CHKSUM
# compat bit is set) so that a corruption elsewhere in block 0 is not caught
# merely by the checksum.  Covers bytes [1024, blksz) with 4 KiB blocks.
sb_fix_crc() {
	local img=$1 compat bits len crc=0xFFFFFFFF i b
	compat=$(rd_le32 "$img" 1032)
	((compat & 1)) || return 0
	bits=$(rd_u8 "$img" 1036)
	if [ "$bits" -ge 9 ] && [ "$bits" -le 16 ] && [ $((1 << bits)) -gt 1024 ]; then
		len=$(((1 << bits) - 1024))
	else
		len=3072
	fi
	[ ${#_CRC32C_TAB[@]} -eq 256 ] || _crc32c_init
	i=0
	for b in $(od -An -v -t u1 -j 1024 -N "$len" "$img"); do
		((i >= 4 && i < 8)) && b=0
		crc=$(((crc >> 8) ^ _CRC32C_TAB[(crc ^ b) & 255]))
		i=$((i + 1))
	done
	wr_le32 "$img" 1028 "$crc"
}

# seal_swap_chunks IMG - swap the digests (or keyed identifiers) of the
# first two records of a sealed image's chunk index and fix the index digest
# in its manifest: an unsigned seal still verifies, but the index now lists
# each of the two chunks at the other's blocks.  Layout: docs/FORMAT.md 2.1,
# 2.2, 2.5.
seal_swap_chunks() {
	python3 - "$1" <<'EOF'
import hashlib, struct, sys
path = sys.argv[1]
d = bytearray(open(path, 'rb').read())
loc = len(d) - 4096
assert d[loc:loc + 8] == b'EROFSEAL'
man_off, _ = struct.unpack_from('<QQ', d, loc + 40)
idx_off, idx_len = struct.unpack_from('<QQ', d, loc + 88)
assert d[man_off:man_off + 8] == b'ESMANIF1'
assert d[idx_off:idx_off + 8] == b'ESCHIDX1'
assert struct.unpack_from('<Q', d, idx_off + 8)[0] >= 2
r0, r1 = idx_off + 16, idx_off + 16 + 48
d[r0:r0 + 32], d[r1:r1 + 32] = d[r1:r1 + 32], d[r0:r0 + 32]
d[man_off + 88:man_off + 120] = hashlib.sha256(bytes(d[idx_off:idx_off + idx_len])).digest()
open(path, 'wb').write(d)
EOF
}

# ---------------------------------------------------------------------------
# a tiny EROFS walker (4 KiB blocks, uncompressed layouts), enough to locate
# structures to corrupt.  Independent from our own programs on purpose.

# erofs_sb IMG: sets SB_BLKBITS SB_BLKSZ SB_ROOT SB_META SB_XATTR
erofs_sb() {
	local img=$1
	SB_BLKBITS=$(rd_u8 "$img" 1036)
	SB_BLKSZ=$((1 << SB_BLKBITS))
	SB_ROOT=$(rd_le16 "$img" 1038)
	SB_META=$(rd_le32 "$img" 1064)
	SB_XATTR=$(rd_le32 "$img" 1068)
}

# erofs_inode IMG NID: sets I_OFF I_FORMAT I_EXT I_LAYOUT I_XICOUNT I_MODE
# I_SIZE I_U I_ISIZE I_XSIZE I_NLINK
erofs_inode() {
	local img=$1 nid=$2
	I_OFF=$((SB_META * SB_BLKSZ + nid * 32))
	I_FORMAT=$(rd_le16 "$img" "$I_OFF")
	I_EXT=$((I_FORMAT & 1))
	I_LAYOUT=$(((I_FORMAT >> 1) & 7))
	I_XICOUNT=$(rd_le16 "$img" $((I_OFF + 2)))
	I_MODE=$(rd_le16 "$img" $((I_OFF + 4)))
	I_U=$(rd_le32 "$img" $((I_OFF + 16)))
	if [ "$I_EXT" = 1 ]; then
		I_ISIZE=64
		I_SIZE=$(rd_le64 "$img" $((I_OFF + 8)))
		I_NLINK=$(rd_le32 "$img" $((I_OFF + 44)))
	else
		I_ISIZE=32
		I_SIZE=$(rd_le32 "$img" $((I_OFF + 8)))
		I_NLINK=$(rd_le16 "$img" $((I_OFF + 6)))
	fi
	if [ "$I_XICOUNT" -gt 0 ]; then
		I_XSIZE=$((12 + 4 * (I_XICOUNT - 1)))
	else
		I_XSIZE=0
	fi
}

# erofs_data_off IMG BLOCKINDEX: byte offset of the given logical block of
# the current inode (I_*) for flat layouts; echoes -1 when unsupported
erofs_data_off() {
	local lblk=$2 nblocks
	nblocks=$(((I_SIZE + SB_BLKSZ - 1) / SB_BLKSZ))
	case $I_LAYOUT in
	0) echo $(((I_U + lblk) * SB_BLKSZ)) ;;
	2)
		if [ "$lblk" -eq $((nblocks - 1)) ] && [ $((I_SIZE % SB_BLKSZ)) -ne 0 ]; then
			echo $((I_OFF + I_ISIZE + I_XSIZE))
		else
			echo $(((I_U + lblk) * SB_BLKSZ))
		fi ;;
	*) echo -1 ;;
	esac
}

# erofs_dir_find IMG DIRNID NAME: looks NAME up in a directory; sets
# DE_NID (child nid), DE_OFF (abs. offset of the dirent), DE_NAMEOFF_AT
# (abs. offset of its nameoff field), DE_NAME_AT (abs. offset of the name),
# DE_BLK_OFF (abs. offset of the dir block).  Returns 1 when not found.
erofs_dir_find() {
	local img=$1 dnid=$2 want=$3 nblk b boff blen n0 cnt i no nx nm
	local -a by
	erofs_inode "$img" "$dnid"
	nblk=$(((I_SIZE + SB_BLKSZ - 1) / SB_BLKSZ))
	for ((b = 0; b < nblk; b++)); do
		boff=$(erofs_data_off "$img" "$b")
		[ "$boff" -ge 0 ] || return 1
		blen=$SB_BLKSZ
		[ $b -eq $((nblk - 1)) ] && [ $((I_SIZE % SB_BLKSZ)) -ne 0 ] &&
			blen=$((I_SIZE % SB_BLKSZ))
		mapfile -t by < <(rd_bytes "$img" "$boff" "$blen")
		n0=$((by[8] | by[9] << 8))
		cnt=$((n0 / 12))
		for ((i = 0; i < cnt; i++)); do
			no=$((by[12 * i + 8] | by[12 * i + 9] << 8))
			if ((i + 1 < cnt)); then
				nx=$((by[12 * (i + 1) + 8] | by[12 * (i + 1) + 9] << 8))
			else
				nx=$no
				while ((nx < blen)) && ((by[nx] != 0)); do nx=$((nx + 1)); done
			fi
			((nx - no == ${#want})) || continue
			nm=$(dd if="$img" bs=4096 iflag=skip_bytes,count_bytes \
				skip=$((boff + no)) count=$((nx - no)) status=none)
			[ "$nm" = "$want" ] || continue
			DE_OFF=$((boff + 12 * i))
			DE_NAMEOFF_AT=$((DE_OFF + 8))
			DE_NAME_AT=$((boff + no))
			DE_BLK_OFF=$boff
			DE_NID=$(rd_le64 "$img" "$DE_OFF")
			return 0
		done
	done
	return 1
}

# erofs_lookup IMG /a/b/c: sets LK_NID (and leaves the last dirent in DE_*);
# returns 1 when a component is missing.  Call it directly, not in $(...).
erofs_lookup() {
	local img=$1 nid comp
	local -a comps
	IFS=/ read -r -a comps <<<"$2"
	erofs_sb "$img"
	nid=$SB_ROOT
	for comp in "${comps[@]}"; do
		[ -n "$comp" ] || continue
		erofs_dir_find "$img" "$nid" "$comp" || return 1
		nid=$DE_NID
	done
	LK_NID=$nid
}

# erofs_zero_nid IMG: sets ZERO_NID to the first nid (<= 65535, != root)
# whose 32-byte slot is all zero - an invalid inode (mode 0) wherever it is
erofs_zero_nid() {
	local img=$1 line i=0
	erofs_sb "$img"
	ZERO_NID=""
	while read -r line; do
		if [ "$i" != "$SB_ROOT" ] && [ -z "${line//[0 ]/}" ]; then
			ZERO_NID=$i
			return 0
		fi
		i=$((i + 1))
	done < <(od -An -v -t x1 -w32 -j $((SB_META * SB_BLKSZ)) -N $((65536 * 32)) "$img")
	return 1
}

# ---------------------------------------------------------------------------
# keys

# x25519_pair BASE: a deterministic X25519 key pair (from rnd) as PEM files
# BASE.key (private, PKCS#8) and BASE.pub, as `openssl genpkey -algorithm
# X25519` and `openssl pkey -pubout` write them
x25519_pair() {
	# PKCS#8 PrivateKeyInfo for X25519 (RFC 8410): this prefix + 32 bytes
	{ printf '\x30\x2e\x02\x01\x00\x30\x05\x06\x03\x2b\x65\x6e\x04\x22\x04\x20'; rnd 32; } |
		openssl pkey -inform DER -out "$1.key" || return 1
	openssl pkey -in "$1.key" -pubout -out "$1.pub"
}

# ed25519_pair BASE: a deterministic Ed25519 key pair (from rnd) as PEM files
# BASE.pem (private, PKCS#8, as `openssl genpkey -algorithm ed25519` writes
# it) and BASE.pub, and the raw 32-byte public key BASE.raw
ed25519_pair() {
	# PKCS#8 PrivateKeyInfo for Ed25519 (RFC 8410): this prefix + 32 bytes
	{ printf '\x30\x2e\x02\x01\x00\x30\x05\x06\x03\x2b\x65\x70\x04\x22\x04\x20'; rnd 32; } |
		openssl pkey -inform DER -out "$1.pem" || return 1
	openssl pkey -in "$1.pem" -pubout -out "$1.pub" || return 1
	openssl pkey -in "$1.pem" -pubout -outform DER | tail -c 32 >"$1.raw"
}

# ---------------------------------------------------------------------------
# tests made of many cases: each case runs, the failures are listed at the end
#   bad MSG                      record a failed case
#   run_rc WANT NAME CMD...      CMD (output in NAME.out/.err) must exit WANT,
#                                without crashing; returns 1 otherwise
#   says NAME FILE REGEX WHAT    FILE must match REGEX
#   not_says NAME FILE REGEX WHAT  FILE must not match REGEX
#   finish_cases [MSG]           FAIL with the list, or PASS: MSG

FAILS=()
bad() {
	echo "  FAILED: $*"
	FAILS+=("$*")
}

run_rc() {
	local want=$1 name=$2
	shift 2
	runcmd "$name" "$@"
	if crashed "$RC"; then
		bad "$name: crashed (exit $RC): $(head -c 1000 "$name.err")"
		return 1
	fi
	if [ "$RC" -ne "$want" ]; then
		bad "$name: exit $RC, expected $want: $(head -c 800 "$name.err")"
		return 1
	fi
	info "$name: exit $RC"
}

says() {
	grep -Eq -- "$3" "$2" || bad "$1: does not say $4: $(head -c 600 "$2")"
}

not_says() {
	grep -Eq -- "$3" "$2" && bad "$1: says $4 where it must not: $(head -c 600 "$2")"
	return 0
}

finish_cases() {
	if [ ${#FAILS[@]} -gt 0 ]; then
		echo "${#FAILS[@]} checks failed:"
		printf '  %s\n' "${FAILS[@]}"
		fail "${#FAILS[@]} checks failed"
	fi
	echo "PASS${1:+: $1}"
	exit 0
}
