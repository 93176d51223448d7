/* SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0 */
/*
 * The reader: one implementation shared by fsck, dump, verify and the boot
 * reader.  Every structure it touches is validated before use; a hostile
 * image produces an error with a message, never an out-of-bounds access.
 */
#ifndef EROFS_IMAGE_H
#define EROFS_IMAGE_H

#include <stdbool.h>
#include <stdint.h>
#include "erofs/err.h"
#include "erofs/format.h"
#include "erofs/io.h"
#include "erofs/super.h"

struct es_device {
	bool present;		/* the source has it (es_image_probe_devices) */
	uint64_t size;		/* bytes readable (device size, or fs region) */
	uint32_t table_blocks;	/* from the device table (0 = unknown) */
	uint32_t uniaddr;	/* start in the unified address space */
	uint8_t tag[64];
};

struct es_image {
	struct es_io io;	/* where every byte comes from */
	bool owns_io;		/* es_image_close() closes io */
	uint64_t file_size;	/* size of device 0, the image file */
	struct es_super sb;
	unsigned int ndevices;	/* 1 + extra devices; [0] is the image */
	struct es_device *devices;
	bool explicit_devices;	/* the source has devices beyond 0 */
	/* an encrypted image (ES_INCOMPAT_ENCRYPTED): NULL while locked */
	const struct es_decryptor *dec;
	/* decompression of compressed extents: NULL, they fail to read */
	struct es_decoder *decoder;
	bool owns_decoder;	/* es_image_close() frees decoder */
#ifdef ES_FREESTANDING
	/*
	 * One block (1 << ES_MAX_BLKSZBITS bytes) of the caller's memory in
	 * which es_dev_read_decrypted() decrypts a block that is read in
	 * part; hosted builds take it from the stack, the boot reader's
	 * stack is too small for it on top of a directory block.
	 */
	uint8_t *bounce;
#endif
	/* the stored bytes failed their Merkle tree: none reaches a decoder */
	bool decode_refused;
#ifndef ES_FREESTANDING
	/*
	 * The last metadata blocks read (decrypted, in an encrypted image),
	 * so that the many small reads of one block (an inode, its xattrs
	 * and inline data, a chunk table) fetch and decrypt it once: NULL
	 * for none.  Each image (and each fork, one per thread) has its own.
	 */
	struct es_meta_cache *mcache;
#endif
};

static inline bool es_image_encrypted(const struct es_image *img)
{
	return img->sb.feature_incompat & ES_INCOMPAT_ENCRYPTED;
}

/*
 * Opening an image over a source takes three steps, so that a caller
 * without a heap can provide the memory in between:
 *
 *   es_image_read_super()     the superblock, from device 0
 *   es_image_read_devices()   the device table, into 1 + sb.extra_devices
 *                             entries the caller provides
 *   es_image_probe_devices()  which devices the source has, and their sizes
 *                             (a device shorter than its table entry is an
 *                             error, a missing one only when it is needed)
 *
 * img is the caller's; it copies *io, which must stay usable while img is.
 */
int es_image_read_super(struct es_image *img, const struct es_io *io, struct es_err *err);
int es_image_read_devices(struct es_image *img, struct es_device *devices,
			  struct es_err *err);
int es_image_probe_devices(struct es_image *img, struct es_err *err);

#ifndef ES_FREESTANDING
/*
 * Hosted: all three steps with allocated memory; free with
 * es_image_close().  The image does not own io.
 */
int es_image_open_io(struct es_image **out, const struct es_io *io, struct es_err *err);
/*
 * The first two steps with allocated memory; with take_io the image owns
 * io (also when this fails).  For openers that attach devices to their
 * source once the device table is known.
 */
int es_image_load(struct es_image **out, const struct es_io *io, bool take_io,
		  struct es_err *err);

/*
 * Open an image or a blob for reading.  Only a regular file or a block
 * device is accepted: a FIFO would block open() and every read, other
 * kinds hold no image.  Returns the descriptor (close-on-exec) and sets
 * *size unless NULL (the file size, or the device size from BLKGETSIZE64);
 * or returns
 * a negative errno with a message naming the path and what it is.
 */
int es_open_input(const char *path, uint64_t *size, struct es_err *err);

/* The image file at path, its devices as opts says (lib/io_file.c). */
int es_image_open(struct es_image **out, const char *path,
		  const struct es_open_opts *opts, struct es_err *err);
/*
 * opts gives no more device paths than img has extra devices (for an
 * opener that attached them to its source before reading the image:
 * es_io_file_open_opts()); -EINVAL with a message otherwise.
 */
int es_image_check_device_paths(const struct es_image *img,
				const struct es_open_opts *opts, struct es_err *err);
/*
 * A reader of img for another thread: the same source (which must allow
 * reads from several threads at once, as the file source does), devices
 * and settings, and a decompression work area of its own.  Its decryption
 * stage is still img's, which serves one thread at a time: give it one of
 * its own (es_unlocked_attach(), es_unlocked_fork()).  img must outlive
 * it; free it with es_image_close().
 */
int es_image_fork(const struct es_image *img, struct es_image **out, struct es_err *err);
void es_image_close(struct es_image *img);
#endif

struct es_inode {
	uint64_t nid;
	uint64_t iloc;		/* absolute byte offset of the inode */
	bool extended;
	unsigned int layout;
	uint16_t format;
	uint16_t mode;
	uint16_t xattr_icount;
	uint32_t inode_isize;
	uint32_t xattr_isize;
	uint64_t size;
	uint32_t uid, gid, nlink;
	int64_t mtime;
	uint32_t mtime_nsec;
	uint32_t raw_u;		/* i_u: start block, rdev or chunk format */
	uint32_t ino;		/* informational i_ino */
	/* derived from the layout */
	uint32_t startblk;	/* FLAT_*: first data block */
	uint64_t nblocks;	/* FLAT_*: blocks outside the inode */
	uint64_t tail_pos;	/* FLAT_INLINE: absolute offset of the tail */
	uint32_t tail_len;
	unsigned int chunkbits;	/* CHUNK_BASED */
	bool chunk_indexes;	/* 8-byte entries with device ids */
	uint64_t chunk_table_pos;
	uint64_t nchunks;
	uint64_t meta_end;	/* first byte after this inode's metadata */
	/* COMPRESSED_FULL / COMPRESSED_COMPACT (lib/read/zmap.c) */
	uint16_t z_advise;		/* map header h_advise */
	uint8_t z_algs[2];		/* algorithm of HEAD1 and HEAD2 extents */
	unsigned int lclusterbits;
	uint64_t nlclusters;		/* index entries: one per lcluster */
	uint64_t zindex_pos;		/* first index entry */
	uint64_t zindex_end;		/* end of the index (whole packs) */
	uint32_t z_init4, z_n2b;	/* compact: entries in the first 4B packs,
					   then in 2B packs */
	uint64_t zinline_pos;		/* ztailpacking: the tail's pcluster */
	uint32_t zinline_size;
};
/*
 * What an extent's stored bytes are, and so which stages of the data path
 * (map -> fetch -> verify -> transform, see es_read) they go through.
 */
enum es_extent_flag {
	ES_EXTENT_MAPPED	= 1u << 0,	/* bytes are stored; else a hole (zeros) */
	ES_EXTENT_INLINE	= 1u << 1,	/* stored in the metadata next to the
						 * inode (device 0), not block-aligned */
	ES_EXTENT_ENCODED	= 1u << 2,	/* stored transformed by algorithm
						 * (compressed): plen bytes give llen */
	ES_EXTENT_ENCRYPTED	= 1u << 3,	/* stored encrypted */
};

/* With ES_EXTENT_ENCODED: how the stored bytes decode. */
enum es_extent_algorithm {
	ES_ALG_NONE = 0,
	/* with ES_EXTENT_ENCRYPTED: AES-256-XTS under the chunk's own key,
	   tweak = 4 KiB unit inside the chunk (pstart is the chunk's start) */
	ES_ALG_XTS_CHUNK = 1,
	/* with ES_EXTENT_ENCRYPTED: AES-256-XTS under the image's metadata
	   key, tweak = block number on device 0 */
	ES_ALG_XTS_META = 2,
};

/*
 * The transform stage of an encrypted image, once it is unlocked
 * (lib/keys/unlock.c hosted; a boot loader brings its own).  Both decrypt
 * one 4 KiB block in place; the reader has fetched it, and the caller of
 * the reader has checked it against its Merkle tree.
 */
struct es_decryptor {
	/* block blkno of device 0 (metadata, symlink and directory blocks) */
	int (*meta)(void *ctx, uint64_t blkno, uint8_t *block, struct es_err *err);
	/* 4 KiB unit `unit` of the chunk whose first block is chunk_block on
	   device dev */
	int (*chunk)(void *ctx, unsigned int dev, uint64_t chunk_block, uint64_t unit,
		     uint8_t *block, struct es_err *err);
	void *ctx;
};

/*
 * The decompression stage: with ES_EXTENT_ENCODED, ext->codec is an enum
 * es_compr_alg (run by the image's es_decoder) or one of these, which the
 * reader undoes itself.
 */
#define ES_CODEC_INTERLACED	0x100u	/* a raw block rotated by the extent's
					   offset in it (advise INTERLACED) */

/* The last extent decoded, kept in the decoder's work area. */
struct es_decode_cache {
	uint8_t *mem;		/* plen stored bytes, then llen decoded bytes */
	size_t size;
	bool valid;
	unsigned int device, codec;
	uint64_t pstart, plen, llen;
};

/*
 * The transform stage of compressed images, like es_decryptor: hosted
 * implementations in lib/decode.c (es_decoder_new()); a boot loader brings
 * its own.  A decoder serves one thread at a time (its work area).
 */
struct es_decoder {
	/*
	 * Decode the stream in[0, inlen) of algorithm alg (enum
	 * es_compr_alg) into out, producing at most outlen bytes; *produced
	 * says how many.  A stream that would produce more fails with
	 * -ES_ECORRUPT, as does a malformed one.  trailing: in may hold
	 * bytes after the stream (LZ4 without 0PADDING).
	 */
	int (*decode)(void *ctx, unsigned int alg, const uint8_t *in, size_t inlen,
		      uint8_t *out, size_t outlen, bool trailing, size_t *produced,
		      struct es_err *err);
	/* a work area of at least size bytes (the contents of the last one
	   kept when it is big enough), or NULL with err set */
	struct es_decode_cache *(*work)(void *ctx, size_t size, struct es_err *err);
	void *ctx;
};

/* One contiguous piece of a file: logical range and where its bytes are. */
struct es_extent {
	uint64_t lstart;
	uint64_t llen;
	unsigned int flags;	/* enum es_extent_flag */
	unsigned int algorithm;	/* enum es_extent_algorithm */
	unsigned int device;
	uint64_t pstart;	/* byte offset on the device */
	uint64_t plen;		/* bytes stored (block-rounded, except inline) */
	uint64_t chunk;		/* chunk number for chunk-based inodes */
	unsigned int codec;	/* with ES_EXTENT_ENCODED: enum es_compr_alg or
				   ES_CODEC_* */
};

/* Read len bytes at byte offset off of device dev; fails if out of range. */
int es_dev_read(const struct es_image *img, unsigned int dev, uint64_t off,
		void *buf, size_t len, struct es_err *err);
/*
 * Read bytes of an encrypted device through the image's decryption stage:
 * every block fetched whole (whole blocks straight into buf), decrypted,
 * the requested bytes copied out.  chunk_first: the first block of the run
 * of chunks they belong to, each chunk 1 << chunk_shift blocks (the last
 * may be shorter): keyed convergent, tweak = block - its chunk's first
 * block.  Or ES_META_BLOCKS for blocks under the metadata key (tweak =
 * block number; block 0 is plain).  -EACCES while the image is locked.
 */
#define ES_META_BLOCKS	UINT64_MAX
int es_dev_read_decrypted(const struct es_image *img, unsigned int dev, uint64_t off,
			  void *buf, size_t len, uint64_t chunk_first, unsigned int chunk_shift,
			  struct es_err *err);
/* Read image metadata (device 0, inside the filesystem's blocks). */
int es_meta_read(const struct es_image *img, uint64_t off, void *buf,
		 size_t len, struct es_err *err);

int es_inode_read(const struct es_image *img, uint64_t nid,
		  struct es_inode *ino, struct es_err *err);

/* Map the extent containing logical byte off (off < size). */
int es_map(const struct es_image *img, const struct es_inode *ino,
	   uint64_t off, struct es_extent *ext, struct es_err *err);
/*
 * Like es_map, but for chunk-based files extend the extent over following
 * chunks that continue it (holes after holes, blocks right after blocks on
 * the same device), up to about max_len bytes: fewer, larger reads.
 */
int es_map_run(const struct es_image *img, const struct es_inode *ino,
	       uint64_t off, uint64_t max_len, struct es_extent *ext, struct es_err *err);
/*
 * Stage by stage, for callers that verify stored bytes themselves: fetch
 * reads the ext->plen stored bytes of a mapped extent (decrypted when it
 * is encrypted); decode turns them into its ext->llen bytes (stored is
 * changed for interlaced extents).  A length that differs from the
 * extent's is an error naming the pcluster.
 */
int es_extent_fetch(const struct es_image *img, const struct es_inode *ino,
		    const struct es_extent *ext, uint8_t *stored, struct es_err *err);
int es_extent_decode(const struct es_image *img, const struct es_inode *ino,
		     const struct es_extent *ext, uint8_t *stored, uint8_t *out,
		     struct es_err *err);
/*
 * Bytes [skip, skip + len) of what extent ext (from es_map or es_map_run)
 * holds for the file: zeros for a hole, else its stored bytes through the
 * stages they need.
 */
int es_extent_read(const struct es_image *img, const struct es_inode *ino,
		   const struct es_extent *ext, uint64_t skip, void *buf, size_t len,
		   struct es_err *err);
/*
 * Read file bytes [off, off+len), holes read as zeros.  Each piece goes
 * through the data path: map (es_map), fetch the stored bytes, verify them,
 * transform them (decrypt, decode).  Extents that need a stage this reader
 * does not have yet fail with -EOPNOTSUPP.
 */
int es_read(const struct es_image *img, const struct es_inode *ino,
	    uint64_t off, void *buf, size_t len, struct es_err *err);

/* lib/read internals shared between its files. */
int es_zmap_init(const struct es_image *img, struct es_inode *ino, uint64_t body,
		 struct es_err *err);
int es_zmap(const struct es_image *img, const struct es_inode *ino, uint64_t off,
	    struct es_extent *ext, struct es_err *err);
/* A block address of the unified address space: which device, which block. */
void es_resolve_blkaddr(const struct es_image *img, uint64_t blkaddr,
			unsigned int *dev, uint64_t *blk);

/*
 * Directory iteration, validating every block: entry count, name bounds,
 * name length 1..255, no '/' or NUL, file type, strict byte order across
 * the whole directory.  The callback returns 0 to go on, >0 to stop, <0 on
 * error.
 */
typedef int (*es_dirent_cb)(void *ctx, const uint8_t *name, unsigned int namelen,
			    uint64_t nid, unsigned int file_type);
int es_dir_iterate(const struct es_image *img, const struct es_inode *dir,
		   es_dirent_cb cb, void *ctx, struct es_err *err);

/* Resolve an absolute path ("/a/b"; "/" is the root) to a nid. */
int es_lookup(const struct es_image *img, const char *path, uint64_t *nid,
	      struct es_err *err);

/* The short prefix of an xattr name index, NULL if unknown. */
const char *es_xattr_prefix(unsigned int index);
/* Split a full name into index + suffix; false if EROFS cannot store it. */
bool es_xattr_split(const char *name, unsigned int *index, const char **suffix);

/*
 * Extended attributes: full name as the user sees it ("user.foo",
 * "system.posix_acl_access"), NUL-terminated, and the raw value.
 */
typedef int (*es_xattr_cb)(void *ctx, const char *name, const uint8_t *value,
			   size_t value_len, bool shared);
/*
 * The name suffix and value of one entry are read into scratch: an entry
 * larger than scratch_len bytes fails with -ENOSPC.  ES_XATTR_PAYLOAD_MAX
 * bytes hold any entry the format can describe.
 */
#define ES_XATTR_PAYLOAD_MAX	(255u + 65535u)
int es_xattr_iterate_buf(const struct es_image *img, const struct es_inode *ino,
			 es_xattr_cb cb, void *ctx, uint8_t *scratch, size_t scratch_len,
			 struct es_err *err);
#ifndef ES_FREESTANDING
/* The same with a buffer of its own. */
int es_xattr_iterate(const struct es_image *img, const struct es_inode *ino,
		     es_xattr_cb cb, void *ctx, struct es_err *err);
#endif

/* memcmp order; a shorter name sorts before a longer one it prefixes. */
int es_name_cmp(const uint8_t *a, unsigned int alen, const uint8_t *b,
		unsigned int blen);

/* File type from a mode, as EROFS stores it in dirents. */
unsigned int es_mode_to_ftype(uint16_t mode);
const char *es_layout_name(unsigned int layout);
/* Linux "new" device number encoding used in i_u. */
uint32_t es_encode_rdev(uint32_t major, uint32_t minor);
void es_decode_rdev(uint32_t raw, uint32_t *major, uint32_t *minor);

#endif
