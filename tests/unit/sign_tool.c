// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Test driver for the signature code (include/erofs/sign.h), used by
 * tests/integration/t-sign-openssl.sh.
 *
 *   sign_tool sign KEY [CERT] MSGFILE OUTSIG
 *       sign MSGFILE; prints "TYPE KEYID" (type name, 64 hex digits)
 *   sign_tool verify [--cert C | --pubkey P]... [--key-id HEX] TYPE SIG MSG
 *       prints "OK <signer description>"; exit 0 valid, 1 bad signature
 *       (-EBADMSG), 2 untrusted signer (-EKEYREJECTED), 3 other errors
 *   sign_tool describe TYPE SIG [KEYID]
 *       prints es_signature_describe()'s line
 *   sign_tool fsverity-sign KEY CERT DIGESTHEX OUT
 *       fs-verity builtin signature of a 32-byte file digest
 *
 * TYPE is cms, ed25519 or raw.  Exit status 3 also for usage errors.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "erofs/sign.h"

#define EXIT_BADSIG	1
#define EXIT_UNTRUSTED	2
#define EXIT_ERROR	3

static void usage(void)
{
	fprintf(stderr,
		"usage: sign_tool sign KEY [CERT] MSGFILE OUTSIG\n"
		"       sign_tool verify [--cert C | --pubkey P]... [--key-id HEX] TYPE SIG MSG\n"
		"       sign_tool describe TYPE SIG [KEYID]\n"
		"       sign_tool fsverity-sign KEY CERT DIGESTHEX OUT\n");
}

static int report(const char *what, int ret, const struct es_err *err)
{
	fprintf(stderr, "sign_tool: %s: %s (%s)\n", what,
		err->code ? err->msg : "failed", strerror(-ret));
	return EXIT_ERROR;
}

static int read_file(const char *path, uint8_t **out, size_t *out_len)
{
	uint8_t *buf = NULL, *nbuf;
	size_t len = 0, cap = 0, n;
	FILE *f = fopen(path, "rb");

	if (!f) {
		fprintf(stderr, "sign_tool: %s: %s\n", path, strerror(errno));
		return -1;
	}
	for (;;) {
		if (cap - len < 4096) {
			cap = cap ? 2 * cap : 65536;
			nbuf = realloc(buf, cap);
			if (!nbuf) {
				fprintf(stderr, "sign_tool: out of memory\n");
				goto fail;
			}
			buf = nbuf;
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
		if (n == 0)
			break;
	}
	if (ferror(f)) {
		fprintf(stderr, "sign_tool: %s: read error\n", path);
		goto fail;
	}
	fclose(f);
	*out = buf;
	*out_len = len;
	return 0;
fail:
	fclose(f);
	free(buf);
	return -1;
}

static int write_file(const char *path, const uint8_t *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	int ok;

	if (!f) {
		fprintf(stderr, "sign_tool: %s: %s\n", path, strerror(errno));
		return -1;
	}
	ok = !len || fwrite(data, 1, len, f) == len;
	if (fclose(f) != 0)
		ok = 0;
	if (!ok)
		fprintf(stderr, "sign_tool: %s: write error\n", path);
	return ok ? 0 : -1;
}

static int parse_hex(const char *hex, uint8_t *out, size_t len)
{
	size_t i;

	if (strlen(hex) != 2 * len)
		return -1;
	for (i = 0; i < len; i++) {
		unsigned int byte;

		if (sscanf(hex + 2 * i, "%2x", &byte) != 1)
			return -1;
		out[i] = (uint8_t)byte;
	}
	return 0;
}

static void print_hex(const uint8_t *bytes, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		printf("%02x", bytes[i]);
}

static int parse_type(const char *name, enum es_sig_type *type)
{
	if (es_sig_type_from_name(name, type)) {
		fprintf(stderr, "sign_tool: unknown signature type '%s'\n",
			name);
		return -1;
	}
	return 0;
}

static int cmd_sign(int argc, char **argv)
{
	uint8_t key_id[ES_SIGN_KEY_ID_SIZE];
	struct es_err err = { 0 };
	struct es_signer *s = NULL;
	uint8_t *msg = NULL, *sig = NULL;
	size_t msg_len, sig_len;
	enum es_sig_type type;
	const char *cert = NULL;
	int ret, status = EXIT_ERROR;

	if (argc != 3 && argc != 4) {
		usage();
		return EXIT_ERROR;
	}
	if (argc == 4)
		cert = argv[1];
	ret = es_signer_load(&s, argv[0], cert, &err);
	if (ret)
		return report("loading the signer", ret, &err);
	if (read_file(argv[argc - 2], &msg, &msg_len))
		goto out;
	ret = es_sign(s, msg, msg_len, &type, key_id, &sig, &sig_len, &err);
	if (ret) {
		report("signing", ret, &err);
		goto out;
	}
	if (write_file(argv[argc - 1], sig, sig_len))
		goto out;
	printf("%s ", es_sig_type_name(type));
	print_hex(key_id, sizeof(key_id));
	printf("\n");
	status = 0;
out:
	free(sig);
	free(msg);
	es_signer_free(s);
	return status;
}

static int cmd_verify(int argc, char **argv)
{
	uint8_t key_id[ES_SIGN_KEY_ID_SIZE];
	struct es_err err = { 0 };
	struct es_trust *t = NULL;
	uint8_t *msg = NULL, *sig = NULL;
	size_t msg_len = 0, sig_len = 0;
	enum es_sig_type type;
	char desc[256];
	int i, ret, have_key_id = 0, status = EXIT_ERROR;

	ret = es_trust_new(&t, &err);
	if (ret)
		return report("trust set", ret, &err);
	for (i = 0; i < argc && argv[i][0] == '-'; i += 2) {
		if (i + 1 >= argc) {
			usage();
			goto out;
		}
		if (!strcmp(argv[i], "--cert")) {
			ret = es_trust_add_cert(t, argv[i + 1], &err);
		} else if (!strcmp(argv[i], "--pubkey")) {
			ret = es_trust_add_pubkey(t, argv[i + 1], &err);
		} else if (!strcmp(argv[i], "--key-id")) {
			if (parse_hex(argv[i + 1], key_id, sizeof(key_id))) {
				fprintf(stderr, "sign_tool: bad key id\n");
				goto out;
			}
			have_key_id = 1;
			ret = 0;
		} else {
			usage();
			goto out;
		}
		if (ret) {
			report(argv[i + 1], ret, &err);
			goto out;
		}
	}
	if (argc - i != 3) {
		usage();
		goto out;
	}
	if (parse_type(argv[i], &type) ||
	    read_file(argv[i + 1], &sig, &sig_len) ||
	    read_file(argv[i + 2], &msg, &msg_len))
		goto out;
	ret = es_verify_signature(t, type, have_key_id ? key_id : NULL,
				  sig, sig_len, msg, msg_len,
				  desc, sizeof(desc), &err);
	if (ret == 0) {
		printf("OK %s\n", desc);
		status = 0;
	} else {
		printf("%s: %s\n", ret == -EBADMSG ? "BAD" :
		       ret == -EKEYREJECTED ? "UNTRUSTED" : "ERROR", err.msg);
		status = ret == -EBADMSG ? EXIT_BADSIG :
			 ret == -EKEYREJECTED ? EXIT_UNTRUSTED : EXIT_ERROR;
	}
out:
	free(sig);
	free(msg);
	es_trust_free(t);
	return status;
}

static int cmd_describe(int argc, char **argv)
{
	uint8_t key_id[ES_SIGN_KEY_ID_SIZE];
	enum es_sig_type type;
	uint8_t *sig = NULL;
	size_t sig_len;
	char line[512];
	int ret;

	if (argc != 2 && argc != 3) {
		usage();
		return EXIT_ERROR;
	}
	if (parse_type(argv[0], &type))
		return EXIT_ERROR;
	if (argc == 3 && parse_hex(argv[2], key_id, sizeof(key_id))) {
		fprintf(stderr, "sign_tool: bad key id\n");
		return EXIT_ERROR;
	}
	if (read_file(argv[1], &sig, &sig_len))
		return EXIT_ERROR;
	ret = es_signature_describe(type, argc == 3 ? key_id : NULL, sig,
				    sig_len, line, sizeof(line));
	free(sig);
	printf("%s\n", line);
	return ret ? EXIT_BADSIG : 0;
}

static int cmd_fsverity_sign(int argc, char **argv)
{
	uint8_t digest[32];
	struct es_err err = { 0 };
	struct es_signer *s = NULL;
	uint8_t *sig = NULL;
	size_t sig_len;
	int ret, status = EXIT_ERROR;

	if (argc != 4) {
		usage();
		return EXIT_ERROR;
	}
	if (parse_hex(argv[2], digest, sizeof(digest))) {
		fprintf(stderr, "sign_tool: digest must be 64 hex digits\n");
		return EXIT_ERROR;
	}
	ret = es_signer_load(&s, argv[0], argv[1], &err);
	if (ret)
		return report("loading the signer", ret, &err);
	ret = es_fsverity_sign(s, digest, &sig, &sig_len, &err);
	if (ret)
		report("fs-verity signing", ret, &err);
	else if (!write_file(argv[3], sig, sig_len))
		status = 0;
	free(sig);
	es_signer_free(s);
	return status;
}

int main(int argc, char **argv)
{
	int status;

	if (argc < 2) {
		usage();
		return EXIT_ERROR;
	}
	if (!strcmp(argv[1], "sign"))
		status = cmd_sign(argc - 2, argv + 2);
	else if (!strcmp(argv[1], "verify"))
		status = cmd_verify(argc - 2, argv + 2);
	else if (!strcmp(argv[1], "describe"))
		status = cmd_describe(argc - 2, argv + 2);
	else if (!strcmp(argv[1], "fsverity-sign"))
		status = cmd_fsverity_sign(argc - 2, argv + 2);
	else {
		usage();
		status = EXIT_ERROR;
	}
	if (fflush(stdout) != 0)
		status = EXIT_ERROR;
	return status;
}
