// SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0
/* Extended attributes: name prefixes and validated reading. */
#include <errno.h>
#include <string.h>
#include "erofs/format.h"
#include "erofs/image.h"

static const struct {
	unsigned int index;
	const char *prefix;
	bool whole;	/* the prefix is the whole name (ACLs) */
} xattr_prefixes[] = {
	{ EROFS_XATTR_INDEX_POSIX_ACL_ACCESS, "system.posix_acl_access", true },
	{ EROFS_XATTR_INDEX_POSIX_ACL_DEFAULT, "system.posix_acl_default", true },
	{ EROFS_XATTR_INDEX_USER, "user.", false },
	{ EROFS_XATTR_INDEX_TRUSTED, "trusted.", false },
	{ EROFS_XATTR_INDEX_SECURITY, "security.", false },
};

static size_t text_len(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}

/* Bytes before the first NUL of p[0..max), or max. */
static size_t text_len_max(const uint8_t *p, size_t max)
{
	size_t n = 0;

	while (n < max && p[n])
		n++;
	return n;
}

const char *es_xattr_prefix(unsigned int index)
{
	for (size_t i = 0; i < sizeof(xattr_prefixes) / sizeof(xattr_prefixes[0]); i++)
		if (xattr_prefixes[i].index == index)
			return xattr_prefixes[i].prefix;
	return NULL;
}

bool es_xattr_split(const char *name, unsigned int *index, const char **suffix)
{
	for (size_t i = 0; i < sizeof(xattr_prefixes) / sizeof(xattr_prefixes[0]); i++) {
		const char *pre = xattr_prefixes[i].prefix;
		size_t plen = text_len(pre), k;

		for (k = 0; k < plen && name[k] == pre[k]; k++)
			;
		/* a whole-name prefix must be all of name, another needs more */
		if (k == plen && (xattr_prefixes[i].whole ? !name[plen] : name[plen])) {
			*index = xattr_prefixes[i].index;
			*suffix = name + plen;
			return true;
		}
	}
	return false;
}

/* Read one entry at pos, not reaching beyond limit, into scratch; report it. */
static int read_entry(const struct es_image *img, uint64_t pos, uint64_t limit,
		      bool shared, es_xattr_cb cb, void *ctx, uint64_t *next,
		      uint8_t *payload, size_t payload_room, struct es_err *err)
{
	uint8_t hdr[EROFS_XATTR_ENTRY_SIZE];
	char name[300];
	unsigned int name_len, index, value_size;
	const char *prefix;
	size_t plen, total;
	int ret;

	if (pos + EROFS_XATTR_ENTRY_SIZE > limit)
		return es_fail(err, -ES_ECORRUPT, "xattr entry header at %llu runs past "
			       "its area", (unsigned long long)pos);
	ret = es_meta_read(img, pos, hdr, sizeof(hdr), err);
	if (ret)
		return ret;
	name_len = hdr[XE_NAME_LEN];
	index = hdr[XE_NAME_INDEX];
	value_size = es_get16(hdr + XE_VALUE_SIZE);
	if (!shared && !name_len && !index && !value_size) {
		*next = pos + EROFS_XATTR_ENTRY_SIZE;	/* zero padding */
		return 0;
	}
	total = (size_t)es_round_up(EROFS_XATTR_ENTRY_SIZE + name_len + value_size, 4);
	if (pos + total > limit)
		return es_fail(err, -ES_ECORRUPT, "xattr entry at %llu (%zu bytes) runs "
			       "past its area", (unsigned long long)pos, total);
	prefix = es_xattr_prefix(index);
	if (!prefix)
		return es_fail(err, -ES_ECORRUPT, "xattr entry at %llu has unknown name "
			       "index %u", (unsigned long long)pos, index);
	if ((size_t)name_len + value_size > payload_room)
		return es_fail(err, -ENOSPC, "xattr entry at %llu needs %u bytes, more than "
			       "the reader's %zu-byte buffer", (unsigned long long)pos,
			       name_len + value_size, payload_room);
	ret = es_meta_read(img, pos + EROFS_XATTR_ENTRY_SIZE, payload,
			   name_len + value_size, err);
	if (!ret) {
		plen = text_len(prefix);
		memcpy(name, prefix, plen);
		memcpy(name + plen, payload, name_len);
		name[plen + name_len] = '\0';
		if (text_len_max(payload, name_len) != name_len)
			ret = es_fail(err, -ES_ECORRUPT, "xattr name contains NUL");
		else if (index >= EROFS_XATTR_INDEX_POSIX_ACL_ACCESS &&
			 index <= EROFS_XATTR_INDEX_POSIX_ACL_DEFAULT && name_len)
			ret = es_fail(err, -ES_ECORRUPT, "ACL xattr with a name suffix");
		else if (!name_len && !(index == EROFS_XATTR_INDEX_POSIX_ACL_ACCESS ||
					index == EROFS_XATTR_INDEX_POSIX_ACL_DEFAULT))
			ret = es_fail(err, -ES_ECORRUPT, "xattr with an empty name");
		else
			ret = cb(ctx, name, payload + name_len, value_size, shared);
	}
	*next = pos + total;
	return ret;
}

int es_xattr_iterate_buf(const struct es_image *img, const struct es_inode *ino,
			 es_xattr_cb cb, void *ctx, uint8_t *scratch, size_t scratch_len,
			 struct es_err *err)
{
	uint64_t body = ino->iloc + ino->inode_isize;
	uint64_t end = body + ino->xattr_isize;
	const uint64_t fs_size = img->devices[0].size;
	uint64_t shared_base = (uint64_t)img->sb.xattr_blkaddr << img->sb.blkszbits;
	uint8_t hdr[EROFS_XATTR_IBODY_HEADER_SIZE];
	unsigned int shared_count;
	uint64_t pos;
	int ret;

	if (!ino->xattr_isize)
		return 0;
	ret = es_meta_read(img, body, hdr, sizeof(hdr), err);
	if (ret)
		goto out;
	shared_count = hdr[XH_SHARED_COUNT];
	pos = body + EROFS_XATTR_IBODY_HEADER_SIZE;
	if (pos + 4ull * shared_count > end) {
		ret = es_fail(err, -ES_ECORRUPT, "%u shared xattr ids do not fit in a "
			      "%u-byte xattr body", shared_count, ino->xattr_isize);
		goto out;
	}
	for (unsigned int i = 0; i < shared_count; i++, pos += 4) {
		uint8_t idb[4];
		uint64_t next;

		ret = es_meta_read(img, pos, idb, 4, err);
		if (ret)
			goto out;
		ret = read_entry(img, shared_base + 4ull * es_get32(idb), fs_size, true,
				 cb, ctx, &next, scratch, scratch_len, err);
		if (ret) {
			if (ret < 0)
				es_err_prefix(err, "shared xattr %u: ", es_get32(idb));
			goto out;
		}
	}
	while (pos < end) {
		ret = read_entry(img, pos, end, false, cb, ctx, &pos, scratch, scratch_len,
				 err);
		if (ret)
			goto out;
	}
out:
	if (ret < 0)
		es_err_prefix(err, "nid %llu: ", (unsigned long long)ino->nid);
	return ret < 0 ? ret : 0;
}

#ifndef ES_FREESTANDING
#include <stdlib.h>

int es_xattr_iterate(const struct es_image *img, const struct es_inode *ino,
		     es_xattr_cb cb, void *ctx, struct es_err *err)
{
	uint8_t *scratch;
	int ret;

	if (!ino->xattr_isize)
		return 0;
	scratch = malloc(ES_XATTR_PAYLOAD_MAX);
	if (!scratch)
		return es_fail(err, -ENOMEM, "out of memory");
	ret = es_xattr_iterate_buf(img, ino, cb, ctx, scratch, ES_XATTR_PAYLOAD_MAX, err);
	free(scratch);
	return ret;
}
#endif
