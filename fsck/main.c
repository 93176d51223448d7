// SPDX-License-Identifier: GPL-2.0-or-later
/* fsck.erofs: check an image and optionally extract it (front end of libcore). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "config.h"
#include "erofs/check.h"
#include "erofs/image.h"
#include "erofs/seal.h"
#include "erofs/sign.h"
#include "erofs/verified_read.h"
#include "erofs/verify.h"
#include "../progs/cli.h"
#include "../progs/progress.h"
#include "../progs/secrets.h"
#include "erofs/keyslot.h"
#include "erofs/unlock.h"
#include "erofs/hex.h"
#include <unistd.h>

#define EXIT_OK 0
#define EXIT_CORRUPT 4
#define EXIT_OPERATIONAL 8
#define EXIT_USAGE 16
#define EXIT_LOCKED 32

static const char *prog = "fsck.erofs";

static void usage(FILE *f)
{
	fprintf(f,
"Usage: %s [OPTIONS] IMAGE\n"
"Check an EROFS image: superblock, every inode, directory, xattr and data\n"
"mapping (chunk maps, compressed extents, block ranges within devices),\n"
"\".\" and \"..\" entries, link counts and directory loops.  File data is\n"
"not read unless --extract asks for it, as in erofs-utils.\n"
"IMAGE and blobs are regular files or block devices (a loop device).\n"
"\n"
"Options:\n"
"  --device=PATH         an extra device (blob) of the image, in device-table\n"
"                        order; repeatable.  On a sealed image a blob given\n"
"                        in the wrong place is found by its digest\n"
"  --extract[=DIR]       also recreate the tree in DIR (created if missing):\n"
"                        contents, holes, modes, owners, times, xattrs, hard\n"
"                        links, symlinks, device nodes, FIFOs and sockets.\n"
"                        Without DIR: also read, decompress and check every\n"
"                        file's data, and write nothing (on a sealed image\n"
"                        whose devices all passed their Merkle trees, only\n"
"                        what must be decompressed is read again)\n"
"  --nid=NID, --path=PATH  check (and extract) only the inode NID or PATH\n"
"                        and what is below it: DIR gets a directory's\n"
"                        contents, or is the file extracted\n"
"  --blob-dir=DIR        find the image's blobs in DIR by their digest\n"
"  --cert=CERT.pem       check the seal's signatures: trust this certificate's\n"
"                        key (repeatable)\n"
"  --pubkey=KEY.pem      likewise with a bare public key (repeatable)\n"
"  --expect-digest=sha256:HEX\n"
"                        trust the image whose manifest has this SHA-256\n"
"                        (as mkfs.erofs and dump.erofs -s print it), without\n"
"                        keys (repeatable)\n"
"  -j, --workers=N       threads for the seal check's hashing and for reading\n"
"                        and writing file data (--extract): 0 and the\n"
"                        default are all cores, 1 does everything in order\n"
"  --unlock=SPEC         open an encrypted image's key table with a credential\n"
"                        (passphrase, passphrase-file:FILE, keyfile:FILE,\n"
"                        identity:KEY.pem, seed:FILE[:LABEL]); repeatable.\n"
"                        Refused unless a trusted key signed the image\n"
"                        (--cert, --pubkey, --expect-digest) or\n"
"                        --allow-unsigned is given\n"
"  --allow-unsigned      unlock an image no trusted key signed\n"
"  --key-area=FILE       the image's detached key area\n"
"  --overwrite           with --extract, replace files, symlinks and other\n"
"                        non-directories that already exist, and give an\n"
"                        existing DIR the image root's metadata\n"
"  --force               with --extract=/, allow extracting to the root\n"
"  --[no-]preserve-owner with --extract, set (or not) the owners stored in\n"
"                        the image; default: set for root, not for others,\n"
"                        who extract as themselves\n"
"  --[no-]preserve-perms with --extract, set modes exactly as stored, or\n"
"                        without the bits of the umask; default: exactly for\n"
"                        root, with the umask for others\n"
"  --[no-]preserve       both of the above\n"
"  --[no-]xattrs         with --extract, set (or not) xattrs (default: set)\n"
"  -a, -A, -y            no-ops, as fsck(8) of other filesystems takes them\n"
"  -d N                  accepted (0 to 9) for erofs-utils; no effect\n"
"  --quiet               no progress line on a terminal\n"
"  -h, --help            show this help\n"
"  -V, --version         show the version\n"
"\n"
"A sealed image is checked against its seal first, as erofs-verify does: the\n"
"signatures when --cert or --pubkey is given, then every available device\n"
"(the filesystem region, blobs given with --device or --blob-dir) against\n"
"its Merkle tree; with anchors, no EROFS structure is read from a region\n"
"that does not match its seal (a tampered superblock is exit 4).  The\n"
"state of the seal is printed on standard output, ending in \"authenticated\"\n"
"only when anchors were given, the manifest digest is an --expect-digest one\n"
"or a signature by a --cert/--pubkey key verified and none is damaged, and\n"
"every device passed its tree; otherwise \"not authenticated\".  With\n"
"anchors (--cert, --pubkey, --expect-digest), an image without a seal is an\n"
"error (exit 4): it cannot be authenticated.  Without them, fsck still\n"
"checks everything but trusts nothing.\n"
"\n"
"--extract runs only after the seal check, and writes nothing (DIR is not\n"
"even created) when the seal check found a problem, when a device of the\n"
"seal could not be checked (exit 8), or, with anchors, when the seal was\n"
"not authenticated; the rest of the image is still checked.  Blobs found\n"
"with --blob-dir are the exception: their stored trees are checked first,\n"
"their blocks as extraction reads them (and the blocks no file read, after\n"
"it), and the seal line comes at the end.  A block that fails stops the\n"
"extraction (exit 4): no byte of it is written, the file that needed it is\n"
"removed, and the files extracted before it, each of which passed its\n"
"tree, stay.  Without anchors the extracted content is said on standard\n"
"error to be not authenticated.  An existing DIR keeps its own mode,\n"
"owner, xattrs and times (but for the mtime that adding entries changes)\n"
"unless --overwrite is given.  Without privileges, what only root may do\n"
"is left out with a warning: device nodes, other users' owners, xattrs\n"
"outside user.*.\n"
"\n"
"Nothing is ever written outside DIR: every name is checked and every file\n"
"is created relative to its directory without following symlinks;\n"
"--overwrite unlinks an existing non-directory (it never writes through it)\n"
"and fills an existing directory.\n"
"\n"
"An encrypted image (mkfs.erofs --encrypt) without --unlock is checked as\n"
"far as a reader without a key can: the signatures, every device against\n"
"its Merkle tree (over the ciphertext), the superblock and device table;\n"
"the line \"contents: not checked — the image is encrypted\" says that its\n"
"inodes, directories and file data were not, and --extract writes nothing\n"
"(exit 8).  With --unlock, a slot that a credential opens gives the key\n"
"table, which is checked against the signed manifest, and the whole image\n"
"is checked (and extracted) as plaintext.\n"
"\n"
"Exit status:\n"
"  0   the image is consistent (and was extracted, if asked); an encrypted\n"
"      image without --unlock: as far as it was checked\n"
"  4   the image is corrupt or inconsistent, its seal fails, or anchors were\n"
"      given and the image is not sealed; each problem is printed\n"
"  8   operational error: the image or a device cannot be read (for\n"
"      --extract: a device of the seal was not given), it uses a feature\n"
"      this reader does not support, or DIR cannot be written\n"
"  16  usage error\n"
"  32  an encrypted image was not unlocked: no --unlock credential opens\n"
"      a keyslot (a wrong passphrase or key, or a slot's Argon2 costs\n"
"      beyond the bounds), or no trusted key signed it and\n"
"      --allow-unsigned was not given.  A damaged key area or key table,\n"
"      or one of another image, is exit 4\n", prog);
}

/* One line on stdout: how far the seal vouches for the image. */
static void print_seal_verdict(const struct es_seal_summary *sum)
{
	if (sum->unreadable) {
		printf("seal: unreadable (see the errors) — not authenticated\n");
		return;
	}
	if (!sum->sealed) {
		printf("seal: none (the image is not sealed) — not authenticated\n");
		return;
	}
	printf("seal: %u of %u devices checked against their Merkle trees", sum->devices_checked,
	       sum->devices);
	if (!sum->signatures)
		printf("; the seal is unsigned");
	else if (!sum->signatures_checked)
		printf("; %u signature%s not checked", sum->signatures,
		       sum->signatures == 1 ? "" : "s");
	else
		printf("; %u of %u signatures by a trusted key", sum->signatures_trusted,
		       sum->signatures);
	if (sum->digest_pinned)
		printf("; the manifest digest is an --expect-digest one");
	if (sum->authenticated)
		printf(" — authenticated\n");
	else if (sum->signatures && !sum->anchored)
		printf(" — not authenticated (give --cert or --pubkey)\n");
	else
		printf(" — not authenticated\n");
}

static void report_cb(void *ctx, const char *msg)
{
	(void)ctx;
	fprintf(stderr, "%s: %s\n", prog, msg);
}

/*
 * -EKEYREJECTED / -ERANGE: no credential opened a slot, -EPERM: the
 * unsigned-image policy refused (EXIT_LOCKED, as dump's exit 3); the rest:
 * the key area or table is damaged or not this image's (EXIT_CORRUPT), or
 * an operational failure.
 */
static int unlock_exit_code(int ret)
{
	switch (ret) {
	case -EKEYREJECTED:
	case -ERANGE:
	case -ENOKEY:
	case -EPERM:
		return EXIT_LOCKED;
	case -EBADMSG:
	case -EXDEV:
	case -ES_ECORRUPT:
		return EXIT_CORRUPT;
	default:
		return EXIT_OPERATIONAL;
	}
}

static int usage_error(const char *msg)
{
	fprintf(stderr, "%s: %s\nTry '%s --help' for more information.\n", prog, msg, prog);
	return EXIT_USAGE;
}

enum { OPT_DEVICE = 256, OPT_EXTRACT, OPT_OVERWRITE, OPT_NO_OWNER, OPT_NO_PERMS,
       OPT_NO_XATTRS, OPT_BLOB_DIR, OPT_CERT, OPT_PUBKEY, OPT_EXPECT_DIGEST,
       OPT_UNLOCK, OPT_ALLOW_UNSIGNED, OPT_KEY_AREA, OPT_FORCE, OPT_PRESERVE,
       OPT_NO_PRESERVE, OPT_OWNER, OPT_PERMS, OPT_XATTRS, OPT_NID, OPT_PATH, OPT_QUIET };

/* erofs-utils 1.9 options this fsck.erofs does not have */
static const struct cli_unsupported unsupported[] = {
	{ "-p", "images are not compressed: there is no compression ratio" },
	{ "--offset", "give a loop device (losetup -o) for an image inside a file" },
	{ "--no-sbcrc", "the superblock checksum is always checked" },
	{ "--xattr-inode-digest", "a sealed image is checked against its Merkle trees "
	  "(erofs-verify)" },
	{ NULL, NULL },
};

static void warn_cb(void *ctx, const char *msg)
{
	(void)ctx;
	fprintf(stderr, "%s: warning: %s\n", prog, msg);
}

/*
 * --device arguments name the device table's devices in order.  On a
 * sealed image, one that fails its tree may be another device given in
 * the wrong place: it is found by its digest, as erofs-verify finds its
 * BLOB arguments, said, and put where it belongs.  Returns true when io
 * now has another order (the pipeline must run again).
 */
static bool reorder_devices(struct es_io *io, const struct es_verify_report *vr,
			    const struct cli_list *devices, unsigned int threads)
{
	const char *placed[CLI_LIST_MAX + 1] = { 0 };
	unsigned int target[CLI_LIST_MAX], last = devices->n;
	bool moved = false;

	if (!vr->seal)
		return false;
	for (unsigned int i = 0; i < devices->n; i++) {
		unsigned int dev = i + 1;
		struct es_err err = { 0 };
		int m;

		target[i] = dev;
		if (dev >= vr->ndevices || vr->devices[dev].state != ES_VERIFY_FAILED)
			continue;
		m = es_verify_match_blob(vr->seal, devices->items[i], threads, &err);
		if (m > 0 && (unsigned int)m != dev && m <= CLI_LIST_MAX) {
			char hex[65];

			es_hex(vr->seal->devices[m].digest, 32, hex);
			fprintf(stderr, "%s: device %u (%s) is blob %d (sha256:%s): wrong "
				"order? it is checked as device %d\n", prog, dev,
				devices->items[i], m, hex, m);
			target[i] = (unsigned int)m;
			moved = true;
		}
	}
	if (!moved)
		return false;
	for (unsigned int i = 0; i < devices->n; i++) {
		if (placed[target[i]]) {
			fprintf(stderr, "%s: two --device arguments are device %u: the order "
				"given is kept\n", prog, target[i]);
			return false;
		}
		placed[target[i]] = devices->items[i];
		if (target[i] > last)
			last = target[i];
	}
	for (unsigned int dev = 1; dev <= last; dev++) {
		struct es_err err = { 0 };

		if (es_io_file_set_device(io, dev, placed[dev], &err))
			fprintf(stderr, "%s: device %u: %s\n", prog, dev, err.msg);
	}
	return true;
}

/* Who the unlock trusted: the first trusted signer, or the pinned digest. */
static void print_unlocked(const struct es_verify_report *vr, const struct es_seal_summary *sum,
			   const struct es_unlock_report *ur)
{
	printf("contents: unlocked with keyslot %u (%s)", ur->slot,
	       es_keyslot_kind_name(ur->kind));
	for (unsigned int i = 0; vr->seal && vr->sigs && i < vr->seal->nsigs; i++) {
		if (vr->sigs[i].status == ES_SIG_TRUSTED) {
			char hex[17];

			es_hex(vr->seal->sigs[i].key_id, 8, hex);
			printf("; the image is signed by trusted key %s", hex);
			break;
		}
	}
	if (sum->digest_pinned)
		printf("; the manifest digest is a pinned one");
	if (!sum->authenticated)
		printf("; NOT authenticated (--allow-unsigned)");
	printf("\n");
}

/*
 * Extraction reads every blob anyway: instead of hashing each one whole
 * first, its blocks are checked against its tree as extraction reads
 * them (erofs/verified_read.h), and those it did not read afterwards.
 * Here each blob's stored tree is checked against the manifest, and the
 * report says what became of it; one that passed is counted as checked
 * (finish_blob_checks() says otherwise if a block fails).  Returns how
 * many blobs are checked on read, or a negative code (out of memory).
 */
static int defer_blob_checks(struct es_verify_report *vr, const struct es_io *io,
			     struct es_vread **out)
{
	struct es_vread *v = NULL;
	struct es_err err = { 0 };
	int added = 0, ret;

	*out = NULL;
	if (!vr->seal || vr->parse_status || !vr->devices || vr->ndevices < 2 || !vr->img)
		return 0;
	ret = es_vread_new(&v, io, vr->seal, &err);
	if (ret) {
		fprintf(stderr, "%s: %s\n", prog, err.msg);
		return ret;
	}
	for (unsigned int i = 1; i < vr->ndevices; i++) {
		struct es_verify_device *d = &vr->devices[i];

		es_err_clear(&err);
		ret = es_vread_add(v, i, &err);
		if (ret == -ENOMEM) {
			fprintf(stderr, "%s: %s\n", prog, err.msg);
			es_vread_free(v);
			return ret;
		}
		if (ret == -ENODEV)
			continue;	/* the source has no way to find it */
		es_err_clear(&d->err);
		d->state = !ret ? ES_VERIFY_VERIFIED : ret == -ENOENT ? ES_VERIFY_MISSING
			 : ES_VERIFY_FAILED;
		if (ret)
			es_err_copy(&d->err, &err);
		else
			added++;
	}
	if (!added) {
		es_vread_free(v);
		return 0;
	}
	/* the image (and each reader's fork of it) reads through the checks */
	es_vread_io(v, &vr->img->io);
	*out = v;
	return added;
}

/* Nothing was read: the verdict, without the blobs left to check on read. */
static void blobs_unchecked(struct es_vread **v, int added, struct es_seal_summary *sum)
{
	if (!*v)
		return;
	sum->devices_checked -= (unsigned int)added;
	sum->authenticated = false;
	print_seal_verdict(sum);
	es_vread_free(*v);
	*v = NULL;
}

/*
 * After the walk: the blocks no file read are checked, and a block that
 * failed on read or now makes the seal fail (sum, seal_ret).  ret: what the
 * walk returned; a failure of a block it had is taken out of it.  Returns
 * 0, or an operational failure (its message printed).
 */
static int finish_blob_checks(struct es_vread *v, int *ret, struct es_err *err,
			      unsigned int added, struct es_seal_summary *sum, int *seal_ret)
{
	struct es_err e = { 0 };
	int vret = es_vread_failure(v, &e);

	if (vret && *ret == vret) {
		/* the extraction stopped at it: said as the seal's failure, with
		   the file that read it */
		*ret = 0;
		es_err_copy(&e, err);
		es_err_clear(err);
	} else if (!vret && (!*ret || *ret == -ES_ECORRUPT)) {
		vret = es_vread_check_rest(v, &e);
	} else if (!vret) {
		/* the walk stopped early: the rest of the blobs was not checked */
		sum->devices_checked -= added;
		sum->authenticated = false;
		return 0;
	}
	if (vret && vret != -EBADMSG && vret != -ES_ECORRUPT) {
		fprintf(stderr, "%s: %s\n", prog, e.msg);
		return vret;
	}
	if (vret) {
		fprintf(stderr, "%s: seal: %s\n", prog, e.msg);
		sum->devices_checked--;
		sum->authenticated = false;
		sum->problems++;
		*seal_ret = -ES_ECORRUPT;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "quiet", no_argument, NULL, OPT_QUIET },
		{ "version", no_argument, NULL, 'V' },
		{ "device", required_argument, NULL, OPT_DEVICE },
		{ "extract", optional_argument, NULL, OPT_EXTRACT },
		{ "overwrite", no_argument, NULL, OPT_OVERWRITE },
		{ "force", no_argument, NULL, OPT_FORCE },
		{ "preserve", no_argument, NULL, OPT_PRESERVE },
		{ "no-preserve", no_argument, NULL, OPT_NO_PRESERVE },
		{ "preserve-owner", no_argument, NULL, OPT_OWNER },
		{ "preserve-perms", no_argument, NULL, OPT_PERMS },
		{ "no-preserve-owner", no_argument, NULL, OPT_NO_OWNER },
		{ "no-preserve-perms", no_argument, NULL, OPT_NO_PERMS },
		{ "xattrs", no_argument, NULL, OPT_XATTRS },
		{ "no-xattrs", no_argument, NULL, OPT_NO_XATTRS },
		{ "nid", required_argument, NULL, OPT_NID },
		{ "path", required_argument, NULL, OPT_PATH },
		{ "offset", required_argument, NULL, CLI_OPT_UNSUPPORTED },
		{ "no-sbcrc", no_argument, NULL, CLI_OPT_UNSUPPORTED },
		{ "xattr-inode-digest", no_argument, NULL, CLI_OPT_UNSUPPORTED },
		{ "blob-dir", required_argument, NULL, OPT_BLOB_DIR },
		{ "cert", required_argument, NULL, OPT_CERT },
		{ "pubkey", required_argument, NULL, OPT_PUBKEY },
		{ "expect-digest", required_argument, NULL, OPT_EXPECT_DIGEST },
		{ "workers", required_argument, NULL, 'j' },
		{ "threads", required_argument, NULL, 'j' },	/* the 0.x spelling */
		{ "unlock", required_argument, NULL, OPT_UNLOCK },
		{ "allow-unsigned", no_argument, NULL, OPT_ALLOW_UNSIGNED },
		{ "key-area", required_argument, NULL, OPT_KEY_AREA },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_list devices = { .n = 0 }, certs = { .n = 0 }, pubkeys = { .n = 0 };
	struct cli_list digests = { .n = 0 }, unlocks = { .n = 0 };
	struct es_unlock_opts uo = { 0 };
	struct es_unlock_report ur = { 0 };
	struct es_unlocked *unlocked = NULL;
	struct cli_prompt prompt_ctx = { .what = "the image" };
	struct es_passphrase_prompt prompt = { cli_prompt_passphrase, &prompt_ctx };
	bool anchored, locked = false;
	struct es_open_opts oo = { 0 };
	struct es_check_opts co;
	struct es_check_result res = { 0 };
	struct es_err err = { 0 };
	struct es_image *img;
	struct es_io io, file_io;
	struct es_verify_report vr = { 0 };
	struct es_verify_opts vo = { .check_devices = true, .open_image = true };
	struct cli_verify_progress vprogress = { .done = 0 };
	struct cli_progress xprogress;
	struct es_trust *trust = NULL;
	struct es_seal_summary sum, unlock_sum;
	struct es_vread *vread = NULL;
	int vread_added = 0;
	unsigned int threads = 0;
	const bool superuser = geteuid() == 0;
	bool force = false, preserve_given = false, quiet = false;
	bool owner = superuser, perms = superuser;
	const char *subtree_path = NULL;
	bool have_nid = false;
	char optname[64];
	mode_t mask;
	uint64_t v;
	int c, ret, seal_ret, refused = 0, longindex = 0;

	cli_protect_secrets();
	cli_set_prog_name(argv, prog);
	es_check_opts_init(&co);
	co.report = report_cb;
	co.warn = warn_cb;
	co.unprivileged = !superuser;
	mask = umask(0);
	umask(mask);
	co.umask = mask;
	cli_raise_fd_limit();
	while ((c = getopt_long(argc, argv, "hVj:aAyd:p", longopts, &longindex)) != -1) {
		switch (c) {
		case 'h':
			usage(stdout);
			return EXIT_OK;
		case 'V':
			printf("%s (erofs-seal) %s\n", prog, PACKAGE_VERSION);
			return EXIT_OK;
		case OPT_DEVICE:
			if (!cli_list_add(&devices, optarg))
				return usage_error("too many --device options");
			break;
		case OPT_EXTRACT:
			/* without DIR, as erofs-utils: read and check every file's
			   data too, extract nothing */
			if (optarg && !*optarg)
				return usage_error("empty value given for --extract=DIR");
			co.extract_dir = optarg;
			co.check_data = !optarg;
			break;
		case OPT_OVERWRITE:
			co.overwrite = true;
			break;
		case OPT_FORCE:
			force = true;
			break;
		case OPT_PRESERVE:
		case OPT_NO_PRESERVE:
			owner = perms = c == OPT_PRESERVE;
			preserve_given = true;
			break;
		case OPT_OWNER:
		case OPT_NO_OWNER:
			owner = c == OPT_OWNER;
			preserve_given = true;
			break;
		case OPT_PERMS:
		case OPT_NO_PERMS:
			perms = c == OPT_PERMS;
			preserve_given = true;
			break;
		case OPT_QUIET:
			quiet = true;
			break;
		case OPT_XATTRS:
		case OPT_NO_XATTRS:
			co.xattrs = c == OPT_XATTRS;
			break;
		case OPT_NID:
			if (!cli_parse_u64(optarg, UINT64_MAX, &v))
				return usage_error("invalid --nid");
			co.subtree_nid = v;
			have_nid = true;
			break;
		case OPT_PATH:
			subtree_path = optarg;
			break;
		case 'a':
		case 'A':
		case 'y':
			break;
		case 'd':
			if (!cli_parse_u64(optarg, 9, &v))
				return usage_error("-d takes a level from 0 to 9");
			break;
		case 'p':
			return cli_unsupported(prog, unsupported, "-p", EXIT_USAGE);
		case CLI_OPT_UNSUPPORTED:
			return cli_unsupported(prog, unsupported,
					       cli_long_name(longopts, longindex, optname,
							     sizeof(optname)), EXIT_USAGE);
		case OPT_BLOB_DIR: {
			char why[512];

			if (cli_blob_dir_problem(optarg, why, sizeof(why)))
				return usage_error(why);
			oo.blob_dir = optarg;
			break;
		}
		case OPT_CERT:
		case OPT_PUBKEY:
			if (!cli_list_add(c == OPT_CERT ? &certs : &pubkeys, optarg))
				return usage_error("too many trust anchors");
			break;
		case OPT_EXPECT_DIGEST:
			if (!cli_list_add(&digests, optarg))
				return usage_error("too many --expect-digest options");
			break;
		case OPT_UNLOCK:
			if (!cli_list_add(&unlocks, optarg))
				return usage_error("too many --unlock options");
			break;
		case OPT_ALLOW_UNSIGNED:
			uo.allow_unsigned = true;
			break;
		case OPT_KEY_AREA:
			uo.key_area_path = optarg;
			break;
		case 'j':
			if (!cli_parse_workers(optarg, &threads))
				return usage_error("invalid worker count (0: all cores)");
			break;
		default:
			fprintf(stderr, "Try '%s --help' for more information.\n", prog);
			return EXIT_USAGE;
		}
	}
	if (argc - optind != 1)
		return usage_error(argc - optind ? "too many arguments" : "no IMAGE given");
	if (co.extract_dir && !strcmp(co.extract_dir, "/") && !force)
		return usage_error("--extract=/ must be used together with --force");
	if (!co.extract_dir && (force || co.overwrite || preserve_given))
		return usage_error(force ? "--force goes with --extract=DIR" :
				   co.overwrite ? "--overwrite goes with --extract=DIR" :
				   "--[no-]preserve[-owner/-perms] go with --extract=DIR");
	if (have_nid && subtree_path)
		return usage_error("--nid and --path exclude each other");
	co.preserve_owner = owner;
	co.preserve_perms = perms;
	oo.device_paths = devices.items;
	oo.ndevice_paths = devices.n;
	trust = cli_trust_load(prog, &certs, &pubkeys, &digests, EXIT_USAGE, EXIT_OPERATIONAL,
			       &ret);
	if (!trust)
		return ret;
	anchored = es_trust_count(trust) || es_trust_manifest_digest_count(trust);
	ret = es_io_file_open_opts(&io, argv[optind], &oo, &err);
	if (ret) {
		fprintf(stderr, "%s: %s\n", prog, err.msg);
		es_trust_free(trust);
		return ret == -ES_ECORRUPT ? EXIT_CORRUPT : EXIT_OPERATIONAL;
	}
	/* the file source itself, for --device reordering; io closes it */
	file_io = io;
	file_io.close = NULL;
	if (!threads)
		threads = cli_default_threads();
	/*
	 * The trust pipeline first: with anchors, no EROFS structure is read
	 * from a filesystem region that did not match its seal.  Without
	 * anchors nothing is trusted, and everything is checked.
	 */
	vo.nthreads = threads;
	vo.parse_unverified = !anchored;
	/* blobs found by their digest are checked as extraction reads them */
	vo.defer_blobs = co.extract_dir && !devices.n;
	cli_progress_init(&vprogress.line, prog, "devices verified", quiet);
	if (vprogress.line.on) {
		vo.progress = cli_verify_progress_cb;
		vo.progress_ctx = &vprogress;
	}
	ret = es_verify_image(&io, anchored ? trust : NULL, &vo, &vr, &err);
	if (!ret && reorder_devices(&file_io, &vr, &devices, threads)) {
		es_verify_report_free(&vr);
		ret = es_verify_image(&io, anchored ? trust : NULL, &vo, &vr, &err);
	}
	cli_progress_end(&vprogress.line);
	img = vr.img;
	if (!ret && img)
		ret = es_image_check_device_paths(img, &oo, &err);
	if (!ret && vo.defer_blobs) {
		vread_added = defer_blob_checks(&vr, &io, &vread);
		if (vread_added < 0)
			goto operational;
	}
	if (ret) {
		fprintf(stderr, "%s: %s\n", prog, err.msg);
		goto operational;
	}
	seal_ret = es_check_seal(&vr, anchored, report_cb, NULL, &sum, &err);
	if (seal_ret && seal_ret != -ES_ECORRUPT) {
		fprintf(stderr, "%s: %s\n", prog, err.msg);
		goto operational;
	}
	if (!img && vr.image_status) {
		/* the EROFS structures cannot be read */
		fprintf(stderr, "%s: %s\n", prog, vr.image_err.msg);
		if (seal_ret) {
			fprintf(stderr, "%s: %s: %u problem%s found\n", prog, argv[optind],
				sum.problems + 1, sum.problems ? "s" : "");
			ret = EXIT_CORRUPT;
		} else {
			ret = vr.image_status == -ES_ECORRUPT ? EXIT_CORRUPT : EXIT_OPERATIONAL;
		}
		es_verify_report_free(&vr);
		es_io_close(&io);
		es_trust_free(trust);
		return ret;
	}
	if (!img && !seal_ret) {
		fprintf(stderr, "%s: internal error: the image was not read\n", prog);
		goto operational;
	}
	/* with blobs checked on read, the verdict is said once they were */
	if (!vread)
		print_seal_verdict(&sum);
	/* verify before transform: bytes that failed their tree are not
	   handed to a decompressor (they are reported, not decoded) */
	if (img && sum.sealed && seal_ret)
		img->decode_refused = true;
	if (img && es_image_encrypted(img) && seal_ret) {
		/* no key is used on an image whose seal failed: nothing to walk */
		locked = true;
		printf("contents: not checked — the image is encrypted and its seal failed\n");
	} else if (img && es_image_encrypted(img)) {
		if (!unlocks.n) {
			locked = true;
			printf("contents: not checked — the image is encrypted (give --unlock)\n");
		} else {
			uo.image_path = argv[optind];
			uo.specs = unlocks.items;
			uo.nspecs = unlocks.n;
			uo.prompt = &prompt;
			uo.authenticated = sum.authenticated;
			ret = es_image_unlock(img, vr.seal, &uo, &unlocked, &ur, &err);
			if (ret) {
				fprintf(stderr, "%s: %s\n", prog, err.msg);
				blobs_unchecked(&vread, vread_added, &sum);
				es_verify_report_free(&vr);
				es_io_close(&io);
				es_trust_free(trust);
				return unlock_exit_code(ret);
			}
			unlock_sum = sum;
			if (!vread)
				print_unlocked(&vr, &sum, &ur);
		}
	}
	fflush(stdout);
	if (co.extract_dir && locked) {
		fprintf(stderr, "%s: nothing is extracted to %s: the image is encrypted and "
			"no --unlock was given\n", prog, co.extract_dir);
		co.extract_dir = NULL;
		refused = -EACCES;
	}
	if (co.extract_dir) {
		/* the whole seal is judged before anything is written: an image
		 * that fails it leaves DIR as it was (not even created) */
		es_err_clear(&err);
		refused = es_seal_extract_gate(seal_ret, &sum, &err);
		if (refused) {
			fprintf(stderr, "%s: nothing is extracted to %s: %s\n", prog,
				co.extract_dir, err.msg);
			co.extract_dir = NULL;
		} else if (!sum.anchored) {
			fprintf(stderr, "%s: warning: the content extracted to %s is not "
				"authenticated (no --cert, --pubkey or --expect-digest given)\n", prog,
				co.extract_dir);
		}
	}
	es_err_clear(&err);
	ret = 0;
	if (img && !locked && (have_nid || subtree_path)) {
		ret = subtree_path ? es_lookup(img, subtree_path, &co.subtree_nid, &err) : 0;
		co.subtree = true;
	}
	if (ret == -ENOENT || ret == -ENOTDIR) {
		fprintf(stderr, "%s: %s\n", prog, err.msg);
		blobs_unchecked(&vread, vread_added, &sum);
		es_verify_report_free(&vr);
		es_unlocked_free(unlocked);
		es_io_close(&io);
		es_trust_free(trust);
		return EXIT_USAGE;
	}
	/* no image: its region did not match its seal, and anchors were given;
	   a locked image: its structures are ciphertext */
	cli_progress_init(&xprogress, prog, co.extract_dir ? "files extracted" : "files checked",
			  quiet);
	if (!ret && xprogress.on && img && !locked) {
		struct es_stats totals;

		/* a walk of the metadata only, for the totals */
		if (!es_image_stats(img, &totals, &err))
			cli_progress_total(&xprogress, totals.regular_files, totals.logical_bytes);
		co.progress = cli_check_progress_cb;
		co.progress_ctx = &xprogress;
	}
	co.nthreads = threads;
	co.unlocked = unlocked;
	/* bytes that passed their Merkle trees need not be read again */
	co.data_proven = sum.sealed && !seal_ret && sum.devices_checked == sum.devices;
	if (!ret)
		ret = img && !locked ? es_check(img, &co, &res, &err) : 0;
	cli_progress_end(&xprogress);
	if (vread) {
		if (finish_blob_checks(vread, &ret, &err, (unsigned int)vread_added, &sum,
				       &seal_ret))
			goto operational;
		print_seal_verdict(&sum);
		if (unlocked)
			print_unlocked(&vr, &unlock_sum, &ur);
		fflush(stdout);
	}
	es_verify_report_free(&vr);
	es_unlocked_free(unlocked);
	es_vread_free(vread);
	es_io_close(&io);
	es_trust_free(trust);
	if (ret && ret != -ES_ECORRUPT)
		fprintf(stderr, "%s: %s%s\n", prog, err.msg,
			err.code == -EEXIST && !co.overwrite ? "; use --overwrite" : "");
	/* a corrupt image explains operational failures that follow from it */
	if (seal_ret || ret == -ES_ECORRUPT) {
		unsigned long long problems = res.problems + sum.problems;

		if (ret == -ES_ECORRUPT && !res.problems)
			fprintf(stderr, "%s: %s\n", prog, err.msg);
		fprintf(stderr, "%s: %s: %llu problem%s found\n", prog, argv[optind],
			problems ? problems : 1, problems == 1 || !problems ? "" : "s");
		return EXIT_CORRUPT;
	}
	if (ret)
		return EXIT_OPERATIONAL;
	if (refused)
		return refused == -ES_ECORRUPT ? EXIT_CORRUPT : EXIT_OPERATIONAL;
	return EXIT_OK;
operational:
	es_verify_report_free(&vr);
	es_unlocked_free(unlocked);
	es_vread_free(vread);
	es_io_close(&io);
	es_trust_free(trust);
	return EXIT_OPERATIONAL;
}
