// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Test driver for lib/keys/, in the formats of tests/oracle/escrypt.py, so
 * that t-oracle-vectors.sh compares libcore, the Python oracle and
 * docs/FORMAT.md byte for byte.
 *
 *   keytable_tool vectors
 *	the test vectors of docs/FORMAT.md section 3.4, as libcore computes them
 *   keytable_tool encrypt-table UUID TK GEN PLAIN CT
 *	encrypt the table plaintext in file PLAIN (suite 1; UUID and TK in
 *	hex) into file CT; print "D_k = hex" for every segment and
 *	"table_digest = hex"
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "erofs/hex.h"
#include "erofs/keytable.h"
#include "keytable_vectors.h"

static int usage(void)
{
	fprintf(stderr, "usage: keytable_tool vectors\n"
		"       keytable_tool encrypt-table UUID TK GEN PLAIN CT\n");
	return 2;
}

/* The whole of a small file into a malloc'ed buffer. */
static uint8_t *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	long size;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) >= 0 &&
	    fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)size + 1)) &&
	    fread(buf, 1, (size_t)size, f) == (size_t)size) {
		*len = (size_t)size;
	} else {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

static int encrypt_table(char **argv)
{
	struct es_keytable_info info = { .suite = ES_SUITE_XTS_V1 };
	uint8_t tk[ES_TABLE_KEY_SIZE], digest[ES_SHA256_DIGEST_SIZE];
	uint8_t *plain, *ct = NULL, *digests = NULL;
	char hex[2 * ES_SHA256_DIGEST_SIZE + 1];
	struct es_err err = { 0 };
	size_t len = 0;
	FILE *out;
	int ret = 1;

	if (!es_unhex(argv[2], info.uuid, sizeof(info.uuid)) ||
	    !es_unhex(argv[3], tk, sizeof(tk)))
		return usage();
	info.gen = (uint32_t)strtoul(argv[4], NULL, 0);
	plain = slurp(argv[5], &len);
	if (!plain || len % ES_KT_ENTRY_SIZE) {
		fprintf(stderr, "keytable_tool: %s: unreadable or not whole entries\n", argv[5]);
		goto out;
	}
	info.entries = len / ES_KT_ENTRY_SIZE;
	ct = malloc(es_keytable_ct_size(info.entries) + 1);
	digests = malloc(es_keytable_nseg(info.entries) * ES_SHA256_DIGEST_SIZE + 1);
	if (!ct || !digests)
		goto out;
	if (es_keytable_digests(&info, plain, digests, digest) ||
	    es_keytable_encrypt(&info, tk, plain, ct, &err)) {
		fprintf(stderr, "keytable_tool: %s\n", err.code ? err.msg : "digests failed");
		goto out;
	}
	out = fopen(argv[6], "wb");
	if (!out || fwrite(ct, 1, es_keytable_ct_size(info.entries), out) !=
		    es_keytable_ct_size(info.entries)) {
		fprintf(stderr, "keytable_tool: cannot write %s\n", argv[6]);
		if (out)
			fclose(out);
		goto out;
	}
	if (fclose(out)) {
		fprintf(stderr, "keytable_tool: cannot write %s\n", argv[6]);
		goto out;
	}
	for (uint64_t k = 0; k < es_keytable_nseg(info.entries); k++) {
		es_hex(digests + k * ES_SHA256_DIGEST_SIZE, ES_SHA256_DIGEST_SIZE, hex);
		printf("D_%llu = %s\n", (unsigned long long)k, hex);
	}
	es_hex(digest, sizeof(digest), hex);
	printf("table_digest = %s\n", hex);
	ret = 0;
out:
	free(plain);
	free(ct);
	free(digests);
	return ret;
}

int main(int argc, char **argv)
{
	static char buf[16384];

	if (argc == 7 && !strcmp(argv[1], "encrypt-table"))
		return encrypt_table(argv);
	if (argc != 2 || strcmp(argv[1], "vectors"))
		return usage();
	if (kt_vectors_compute(buf, sizeof(buf))) {
		fprintf(stderr, "keytable_tool: %s", buf);
		return 1;
	}
	fputs(buf, stdout);
	return 0;
}
