// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * erofs-verify: check a sealed image for CI without any decryption key:
 * its signatures against trust anchors, then the filesystem region and
 * every blob against the Merkle trees bound by the signed manifest.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "config.h"
#include "erofs/seal.h"
#include "erofs/sign.h"
#include "erofs/verify.h"
#include "../progs/cli.h"

enum {
	EXIT_VERIFIED = 0,
	EXIT_BAD_SIGNATURE = 1,
	EXIT_UNTRUSTED = 2,
	EXIT_BLOB_MISSING = 3,		/* also: a device not checked at all */
	EXIT_INTEGRITY = 4,
	EXIT_MALFORMED = 5,
	EXIT_OPERATIONAL = 6,
	EXIT_NO_ANCHOR = 7,
	EXIT_DIGEST_MISMATCH = 8,
	EXIT_USAGE = 64,
};

static const char *prog = "erofs-verify";

static void usage(FILE *f)
{
	fprintf(f,
"Usage: %s [OPTIONS] IMAGE [BLOB...]\n"
"Verify a sealed EROFS image without any decryption key: first that its\n"
"manifest is authentic (signatures or a pinned digest), then the filesystem\n"
"region and each blob against the fs-verity Merkle trees the manifest binds.\n"
"IMAGE and blobs are regular files or block devices (a loop device); a\n"
"sealed image on a device must fill it, since its seal is found at the\n"
"device's end.\n"
"\n"
"Options:\n"
"  --cert=CERT.pem       trust the key in this certificate (repeatable)\n"
"  --pubkey=KEY.pem      trust this public key (repeatable)\n"
"  --expect-digest=sha256:HEX\n"
"                        trust the image whose manifest has this SHA-256\n"
"                        (printed by mkfs.erofs and dump.erofs -s); no key\n"
"                        needed (repeatable)\n"
"  --integrity-only      check integrity without any trust anchor: the\n"
"                        result says \"not authenticated\"\n"
"  --blob-dir=DIR        verify every blob of the image, found in DIR by its\n"
"                        fs-verity digest; a missing one is an error\n"
"  BLOB...               verify these blob files (matched to the image's\n"
"                        devices by name or by digest)\n"
"  -j, --workers=N       hashing threads (default, and 0: all cores)\n"
"  --json                print one JSON object instead of text\n"
"  -q, --quiet           print only failures\n"
"  -h, --help            show this help\n"
"  -V, --version         show the version\n"
"\n"
"The seal is authentic when its manifest digest is an --expect-digest one,\n"
"or when at least one signature verifies and comes from a --cert/--pubkey\n"
"anchor and none is damaged.  A certificate anchor trusts the key in it: no\n"
"chain or expiry checks.  Without any anchor erofs-verify refuses (exit 7)\n"
"unless --integrity-only is given.  \"verified\" (exit 0) means authentic\n"
"(or --integrity-only) and every device of the manifest verified: the\n"
"filesystem region and every blob.\n"
"\n"
"An encrypted image (mkfs.erofs --encrypt) is verified as it is stored:\n"
"the Merkle trees cover its ciphertext, so no key is needed or taken.  The\n"
"output says that its contents are encrypted and were checked as ciphertext\n"
"only (JSON: \"encrypted\": true); fsck.erofs --unlock checks the plaintext.\n"
"\n"
"Exit status (the first failure found decides):\n"
"  0   verified\n"
"  1   bad or missing signature\n"
"  2   valid signature, but by a signer that is not trusted\n"
"  3   a blob of the image was not verified: missing from --blob-dir, a\n"
"      BLOB file that does not exist, or not given at all\n"
"  4   integrity failure: a block fails its Merkle tree, a blob is\n"
"      truncated or is not the one the manifest names\n"
"  5   the image or its seal is malformed (this includes bytes in the\n"
"      seal that no section accounts for), or the image is not sealed\n"
"  6   operational error (I/O, memory)\n"
"  7   not authenticated: no --cert, --pubkey or --expect-digest given\n"
"      (and no --integrity-only)\n"
"  8   the manifest digest is not an --expect-digest one (and no signature\n"
"      by a --cert/--pubkey anchor authenticates it)\n"
"  64  usage error\n", prog);
}

/* A growing JSON text; oom is sticky and makes the run fail with exit 6. */
struct jbuf {
	char *buf;
	size_t len, cap;
	bool oom;
};

/* What became of a device of the manifest; worse states win. */
enum dev_state { DEV_NOT_CHECKED, DEV_VERIFIED, DEV_MISSING, DEV_FAILED };

static const char *const dev_state_names[] = {
	"not-checked", "verified", "missing", "failed",
};

struct dev_report {
	enum dev_state state;
	char *path, *error;
};

/* A BLOB argument that is no device of the image. */
struct arg_report {
	const char *path, *status;
	char *error;
};

enum auth_state {
	AUTH_NOT_CHECKED,	/* the seal could not be read */
	AUTH_NO_ANCHOR,		/* refused: nothing to authenticate against */
	AUTH_INTEGRITY_ONLY,	/* --integrity-only: not authenticated, by request */
	AUTH_SIGNATURE,
	AUTH_DIGEST,
	AUTH_FAILED,
};

static const char *const auth_state_names[] = {
	"not-checked", "no-anchor", "integrity-only", "signature", "pinned-digest", "failed",
};

struct report {
	bool json, quiet;
	int code;		/* first failure */
	enum auth_state auth;
	/* the signed manifest says the image is encrypted (the pipeline
	   checks that the superblock agrees): the trees cover ciphertext */
	bool encrypted;
	struct jbuf out, errors;
	struct dev_report *devs;
	unsigned int ndevs;
	struct arg_report *args;
	unsigned int nargs;
};

static void fail_with(struct report *r, int code)
{
	if (!r->code)
		r->code = code;
}

static void json_raw(struct jbuf *j, const char *p, size_t n)
{
	if (j->oom)
		return;
	if (j->cap - j->len <= n) {
		size_t cap = (j->cap + n + 1) * 2;
		char *nb = realloc(j->buf, cap);

		if (!nb) {
			j->oom = true;
			return;
		}
		j->buf = nb;
		j->cap = cap;
	}
	memcpy(j->buf + j->len, p, n);
	j->len += n;
	j->buf[j->len] = '\0';
}

static void json_add(struct jbuf *j, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void json_add(struct jbuf *j, const char *fmt, ...)
{
	char small[256], *p = small;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0) {
		j->oom = true;
		return;
	}
	if ((size_t)n >= sizeof(small)) {
		va_start(ap, fmt);
		n = vasprintf(&p, fmt, ap);
		va_end(ap);
		if (n < 0) {
			j->oom = true;
			return;
		}
	}
	json_raw(j, p, (size_t)n);
	if (p != small)
		free(p);
}

/*
 * Length of the well-formed UTF-8 sequence at s (RFC 3629: shortest form,
 * no surrogates, nothing above U+10FFFF), 0 when s does not start one.
 * Stops at a NUL, which is never a continuation byte.
 */
static size_t utf8_len(const unsigned char *s)
{
	uint32_t cp, min;
	size_t n;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		n = 2, cp = s[0] & 0x1f, min = 0x80;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 3, cp = s[0] & 0x0f, min = 0x800;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4, cp = s[0] & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

/*
 * A JSON string that is always valid UTF-8, whatever the bytes (paths are
 * bytes): well-formed UTF-8 passes through, each byte that is not part of
 * a well-formed sequence becomes U+FFFD, control characters are escaped.
 */
static void json_str(struct jbuf *j, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;

	json_raw(j, "\"", 1);
	while (*s) {
		size_t n = utf8_len(s);

		if (!n) {
			json_raw(j, "\\ufffd", 6);
			s++;
		} else if (*s == '"' || *s == '\\') {
			json_add(j, "\\%c", *s++);
		} else if (*s < 0x20) {
			json_add(j, "\\u%04x", *s++);
		} else {
			json_raw(j, (const char *)s, n);
			s += n;
		}
	}
	json_raw(j, "\"", 1);
}

/* A line of the text report; failures also go to the JSON "errors". */
static void text(struct report *r, bool failure, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void text(struct report *r, bool failure, const char *fmt, ...)
{
	va_list ap;
	char *msg;
	int n;

	if (r->json && !failure)
		return;
	va_start(ap, fmt);
	n = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (n < 0) {
		fail_with(r, EXIT_OPERATIONAL);
		return;
	}
	if (r->json) {
		size_t len = (size_t)n, plen = strlen(prog);

		while (len && msg[len - 1] == '\n')
			msg[--len] = '\0';
		if (r->errors.len)
			json_raw(&r->errors, ",", 1);
		/* "erofs-verify: " says nothing inside erofs-verify's own JSON */
		json_str(&r->errors, !strncmp(msg, prog, plen) && !strncmp(msg + plen, ": ", 2)
			 ? msg + plen + 2 : msg);
	} else if (!r->quiet || failure) {
		fputs(msg, failure ? stderr : stdout);
	}
	free(msg);
}

static const char *sig_name(uint32_t type)
{
	const char *n = es_sig_type_name((enum es_sig_type)type);

	return n ? n : "unknown";
}

/*
 * Is the seal authentic?  The pipeline decided it with
 * es_seal_authenticate() over the raw manifest and the signatures, before
 * any manifest field was believed.
 */
static void authenticate(struct report *r, const struct es_verify_report *vr,
			 bool integrity_only)
{
	static const char *const names[] = { "not-checked", "trusted", "untrusted", "bad" };
	static const char *const digest_names[] = { "not-pinned", "match", "mismatch" };
	const struct es_seal *s = vr->seal;
	const struct es_sig_result *res = vr->sigs;
	const struct es_seal_auth *auth = &vr->auth;
	char digest[ES_MANIFEST_DIGEST_TEXT_SIZE];
	int ret = vr->auth_status;

	if (ret && ret != -ENOKEY && ret != -EBADMSG && ret != -EKEYREJECTED) {
		text(r, true, "%s: %s\n", prog, vr->auth_err.msg);
		fail_with(r, EXIT_OPERATIONAL);
		return;
	}
	es_manifest_digest_format(auth->manifest_digest, digest);
	json_add(&r->out, "\"manifest_digest\":\"%s\",\"signatures\":[", digest);
	for (unsigned int i = 0; i < s->nsigs; i++) {
		/* a damaged signature is a failure unless a pin authenticated */
		bool bad = res[i].status == ES_SIG_BAD;

		text(r, bad && auth->by != ES_AUTH_DIGEST, "signature %u (%s): %s, %s\n", i + 1,
		     sig_name(s->sigs[i].type), names[res[i].status], res[i].signer);
		if (bad)
			text(r, auth->by != ES_AUTH_DIGEST, "  %s\n", res[i].error);
		json_add(&r->out, "%s{\"index\":%u,\"type\":\"%s\",\"status\":\"%s\",\"signer\":",
			 i ? "," : "", i + 1, sig_name(s->sigs[i].type), names[res[i].status]);
		json_str(&r->out, res[i].signer);
		json_add(&r->out, ",\"error\":");
		json_str(&r->out, res[i].error);
		json_add(&r->out, "}");
	}
	json_add(&r->out, "],\"signature_status\":\"%s\",\"digest_status\":\"%s\",",
		 auth->signatures == -ENOKEY ? "not-checked" : !auth->signatures ? "trusted" :
		 auth->signatures == -EKEYREJECTED ? "untrusted" : s->nsigs ? "bad" : "missing",
		 digest_names[auth->digest]);
	if (auth->signatures == -ENOKEY)
		text(r, false, "signatures: not checked (no --cert or --pubkey given)\n");
	text(r, false, "manifest digest: %s\n", digest);
	if (auth->digest == ES_DIGEST_MATCH)
		text(r, false, "manifest digest: matches --expect-digest\n");
	switch (auth->by) {
	case ES_AUTH_SIGNATURE:
		r->auth = AUTH_SIGNATURE;
		text(r, false, "authenticated: by a trusted signature\n");
		return;
	case ES_AUTH_DIGEST:
		r->auth = AUTH_DIGEST;
		text(r, false, "authenticated: by the pinned manifest digest\n");
		return;
	case ES_AUTH_NONE:
		break;
	}
	if (ret == -ENOKEY && integrity_only) {
		r->auth = AUTH_INTEGRITY_ONLY;
		text(r, false, "authentication: integrity only — not authenticated "
		     "(--integrity-only)\n");
		return;
	}
	r->auth = AUTH_FAILED;
	text(r, true, "%s: %s\n", prog, vr->auth_err.msg);
	if (auth->signatures == -EKEYREJECTED)
		fail_with(r, EXIT_UNTRUSTED);
	else if (auth->signatures != -ENOKEY)
		fail_with(r, EXIT_BAD_SIGNATURE);
	else
		fail_with(r, EXIT_DIGEST_MISMATCH);
}

static void device_result(struct report *r, unsigned int dev, const char *path,
			  enum dev_state state, const char *msg)
{
	struct dev_report *d = &r->devs[dev];

	if (state < d->state)
		return;
	free(d->path);
	free(d->error);
	d->state = state;
	d->path = strdup(path ? path : "");
	d->error = strdup(msg ? msg : "");
	if (!d->path || !d->error)
		fail_with(r, EXIT_OPERATIONAL);
}

/* What the pipeline found for device dev (path: the one given, if any). */
static void device_outcome(struct report *r, const struct es_seal *s, unsigned int dev,
			   const struct es_verify_device *d, const char *path)
{
	path = d->name ? d->name : path;
	switch (d->state) {
	case ES_VERIFY_NOT_CHECKED:
		return;
	case ES_VERIFY_MISSING:
		text(r, true, "%s: %s %u: %s\n", prog, dev ? "blob" : "device", dev,
		     d->err.msg);
		device_result(r, dev, path, DEV_MISSING, d->err.msg);
		fail_with(r, d->err.code == -ENOENT ? EXIT_BLOB_MISSING : EXIT_OPERATIONAL);
		return;
	case ES_VERIFY_FAILED:
		text(r, true, "%s: %s\n", prog, d->err.msg);
		device_result(r, dev, path, DEV_FAILED, d->err.msg);
		fail_with(r, (d->err.code == -EBADMSG || d->err.code == -ES_ECORRUPT)
			  ? EXIT_INTEGRITY : EXIT_OPERATIONAL);
		return;
	case ES_VERIFY_VERIFIED:
		break;
	}
	if (dev == 0)
		text(r, false, "filesystem region: ok (%llu bytes)\n",
		     (unsigned long long)s->devices[0].size);
	else
		text(r, false, "blob %u: ok (%s, %llu bytes)\n", dev, path,
		     (unsigned long long)s->devices[dev].size);
	device_result(r, dev, path, DEV_VERIFIED, NULL);
}

/* A BLOB argument: which device it is, and that device checked again from it. */
static void verify_blob_arg(struct report *r, struct es_io *io, struct es_verify_report *vr,
			    const struct es_verify_opts *vo, const char *path)
{
	struct es_err err = { 0 };
	struct es_verify_device outcome;
	struct arg_report *u = &r->args[r->nargs];
	int dev = es_verify_match_blob(vr->seal, path, vo->nthreads, &err);

	if (dev < 0) {
		text(r, true, "%s: blob: %s\n", prog, err.msg);
		u->status = "missing";
		u->error = strdup(err.msg);
		fail_with(r, err.code == -ENOENT ? EXIT_BLOB_MISSING : EXIT_OPERATIONAL);
	} else if (dev == 0) {
		text(r, true, "%s: %s is not a blob of this image (its name and "
		     "digest match no device)\n", prog, path);
		u->status = "foreign";
		fail_with(r, EXIT_INTEGRITY);
	} else {
		int ret = es_io_file_set_device(io, (unsigned int)dev, path, &err);

		if (ret) {
			text(r, true, "%s: blob %d: %s\n", prog, dev, err.msg);
			device_result(r, (unsigned int)dev, path, DEV_MISSING, err.msg);
			fail_with(r, ret == -ENOENT ? EXIT_BLOB_MISSING : EXIT_OPERATIONAL);
			return;
		}
		ret = es_verify_blob(io, vr, (unsigned int)dev, vo, &outcome, &err);
		/* one blob open at a time, however many the image has */
		es_io_file_set_device(io, (unsigned int)dev, NULL, NULL);
		if (ret) {
			text(r, true, "%s: %s\n", prog, err.msg);
			fail_with(r, EXIT_OPERATIONAL);
			return;
		}
		device_outcome(r, vr->seal, (unsigned int)dev, &outcome, path);
		return;
	}
	u->path = path;
	r->nargs++;
}

/* The report of every device, BLOB arguments that are none, and the verdict. */
static void finish(struct report *r, const struct es_seal *s, const char *image)
{
	unsigned int verified = 0;
	char hex[65];

	for (unsigned int i = 0; i < r->ndevs; i++) {
		if (r->devs[i].state == DEV_VERIFIED)
			verified++;
		if (r->devs[i].state != DEV_NOT_CHECKED)
			continue;
		/* "verified" means every device: one not given is a failure */
		es_hex(s->devices[i].digest, 32, hex);
		if (i == 0)
			text(r, true, "%s: filesystem region: NOT checked\n", prog);
		else
			text(r, true, "%s: blob %u (%.16s…, %llu bytes): NOT checked (give "
			     "--blob-dir or the blob file)\n", prog, i, hex,
			     (unsigned long long)s->devices[i].size);
		fail_with(r, EXIT_BLOB_MISSING);
	}
	if (r->out.oom || r->errors.oom) {
		fprintf(stderr, "%s: out of memory\n", prog);
		fail_with(r, EXIT_OPERATIONAL);
	}
	json_add(&r->out, "\"authentication\":\"%s\",\"authenticated\":%s,\"encrypted\":%s,"
		 "\"devices\":[", auth_state_names[r->auth],
		 r->auth == AUTH_SIGNATURE || r->auth == AUTH_DIGEST ? "true" : "false",
		 r->encrypted ? "true" : "false");
	for (unsigned int i = 0; i < r->ndevs; i++) {
		es_hex(s->devices[i].digest, 32, hex);
		json_add(&r->out, "%s{\"index\":%u,\"size\":%llu,\"digest\":\"%s\",\"path\":",
			 i ? "," : "", i, (unsigned long long)s->devices[i].size, hex);
		json_str(&r->out, r->devs[i].path ? r->devs[i].path : "");
		json_add(&r->out, ",\"status\":\"%s\",\"error\":",
			 dev_state_names[r->devs[i].state]);
		json_str(&r->out, r->devs[i].error ? r->devs[i].error : "");
		json_add(&r->out, "}");
	}
	json_add(&r->out, "],\"unmatched_blobs\":[");
	for (unsigned int i = 0; i < r->nargs; i++) {
		json_add(&r->out, "%s{\"path\":", i ? "," : "");
		json_str(&r->out, r->args[i].path);
		json_add(&r->out, ",\"status\":\"%s\",\"error\":", r->args[i].status);
		json_str(&r->out, r->args[i].error ? r->args[i].error : "");
		json_add(&r->out, "}");
	}
	json_add(&r->out, "],\"verified\":%s,\"exit_code\":%d,\"errors\":[",
		 r->code ? "false" : "true", r->code);
	if (r->errors.len)
		json_raw(&r->out, r->errors.buf, r->errors.len);
	json_add(&r->out, "]}\n");
	if (r->json) {
		if (!r->out.oom)
			fputs(r->out.buf, stdout);
	} else if (r->code) {
		text(r, true, "%s: %s: NOT verified (exit %d)\n", prog, image, r->code);
	} else if (r->auth == AUTH_INTEGRITY_ONLY) {
		text(r, false, "%s: %s: integrity only — not authenticated (%u of %u "
		     "devices match the manifest%s)\n", prog, image, verified, r->ndevs,
		     r->encrypted ? "; encrypted contents, checked as ciphertext" : "");
	} else {
		text(r, false, "%s: %s verified (authenticated by %s; %u of %u devices%s)\n",
		     prog, image, r->auth == AUTH_DIGEST ? "the pinned manifest digest"
		     : "a trusted signature", verified, r->ndevs,
		     r->encrypted ? "; encrypted contents, checked as ciphertext" : "");
	}
}

enum { OPT_CERT = 256, OPT_PUBKEY, OPT_BLOB_DIR, OPT_JSON, OPT_EXPECT_DIGEST,
       OPT_INTEGRITY_ONLY };

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "cert", required_argument, NULL, OPT_CERT },
		{ "pubkey", required_argument, NULL, OPT_PUBKEY },
		{ "expect-digest", required_argument, NULL, OPT_EXPECT_DIGEST },
		{ "integrity-only", no_argument, NULL, OPT_INTEGRITY_ONLY },
		{ "blob-dir", required_argument, NULL, OPT_BLOB_DIR },
		{ "workers", required_argument, NULL, 'j' },
		{ "threads", required_argument, NULL, 'j' },	/* the 0.x spelling */
		{ "json", no_argument, NULL, OPT_JSON },
		{ "quiet", no_argument, NULL, 'q' },
		{ NULL, 0, NULL, 0 },
	};
	static const struct es_seal no_seal;
	struct report r = { 0 };
	struct es_trust *trust = NULL;
	struct es_err err = { 0 };
	const struct es_seal *s = NULL;
	struct es_verify_report vr = { 0 };
	struct es_verify_opts vo = { .check_devices = true, .release_blobs = true };
	const char *blob_dir = NULL, *image;
	unsigned int threads = 0;
	bool integrity_only = false;
	struct es_io io = { .close = NULL };	/* es_io_close() of it does nothing */
	int c;

	struct cli_list certs = { .n = 0 }, pubkeys = { .n = 0 }, digests = { .n = 0 };

	cli_set_prog_name(argv, prog);
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
		case OPT_EXPECT_DIGEST:
			if (!cli_list_add(c == OPT_CERT ? &certs : c == OPT_PUBKEY ? &pubkeys
					  : &digests, optarg)) {
				fprintf(stderr, "%s: too many trust anchors\n", prog);
				return EXIT_USAGE;
			}
			break;
		case OPT_INTEGRITY_ONLY:
			integrity_only = true;
			break;
		case OPT_BLOB_DIR:
			blob_dir = optarg;
			break;
		case 'j':
			if (!cli_parse_workers(optarg, &threads)) {
				fprintf(stderr, "%s: invalid worker count '%s' (0: all cores)\n",
					prog, optarg);
				return EXIT_USAGE;
			}
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
	if (integrity_only && (certs.n || pubkeys.n || digests.n)) {
		fprintf(stderr, "%s: --integrity-only excludes --cert, --pubkey and "
			"--expect-digest\n", prog);
		return EXIT_USAGE;
	}
	trust = cli_trust_load(prog, &certs, &pubkeys, &digests, EXIT_USAGE, EXIT_OPERATIONAL,
			       &c);
	if (!trust)
		return c;
	if (!threads)
		threads = cli_default_threads();
	vo.nthreads = threads;
	image = argv[optind];
	r.args = calloc((size_t)argc, sizeof(*r.args));
	if (!r.args) {
		fprintf(stderr, "%s: out of memory\n", prog);
		es_trust_free(trust);
		return EXIT_OPERATIONAL;
	}
	json_add(&r.out, "{\"image\":");
	json_str(&r.out, image);
	json_add(&r.out, ",");

	/* 0. a verifier without anchors would pass every image */
	if (!integrity_only && !certs.n && !pubkeys.n && !digests.n) {
		text(&r, true, "%s: not authenticated: no trust anchor given (--cert, "
		     "--pubkey or --expect-digest); --integrity-only checks integrity "
		     "alone\n", prog);
		r.auth = AUTH_NO_ANCHOR;
		fail_with(&r, EXIT_NO_ANCHOR);
		goto done;
	}
	/* 1. the seal, read without trusting any EROFS structure yet; blobs
	 * are found in BLOB_DIR by their digest */
	if (es_io_file_open(&io, image, blob_dir, &err)) {
		text(&r, true, "%s: %s\n", prog, err.msg);
		fail_with(&r, EXIT_OPERATIONAL);
		goto done;
	}
	if (es_verify_image(&io, trust, &vo, &vr, &err)) {
		text(&r, true, "%s: %s\n", prog, err.msg);
		fail_with(&r, EXIT_OPERATIONAL);
		goto done;
	}
	if (vr.read_status == -ENODATA) {
		text(&r, true, "%s: %s is not sealed (no seal locator at its end)\n",
		     prog, image);
		fail_with(&r, EXIT_MALFORMED);
		goto done;
	}
	if (vr.read_status) {
		text(&r, true, "%s: %s\n", prog, vr.read_err.msg);
		fail_with(&r, vr.read_status == -ENOMEM || vr.read_status == -EIO
			  ? EXIT_OPERATIONAL : EXIT_MALFORMED);
		goto done;
	}
	s = vr.seal;
	/* 2. authenticity of the manifest, before anything in it is believed */
	authenticate(&r, &vr, integrity_only);
	if (vr.parse_status) {
		int ret = vr.parse_status;

		text(&r, true, "%s: %s\n", prog, vr.parse_err.msg);
		/* a section that disagrees with the manifest: integrity */
		fail_with(&r, ret == -ENOMEM || ret == -EIO ? EXIT_OPERATIONAL :
			  ret == -EBADMSG ? EXIT_INTEGRITY : EXIT_MALFORMED);
		goto done;
	}
	/* no key is needed: the trees were computed over what is stored */
	r.encrypted = s->flags & MF_FLAG_ENCRYPTED;
	if (r.encrypted)
		text(&r, false, "contents: encrypted — checked as ciphertext only (the Merkle "
		     "trees cover the stored ciphertext; no key is needed or used)\n");
	r.devs = calloc(s->ndevices, sizeof(*r.devs));
	if (!r.devs) {
		text(&r, true, "%s: out of memory\n", prog);
		fail_with(&r, EXIT_OPERATIONAL);
		goto done;
	}
	r.ndevs = s->ndevices;
	/* 3. the filesystem region, before any of its structures is used */
	device_outcome(&r, s, 0, &vr.devices[0], image);
	/* 4. the EROFS structures the seal describes, in the bytes just checked */
	if (vr.image_status || vr.match_status) {
		text(&r, true, "%s: %s\n", prog,
		     vr.image_status ? vr.image_err.msg : vr.match_err.msg);
		fail_with(&r, EXIT_MALFORMED);
	}
	/* 5. blobs: those found in --blob-dir, then the BLOB arguments */
	for (unsigned int i = 1; i < s->ndevices; i++)
		device_outcome(&r, s, i, &vr.devices[i], NULL);
	for (int a = optind + 1; a < argc; a++)
		verify_blob_arg(&r, &io, &vr, &vo, argv[a]);
done:
	finish(&r, s ? s : &no_seal, image);
	for (unsigned int i = 0; i < r.ndevs; i++) {
		free(r.devs[i].path);
		free(r.devs[i].error);
	}
	for (unsigned int i = 0; i < r.nargs; i++)
		free(r.args[i].error);
	free(r.devs);
	free(r.args);
	free(r.out.buf);
	free(r.errors.buf);
	es_verify_report_free(&vr);
	es_trust_free(trust);
	es_io_close(&io);
	return r.code;
}
