/* SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0 */
/*
 * Names of tar members (tarname.c): what a path in an archive means for
 * the image, free of any I/O so the unit tests can pin it down.
 */
#ifndef WB_TARNAME_H
#define WB_TARNAME_H

#include <stdbool.h>
#include <stddef.h>

/*
 * The path of a member relative to the image root in *out (malloc'd; ""
 * for the root itself): leading '/' and "./" removed, "//" and "."
 * components dropped, a trailing '/' ignored.  -EINVAL for a ".."
 * component (a member that would land outside the tree) or a component
 * longer than EROFS allows (-ENAMETOOLONG); -ENOMEM.
 */
int wb_tar_normalize(const char *path, char **out);

enum wb_tar_whiteout {
	WB_TAR_PLAIN,		/* an ordinary name */
	WB_TAR_WHITEOUT,	/* ".wh.NAME": NAME is deleted from the layers below */
	WB_TAR_OPAQUE,		/* ".wh..wh..opq": the directory hides what is below */
	WB_TAR_AUFS_META,	/* another ".wh..wh." name: AUFS bookkeeping */
	WB_TAR_BAD,		/* ".wh." with no name, or naming "." or ".." */
};

/* What the last component base (len bytes) of a member says about overlays;
 * for a whiteout, *target and *tlen name the file it deletes. */
enum wb_tar_whiteout wb_tar_whiteout_kind(const char *base, size_t len, const char **target,
					  size_t *tlen);

#endif
