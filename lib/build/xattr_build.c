// SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0
/*
 * Extended attributes for the builder: read from the source, decide which
 * (name, value) pairs are common enough to share, encode inode bodies and
 * the shared area.  Order is fixed (by index, name suffix, value) so the
 * image does not depend on the source filesystem's listxattr order.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>
#include "erofs/format.h"
#include "erofs/image.h"
#include "wtree.h"

#define EROFS_XATTR_VALUE_MAX 65535u
#define EROFS_SHARED_PER_INODE_MAX 255u

static int xattr_cmp(const struct wxattr *a, const struct wxattr *b)
{
	int c;

	if (a->index != b->index)
		return a->index < b->index ? -1 : 1;
	c = es_name_cmp(a->suffix, a->suffix_len, b->suffix, b->suffix_len);
	if (c)
		return c;
	return es_name_cmp(a->value, a->value_len, b->value, b->value_len);
}

static int xattr_cmp_qsort(const void *a, const void *b)
{
	return xattr_cmp(a, b);
}

static int xattr_ptr_cmp_qsort(const void *a, const void *b)
{
	return xattr_cmp(*(const struct wxattr *const *)a, *(const struct wxattr *const *)b);
}

static void warn_skipped(struct wbuild *b, const char *what, const char *name)
{
	char msg[600];

	if (!b->opts->warn)
		return;
	snprintf(msg, sizeof(msg), "%s: skipping xattr %s: EROFS has no prefix for "
		 "this name", ES_PATH(what), name);
	b->opts->warn(b->opts->warn_ctx, msg);
}

/*
 * name = value on n, replacing a pair of the same name (a tar header may
 * repeat one; the last wins); n->xattrs stays sorted.  A name EROFS has no
 * prefix for is skipped with a warning.
 */
int wb_xattr_set(struct wbuild *b, struct wnode *n, const char *name, const void *value,
		 size_t vlen, const char *what)
{
	struct wxattr *x = NULL, *grown;
	unsigned int index, slen;
	const char *suffix;
	uint8_t *copy;

	if (!es_xattr_split(name, &index, &suffix)) {
		warn_skipped(b, what, name);
		return 0;
	}
	slen = (unsigned int)strnlen(suffix, EROFS_NAME_MAX + 1);
	if (slen > EROFS_NAME_MAX)
		return es_fail(b->err, -ENAMETOOLONG, "%s: xattr name %.64s... is too long",
			       ES_PATH(what), name);
	if (vlen > EROFS_XATTR_VALUE_MAX)
		return es_fail(b->err, -E2BIG, "%s: xattr %s value of %zu bytes is larger "
			       "than EROFS can store (65535)", ES_PATH(what), name, vlen);
	copy = malloc(vlen + 1);
	if (!copy)
		return es_fail(b->err, -ENOMEM, "out of memory");
	memcpy(copy, value, vlen);
	for (unsigned int i = 0; i < n->nxattrs; i++)
		if (n->xattrs[i].index == index && n->xattrs[i].suffix_len == slen &&
		    !memcmp(n->xattrs[i].suffix, suffix, slen))
			x = &n->xattrs[i];
	if (x) {
		free(x->value);
	} else {
		grown = realloc(n->xattrs, (n->nxattrs + 1) * sizeof(*grown));
		if (!grown) {
			free(copy);
			return es_fail(b->err, -ENOMEM, "out of memory");
		}
		n->xattrs = grown;
		x = &n->xattrs[n->nxattrs];
		memset(x, 0, sizeof(*x));
		x->suffix = malloc(slen + 1);
		if (!x->suffix) {
			free(copy);
			return es_fail(b->err, -ENOMEM, "out of memory");
		}
		memcpy(x->suffix, suffix, slen + 1);
		x->suffix_len = slen;
		x->index = index;
		x->shared_id = -1;
		n->nxattrs++;
	}
	x->value = copy;
	x->value_len = (unsigned int)vlen;
	if (n->nxattrs > 1)
		qsort(n->xattrs, n->nxattrs, sizeof(*n->xattrs), xattr_cmp_qsort);
	return 0;
}

/* The xattr calls on an open file (fd), or on name in dirfd (a path
 * through /proc: there is no listxattrat, and a path walk costs more). */
struct xsource {
	int fd;
	char path[64 + EROFS_NAME_MAX];
};

static ssize_t x_list(const struct xsource *x, char *list, size_t size)
{
	return x->fd >= 0 ? flistxattr(x->fd, list, size) : llistxattr(x->path, list, size);
}

static ssize_t x_get(const struct xsource *x, const char *name, void *value, size_t size)
{
	return x->fd >= 0 ? fgetxattr(x->fd, name, value, size) :
			    lgetxattr(x->path, name, value, size);
}

int wb_xattrs_collect(struct wbuild *b, struct wnode *n, int dirfd, const char *name,
		      int fd, const char *what)
{
	struct xsource x = { .fd = fd };
	char *list = NULL, *value = NULL;
	ssize_t len;
	int ret = 0;

	if (b->opts->xattr_share_threshold < 0)
		return 0;
	if (fd < 0)
		snprintf(x.path, sizeof(x.path), "/proc/self/fd/%d/%s", dirfd, name);
	len = x_list(&x, NULL, 0);
	if (len < 0) {
		if (errno == ENOTSUP || errno == ENODATA)
			return 0;
		return es_fail(b->err, -errno, "%s: cannot list xattrs: %s", ES_PATH(what),
			       strerror(errno));
	}
	if (!len)
		return 0;
	list = malloc((size_t)len);
	if (!list)
		return es_fail(b->err, -ENOMEM, "out of memory");
	len = x_list(&x, list, (size_t)len);
	if (len < 0) {
		ret = es_fail(b->err, -errno, "%s: xattrs changed during the build", ES_PATH(what));
		goto out;
	}
	for (char *xn = list; xn < list + len; xn += strlen(xn) + 1) {
		ssize_t vlen, got;

		vlen = x_get(&x, xn, NULL, 0);
		if (vlen < 0) {
			ret = es_fail(b->err, -errno, "%s: cannot read xattr %s: %s", ES_PATH(what),
				      xn, strerror(errno));
			goto out;
		}
		if ((size_t)vlen > EROFS_XATTR_VALUE_MAX) {
			ret = es_fail(b->err, -E2BIG, "%s: xattr %s value of %zd bytes is "
				      "larger than EROFS can store (65535)", ES_PATH(what), xn,
				      vlen);
			goto out;
		}
		free(value);
		value = malloc((size_t)vlen + 1);
		if (!value) {
			ret = es_fail(b->err, -ENOMEM, "out of memory");
			goto out;
		}
		got = x_get(&x, xn, value, (size_t)vlen);
		if (got < 0) {
			ret = es_fail(b->err, -errno, "%s: xattr %s changed during the build",
				      ES_PATH(what), xn);
			goto out;
		}
		ret = wb_xattr_set(b, n, xn, value, (size_t)got, what);
		if (ret)
			goto out;
	}
out:
	free(value);
	free(list);
	return ret;
}

static size_t entry_size(const struct wxattr *x)
{
	return (size_t)es_round_up(EROFS_XATTR_ENTRY_SIZE + x->suffix_len + x->value_len, 4);
}

static void encode_entry(const struct wxattr *x, uint8_t *out)
{
	out[XE_NAME_LEN] = (uint8_t)x->suffix_len;
	out[XE_NAME_INDEX] = (uint8_t)x->index;
	es_put16(out + XE_VALUE_SIZE, (uint16_t)x->value_len);
	memcpy(out + EROFS_XATTR_ENTRY_SIZE, x->suffix, x->suffix_len);
	memcpy(out + EROFS_XATTR_ENTRY_SIZE + x->suffix_len, x->value, x->value_len);
}

int wb_xattrs_share(struct wbuild *b)
{
	int threshold = b->opts->xattr_share_threshold;
	struct wxattr **all = NULL;
	size_t total = 0, k = 0;
	uint64_t area = 0;

	if (threshold < 0)
		return 0;
	for (struct wnode *n = b->all; n; n = n->next_all)
		total += n->nxattrs;
	if (total) {
		all = malloc(total * sizeof(*all));
		if (!all)
			return es_fail(b->err, -ENOMEM, "out of memory");
		for (struct wnode *n = b->all; n; n = n->next_all)
			for (unsigned int i = 0; i < n->nxattrs; i++)
				all[k++] = &n->xattrs[i];
		qsort(all, total, sizeof(*all), xattr_ptr_cmp_qsort);
	}
	/* runs of equal pairs seen more than threshold times share one entry */
	for (size_t i = 0; i < total;) {
		size_t j = i + 1;

		while (j < total && !xattr_cmp(all[i], all[j]))
			j++;
		if (j - i > (size_t)threshold) {
			for (size_t m = i; m < j; m++)
				all[m]->shared_id = (int64_t)(area / 4);
			area += entry_size(all[i]);
			b->stats->shared_xattrs++;
		}
		i = j;
	}
	b->shared_len = area;
	free(all);
	if (area > UINT32_MAX * 4ull)
		return es_fail(b->err, -EFBIG, "shared xattr area too large");

	for (struct wnode *n = b->all; n; n = n->next_all) {
		uint64_t body = EROFS_XATTR_IBODY_HEADER_SIZE;
		unsigned int nshared = 0;

		for (unsigned int i = 0; i < n->nxattrs; i++) {
			struct wxattr *x = &n->xattrs[i];

			if (x->shared_id >= 0 && nshared < EROFS_SHARED_PER_INODE_MAX) {
				nshared++;
				body += 4;
			} else {
				x->shared_id = -1;
				body += entry_size(x);
			}
		}
		if (!n->nxattrs)
			continue;
		if (body > es_xattr_ibody_size(0xffff))
			return es_fail(b->err, -E2BIG, "an inode has %llu bytes of xattrs, "
				       "more than EROFS can store",
				       (unsigned long long)body);
		n->xattr_isize = (uint32_t)body;
		n->xattr_icount = (uint16_t)((body - EROFS_XATTR_IBODY_HEADER_SIZE) / 4 + 1);
	}
	return 0;
}

int wb_xattrs_encode_shared(struct wbuild *b)
{
	struct wxattr **all;
	size_t count = 0, k = 0;

	if (!b->shared_len)
		return 0;
	b->shared_area = calloc(1, b->shared_len);
	for (struct wnode *n = b->all; n; n = n->next_all)
		count += n->nxattrs;
	all = malloc(count * sizeof(*all));
	if (!b->shared_area || !all) {
		free(all);
		return es_fail(b->err, -ENOMEM, "out of memory");
	}
	for (struct wnode *n = b->all; n; n = n->next_all)
		for (unsigned int i = 0; i < n->nxattrs; i++)
			if (n->xattrs[i].shared_id >= 0)
				all[k++] = &n->xattrs[i];
	for (size_t i = 0; i < k; i++)
		encode_entry(all[i], b->shared_area + all[i]->shared_id * 4);
	free(all);
	return 0;
}

static int shared_id_cmp(const void *a, const void *b)
{
	const struct wxattr *x = *(const struct wxattr *const *)a;
	const struct wxattr *y = *(const struct wxattr *const *)b;

	return (x->shared_id > y->shared_id) - (x->shared_id < y->shared_id);
}

void wb_xattrs_encode(const struct wnode *n, uint8_t *out)
{
	const struct wxattr *shared[EROFS_SHARED_PER_INODE_MAX];
	unsigned int nshared = 0;
	uint8_t *p;

	memset(out, 0, n->xattr_isize);
	for (unsigned int i = 0; i < n->nxattrs; i++)
		if (n->xattrs[i].shared_id >= 0)
			shared[nshared++] = &n->xattrs[i];
	qsort(shared, nshared, sizeof(shared[0]), shared_id_cmp);
	/* no name filter: 0 means "may be present" for every name */
	es_put32(out + XH_NAME_FILTER, 0);
	out[XH_SHARED_COUNT] = (uint8_t)nshared;
	p = out + EROFS_XATTR_IBODY_HEADER_SIZE;
	for (unsigned int i = 0; i < nshared; i++, p += 4)
		es_put32(p, (uint32_t)shared[i]->shared_id);
	for (unsigned int i = 0; i < n->nxattrs; i++) {
		const struct wxattr *x = &n->xattrs[i];

		if (x->shared_id < 0) {
			encode_entry(x, p);
			p += entry_size(x);
		}
	}
}
