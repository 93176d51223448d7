// SPDX-License-Identifier: GPL-2.0-or-later
/* mkfs.erofs: build an EROFS image from a directory or a tar stream (front end
 * of libcore). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "config.h"
#include "erofs/build.h"
#include "erofs/domain.h"
#include "erofs/seal.h"
#include "erofs/sign.h"
#include <unistd.h>
#include "../progs/cli.h"
#include "../progs/progress.h"
#include "../progs/secrets.h"

#define EXIT_BUILD_FAILED 1
#define EXIT_USAGE 2
#define EXIT_SIGNAL_BASE 128

static const char *prog = "mkfs.erofs";

/* the signal that asked the build to stop; polled by the builder */
static volatile sig_atomic_t stop_signal;

static void usage(FILE *f)
{
	fprintf(f,
"Usage: %s [OPTIONS] IMAGE SOURCEDIR\n"
"       %s [OPTIONS] --tar[=f] IMAGE [TARFILE|-]\n"
"Build an EROFS image of SOURCEDIR, or of the tar archive TARFILE (standard\n"
"input when it is '-' or not given), into IMAGE.\n"
"\n"
"IMAGE is written under a temporary name and renamed into place only when\n"
"the build succeeds: a failed or interrupted build (SIGINT, SIGTERM, SIGHUP)\n"
"leaves no file behind and never changes an existing IMAGE.  An output\n"
"inside SOURCEDIR (IMAGE, the --blobdev file, the --blob-dir folder and their\n"
"temporary files) is left out of the image.  IMAGE and --blobdev may not\n"
"name each other, SOURCEDIR or a --chunk-dict image.  A rename cannot write\n"
"into a device, so IMAGE (and --blobdev FILE) must be a regular file or not\n"
"exist: a block device, a character device (even /dev/null), a FIFO or a\n"
"directory is refused before anything is built.  To put an image on a block\n"
"device, build a file and copy it (dd if=IMAGE of=DEVICE); a sealed image\n"
"must then fill the device exactly, as readers find the seal at the\n"
"device's end.\n"
"\n"
"Options:\n"
"  -b SIZE               block size; only 4096 is supported\n"
"  -L LABEL              volume label (at most 15 bytes)\n"
"  -T SECONDS            fixed build time; also every file's mtime unless\n"
"                        --mkfs-time is given (reproducible builds)\n"
"  --mkfs-time           apply -T to the superblock only, keep file mtimes\n"
"  -U UUID               volume UUID: 8-4-4-4-12 hex, 'clear' (all zero) or\n"
"                        'random' (the default)\n"
"  -x N                  share an xattr (name and value) in one place when\n"
"                        more than N inodes carry it (default 2); N < 0\n"
"                        leaves out all xattrs\n"
"  --all-root            make every file owned by uid 0, gid 0\n"
"  --force-uid=UID       make every file owned by UID\n"
"  --force-gid=GID       make every file's group GID\n"
"  --exclude-path=PATH   leave out PATH (relative to SOURCEDIR) and what is\n"
"                        below it; repeatable\n"
"  --exclude-regex=RE    leave out paths matching the POSIX extended regular\n"
"                        expression RE (matched against the path relative\n"
"                        to SOURCEDIR); repeatable\n"
"  --chunksize=BYTES     store regular files as chunks of BYTES (a power of\n"
"                        two, >= 4096); a chunk whose bytes are already in\n"
"                        the image is stored once (SHA-256), zero chunks and\n"
"                        holes take no space\n"
"  --blobdev=FILE        with --chunksize: put file data into FILE, a second\n"
"                        device named in the image's device table\n"
"  -z ALG[,LEVEL]        compress regular files: lz4, lz4hc[,1-12],\n"
"                        deflate[,1-12] or zstd[,1-22]; a file that does not\n"
"                        shrink by a block, and a cluster that does not,\n"
"                        stay uncompressed; equal clusters are stored once\n"
"                        (with a blob, in the blob)\n"
"  -C BYTES, --max-pcluster=BYTES\n"
"                        largest compressed cluster (a multiple of 4096 up\n"
"                        to 1 MiB; default 4096): larger ones compress\n"
"                        better, and a read decodes the whole cluster\n"
"\n"
"Tar input:\n"
"  --tar[=f]             read the tree from a tar archive (ustar, PAX or GNU;\n"
"                        plain, gzip, zstd or xz) in one pass, without\n"
"                        unpacking it: long names, xattrs, hard links, device\n"
"                        nodes, sparse files and numeric owners as stored.  A\n"
"                        later member of the same path replaces an earlier\n"
"                        one; a missing parent directory is made (0755, root,\n"
"                        the build time).  A leading '/' is dropped; a '..'\n"
"                        component, a hard link to no earlier member, a\n"
"                        damaged header or a truncated archive fail the build.\n"
"                        OCI whiteouts become overlayfs ones: .wh.NAME a 0/0\n"
"                        character device NAME, .wh..wh..opq the xattr\n"
"                        trusted.overlay.opaque=y on its directory, so images\n"
"                        of layers stack with mount -t overlay.  Only f (full\n"
"                        data) is supported.  --exclude-path/--exclude-regex\n"
"                        match member paths\n"
"  --aufs                with --tar: whiteouts become overlayfs ones (the\n"
"                        default here; erofs-utils needs it to convert)\n"
"  --keep-whiteouts      with --tar: keep .wh. names as they are\n"
"\n"
"Sealing (Merkle trees, signed manifest, blobs):\n"
"  --seal                append the seal: an fs-verity Merkle tree of the\n"
"                        filesystem and of every blob, a chunk index and a\n"
"                        manifest binding them (unsigned unless --sign-key)\n"
"  --sign-key=KEY.pem    sign the manifest (implies --seal); repeatable for\n"
"                        several signers.  RSA and ECDSA keys with a\n"
"                        certificate give CMS signatures, without one a plain\n"
"                        SHA-256 signature; Ed25519 keys a raw signature\n"
"  --sign-cert=CERT.pem  certificate of the --sign-key just before it\n"
"  --blob-dir=DIR        write file data into a blob in DIR named by its\n"
"                        fs-verity digest (implies --seal and, unless given,\n"
"                        --chunksize=4096); DIR is made if it does not exist\n"
"  --chunk-dict=IMAGE    reference chunks that already exist in the blobs of\n"
"                        the sealed IMAGE instead of storing them again;\n"
"                        repeatable; needs --blob-dir, which must hold all\n"
"                        of IMAGE's blobs.  IMAGE's seal is checked first,\n"
"                        a blob against its digest when first used, and a\n"
"                        chunk's bytes against the source's before use\n"
"  --repack-below=SIZE|PCT%%\n"
"                        keep chains of --chunk-dict images short: a blob\n"
"                        of the dictionaries from which this image would\n"
"                        read fewer chunk bytes than SIZE (bytes, or with a\n"
"                        K, M or G suffix: KiB, MiB, GiB), or less than PCT\n"
"                        percent (up to two decimals) of all the chunk bytes\n"
"                        the image references, is left out of its device\n"
"                        table: the chunks the image uses from it are copied\n"
"                        into the new blob.  With PCT%% the image keeps at\n"
"                        most 100/PCT old blobs\n"
"  --dict-cert=CERT.pem  accept only --chunk-dict images signed by the key\n"
"                        in CERT.pem; repeatable\n"
"  --dict-pubkey=KEY.pem accept only --chunk-dict images signed by the\n"
"                        public key KEY.pem; repeatable.  Without either, a\n"
"                        dictionary's signatures are not checked\n"
"  --fsverity-sigs       also write DIR/<digest>.sig, the signature `fsverity\n"
"                        sign` makes, for the new blob (first RSA/ECDSA signer)\n"
"  -j, --workers=N       threads that hash, encrypt, compress and seal (default,\n"
"                        and 0: all cores); the output is the same whatever N is\n"
"\n"
"Encryption (implies --seal; see erofs-key(1) for keyslots):\n"
"  --encrypt             encrypt every chunk with a key derived from the\n"
"                        domain key and the chunk's bytes (equal chunks of\n"
"                        one domain are equal ciphertext, so they dedup\n"
"                        across images), and every metadata block with a\n"
"                        random key of this image; every regular file is\n"
"                        chunk-based (--chunksize: default 4096, at most\n"
"                        1 MiB), its data never inline.  Needs --domain-key\n"
"                        and --keyslot; a --chunk-dict image must be an\n"
"                        encrypted one of the same domain\n"
"  --domain-key=FILE     the dedup domain's 32-byte key (erofs-key gen-domain)\n"
"  --keyslot=SPEC        a way to open the image; repeatable, at least one:\n"
"                        passphrase (asked on the terminal),\n"
"                        passphrase-file:FILE, keyfile:FILE,\n"
"                        recipient:PUB.pem (X25519 public key),\n"
"                        seed:FILE[:LABEL]\n"
"  --pbkdf-memory=KIB    Argon2id memory of passphrase slots (65536 to\n"
"                        4194304 and half the RAM; default: benchmarked)\n"
"  --pbkdf-iterations=N  Argon2id iterations (3 to 100; default: benchmarked)\n"
"  --pbkdf-parallel=N    Argon2id lanes (1 to 16; default: up to 4)\n"
"  --iter-time=MS        what the benchmark aims at per unlock (default 1000)\n"
"  --key-area=FILE       write the key area to FILE instead of into IMAGE\n"
"\n"
"  --quiet               print nothing but errors\n"
"  --all-time, --preserve-mtime, --clean[=data], -d N\n"
"                        accepted for erofs-utils: what they ask for is what\n"
"                        this mkfs.erofs does (-d: no effect)\n"
"  -h, --help            show this help\n"
"  -V, --version         show the version\n"
"\n"
"Options of erofs-utils that this mkfs.erofs does not have (compression\n"
"hints, metadata compression, -E extended options, tar index mode, OCI\n"
"input, ...) are refused by name.\n"
"\n"
"Files with holes are always stored chunk-based so that holes take no space.\n"
"Reproducible output needs -T (or SOURCE_DATE_EPOCH) and -U: the same tree\n"
"and options then give a byte-identical image.  With SOURCE_DATE_EPOCH set\n"
"and no -T, it is the build time and newer file mtimes are clamped to it.\n"
"\n"
"Exit status: 0 success, 1 the build failed (the message names the file),\n"
"2 usage error, 128+N stopped by signal N (130 SIGINT, 143 SIGTERM); a\n"
"second signal stops at once, without removing temporary files.\n", prog, prog);
}

static void warn_cb(void *ctx, const char *msg)
{
	(void)ctx;
	fprintf(stderr, "%s: warning: %s\n", prog, msg);
}

static void progress_cb(void *ctx, const struct es_build_stats *st)
{
	cli_progress_show(ctx, st->regular_files, st->logical_bytes, false);
}

/* "4.1 kB", "0.6 MB", "2.3 GB": sizes a person compares at a glance (SI units). */
static const char *human_size(uint64_t bytes, char *buf, size_t size)
{
	if (bytes < 1000000)
		snprintf(buf, size, "%.1f kB", (double)bytes / 1e3);
	else if (bytes < 1000000000)
		snprintf(buf, size, "%.1f MB", (double)bytes / 1e6);
	else
		snprintf(buf, size, "%.1f GB", (double)bytes / 1e9);
	return buf;
}

/*
 * What to publish, read back from the image just written, so that what is
 * printed is what is on disk: the blobs of the image other than its new
 * one (those its --chunk-dict images brought in, which must be published
 * with it), and the digest a verifier pins with erofs-verify
 * --expect-digest.
 */
static void print_release(const struct es_build_opts *o, const struct es_build_stats *st)
{
	char text[ES_MANIFEST_DIGEST_TEXT_SIZE], hex[65], sz[32];
	struct es_err err = { 0 };
	struct es_seal *s = NULL;
	uint8_t digest[32];
	struct es_io io;
	int ret = es_io_file_open(&io, o->image_path, NULL, &err);

	if (!ret) {
		ret = es_seal_read_io(&io, &s, &err);
		if (!ret)
			ret = es_seal_manifest_digest(s, digest, &err);
		es_io_close(&io);
	}
	if (ret) {
		fprintf(stderr, "%s: warning: cannot read the manifest digest back: %s\n",
			prog, err.msg[0] ? err.msg : strerror(-ret));
	} else {
		for (unsigned int i = 1; o->blob_dir && i < s->ndevices; i++) {
			es_hex(s->devices[i].digest, 32, hex);
			if (!strcmp(hex, st->blob_name))
				continue;
			printf("%s: also publish %s/%s, %s (a --chunk-dict image's blob "
			       "this image reads)\n", prog, o->blob_dir, hex,
			       human_size(s->devices[i].size, sz, sizeof(sz)));
		}
		es_manifest_digest_format(digest, text);
		printf("%s: manifest digest %s (pin it with erofs-verify "
		       "--expect-digest)\n", prog, text);
	}
	es_seal_free(s);
}

static int parse_uuid(const char *s, struct es_build_opts *o)
{
	unsigned int k = 0;

	if (!strcmp(s, "random"))
		return 0;
	o->have_uuid = true;
	if (!strcmp(s, "clear")) {
		memset(o->uuid, 0, 16);
		return 0;
	}
	if (strlen(s) != 36)
		return -1;
	for (unsigned int i = 0; i < 36; i++) {
		int v;

		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return -1;
			continue;
		}
		if (s[i] >= '0' && s[i] <= '9')
			v = s[i] - '0';
		else if (s[i] >= 'a' && s[i] <= 'f')
			v = s[i] - 'a' + 10;
		else if (s[i] >= 'A' && s[i] <= 'F')
			v = s[i] - 'A' + 10;
		else
			return -1;
		if (k % 2 == 0)
			o->uuid[k / 2] = (uint8_t)(v << 4);
		else
			o->uuid[k / 2] |= (uint8_t)v;
		k++;
	}
	return 0;
}

/*
 * --repack-below: "PCT%" (up to two decimals, 0 < PCT <= 100) into
 * hundredths of a percent, or a size: digits and an optional K, M or G
 * (binary multiples).
 */
static int parse_repack_below(const char *s, struct es_build_opts *o)
{
	size_t len = strlen(s), digits = strspn(s, "0123456789");
	uint64_t v = 0;

	if (!digits || digits > 12)
		return -1;
	for (size_t i = 0; i < digits; i++)
		v = v * 10 + (uint64_t)(s[i] - '0');
	if (len && s[len - 1] == '%') {
		uint64_t bp = v * 100;
		size_t i = digits;

		if (s[i] == '.') {
			size_t frac = strspn(s + i + 1, "0123456789");

			if (!frac || frac > 2)
				return -1;
			bp += (uint64_t)(s[i + 1] - '0') * 10 +
			      (frac == 2 ? (uint64_t)(s[i + 2] - '0') : 0);
			i += 1 + frac;
		}
		if (i != len - 1 || !bp || bp > 10000)
			return -1;
		o->repack_below_bp = (uint32_t)bp;
		o->repack_below = 0;
		return 0;
	}
	if (digits + 1 == len) {
		unsigned int shift = s[digits] == 'K' ? 10 : s[digits] == 'M' ? 20 :
				     s[digits] == 'G' ? 30 : 0;

		if (!shift || v > (UINT64_MAX >> shift))
			return -1;
		v <<= shift;
	} else if (digits != len) {
		return -1;
	}
	if (!v)
		return -1;
	o->repack_below = v;
	o->repack_below_bp = 0;
	return 0;
}

static void on_stop_signal(int sig)
{
	stop_signal = sig;
}

/*
 * The first SIGINT, SIGTERM or SIGHUP asks the builder to stop: it unwinds
 * through its failure path, which removes the temporary files.  The handler
 * is then reset, so that a second signal ends a build that does not stop.
 * A signal the caller ignores (nohup, a background job) stays ignored.
 */
static void catch_stop_signals(void)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop_signal;
	sa.sa_flags = SA_RESTART | SA_RESETHAND;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		struct sigaction old;

		if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN)
			continue;
		sigaction(sigs[i], &sa, NULL);
	}
}

/* fmt is always a literal, with at least one argument */
#define usage_error(fmt, ...) \
	(fprintf(stderr, "%s: " fmt "\nTry '%s --help' for more information.\n", \
		 prog, __VA_ARGS__, prog), EXIT_USAGE)

/*
 * " (see --blobdev, --chunksize)": the options es_build_opts_check() found
 * at fault, by the names they have here, in the order a sentence about
 * them names them ("the first needs the second").
 */
static void option_hint(unsigned int culprits, char *out, size_t size)
{
	static const struct { unsigned int bit; const char *name; } names[] = {
		{ ES_BUILD_OPT_BLKSZBITS, "-b" },
		{ ES_BUILD_OPT_VOLUME_LABEL, "-L" },
		{ ES_BUILD_OPT_EXCLUDE_REGEXES, "--exclude-regex" },
		{ ES_BUILD_OPT_DICT_TRUST, "--dict-cert/--dict-pubkey" },
		{ ES_BUILD_OPT_FSVERITY_SIGS, "--fsverity-sigs" },
		{ ES_BUILD_OPT_REPACK, "--repack-below" },
		{ ES_BUILD_OPT_CHUNK_DICTS, "--chunk-dict" },
		{ ES_BUILD_OPT_BLOBDEV, "--blobdev" },
		{ ES_BUILD_OPT_BLOB_DIR, "--blob-dir" },
		{ ES_BUILD_OPT_SIGNERS, "--sign-key" },
		{ ES_BUILD_OPT_CHUNKSIZE, "--chunksize" },
		{ ES_BUILD_OPT_ENCRYPT, "--encrypt/--domain-key" },
		{ ES_BUILD_OPT_KEYSLOTS, "--keyslot" },
		{ ES_BUILD_OPT_KEY_AREA, "--key-area" },
		{ ES_BUILD_OPT_COMPRESS, "-z" },
		{ ES_BUILD_OPT_MAX_PCLUSTER, "-C" },
		{ ES_BUILD_OPT_TAR, "--tar" },
	};
	size_t len = 0;

	out[0] = '\0';
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]) && len < size; i++) {
		if (!(culprits & names[i].bit))
			continue;
		len += (size_t)snprintf(out + len, size - len, "%s%s", len ? ", " : " (see ",
					names[i].name);
	}
	if (len && len < size)
		snprintf(out + len, size - len, ")");
}

enum {
	OPT_ALL_ROOT = 256, OPT_FORCE_UID, OPT_FORCE_GID, OPT_EXCLUDE_PATH,
	OPT_EXCLUDE_REGEX, OPT_CHUNKSIZE, OPT_BLOBDEV, OPT_QUIET, OPT_MKFS_TIME,
	OPT_SEAL, OPT_SIGN_KEY, OPT_SIGN_CERT, OPT_BLOB_DIR, OPT_CHUNK_DICT,
	OPT_FSVERITY_SIGS, OPT_DICT_CERT, OPT_DICT_PUBKEY, OPT_ENCRYPT, OPT_DOMAIN_KEY,
	OPT_KEYSLOT, OPT_KEY_AREA, OPT_PBKDF_MEMORY, OPT_PBKDF_ITERATIONS, OPT_PBKDF_PARALLEL,
	OPT_ITER_TIME, OPT_NOOP, OPT_CLEAN, OPT_MAX_PCLUSTER, OPT_REPACK_BELOW, OPT_TAR, OPT_AUFS,
	OPT_KEEP_WHITEOUTS,
};

#define NOT_COMPRESSED "compression is -z ALG[,LEVEL] and -C BYTES only"
#define NO_TAR "--tar reads plain, gzip, zstd and xz archives itself"

/* erofs-utils 1.9 options this mkfs.erofs does not have */
static const struct cli_unsupported unsupported[] = {
	{ "-m", "metadata is not compressed" },
	{ "--max-extent-bytes", NOT_COMPRESSED },
	{ "--compress-hints", NOT_COMPRESSED },
	{ "--zfeature-bits", NOT_COMPRESSED },
	{ "--zD", NOT_COMPRESSED },
	{ "--MZ", NOT_COMPRESSED },
	{ "-E dedupe", "chunk dedup is --chunksize" },
	{ "-E fragments", "compressed files keep their tails (no fragments)" },
	{ "-E all-fragments", "compressed files keep their tails (no fragments)" },
	{ "-E ztailpacking", "compressed files keep their tails (no ztailpacking)" },
	{ "-E legacy-compress", NOT_COMPRESSED },
	{ "--tar=i", "only --tar=f: the image holds the file data" },
	{ "--tar=headerball", "only --tar=f: the image holds the file data" },
	{ "--ovlfs-strip", NO_TAR },
	{ "--gzip", NO_TAR },
	{ "--ungzip", NO_TAR },
	{ "--gzinfo", NO_TAR },
	{ "--unlzma", NO_TAR },
	{ "--unxz", NO_TAR },
	{ "--oci", NO_TAR },
	{ "--s3", NO_TAR },
	{ "--incremental", "every build is a clean one; share data between images with "
	  "--blob-dir and --chunk-dict" },
	{ "--clean=rvsp", "every build writes its data (--clean=data)" },
	{ "--clean=0", "every build writes its data (--clean=data)" },
	{ "--ignore-mtime", "every file keeps its mtime (set them all with -T)" },
	{ "--uid-offset", "use --force-uid" },
	{ "--gid-offset", "use --force-gid" },
	{ "--file-contexts", NULL },
	{ "--mount-point", NULL },
	{ "--product-out", NULL },
	{ "--fs-config-file", NULL },
	{ "--offset", "build a file and copy it (dd seek=) to where it belongs" },
	{ NULL, NULL },
};

/* -E a,b,...: each extended option is refused by name */
static int unsupported_extended(const char *arg)
{
	const char *name = arg[0] == '^' ? arg + 1 : arg;	/* "^x": turn x off */
	size_t len = strcspn(name, ",");
	char opt[128];

	snprintf(opt, sizeof(opt), "-E %.*s", (int)(len > 100 ? 100 : len), name);
	return cli_unsupported(prog, unsupported, opt, EXIT_USAGE);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "all-root", no_argument, NULL, OPT_ALL_ROOT },
		{ "force-uid", required_argument, NULL, OPT_FORCE_UID },
		{ "force-gid", required_argument, NULL, OPT_FORCE_GID },
		{ "exclude-path", required_argument, NULL, OPT_EXCLUDE_PATH },
		{ "exclude-regex", required_argument, NULL, OPT_EXCLUDE_REGEX },
		{ "chunksize", required_argument, NULL, OPT_CHUNKSIZE },
		{ "blobdev", required_argument, NULL, OPT_BLOBDEV },
		{ "quiet", no_argument, NULL, OPT_QUIET },
		{ "mkfs-time", no_argument, NULL, OPT_MKFS_TIME },
		{ "seal", no_argument, NULL, OPT_SEAL },
		{ "sign-key", required_argument, NULL, OPT_SIGN_KEY },
		{ "sign-cert", required_argument, NULL, OPT_SIGN_CERT },
		{ "blob-dir", required_argument, NULL, OPT_BLOB_DIR },
		{ "chunk-dict", required_argument, NULL, OPT_CHUNK_DICT },
		{ "repack-below", required_argument, NULL, OPT_REPACK_BELOW },
		{ "fsverity-sigs", no_argument, NULL, OPT_FSVERITY_SIGS },
		{ "dict-cert", required_argument, NULL, OPT_DICT_CERT },
		{ "dict-pubkey", required_argument, NULL, OPT_DICT_PUBKEY },
		{ "workers", required_argument, NULL, 'j' },
		{ "encrypt", no_argument, NULL, OPT_ENCRYPT },
		{ "domain-key", required_argument, NULL, OPT_DOMAIN_KEY },
		{ "keyslot", required_argument, NULL, OPT_KEYSLOT },
		{ "key-area", required_argument, NULL, OPT_KEY_AREA },
		{ "pbkdf-memory", required_argument, NULL, OPT_PBKDF_MEMORY },
		{ "pbkdf-iterations", required_argument, NULL, OPT_PBKDF_ITERATIONS },
		{ "pbkdf-parallel", required_argument, NULL, OPT_PBKDF_PARALLEL },
		{ "iter-time", required_argument, NULL, OPT_ITER_TIME },
		{ "max-pcluster", required_argument, NULL, OPT_MAX_PCLUSTER },
		{ "all-time", no_argument, NULL, OPT_NOOP },
		{ "preserve-mtime", no_argument, NULL, OPT_NOOP },
		{ "clean", optional_argument, NULL, OPT_CLEAN },
		{ "max-extent-bytes", required_argument, NULL, CLI_OPT_UNSUPPORTED },
		{ "compress-hints", required_argument, NULL, CLI_OPT_UNSUPPORTED },
		{ "zfeature-bits", required_argument, NULL, CLI_OPT_UNSUPPORTED },
		{ "zD", optional_argument, NULL, CLI_OPT_UNSUPPORTED },
		{ "MZ", optional_argument, NULL, CLI_OPT_UNSUPPORTED },
		{ "tar", optional_argument, NULL, OPT_TAR },
		{ "aufs", no_argument, NULL, OPT_AUFS },
		{ "keep-whiteouts", no_argument, NULL, OPT_KEEP_WHITEOUTS },
		{ "ovlfs-strip", optional_argument, NULL, CLI_OPT_UNSUPPORTED },
		{ "gzip", no_argument, NULL, CLI_OPT_UNSUPPORTED },
		{ "ungzip", optional_argument, NULL, CLI_OPT_UNSUPPORTED },
		{ "gzinfo", optional_argument, NULL, CLI_OPT_UNSUPPORTED },
		{ "unlzma", optional_argument, NULL, CLI_OPT_UNSUPPORTED },
		{ "unxz", optional_argument, NULL, CLI_OPT_UNSUPPORTED },
		{ "oci", optional_argument, NULL, CLI_OPT_UNSUPPORTED },
		{ "s3", required_argument, NULL, CLI_OPT_UNSUPPORTED },
		{ "incremental", optional_argument, NULL, CLI_OPT_UNSUPPORTED },
		{ "ignore-mtime", no_argument, NULL, CLI_OPT_UNSUPPORTED },
		{ "uid-offset", required_argument, NULL, CLI_OPT_UNSUPPORTED },
		{ "gid-offset", required_argument, NULL, CLI_OPT_UNSUPPORTED },
		{ "file-contexts", required_argument, NULL, CLI_OPT_UNSUPPORTED },
		{ "mount-point", required_argument, NULL, CLI_OPT_UNSUPPORTED },
		{ "product-out", required_argument, NULL, CLI_OPT_UNSUPPORTED },
		{ "fs-config-file", required_argument, NULL, CLI_OPT_UNSUPPORTED },
		{ "offset", required_argument, NULL, CLI_OPT_UNSUPPORTED },
		{ "root-xattr-isize", required_argument, NULL, CLI_OPT_UNSUPPORTED },
		{ "sort", required_argument, NULL, CLI_OPT_UNSUPPORTED },
		{ "hard-dereference", no_argument, NULL, CLI_OPT_UNSUPPORTED },
		{ "dsunit", required_argument, NULL, CLI_OPT_UNSUPPORTED },
		{ "async-queue-limit", required_argument, NULL, CLI_OPT_UNSUPPORTED },
		{ "fsalignblks", required_argument, NULL, CLI_OPT_UNSUPPORTED },
		{ "vmdk-desc", required_argument, NULL, CLI_OPT_UNSUPPORTED },
		{ "xattr-prefix", required_argument, NULL, CLI_OPT_UNSUPPORTED },
		{ "xattr-inode-digest", optional_argument, NULL, CLI_OPT_UNSUPPORTED },
		{ "random-pclusterblks", no_argument, NULL, CLI_OPT_UNSUPPORTED },
		{ "random-algorithms", no_argument, NULL, CLI_OPT_UNSUPPORTED },
		{ NULL, 0, NULL, 0 },
	};
	static struct cli_list excl_paths, excl_res, dicts, key_paths;
	static struct cli_list dict_certs, dict_pubkeys, keyslots;
	static uint8_t domain_key[32];
	const char *domain_key_path = NULL;
	struct es_trust *dict_trust = NULL;
	static const char *cert_paths[CLI_LIST_MAX];
	static struct es_signer *signers[CLI_LIST_MAX];
	unsigned int nkeys = 0;
	struct es_build_opts o;
	struct es_build_stats st;
	struct es_err err = { 0 };
	bool quiet = false, tar = false, aufs = false;
	struct cli_progress progress;
	uint64_t v;
	int64_t sv;
	int c, ret, longindex = 0;
	char optname[64];

	static struct cli_prompt prompt_ctx = { .what = "the new keyslot" };
	static struct es_passphrase_prompt prompt = { cli_prompt_passphrase, &prompt_ctx };

	cli_protect_secrets();
	es_build_opts_init(&o);
	o.warn = warn_cb;
	o.prompt = &prompt;
	cli_set_prog_name(argv, prog);
	while ((c = getopt_long(argc, argv, "hVb:L:T:U:x:j:d:E:z:C:m:", longopts,
				&longindex)) != -1) {
		switch (c) {
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("%s (erofs-seal) %s\n", prog, PACKAGE_VERSION);
			return 0;
		case 'b':
			if (!cli_parse_u64(optarg, 1u << 20, &v))
				return usage_error("invalid block size '%s'", optarg);
			if (v != 4096)
				return usage_error("block size %s is not supported: "
						   "only 4096", optarg);
			break;
		case 'L':
			o.volume_label = optarg;
			break;
		case 'z':
			if (es_compr_parse(optarg, &o.compress, &o.compress_level, &err))
				return usage_error("-z: %s", err.msg);
			break;
		case 'C':
		case OPT_MAX_PCLUSTER:
			if (!cli_parse_u64(optarg, UINT32_MAX, &v) || !v)
				return usage_error("invalid pcluster size '%s'", optarg);
			o.max_pcluster = (uint32_t)v;
			break;
		case 'T':
			if (!cli_parse_s64(optarg, &sv))
				return usage_error("invalid timestamp '%s'", optarg);
			o.have_timestamp = true;
			o.timestamp = sv;
			break;
		case OPT_MKFS_TIME:
			o.timestamp_sb_only = true;
			break;
		case 'U':
			if (parse_uuid(optarg, &o))
				return usage_error("invalid UUID '%s'", optarg);
			break;
		case 'x':
			if (!cli_parse_s64(optarg, &sv) || sv > 1000000 || sv < -1000000)
				return usage_error("invalid -x value '%s'", optarg);
			o.xattr_share_threshold = (int)sv;
			break;
		case OPT_ALL_ROOT:
			o.all_root = true;
			break;
		case OPT_FORCE_UID:
			if (!cli_parse_u64(optarg, UINT32_MAX, &v))
				return usage_error("invalid uid '%s'", optarg);
			o.force_uid = (int64_t)v;
			break;
		case OPT_FORCE_GID:
			if (!cli_parse_u64(optarg, UINT32_MAX, &v))
				return usage_error("invalid gid '%s'", optarg);
			o.force_gid = (int64_t)v;
			break;
		case OPT_EXCLUDE_PATH:
			if (!cli_list_add(&excl_paths, optarg))
				return usage_error("%s", "too many --exclude-path");
			break;
		case OPT_EXCLUDE_REGEX:
			if (!cli_list_add(&excl_res, optarg))
				return usage_error("%s", "too many --exclude-regex");
			break;
		case OPT_CHUNKSIZE:
			if (!cli_parse_u64(optarg, UINT64_MAX, &v) || !v)
				return usage_error("invalid chunk size '%s': a power of two "
						   "from 4096 up", optarg);
			o.chunksize = v;
			break;
		case OPT_BLOBDEV:
			o.blobdev_path = optarg;
			break;
		case OPT_QUIET:
			quiet = true;
			break;
		case OPT_SEAL:
			o.seal = true;
			break;
		case OPT_SIGN_KEY:
			if (!cli_list_add(&key_paths, optarg))
				return usage_error("%s", "too many --sign-key");
			nkeys = key_paths.n;
			break;
		case OPT_SIGN_CERT:
			if (!nkeys || cert_paths[nkeys - 1])
				return usage_error("%s", "--sign-cert must follow its --sign-key");
			cert_paths[nkeys - 1] = optarg;
			break;
		case OPT_BLOB_DIR:
			o.blob_dir = optarg;
			break;
		case OPT_CHUNK_DICT:
			if (!cli_list_add(&dicts, optarg))
				return usage_error("%s", "too many --chunk-dict");
			break;
		case OPT_REPACK_BELOW:
			if (parse_repack_below(optarg, &o))
				return usage_error("invalid --repack-below '%s': a size in bytes "
						   "(K, M, G suffixes) or a percentage such as "
						   "5%% (above 0, at most 100)", optarg);
			break;
		case OPT_FSVERITY_SIGS:
			o.fsverity_sigs = true;
			break;
		case OPT_DICT_CERT:
		case OPT_DICT_PUBKEY:
			if (!cli_list_add(c == OPT_DICT_CERT ? &dict_certs : &dict_pubkeys,
					  optarg))
				return usage_error("%s", "too many --dict-cert/--dict-pubkey");
			break;
		case OPT_ENCRYPT:
			o.encrypt = true;
			break;
		case OPT_DOMAIN_KEY:
			domain_key_path = optarg;
			break;
		case OPT_KEYSLOT:
			if (!cli_list_add(&keyslots, optarg))
				return usage_error("%s", "too many --keyslot");
			break;
		case OPT_KEY_AREA:
			o.key_area_path = optarg;
			break;
		case OPT_PBKDF_MEMORY:
		case OPT_PBKDF_ITERATIONS:
		case OPT_PBKDF_PARALLEL:
		case OPT_ITER_TIME: {
			uint32_t *field = c == OPT_PBKDF_MEMORY ? &o.pbkdf.m_cost_kib :
					  c == OPT_PBKDF_ITERATIONS ? &o.pbkdf.t_cost :
					  c == OPT_PBKDF_PARALLEL ? &o.pbkdf.lanes :
					  &o.pbkdf.target_ms;

			/* the library checks the ranges, against the same bounds as
			   erofs-key's */
			if (!cli_parse_u64(optarg, UINT32_MAX, &v) || !v)
				return usage_error("invalid Argon2id cost '%s'", optarg);
			*field = (uint32_t)v;
			break;
		}
		case 'j':
			if (!cli_parse_workers(optarg, &o.nthreads))
				return usage_error("invalid worker count '%s' (0: all cores)", optarg);
			break;
		case 'd':
			if (!cli_parse_u64(optarg, 9, &v))
				return usage_error("-d takes a level from 0 to 9, not '%s'", optarg);
			break;
		case OPT_NOOP:
			break;
		case OPT_TAR:
			if (optarg && strcmp(optarg, "f")) {
				snprintf(optname, sizeof(optname), "--tar=%.40s", optarg);
				return cli_unsupported(prog, unsupported, optname, EXIT_USAGE);
			}
			tar = true;
			break;
		case OPT_AUFS:
			aufs = true;
			break;
		case OPT_KEEP_WHITEOUTS:
			o.tar_keep_whiteouts = true;
			break;
		case OPT_CLEAN:
			if (optarg && strcmp(optarg, "data")) {
				snprintf(optname, sizeof(optname), "--clean=%.40s", optarg);
				return cli_unsupported(prog, unsupported, optname, EXIT_USAGE);
			}
			break;
		case 'E':
			return unsupported_extended(optarg);
		case 'm':
			snprintf(optname, sizeof(optname), "-%c", c);
			return cli_unsupported(prog, unsupported, optname, EXIT_USAGE);
		case CLI_OPT_UNSUPPORTED:
			return cli_unsupported(prog, unsupported,
					       cli_long_name(longopts, longindex, optname,
							     sizeof(optname)), EXIT_USAGE);
		default:
			fprintf(stderr, "Try '%s --help' for more information.\n", prog);
			return EXIT_USAGE;
		}
	}
	if ((aufs || o.tar_keep_whiteouts) && !tar)
		return usage_error("%s", aufs ? "--aufs needs --tar" :
				   "--keep-whiteouts needs --tar");
	if (aufs && o.tar_keep_whiteouts)
		return usage_error("%s", "--aufs converts whiteouts, --keep-whiteouts keeps "
				   "them: not both");
	if (tar) {
		if (argc - optind < 1 || argc - optind > 2)
			return usage_error("%s", argc - optind < 1 ?
					   "an IMAGE is needed (and a TARFILE, or '-')" :
					   "too many arguments");
		if (argc - optind == 1 || !strcmp(argv[optind + 1], "-")) {
			o.tar_use_fd = true;
			o.tar_fd = STDIN_FILENO;
			o.tar_path = "standard input";
		} else {
			o.tar_path = argv[optind + 1];
		}
	} else {
		if (argc - optind != 2)
			return usage_error("%s", argc - optind < 2 ?
					   "an IMAGE and a SOURCEDIR are needed" :
					   "too many arguments");
		o.source_dir = argv[optind + 1];
	}
	o.image_path = argv[optind];
	o.exclude_paths = excl_paths.items;
	o.nexclude_paths = excl_paths.n;
	o.exclude_regexes = excl_res.items;
	o.nexclude_regexes = excl_res.n;
	o.nchunk_dicts = dicts.n;
	if (!o.have_timestamp) {
		const char *sde = getenv("SOURCE_DATE_EPOCH");

		if (sde && *sde) {
			if (!cli_parse_s64(sde, &sv))
				return usage_error("invalid SOURCE_DATE_EPOCH '%s'", sde);
			o.have_timestamp = true;
			o.timestamp = sv;
			o.timestamp_sb_only = true;
			o.clamp_mtimes = true;
		}
	}
	o.chunk_dicts = dicts.items;
	o.keyslots = keyslots.items;
	o.nkeyslots = keyslots.n;
	if (domain_key_path && !o.encrypt)
		return usage_error("%s", "--domain-key needs --encrypt");
	if (o.encrypt && !domain_key_path)
		return usage_error("%s", "--encrypt needs --domain-key");
	if (o.encrypt)
		o.domain_key = domain_key;	/* loaded once the options are known good */
	if (!o.nthreads)
		o.nthreads = cli_default_threads();
	o.signers = signers;		/* loaded once the options are known good */
	o.nsigners = nkeys;
	if (dict_certs.n || dict_pubkeys.n) {
		dict_trust = es_trust_from_files(dict_certs.items, dict_certs.n,
						 dict_pubkeys.items, dict_pubkeys.n, &err);
		if (!dict_trust) {
			fprintf(stderr, "%s: %s\n", prog, err.msg);
			return EXIT_BUILD_FAILED;
		}
		o.dict_trust = dict_trust;
	}
	{
		unsigned int culprits;
		char hint[200];

		if (es_build_opts_check(&o, &culprits, &err)) {
			es_trust_free(dict_trust);
			option_hint(culprits, hint, sizeof(hint));
			return usage_error("%s%s", err.msg, hint);
		}
	}
	if (domain_key_path && es_domain_key_load(domain_key_path, domain_key, &err)) {
		fprintf(stderr, "%s: %s\n", prog, err.msg);
		es_trust_free(dict_trust);
		return EXIT_BUILD_FAILED;
	}
	for (unsigned int i = 0; i < nkeys; i++) {
		if (es_signer_load(&signers[i], key_paths.items[i], cert_paths[i], &err)) {
			fprintf(stderr, "%s: %s\n", prog, err.msg);
			while (i--)
				es_signer_free(signers[i]);
			es_trust_free(dict_trust);
			return EXIT_BUILD_FAILED;
		}
	}
	/*
	 * A --blob-dir that does not exist is made (its parent must): the
	 * first release of a series starts with an empty folder.
	 */
	if (o.blob_dir && mkdir(o.blob_dir, 0755) == 0) {
		if (!quiet)
			printf("%s: created the blob folder %s\n", prog, o.blob_dir);
	} else if (o.blob_dir && errno != EEXIST) {
		fprintf(stderr, "%s: cannot create the blob folder %s: %s\n", prog, o.blob_dir,
			strerror(errno));
		for (unsigned int i = 0; i < nkeys; i++)
			es_signer_free(signers[i]);
		es_trust_free(dict_trust);
		return EXIT_BUILD_FAILED;
	}
	cli_progress_init(&progress, prog, "files", quiet);
	if (progress.on) {
		uint64_t files, bytes;

		if (o.source_dir) {
			cli_tree_totals(o.source_dir, &files, &bytes);
			cli_progress_total(&progress, files, bytes);
		}
		o.progress = progress_cb;
		o.progress_ctx = &progress;
	}
	cli_raise_fd_limit();	/* every --chunk-dict blob stays open */
	catch_stop_signals();
	o.cancel = &stop_signal;
	ret = es_build(&o, &st, &err);
	explicit_bzero(domain_key, sizeof(domain_key));
	cli_progress_end(&progress);
	for (unsigned int i = 0; i < nkeys; i++)
		es_signer_free(signers[i]);
	es_trust_free(dict_trust);
	if (ret == -ECANCELED && stop_signal) {
		fprintf(stderr, "%s: %s (%s)\n", prog, err.msg, strsignal(stop_signal));
		return EXIT_SIGNAL_BASE + stop_signal;
	}
	if (ret) {
		fprintf(stderr, "%s: %s\n", prog, err.msg[0] ? err.msg : strerror(-ret));
		return EXIT_BUILD_FAILED;
	}
	if (!quiet) {
		printf("%s: %s: %llu inodes (%llu files, %llu directories), "
		       "%llu bytes of file data stored in %llu bytes\n", prog, o.image_path,
		       (unsigned long long)st.inodes, (unsigned long long)st.regular_files,
		       (unsigned long long)st.directories,
		       (unsigned long long)st.logical_bytes,
		       (unsigned long long)st.stored_data_bytes);
		if (st.chunks)
			printf("%s: chunks: %llu, stored %llu, deduplicated %llu, holes %llu\n",
			       prog, (unsigned long long)st.chunks,
			       (unsigned long long)st.chunks_stored,
			       (unsigned long long)st.chunks_deduped,
			       (unsigned long long)st.chunks_holes);
		if (st.compressed_files)
			printf("%s: compressed: %llu files, %llu bytes in %llu blocks (%.1f%%), "
			       "pclusters: %llu, stored %llu, deduplicated %llu\n", prog,
			       (unsigned long long)st.compressed_files,
			       (unsigned long long)st.compressed_logical,
			       (unsigned long long)st.pcluster_blocks,
			       st.compressed_logical ? 100.0 * (double)(st.pcluster_blocks * 4096) /
						       (double)st.compressed_logical : 0.0,
			       (unsigned long long)st.pclusters,
			       (unsigned long long)st.pclusters_stored,
			       (unsigned long long)st.pclusters_deduped);
		printf("%s: image %llu blocks", prog, (unsigned long long)st.image_blocks);
		if (st.image_bytes > st.image_blocks * 4096)
			printf(" + seal = %llu bytes", (unsigned long long)st.image_bytes);
		printf(", %u device%s\n", st.devices, st.devices == 1 ? "" : "s");
		if (o.blob_dir && st.blob_name[0]) {
			char sz[32];

			printf("%s: %s %s/%s, %llu blocks, %s\n", prog,
			       st.blob_was_present ? "blob already present" : "new blob",
			       o.blob_dir, st.blob_name, (unsigned long long)st.blob_blocks,
			       human_size(st.blob_blocks * 4096, sz, sizeof(sz)));
		}
		else if (o.blobdev_path)
			printf("%s: blob %s, %llu blocks\n", prog, o.blobdev_path,
			       (unsigned long long)st.blob_blocks);
		if (st.dict_chunks_reused)
			printf("%s: %llu chunks found in --chunk-dict images\n", prog,
			       (unsigned long long)st.dict_chunks_reused);
		if (st.repacked_blobs)
			printf("%s: repacked %llu chunks (%llu bytes) of %u --chunk-dict "
			       "blob%s into the new blob (--repack-below)\n", prog,
			       (unsigned long long)st.repacked_chunks,
			       (unsigned long long)st.repacked_bytes, st.repacked_blobs,
			       st.repacked_blobs == 1 ? "" : "s");
		if (st.image_bytes > st.image_blocks * 4096)
			print_release(&o, &st);
	}
	return 0;
}
