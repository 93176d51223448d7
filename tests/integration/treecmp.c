// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * treecmp - compare two directory trees, metadata included.
 *
 * usage: treecmp [--no-mtime] [--no-owner] [--no-xattrs] [--no-hardlinks]
 *                [--perms-only] [--ignore-root-mtime] A B
 *
 * Walks A and B with dirfd-relative calls only (openat/fstatat/...), so
 * trees whose paths are far longer than PATH_MAX are fine.  For every
 * name present in either tree it compares: presence, file type, mode bits,
 * uid/gid, mtime (s + ns, every type), size (non-directories), content
 * (regular files), symlink target, rdev (devices), nlink (non-directories),
 * all xattrs, and at the end the hard-link partition of non-directories.
 *
 * Prints one line per difference; exit 0 equal, 1 different, 2 error.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/xattr.h>
#include <unistd.h>

static int opt_no_mtime, opt_no_owner, opt_no_xattrs, opt_ignore_root_mtime;
/* for extractors that write hard links as copies (erofs-utils 1.5) */
static int opt_no_hardlinks;
/* for extractors that drop set-id and sticky bits (erofs-utils 1.5) */
static int opt_perms_only;
static int ndiff, nerr;

#define BUFSZ (1u << 20)
static unsigned char *bufa, *bufb;

/* ---------- small helpers ---------- */

static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p) {
		fprintf(stderr, "treecmp: out of memory\n");
		exit(2);
	}
	return p;
}

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p) {
		fprintf(stderr, "treecmp: out of memory\n");
		exit(2);
	}
	return p;
}

/* escape a byte string for printing: anything outside printable ASCII
 * (and the backslash itself) becomes \xNN */
static void put_escaped(FILE *f, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c >= 0x7f || c == '\\')
			fprintf(f, "\\x%02x", c);
		else
			fputc(c, f);
	}
}

/* a growable path string, only used for messages */
struct path {
	char *s;
	size_t len, cap;
};

static void path_push(struct path *p, const char *name, size_t *saved)
{
	size_t nl = strlen(name);

	*saved = p->len;
	if (p->len + nl + 2 > p->cap) {
		p->cap = (p->len + nl + 2) * 2;
		p->s = xrealloc(p->s, p->cap);
	}
	p->s[p->len++] = '/';
	memcpy(p->s + p->len, name, nl);
	p->len += nl;
	p->s[p->len] = '\0';
}

static void path_pop(struct path *p, size_t saved)
{
	p->len = saved;
	p->s[p->len] = '\0';
}

static void print_path(FILE *f, const struct path *p)
{
	if (p->len == 0)
		fputc('.', f);
	else {
		fputc('.', f);
		put_escaped(f, p->s, p->len);
	}
}

static void diff(const struct path *p, const char *fmt, ...)
{
	va_list ap;

	ndiff++;
	print_path(stdout, p);
	fputs(": ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
}

static void err(const struct path *p, const char *side, const char *what,
		int e)
{
	nerr++;
	fprintf(stderr, "treecmp: %s ", side);
	print_path(stderr, p);
	fprintf(stderr, ": %s: %s\n", what, strerror(e));
}

static const char *type_name(mode_t m)
{
	switch (m & S_IFMT) {
	case S_IFREG: return "regular file";
	case S_IFDIR: return "directory";
	case S_IFLNK: return "symlink";
	case S_IFCHR: return "char device";
	case S_IFBLK: return "block device";
	case S_IFIFO: return "fifo";
	case S_IFSOCK: return "socket";
	default: return "unknown type";
	}
}

/* ---------- hard-link bookkeeping ---------- */

struct link_ent {
	dev_t deva, devb;
	ino_t inoa, inob;
	nlink_t nla, nlb;
	char *path;		/* escaped-later raw path (relative) */
	size_t pathlen;
	size_t ga, gb;		/* group ids */
};

static struct link_ent *links;
static size_t nlinks, caplinks;

static void record_link(const struct path *p, const struct stat *a,
			const struct stat *b)
{
	struct link_ent *e;

	if (a->st_nlink <= 1 && b->st_nlink <= 1)
		return;
	if (nlinks == caplinks) {
		caplinks = caplinks ? caplinks * 2 : 64;
		links = xrealloc(links, caplinks * sizeof(*links));
	}
	e = &links[nlinks++];
	e->deva = a->st_dev;
	e->inoa = a->st_ino;
	e->devb = b->st_dev;
	e->inob = b->st_ino;
	e->nla = a->st_nlink;
	e->nlb = b->st_nlink;
	e->path = xmalloc(p->len + 1);
	memcpy(e->path, p->s, p->len + 1);
	e->pathlen = p->len;
}

static int cmp_ino_a(const void *x, const void *y)
{
	const struct link_ent *a = x, *b = y;

	if (a->deva != b->deva)
		return a->deva < b->deva ? -1 : 1;
	if (a->inoa != b->inoa)
		return a->inoa < b->inoa ? -1 : 1;
	return 0;
}

static int cmp_ino_b(const void *x, const void *y)
{
	const struct link_ent *a = x, *b = y;

	if (a->devb != b->devb)
		return a->devb < b->devb ? -1 : 1;
	if (a->inob != b->inob)
		return a->inob < b->inob ? -1 : 1;
	return 0;
}

static int cmp_ga(const void *x, const void *y)
{
	const struct link_ent *a = x, *b = y;

	if (a->ga != b->ga)
		return a->ga < b->ga ? -1 : 1;
	if (a->gb != b->gb)
		return a->gb < b->gb ? -1 : 1;
	return 0;
}

static int cmp_gb(const void *x, const void *y)
{
	const struct link_ent *a = x, *b = y;

	if (a->gb != b->gb)
		return a->gb < b->gb ? -1 : 1;
	if (a->ga != b->ga)
		return a->ga < b->ga ? -1 : 1;
	return 0;
}

static void link_diff(const struct link_ent *x, const struct link_ent *y,
		      const char *msg)
{
	struct path p1 = { x->path, x->pathlen, 0 };
	struct path p2 = { y->path, y->pathlen, 0 };

	ndiff++;
	print_path(stdout, &p1);
	printf(": hard-link group differs: %s ", msg);
	print_path(stdout, &p2);
	fputc('\n', stdout);
}

/*
 * The partition of paths into same-inode groups must be identical:
 * for every two recorded paths, sameA(p,q) == sameB(p,q).
 */
static void check_links(void)
{
	size_t i, g;

	if (!nlinks)
		return;
	qsort(links, nlinks, sizeof(*links), cmp_ino_a);
	for (i = 0, g = 0; i < nlinks; i++) {
		if (i && cmp_ino_a(&links[i - 1], &links[i]))
			g++;
		links[i].ga = g;
	}
	qsort(links, nlinks, sizeof(*links), cmp_ino_b);
	for (i = 0, g = 0; i < nlinks; i++) {
		if (i && cmp_ino_b(&links[i - 1], &links[i]))
			g++;
		links[i].gb = g;
	}
	/* same A-group must imply same B-group */
	qsort(links, nlinks, sizeof(*links), cmp_ga);
	for (i = 1; i < nlinks; i++)
		if (links[i].ga == links[i - 1].ga &&
		    links[i].gb != links[i - 1].gb)
			link_diff(&links[i], &links[i - 1],
				  "linked in A but not in B with");
	/* same B-group must imply same A-group */
	qsort(links, nlinks, sizeof(*links), cmp_gb);
	for (i = 1; i < nlinks; i++)
		if (links[i].gb == links[i - 1].gb &&
		    links[i].ga != links[i - 1].ga)
			link_diff(&links[i], &links[i - 1],
				  "linked in B but not in A with");
}

/* ---------- directory listing ---------- */

struct names {
	char **v;
	size_t n;
};

static int cmp_str(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

static int list_dir(int dfd, struct names *out)
{
	int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d;
	struct dirent *de;
	size_t cap = 0;

	out->v = NULL;
	out->n = 0;
	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d) {
		int e = errno;

		close(fd);
		return -e;
	}
	for (;;) {
		errno = 0;
		de = readdir(d);
		if (!de)
			break;
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (out->n == cap) {
			cap = cap ? cap * 2 : 64;
			out->v = xrealloc(out->v, cap * sizeof(char *));
		}
		out->v[out->n++] = strdup(de->d_name);
		if (!out->v[out->n - 1]) {
			fprintf(stderr, "treecmp: out of memory\n");
			exit(2);
		}
	}
	if (errno) {
		int e = errno;

		closedir(d);
		return -e;
	}
	closedir(d);
	if (out->n > 1)
		qsort(out->v, out->n, sizeof(char *), cmp_str);
	return 0;
}

static void free_names(struct names *n)
{
	for (size_t i = 0; i < n->n; i++)
		free(n->v[i]);
	free(n->v);
}

/* ---------- xattrs ---------- */

struct xattrs {
	char *names;		/* list buffer as returned by llistxattr */
	ssize_t len;
	char **v;		/* pointers into names, sorted */
	size_t n;
};

static void xattr_procpath(char *buf, size_t sz, int dfd, const char *name)
{
	if (name)
		snprintf(buf, sz, "/proc/self/fd/%d/%s", dfd, name);
	else
		snprintf(buf, sz, "/proc/self/fd/%d", dfd);
}

static int load_xattrs(const char *pp, struct xattrs *x)
{
	ssize_t len;

	memset(x, 0, sizeof(*x));
	for (;;) {
		len = llistxattr(pp, NULL, 0);
		if (len < 0) {
			if (errno == ENOTSUP)
				return 0;
			return -errno;
		}
		x->names = xrealloc(x->names, (size_t)len + 1);
		len = llistxattr(pp, x->names, (size_t)len);
		if (len >= 0)
			break;
		if (errno != ERANGE)
			return -errno;
	}
	x->len = len;
	for (ssize_t i = 0; i < len; i += (ssize_t)strlen(x->names + i) + 1) {
		x->v = xrealloc(x->v, (x->n + 1) * sizeof(char *));
		x->v[x->n++] = x->names + i;
	}
	if (x->n > 1)
		qsort(x->v, x->n, sizeof(char *), cmp_str);
	return 0;
}

static ssize_t get_value(const char *pp, const char *name, char **val)
{
	ssize_t len;

	for (;;) {
		len = lgetxattr(pp, name, NULL, 0);
		if (len < 0)
			return -errno;
		*val = xrealloc(*val, (size_t)len + 1);
		len = lgetxattr(pp, name, *val, (size_t)len);
		if (len >= 0)
			return len;
		if (errno != ERANGE)
			return -errno;
	}
}

static void compare_xattrs(const struct path *p, int dfa, int dfb,
			   const char *name)
{
	char ppa[PATH_MAX], ppb[PATH_MAX];
	struct xattrs xa, xb;
	size_t i = 0, j = 0;
	char *va = NULL, *vb = NULL;
	int r;

	xattr_procpath(ppa, sizeof(ppa), dfa, name);
	xattr_procpath(ppb, sizeof(ppb), dfb, name);
	r = load_xattrs(ppa, &xa);
	if (r < 0) {
		err(p, "A", "listxattr", -r);
		free(xa.names);
		free(xa.v);
		return;
	}
	r = load_xattrs(ppb, &xb);
	if (r < 0) {
		err(p, "B", "listxattr", -r);
		free(xa.names);
		free(xa.v);
		free(xb.names);
		free(xb.v);
		return;
	}
	while (i < xa.n || j < xb.n) {
		int c;

		if (i == xa.n)
			c = 1;
		else if (j == xb.n)
			c = -1;
		else
			c = strcmp(xa.v[i], xb.v[j]);
		if (c < 0) {
			diff(p, "xattr %s only in A", xa.v[i]);
			i++;
			continue;
		}
		if (c > 0) {
			diff(p, "xattr %s only in B", xb.v[j]);
			j++;
			continue;
		}
		ssize_t la = get_value(ppa, xa.v[i], &va);
		ssize_t lb = get_value(ppb, xb.v[j], &vb);

		if (la < 0)
			err(p, "A", xa.v[i], (int)-la);
		else if (lb < 0)
			err(p, "B", xb.v[j], (int)-lb);
		else if (la != lb || memcmp(va, vb, (size_t)la))
			diff(p, "xattr %s value differs (%zd vs %zd bytes)",
			     xa.v[i], la, lb);
		i++;
		j++;
	}
	free(va);
	free(vb);
	free(xa.names);
	free(xa.v);
	free(xb.names);
	free(xb.v);
}

/* ---------- content ---------- */

static ssize_t read_full(int fd, unsigned char *buf, size_t n, off_t off)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = pread(fd, buf + got, n - got, off + (off_t)got);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

/* where the next data starts at or after off; size when none */
static off_t next_data(int fd, off_t off, off_t size)
{
	off_t r = lseek(fd, off, SEEK_DATA);

	if (r < 0)
		return errno == ENXIO ? size : off;
	return r;
}

static void compare_content(const struct path *p, int dfa, int dfb,
			    const char *name, off_t size)
{
	int fa, fb;
	off_t off = 0;

	fa = openat(dfa, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	if (fa < 0) {
		err(p, "A", "open", errno);
		return;
	}
	fb = openat(dfb, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	if (fb < 0) {
		err(p, "B", "open", errno);
		close(fa);
		return;
	}
	while (off < size) {
		/* skip ranges that are holes in both files */
		off_t da = next_data(fa, off, size);
		off_t db = next_data(fb, off, size);
		off_t skip = da < db ? da : db;

		if (skip > off) {
			off = skip;
			continue;
		}
		size_t want = BUFSZ;

		if ((off_t)want > size - off)
			want = (size_t)(size - off);
		ssize_t ra = read_full(fa, bufa, want, off);
		ssize_t rb = read_full(fb, bufb, want, off);

		if (ra < 0) {
			err(p, "A", "read", errno);
			break;
		}
		if (rb < 0) {
			err(p, "B", "read", errno);
			break;
		}
		size_t m = (size_t)(ra < rb ? ra : rb);

		if (memcmp(bufa, bufb, m)) {
			size_t k = 0;

			while (bufa[k] == bufb[k])
				k++;
			diff(p, "content differs at byte %lld",
			     (long long)(off + (off_t)k));
			break;
		}
		if (ra != rb || (size_t)ra != want) {
			diff(p, "content length differs (short read at %lld)",
			     (long long)(off + (off_t)m));
			break;
		}
		off += (off_t)want;
	}
	close(fa);
	close(fb);
}

static void compare_symlink(const struct path *p, int dfa, int dfb,
			    const char *name)
{
	char *ta = xmalloc(PATH_MAX + 1), *tb = xmalloc(PATH_MAX + 1);
	ssize_t la = readlinkat(dfa, name, ta, PATH_MAX + 1);
	ssize_t lb = readlinkat(dfb, name, tb, PATH_MAX + 1);

	if (la < 0)
		err(p, "A", "readlink", errno);
	else if (lb < 0)
		err(p, "B", "readlink", errno);
	else if (la != lb || memcmp(ta, tb, (size_t)la)) {
		ndiff++;
		print_path(stdout, p);
		fputs(": symlink target differs: ", stdout);
		put_escaped(stdout, ta, (size_t)la);
		fputs(" vs ", stdout);
		put_escaped(stdout, tb, (size_t)lb);
		fputc('\n', stdout);
	}
	free(ta);
	free(tb);
}

/* ---------- the walk ---------- */

static void compare_meta(const struct path *p, const struct stat *a,
			 const struct stat *b, int is_root)
{
	if ((a->st_mode & (opt_perms_only ? 0777 : 07777)) !=
	    (b->st_mode & (opt_perms_only ? 0777 : 07777)))
		diff(p, "mode differs: %04o vs %04o",
		     (unsigned)(a->st_mode & 07777),
		     (unsigned)(b->st_mode & 07777));
	if (!opt_no_owner) {
		if (a->st_uid != b->st_uid)
			diff(p, "uid differs: %lu vs %lu",
			     (unsigned long)a->st_uid,
			     (unsigned long)b->st_uid);
		if (a->st_gid != b->st_gid)
			diff(p, "gid differs: %lu vs %lu",
			     (unsigned long)a->st_gid,
			     (unsigned long)b->st_gid);
	}
	if (!opt_no_mtime && !(is_root && opt_ignore_root_mtime) &&
	    (a->st_mtim.tv_sec != b->st_mtim.tv_sec ||
	     a->st_mtim.tv_nsec != b->st_mtim.tv_nsec))
		diff(p, "mtime differs: %lld.%09ld vs %lld.%09ld",
		     (long long)a->st_mtim.tv_sec, a->st_mtim.tv_nsec,
		     (long long)b->st_mtim.tv_sec, b->st_mtim.tv_nsec);
	if (S_ISDIR(a->st_mode))
		return;
	if (a->st_size != b->st_size)
		diff(p, "size differs: %lld vs %lld", (long long)a->st_size,
		     (long long)b->st_size);
	if (!opt_no_hardlinks && a->st_nlink != b->st_nlink)
		diff(p, "nlink differs: %lu vs %lu",
		     (unsigned long)a->st_nlink, (unsigned long)b->st_nlink);
	if ((S_ISCHR(a->st_mode) || S_ISBLK(a->st_mode)) &&
	    a->st_rdev != b->st_rdev)
		diff(p, "rdev differs: %u:%u vs %u:%u", major(a->st_rdev),
		     minor(a->st_rdev), major(b->st_rdev), minor(b->st_rdev));
}

static void compare_dir(int dfa, int dfb, struct path *p);

static void compare_entry(int dfa, int dfb, const char *name, struct path *p)
{
	struct stat sa, sb;

	if (fstatat(dfa, name, &sa, AT_SYMLINK_NOFOLLOW)) {
		err(p, "A", "lstat", errno);
		return;
	}
	if (fstatat(dfb, name, &sb, AT_SYMLINK_NOFOLLOW)) {
		err(p, "B", "lstat", errno);
		return;
	}
	if ((sa.st_mode & S_IFMT) != (sb.st_mode & S_IFMT)) {
		diff(p, "type differs: %s vs %s", type_name(sa.st_mode),
		     type_name(sb.st_mode));
		return;
	}
	compare_meta(p, &sa, &sb, 0);
	if (!opt_no_xattrs)
		compare_xattrs(p, dfa, dfb, name);
	if (!S_ISDIR(sa.st_mode) && !opt_no_hardlinks)
		record_link(p, &sa, &sb);

	if (S_ISREG(sa.st_mode)) {
		if (sa.st_size == sb.st_size)
			compare_content(p, dfa, dfb, name, sa.st_size);
	} else if (S_ISLNK(sa.st_mode)) {
		compare_symlink(p, dfa, dfb, name);
	} else if (S_ISDIR(sa.st_mode)) {
		int ca = openat(dfa, name, O_RDONLY | O_DIRECTORY |
				O_NOFOLLOW | O_CLOEXEC);
		int cb;

		if (ca < 0) {
			err(p, "A", "open directory", errno);
			return;
		}
		cb = openat(dfb, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
			    O_CLOEXEC);
		if (cb < 0) {
			err(p, "B", "open directory", errno);
			close(ca);
			return;
		}
		compare_dir(ca, cb, p);
		close(ca);
		close(cb);
	}
}

static void compare_dir(int dfa, int dfb, struct path *p)
{
	struct names na, nb;
	size_t i = 0, j = 0;
	int r;

	r = list_dir(dfa, &na);
	if (r < 0) {
		err(p, "A", "readdir", -r);
		return;
	}
	r = list_dir(dfb, &nb);
	if (r < 0) {
		err(p, "B", "readdir", -r);
		free_names(&na);
		return;
	}
	while (i < na.n || j < nb.n) {
		size_t saved;
		int c;

		if (i == na.n)
			c = 1;
		else if (j == nb.n)
			c = -1;
		else
			c = strcmp(na.v[i], nb.v[j]);
		if (c < 0) {
			path_push(p, na.v[i], &saved);
			diff(p, "only in A");
			path_pop(p, saved);
			i++;
		} else if (c > 0) {
			path_push(p, nb.v[j], &saved);
			diff(p, "only in B");
			path_pop(p, saved);
			j++;
		} else {
			path_push(p, na.v[i], &saved);
			compare_entry(dfa, dfb, na.v[i], p);
			path_pop(p, saved);
			i++;
			j++;
		}
	}
	free_names(&na);
	free_names(&nb);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: treecmp [--no-mtime] [--no-owner] [--no-xattrs] "
		"[--no-hardlinks] [--perms-only] [--ignore-root-mtime] A B\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *a = NULL, *b = NULL;
	struct path p = { NULL, 0, 0 };
	struct stat sa, sb;
	int dfa, dfb, i;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--no-mtime"))
			opt_no_mtime = 1;
		else if (!strcmp(argv[i], "--no-owner"))
			opt_no_owner = 1;
		else if (!strcmp(argv[i], "--no-xattrs"))
			opt_no_xattrs = 1;
		else if (!strcmp(argv[i], "--perms-only"))
			opt_perms_only = 1;
		else if (!strcmp(argv[i], "--no-hardlinks"))
			opt_no_hardlinks = 1;
		else if (!strcmp(argv[i], "--ignore-root-mtime"))
			opt_ignore_root_mtime = 1;
		else if (!strcmp(argv[i], "--")) {
			i++;
			break;
		} else if (argv[i][0] == '-' && argv[i][1])
			usage();
		else
			break;
	}
	if (argc - i != 2)
		usage();
	a = argv[i];
	b = argv[i + 1];

	dfa = open(a, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfa < 0) {
		fprintf(stderr, "treecmp: %s: %s\n", a, strerror(errno));
		return 2;
	}
	dfb = open(b, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfb < 0) {
		fprintf(stderr, "treecmp: %s: %s\n", b, strerror(errno));
		close(dfa);
		return 2;
	}
	if (fstat(dfa, &sa) || fstat(dfb, &sb)) {
		fprintf(stderr, "treecmp: fstat: %s\n", strerror(errno));
		close(dfa);
		close(dfb);
		return 2;
	}

	bufa = xmalloc(BUFSZ);
	bufb = xmalloc(BUFSZ);
	p.cap = 256;
	p.s = xmalloc(p.cap);
	p.s[0] = '\0';
	compare_meta(&p, &sa, &sb, 1);
	if (!opt_no_xattrs)
		compare_xattrs(&p, dfa, dfb, NULL);
	compare_dir(dfa, dfb, &p);
	check_links();

	close(dfa);
	close(dfb);
	for (size_t k = 0; k < nlinks; k++)
		free(links[k].path);
	free(links);
	free(p.s);
	free(bufa);
	free(bufb);
	fflush(stdout);
	if (nerr)
		return 2;
	return ndiff ? 1 : 0;
}
