#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The Merkle verifier, the portable SHA-256 and the portable crypto backend
# (wipe, constant-time compare) must build without a hosted libc, for the
# boot reader: compile them with -ffreestanding and check that the only
# outside symbols they need are memcpy, memset and memcmp.
set -euo pipefail
: "${srcdir:?run through make check}"
top=$(cd "$srcdir/.." && pwd)
cc=${CC:-cc}
command -v "$cc" >/dev/null || { echo "SKIP: no C compiler"; exit 77; }
command -v nm >/dev/null || { echo "SKIP: nm missing"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for f in verity sha256_portable portable; do
	"$cc" -std=c11 -ffreestanding -fno-builtin -O2 -Wall -Wextra -Werror \
		-I"$top/include" -I"$top/lib" -c "$top/lib/crypto/$f.c" -o "$tmp/$f.o"
done
ld -r -o "$tmp/boot-merkle.o" "$tmp"/verity.o "$tmp"/sha256_portable.o \
	"$tmp"/portable.o
undefined=$(nm -u "$tmp/boot-merkle.o" | awk 'NF {print $NF}' |
	sort -u | grep -vxE 'memcpy|memset|memcmp' || true)
if [ -n "$undefined" ]; then
	echo "FAIL: freestanding build needs: $undefined"
	exit 1
fi
size=$(size "$tmp/boot-merkle.o" | awk 'END {print $4}')
echo "PASS: lib/crypto/verity.c + sha256_portable.c + portable.c build freestanding; $size bytes of code+data; no libc symbols but memcpy/memset/memcmp"
