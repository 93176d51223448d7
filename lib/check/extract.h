/* SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0 */
/*
 * Writing an extracted tree.  Every call works relative to a directory
 * file descriptor with names that the reader has validated (no '/', no
 * NUL, not "." or ".."), with O_NOFOLLOW/O_EXCL, so nothing is written
 * outside the extraction directory whatever the image says.
 */
#ifndef ES_EXTRACT_H
#define ES_EXTRACT_H

#include <stdbool.h>
#include <sys/types.h>
#include "erofs/image.h"

/* *created: dir did not exist before (its metadata is ours to set) */
int es_extract_root(const char *dir, int *fd, bool *created, struct es_err *err);
/*
 * Open name below parentfd again, as a directory, without following a
 * symlink, and only if it is still the directory (dev, ino) that was
 * created there; what names it in messages.
 */
int es_extract_reopen_dir(int parentfd, const char *name, dev_t dev, ino_t ino,
			  const char *what, int *fd, struct es_err *err);
/*
 * A directory, made with the permission bits of perm, less the umask
 * (*made), or with --overwrite one that is there already (its mode as it
 * was).
 */
int es_extract_mkdir(int parentfd, const char *name, bool overwrite, mode_t perm, int *fd,
		     bool *made, struct es_err *err);
/*
 * Create a non-directory (regular files get *outfd open for writing, made
 * with the permission bits of perm, less the umask; others with 0600).
 */
int es_extract_create(int parentfd, const char *name, const struct es_inode *ino,
		      bool overwrite, mode_t perm, int *outfd, struct es_err *err);
/* How much of a file's stored bytes es_extract_data() reads. */
enum es_data_reads {
	ES_READ_NONE,		/* map every extent (its range checked), read none */
	ES_READ_ENCODED,	/* read (decode) only compressed extents: the others'
				   bytes were checked already, against the seal */
	ES_READ_ALL,
};

/*
 * Map every extent of a file (a device that was not given is an error
 * whatever reads says) and read what reads says (and so check it);
 * with outfd >= 0 (and ES_READ_ALL) write the file there, holes and
 * all-zero blocks left as holes.  buf: ES_EXTRACT_BUF_SIZE bytes.  tail:
 * a flat file's inline tail (ino->tail_len bytes) when the caller read it
 * already (the walk, whose metadata cache holds the inode's block), or NULL.
 */
/* small enough that each thread's buffer is few pages to fault in (costly
   in VMs that hand freed memory back), large enough for few writes */
#define ES_EXTRACT_BUF_SIZE (1u << 18)
int es_extract_data(const struct es_image *img, const struct es_inode *ino, int outfd,
		    enum es_data_reads reads, const uint8_t *tail, uint8_t *buf,
		    struct es_err *err);
/*
 * es_extract_data() in pieces, which threads may do at once: the file's
 * bytes [from, to) (whatever extents they cross), *written_end past the
 * last byte written (0: none); once every piece is done,
 * es_extract_size() gives the file its size if no write reached it.
 */
int es_extract_range(const struct es_image *img, const struct es_inode *ino, int outfd,
		     enum es_data_reads reads, const uint8_t *tail, uint8_t *buf, uint64_t from,
		     uint64_t to, uint64_t *written_end, struct es_err *err);
int es_extract_size(int outfd, const struct es_inode *ino, uint64_t written_end,
		    struct es_err *err);
int es_extract_symlink(const struct es_image *img, const struct es_inode *ino,
		       int parentfd, const char *name, bool overwrite, uint8_t *buf,
		       struct es_err *err);
/* target_rel: path of the first name below rootfd, walked component-wise */
int es_extract_link(int rootfd, const char *target_rel, int parentfd, const char *name,
		    bool overwrite, struct es_err *err);
/*
 * A regular file whose data could not be written whole: emptied through
 * fd and, if target_rel (as for es_extract_link()) still names it below
 * rootfd (>= 0), removed.
 */
int es_extract_discard(int rootfd, const char *target_rel, int fd, struct es_err *err);
/* name == NULL: fd is the object itself (an open directory or file) */
int es_extract_owner(int parentfd, const char *name, int fd, const struct es_inode *ino,
		     struct es_err *err);
/* name == NULL: parentfd is the object itself */
int es_extract_xattr(int parentfd, const char *name, const char *xname,
		     const uint8_t *value, size_t len, struct es_err *err);
/*
 * Mode (the bits of mode_mask; with fd >= 0 only if set_mode: a file
 * created with its final mode needs none) and times; closes fd if it is
 * >= 0 (name, which may then be NULL, only names it in messages).
 */
int es_extract_finish(int parentfd, const char *name, int fd, const struct es_inode *ino,
		      unsigned int mode_mask, bool set_mode, struct es_err *err);

#endif
