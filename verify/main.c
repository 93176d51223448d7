// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * erofs-verify: check a sealed image for CI without any decryption key:
 * its signatures against trust anchors, then the filesystem region and
 * every blob against the Merkle trees bound by the signed manifest.
 */
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "config.h"
#include "erofs/seal.h"
#include "erofs/sign.h"
#include "erofs/verify.h"
#include "../progs/cli.h"
#include "../progs/json.h"
#include "../progs/progress.h"

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
"  --blob-dir=DIR        verify every blob of the image, found in DIR (which\n"
"                        must exist) by its fs-verity digest; a missing one\n"
"                        is an error\n"
"  BLOB...               verify these blob files (matched to the image's\n"
"                        devices by name or by digest)\n"
"  -j, --workers=N       hashing threads (default, and 0: all cores)\n"
"  --json                print one JSON object instead of text, also on\n"
"                        failure (schema: erofs-verify(1), JSON OUTPUT)\n"
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
	/* the JSON "errors" (every failure message) and "error" (the first) */
	struct jbuf out, errors;
	char *first_error;
	const char *signature_status, *digest_status;
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
		/* "erofs-verify: " says nothing inside erofs-verify's own JSON */
		const char *bare = !strncmp(msg, prog, plen) && !strncmp(msg + plen, ": ", 2) ?
				   msg + plen + 2 : msg;

		while (len && msg[len - 1] == '\n')
			msg[--len] = '\0';
		if (r->errors.len)
			json_raw(&r->errors, ",", 1);
		json_str(&r->errors, bare);
		if (!r->first_error && !(r->first_error = strdup(bare)))
			r->errors.oom = true;
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
/* es_seal_authenticate() came to a verdict (and hashed the manifest) */
static bool auth_decided(int status)
{
	return !status || status == -ENOKEY || status == -EBADMSG || status == -EKEYREJECTED;
}

static const char *const sig_status_names[] = { "not-checked", "trusted", "untrusted", "bad" };

static void authenticate(struct report *r, const struct es_verify_report *vr,
			 bool integrity_only)
{
	static const char *const *const names = sig_status_names;
	static const char *const digest_names[] = { "not-pinned", "match", "mismatch" };
	const struct es_seal *s = vr->seal;
	const struct es_sig_result *res = vr->sigs;
	const struct es_seal_auth *auth = &vr->auth;
	char digest[ES_MANIFEST_DIGEST_TEXT_SIZE];
	int ret = vr->auth_status;

	if (!auth_decided(ret)) {
		text(r, true, "%s: %s\n", prog, vr->auth_err.msg);
		fail_with(r, EXIT_OPERATIONAL);
		return;
	}
	es_manifest_digest_format(auth->manifest_digest, digest);
	for (unsigned int i = 0; i < s->nsigs; i++) {
		/* a damaged signature is a failure unless a pin authenticated */
		bool bad = res[i].status == ES_SIG_BAD;

		text(r, bad && auth->by != ES_AUTH_DIGEST, "signature %u (%s): %s, %s\n", i + 1,
		     sig_name(s->sigs[i].type), names[res[i].status], res[i].signer);
		if (bad)
			text(r, auth->by != ES_AUTH_DIGEST, "  %s\n", res[i].error);
	}
	r->signature_status = auth->signatures == -ENOKEY ? "not-checked" :
			      !auth->signatures ? "trusted" :
			      auth->signatures == -EKEYREJECTED ? "untrusted" :
			      s->nsigs ? "bad" : "missing";
	r->digest_status = digest_names[auth->digest];
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

static const char *const exit_kinds[] = {
	[EXIT_VERIFIED] = "verified",
	[EXIT_BAD_SIGNATURE] = "bad-signature",
	[EXIT_UNTRUSTED] = "untrusted",
	[EXIT_BLOB_MISSING] = "blob-not-verified",
	[EXIT_INTEGRITY] = "integrity",
	[EXIT_MALFORMED] = "malformed",
	[EXIT_OPERATIONAL] = "operational",
	[EXIT_NO_ANCHOR] = "no-anchor",
	[EXIT_DIGEST_MISMATCH] = "digest-mismatch",
	[EXIT_USAGE] = "usage",
};

/* The signatures of the seal, each with what it and the anchors tell of its signer. */
static void json_signers(struct jbuf *j, const struct es_verify_report *vr,
			 const struct es_trust *trust)
{
	const struct es_seal *s = vr->seal;

	json_add(j, ",\"signers\":[");
	for (unsigned int i = 0; s && i < s->nsigs; i++) {
		const struct es_sig_result *res = vr->sigs ? &vr->sigs[i] : NULL;

		if (i)
			json_raw(j, ",", 1);
		json_signer_open(j, i + 1, &s->sigs[i], trust);
		json_add(j, ",\"status\":\"%s\",\"error\":",
			 sig_status_names[res ? res->status : ES_SIG_NOT_CHECKED]);
		json_str_or_null(j, res ? res->error : NULL);
		json_add(j, "}");
	}
	json_add(j, "]");
}

/* The report of every device, BLOB arguments that are none, and the verdict. */
static void finish(struct report *r, const struct es_verify_report *vr,
		   const struct es_trust *trust, const char *image)
{
	static const struct es_seal no_seal;
	const struct es_seal *s = r->ndevs ? vr->seal : &no_seal;
	unsigned int verified = 0;
	char hex[65], digest[ES_MANIFEST_DIGEST_TEXT_SIZE];

	for (unsigned int i = 0; i < r->ndevs; i++) {
		if (r->devs[i].state == DEV_VERIFIED)
			verified++;
		/* refused before any check: every device is not checked, by design */
		if (r->devs[i].state != DEV_NOT_CHECKED || r->auth == AUTH_NO_ANCHOR)
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
	json_begin(&r->out, prog);
	json_add(&r->out, ",\"image\":");
	json_str_or_null(&r->out, image);
	json_add(&r->out, ",\"authentication\":\"%s\",\"authenticated\":%s,\"encrypted\":%s,"
		 "\"manifest_digest\":", auth_state_names[r->auth],
		 r->auth == AUTH_SIGNATURE || r->auth == AUTH_DIGEST ? "true" : "false",
		 r->encrypted ? "true" : "false");
	/* the pipeline hashes the manifest whenever it read the seal */
	if (vr->seal && auth_decided(vr->auth_status)) {
		es_manifest_digest_format(vr->auth.manifest_digest, digest);
		json_str(&r->out, digest);
	} else {
		json_add(&r->out, "null");
	}
	json_add(&r->out, ",\"signature_status\":\"%s\",\"digest_status\":\"%s\"",
		 r->signature_status ? r->signature_status : "not-checked",
		 r->digest_status ? r->digest_status : "not-pinned");
	json_signers(&r->out, vr, trust);
	json_add(&r->out, ",\"devices\":[");
	for (unsigned int i = 0; i < r->ndevs; i++) {
		es_hex(s->devices[i].digest, 32, hex);
		json_add(&r->out, "%s{\"index\":%u,\"role\":\"%s\",\"size\":%llu,"
			 "\"digest\":\"%s\",\"path\":", i ? "," : "", i,
			 i ? "blob" : "filesystem", (unsigned long long)s->devices[i].size, hex);
		json_str_or_null(&r->out, r->devs[i].path);
		json_add(&r->out, ",\"status\":\"%s\",\"error\":",
			 dev_state_names[r->devs[i].state]);
		json_str_or_null(&r->out, r->devs[i].error);
		json_add(&r->out, "}");
	}
	json_add(&r->out, "],\"unmatched_blobs\":[");
	for (unsigned int i = 0; i < r->nargs; i++) {
		json_add(&r->out, "%s{\"path\":", i ? "," : "");
		json_str(&r->out, r->args[i].path);
		json_add(&r->out, ",\"status\":\"%s\",\"error\":", r->args[i].status);
		json_str_or_null(&r->out, r->args[i].error);
		json_add(&r->out, "}");
	}
	if (r->out.oom || r->errors.oom) {
		fprintf(stderr, "%s: out of memory\n", prog);
		fail_with(r, EXIT_OPERATIONAL);
	}
	json_add(&r->out, "],\"verified\":%s,\"exit_code\":%d,\"errors\":[",
		 r->code ? "false" : "true", r->code);
	if (r->errors.len)
		json_raw(&r->out, r->errors.buf, r->errors.len);
	json_add(&r->out, "]");
	if (r->code)
		json_error(&r->out, r->code, exit_kinds[r->code], r->first_error);
	json_add(&r->out, "}\n");
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

/*
 * A failure before the image is opened (code: usage, or a trust anchor
 * that cannot be loaded): the message, unless it was printed already
 * (said), and with --json anywhere before "--" the JSON object every run
 * with --json prints, so that a CI job that parses stdout never finds it
 * empty.
 */
static int early_fail(int argc, char **argv, int code, bool said, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
static int early_fail(int argc, char **argv, int code, bool said, const char *fmt, ...)
{
	struct report r = { .code = code };
	static const struct es_verify_report none;
	va_list ap;
	char *msg = NULL;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	if (msg && !said)
		fprintf(stderr, "%s: %s\n", prog, msg);
	if (code == EXIT_USAGE)
		fprintf(stderr, "Try '%s --help' for more information.\n", prog);
	r.json = json_wanted(argc, argv);
	if (r.json) {
		r.first_error = msg;
		msg = NULL;
		if (r.first_error)
			json_str(&r.errors, r.first_error);
		finish(&r, &none, NULL, NULL);
	}
	free(msg);
	free(r.first_error);
	free(r.out.buf);
	free(r.errors.buf);
	return code;
}

#define usage_fail(argc, argv, ...) early_fail(argc, argv, EXIT_USAGE, false, __VA_ARGS__)

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
	struct report r = { 0 };
	struct es_trust *trust = NULL;
	struct es_err err = { 0 };
	const struct es_seal *s = NULL;
	struct es_verify_report vr = { 0 };
	struct es_verify_opts vo = { .check_devices = true, .release_blobs = true };
	struct cli_verify_progress progress = { .done = 0 };
	const char *blob_dir = NULL, *image;
	unsigned int threads = 0;
	bool integrity_only = false;
	struct es_io io = { .close = NULL };	/* es_io_close() of it does nothing */
	int c;

	struct cli_list certs = { .n = 0 }, pubkeys = { .n = 0 }, digests = { .n = 0 };

	cli_set_prog_name(argv, prog);
	cli_raise_fd_limit();
	/*
	 * The buffers of one device (the chunk index, trees, read buffers:
	 * a few MiB) are allocated one after another: from the heap, a new
	 * one takes the pages an old one left, while a mapping of its own
	 * would be new pages, each costing a fault (~10 us in a VM) again.
	 */
	mallopt(M_MMAP_THRESHOLD, 64 << 20);
	mallopt(M_TRIM_THRESHOLD, 128 << 20);
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
				return usage_fail(argc, argv, "too many trust anchors");
			}
			break;
		case OPT_INTEGRITY_ONLY:
			integrity_only = true;
			break;
		case OPT_BLOB_DIR: {
			char why[512];

			if (cli_blob_dir_problem(optarg, why, sizeof(why)))
				return usage_fail(argc, argv, "%s", why);
			blob_dir = optarg;
			break;
		}
		case 'j':
			if (!cli_parse_workers(optarg, &threads)) {
				return usage_fail(argc, argv, "invalid worker count '%s' (0: all cores)",
						  optarg);
			}
			break;
		case OPT_JSON:
			r.json = true;
			break;
		case 'q':
			r.quiet = true;
			break;
		default:
			/* getopt has said what is wrong */
			return early_fail(argc, argv, EXIT_USAGE, true, "%s",
					  "unrecognized option or missing argument");
		}
	}
	if (optind >= argc) {
		return usage_fail(argc, argv, "no IMAGE given");
	}
	if (integrity_only && (certs.n || pubkeys.n || digests.n)) {
		return usage_fail(argc, argv, "--integrity-only excludes --cert, --pubkey and "
				  "--expect-digest");
	}
	trust = cli_trust_load(prog, &certs, &pubkeys, &digests, EXIT_USAGE, EXIT_OPERATIONAL,
			       &c);
	if (!trust)
		return early_fail(argc, argv, c, true, "%s", c == EXIT_USAGE ?
				  "a trust anchor cannot be used (see stderr)" : "out of memory");
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

	/* 0. a verifier without anchors would pass every image */
	if (!integrity_only && !certs.n && !pubkeys.n && !digests.n) {
		text(&r, true, "%s: not authenticated: no trust anchor given (--cert, "
		     "--pubkey or --expect-digest); --integrity-only checks integrity "
		     "alone\n", prog);
		r.auth = AUTH_NO_ANCHOR;
		fail_with(&r, EXIT_NO_ANCHOR);
		/* still read the seal, to list the devices it was refused for */
		vo.check_devices = false;
	}
	/* 1. the seal, read without trusting any EROFS structure yet; blobs
	 * are found in BLOB_DIR by their digest */
	if (es_io_file_open(&io, image, blob_dir, &err)) {
		text(&r, true, "%s: %s\n", prog, err.msg);
		fail_with(&r, EXIT_OPERATIONAL);
		goto done;
	}
	cli_progress_init(&progress.line, prog, "devices", r.quiet);
	if (progress.line.on) {
		vo.progress = cli_verify_progress_cb;
		vo.progress_ctx = &progress;
	}
	c = es_verify_image(&io, trust, &vo, &vr, &err);
	cli_progress_end(&progress.line);
	if (c) {
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
	if (!vr.parse_status) {
		r.devs = calloc(s->ndevices, sizeof(*r.devs));
		if (!r.devs) {
			text(&r, true, "%s: out of memory\n", prog);
			fail_with(&r, EXIT_OPERATIONAL);
			goto done;
		}
		r.ndevs = s->ndevices;
	}
	if (r.auth == AUTH_NO_ANCHOR)
		goto done;
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
	finish(&r, &vr, trust, image);
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
	free(r.first_error);
	es_verify_report_free(&vr);
	es_trust_free(trust);
	es_io_close(&io);
	return r.code;
}
