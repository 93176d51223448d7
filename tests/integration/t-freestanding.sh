#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The boot reader builds without a hosted libc: the archive the default
# `make` built (boot/liberofs_boot.a: boot/boot.c, every file of lib/read/
# and lib/base/, the portable crypto and the freestanding lib/keys/ files,
# compiled -ffreestanding -nostdlib -nostdinc against the compiler's own
# headers and boot/include/) needs no symbol from outside but memcpy,
# memset, memmove and memcmp, which the environment provides: no heap, no
# stdio, no string functions of its own.  And it is the reader and the
# portable crypto backend, not files emptied by #ifdefs; the size of each
# crypto primitive at -Os is shown.  (No writable globals, code size and
# stack: t-boot-size.sh.)
set -euo pipefail
: "${BOOT_ARCHIVE:?run through make check}"
command -v nm >/dev/null || { echo "SKIP: nm missing"; exit 77; }
command -v ld >/dev/null || { echo "SKIP: ld missing"; exit 77; }
[ -r "$BOOT_ARCHIVE" ] || { echo "FAIL: $BOOT_ARCHIVE was not built by make"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
glue='memcpy|memset|memmove|memcmp'

# undefined SYMS...: what the archive members that SYMS pull in need from
# outside the archive
undefined() {
	local u=()
	for s in "$@"; do u+=(-u "$s"); done
	ld -r -o "$tmp/pulled.o" "${u[@]}" "$BOOT_ARCHIVE"
	nm -u "$tmp/pulled.o" | awk 'NF {print $NF}' | sort -u
}

api="erofs_boot_open erofs_boot_unlock erofs_boot_lookup erofs_boot_stat erofs_boot_read
	erofs_boot_readdir"
need=$(undefined $api | grep -vxE "$glue" || true)
if [ -n "$need" ]; then
	echo "FAIL: the boot reader needs: $(echo $need)"
	exit 1
fi
echo "PASS: the boot API pulls in no libc symbols but memcpy/memset/memmove/memcmp"

# every member, the key table included
members=$(nm --defined-only -g "$BOOT_ARCHIVE" | awk 'NF == 3 {print $3}' | sort -u)
need=$(undefined $members | grep -vxE "$glue" || true)
if [ -n "$need" ]; then
	echo "FAIL: the boot archive needs: $(echo $need)"
	exit 1
fi
defined=$(nm --defined-only "$BOOT_ARCHIVE" | awk 'NF == 3 {print $3}')
for sym in erofs_boot_open es_image_read_super es_image_read_devices es_image_probe_devices \
	es_inode_read es_dir_iterate es_lookup es_xattr_iterate_buf es_map es_extent_read es_read \
	es_seal_read_locator es_seal_decode_manifest es_seal_parse_sigs \
	es_seal_check_chunk_index es_io_mem_init es_vio_init es_fail es_err_prefix es_hex \
	es_verity_verify_block es_sha256 \
	es_crypto_wipe es_crypto_memcmp es_crypto_hmac_sha256 es_crypto_mac es_crypto_mac_expand \
	es_crypto_hkdf es_crypto_hkdf_expand es_crypto_xts_init es_crypto_xts_setkey \
	es_crypto_xts_crypt es_crypto_xts_release es_crypto_aead_seal es_crypto_aead_open \
	es_crypto_ed25519_verify \
	es_derive_chunk_secret es_derive_chunk_key es_derive_chunk_id \
	es_derive_domain_check es_derive_kid es_derive_table_key \
	es_keytable_nseg es_keytable_seg_len es_keytable_ct_size es_keytable_put_secret \
	es_keytable_check_entry es_keytable_digests es_keytable_digest_of \
	es_keytable_encrypt es_keytable_open_segment es_keytable_decrypt \
	es_keytable_open_segment_d es_keytable_digest_start es_ka_read_copies es_ka_geometry \
	es_keyslot_parse_form es_keyslot_open_kek es_keyslot_search es_keyslot_kek_keyfile \
	es_keyslot_kek_seed es_keyarea_dev_io es_keydec_open es_keydec_close; do
	grep -qx "$sym" <<<"$defined" || { echo "FAIL: the boot archive lacks $sym"; exit 1; }
done
sizes=
for m in $(ar t "$BOOT_ARCHIVE" | grep -E '^lib-crypto-'); do
	ar p "$BOOT_ARCHIVE" "$m" >"$tmp/$m"
	sizes="$sizes ${m#lib-crypto-}=$(size "$tmp/$m" | awk 'END {print $1}')"
done
echo "PASS: $(ar t "$BOOT_ARCHIVE" | wc -l) members, the key table and all the portable" \
	"crypto included; no libc symbols but memcpy/memset/memmove/memcmp"
echo "crypto code+rodata at -Os (whole members), bytes:${sizes//.o=/=}"
