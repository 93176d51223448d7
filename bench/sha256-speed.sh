#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# bench/sha256-speed.sh - the multi-message SHA-256 (lib/crypto/sha256_mb.c)
# beside OpenSSL's one-stream SHA-256, and erofs-verify beside
# `fsverity digest` on one blob.  Speed only: nothing here passes or fails.
#
# Usage: bash bench/sha256-speed.sh [--blob-mb N] [--runs N] [--seconds S]
#
#   1. bench/sha256-speed (4 KiB blocks, one thread, with SHA-NI and with it
#      masked off) and `openssl speed -evp sha256 -bytes 4096`; both count
#      CPU time, so the ratio holds on a busy machine too.
#   2. With --blob-mb N (e.g. 500): a sealed image whose one blob is N MB of
#      seeded pseudo-random bytes; then `fsverity digest BLOB` and
#      `erofs-verify --integrity-only -j1` / `-j2` IMAGE BLOB, --runs times
#      each (default 5) with the blob in the page cache, under /usr/bin/time.
#      Printed: medians of wall time and of CPU time (user+sys), the
#      throughput from each, and erofs-verify's ratio to fsverity digest.
#
# Environment: ES_BUILD (our build tree, default <script dir>/../_build),
# TMPDIR (where the blob goes: it needs N MB).

set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "$0")" && pwd)
ES_BUILD=${ES_BUILD:-$SCRIPT_DIR/../_build}
BLOB_MB=0
RUNS=5
SECONDS_PER_CASE=2

usage() {
	echo "usage: bash bench/sha256-speed.sh [--blob-mb N] [--runs N] [--seconds S]" >&2
	exit 2
}

while [ $# -gt 0 ]; do
	case $1 in
	--blob-mb) [ $# -ge 2 ] || usage; BLOB_MB=$2; shift 2 ;;
	--runs) [ $# -ge 2 ] || usage; RUNS=$2; shift 2 ;;
	--seconds) [ $# -ge 2 ] || usage; SECONDS_PER_CASE=$2; shift 2 ;;
	*) usage ;;
	esac
done

SPEED=$ES_BUILD/bench/sha256-speed
[ -x "$SPEED" ] || { echo "no $SPEED: build the project first" >&2; exit 1; }

echo "== SHA-256 over 4 KiB blocks, one thread (MB = 10^6 bytes, per CPU second)"
ours=$("$SPEED" "$SECONDS_PER_CASE")
echo "$ours"
if command -v openssl >/dev/null; then
	# the last line: "sha256  <rate>k" in 1000s of bytes per second
	theirs=$(openssl speed -seconds "$SECONDS_PER_CASE" -evp sha256 -bytes 4096 2>/dev/null |
		awk '$1 == "sha256" { sub(/k$/, "", $2); print $2 / 1000 }')
	printf 'openssl speed -evp sha256 -bytes 4096: %.0f MB/s\n' "$theirs"
	echo "$ours" | awk -v o="$theirs" '/MB\/s cpu/ {
		for (i = 1; i <= NF; i++) if ($i == "MB/s") { r = $(i - 1); break }
		sub(/ *[0-9]+-byte.*/, ""); printf "ratio %s / openssl: %.2f\n", $0, r / o }'
else
	echo "openssl not installed: no ratio"
fi

[ "$BLOB_MB" -gt 0 ] || exit 0

for p in mkfs/mkfs.erofs verify/erofs-verify; do
	[ -x "$ES_BUILD/$p" ] || { echo "no $ES_BUILD/$p" >&2; exit 1; }
done
command -v fsverity >/dev/null || { echo "fsverity not installed: no verify comparison"; exit 0; }

work=$(mktemp -d "${TMPDIR:-/tmp}/sha256-speed.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir "$work/src" "$work/blobs"
# seeded bytes that do not compress or dedup: AES-CTR of zeros
head -c $((BLOB_MB * 1000000)) /dev/zero |
	openssl enc -aes-128-ctr -nosalt -K 000102030405060708090a0b0c0d0e0f \
		-iv 00000000000000000000000000000000 >"$work/src/data"
"$ES_BUILD/mkfs/mkfs.erofs" --quiet --blob-dir="$work/blobs" "$work/image" "$work/src"
blob=$(ls "$work/blobs"/*)
cat "$blob" >/dev/null	# into the page cache
echo
echo "== $BLOB_MB MB blob in the page cache, $RUNS runs each, medians"

# time_runs NAME CMD...: medians of wall and user+sys over RUNS runs
time_runs() {
	local name=$1 i
	shift
	: >"$work/times"
	for ((i = 0; i < RUNS; i++)); do
		/usr/bin/time -f '%e %U %S' -o "$work/t" "$@" >/dev/null 2>"$work/err" || {
			echo "$name failed: $(head -c 500 "$work/err")" >&2
			return 1
		}
		awk '{ print $1, $2 + $3 }' "$work/t" >>"$work/times"
	done
	wall=$(sort -n -k1,1 "$work/times" | awk -v n="$RUNS" 'NR == int((n + 1) / 2) { print $1 }')
	cpu=$(sort -n -k2,2 "$work/times" | awk -v n="$RUNS" 'NR == int((n + 1) / 2) { print $2 }')
	printf '%-28s wall %6.2f s (%5.0f MB/s)   cpu %6.2f s (%5.0f MB/s)\n' "$name" \
		"$wall" "$(echo "$BLOB_MB / $wall" | bc -l)" "$cpu" "$(echo "$BLOB_MB / $cpu" | bc -l)"
}

time_runs "fsverity digest" fsverity digest "$blob"
fs_wall=$wall fs_cpu=$cpu
for j in 1 2; do
	time_runs "erofs-verify -j$j" "$ES_BUILD/verify/erofs-verify" --integrity-only -j$j \
		"$work/image" "$blob"
	printf '  throughput vs fsverity digest: %.2fx by wall time, %.2fx by CPU time\n' \
		"$(echo "$fs_wall / $wall" | bc -l)" "$(echo "$fs_cpu / $cpu" | bc -l)"
done
ES_SHA256_NO_SHANI=1 time_runs "erofs-verify -j1, no SHA-NI" \
	"$ES_BUILD/verify/erofs-verify" --integrity-only -j1 "$work/image" "$blob"
