#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# tools/byte-identity.sh [BASE]
#
# Are the images of the current tree byte for byte those of BASE (a commit,
# default HEAD~1)?  For a change that must not change what mkfs.erofs
# writes (a refactoring): builds mkfs.erofs of BASE (from `git archive`)
# and of the current tree (tracked and untracked files, uncommitted edits
# included), builds the same images with both from generated trees
# (tests/integration/gentree.sh) and compares every output file with cmp.
#
# Images (every one with a fixed -T and -U, so that two builds can agree):
#   plain       the default layout
#   chunked     --chunksize=8192
#   blobdev     --chunksize=4096 --blobdev=FILE (image and blob file)
#   blobdir     --blob-dir=DIR: sealed, data in blobs (image and each blob)
#   signed      --sign-key with a fixed Ed25519 key (its signatures are
#               deterministic), with --blob-dir
#   chunkdict   a second tree --chunk-dict=blobdir's image, same --blob-dir
#   mkfstime    -T with --mkfs-time (file times kept from the tree)
# over the "full" tree (every kind of entry; needs root, else skipped),
# the "dups" tree and a small "large" tree.
#
# Prints one line per image and a summary; exit 0 when every file is
# identical, 1 when one differs, 2 when something could not be built.
# Environment: BYTE_IDENTITY_KEEP=1 keeps the work folder (its path is
# printed), JOBS=N for make (default: all cores).
set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BASE=${1:-HEAD~1}
JOBS=${JOBS:-$(nproc)}
TIME=1700000000
UUID=0123abcd-4567-89ef-0123-456789abcdef

die() { echo "byte-identity: $*" >&2; exit 2; }

base_commit=$(git -C "$TOP" rev-parse --verify --quiet "$BASE^{commit}") ||
	die "$BASE is not a commit of $TOP"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/byte-identity.XXXXXX")
if [ "${BYTE_IDENTITY_KEEP:-0}" = 1 ]; then
	echo "byte-identity: work folder $WORK (kept)"
else
	trap 'rm -rf "$WORK"' EXIT
fi

# build NAME SRCDIR: mkfs.erofs of SRCDIR into $WORK/NAME/mkfs.erofs
build() {
	local name=$1 src=$2 log=$WORK/$1-build.log
	echo "byte-identity: building mkfs.erofs of $name"
	(
		cd "$src" && autoreconf -fi &&
			mkdir -p _build && cd _build && ./../configure -q &&
			make -j"$JOBS" mkfs/mkfs.erofs
	) >"$log" 2>&1 || { tail -n 30 "$log" >&2; die "cannot build $name (see above)"; }
	cp "$src/_build/mkfs/mkfs.erofs" "$WORK/$name.mkfs"
}

mkdir "$WORK/base-src" "$WORK/current-src"
git -C "$TOP" archive "$base_commit" | tar -x -C "$WORK/base-src"
# the current tree as it is: tracked and untracked files, not ignored ones
git -C "$TOP" ls-files -z --cached --others --exclude-standard |
	(cd "$TOP" && xargs -0 -r sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh) |
	tar -C "$TOP" --null -T - -cf - | tar -x -C "$WORK/current-src"
build base "$WORK/base-src"
build current "$WORK/current-src"

# ---- source trees ------------------------------------------------------
GENTREE=$TOP/tests/integration/gentree.sh
TREES=()
gen() { # gen MODE [ENV=VALUE...]
	local mode=$1 rc=0
	shift
	env "$@" bash "$GENTREE" "$mode" "$WORK/tree-$mode" >"$WORK/gentree-$mode.log" 2>&1 || rc=$?
	if [ $rc -eq 77 ]; then
		echo "byte-identity: tree $mode skipped: $(tail -n 1 "$WORK/gentree-$mode.log")"
	elif [ $rc -ne 0 ]; then
		cat "$WORK/gentree-$mode.log" >&2
		die "gentree.sh $mode failed"
	else
		TREES+=("$mode")
	fi
}
gen full GENTREE_SPARSE_SIZE=64M GENTREE_SHORT_PATHS=1
gen dups
gen large GENTREE_LARGE_FILES=300
[ ${#TREES[@]} -gt 0 ] || die "no source tree could be generated"
# a second version of a tree for --chunk-dict: one file changed, one added
cp -a "$WORK/tree-dups" "$WORK/tree-dups2"
printf 'changed\n' >>"$WORK/tree-dups2/dups/same03"
head -c 20000 "$WORK/tree-dups/dups/pairs.bin" >"$WORK/tree-dups2/dups/new.bin"

# a fixed Ed25519 key: PKCS#8 DER prefix + a fixed 32-byte seed
printf '302e020100300506032b657004220420%s' \
	"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f" |
	xxd -r -p | openssl pkey -inform DER -out "$WORK/ed25519.pem" ||
	die "cannot make the Ed25519 key"

# ---- images --------------------------------------------------------------
# mk WHO NAME ARGS...: $WHO's mkfs.erofs with ARGS, in $WORK/out-$WHO/NAME
mk() {
	local who=$1 name=$2 out=$WORK/out-$1
	shift 2
	mkdir -p "$out"
	(cd "$out" && "$WORK/$who.mkfs" --quiet -T "$TIME" -U "$UUID" "$@") \
		>"$out/$name.log" 2>&1 || {
		cat "$out/$name.log" >&2
		die "$who mkfs.erofs failed for $name"
	}
}

IMAGES=()
for who in base current; do
	for t in "${TREES[@]}"; do
		src=$WORK/tree-$t
		mkdir -p "$WORK/out-$who/$t-blobs" "$WORK/out-$who/$t-signed-blobs"
		mk "$who" "$t-plain" "$t-plain.img" "$src"
		mk "$who" "$t-chunked" --chunksize=8192 "$t-chunked.img" "$src"
		mk "$who" "$t-blobdev" --chunksize=4096 --blobdev="$t-blobdev.blob" \
			"$t-blobdev.img" "$src"
		mk "$who" "$t-blobdir" --blob-dir="$t-blobs" "$t-blobdir.img" "$src"
		mk "$who" "$t-signed" --sign-key="$WORK/ed25519.pem" --blob-dir="$t-signed-blobs" \
			"$t-signed.img" "$src"
		mk "$who" "$t-mkfstime" --mkfs-time "$t-mkfstime.img" "$src"
		[ "$who" = base ] && IMAGES+=("$t-plain" "$t-chunked" "$t-blobdev" "$t-blobdir"
					      "$t-signed" "$t-mkfstime")
	done
	if [ -d "$WORK/tree-dups2" ]; then
		mk "$who" dups-chunkdict --blob-dir=dups-blobs --chunk-dict=dups-blobdir.img \
			dups-chunkdict.img "$WORK/tree-dups2"
		[ "$who" = base ] && IMAGES+=(dups-chunkdict)
	fi
done

# ---- comparison ----------------------------------------------------------
same=0
differ=0
echo "byte-identity: base $(git -C "$TOP" rev-parse --short "$base_commit") against the current tree"
for name in "${IMAGES[@]}"; do
	result=identical
	files=("$name.img")
	case $name in
	*-blobdev) files+=("$name.blob") ;;
	esac
	# the blob folder it wrote into (shared by blobdir and chunkdict)
	case $name in
	*-blobdir | *-chunkdict) dir=${name%-*}-blobs ;;
	*-signed) dir=$name-blobs ;;
	*) dir= ;;
	esac
	if [ -n "$dir" ]; then
		diff <(ls "$WORK/out-base/$dir") <(ls "$WORK/out-current/$dir") >/dev/null ||
			result="DIFFERENT (the blob folders $dir hold other blobs)"
		for f in "$WORK/out-base/$dir"/*; do
			files+=("$dir/${f##*/}")
		done
	fi
	for f in "${files[@]}"; do
		[ "$result" = identical ] || break
		if ! cmp -s "$WORK/out-base/$f" "$WORK/out-current/$f"; then
			result="DIFFERENT: $f ($(cmp "$WORK/out-base/$f" "$WORK/out-current/$f" 2>&1 |
				head -n 1))"
			break
		fi
	done
	printf '  %-20s %d file%s: %s\n' "$name" "${#files[@]}" \
		"$([ ${#files[@]} -eq 1 ] || echo s)" "$result"
	if [ "$result" = identical ]; then
		same=$((same + 1))
	else
		differ=$((differ + 1))
	fi
done
echo "byte-identity: $same image(s) identical, $differ different"
[ "$differ" -eq 0 ]
