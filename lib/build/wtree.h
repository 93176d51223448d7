/* SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0 */
/*
 * The builder's in-memory tree, shared by scan, plan and write.  What is
 * private to the builder is named wb_ (functions) and w* (types); es_ is
 * the public API of include/erofs/build.h.
 */
#ifndef WB_WTREE_H
#define WB_WTREE_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include "erofs/build.h"
#include "erofs/err.h"
#include "erofs/io.h"
#include "base/hashmap.h"
#include "io.h"

struct wnode;

struct wxattr {
	unsigned int index;		/* EROFS short prefix index */
	uint8_t *suffix;
	unsigned int suffix_len;
	uint8_t *value;
	unsigned int value_len;
	int64_t shared_id;		/* -1: stored inline */
};

struct wdentry {
	uint8_t *name;
	unsigned int len;
	uint8_t dtype;			/* a directory scan's d_type hint, or DT_UNKNOWN */
	struct wnode *node;
};

struct wnode {
	uint16_t mode;
	uint32_t uid, gid;
	int64_t mtime;
	uint32_t mtime_nsec;
	uint64_t size;
	uint32_t rdev;			/* encoded for i_u */
	uint32_t nlink;
	dev_t src_dev;
	ino_t src_ino;

	struct wxattr *xattrs;		/* sorted by (index, suffix) */
	unsigned int nxattrs;
	uint32_t xattr_isize;
	uint16_t xattr_icount;

	struct wnode *parent;		/* directories */
	struct wdentry *children;	/* sorted, without "." and ".." */
	size_t nchildren;

	unsigned int layout;
	bool extended;
	uint8_t *tail;			/* inline bytes (file tail, symlink target) */
	uint32_t tail_len;
	bool tail_inline;		/* tail lives next to the inode */
	bool tail_deferred;		/* its block is placed after the file data */
	bool tail_in_arena;		/* tail lies in the build's tail arena */
	uint32_t startblk;		/* FLAT: first data block */
	uint64_t nblocks;		/* FLAT: blocks outside the inode */

	uint16_t chunkfmt;
	uint64_t nchunks;		/* chunks, or lclusters when compressed */
	uint8_t *chunk_table;		/* encoded entries: chunk table, or the
					   full lcluster indexes when compressed */
	uint32_t zblocks;		/* compressed: physical blocks it owns */
	uint16_t *zdevs;		/* compressed: device of each head's pcluster
					   (0: device 0; else provisional, then
					   final, device id) */

	uint64_t meta_pos;		/* byte offset from the metadata base */
	uint64_t nid;
	uint32_t seq;			/* i_ino, BFS order from 1 */
	bool queued;
	struct wnode *next_all;		/* every node, in creation order */
};

struct dedup_map;

/* the builder's buffer for data copies and hashing */
#define WBUILD_IOBUF_SIZE (1u << 20)
/* chunks read ahead, hashed and encrypted in parallel (pipeline.c); holds
   at least one chunk of the largest size it takes (WBUILD_IOBUF_SIZE) */
#define WPIPE_WINDOW_SIZE (4u << 20)

/* A device of the image being built (index 0 is the filesystem region). */
struct wdevice {
	uint8_t digest[32];
	uint64_t size;
	uint8_t *tree;
	size_t tree_len;
	bool referenced;
	/* dictionary blobs: device dict_dev of chunk dictionary dict (the
	   first that listed it); ready once its stored tree, checked against
	   digest, is in tree and reads of it are checked against that tree */
	unsigned int dict, dict_dev;
	bool ready;
	uint64_t mapped_blkaddr;	/* its start in the unified address space */
};

/*
 * A chunk dictionary, open for the whole build.  Its blobs are read only
 * through vio, which checks every block read against the blob's stored
 * tree, so the build takes no dictionary byte that is not the one the
 * dictionary's manifest vouches for.
 */
struct es_seal;
struct es_vread;
struct wdict {
	const char *path;
	struct es_io io;		/* the image; its blobs found in --blob-dir */
	struct es_seal *seal;		/* checked as erofs-verify checks it */
	struct es_vread *vread;
	struct es_io vio;		/* io, through vread */
};

/* A file the scan leaves out: an output of this build. */
struct wfile_id {
	dev_t dev;
	ino_t ino;
};
#define WBUILD_MAX_OUTPUTS 5

/*
 * The device table: in block 0 right after the superblock while it fits
 * there (23 slots), else in blocks of its own between the data and the
 * metadata, where devt_slotoff (16 bits, in 128-byte slots) can reach it.
 */
#define WB_DEVT_BLOCK0_POS 1152u
#define WB_DEVT_MAX_POS ((uint64_t)UINT16_MAX * 128u)

/* Provisional device ids during the scan: 1 = the new blob, 2 + k = dict blob k. */
#define WDEV_NEW_BLOB 1
#define WDEV_DICT_BASE 2

struct wbuild {
	const struct es_build_opts *opts;
	struct es_build_stats *stats;
	struct es_err *err;
	unsigned int blkszbits;
	uint32_t blksz;
	int64_t epoch;
	bool clamp_mtime;		/* SOURCE_DATE_EPOCH semantics */
	int image_fd;
	int blob_fd;			/* -1 without a blob device or directory */
	uint64_t data_next;		/* next free block on device 0 */
	uint64_t blob_next;		/* next free block on device 1 */
	uint64_t chunksize;		/* effective: 0 = flat files */
	bool uses_chunks;
	struct dedup_map *dedup;
	uint8_t *iobuf;			/* WBUILD_IOBUF_SIZE + one block */
	struct wnode *root;
	struct wnode *all;		/* list of all nodes */
	struct wnode **order;		/* BFS order, nnodes entries */
	uint64_t nnodes;
	struct hmap links;		/* the scan's (dev, ino) of hard links */
	void *regexes;			/* regex_t[] */
	struct wfile_id outputs[WBUILD_MAX_OUTPUTS];
	unsigned int noutputs;
	/* chunk dictionaries, and their blobs by provisional id - WDEV_DICT_BASE */
	struct wdict *dicts;
	unsigned int ndicts;
	struct wdevice *dict_blobs;
	unsigned int ndict_blobs;
	/* final devices, [0] = filesystem region */
	struct wdevice *devices;
	unsigned int ndevices;
	bool new_blob;			/* devices[1] is the blob this build wrote */
	uint64_t devt_pos;		/* byte offset of the device table (planner) */
	uint8_t uuid[16];		/* as written to the superblock */
	struct wcrypt *crypt;		/* NULL unless the image is encrypted */
	struct wpipe *pipe;		/* chunks read but not yet placed */
	/* the -j threads, shared by the pipeline and the compressor (one
	   loop at a time: both run on the building thread's call) */
	struct es_workpool *pool;
	struct es_writeback writeback[2];	/* of the image, of the blob */
	/* compression (zfile.c), NULL without -z */
	struct wz_encoder *zenc;
	uint32_t pcluster_max;		/* bytes */
	bool uses_compression;		/* some file is stored compressed */
	bool big_pclusters;		/* pcluster_max > one block */
	struct wzfile *zfile;		/* the current file's extents and pclusters */
	struct wcopy *copy;		/* flat files copied in the background */
	struct wtail_chunk *tail_arena;	/* inline tails of flat files */
	/* shared xattrs, encoded */
	uint8_t *shared_area;
	uint64_t shared_len;
};

/* -ECANCELED (with a message in err) once the front end asked the build
 * to stop; any thread may ask. */
static inline int wb_cancel_check(const struct es_build_opts *o, struct es_err *err)
{
	if (o->cancel && *o->cancel)
		return es_fail(err, -ECANCELED, "interrupted: the build was stopped "
			       "and its temporary files removed");
	return 0;
}

static inline int wb_poll_cancel(struct wbuild *b)
{
	return wb_cancel_check(b->opts, b->err);
}

bool wb_all_zero(const uint8_t *p, size_t len);
/* len bytes of file data at byte off of the image or the blob */
int wb_write_data(struct wbuild *b, bool to_blob, const void *buf, size_t len, uint64_t off);
/*
 * The dedup decision for chunk index of n (len bytes, read and identified:
 * digest, and key = its dedup key): its chunk table entry, a hole when
 * zero.  *store: it is new, and its blocks go to the next free blocks
 * (which this reserves).  plain: the bytes, for checking a dictionary.
 * dict: NULL, or (encrypted builds) where a dictionary chunk's first use
 * is handed back instead of checked (dict->pending): the caller checks it
 * (wb_crypt_dict_chunk, or the same work in parallel) before the build
 * goes on.
 */
struct wdict_use {
	bool pending;
	uint16_t dev;
	uint32_t blkaddr;
};
int wb_chunk_place(struct wbuild *b, struct wnode *n, uint64_t index, uint64_t len, bool zero,
		   const uint8_t digest[32], const uint8_t key[32], const uint8_t *plain,
		   const char *what, bool *store, struct wdict_use *dict);

/* pipeline.c: the window of chunks on their way to the output */
int wb_pipe_init(struct wbuild *b);
void wb_pipe_free(struct wbuild *b);
/* After the data region is complete: the windows' memory goes back. */
void wb_pipe_release_windows(struct wbuild *b);
/* whether a chunk of len bytes fits the window before it is committed */
bool wb_pipe_has_room(const struct wbuild *b, uint32_t len);
/* a zero-padded buffer in the window for chunk index of n (len bytes,
   at most WBUILD_IOBUF_SIZE, with room for it), to read into; the buffers
   of consecutive reservations follow each other when each is full blocks */
int wb_pipe_reserve(struct wbuild *b, struct wnode *n, uint64_t index, uint32_t len,
		    const char *what, uint8_t **buf);
/* place and write every chunk in the window, in the order they came;
   before anything else takes blocks of the data region */
int wb_pipe_flush(struct wbuild *b);
/* a full window: identified while the next one is filled (helper threads),
   or flushed */
int wb_pipe_rotate(struct wbuild *b);
/* the fs-verity digests of the blob's blocks [0, blob_next), made as the
   windows were written; NULL when something else wrote blocks of it */
const uint8_t *wb_pipe_blob_leaves(const struct wbuild *b);
/* blob blocks were written outside the windows: no digests are kept */
void wb_pipe_leaves_void(struct wbuild *b);
/*
 * Where a regular file's bytes come from: a file of the source tree (read
 * with pread, holes found with SEEK_DATA), or a tar entry's data, which
 * arrives once, in order (scan_tar.c).
 */
struct wstream;
struct es_super;
struct wsource {
	int fd;				/* -1 for a stream */
	struct wstream *stream;
	/* streams: the lowest offset a later read may go back to (the bytes
	   from there on are kept in memory); UINT64_MAX: forward only */
	uint64_t rewind_to;
	/* fd may be taken over (then set to -1): the caller closes it only
	   while it is still there */
	bool give_fd;
	/* the descriptor's st_blocks, when the caller has them (no fstat) */
	bool have_blocks;
	uint64_t blocks;
};

/* A stream keeps at most about this many bytes for a compressed file's
 * second pass: past it, zfile.c commits the file to being compressed. */
#define WB_STREAM_REWIND_MAX (16u << 20)

int wb_scan_tree(struct wbuild *b);
/* scan.c, for both sources: a node with st's attributes (the build's
   owner and time options applied), on the list of all nodes */
struct wnode *wb_new_node(struct wbuild *b, const struct stat *st);
/* n's symlink target (target is n's from then on, len bytes, 1..4095) */
int wb_set_symlink(struct wbuild *b, struct wnode *n, char *target, uint32_t len,
		   const char *what);
/* qsort order of a directory's entries (struct wdentry) */
int wb_dentry_cmp(const void *a, const void *b);
/* the --exclude-path/--exclude-regex options match rel (no leading '/') */
bool wb_excluded(struct wbuild *b, const char *rel);
/* scan_tar.c: the tree from a tar stream (opts->tar_path or tar_fd) */
int wb_scan_tar(struct wbuild *b);
int wb_ingest_regular(struct wbuild *b, struct wnode *n, struct wsource *src,
		      const char *what);
/*
 * len bytes of the file at off into buf; a read error, or a file that
 * shrank since the scan, is an error naming what (the source changed
 * during the build: -EAGAIN; a truncated tar stream: -EIO).
 */
int wb_read_exact(struct wbuild *b, struct wsource *src, void *buf, size_t len,
		  uint64_t off, const char *what);
/*
 * The same into err, from any thread for a descriptor (a stream is read
 * on the building thread only, and fails into b->err); with probe (1),
 * buf has a byte more of room and a byte found past len means the file
 * grew: -EAGAIN.
 */
int wb_read_checked(struct wbuild *b, struct wsource *src, void *buf, size_t len,
		    size_t probe, uint64_t off, struct es_err *err, const char *what);

/*
 * copy.c: a flat file's bytes, placed by the scan: copy bytes to dst in
 * the image (the last block zero-padded), then tail bytes into n->tail
 * (allocated with a byte more).
 */
struct wcopy_plan {
	struct wnode *n;
	uint64_t dst, copy, size;
	uint32_t tail;
};
/* Background copies when the build has helper threads (-j > 1). */
int wb_copy_start(struct wbuild *b);
/* Copy now, or queue the copy when src's descriptor can be given away. */
int wb_copy_submit(struct wbuild *b, const struct wcopy_plan *p, struct wsource *src,
		   const char *what);
/* Wait for every queued copy; the first failure, in queue order. */
int wb_copy_drain(struct wbuild *b);
void wb_copy_free(struct wbuild *b);
/* The copy itself, into buf (WBUILD_IOBUF_SIZE and a block), on any thread. */
int wb_copy_file(struct wbuild *b, const struct wcopy_plan *p, struct wsource *src,
		 uint8_t *buf, struct es_err *err, const char *what);
/* scan_tar.c: the stream side of wb_read_exact, and its holes */
int wb_stream_read(struct wbuild *b, struct wsource *src, void *buf, size_t len,
		   uint64_t off, const char *what);
bool wb_stream_sparse(const struct wstream *s);
uint64_t wb_stream_next_data(const struct wstream *s, uint64_t off, uint64_t size);
/* The ordinary (uncompressed) data path: flat or chunk-based. */
int wb_ingest_plain(struct wbuild *b, struct wnode *n, struct wsource *src, bool sparse,
		    const char *what);
/* -EAGAIN (with a message) when the file grew past size while it was read */
int wb_source_unchanged(struct wbuild *b, const struct wsource *src, uint64_t size,
			const char *what);
/* zfile.c: compressed regular files */
int wb_compress_init(struct wbuild *b);
void wb_compress_free(struct wbuild *b);
/*
 * Queue a file for compression (a file descriptor is duplicated; a stream
 * is read now, as it cannot wait).  Its layout is known once the queue is
 * flushed: compressed, or, when it does not shrink, stored by
 * wb_ingest_plain() in its turn.
 */
int wb_ingest_compressed(struct wbuild *b, struct wnode *n, struct wsource *src,
			 const char *what);
/* Compress and place everything queued.  Any other write of file data
 * calls it first, so that data lands in scan order. */
int wb_compress_flush(struct wbuild *b);
/* build.c: the superblock's compression fields; where a device table that
 * fits block 0 starts (after the compression config records) */
void wb_super_compression(const struct wbuild *b, struct es_super *sb);
uint64_t wb_devt_block0_pos(const struct wbuild *b);
/* the size of a compressed inode's map (header, padding, lcluster indexes) */
uint64_t wb_zmap_size(const struct wnode *n);
/* needs the devices' mapped_blkaddr (wb_devices_map) */
void wb_zmap_encode(const struct wbuild *b, const struct wnode *n, uint8_t *out);
/* every head of a compressed inode on device in [base, ...) gets remap[blk - base] */
void wb_zmap_remap(struct wnode *n, uint16_t device, uint32_t base, const uint32_t *remap);
/* provisional device ids of the heads -> final ones (remap has nprov entries) */
void wb_zmap_remap_devices(struct wnode *n, const uint16_t *remap, unsigned int nprov);
/* n's xattrs from fd, or (fd < 0) from name in dirfd */
int wb_xattrs_collect(struct wbuild *b, struct wnode *n, int dirfd, const char *name,
		      int fd, const char *what);
int wb_xattr_set(struct wbuild *b, struct wnode *n, const char *name, const void *value,
		 size_t vlen, const char *what);
int wb_xattrs_share(struct wbuild *b);
/* encode a node's xattr body (xattr_isize bytes) */
void wb_xattrs_encode(const struct wnode *n, uint8_t *out);
int wb_xattrs_encode_shared(struct wbuild *b);
bool wb_tail_fits_inline(const struct wbuild *b, const struct wnode *n, uint32_t len);
int wb_write_tail_block(struct wbuild *b, struct wnode *n, const char *what);
/* the tail blocks an encrypted build deferred, after the file data */
int wb_place_tail_blocks(struct wbuild *b);
int wb_plan_layout(struct wbuild *b, uint64_t *meta_blkaddr, uint64_t *meta_len,
		   uint64_t *total_blocks);
/* the bytes of n's metadata record: inode, xattrs, chunk table or map, inline tail */
uint64_t wb_meta_record_size(const struct wnode *n);
int wb_write_metadata(struct wbuild *b, uint64_t meta_blkaddr, uint64_t meta_len);

/* directory encoding helpers */
uint64_t wb_dir_size(const struct wnode *dir, uint32_t blksz);
int wb_dir_encode(const struct wnode *dir, uint32_t blksz, uint8_t *out);

struct dedup_map *wb_dedup_new(void);
void wb_dedup_free(struct dedup_map *m);
/* Room for n entries in all (hmap_reserve()): 0 or -ENOMEM. */
int wb_dedup_reserve(struct dedup_map *m, uint64_t n);
/* Find digest; returns true and the location if present, else inserts. */
int wb_dedup_lookup_or_add(struct dedup_map *m, const uint8_t digest[32],
			   uint32_t nblocks, uint16_t *device, uint32_t *blkaddr,
			   bool *found);

/*
 * Insert with an explicit length and referenced flag (chunk dictionaries
 * are inserted unreferenced).  *first_use (may be NULL) tells that a
 * referencing lookup found an entry nothing referenced yet: a dictionary
 * chunk this image is about to use for the first time.
 */
int wb_dedup_insert(struct dedup_map *m, const uint8_t digest[32], uint32_t nblocks,
		    uint32_t length, uint16_t *device, uint32_t *blkaddr,
		    bool referenced, bool *found, bool *first_use);
void wb_dedup_set_length(struct dedup_map *m, const uint8_t digest[32], uint32_t nblocks,
			 uint32_t length);
/* the chunk (digest, nblocks) is now at blkaddr of device */
void wb_dedup_relocate(struct dedup_map *m, const uint8_t digest[32], uint32_t nblocks,
		       uint16_t device, uint32_t blkaddr);
/* the entries on device dev: blkaddr = remap[blkaddr - base] */
void wb_dedup_move(struct dedup_map *m, uint16_t dev, uint32_t base, const uint32_t *remap);
/* every entry this image references; fn may change the device id */
int wb_dedup_foreach(struct dedup_map *m, int (*fn)(void *ctx, const uint8_t digest[32],
		     uint16_t *device, uint32_t blkaddr, uint32_t nblocks, uint32_t length),
		     void *ctx);

/* entries, referenced or not: a bound for what wb_dedup_foreach() calls */
size_t wb_dedup_count(const struct dedup_map *m);
/*
 * The records of the entries this image references, at most cap of them,
 * in the map's order; with secrets, where each one's chunk secret is (in
 * the map: valid while it does not change).  Returns how many.
 */
struct es_chunk_rec;
size_t wb_dedup_collect(struct dedup_map *m, struct es_chunk_rec *recs,
			const uint8_t **secrets, size_t cap);
/*
 * The chunk secret slot of an entry (ES_CHUNK_SECRET_SIZE bytes; encrypted
 * builds), NULL when the chunk is unknown.  Wiped when the map is freed.
 */
uint8_t *wb_dedup_secret(struct dedup_map *m, const uint8_t digest[32], uint32_t nblocks);

void wb_wnode_free_all(struct wbuild *b);
/* chunk.c: the memory of the inline tails */
void wb_tail_arena_free(struct wbuild *b);
void wb_wnode_free(struct wnode *n);

/* encrypt.c: encrypted builds (b->crypt set by wb_crypt_init) */
struct es_chunk_rec;
struct wcrypt_lane;
int wb_crypt_init(struct wbuild *b);
void wb_crypt_free(struct wbuild *b);
/* the dedup key of a chunk in an encrypted image: its keyed identifier */
int wb_crypt_chunk_id(struct wbuild *b, const uint8_t h[32], uint64_t len, uint8_t id[32]);
/* encrypt a chunk (nblocks zero-padded blocks at buf) in place; its secret */
int wb_crypt_chunk(struct wbuild *b, const uint8_t h[32], uint64_t len, uint8_t *buf,
		   uint64_t nblocks, uint8_t secret[32]);
/* the same for worker threads: a lane each; return a negative errno only */
int wb_crypt_lane_new(struct wbuild *b, struct wcrypt_lane **out);
void wb_crypt_lane_free(struct wcrypt_lane *l);
int wb_crypt_lane_id(const struct wbuild *b, struct wcrypt_lane *l, const uint8_t h[32],
		     uint64_t len, uint8_t id[32]);
int wb_crypt_lane_chunk(const struct wbuild *b, struct wcrypt_lane *l, const uint8_t h[32],
			uint64_t len, uint8_t *buf, uint64_t nblocks, uint8_t secret[32]);
/* metadata blocks in place: in a buffer, or in the image file */
int wb_crypt_meta(struct wbuild *b, uint8_t *buf, uint64_t first_block, uint64_t nblocks);
int wb_crypt_meta_region(struct wbuild *b, uint64_t first_block, uint64_t end_block);
/* the key table of the n sorted records, secrets[i] being record i's */
int wb_crypt_table(struct wbuild *b, const struct es_chunk_rec *recs,
		   const uint8_t *const *secrets, uint64_t n, uint8_t **plain,
		   uint64_t *entries);
int wb_crypt_domain_check(struct wbuild *b, const uint8_t uuid[16], uint8_t out[32]);
/* the new chunks of the data region in keyed-identifier order (chunks > 1 block) */
int wb_crypt_order_chunks(struct wbuild *b);
struct es_seal;
int wb_crypt_check_dict(struct wbuild *b, const struct es_seal *s);
int wb_crypt_dict_chunk(struct wbuild *b, uint16_t dev, uint32_t blkaddr, uint32_t nblocks,
			const uint8_t h[32], uint64_t len, const uint8_t id[32],
			const uint8_t *plain, const char *what);
struct es_seal_input;
int wb_crypt_seal(struct wbuild *b, const uint8_t uuid[16], const struct es_chunk_rec *recs,
		  const uint8_t *const *secrets, uint64_t n, struct es_seal_input *in,
		  uint8_t **key_area);

/* seal_build.c */
int wb_dicts_load(struct wbuild *b);
/* Before a dictionary chunk is referenced: its bytes must be what the
 * source holds (digest of len bytes). */
int wb_dict_chunk_verify(struct wbuild *b, uint16_t device, uint32_t blkaddr,
			 uint32_t nblocks, uint32_t len, const uint8_t digest[32],
			 const char *what);
/* Encrypted builds: the dictionary's bytes are this ciphertext (nblocks). */
int wb_dict_chunk_compare(struct wbuild *b, uint16_t device, uint32_t blkaddr,
			  uint32_t nblocks, const uint8_t *ct, const uint8_t id[32],
			  const char *what);
/* Where a dictionary chunk's bytes are (device *dev of *io, at byte *off),
 * its blob made ready first; for comparing them on another thread. */
int wb_dict_chunk_locate(struct wbuild *b, uint16_t device, uint32_t blkaddr,
			 uint32_t nblocks, const uint8_t id[32], const char *what,
			 const struct es_io **io, unsigned int *dev, uint64_t *off);
/* The len bytes at off of device dev of io against ct, read into scratch
 * (len bytes): 0 when they match, 1 when they differ, or the read's
 * negative code (message in err). */
int wb_dict_bytes_match(const struct es_io *io, unsigned int dev, uint64_t off,
			const uint8_t *ct, size_t len, uint8_t *scratch, struct es_err *err);
/* len bytes at block blkaddr of dictionary blob device (provisional id),
 * checked against its tree. */
int wb_dict_read(struct wbuild *b, uint16_t device, uint32_t blkaddr, void *buf,
		 size_t len);
int wb_devices_finalize(struct wbuild *b);
/* Where each device starts in the unified address space: after the
 * filesystem's total blocks, in device order. */
int wb_devices_map(struct wbuild *b, uint64_t total_blocks);
/* repack.c: the dictionary blobs the image reads too little of, into the
   new blob (before the devices are finalized) */
int wb_repack(struct wbuild *b);
int wb_blob_finalize(struct wbuild *b, const char *blob_path);
struct es_outfile;
int wb_blob_finalize_sig(struct wbuild *b, const char *blob_path, struct es_outfile *sigf);
int wb_seal_image(struct wbuild *b, uint64_t fs_blocks, const uint8_t uuid[16]);
void wb_devices_free(struct wbuild *b);

#endif
