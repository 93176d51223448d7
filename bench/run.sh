#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# bench/run.sh - time erofs-seal's mkfs/fsck against erofs-utils 1.5 on one
# corpus, in one run, plus the cost of sealing (--seal, --blob-dir, signing)
# and erofs-verify against `fsverity digest`.  See bench/README.md.
#
# Usage: bash bench/run.sh [--corpus DIR] [--runs N] [--out DIR]
#
# Environment:
#   ES_BUILD        our build tree (default: <script dir>/../_build)
#   ES_THEIR_MKFS   reference mkfs (default: /usr/bin/mkfs.erofs)
#   ES_THEIR_FSCK   reference fsck (default: /usr/bin/fsck.erofs)
#   ES_MIRROR       Debian mirror for debootstrap (default: http://deb.debian.org/debian)
#   ES_SUITE        Debian suite for debootstrap (default: bookworm)
#   ES_NO_DEBOOTSTRAP=1  never try debootstrap; use the generated corpus

set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "$0")" && pwd)
ES_BUILD=${ES_BUILD:-$SCRIPT_DIR/../_build}
THEIR_MKFS=${ES_THEIR_MKFS:-/usr/bin/mkfs.erofs}
THEIR_FSCK=${ES_THEIR_FSCK:-/usr/bin/fsck.erofs}
MIRROR=${ES_MIRROR:-http://deb.debian.org/debian}
SUITE=${ES_SUITE:-bookworm}
UUID=5eed5eed-0000-4000-8000-000000000001

CORPUS=
RUNS=5
OUT=$SCRIPT_DIR/out

usage() {
	echo "usage: bash bench/run.sh [--corpus DIR] [--runs N] [--out DIR]" >&2
	exit 2
}

while [ $# -gt 0 ]; do
	case $1 in
	--corpus) [ $# -ge 2 ] || usage; CORPUS=$2; shift 2 ;;
	--corpus=*) CORPUS=${1#*=}; shift ;;
	--runs) [ $# -ge 2 ] || usage; RUNS=$2; shift 2 ;;
	--runs=*) RUNS=${1#*=}; shift ;;
	--out) [ $# -ge 2 ] || usage; OUT=$2; shift 2 ;;
	--out=*) OUT=${1#*=}; shift ;;
	-h|--help) usage ;;
	*) echo "unknown argument: $1" >&2; usage ;;
	esac
done

case $RUNS in ''|*[!0-9]*|0) echo "--runs must be a positive integer" >&2; exit 2 ;; esac

if [ "$(id -u)" -ne 0 ]; then
	echo "bench/run.sh must run as root (extraction preserves owners)" >&2
	exit 2
fi

OUR_MKFS=$ES_BUILD/mkfs/mkfs.erofs
OUR_FSCK=$ES_BUILD/fsck/fsck.erofs
OUR_VERIFY=$ES_BUILD/verify/erofs-verify
OUR_DUMP=$ES_BUILD/dump/dump.erofs
FSVERITY=$(command -v fsverity 2>/dev/null || echo fsverity)
for t in "$OUR_MKFS" "$OUR_FSCK" "$OUR_VERIFY" "$OUR_DUMP" "$THEIR_MKFS" "$THEIR_FSCK"; do
	[ -x "$t" ] || { echo "missing tool: $t (build with: cd _build && make)" >&2; exit 2; }
done

mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
IMG=$OUT/img
RAW=$OUT/raw.txt
LOG=$OUT/log.txt
REPORT=$OUT/report.md
mkdir -p "$IMG"
: > "$LOG"

PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3

note() { echo "== $*" >&2; }

# ---------------------------------------------------------------- corpus

gen_corpus() {	# gen_corpus DIR: deterministic ~200 MB tree
	"$PY" - "$1" <<'EOF'
import os, random, sys
root = sys.argv[1]
rng = random.Random(20240601)
TARGET = 200 * 1024 * 1024
os.makedirs(root)
dirs = [root]
for i in range(220):
    parent = rng.choice(dirs)
    if parent.count(os.sep) - root.count(os.sep) >= 5:
        parent = root
    d = os.path.join(parent, "d%03d" % i)
    os.mkdir(d)
    dirs.append(d)
words = [b"erofs", b"chunk", b"inode", b"block", b"seal", b"verity", b"data",
         b"the", b"of", b"and", b"image", b"tree", b"\n"]
def content(size):
    if rng.random() < 0.5:
        return rng.randbytes(size)
    out = bytearray()
    while len(out) < size:
        out += rng.choice(words) + b" "
    return bytes(out[:size])
def size_of():
    r = rng.random()
    if r < 0.03: return 0
    if r < 0.45: return rng.randint(1, 1024)
    if r < 0.75: return rng.randint(1025, 16 << 10)
    if r < 0.92: return rng.randint((16 << 10) + 1, 128 << 10)
    if r < 0.99: return rng.randint((128 << 10) + 1, 1 << 20)
    return rng.randint((1 << 20) + 1, 6 << 20)
files, total, n = [], 0, 0
owners = [(0, 0), (1000, 1000), (1001, 100), (65534, 65534)]
modes = [0o644, 0o644, 0o600, 0o755, 0o640]
while total < TARGET:
    d = rng.choice(dirs)
    p = os.path.join(d, "f%05d" % n)
    n += 1
    r = rng.random()
    if files and r < 0.08:			# duplicate content of an earlier file
        with open(rng.choice(files), "rb") as f:
            data = f.read()
    elif files and r < 0.11:		# hard link
        os.link(rng.choice(files), p)
        continue
    elif files and r < 0.13:		# symlink
        os.symlink(os.path.relpath(rng.choice(files), d), p)
        continue
    elif r < 0.14:				# big file of repeated 4 KiB blocks
        blk = [rng.randbytes(4096) for _ in range(4)]
        data = b"".join(rng.choice(blk) for _ in range(rng.randint(16, 256)))
    else:
        data = content(size_of())
    with open(p, "wb") as f:
        f.write(data)
    total += len(data)
    u, g = rng.choice(owners)
    os.chown(p, u, g)
    os.chmod(p, rng.choice(modes))
    if rng.random() < 0.02:
        try:
            os.setxattr(p, "user.bench", b"v%d" % n)
        except OSError:
            pass
    t = 1600000000 + rng.randint(0, 10**8)
    os.utime(p, (t, t))
    files.append(p)
print("generated %d entries, %d bytes of file data" % (n, total))
EOF
}

CORPUS_LABEL=
if [ -n "$CORPUS" ]; then
	[ -d "$CORPUS" ] || { echo "--corpus $CORPUS: not a directory" >&2; exit 2; }
	CORPUS=$(cd "$CORPUS" && pwd)
	CORPUS_LABEL="user-supplied ($CORPUS)"
else
	MB=$OUT/corpus-minbase
	GEN=$OUT/corpus-generated
	if [ ! -d "$MB" ] && [ ! -e "$MB.failed" ] && [ "${ES_NO_DEBOOTSTRAP:-0}" != 1 ]; then
		if ! command -v debootstrap >/dev/null 2>&1; then
			note "installing debootstrap"
			apt-get install -y debootstrap >>"$LOG" 2>&1 ||
				{ apt-get update >>"$LOG" 2>&1 && apt-get install -y debootstrap >>"$LOG" 2>&1; } ||
				true
		fi
		if command -v debootstrap >/dev/null 2>&1; then
			note "debootstrap --variant=minbase $SUITE from $MIRROR (once; up to 900 s)"
			rm -rf "$MB.tmp"
			t0=$(date +%s)
			if timeout 900 debootstrap --variant=minbase "$SUITE" "$MB.tmp" "$MIRROR" \
				>"$OUT/debootstrap.log" 2>&1; then
				# debootstrap unmounts what it mounted; make sure
				if grep -q " $MB.tmp/" /proc/mounts; then
					echo "debootstrap left mounts under $MB.tmp" >>"$MB.failed"
				else
					rm -rf "$MB.tmp/var/cache/apt/archives/"*.deb
					mv "$MB.tmp" "$MB"
					echo "debootstrap --variant=minbase $SUITE $MIRROR: $(( $(date +%s) - t0 )) s on $(date -u +%F)" >"$MB.info"
				fi
			else
				{ echo "debootstrap failed (rc $?) after $(( $(date +%s) - t0 )) s"; tail -5 "$OUT/debootstrap.log"; } >"$MB.failed"
				rm -rf "$MB.tmp"
			fi
		else
			echo "debootstrap not available" >"$MB.failed"
		fi
		if [ -e "$MB.failed" ]; then note "debootstrap failed: $(head -1 "$MB.failed")"; fi
	fi
	if [ -d "$MB" ]; then
		CORPUS=$MB
		CORPUS_LABEL="Debian $SUITE minbase via debootstrap ($(cat "$MB.info" 2>/dev/null || echo reused))"
	else
		if [ ! -d "$GEN" ]; then
			note "generating deterministic corpus in $GEN"
			rm -rf "$GEN.tmp"
			gen_corpus "$GEN.tmp" >&2
			mv "$GEN.tmp" "$GEN"
		fi
		CORPUS=$GEN
		CORPUS_LABEL="generated (seeded, ~200 MB; debootstrap unavailable: $(head -1 "$MB.failed" 2>/dev/null || echo disabled))"
	fi
fi

CORPUS_ENTRIES=$(find "$CORPUS" | wc -l)
CORPUS_BYTES=$(du -sb --apparent-size "$CORPUS" | cut -f1)
note "corpus: $CORPUS_LABEL: $CORPUS_ENTRIES entries, $CORPUS_BYTES bytes"

# Extract into tmpfs when there is room, so that the timings measure the tools
# and not the disk's writeback; ES_EXTRACT_BASE overrides the parent directory.
XBASE=${ES_EXTRACT_BASE:-}
if [ -z "$XBASE" ]; then
	XBASE=$OUT
	if [ "$(stat -f -c %T /dev/shm 2>/dev/null)" = tmpfs ] &&
	   [ "$(df -B1 --output=avail /dev/shm | tail -1)" -gt $(( CORPUS_BYTES * 3 )) ]; then
		XBASE=/dev/shm
	fi
fi
XDIR=$(mktemp -d "$XBASE/erofs-seal-bench-extract.XXXXXX")
trap 'rm -rf "$XDIR"' EXIT
XDIR_FS="$XBASE ($(stat -f -c %T "$XBASE"))"
note "extraction directory: $XDIR"

# ---------------------------------------------------------------- timing

: > "$RAW"
echo "# step input tool run seconds rc   (run 0 = warm-up, not counted)" >>"$RAW"

# timeit STEP INPUT TOOL RUN CMD...: time CMD, append a raw line
timeit() {
	local step=$1 input=$2 tool=$3 run=$4 t0 t1 rc
	shift 4
	echo "+ [$step $input $tool run $run] $*" >>"$LOG"
	t0=$(date +%s.%N)
	if "$@" >>"$LOG" 2>&1; then rc=0; else rc=$?; fi
	t1=$(date +%s.%N)
	printf '%s %s %s %s %.3f %s\n' "$step" "$input" "$tool" "$run" \
		"$(echo "$t1 - $t0" | bc -l)" "$rc" >>"$RAW"
	if [ "$rc" -ne 0 ]; then
		echo "!! $step $input $tool run $run: exit $rc (see $LOG)" >&2
	fi
	return 0
}

command -v bc >/dev/null 2>&1 || { echo "bc is required" >&2; exit 2; }
# Without fsverity or openssl the old rows still run; the rows that need them
# show FAIL (the command's exit status is in raw.txt and log.txt).
command -v fsverity >/dev/null 2>&1 ||
	note "fsverity (fsverity-utils) not found: the fsverity rows will FAIL"

# A throwaway RSA-2048 key and self-signed certificate for the signed build,
# made once per run (not timed).
SIGN_KEY=$OUT/sign/rsa.pem
SIGN_CERT=$OUT/sign/rsa-cert.pem
rm -rf "$OUT/sign"; mkdir -p "$OUT/sign"
echo "+ openssl req -x509 -newkey rsa:2048 (throwaway signing key)" >>"$LOG"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$SIGN_KEY" -out "$SIGN_CERT" \
	-days 3650 -subj /CN=erofs-seal-bench >>"$LOG" 2>&1 ||
	note "openssl could not make a key: the signed build and verify rows will FAIL"

# Throwaway encryption keys (not timed): the domain key, a reader's key
# file, an Ed25519 signing key and its public half.
ENC_DIR=$OUT/enc
rm -rf "$ENC_DIR"; mkdir -p "$ENC_DIR"
head -c 32 /dev/urandom >"$ENC_DIR/domain.key"
head -c 32 /dev/urandom >"$ENC_DIR/reader.key"
openssl genpkey -algorithm ed25519 -out "$ENC_DIR/ed.pem" >>"$LOG" 2>&1 &&
	openssl pkey -in "$ENC_DIR/ed.pem" -pubout -out "$ENC_DIR/ed.pub" >>"$LOG" 2>&1 ||
	note "openssl could not make an Ed25519 key: the encrypted rows will FAIL"

# The sealed builds: ours only, each with --chunksize=4096 like build chunk4k.
SEAL_KINDS="seal blob blob-rsa blob-enc"
seal_opts() {	# seal_opts KIND: SEAL_OPTS = the options beyond --chunksize=4096
	case $1 in
	seal) SEAL_OPTS=(--seal) ;;
	blob) SEAL_OPTS=("--blob-dir=$IMG/blobs-blob") ;;
	blob-rsa) SEAL_OPTS=("--blob-dir=$IMG/blobs-blob-rsa" "--sign-key=$SIGN_KEY" "--sign-cert=$SIGN_CERT") ;;
	blob-enc) SEAL_OPTS=("--blob-dir=$IMG/blobs-blob-enc" --encrypt
			     "--domain-key=$ENC_DIR/domain.key" "--keyslot=keyfile:$ENC_DIR/reader.key"
			     "--sign-key=$ENC_DIR/ed.pem") ;;
	esac
}
# shellcheck disable=SC2016
seal_label() {
	case $1 in
	seal) echo '`--seal`' ;;
	blob) echo '`--blob-dir=DIR`' ;;
	blob-rsa) echo '`--blob-dir=DIR --sign-key=rsa.pem --sign-cert=rsa-cert.pem` (RSA-2048, CMS)' ;;
	blob-enc) echo '`--blob-dir=DIR --encrypt --domain-key=K --keyslot=keyfile:F --sign-key=ed25519.pem`' ;;
	esac
}

mkfs_of() { [ "$1" = ours ] && echo "$OUR_MKFS" || echo "$THEIR_MKFS"; }
fsck_of() { [ "$1" = ours ] && echo "$OUR_FSCK" || echo "$THEIR_FSCK"; }

# the order of the two tools alternates from run to run
order() { if [ $(( $1 % 2 )) -eq 0 ]; then echo theirs ours; else echo ours theirs; fi; }

do_round() {
	local r=$1 tool kind img opt
	for kind in plain chunk4k; do
		opt=
		[ "$kind" = chunk4k ] && opt=--chunksize=4096
		for tool in $(order "$r"); do
			img=$IMG/$tool-$kind.img
			rm -f "$img"; sync
			timeit build "$kind" "$tool" "$r" \
				"$(mkfs_of "$tool")" --quiet -T 0 -U "$UUID" $opt "$img" "$CORPUS"
		done
	done
	# sealing cost: the blob directory starts empty every time
	for kind in $SEAL_KINDS; do
		img=$IMG/ours-$kind.img
		rm -f "$img"
		rm -rf "$IMG/blobs-$kind"
		[ "$kind" = seal ] || mkdir "$IMG/blobs-$kind"
		sync
		seal_opts "$kind"
		timeit build "$kind" ours "$r" \
			"$OUR_MKFS" --quiet -T 0 -U "$UUID" --chunksize=4096 "${SEAL_OPTS[@]}" \
			"$img" "$CORPUS"
	done
	for kind in plain chunk4k; do
		for src in theirs ours; do
			for tool in $(order "$r"); do
				rm -rf "$XDIR"; sync
				timeit extract "$src-$kind.img" "$tool" "$r" \
					"$(fsck_of "$tool")" --extract="$XDIR" "$IMG/$src-$kind.img"
			done
		done
	done
	rm -rf "$XDIR"; sync
	# extraction with a key against theirs of the plain image
	for tool in $(order "$r"); do
		rm -rf "$XDIR"; sync
		if [ "$tool" = ours ]; then
			timeit extract ours-blob-enc.img ours "$r" \
				"$OUR_FSCK" --unlock=keyfile:"$ENC_DIR/reader.key" \
				--pubkey="$ENC_DIR/ed.pub" --blob-dir="$IMG/blobs-blob-enc" \
				--extract="$XDIR" "$IMG/ours-blob-enc.img"
		else
			timeit extract ours-blob-enc.img theirs "$r" \
				"$THEIR_FSCK" --extract="$XDIR" "$IMG/theirs-plain.img"
		fi
	done
	rm -rf "$XDIR"; sync
	for kind in plain chunk4k; do
		for src in theirs ours; do
			for tool in $(order "$r"); do
				timeit check "$src-$kind.img" "$tool" "$r" \
					"$(fsck_of "$tool")" "$IMG/$src-$kind.img"
			done
		done
	done
}

T_START=$(date +%s)
note "warm-up round (not counted)"
do_round 0
for r in $(seq 1 "$RUNS"); do
	note "round $r/$RUNS"
	do_round "$r"
done

# ---------------------------------------------------------------- verify
# erofs-verify on the signed blob image of the last round against
# `fsverity digest` over the same bytes: the blob file(s) and a copy of the
# image truncated to its filesystem region (made once, not timed).

VIMG=$IMG/ours-blob-rsa.img
VDIR=$IMG/blobs-blob-rsa
VFSR=$IMG/ours-blob-rsa.fsregion
rm -f "$VFSR"
VBLOCKS=$("$OUR_DUMP" -s "$VIMG" 2>>"$LOG" | awk '/^Filesystem blocks:/ { print $NF }') || true
VBLOBS=()
if [ -d "$VDIR" ]; then
	mapfile -t VBLOBS < <(find "$VDIR" -maxdepth 1 -type f ! -name '*.sig' | sort)
fi
if [ -n "$VBLOCKS" ]; then
	head -c $(( VBLOCKS * 4096 )) "$VIMG" > "$VFSR"
else
	note "dump.erofs -s $VIMG gave no block count: the fsverity rows will FAIL"
fi
VBYTES=0
for f in "${VBLOBS[@]}" "$VFSR"; do
	[ -f "$f" ] && VBYTES=$(( VBYTES + $(stat -c %s "$f") ))
done

# the order of the three verifiers rotates from run to run
vorder() {
	case $(( $1 % 3 )) in
	0) echo fsverity ours-j1 ours-j2 ;;
	1) echo ours-j1 ours-j2 fsverity ;;
	2) echo ours-j2 fsverity ours-j1 ;;
	esac
}

do_verify_round() {
	local r=$1 tool
	for tool in $(vorder "$r"); do
		case $tool in
		fsverity) timeit verify ours-blob-rsa.img "$tool" "$r" \
				"$FSVERITY" digest "${VBLOBS[@]}" "$VFSR" ;;
		ours-j*) timeit verify ours-blob-rsa.img "$tool" "$r" \
				"$OUR_VERIFY" "-j${tool#ours-j}" --cert "$SIGN_CERT" \
				--blob-dir "$VDIR" "$VIMG" ;;
		esac
	done
}

VLOAD=$(cut -d' ' -f1-3 /proc/loadavg)
note "verify: warm-up round (not counted)"
do_verify_round 0
for r in $(seq 1 "$RUNS"); do
	note "verify: round $r/$RUNS"
	do_verify_round "$r"
done
T_TOTAL=$(( $(date +%s) - T_START ))

# Not timed: fsverity's digests must be the ones the image's seal names (the
# blob's file name, and the manifest's device 0 for the filesystem region).
VCHECK=
for f in "${VBLOBS[@]}"; do
	d=$("$FSVERITY" digest --compact "$f" 2>>"$LOG") || d="(fsverity failed)"
	if [ "$d" = "$(basename "$f")" ]; then
		VCHECK="$VCHECK blob $(basename "$f" | cut -c1-12)...: digest matches its name;"
	else
		VCHECK="$VCHECK blob $(basename "$f" | cut -c1-12)...: MISMATCH, fsverity says $d;"
	fi
done
if [ -f "$VFSR" ]; then
	want=$("$OUR_DUMP" -s "$VIMG" 2>>"$LOG" |
		awk '/device 0:.*fs-verity/ { for (i = 1; i < NF; i++) if ($i == "fs-verity") { sub(/,$/, "", $(i + 1)); sub(/^sha256:/, "", $(i + 1)); print $(i + 1) } }') || true
	d=$("$FSVERITY" digest --compact "$VFSR" 2>>"$LOG") || d="(fsverity failed)"
	if [ -z "$want" ]; then
		VCHECK="$VCHECK filesystem region: no device 0 digest in dump.erofs -s"
	elif [ "$d" = "$want" ]; then
		VCHECK="$VCHECK filesystem region ($VBLOCKS blocks): digest matches the manifest's device 0"
	else
		VCHECK="$VCHECK filesystem region: MISMATCH, fsverity says $d, manifest $want"
	fi
fi
[ -n "$VCHECK" ] || VCHECK=" nothing to compare (no signed blob image)"

# ---------------------------------------------------------------- tree check
# Not timed: extract each image once with each fsck and compare the result
# with the corpus (type, mode, owner, size, content, symlink target, rdev,
# xattrs, hard-link grouping; times are not compared: -T 0 sets them).

treecmp() {
	"$PY" - "$1" "$2" <<'EOF'
import os, stat, sys, filecmp
a, b = sys.argv[1], sys.argv[2]
def walk(root):
    ents = {}
    for dp, dns, fns in os.walk(root):
        for n in dns + fns:
            p = os.path.join(dp, n)
            ents[os.path.relpath(p, root)] = os.lstat(p)
    return ents
ea, eb = walk(a), walk(b)
bad = []
for k in sorted(set(ea) ^ set(eb)):
    bad.append(("missing" if k in ea else "extra", "only in %s: %s" % ("corpus" if k in ea else "extract", k)))
ino_a, ino_b = {}, {}
for k in sorted(set(ea) & set(eb)):
    x, y = ea[k], eb[k]
    fx = (stat.S_IFMT(x.st_mode), stat.S_IMODE(x.st_mode), x.st_uid, x.st_gid)
    fy = (stat.S_IFMT(y.st_mode), stat.S_IMODE(y.st_mode), y.st_uid, y.st_gid)
    if fx != fy:
        bad.append(("mode/owner", "%s: type/mode/uid/gid %o/%o/%d/%d vs %o/%o/%d/%d" % ((k,) + fx + fy))); continue
    pa, pb = os.path.join(a, k), os.path.join(b, k)
    if stat.S_ISREG(x.st_mode):
        if x.st_size != y.st_size or not filecmp.cmp(pa, pb, shallow=False):
            bad.append(("content", "%s: content differs (size %d vs %d)" % (k, x.st_size, y.st_size)))
        ino_a.setdefault(x.st_ino, []).append(k); ino_b.setdefault(y.st_ino, []).append(k)
    elif stat.S_ISLNK(x.st_mode):
        if os.readlink(pa) != os.readlink(pb): bad.append(("symlink", "%s: symlink target" % k))
    elif stat.S_ISCHR(x.st_mode) or stat.S_ISBLK(x.st_mode):
        if x.st_rdev != y.st_rdev: bad.append(("rdev", "%s: rdev" % k))
    try:
        xa = {n: os.getxattr(pa, n, follow_symlinks=False) for n in os.listxattr(pa, follow_symlinks=False)}
        xb = {n: os.getxattr(pb, n, follow_symlinks=False) for n in os.listxattr(pb, follow_symlinks=False)}
        if xa != xb: bad.append(("xattrs", "%s: xattrs %r vs %r" % (k, sorted(xa), sorted(xb))))
    except OSError:
        pass
ga = sorted(sorted(v) for v in ino_a.values() if len(v) > 1)
gb = sorted(sorted(v) for v in ino_b.values() if len(v) > 1)
if ga != gb: bad.append(("hardlinks", "hard-link groups: %d in corpus, %d extracted" % (len(ga), len(gb))))
kinds = {}
for c, l in bad:
    kinds.setdefault(c, []).append(l)
for c in sorted(kinds):
    for l in kinds[c][:3]: print("   " + l)
    if len(kinds[c]) > 3: print("   ... %d more %s" % (len(kinds[c]) - 3, c))
print("OK" if not bad else "MISMATCH (%s)" %
      ", ".join("%s %d" % (c, len(v)) for c, v in sorted(kinds.items())))
EOF
}

TREECHECK=$OUT/treecheck.txt
: > "$TREECHECK"
note "comparing extracted trees with the corpus (not timed)"
for kind in plain chunk4k; do
	for src in theirs ours; do
		for tool in theirs ours; do
			rm -rf "$XDIR"
			res=
			if "$(fsck_of "$tool")" --extract="$XDIR" "$IMG/$src-$kind.img" >>"$LOG" 2>&1; then
				res=$(treecmp "$CORPUS" "$XDIR" 2>&1) || true
			else
				res="extract failed (exit $?)"
			fi
			{ echo "$tool fsck on $src-$kind.img: $(echo "$res" | tail -1)"
			  echo "$res" | sed '$d'; } >>"$TREECHECK"
		done
	done
done
rm -rf "$XDIR"

# ---------------------------------------------------------------- report

median() {	# median STEP INPUT TOOL -> seconds over the successful counted runs
	local sel nfail
	sel=$(awk -v s="$1" -v i="$2" -v t="$3" \
		'$1 == s && $2 == i && $3 == t && $4 > 0 { print $5, $6 }' "$RAW")
	nfail=$(echo "$sel" | awk '$2 != 0 { n++ } END { print n + 0 }')
	if ! echo "$sel" | awk '$2 == 0 { f = 1 } END { exit !f }'; then
		echo FAIL; return
	fi
	echo "$sel" | awk '$2 == 0 { print $1 }' | sort -g | awk -v nf="$nfail" '{ v[NR] = $1 }
		END {
			if (NR % 2) printf "%.3f", v[(NR + 1) / 2]
			else printf "%.3f", (v[NR / 2] + v[NR / 2 + 1]) / 2
			if (nf) printf " (%d failed)", nf
			printf "\n"
		}'
}

ratio() {
	case "$1$2" in *FAIL*) echo "-"; return ;; esac
	awk -v a="${1%% *}" -v b="${2%% *}" 'BEGIN { if (b > 0) printf "%.2f\n", a / b; else print "-" }'
}

target() {	# target RATIO le|ge LIMIT -> met / MISSED / -
	case "$1" in ''|-|*FAIL*) echo "-"; return ;; esac
	awk -v x="$1" -v op="$2" -v l="$3" 'BEGIN {
		ok = (op == "le") ? (x <= l) : (x >= l); print ok ? "met" : "MISSED" }'
}

mbps() {	# mbps SECONDS -> VBYTES / SECONDS in MB/s
	case "$1" in ''|FAIL*) echo "-"; return ;; esac
	awk -v b="$VBYTES" -v t="${1%% *}" 'BEGIN { if (t > 0) printf "%.0f\n", b / t / 1e6; else print "-" }'
}

OURS_REV=$(git -C "$SCRIPT_DIR/.." describe --always --dirty 2>/dev/null || echo unknown)
{
	echo "# erofs-seal benchmark"
	echo
	echo "- date: $(date -u '+%F %T UTC'), host: $(nproc) CPUs, $(uname -r)"
	echo "- corpus: $CORPUS_LABEL"
	echo "- corpus size: $CORPUS_ENTRIES entries, $CORPUS_BYTES bytes (apparent)"
	echo "- theirs: erofs-utils $("$THEIR_FSCK" -V 2>&1 | awk '{print $2; exit}') ($THEIR_MKFS, $THEIR_FSCK)"
	echo "- ours: $("$OUR_MKFS" -V 2>&1 | head -1), git $OURS_REV ($ES_BUILD)"
	echo "- method: wall clock, median of $RUNS runs after one warm-up round (not counted);"
	echo "  page cache warm (never dropped); sync between runs (not timed); tool order alternates per run;"
	echo "  build = mkfs --quiet -T 0 -U $UUID [--chunksize=4096]; extract dir removed between runs (not timed)"
	echo "  sealed builds: ours, --chunksize=4096 plus the options shown; blob directory emptied between runs (not timed)"
	echo "  verify: $RUNS runs (after one warm-up) on the last round's signed blob image; the three verifiers' order rotates"
	echo "- extraction into $XDIR_FS"
	echo "- load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine adds noise)"
	echo "- total timed phase: ${T_TOTAL} s"
	echo
	echo "| step | input | theirs (s) | ours (s) | ours/theirs |"
	echo "|------|-------|-----------:|---------:|------------:|"
	for kind in plain chunk4k; do
		a=$(median build "$kind" theirs); b=$(median build "$kind" ours)
		echo "| build | $kind | $a | $b | $(ratio "$b" "$a") |"
	done
	for step in extract check; do
		for kind in plain chunk4k; do
			for src in theirs ours; do
				a=$(median "$step" "$src-$kind.img" theirs); b=$(median "$step" "$src-$kind.img" ours)
				echo "| $step | $src-$kind.img | $a | $b | $(ratio "$b" "$a") |"
			done
		done
	done
	for kind in plain chunk4k; do
		a=$(median extract "theirs-$kind.img" theirs); b=$(median extract "ours-$kind.img" ours)
		echo "| extract, own image | $kind | $a | $b | $(ratio "$b" "$a") |"
	done
	echo
	echo "Sealing cost (ours; every build with \`--chunksize=4096\`; DESIGN target: fully sealed within 1.50x of theirs plain chunk4k):"
	echo
	echo "| build | ours (s) | sealed/plain (ours chunk4k) | sealed-ours/plain-theirs (chunk4k) | target <= 1.50 |"
	echo "|-------|---------:|----------------------------:|-----------------------------------:|:--------------:|"
	po=$(median build chunk4k ours); pt=$(median build chunk4k theirs)
	echo "| plain chunk4k (theirs: $pt s) | $po | 1.00 | $(ratio "$po" "$pt") | |"
	for kind in $SEAL_KINDS; do
		b=$(median build "$kind" ours); x=$(ratio "$b" "$pt")
		echo "| $(seal_label "$kind") | $b | $(ratio "$b" "$po") | $x | $(target "$x" le 1.5) |"
	done
	echo
	echo "Encryption (ours) against plain erofs-utils (issue target: an encrypted, deduplicated,"
	echo "signed build within 1.20x of a plain /usr/bin/mkfs.erofs build):"
	echo
	echo "| step | theirs (s) | ours (s) | ours/theirs | target |"
	echo "|------|-----------:|---------:|------------:|:------:|"
	pl=$(median build plain theirs); b=$(median build blob-enc ours); x=$(ratio "$b" "$pl")
	echo "| build: ours $(seal_label blob-enc) vs theirs plain | $pl | $b | $x | $(target "$x" le 1.2) (<= 1.20) |"
	a=$(median extract ours-blob-enc.img theirs); b=$(median extract ours-blob-enc.img ours)
	echo "| extract: ours \`--unlock --pubkey --blob-dir\` of the encrypted image vs theirs of its plain image | $a | $b | $(ratio "$b" "$a") | |"
	echo
	echo "Verification of ours-blob-rsa.img and its blob: $VBYTES bytes hashed ($(( ${#VBLOBS[@]} )) blob file(s) + filesystem region of ${VBLOCKS:-?} blocks); MB = 10^6 bytes."
	echo "DESIGN target: fsverity/ours >= 1.00 with -j1 and >= 1.60 with -j2 (> 1 means ours is faster)."
	echo "Load average just before these runs: $VLOAD on $(nproc) CPUs (-j2 gains only what a free second core allows)."
	echo
	echo "| verifier | median (s) | MB/s | fsverity/ours | target |"
	echo "|----------|-----------:|-----:|--------------:|:------:|"
	fv=$(median verify ours-blob-rsa.img fsverity)
	echo "| \`fsverity digest BLOB FSREGION\` | $fv | $(mbps "$fv") | 1.00 | |"
	for j in 1 2; do
		b=$(median verify ours-blob-rsa.img "ours-j$j"); x=$(ratio "$fv" "$b")
		[ "$j" = 1 ] && want=1.0 || want=1.6
		echo "| \`erofs-verify -j$j --cert rsa-cert.pem --blob-dir DIR IMG\` | $b | $(mbps "$b") | $x | $(target "$x" ge "$want") (>= $want) |"
	done
	echo
	x=$(ratio "$(median verify ours-blob-rsa.img ours-j1)" "$(median verify ours-blob-rsa.img ours-j2)")
	echo "- erofs-verify -j2 vs -j1: $x$([ "$x" = - ] || echo x) faster (time -j1 / time -j2)"
	echo "- digests (not timed):$VCHECK"
	echo
	echo "| image | bytes |"
	echo "|-------|------:|"
	for kind in plain chunk4k; do
		for tool in theirs ours; do
			if [ -f "$IMG/$tool-$kind.img" ]; then
				echo "| $tool-$kind.img | $(stat -c %s "$IMG/$tool-$kind.img") |"
			else
				echo "| $tool-$kind.img | (build failed) |"
			fi
		done
	done
	for kind in $SEAL_KINDS; do
		if [ -f "$IMG/ours-$kind.img" ]; then
			bl=
			[ "$kind" = seal ] ||
				bl=" (+ blob: $(find "$IMG/blobs-$kind" -type f -printf '%s\n' 2>/dev/null | awk '{ s += $1 } END { print s + 0 }') bytes)"
			echo "| ours-$kind.img | $(stat -c %s "$IMG/ours-$kind.img")$bl |"
		else
			echo "| ours-$kind.img | (build failed) |"
		fi
	done
	echo
	echo "Failures (non-zero exit status, warm-up included; details in log.txt):"
	echo
	awk 'NR > 1 { k = $1 " " $2 " " $3; tot[k]++
			if ($6 != 0) { if (!(k in n)) ord[m++] = k; n[k]++
				if (index(" " codes[k] " ", " " $6 " ") == 0) codes[k] = codes[k] " " $6 } }
		END { for (i = 0; i < m; i++) { k = ord[i]
				printf "- %s: %d of %d runs failed, exit status%s\n", k, n[k], tot[k], codes[k] }
			if (!m) print "- none" }' "$RAW"
	echo
	echo "Extracted tree vs corpus (one untimed extraction each):"
	echo
	echo '```'
	cat "$TREECHECK"
	echo '```'
} > "$REPORT"

cat "$REPORT"
echo
echo "report: $REPORT  raw timings: $RAW  log: $LOG" >&2
