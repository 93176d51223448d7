// SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0
/*
 * File data: flat files are copied into consecutive blocks; chunk-based
 * files are cut into chunks, each hashed with SHA-256 and stored once;
 * all-zero chunks and holes of sparse files are stored as nothing.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "erofs/format.h"
#include "erofs/sha256.h"
#include "io.h"
#include "wtree.h"

#define IOBUF_SIZE WBUILD_IOBUF_SIZE

bool wb_all_zero(const uint8_t *p, size_t len)
{
	static const uint8_t zero[256];

	while (len >= sizeof(zero)) {
		if (memcmp(p, zero, sizeof(zero)))
			return false;
		p += sizeof(zero);
		len -= sizeof(zero);
	}
	return !memcmp(p, zero, len);
}

/* Upper bound of the xattr body, as if nothing were shared. */
static uint32_t xattr_upper_bound(const struct wnode *n)
{
	uint32_t size = 0;

	for (unsigned int i = 0; i < n->nxattrs; i++)
		size += (uint32_t)es_round_up(EROFS_XATTR_ENTRY_SIZE + n->xattrs[i].suffix_len +
					      n->xattrs[i].value_len, 4);
	return size ? EROFS_XATTR_IBODY_HEADER_SIZE + size : 0;
}

/*
 * Whether a tail of len bytes can live next to the inode.  Decided before
 * the layout is known, so it assumes the largest inode and no shared
 * xattrs; the planner can then always place it inside one block.
 */
bool wb_tail_fits_inline(const struct wbuild *b, const struct wnode *n, uint32_t len)
{
	return len && EROFS_INODE_EXTENDED_SIZE + xattr_upper_bound(n) + len <= b->blksz;
}

static int check_device_space(struct wbuild *b, uint64_t next, const char *what)
{
	if (next > UINT32_MAX)
		return es_fail(b->err, -EFBIG, "%s: the image would exceed 2^32 blocks",
			       ES_PATH(what));
	return 0;
}

/* A symlink target or a non-inline tail as one zero-padded block at the
 * next free block of device 0 (under the metadata key when encrypted). */
static int write_tail_block(struct wbuild *b, struct wnode *n, const char *what)
{
	uint8_t *blk;
	int ret = wb_pipe_flush(b);	/* the chunks before it come first */

	if (ret)
		return ret;
	blk = calloc(1, b->blksz);
	if (!blk)
		return es_fail(b->err, -ENOMEM, "out of memory");
	memcpy(blk, n->tail, n->tail_len);
	ret = check_device_space(b, b->data_next + 1, what);
	if (!ret && b->crypt)
		ret = wb_crypt_meta(b, blk, b->data_next, 1);
	if (!ret) {
		ret = es_pwrite_full(b->image_fd, blk, b->blksz, b->data_next << b->blkszbits);
		if (ret)
			es_fail(b->err, ret, "writing the image: %s", strerror(-ret));
	}
	free(blk);
	if (ret)
		return ret;
	n->layout = EROFS_LAYOUT_FLAT_PLAIN;
	n->startblk = (uint32_t)b->data_next;
	n->nblocks = 1;
	n->tail_inline = false;
	n->tail_deferred = false;
	b->data_next++;
	return 0;
}

/*
 * Encrypted builds place these blocks after all file data instead
 * (wb_place_tail_blocks()), so that the data region holds chunks only and
 * can be put in keyed-identifier order.
 */
int wb_write_tail_block(struct wbuild *b, struct wnode *n, const char *what)
{
	if (!b->crypt) {
		int ret = wb_compress_flush(b);

		return ret ? ret : write_tail_block(b, n, what);
	}
	n->layout = EROFS_LAYOUT_FLAT_PLAIN;
	n->nblocks = 1;
	n->tail_inline = false;
	n->tail_deferred = true;
	return 0;
}

int wb_place_tail_blocks(struct wbuild *b)
{
	int ret = 0;

	for (struct wnode *n = b->all; n && !ret; n = n->next_all)
		if (n->tail_deferred)
			ret = write_tail_block(b, n, "a symlink or directory tail");
	return ret;
}

int wb_source_unchanged(struct wbuild *b, const struct wsource *src, uint64_t size,
			const char *what)
{
	struct wsource fd_only = { .fd = src->fd };
	uint8_t probe;

	if (src->stream)
		return 0;	/* a tar entry is as long as its header says */
	return wb_read_checked(b, &fd_only, &probe, 0, 1, size, b->err, what);
}

int wb_read_checked(struct wbuild *b, struct wsource *src, void *buf, size_t len,
		    size_t probe, uint64_t off, struct es_err *err, const char *what)
{
	ssize_t got;

	if (src->stream)
		return wb_stream_read(b, src, buf, len, off, what);
	/* a regular file's short read is its end: one call sees both */
	got = es_pread_atleast(src->fd, buf, len, len + probe, off);
	if (got < 0)
		return es_fail(err, (int)got, "%s: read error: %s", ES_PATH(what),
			       strerror((int)-got));
	if ((size_t)got < len)
		return es_fail(err, -EAGAIN, "%s: file shrank while it was read "
			       "(source changed during the build)", ES_PATH(what));
	if ((size_t)got > len)
		return es_fail(err, -EAGAIN, "%s: file grew while it was read "
			       "(source changed during the build)", ES_PATH(what));
	return 0;
}

int wb_read_exact(struct wbuild *b, struct wsource *src, void *buf, size_t len,
		  uint64_t off, const char *what)
{
	return wb_read_checked(b, src, buf, len, 0, off, b->err, what);
}

/*
 * Inline tails (megabytes of them: a tail is up to a block) come from
 * chunks of one huge page each (es_alloc_big): on some hosts a page fault
 * costs more than filling the page, and malloc'd tails fault once per
 * 4 KiB page (populating the chunk up front still cost ~half of that).
 */
#define WTAIL_CHUNK (2u << 20)

struct wtail_chunk {
	struct wtail_chunk *next;
	uint8_t *mem;
	size_t used;
};

static uint8_t *tail_alloc(struct wbuild *b, size_t len)
{
	struct wtail_chunk *c = b->tail_arena;
	uint8_t *p;

	if (!c || c->used + len > WTAIL_CHUNK) {
		void *mem = es_alloc_big(WTAIL_CHUNK);

		if (!mem)
			return NULL;
		c = malloc(sizeof(*c));
		if (!c) {
			free(mem);
			return NULL;
		}
		c->mem = mem;
		c->used = 0;
		c->next = b->tail_arena;
		b->tail_arena = c;
	}
	p = c->mem + c->used;
	c->used += len;
	return p;
}

void wb_tail_arena_free(struct wbuild *b)
{
	while (b->tail_arena) {
		struct wtail_chunk *c = b->tail_arena;

		b->tail_arena = c->next;
		free(c->mem);
		free(c);
	}
}

static int ingest_flat(struct wbuild *b, struct wnode *n, struct wsource *src,
		       const char *what)
{
	uint64_t size = n->size;
	uint64_t full = size >> b->blkszbits;
	uint32_t tail = (uint32_t)(size - (full << b->blkszbits));
	bool inline_tail = wb_tail_fits_inline(b, n, tail);
	uint64_t copy = inline_tail ? full << b->blkszbits : size;
	uint64_t nblocks = (copy + b->blksz - 1) >> b->blkszbits;
	struct wcopy_plan plan = {
		.n = n, .dst = b->data_next << b->blkszbits, .copy = copy, .size = size,
		.tail = inline_tail ? tail : 0,
	};
	int ret;

	ret = check_device_space(b, b->data_next + nblocks, what);
	if (ret)
		return ret;
	if (inline_tail) {
		n->tail = tail_alloc(b, tail + 1);	/* and a byte to see the file grow */
		if (!n->tail)
			return es_fail(b->err, -ENOMEM, "out of memory");
		n->tail_in_arena = true;
		n->tail_len = tail;
		n->tail_inline = true;
		n->layout = EROFS_LAYOUT_FLAT_INLINE;
	} else {
		n->layout = EROFS_LAYOUT_FLAT_PLAIN;
	}
	n->startblk = nblocks ? (uint32_t)b->data_next : EROFS_NULL_ADDR;
	n->nblocks = nblocks;
	b->data_next += nblocks;
	b->stats->stored_data_bytes += nblocks << b->blkszbits;
	return wb_copy_submit(b, &plan, src, what);
}

/* Where the next data byte at or after off is; size when only holes remain. */
static uint64_t next_data(const struct wsource *src, uint64_t off, uint64_t size)
{
	off_t d;

	if (src->stream)
		return wb_stream_next_data(src->stream, off, size);
	d = lseek(src->fd, (off_t)off, SEEK_DATA);

	if (d < 0)
		return errno == ENXIO ? size : off;
	return (uint64_t)d;
}

int wb_write_data(struct wbuild *b, bool to_blob, const void *buf, size_t len, uint64_t off)
{
	int fd = to_blob ? b->blob_fd : b->image_fd;
	int ret = es_pwrite_full(fd, buf, len, off);

	if (to_blob)
		wb_pipe_leaves_void(b);		/* the blob is hashed when complete */
	if (ret)
		return es_fail(b->err, ret, "writing %s: %s", to_blob ? "the blob" : "the image",
			       strerror(-ret));
	es_writeback_note(&b->writeback[to_blob], fd, off, len);
	return 0;
}

static void put_entry(struct wbuild *b, struct wnode *n, uint64_t index, uint16_t dev,
		      uint32_t blkaddr)
{
	if (b->blob_fd >= 0) {
		uint8_t *entry = n->chunk_table + index * EROFS_CHUNK_INDEX_SIZE;

		if (blkaddr != EROFS_NULL_ADDR) {
			es_put16(entry + CI_STARTBLK_HI, 0);
			es_put16(entry + CI_DEVICE_ID, dev);
		}
		es_put32(entry + CI_STARTBLK_LO, blkaddr);
	} else {
		es_put32(n->chunk_table + index * EROFS_BLOCKMAP_ENTRY_SIZE, blkaddr);
	}
}

int wb_chunk_place(struct wbuild *b, struct wnode *n, uint64_t index, uint64_t len, bool zero,
		   const uint8_t digest[32], const uint8_t key[32], const uint8_t *plain,
		   const char *what, bool *store, struct wdict_use *dict)
{
	const bool to_blob = b->blob_fd >= 0;
	uint64_t *next = to_blob ? &b->blob_next : &b->data_next;
	uint64_t nblocks = (len + b->blksz - 1) >> b->blkszbits;
	bool found = false, first_use = false;
	uint16_t dev = to_blob ? 1 : 0;
	uint32_t blkaddr = (uint32_t)*next;
	int ret;

	*store = false;
	if (zero) {
		b->stats->chunks_holes++;
		put_entry(b, n, index, 0, EROFS_NULL_ADDR);
		return 0;
	}
	ret = check_device_space(b, *next + nblocks, what);
	if (ret)
		return ret;
	/* encrypted: chunks are known by their keyed identifier, and their
	   length only in blocks */
	ret = wb_dedup_insert(b->dedup, key, (uint32_t)nblocks,
			      b->crypt ? (uint32_t)(nblocks << b->blkszbits) : (uint32_t)len,
			      &dev, &blkaddr, true, &found, &first_use);
	if (ret)
		return es_fail(b->err, ret, "out of memory");
	/* a dictionary says it holds these bytes: make sure before using it */
	if (first_use && b->crypt && dict) {
		dict->pending = true;
		dict->dev = dev;
		dict->blkaddr = blkaddr;
	} else if (first_use) {
		ret = b->crypt ?
		      wb_crypt_dict_chunk(b, dev, blkaddr, (uint32_t)nblocks, digest, len, key,
					  plain, what) :
		      wb_dict_chunk_verify(b, dev, blkaddr, (uint32_t)nblocks, (uint32_t)len,
					   key, what);
		if (ret)
			return ret;
	}
	if (found) {
		b->stats->chunks_deduped++;
	} else {
		*next += nblocks;
		*store = true;
		b->stats->chunks_stored++;
		b->stats->stored_data_bytes += nblocks << b->blkszbits;
	}
	put_entry(b, n, index, dev, blkaddr);
	return 0;
}

/*
 * A chunk larger than the pipeline's window (plain builds only): hashed
 * while it is copied to the next free blocks, which the next chunk
 * overwrites when this one turns out to be stored already.
 */
static int ingest_large_chunk(struct wbuild *b, struct wnode *n, struct wsource *src, uint64_t index,
			      uint64_t off, uint64_t len, const char *what)
{
	const bool to_blob = b->blob_fd >= 0;
	uint64_t next = to_blob ? b->blob_next : b->data_next;
	uint64_t nblocks = (len + b->blksz - 1) >> b->blkszbits;
	uint64_t dst = next << b->blkszbits;
	struct es_sha256_ctx sha;
	uint8_t digest[32];
	bool zero = true, store;
	int ret = check_device_space(b, next + nblocks, what);

	if (ret)
		return ret;
	ret = es_sha256_init(&sha);
	if (ret)
		return es_fail(b->err, ret, "SHA-256 unavailable");
	for (uint64_t done = 0; done < len;) {
		size_t piece = len - done < IOBUF_SIZE ? (size_t)(len - done) : IOBUF_SIZE;
		size_t padded = (size_t)es_round_up(piece, b->blksz);

		ret = wb_read_exact(b, src, b->iobuf, piece, off + done, what);
		if (!ret) {
			if (zero)
				zero = wb_all_zero(b->iobuf, piece);
			es_sha256_update(&sha, b->iobuf, piece);
			memset(b->iobuf + piece, 0, padded - piece);
			ret = wb_write_data(b, to_blob, b->iobuf, padded, dst + done);
		}
		if (ret) {
			es_sha256_release(&sha);
			return ret;
		}
		done += piece;
	}
	ret = es_sha256_final(&sha, digest);
	if (ret)
		return es_fail(b->err, ret, "SHA-256 failed");
	return wb_chunk_place(b, n, index, len, zero, digest, digest, NULL, what, &store, NULL);
}

/* Consecutive chunks of a file that lie one after the other in the window
   too: read with one call. */
struct read_run {
	uint8_t *buf;
	uint64_t off, len;
};

static int read_run(struct wbuild *b, struct wsource *src, struct read_run *r, const char *what)
{
	int ret = r->len ? wb_read_exact(b, src, r->buf, (size_t)r->len, r->off, what) : 0;

	r->len = 0;
	return ret;
}

/*
 * The file's last run, and whether the file still ends where it did.  When
 * the run ends at that end inside a block, the byte after it falls in the
 * chunk's zero padding: one read of a byte more sees both (a short read of
 * a regular file is its end), a call per file saved.  A file that grew
 * leaves a byte in the padding, and fails the build.
 */
static int read_last_run(struct wbuild *b, struct wsource *src, struct read_run *r,
			 uint64_t size, const char *what)
{
	int ret;

	if (src->stream || !r->len || r->off + r->len != size ||
	    !(size & (b->blksz - 1))) {
		ret = read_run(b, src, r, what);
		return ret ? ret : wb_source_unchanged(b, src, size, what);
	}
	ret = wb_read_checked(b, src, r->buf, (size_t)r->len, 1, r->off, b->err, what);
	r->len = 0;
	return ret;
}

static int ingest_chunked(struct wbuild *b, struct wnode *n, struct wsource *src,
			  bool sparse, const char *what)
{
	const bool to_blob = b->blob_fd >= 0;
	uint64_t chunksize = b->chunksize ? b->chunksize : b->blksz;
	unsigned int chunkbits = (unsigned int)__builtin_ctzll(chunksize);
	unsigned int unit = to_blob ? EROFS_CHUNK_INDEX_SIZE : EROFS_BLOCKMAP_ENTRY_SIZE;
	/* every chunk of the build, or none, goes through the window: one order */
	bool windowed = chunksize <= WBUILD_IOBUF_SIZE;
	struct read_run run = { 0 };
	uint64_t data_at = 0;
	int ret = 0;

	if (windowed && !b->pipe) {
		ret = wb_pipe_init(b);
		if (ret)
			return ret;
	}
	n->layout = EROFS_LAYOUT_CHUNK_BASED;
	n->chunkfmt = (uint16_t)(chunkbits - b->blkszbits) |
		      (to_blob ? EROFS_CHUNK_FORMAT_INDEXES : 0);
	n->nchunks = ((n->size - 1) >> chunkbits) + 1;
	n->chunk_table = calloc(n->nchunks, unit);
	if (!n->chunk_table)
		return es_fail(b->err, -ENOMEM, "%s: out of memory for %llu chunks", ES_PATH(what),
			       (unsigned long long)n->nchunks);
	b->uses_chunks = true;
	if (sparse)
		data_at = next_data(src, 0, n->size);
	for (uint64_t c = 0; c < n->nchunks; c++) {
		uint64_t off = c << chunkbits;
		uint64_t len = n->size - off < chunksize ? n->size - off : chunksize;
		uint8_t *buf;
		bool store;

		ret = wb_poll_cancel(b);
		if (ret)
			return ret;
		b->stats->chunks++;
		if (sparse && data_at < off)
			data_at = next_data(src, off, n->size);
		if (sparse && data_at >= off + len) {
			/* a hole: never read, stored as nothing */
			ret = wb_chunk_place(b, n, c, len, true, NULL, NULL, NULL, what, &store,
					     NULL);
		} else if (windowed) {
			/* hashed, placed and written when the window is committed */
			if (!wb_pipe_has_room(b, (uint32_t)len)) {
				ret = read_run(b, src, &run, what);
				if (!ret)
					ret = wb_pipe_rotate(b);
			}
			if (!ret)
				ret = wb_pipe_reserve(b, n, c, (uint32_t)len, what, &buf);
			if (!ret && run.len && buf == run.buf + run.len &&
			    off == run.off + run.len) {
				run.len += len;
			} else if (!ret) {
				ret = read_run(b, src, &run, what);
				run = (struct read_run){ buf, off, len };
			}
		} else {
			ret = ingest_large_chunk(b, n, src, c, off, len, what);
		}
		if (ret)
			return ret;
	}
	return read_last_run(b, src, &run, n->size, what);
}

int wb_ingest_regular(struct wbuild *b, struct wnode *n, struct wsource *src,
		      const char *what)
{
	bool sparse = false;
	struct stat st;
	int ret;

	b->stats->logical_bytes += n->size;
	if (!n->size) {
		n->layout = EROFS_LAYOUT_FLAT_PLAIN;
		return wb_source_unchanged(b, src, 0, what);
	}
	if (src->stream) {
		sparse = wb_stream_sparse(src->stream);
	} else if (!src->have_blocks && fstat(src->fd, &st) == 0) {
		src->have_blocks = true;
		src->blocks = (uint64_t)st.st_blocks;
	}
	if (src->have_blocks && src->blocks * 512 < n->size) {
		off_t hole = lseek(src->fd, 0, SEEK_HOLE);

		sparse = hole >= 0 && (uint64_t)hole < n->size;
	}
	if (b->zenc && !sparse) {
		struct wsource kept = *src;	/* its copy must not give the fd away */

		kept.give_fd = false;
		ret = wb_pipe_flush(b);	/* the chunks before it come first */
		return ret ? ret : wb_ingest_compressed(b, n, &kept, what);
	}
	/* after what is queued for compression: data lands in scan order */
	ret = wb_compress_flush(b);
	return ret ? ret : wb_ingest_plain(b, n, src, sparse, what);
}

int wb_ingest_plain(struct wbuild *b, struct wnode *n, struct wsource *src, bool sparse,
		    const char *what)
{
	int ret;

	/* encrypted images keep no file data inline: every byte goes through
	   the chunk path and its keys */
	if (b->chunksize || sparse || b->crypt)
		return ingest_chunked(b, n, src, sparse, what);
	ret = wb_pipe_flush(b);		/* the chunks before it come first */
	return ret ? ret : ingest_flat(b, n, src, what);
}
