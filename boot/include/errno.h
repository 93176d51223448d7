/* SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0 */
/*
 * The boot build's <errno.h>: Linux's numbers for the codes the reader
 * returns (there is no errno variable), so that a code means the same in
 * the boot build and in the hosted programs.
 */
#ifndef EROFS_BOOT_ERRNO_H
#define EROFS_BOOT_ERRNO_H

#define EPERM		1
#define ENOENT		2
#define EINTR		4
#define EIO		5
#define ENOMEM		12
#define EACCES		13
#define EXDEV		18
#define ENODEV		19
#define ENOTDIR		20
#define EISDIR		21
#define EINVAL		22
#define EFBIG		27
#define ENOSPC		28
#define EROFS		30
#define ERANGE		34
#define ENAMETOOLONG	36
#define ELOOP		40
#define ENODATA		61
#define EBADMSG		74
#define EOVERFLOW	75
#define EOPNOTSUPP	95
#define EUCLEAN		117
#define ENOKEY		126
#define EKEYREJECTED	129

#endif
