#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The boot reader builds without a hosted libc:
#  1. the portable crypto (Merkle verifier, SHA-256/512, HMAC/HKDF, AES-256
#     XTS and GCM, Ed25519 verification, wipe and compare), compiled with
#     -ffreestanding, needs no outside symbols but memcpy, memset and memcmp,
#     and has no writable data; the size of each primitive at -Os is shown;
#  2. the reader (every file of lib/read/ and lib/base/), built as the boot
#     build builds it (-ffreestanding -nostdlib -DES_FREESTANDING) against
#     the compiler's own headers plus declarations of the four memory
#     functions and the errno numbers, and linked with the portable crypto
#     it calls, needs no outside symbols but memcpy, memset, memmove and
#     memcmp: no heap, no stdio, no string functions of its own;
#  3. the boot unlock (lib/keys/keydec.c) with what it shares with the
#     hosted key area: the derivations, the key table, the header copies
#     and the slot opening (derive.c, keytable.c, keyarea_hdr.c,
#     keyslot_open.c; the rest of lib/keys/ is hosted), built the same way
#     and linked with the reader and the portable crypto, need nothing
#     more, and have no writable globals.
set -euo pipefail
: "${srcdir:?run through make check}"
top=$(cd "$srcdir/.." && pwd)
# The portable crypto the boot reader links: Merkle trees, the backend's
# wipe and constant-time compare, and one file per primitive
crypto_sources="lib/crypto/verity.c lib/crypto/portable.c lib/crypto/sha256_portable.c
	lib/crypto/sha512_portable.c lib/crypto/hmac_portable.c lib/crypto/aes_portable.c
	lib/crypto/xts_portable.c lib/crypto/gcm_portable.c lib/crypto/ed25519_portable.c"
# what the boot reader calls of the backend, all of it portable
crypto_entry_points="es_crypto_wipe es_crypto_memcmp es_sha256 es_crypto_hmac_sha256
	es_crypto_mac es_crypto_mac_expand es_crypto_hkdf es_crypto_hkdf_expand
	es_crypto_xts_init es_crypto_xts_setkey es_crypto_xts_crypt es_crypto_xts_release
	es_crypto_aead_seal es_crypto_aead_open es_crypto_ed25519_verify"
reader_dirs="lib/read lib/base"
# the freestanding part of lib/keys/ (keyslot.c, keyarea.c, keyarea_file.c,
# unlock.c, domain.c and secret.c are hosted)
keys_sources="lib/keys/derive.c lib/keys/keytable.c lib/keys/keyarea_hdr.c lib/keys/keyslot_open.c lib/keys/keydec.c"
cc=${CC:-cc}
command -v "$cc" >/dev/null || { echo "SKIP: no C compiler"; exit 77; }
command -v nm >/dev/null || { echo "SKIP: nm missing"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
warn="-std=c11 -O2 -Wall -Wextra -Wshadow -Wvla -Wno-unused-parameter -Werror"

# 1. the portable crypto alone, and what each primitive costs at -Os
sizes=
for f in $crypto_sources; do
	"$cc" $warn -ffreestanding -fno-builtin -I"$top/include" -I"$top/lib" \
		-c "$top/$f" -o "$tmp/crypto-$(basename "$f" .c).o"
	"$cc" $warn -Os -ffreestanding -fno-builtin -I"$top/include" -I"$top/lib" \
		-c "$top/$f" -o "$tmp/size-$(basename "$f" .c).o"
	sizes="$sizes $(basename "$f" .c)=$(size "$tmp/size-$(basename "$f" .c).o" | awk 'END {print $1}')"
done
ld -r -o "$tmp/boot-crypto.o" "$tmp"/crypto-*.o
undefined=$(nm -u "$tmp/boot-crypto.o" | awk 'NF {print $NF}' |
	sort -u | grep -vxE 'memcpy|memset|memcmp' || true)
if [ -n "$undefined" ]; then
	echo "FAIL: freestanding build needs: $undefined"
	exit 1
fi
# no writable globals: the boot environment may run from read-only memory
writable=$(nm "$tmp/boot-crypto.o" | awk '$2 ~ /^[bBdDcC]$/ {print $3}')
if [ -n "$writable" ]; then
	echo "FAIL: the portable crypto has writable globals: $(echo $writable)"
	exit 1
fi
defined=$(nm --defined-only "$tmp/boot-crypto.o" | awk '{print $NF}')
for sym in $crypto_entry_points; do
	grep -qx "$sym" <<<"$defined" || { echo "FAIL: the portable crypto lacks $sym"; exit 1; }
done
size=$(size "$tmp/boot-crypto.o" | awk 'END {print $4}')
echo "PASS: $(echo $crypto_sources) build freestanding; $size bytes of code+data;" \
	"no libc symbols but memcpy/memset/memcmp, no writable globals"
echo "code+rodata at -Os, bytes:$sizes"

# 2. the reader.  No C library headers: the compiler's own (stddef.h,
# stdint.h, stdbool.h) and a stand-in for what the boot glue provides.
gcc_inc=$("$cc" -print-file-name=include 2>/dev/null || true)
if [ ! -e "$gcc_inc/stddef.h" ]; then
	gcc_inc=$("$cc" -print-resource-dir 2>/dev/null || true)/include
fi
[ -e "$gcc_inc/stddef.h" ] || { echo "SKIP: cannot find the compiler's own headers"; exit 77; }
mkdir -p "$tmp/glue"
cat >"$tmp/glue/string.h" <<'EOF'
#include <stddef.h>
void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
EOF
# the errno numbers: the same as the host's, so that messages agree
echo '#include <errno.h>' | "$cc" -dM -E - | grep -E '^#define E[A-Z0-9]+ ' \
	>"$tmp/glue/errno.h"
sources=$crypto_sources
for d in $reader_dirs; do
	for f in "$top/$d"/*.c; do
		sources="$sources ${f#$top/}"
	done
done
# cc_boot FILE: compile FILE (relative to the top) as the boot build does;
# prints the object's path
cc_boot() {
	local o
	o="$tmp/$(echo "$1" | tr / -).o"
	if ! "$cc" $warn -ffreestanding -fno-builtin -nostdlib -nostdinc \
		-fno-stack-protector -DES_FREESTANDING -isystem "$gcc_inc" \
		-I"$tmp/glue" -I"$top/include" -I"$top/lib" -c "$top/$1" -o "$o" >&2; then
		echo "FAIL: $1 does not build freestanding" >&2
		return 1
	fi
	echo "$o"
}
objs=
for f in $sources; do
	o=$(cc_boot "$f") || exit 1
	objs="$objs $o"
done
ld -r -o "$tmp/boot-reader.o" $objs
undefined=$(nm -u "$tmp/boot-reader.o" | awk 'NF {print $NF}' |
	sort -u | grep -vxE 'memcpy|memset|memmove|memcmp' || true)
if [ -n "$undefined" ]; then
	echo "FAIL: the freestanding reader needs: $(echo $undefined)"
	exit 1
fi
# and it is the reader, not files emptied by #ifdefs
defined=$(nm --defined-only "$tmp/boot-reader.o" | awk '{print $NF}')
for sym in es_image_read_super es_image_read_devices es_image_probe_devices \
	es_inode_read es_dir_iterate es_lookup es_xattr_iterate_buf es_map es_extent_read es_read \
	es_seal_read_locator es_seal_decode_manifest es_seal_parse_sigs \
	es_seal_check_chunk_index es_io_mem_init es_fail_static es_hex \
	es_verity_verify_block es_sha256; do
	grep -qx "$sym" <<<"$defined" || { echo "FAIL: the freestanding reader lacks $sym"; exit 1; }
done
size=$(size "$tmp/boot-reader.o" | awk 'END {print $4}')
echo "PASS: $reader_dirs + portable crypto build freestanding ($(echo $sources | wc -w) files," \
	"$size bytes of code+data); no libc symbols but memcpy/memset/memmove/memcmp"

# 3. the derivations and the key table, with the reader and its crypto
keys_objs=
for f in $keys_sources; do
	o=$(cc_boot "$f") || exit 1
	keys_objs="$keys_objs $o"
done
ld -r -o "$tmp/boot-keys.o" "$tmp/boot-reader.o" $keys_objs
undefined=$(nm -u "$tmp/boot-keys.o" | awk 'NF {print $NF}' |
	sort -u | grep -vxE "memcpy|memset|memmove|memcmp" || true)
if [ -n "$undefined" ]; then
	echo "FAIL: the freestanding key table needs: $(echo $undefined)"
	exit 1
fi
defined=$(nm --defined-only "$tmp/boot-keys.o" | awk '{print $NF}')
for sym in es_derive_chunk_secret es_derive_chunk_key es_derive_chunk_id \
	es_derive_domain_check es_derive_kid es_derive_table_key \
	es_keytable_nseg es_keytable_seg_len es_keytable_ct_size es_keytable_put_secret \
	es_keytable_check_entry es_keytable_digests es_keytable_digest_of \
	es_keytable_encrypt es_keytable_open_segment es_keytable_decrypt \
	es_keytable_open_segment_d es_keytable_digest_start es_ka_read_copies es_ka_geometry \
	es_keyslot_parse_form es_keyslot_open_kek es_keyslot_search es_keyslot_kek_keyfile \
	es_keyslot_kek_seed es_keyarea_dev_io es_keydec_open es_keydec_close; do
	grep -qx "$sym" <<<"$defined" || { echo "FAIL: the freestanding key table lacks $sym"; exit 1; }
done
# no writable global state in the key code (the reader's own is checked by its build)
writable=$(nm $keys_objs | awk '$2 ~ /^[BbDdGgSsCc]$/ {print $3}' | sort -u)
if [ -n "$writable" ]; then
	echo "FAIL: the freestanding key code has writable globals: $(echo $writable)"
	exit 1
fi
echo "PASS: $keys_sources build freestanding with the reader and the portable crypto;" \
	"no libc symbols but memcpy/memset/memmove/memcmp; no writable globals"
