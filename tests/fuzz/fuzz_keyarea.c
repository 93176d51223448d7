// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Fuzz target: the key area and the key table, through the hosted parsers
 * of lib/keys over a byte buffer.  The input is a key area (make-seeds.sh
 * cuts them out of encrypted images built with the key file below as their
 * keyslot); the header copies' checksums are recomputed so mutations reach
 * the fields behind them.  The area is opened, every slot parsed, unlocked
 * with the key file (so that the key table's segments are decrypted and
 * checked against the digests, D), and every table entry checked.
 */
#include <unistd.h>
#include "harness.h"
#include "erofs/keyarea.h"
#include "erofs/keyslot.h"
#include "erofs/keytable.h"
#include "crypto/backend.h"

#define COPY_CHECKSUM	224	/* docs/FORMAT.md 4.2 */

/* The key file make-seeds.sh gives the seed images: 64 x 'K'. */
#define SEED_KEY_BYTE	'K'
#define SEED_KEY_LEN	64

static int mem_read(void *ctx, uint64_t off, void *buf, size_t len, struct es_err *err)
{
	(void)err;
	memcpy(buf, (const uint8_t *)ctx + off, len);
	return 0;
}

static void fix_copies(uint8_t *area, size_t size)
{
	for (unsigned int i = 0; i < 2; i++) {
		uint8_t *copy = area + (size_t)i * ES_KEYAREA_COPY_SIZE;

		if (size < (size_t)(i + 1) * ES_KEYAREA_COPY_SIZE)
			break;
		memset(copy + COPY_CHECKSUM, 0, 32);
		es_sha256(copy, ES_KEYAREA_COPY_SIZE, copy + COPY_CHECKSUM);
	}
}

/* The credential, loaded once: es_keyslot_cred_load reads a file. */
static struct es_keyslot_cred *seed_credential(void)
{
	static struct es_keyslot_cred *cred;
	static bool tried;
	char path[] = "/tmp/fuzz_keyarea.XXXXXX", spec[64];
	uint8_t key[SEED_KEY_LEN];
	struct es_err err = { 0 };
	int fd;

	if (tried)
		return cred;
	tried = true;
	memset(key, SEED_KEY_BYTE, sizeof(key));
	fd = mkstemp(path);
	if (fd < 0)
		return NULL;
	if (write(fd, key, sizeof(key)) == (ssize_t)sizeof(key)) {
		snprintf(spec, sizeof(spec), "keyfile:%s", path);
		es_keyslot_cred_load(spec, ES_KEYSLOT_FOR_UNLOCK, NULL, &cred, &err);
	}
	close(fd);
	unlink(path);
	return cred;
}

static void table(struct es_keyarea *ka)
{
	struct es_keytable_info info;
	struct es_err err = { 0 };
	uint8_t seg[ES_KT_SEG_SIZE];
	const uint8_t *digests;
	uint8_t *plain;
	uint64_t nseg;

	es_keyarea_table_info(ka, &info);
	nseg = es_keytable_nseg(info.entries);
	if (es_keyarea_digests(ka, &digests, &err) || !nseg)
		return;
	es_err_clear(&err);
	es_keyarea_read_segment(ka, nseg - 1, seg, &err);
	es_err_clear(&err);
	es_keyarea_read_segment(ka, nseg, seg, &err);
	plain = malloc((size_t)info.entries * ES_KT_ENTRY_SIZE);
	es_err_clear(&err);
	if (plain && es_keyarea_read_table(ka, plain, &err) == 0) {
		for (uint64_t i = 1; i < info.entries; i++) {
			const uint8_t *e = plain + i * ES_KT_ENTRY_SIZE;

			es_err_clear(&err);
			es_keytable_check_entry(e, es_get16(e), 0, &err);
		}
	}
	if (plain)
		es_crypto_wipe(plain, (size_t)info.entries * ES_KT_ENTRY_SIZE);
	free(plain);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *buf = fuzz_copy(data, size);
	struct es_keyslot_cred *cred = seed_credential();
	struct es_err err = { 0 };
	struct es_keyarea_dev dev = { .size = size, .read = mem_read, .ctx = buf };
	struct es_keyarea *ka;

	if (!buf)
		return 0;
	fix_copies(buf, size);
	if (es_keyarea_open(&dev, NULL, &ka, &err) == 0) {
		struct es_keyarea_summary s;

		es_keyarea_summary(ka, &s);
		for (unsigned int i = 0; i <= ES_KEYAREA_SLOTS; i++) {
			struct es_keyslot_info info;

			es_err_clear(&err);
			es_keyarea_slot(ka, i, &info, &err);
		}
		es_err_clear(&err);
		if (cred && es_keyarea_unlock(ka, &cred, 1, NULL, &err) == 0)
			table(ka);
		es_keyarea_close(ka);
	}
	free(buf);
	return 0;
}
