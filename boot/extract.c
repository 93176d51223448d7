// SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0
/*
 * boot-extract: the boot reader (boot/liberofs_boot.a) on a host, for the
 * tests: extract a whole image with it, so that the result can be compared
 * with what fsck.erofs --extract writes.
 *
 *   boot-extract [--pubkey FILE] [--expect-digest [sha256:]HEX] [--unchecked]
 *                [--keyfile FILE | --seed FILE[:LABEL]]
 *                [--work-size BYTES] [--device FILE]... IMAGE DIR
 *
 * --pubkey FILE: an Ed25519 public key, as 32 raw bytes or PEM.  --keyfile,
 * --seed: unlock an encrypted image with a key-file or seed slot
 * (erofs_boot_unlock(); a seed without a label tries every seed slot).  DIR is
 * created; regular files, directories, symlinks and device nodes are
 * written with their modes, owners (when root) and mtimes; hard links
 * become copies.  Exit 0 done, 1 the reader refused or failed (message on
 * stderr), 2 usage or a host error.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include "erofs_boot.h"

#define COPY_CHUNK	(1u << 20)
/* each level holds a descriptor and a few hundred bytes of stack */
#define MAX_DEPTH	4096u

/* the image and its blobs: as many as the format allows (1 + 65535) */
#define MAX_DEVS	65536u

struct source {
	int *fds;
	uint64_t *sizes;
	unsigned int n;
};

static int read_dev(void *ctx, unsigned int dev, uint64_t off, void *buf, size_t len)
{
	const struct source *s = ctx;
	uint8_t *p = buf;

	if (dev >= s->n)
		return -ENODEV;
	while (len) {
		ssize_t n = pread(s->fds[dev], p, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		p += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: boot-extract [--pubkey FILE] [--expect-digest [sha256:]HEX] "
		"[--unchecked] [--keyfile FILE | --seed FILE[:LABEL]] [--work-size BYTES] "
		"[--device FILE]... IMAGE DIR\n");
	exit(2);
}

static int unhex(const char *text, uint8_t out[32])
{
	if (!strncmp(text, "sha256:", 7))
		text += 7;
	if (strlen(text) != 64)
		return -1;
	for (int i = 0; i < 32; i++) {
		unsigned int v;

		if (sscanf(text + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (uint8_t)v;
	}
	return 0;
}

/* An Ed25519 public key: 32 raw bytes, or PEM (OpenSSL reads it). */
static int load_pubkey(const char *path, uint8_t pub[32])
{
	FILE *f = fopen(path, "rb");
	EVP_PKEY *key;
	size_t len = 32;
	int ret = -1;

	if (!f)
		return -1;
	if (fread(pub, 1, 32, f) == 32 && fgetc(f) == EOF) {
		fclose(f);
		return 0;
	}
	rewind(f);
	key = PEM_read_PUBKEY(f, NULL, NULL, NULL);
	fclose(f);
	if (key && EVP_PKEY_get_base_id(key) == EVP_PKEY_ED25519 &&
	    EVP_PKEY_get_raw_public_key(key, pub, &len) == 1 && len == 32)
		ret = 0;
	EVP_PKEY_free(key);
	return ret;
}

struct entry {
	char *name;
	uint64_t nid;
};

struct listing {
	struct entry *e;
	size_t n, cap;
};

static int collect(void *ctx, const uint8_t *name, unsigned int namelen, uint64_t nid,
		   unsigned int type)
{
	struct listing *l = ctx;

	(void)type;
	if ((namelen == 1 && name[0] == '.') ||
	    (namelen == 2 && name[0] == '.' && name[1] == '.'))
		return 0;
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 64;
		struct entry *e = realloc(l->e, cap * sizeof(*e));

		if (!e)
			return -ENOMEM;
		l->e = e;
		l->cap = cap;
	}
	l->e[l->n].name = strndup((const char *)name, namelen);
	if (!l->e[l->n].name)
		return -ENOMEM;
	l->e[l->n++].nid = nid;
	return 0;
}

struct extractor {
	struct erofs_boot *b;
	uint8_t *buf;
	uint64_t *dirs;		/* every directory entered so far */
	size_t ndirs, dirs_cap;
	unsigned int depth;
	bool root;
	unsigned int warnings;
};

static int fail_reader(const char *what, int ret, const struct es_err *err)
{
	fprintf(stderr, "boot-extract: %s: %s (%s)\n", what,
		err->msg[0] ? err->msg : "failed", strerror(-ret));
	return 1;
}

static int fail_host(const char *what, const char *name)
{
	fprintf(stderr, "boot-extract: %s %s: %s\n", what, name, strerror(errno));
	return 2;
}

/* Owner and mtime of name in dirfd (or of fd itself when name is ""). */
static int set_attrs(struct extractor *x, int fd, int dirfd, const char *name,
		     const struct erofs_boot_stat *st, bool link)
{
	struct timespec times[2] = {
		{ .tv_nsec = UTIME_OMIT },
		{ .tv_sec = st->mtime, .tv_nsec = st->mtime_nsec },
	};

	if (fd >= 0) {
		if (x->root && fchown(fd, st->uid, st->gid))
			return fail_host("cannot chown", name);
		if (fchmod(fd, st->mode & 07777) || futimens(fd, times))
			return fail_host("cannot set the mode or mtime of", name);
		return 0;
	}
	if (x->root && fchownat(dirfd, name, st->uid, st->gid, AT_SYMLINK_NOFOLLOW))
		return fail_host("cannot chown", name);
	if (!link && fchmodat(dirfd, name, st->mode & 07777, 0))
		return fail_host("cannot chmod", name);
	if (utimensat(dirfd, name, times, AT_SYMLINK_NOFOLLOW))
		return fail_host("cannot set the mtime of", name);
	return 0;
}

static int extract_dir(struct extractor *x, uint64_t nid, int dirfd);

/* Not inlined into the recursion either: its es_err is 512 bytes. */
__attribute__((noinline))
static int extract_file(struct extractor *x, const struct erofs_boot_stat *st, int dirfd,
			const char *name)
{
	struct es_err err = { 0 };
	uint64_t off = 0;
	int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			0600);
	int rc = 0;

	if (fd < 0)
		return fail_host("cannot create", name);
	while (!rc && off < st->size) {
		size_t got;
		int ret = erofs_boot_read(x->b, st->nid, off, x->buf, COPY_CHUNK, &got, &err);

		if (ret)
			rc = fail_reader(name, ret, &err);
		else if (write(fd, x->buf, got) != (ssize_t)got)
			rc = fail_host("cannot write", name);
		off += got;
	}
	if (!rc)
		rc = set_attrs(x, fd, dirfd, name, st, false);
	close(fd);
	return rc;
}

/* Not inlined into extract_entry(): its 4 KiB would be on the stack at every
 * level of the recursion. */
__attribute__((noinline))
static int extract_symlink(struct extractor *x, const struct entry *e,
			   const struct erofs_boot_stat *st, int dirfd)
{
	struct es_err err = { 0 };
	char target[4097];
	size_t got;
	int ret;

	if (st->size >= sizeof(target)) {
		fprintf(stderr, "boot-extract: %s: symlink target of %llu bytes\n",
			e->name, (unsigned long long)st->size);
		return 1;
	}
	ret = erofs_boot_read(x->b, e->nid, 0, target, sizeof(target) - 1, &got, &err);
	if (ret)
		return fail_reader(e->name, ret, &err);
	target[got] = '\0';
	if (strlen(target) != got) {
		fprintf(stderr, "boot-extract: %s: symlink target holds a NUL\n", e->name);
		return 1;
	}
	if (symlinkat(target, dirfd, e->name))
		return fail_host("cannot create", e->name);
	return set_attrs(x, -1, dirfd, e->name, st, true);
}

static int extract_entry(struct extractor *x, const struct entry *e, int dirfd)
{
	struct es_err err = { 0 };
	struct erofs_boot_stat st;
	int ret = erofs_boot_stat(x->b, e->nid, &st, &err);
	int rc, fd;

	if (ret)
		return fail_reader(e->name, ret, &err);
	switch (st.mode & S_IFMT) {
	case S_IFREG:
		return extract_file(x, &st, dirfd, e->name);
	case S_IFDIR:
		if (mkdirat(dirfd, e->name, 0700))
			return fail_host("cannot create", e->name);
		fd = openat(dirfd, e->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return fail_host("cannot open", e->name);
		rc = extract_dir(x, e->nid, fd);
		if (!rc)
			rc = set_attrs(x, fd, dirfd, e->name, &st, false);
		close(fd);
		return rc;
	case S_IFLNK:
		return extract_symlink(x, e, &st, dirfd);
	default:
		if (mknodat(dirfd, e->name, st.mode & (S_IFMT | 07777),
			    makedev(st.rdev_major, st.rdev_minor))) {
			fprintf(stderr, "boot-extract: warning: %s not created: %s\n", e->name,
				strerror(errno));
			x->warnings++;
			return 0;
		}
		return set_attrs(x, -1, dirfd, e->name, &st, false);
	}
}

static int extract_dir(struct extractor *x, uint64_t nid, int dirfd)
{
	struct listing l = { 0 };
	struct es_err err = { 0 };
	int ret, rc = 0;

	/* a directory reached twice: a loop, or one linked from two parents,
	   which nested makes the walk exponential */
	for (size_t i = 0; i < x->ndirs; i++)
		if (x->dirs[i] == nid) {
			fprintf(stderr, "boot-extract: directory nid %llu is reachable twice "
				"(a directory loop or a hard-linked directory)\n",
				(unsigned long long)nid);
			return 1;
		}
	if (x->ndirs == x->dirs_cap) {
		size_t cap = x->dirs_cap ? 2 * x->dirs_cap : 256;
		uint64_t *d = realloc(x->dirs, cap * sizeof(*d));

		if (!d)
			return fail_host("out of memory for", "the directory list");
		x->dirs = d;
		x->dirs_cap = cap;
	}
	x->dirs[x->ndirs++] = nid;
	if (x->depth == MAX_DEPTH) {
		fprintf(stderr, "boot-extract: directories nested deeper than %u\n", MAX_DEPTH);
		return 1;
	}
	ret = erofs_boot_readdir(x->b, nid, collect, &l, &err);
	if (ret)
		rc = fail_reader("directory", ret, &err);
	x->depth++;
	for (size_t i = 0; !rc && i < l.n; i++)
		rc = extract_entry(x, &l.e[i], dirfd);
	x->depth--;
	for (size_t i = 0; i < l.n; i++)
		free(l.e[i].name);
	free(l.e);
	return rc;
}

/* The whole of a credential file (at most 8 MiB, as the library allows). */
static uint8_t *read_cred(const char *path, size_t *len)
{
	uint8_t *buf = malloc((8u << 20) + 1);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	*len = 0;
	if (!buf || fd < 0)
		exit(fail_host("cannot open", path));
	while ((n = read(fd, buf + *len, (8u << 20) + 1 - *len)) > 0)
		*len += (size_t)n;
	close(fd);
	if (n < 0)
		exit(fail_host("cannot read", path));
	return buf;
}

int main(int argc, char **argv)
{
	enum erofs_boot_cred cred_kind = 0;
	const char *cred_path = NULL;
	char *cred_label = NULL;
	enum erofs_boot_trust trust = 0;
	uint8_t anchor[32];
	static int fds[MAX_DEVS];
	static uint64_t sizes[MAX_DEVS];
	struct source src = { fds, sizes, 1 };
	struct erofs_boot_source bsrc;
	struct extractor *x;
	struct es_err err = { 0 };
	struct erofs_boot_stat st;
	size_t work_size = 0;
	void *work;
	uint64_t root;
	int i, ret, rc, dirfd;

	for (i = 1; i < argc && !strncmp(argv[i], "--", 2); i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--unchecked")) {
			trust = EROFS_BOOT_UNCHECKED;
		} else if (!strcmp(a, "--pubkey") && i + 1 < argc) {
			if (load_pubkey(argv[++i], anchor)) {
				fprintf(stderr, "boot-extract: %s is not an Ed25519 public key\n",
					argv[i]);
				return 2;
			}
			trust = EROFS_BOOT_TRUST_ED25519;
		} else if (!strcmp(a, "--expect-digest") && i + 1 < argc) {
			if (unhex(argv[++i], anchor))
				usage();
			trust = EROFS_BOOT_TRUST_DIGEST;
		} else if (!strcmp(a, "--keyfile") && i + 1 < argc) {
			cred_kind = EROFS_BOOT_CRED_KEYFILE;
			cred_path = argv[++i];
		} else if (!strcmp(a, "--seed") && i + 1 < argc) {
			static char seed_spec[4096];
			char *colon;

			cred_kind = EROFS_BOOT_CRED_SEED;
			if ((size_t)snprintf(seed_spec, sizeof(seed_spec), "%s", argv[++i]) >=
			    sizeof(seed_spec))
				usage();
			cred_path = seed_spec;
			colon = strrchr(seed_spec, ':');
			if (colon) {
				*colon = '\0';
				cred_label = colon + 1;
			}
		} else if (!strcmp(a, "--work-size") && i + 1 < argc) {
			work_size = strtoul(argv[++i], NULL, 0);
		} else if (!strcmp(a, "--device") && i + 1 < argc) {
			if (src.n == MAX_DEVS)
				usage();
			src.fds[src.n++] = -1;
			src.fds[src.n - 1] = open(argv[++i], O_RDONLY | O_CLOEXEC);
			if (src.fds[src.n - 1] < 0)
				return fail_host("cannot open", argv[i]);
		} else {
			usage();
		}
	}
	if (argc - i != 2 || !trust)
		usage();
	src.fds[0] = open(argv[i], O_RDONLY | O_CLOEXEC);
	if (src.fds[0] < 0)
		return fail_host("cannot open", argv[i]);
	for (unsigned int d = 0; d < src.n; d++) {
		struct stat sb;

		if (fstat(src.fds[d], &sb))
			return fail_host("cannot stat device", argv[i]);
		src.sizes[d] = (uint64_t)sb.st_size;
	}
	if (!work_size)
		work_size = EROFS_BOOT_WORK_SIZE(src.n) + 16 * EROFS_BOOT_SLOT;
	work = aligned_alloc(8, (work_size + 7) & ~(size_t)7);
	x = calloc(1, sizeof(*x));
	if (!work || !x || !(x->buf = malloc(COPY_CHUNK)))
		return fail_host("out of memory", "");
	x->root = geteuid() == 0;
	bsrc = (struct erofs_boot_source){ read_dev, &src, src.sizes, src.n };
	ret = erofs_boot_open(&x->b, work, work_size, &bsrc, trust,
			      trust == EROFS_BOOT_UNCHECKED ? NULL : anchor, &err);
	if (!ret && cred_kind) {
		size_t cred_len;
		uint8_t *cred = read_cred(cred_path, &cred_len);

		ret = erofs_boot_unlock(x->b, cred_kind, cred, cred_len, cred_label, &err);
		memset(cred, 0, cred_len);
		free(cred);
	}
	if (!ret)
		ret = erofs_boot_lookup(x->b, "/", &root, &err);
	if (!ret)
		ret = erofs_boot_stat(x->b, root, &st, &err);
	if (ret)
		return fail_reader(argv[i], ret, &err);
	if (mkdir(argv[i + 1], 0700))
		return fail_host("cannot create", argv[i + 1]);
	dirfd = open(argv[i + 1], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return fail_host("cannot open", argv[i + 1]);
	rc = extract_dir(x, root, dirfd);
	if (!rc)
		rc = set_attrs(x, dirfd, -1, argv[i + 1], &st, false);
	close(dirfd);
	free(x->dirs);
	free(x->buf);
	free(x);
	free(work);
	return rc;
}
