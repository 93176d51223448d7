// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * erofs-verify: check a sealed image for CI without any decryption key:
 * its signatures against trust anchors, then the filesystem region and
 * every blob against the Merkle trees bound by the signed manifest.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "config.h"
#include "erofs/image.h"
#include "erofs/seal.h"
#include "erofs/sign.h"
#include "erofs/verity.h"
#include "../tools/cli.h"

enum {
	EXIT_VERIFIED = 0,
	EXIT_BAD_SIGNATURE = 1,
	EXIT_UNTRUSTED = 2,
	EXIT_BLOB_MISSING = 3,
	EXIT_INTEGRITY = 4,
	EXIT_MALFORMED = 5,
	EXIT_OPERATIONAL = 6,
	EXIT_USAGE = 64,
};

static const char *prog = "erofs-verify";

static void usage(FILE *f)
{
	fprintf(f,
"Usage: %s [OPTIONS] IMAGE [BLOB...]\n"
"Verify a sealed EROFS image without any decryption key: first the\n"
"signatures over its manifest, then the filesystem region and each blob\n"
"against the fs-verity Merkle trees the manifest binds.  IMAGE and blobs\n"
"are regular files or block devices (a loop device); a sealed image on a\n"
"device must fill it, since its seal is found at the device's end.\n"
"\n"
"Options:\n"
"  --cert=CERT.pem       trust the key in this certificate (repeatable)\n"
"  --pubkey=KEY.pem      trust this public key (repeatable)\n"
"  --blob-dir=DIR        verify every blob of the image, found in DIR by its\n"
"                        fs-verity digest; a missing one is an error\n"
"  BLOB...               verify these blob files (matched to the image's\n"
"                        devices by name or by digest)\n"
"  -j, --threads=N       hashing threads (default: all cores)\n"
"  --json                print one JSON object instead of text\n"
"  -q, --quiet           print only failures\n"
"  -h, --help            show this help\n"
"  -V, --version         show the version\n"
"\n"
"Without --cert or --pubkey the signatures are not checked (this is said\n"
"in the output) and only integrity is verified.  With anchors, at least one\n"
"signature must verify and come from an anchor, and none may be damaged.\n"
"A certificate anchor trusts the key in it: no chain or expiry checks.\n"
"\n"
"Exit status (the first failure found decides):\n"
"  0   verified\n"
"  1   bad or missing signature\n"
"  2   valid signature, but by a signer that is not trusted\n"
"  3   a blob of the image is missing from --blob-dir\n"
"  4   integrity failure: a block fails its Merkle tree, a blob is\n"
"      truncated or is not the one the manifest names\n"
"  5   the image or its seal is malformed, or the image is not sealed\n"
"  6   operational error (I/O, memory)\n"
"  64  usage error\n", prog);
}

struct report {
	bool json, quiet;
	int code;		/* first failure */
	char *json_buf;
	size_t json_len, json_cap;
};

static void fail_with(struct report *r, int code)
{
	if (!r->code)
		r->code = code;
}

static void json_add(struct report *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void json_add(struct report *r, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(r->json_buf ? r->json_buf + r->json_len : NULL,
			      r->json_buf ? r->json_cap - r->json_len : 0, fmt, ap);
		va_end(ap);
		if (n < 0)
			return;
		if (r->json_buf && r->json_len + (size_t)n < r->json_cap) {
			r->json_len += (size_t)n;
			return;
		}
		r->json_cap = (r->json_cap + (size_t)n + 1) * 2;
		r->json_buf = realloc(r->json_buf, r->json_cap);
		if (!r->json_buf)
			return;
	}
}

static void json_str(struct report *r, const char *s)
{
	json_add(r, "\"");
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			json_add(r, "\\%c", c);
		else if (c < 0x20)
			json_add(r, "\\u%04x", c);
		else
			json_add(r, "%c", c);
	}
	json_add(r, "\"");
}

static void text(struct report *r, bool failure, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void text(struct report *r, bool failure, const char *fmt, ...)
{
	va_list ap;

	if (r->json || (r->quiet && !failure))
		return;
	va_start(ap, fmt);
	vfprintf(failure ? stderr : stdout, fmt, ap);
	va_end(ap);
}

static const char *sig_name(uint32_t type)
{
	const char *n = es_sig_type_name((enum es_sig_type)type);

	return n ? n : "unknown";
}

static void check_signatures(struct report *r, const struct es_seal *s,
			     const struct es_trust *trust)
{
	struct es_sig_result *res = calloc(s->nsigs ? s->nsigs : 1, sizeof(*res));
	static const char *const names[] = { "not-checked", "trusted", "untrusted", "bad" };
	struct es_err err = { 0 };
	int ret;

	if (!res) {
		fail_with(r, EXIT_OPERATIONAL);
		return;
	}
	ret = es_seal_check_signatures(s, trust, res, &err);
	json_add(r, "\"signatures\":[");
	for (unsigned int i = 0; i < s->nsigs; i++) {
		text(r, res[i].status == ES_SIG_BAD, "signature %u (%s): %s, %s\n", i + 1,
		     sig_name(s->sigs[i].type), names[res[i].status], res[i].signer);
		if (res[i].status == ES_SIG_BAD)
			text(r, true, "  %s\n", res[i].error);
		json_add(r, "%s{\"index\":%u,\"type\":\"%s\",\"status\":\"%s\",\"signer\":",
			 i ? "," : "", i + 1, sig_name(s->sigs[i].type),
			 names[res[i].status]);
		json_str(r, res[i].signer);
		json_add(r, ",\"error\":");
		json_str(r, res[i].error);
		json_add(r, "}");
	}
	json_add(r, "],");
	free(res);
	if (!trust) {
		text(r, false, "signatures: NOT checked (no --cert or --pubkey given)\n");
		json_add(r, "\"signature_status\":\"not-checked\",");
		return;
	}
	if (ret) {
		text(r, true, "%s: %s\n", prog, err.msg);
		fail_with(r, ret == -EKEYREJECTED ? EXIT_UNTRUSTED : EXIT_BAD_SIGNATURE);
	}
	json_add(r, "\"signature_status\":\"%s\",", !ret ? "trusted" :
		 ret == -EKEYREJECTED ? "untrusted" : s->nsigs ? "bad" : "missing");
}

static void device_result(struct report *r, unsigned int dev, const struct es_seal *s,
			  const char *path, const char *status, const char *msg, bool first)
{
	char hex[65];

	es_hex(s->devices[dev].digest, 32, hex);
	json_add(r, "%s{\"index\":%u,\"size\":%llu,\"digest\":\"%s\",\"path\":", first ? "" : ",",
		 dev, (unsigned long long)s->devices[dev].size, hex);
	json_str(r, path ? path : "");
	json_add(r, ",\"status\":\"%s\",\"error\":", status);
	json_str(r, msg ? msg : "");
	json_add(r, "}");
}

static int verify_one(struct report *r, int image_fd, const struct es_seal *s,
		      unsigned int dev, const char *path, unsigned int threads, bool first)
{
	struct es_err err = { 0 };
	int fd = dev == 0 ? image_fd : es_open_input(path, NULL, &err);
	int ret;

	if (fd < 0) {
		text(r, true, "%s: blob %u: %s\n", prog, dev, err.msg);
		device_result(r, dev, s, path, "missing", err.msg, first);
		fail_with(r, fd == -ENOENT ? EXIT_BLOB_MISSING : EXIT_OPERATIONAL);
		return -1;
	}
	ret = es_seal_verify_device(image_fd, s, dev, fd, threads, &err);
	if (dev != 0)
		close(fd);
	if (ret) {
		text(r, true, "%s: %s\n", prog, err.msg);
		device_result(r, dev, s, path, "failed", err.msg, first);
		fail_with(r, (ret == -EBADMSG || ret == -ES_ECORRUPT) ? EXIT_INTEGRITY
								      : EXIT_OPERATIONAL);
		return -1;
	}
	if (dev == 0)
		text(r, false, "filesystem region: ok (%llu bytes)\n",
		     (unsigned long long)s->devices[0].size);
	else
		text(r, false, "blob %u: ok (%s, %llu bytes)\n", dev, path,
		     (unsigned long long)s->devices[dev].size);
	device_result(r, dev, s, dev ? path : "", "ok", NULL, first);
	return 0;
}

/* Which device a blob file given on the command line is. */
static int match_blob(const struct es_seal *s, const char *path, unsigned int threads,
		      struct es_err *err)
{
	const char *base = strrchr(path, '/');
	uint8_t want[32], digest[32];
	uint64_t size;
	int fd, ret;

	base = base ? base + 1 : path;
	if (strlen(base) == 64 && es_unhex(base, want, 32)) {
		for (unsigned int i = 1; i < s->ndevices; i++)
			if (!memcmp(s->devices[i].digest, want, 32))
				return (int)i;
	}
	fd = es_open_input(path, &size, err);
	if (fd < 0)
		return -2;
	ret = es_verity_digest_fd_parallel(fd, size, threads, digest, NULL, NULL);
	close(fd);
	if (ret) {
		es_fail(err, ret, "cannot read %s: %s", ES_PATH(path), strerror(-ret));
		return -2;
	}
	for (unsigned int i = 1; i < s->ndevices; i++)
		if (!memcmp(s->devices[i].digest, digest, 32))
			return (int)i;
	return -1;
}

enum { OPT_CERT = 256, OPT_PUBKEY, OPT_BLOB_DIR, OPT_JSON };

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "cert", required_argument, NULL, OPT_CERT },
		{ "pubkey", required_argument, NULL, OPT_PUBKEY },
		{ "blob-dir", required_argument, NULL, OPT_BLOB_DIR },
		{ "threads", required_argument, NULL, 'j' },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "quiet", no_argument, NULL, 'q' },
		{ NULL, 0, NULL, 0 },
	};
	struct report r = { 0 };
	struct es_trust *trust = NULL;
	struct es_err err = { 0 };
	struct es_seal *s = NULL;
	struct es_image *img = NULL;
	const char *blob_dir = NULL, *image;
	unsigned int threads = 0;
	bool first_dev = true;
	uint64_t v, image_size;
	int c, fd = -1;

	struct cli_list certs = { .n = 0 }, pubkeys = { .n = 0 };

	while ((c = getopt_long(argc, argv, "hVj:q", longopts, NULL)) != -1) {
		switch (c) {
		case 'h':
			usage(stdout);
			return EXIT_VERIFIED;
		case 'V':
			printf("%s (erofs-seal) %s\n", prog, PACKAGE_VERSION);
			return EXIT_VERIFIED;
		case OPT_CERT:
		case OPT_PUBKEY:
			if (!cli_list_add(c == OPT_CERT ? &certs : &pubkeys, optarg)) {
				fprintf(stderr, "%s: too many trust anchors\n", prog);
				return EXIT_USAGE;
			}
			break;
		case OPT_BLOB_DIR:
			blob_dir = optarg;
			break;
		case 'j':
			if (!cli_parse_u64(optarg, 64, &v) || !v) {
				fprintf(stderr, "%s: invalid thread count '%s'\n", prog, optarg);
				return EXIT_USAGE;
			}
			threads = (unsigned int)v;
			break;
		case OPT_JSON:
			r.json = true;
			break;
		case 'q':
			r.quiet = true;
			break;
		default:
			fprintf(stderr, "Try '%s --help' for more information.\n", prog);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "%s: no IMAGE given\nTry '%s --help' for more information.\n",
			prog, prog);
		return EXIT_USAGE;
	}
	trust = es_trust_from_files(certs.items, certs.n, pubkeys.items, pubkeys.n, &err);
	if (!trust) {
		fprintf(stderr, "%s: %s\n", prog, err.msg);
		return EXIT_USAGE;
	}
	if (!threads)
		threads = cli_default_threads();
	image = argv[optind];
	json_add(&r, "{\"image\":");
	json_str(&r, image);
	json_add(&r, ",");

	/* 1. the seal, read without trusting any EROFS structure yet */
	fd = es_open_input(image, &image_size, &err);
	if (fd < 0) {
		text(&r, true, "%s: %s\n", prog, err.msg);
		fail_with(&r, EXIT_OPERATIONAL);
		goto done;
	}
	{
		int ret = es_seal_open_fd(fd, image_size, &s, &err);

		if (ret == -ENODATA) {
			text(&r, true, "%s: %s is not sealed (no seal locator at its end)\n",
			     prog, image);
			fail_with(&r, EXIT_MALFORMED);
			goto done;
		}
		if (ret) {
			text(&r, true, "%s: %s\n", prog, err.msg);
			fail_with(&r, ret == -ENOMEM || ret == -EIO ? EXIT_OPERATIONAL
								  : EXIT_MALFORMED);
			goto done;
		}
	}
	/* 2. signatures over the manifest, before anything in it is believed */
	check_signatures(&r, s, es_trust_count(trust) ? trust : NULL);
	{
		int ret = es_seal_parse(fd, s, &err);

		if (ret) {
			text(&r, true, "%s: %s\n", prog, err.msg);
			/* a section that disagrees with the manifest: integrity */
			fail_with(&r, ret == -ENOMEM || ret == -EIO ? EXIT_OPERATIONAL :
				  ret == -EBADMSG ? EXIT_INTEGRITY : EXIT_MALFORMED);
			goto done;
		}
	}
	/* 3. the filesystem region, before any of its structures is used */
	json_add(&r, "\"devices\":[");
	if (verify_one(&r, fd, s, 0, image, threads, first_dev) == 0) {
		struct es_open_opts oo = { .blob_dir = NULL };

		/* 4. the EROFS structures the seal describes */
		es_err_clear(&err);
		if (es_image_open(&img, image, &oo, &err) ||
		    es_seal_check_image(img, s, &err)) {
			text(&r, true, "%s: %s\n", prog, err.msg);
			fail_with(&r, EXIT_MALFORMED);
		}
	}
	first_dev = false;
	/* 5. blobs */
	if (blob_dir) {
		for (unsigned int i = 1; i < s->ndevices; i++) {
			char path[4096], hex[65];

			es_hex(s->devices[i].digest, 32, hex);
			snprintf(path, sizeof(path), "%s/%s", blob_dir, hex);
			verify_one(&r, fd, s, i, path, threads, false);
		}
	}
	for (int a = optind + 1; a < argc; a++) {
		struct es_err blob_err = { 0 };
		int dev = match_blob(s, argv[a], threads, &blob_err);

		if (dev == -2) {
			text(&r, true, "%s: blob: %s\n", prog, blob_err.msg);
			json_add(&r, ",{\"path\":");
			json_str(&r, argv[a]);
			json_add(&r, ",\"status\":\"missing\"}");
			fail_with(&r, blob_err.code == -ENOENT ? EXIT_BLOB_MISSING
							       : EXIT_OPERATIONAL);
		} else if (dev < 0) {
			text(&r, true, "%s: %s is not a blob of this image (its name and "
			     "digest match no device)\n", prog, argv[a]);
			json_add(&r, ",{\"path\":");
			json_str(&r, argv[a]);
			json_add(&r, ",\"status\":\"foreign\"}");
			fail_with(&r, EXIT_INTEGRITY);
		} else {
			verify_one(&r, fd, s, (unsigned int)dev, argv[a], threads, false);
		}
	}
	if (!blob_dir && optind + 1 == argc && s->ndevices > 1)
		text(&r, false, "blobs: %u not checked (give --blob-dir or BLOB files)\n",
		     s->ndevices - 1);
	json_add(&r, "],");
done:
	json_add(&r, "\"verified\":%s,\"exit_code\":%d}\n", r.code ? "false" : "true", r.code);
	if (r.json && r.json_buf)
		fputs(r.json_buf, stdout);
	else if (!r.code)
		text(&r, false, "%s: %s verified\n", prog, image);
	free(r.json_buf);
	es_seal_free(s);
	es_image_close(img);
	es_trust_free(trust);
	if (fd >= 0)
		close(fd);
	return r.code;
}
