// SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0
/*
 * Member names of a tar stream.  A name is taken apart into components
 * and put back together without the ones that mean nothing ("", ".");
 * ".." is refused rather than resolved: a layer that climbs out of its
 * root is hostile or broken, and resolving it would make the image differ
 * from what an extraction guarded against it gives.  A leading '/' is
 * dropped, as GNU tar and erofs-utils do.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "erofs/format.h"
#include "tarname.h"

#define WHITEOUT_PREFIX ".wh."
#define WHITEOUT_META_PREFIX ".wh..wh."
#define WHITEOUT_OPAQUE ".wh..wh..opq"

int wb_tar_normalize(const char *path, char **out)
{
	size_t len = strlen(path), o = 0;
	char *res = malloc(len + 1);

	if (!res)
		return -ENOMEM;
	for (size_t i = 0; i < len;) {
		size_t j = i;

		while (j < len && path[j] != '/')
			j++;
		if (j - i == 2 && path[i] == '.' && path[i + 1] == '.') {
			free(res);
			return -EINVAL;
		}
		if (j - i > EROFS_NAME_MAX) {
			free(res);
			return -ENAMETOOLONG;
		}
		if (j > i && !(j - i == 1 && path[i] == '.')) {
			if (o)
				res[o++] = '/';
			memcpy(res + o, path + i, j - i);
			o += j - i;
		}
		i = j + 1;
	}
	res[o] = '\0';
	*out = res;
	return 0;
}

enum wb_tar_whiteout wb_tar_whiteout_kind(const char *base, size_t len, const char **target,
					  size_t *tlen)
{
	const size_t plen = sizeof(WHITEOUT_PREFIX) - 1;

	if (len < plen || memcmp(base, WHITEOUT_PREFIX, plen))
		return WB_TAR_PLAIN;
	if (len == sizeof(WHITEOUT_OPAQUE) - 1 && !memcmp(base, WHITEOUT_OPAQUE, len))
		return WB_TAR_OPAQUE;
	if (len >= sizeof(WHITEOUT_META_PREFIX) - 1 &&
	    !memcmp(base, WHITEOUT_META_PREFIX, sizeof(WHITEOUT_META_PREFIX) - 1))
		return WB_TAR_AUFS_META;
	*target = base + plen;
	*tlen = len - plen;
	if (!*tlen || (*tlen == 1 && base[plen] == '.') ||
	    (*tlen == 2 && base[plen] == '.' && base[plen + 1] == '.'))
		return WB_TAR_BAD;
	return WB_TAR_WHITEOUT;
}
