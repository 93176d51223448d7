// SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0
/*
 * Compressed regular files (docs/FORMAT.md §6).  A file is cut into
 * segments of a fixed size (SEGMENT_FACTOR extents' worth of input), and
 * each segment into extents, each the longest prefix of what remains of
 * the segment that the compressor fits into one pcluster (at most -C
 * bytes); an extent that would not save a block is stored raw, one block
 * long.  Pclusters are right-aligned in their blocks (zero padding), known
 * by the SHA-256 of their stored blocks, and stored once: identical
 * pclusters anywhere in the image (or in a chunk dictionary's blobs) are
 * one copy.  Encrypted builds encrypt a pcluster like a chunk whose
 * plaintext is its stored blocks.  With a blob, pclusters go into it and
 * the indexes address them in the unified address space (FORMAT.md §6.3).
 *
 * Segments are compressed on every worker thread: files are queued as
 * segment jobs, a window of jobs is compressed (and hashed) in parallel
 * while this thread places the window before it and scans and queues the
 * next, then placed in queue order by this thread, which alone touches
 * the image, the dedup map, the keys and the statistics.  Extent boundaries
 * depend only on the segment (never on another segment, nor on which
 * thread ran it), and every other write of file data waits for the queue
 * (wb_compress_flush), so the output is the same whatever the thread
 * count or the window size.
 *
 * The inode is COMPRESSED_FULL: one 8-byte index per 4 KiB lcluster, each
 * head with its own block address, so pclusters may be shared and placed
 * anywhere.  A file whose pclusters and indexes would not take fewer bytes
 * than it does uncompressed (inline tail included) is left to the
 * ordinary path.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "base/workpool.h"
#include "crypto/backend.h"
#include "erofs/format.h"
#include "erofs/sha256.h"
#include "erofs/sha256_mb.h"
#include "io.h"
#include "wtree.h"
#include "zenc.h"

/* A file's extents are kept in memory until it is known to shrink; past
 * this many bytes of pclusters they are written and the file is committed
 * to being compressed (its raw extents cost nothing more than flat data). */
#define PENDING_MAX (8u << 20)
/* a segment is this many extents' worth of input: its last, partial
 * pcluster costs little next to the segment */
#define SEGMENT_FACTOR 4
/* a window holds at most this many files (each keeps its descriptor open
 * until placed) ... */
#define WINDOW_MAX_FILES 128
/* ... and about this many segments per worker, at most WINDOW_MAX_BYTES
   (two windows: one compressed while the other is queued) */
#define WINDOW_SEGMENTS_PER_WORKER 1
#define WINDOW_MAX_BYTES (256u << 20)

struct zextent {
	uint64_t la;			/* first byte in the file */
	uint32_t len;			/* decoded bytes */
	uint32_t pblocks;
	uint32_t pblk;			/* once written: block on device dev */
	uint16_t dev;			/* provisional device id (wtree.h) */
	bool raw;
	uint8_t digest[32];		/* SHA-256 of the stored blocks */
	uint8_t *data;			/* its stored bytes until written: in the
					   window's output arena, or, once the
					   window moves on, in the carry */
};

/* A queued file: its extents so far, and what is not written yet. */
struct zqfile {
	struct wnode *n;
	/* a file: fd is a duplicate, open until placed; a tar member: its
	   stream, read as jobs are queued (it cannot wait) */
	struct wsource src;
	char *what;
	uint64_t placed;		/* bytes of the file whose extents are in ext */
	struct zextent *ext;
	size_t next, cap;
	size_t first_unwritten;
	size_t pending_len;		/* stored bytes of unwritten pclusters */
	size_t carried;			/* ext[first_unwritten..carried) are in
					   the carry (carry_pending) */
	uint64_t pblocks_total;
	uint64_t owned;			/* blocks written for this file */
	bool committed;			/* some pcluster is written */
};

/* One segment, compressed and hashed by a worker: what the worker needs of
 * its file is copied here, as this thread goes on queuing that file. */
struct zjob {
	struct zqfile *f;
	int fd;				/* -1: a stream's, read at queuing */
	const char *what;
	uint64_t off;
	size_t len;
	uint8_t *in;			/* the segment, in the input arena */
	uint8_t *out;			/* stored blocks of its pclusters, in order,
					   in the output arena */
	size_t out_len, out_cap;
	struct zextent *ext;
	size_t next, cap;
	int ret;
	struct es_err err;
};

/*
 * A window of jobs.  There are two: while the workers compress one, this
 * thread scans and queues the next.  Its segments and pclusters live in
 * two arenas allocated once: no allocation, and no fresh pages to fault
 * in, per file or per window.
 */
struct zwindow {
	struct wzfile *z;
	struct zjob *jobs;
	size_t njobs, jobs_cap;
	size_t nfiles;			/* files whose queuing began in it */
	uint8_t *in_arena, *out_arena;
	size_t in_used, out_used;
	uint64_t bytes;
};

struct wzfile {
	struct zqfile **files;		/* queue order; the last may be partly queued */
	size_t nfiles;
	struct zwindow win[2];
	unsigned int filling;		/* the window being queued */
	bool in_flight;			/* the other one is with the workers */
	size_t in_cap, out_cap;		/* of each window's arenas */
	uint64_t window_max;
	size_t segment;
	unsigned int nworkers;
	struct wz_encoder **enc;	/* per worker, made on first use */
	uint8_t **scratch;		/* per worker: one pcluster */
	struct es_sha256_mb *mb;	/* per worker, set up with its scratch */
	/* the unwritten pclusters of the one file that goes on past its
	   window (carry_pending): fewer than PENDING_MAX bytes */
	uint8_t *carry;
	size_t carry_used;
	struct wbuild *b;
};

/* The most input one extent takes: the kernel decodes at most 12 MiB. */
static size_t extent_max_input(const struct wbuild *b)
{
	size_t m = (size_t)b->pcluster_max * 4;

	return m < (1u << 20) ? (1u << 20) : m;
}

int wb_compress_init(struct wbuild *b)
{
	const struct es_build_opts *o = b->opts;
	struct wzfile *z;
	uint64_t window;
	int ret;

	if (o->compress == ES_COMPR_NONE)
		return 0;
	b->pcluster_max = o->max_pcluster ? o->max_pcluster : b->blksz;
	b->big_pclusters = b->pcluster_max > b->blksz;
	/* the first encoder now: a bad level is an error before any work */
	z = calloc(1, sizeof(*z));
	if (!z)
		return es_fail(b->err, -ENOMEM, "out of memory");
	b->zfile = z;
	z->b = b;
	z->nworkers = es_workpool_size(b->pool);
	z->segment = extent_max_input(b) * SEGMENT_FACTOR;
	window = (uint64_t)z->segment * WINDOW_SEGMENTS_PER_WORKER *
		 (z->nworkers > 2 ? z->nworkers : 2);
	z->window_max = window < WINDOW_MAX_BYTES ? window : WINDOW_MAX_BYTES;
	z->enc = calloc(z->nworkers, sizeof(*z->enc));
	z->scratch = calloc(z->nworkers, sizeof(*z->scratch));
	z->mb = calloc(z->nworkers, sizeof(*z->mb));
	/* both windows' files, and one spanning them */
	z->files = calloc(2 * WINDOW_MAX_FILES + 1, sizeof(*z->files));
	z->in_cap = (size_t)z->window_max + z->segment;
	/* a segment's pclusters take at most one block more than its input
	   (job_out_bound); a window that fills this first is handed on early */
	z->out_cap = z->in_cap + (WINDOW_MAX_FILES + 16) * 2 * (size_t)b->blksz;
	if (!z->enc || !z->scratch || !z->mb || !z->files)
		return es_fail(b->err, -ENOMEM, "out of memory");
	for (unsigned int i = 0; i < 2; i++) {
		struct zwindow *w = &z->win[i];

		w->z = z;
		/* 50 MiB in all with two threads, first touched page by page:
		 * huge pages take a fault per 2 MiB instead (es_alloc_big) */
		w->in_arena = es_alloc_big(z->in_cap);
		w->out_arena = es_alloc_big(z->out_cap);
		if (!w->in_arena || !w->out_arena)
			return es_fail(b->err, -ENOMEM, "out of memory");
	}
	ret = wz_encoder_new(o->compress, o->compress_level, &z->enc[0], b->err);
	if (ret)
		return ret;
	b->zenc = z->enc[0];
	return 0;
}

static void wipe_free(struct wbuild *b, void *p, size_t len)
{
	if (p && b->opts->encrypt)
		es_crypto_wipe(p, len);	/* plaintext of an encrypted image's files */
	free(p);
}

static void zqfile_free(struct wbuild *b, struct zqfile *f)
{
	if (!f)
		return;
	if (f->src.fd >= 0)
		close(f->src.fd);
	free(f->what);
	free(f->ext);
	free(f);
}

void wb_compress_free(struct wbuild *b)
{
	struct wzfile *z = b->zfile;

	b->zenc = NULL;
	if (!z)
		return;
	/* a failed build may leave a window with the workers */
	if (z->in_flight)
		es_workpool_wait(b->pool);
	for (unsigned int w = 0; w < z->nworkers; w++) {
		if (z->enc)
			wz_encoder_free(z->enc[w]);
		if (z->scratch && z->scratch[w]) {
			wipe_free(b, z->scratch[w], b->pcluster_max);
			es_sha256_mb_release(&z->mb[w]);
		}
	}
	for (size_t i = 0; i < z->nfiles; i++)
		zqfile_free(b, z->files[i]);
	for (unsigned int i = 0; i < 2; i++) {
		struct zwindow *w = &z->win[i];

		for (size_t k = 0; k < w->jobs_cap; k++)
			free(w->jobs[k].ext);
		free(w->jobs);
		if (b->opts->encrypt) {		/* a window not placed */
			if (w->in_arena)
				es_crypto_wipe(w->in_arena, w->in_used);
			if (w->out_arena)
				es_crypto_wipe(w->out_arena, w->out_used);
		}
		free(w->in_arena);
		free(w->out_arena);
	}
	if (z->carry && b->opts->encrypt)
		es_crypto_wipe(z->carry, z->carry_used);
	free(z->carry);
	free(z->files);
	free(z->enc);
	free(z->scratch);
	free(z->mb);
	free(z);
	b->zfile = NULL;
}

/* ---- workers: one segment into extents ---------------------------------- */

static int grow(void **p, size_t *cap, size_t need, size_t unit, size_t first)
{
	size_t ncap = *cap ? *cap : first;
	void *np;

	if (need <= *cap)
		return 0;
	while (ncap < need)
		ncap *= 2;
	np = realloc(*p, ncap * unit);
	if (!np)
		return -ENOMEM;
	*p = np;
	*cap = ncap;
	return 0;
}

static int job_add_extent(struct wbuild *b, struct zjob *j, uint64_t la, uint32_t len,
			  bool raw, const uint8_t *data, size_t datalen, uint32_t pblocks)
{
	size_t stored = (size_t)pblocks << b->blkszbits;
	struct zextent *e;
	uint8_t *at;

	if (j->out_len + stored > j->out_cap)	/* job_out_bound is wrong */
		return es_fail(&j->err, -EOVERFLOW, "%s: internal error: a segment's "
			       "pclusters outgrow their bound", ES_PATH(j->what));
	if (grow((void **)&j->ext, &j->cap, j->next + 1, sizeof(*j->ext), 64))
		return es_fail(&j->err, -ENOMEM, "out of memory");
	at = j->out + j->out_len;
	e = &j->ext[j->next++];
	*e = (struct zextent){ .la = la, .len = len, .pblocks = pblocks, .raw = raw,
			       .data = at };
	/* raw: the bytes from the block's start; compressed: right-aligned */
	if (raw) {
		memcpy(at, data, datalen);
		memset(at + datalen, 0, stored - datalen);
	} else {
		memset(at, 0, stored - datalen);
		memcpy(at + stored - datalen, data, datalen);
	}
	j->out_len += stored;
	return 0;
}

/* The digests of a segment's pclusters, two at a time where two in a row
 * have the same length (one-block pclusters always do): SHA-NI runs two
 * interleaved streams faster than one (erofs/sha256_mb.h). */
static int hash_extents(struct es_sha256_mb *mb, struct zjob *j, unsigned int blkszbits)
{
	for (size_t i = 0; i < j->next;) {
		struct zextent *e = &j->ext[i];
		size_t stored = (size_t)e->pblocks << blkszbits;
		int ret;

		if (i + 1 < j->next && e[1].pblocks == e->pblocks) {
			ret = es_sha256_mb_x2(mb, e->data, e[1].data, stored, e->digest,
					      e[1].digest);
			i += 2;
		} else {
			ret = es_sha256(e->data, stored, e->digest);
			i++;
		}
		if (ret)
			return es_fail(&j->err, ret, "SHA-256 failed");
	}
	return 0;
}

static int compress_segment(struct wzfile *z, struct zjob *j, unsigned int worker)
{
	struct wbuild *b = z->b;
	const uint32_t blksz = b->blksz;
	const size_t max_in = extent_max_input(b);
	struct wz_encoder *enc;
	ssize_t got;
	size_t pos = 0;
	int ret;

	if (!z->enc[worker]) {
		ret = wz_encoder_new(b->opts->compress, b->opts->compress_level,
				     &z->enc[worker], &j->err);
		if (ret)
			return ret;
	}
	if (!z->scratch[worker]) {
		ret = es_sha256_mb_init(&z->mb[worker], 0);
		if (ret)
			return es_fail(&j->err, ret, "SHA-256 failed");
		z->scratch[worker] = malloc(b->pcluster_max);
		if (!z->scratch[worker]) {
			es_sha256_mb_release(&z->mb[worker]);
			return es_fail(&j->err, -ENOMEM, "out of memory");
		}
	}
	/* a whole file of a block or less takes no fewer blocks compressed:
	   it goes to the ordinary path (finish_file), which reads it itself */
	if (!j->off && j->len <= blksz)
		return 0;
	enc = z->enc[worker];
	wz_encoder_reset(enc);
	if (j->fd >= 0) {	/* a stream's segment is read already */
		got = es_pread_full(j->fd, j->in, j->len, j->off);
		if (got < 0)
			return es_fail(&j->err, (int)got, "%s: read error: %s",
				       ES_PATH(j->what), strerror((int)-got));
		if ((size_t)got != j->len)
			return es_fail(&j->err, -EAGAIN, "%s: file shrank while it was read "
				       "(source changed during the build)", ES_PATH(j->what));
	}
	while (pos < j->len) {
		size_t rest = j->len - pos, avail = rest < max_in ? rest : max_in;
		size_t consumed = 0, clen = 0;
		const uint8_t *src = j->in + pos;
		uint32_t len;

		if (b->opts->cancel && *b->opts->cancel)
			return -ECANCELED;
		/* a block or less left: no pcluster could take fewer blocks */
		if (rest > blksz) {
			ret = wz_compress_fit(enc, src, avail, z->scratch[worker], b->pcluster_max,
					      blksz, &consumed, &clen, &j->err);
			if (ret)
				return ret;
		}
		/* an extent reaches the next lcluster, or ends the segment (whose
		   end is a block boundary or the end of the file) */
		if (consumed && (consumed >= blksz || consumed == rest)) {
			uint32_t pblocks = (uint32_t)((clen + blksz - 1) >> b->blkszbits);

			if (pblocks < (consumed + blksz - 1) >> b->blkszbits) {
				ret = job_add_extent(b, j, j->off + pos, (uint32_t)consumed, false,
						     z->scratch[worker], clen, pblocks);
				if (ret)
					return ret;
				pos += consumed;
				continue;
			}
		}
		len = rest < blksz ? (uint32_t)rest : blksz;
		ret = job_add_extent(b, j, j->off + pos, len, true, src, len, 1);
		if (ret)
			return ret;
		pos += len;
	}
	return hash_extents(&z->mb[worker], j, b->blkszbits);
}

static void run_job(void *ctx, unsigned int worker, size_t i)
{
	struct zwindow *w = ctx;

	w->jobs[i].ret = compress_segment(w->z, &w->jobs[i], worker);
}

/* ---- this thread: placing the extents in queue order -------------------- */

/* New pclusters that follow each other in memory and on the device go
 * out in one write. */
struct wrun {
	const uint8_t *p;
	size_t len;
	uint64_t off;
};

static int run_flush(struct wbuild *b, struct wrun *r, int fd, bool to_blob)
{
	int ret = r->len ? es_pwrite_full(fd, r->p, r->len, r->off) : 0;

	r->len = 0;
	return ret ? es_fail(b->err, ret, "writing %s: %s",
			     to_blob ? "the blob" : "the image", strerror(-ret)) : 0;
}

/* Store the pending pclusters: each once (dedup by content). */
static int write_pending(struct wbuild *b, struct zqfile *f)
{
	const bool to_blob = b->blob_fd >= 0;
	const int out_fd = to_blob ? b->blob_fd : b->image_fd;
	uint64_t *next = to_blob ? &b->blob_next : &b->data_next;
	struct wrun run = { 0 };
	int ret = 0;

	for (size_t i = f->first_unwritten; i < f->next && !ret; i++) {
		struct zextent *e = &f->ext[i];
		size_t stored = (size_t)e->pblocks << b->blkszbits;
		uint8_t *buf = e->data;
		uint8_t key[32];
		bool found = false, first_use = false;
		uint32_t blkaddr = (uint32_t)*next;
		uint16_t dev = to_blob ? WDEV_NEW_BLOB : 0;

		if (*next + e->pblocks > UINT32_MAX) {
			ret = es_fail(b->err, -EFBIG, "%s: the %s would exceed 2^32 blocks",
				      ES_PATH(f->what), to_blob ? "blob" : "image");
			break;
		}
		if (b->crypt) {
			ret = wb_crypt_chunk_id(b, e->digest, stored, key);
			if (ret)
				break;
		} else {
			memcpy(key, e->digest, sizeof(key));
		}
		ret = wb_dedup_insert(b->dedup, key, e->pblocks, (uint32_t)stored, &dev, &blkaddr,
				      true, &found, &first_use);
		if (ret) {
			ret = es_fail(b->err, ret, "out of memory");
			break;
		}
		/* a dictionary says it holds these bytes: make sure before using it */
		if (first_use) {
			ret = b->crypt ?
			      wb_crypt_dict_chunk(b, dev, blkaddr, e->pblocks, e->digest, stored,
						  key, buf, f->what) :
			      wb_dict_chunk_verify(b, dev, blkaddr, e->pblocks, (uint32_t)stored,
						   key, f->what);
			if (ret)
				break;
		}
		b->stats->pclusters++;
		if (found) {
			b->stats->pclusters_deduped++;
		} else {
			if (b->crypt) {
				ret = wb_crypt_chunk(b, e->digest, stored, buf, e->pblocks,
						     wb_dedup_secret(b->dedup, key, e->pblocks));
				if (ret)
					break;
			}
			if (run.len && (run.p + run.len != buf ||
					run.off + run.len != *next << b->blkszbits)) {
				ret = run_flush(b, &run, out_fd, to_blob);
				if (ret)
					break;
			}
			if (!run.len) {
				run.p = buf;
				run.off = *next << b->blkszbits;
			}
			run.len += stored;
			*next += e->pblocks;
			f->owned += e->pblocks;
			b->stats->pclusters_stored++;
			b->stats->pcluster_blocks += e->pblocks;
			b->stats->stored_data_bytes += stored;
		}
		e->pblk = blkaddr;
		e->dev = dev;
	}
	if (!ret)
		ret = run_flush(b, &run, out_fd, to_blob);
	if (ret)
		return ret;
	f->first_unwritten = f->next;
	f->pending_len = 0;
	return 0;
}

/* The full lcluster indexes of the file's extents (FORMAT.md §6), and the
 * device of each head. */
static int build_indexes(struct wbuild *b, struct wnode *n, struct zqfile *f)
{
	const unsigned int lbits = b->blkszbits;
	const uint64_t mask = b->blksz - 1;
	uint64_t nl = (n->size + mask) >> lbits;
	uint8_t *t = calloc(nl, EROFS_FULL_INDEX_SIZE);
	uint16_t *devs = calloc(nl, sizeof(*devs));

	if (!t || !devs) {
		free(t);
		free(devs);
		return es_fail(b->err, -ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < f->next; i++) {
		const struct zextent *e = &f->ext[i];
		uint64_t h = e->la >> lbits, k = (e->la + e->len) >> lbits;
		uint8_t *head = t + h * EROFS_FULL_INDEX_SIZE;

		es_put16(head + ZI_ADVISE, e->raw ? EROFS_LCLUSTER_PLAIN : EROFS_LCLUSTER_HEAD1);
		es_put16(head + ZI_CLUSTEROFS, (uint16_t)(e->la & mask));
		es_put32(head + ZI_BLKADDR, e->pblk);
		devs[h] = e->dev;
		for (uint64_t j = h + 1; j < k && j < nl; j++) {
			uint8_t *ent = t + j * EROFS_FULL_INDEX_SIZE;
			uint64_t d0 = j - h;

			if (b->big_pclusters && j == h + 1 && !e->raw)
				d0 = EROFS_LI_D0_CBLKCNT | e->pblocks;
			else if (d0 >= EROFS_LI_D0_CBLKCNT)
				d0 = EROFS_LI_D0_CBLKCNT - 1;	/* readers walk back again */
			es_put16(ent + ZI_ADVISE, EROFS_LCLUSTER_NONHEAD);
			es_put16(ent + ZI_DELTA0, (uint16_t)d0);
			es_put16(ent + ZI_DELTA1, (uint16_t)(k - j < 0xffff ? k - j : 0xffff));
		}
	}
	/* the last extent started before the last lcluster: a PLAIN entry there
	   says the next extent would start at the end of the file (block 0 of
	   device 0: never a pcluster's, so never remapped) */
	if (f->next && (n->size & mask) && f->ext[f->next - 1].la >> lbits != nl - 1) {
		uint8_t *ent = t + (nl - 1) * EROFS_FULL_INDEX_SIZE;

		es_put16(ent + ZI_ADVISE, EROFS_LCLUSTER_PLAIN);
		es_put16(ent + ZI_CLUSTEROFS, (uint16_t)(n->size & mask));
		es_put32(ent + ZI_BLKADDR, 0);
	}
	free(n->chunk_table);
	free(n->zdevs);
	n->chunk_table = t;
	n->zdevs = devs;
	n->nchunks = nl;
	return 0;
}

/* A job's extents join its file's; written once the file is committed. */
static int place_job(struct wbuild *b, struct zjob *j)
{
	struct zqfile *f = j->f;

	if (grow((void **)&f->ext, &f->cap, f->next + j->next, sizeof(*f->ext), 64))
		return es_fail(b->err, -ENOMEM, "out of memory");
	for (size_t i = 0; i < j->next; i++) {
		struct zextent *e = &f->ext[f->next++];

		*e = j->ext[i];
		f->pending_len += (size_t)e->pblocks << b->blkszbits;
		f->pblocks_total += e->pblocks;
		/* the rule depends on the extents only, not on the window */
		if (f->pending_len >= PENDING_MAX)
			f->committed = true;
	}
	f->placed += j->len;
	/* a committed file's pclusters are written as they come (the order of
	   writes is the queue's either way) */
	if (f->committed) {
		int ret = write_pending(b, f);

		if (ret)
			return ret;
	}
	/* a stream keeps what a second, plain pass would read only up to a
	   bound: a file that far in is committed to compression (also a rule
	   of the file alone) */
	if (f->src.stream && !f->committed && f->placed >= WB_STREAM_REWIND_MAX) {
		int ret = write_pending(b, f);

		if (ret)
			return ret;
		f->committed = true;
		f->src.rewind_to = UINT64_MAX;
	}
	return 0;
}

/* All of a file is placed: compressed, or left to the ordinary path. */
static int finish_file(struct wbuild *b, struct zqfile *f)
{
	struct wnode *n = f->n;
	const uint64_t size = n->size;
	const uint32_t blksz = b->blksz;
	uint64_t plain_bytes, zbytes;
	uint32_t tail;
	int ret;

	/* bytes the ordinary path would take (an inline tail is metadata, but
	   bytes all the same) against the pclusters and their indexes */
	tail = (uint32_t)(size & (blksz - 1));
	if (!b->crypt && !b->chunksize && wb_tail_fits_inline(b, n, tail))
		plain_bytes = (size >> b->blkszbits << b->blkszbits) + tail;
	else
		plain_bytes = (size + blksz - 1) >> b->blkszbits << b->blkszbits;
	zbytes = (f->pblocks_total << b->blkszbits) + EROFS_FULL_INDEX_START +
		 ((size + blksz - 1) >> b->blkszbits) * EROFS_FULL_INDEX_SIZE;
	if (!f->committed && (zbytes >= plain_bytes || size <= blksz))
	{
		/* its chunks are placed now, not when the pipeline's window
		   fills, which depends on what the compression window held */
		ret = wb_ingest_plain(b, n, &f->src, false, f->what);
		return ret ? ret : wb_pipe_flush(b);
	}
	ret = write_pending(b, f);
	if (!ret)
		ret = build_indexes(b, n, f);
	if (ret)
		return ret;
	n->layout = EROFS_LAYOUT_COMPRESSED_FULL;
	n->zblocks = (uint32_t)f->owned;
	b->uses_compression = true;
	b->stats->compressed_files++;
	b->stats->compressed_logical += size;
	return wb_source_unchanged(b, &f->src, size, f->what);
}

/* The window's arenas are about to be reused: a file still being placed
 * keeps its unwritten pclusters in the carry, which it has to itself: the
 * file that had it before is placed by now (one file at a time goes on past
 * a window).  What an earlier window carried stays where it is. */
static int carry_pending(struct wbuild *b, struct zqfile *f)
{
	struct wzfile *z = b->zfile;
	size_t from = f->carried > f->first_unwritten ? f->carried : f->first_unwritten;

	if (f->first_unwritten == f->next)
		return 0;
	if (!z->carry) {
		z->carry = es_alloc_big(PENDING_MAX);
		if (!z->carry)
			return es_fail(b->err, -ENOMEM, "out of memory");
	}
	if (from == f->first_unwritten) {	/* none of its pclusters there yet */
		if (b->opts->encrypt)
			es_crypto_wipe(z->carry, z->carry_used);
		z->carry_used = 0;
	}
	for (size_t i = from; i < f->next; i++) {
		struct zextent *e = &f->ext[i];
		size_t stored = (size_t)e->pblocks << b->blkszbits;

		/* an uncommitted file has fewer than PENDING_MAX bytes pending
		   (place_job writes them at that mark) */
		if (z->carry_used + stored > PENDING_MAX)
			return es_fail(b->err, -EOVERFLOW, "%s: internal error: the pending "
				       "pclusters outgrow the carry", ES_PATH(f->what));
		memcpy(z->carry + z->carry_used, e->data, stored);
		e->data = z->carry + z->carry_used;
		z->carry_used += stored;
	}
	f->carried = f->next;
	return 0;
}

/* Place the jobs of a window the workers are done with, in queue order. */
static int place_window(struct wbuild *b, struct zwindow *w)
{
	struct wzfile *z = b->zfile;
	size_t done_files = 0;
	int ret = 0;

	for (size_t i = 0; i < w->njobs && !ret; i++) {
		struct zjob *j = &w->jobs[i];

		if (j->ret == -ECANCELED && wb_poll_cancel(b)) {
			ret = -ECANCELED;
			break;
		}
		if (j->ret) {
			ret = es_err_copy(b->err, &j->err);
			break;
		}
		ret = place_job(b, j);
		if (!ret && j->f->placed == j->f->n->size) {
			ret = finish_file(b, j->f);
			done_files++;
		}
	}
	/* the file of the window's last job may go on in the next window */
	if (!ret && w->njobs) {
		struct zqfile *last = w->jobs[w->njobs - 1].f;

		if (last->placed < last->n->size)
			ret = carry_pending(b, last);
	}
	if (b->opts->encrypt) {
		es_crypto_wipe(w->in_arena, w->in_used);
		es_crypto_wipe(w->out_arena, w->out_used);
	}
	w->njobs = 0;
	w->nfiles = 0;
	w->bytes = 0;
	w->in_used = 0;
	w->out_used = 0;
	if (ret)
		return ret;
	/* finished files are a prefix of the queue (the window with the
	   workers holds only later ones) */
	for (size_t i = 0; i < done_files; i++)
		zqfile_free(b, z->files[i]);
	memmove(z->files, z->files + done_files, (z->nfiles - done_files) * sizeof(*z->files));
	z->nfiles -= done_files;
	return wb_poll_cancel(b);
}

/*
 * The filling window goes to the workers, and the one they had is placed
 * while they compress it: placing (writes, the plain path for a file that
 * does not shrink) is this thread's alone, and no longer leaves the
 * workers idle.  A plain path that uses the pool waits for the window in
 * flight first (es_workpool_for and _start do), which costs time, not
 * order: the pool runs one loop at a time, and jobs touch only their own
 * job.  Then the placed window's arenas are the next to fill.
 */
static int hand_on(struct wbuild *b)
{
	struct wzfile *z = b->zfile;
	struct zwindow *w = &z->win[z->filling], *done = &z->win[!z->filling];
	const bool placing = z->in_flight;
	int ret = 0;

	if (placing) {
		es_workpool_wait(b->pool);
		z->in_flight = false;
	}
	if (w->njobs) {
		es_workpool_start(b->pool, w->njobs, run_job, w);
		z->in_flight = true;
		z->filling = !z->filling;
	}
	if (placing)
		ret = place_window(b, done);
	return ret;
}

int wb_compress_flush(struct wbuild *b)
{
	int ret;

	if (!b->zfile)
		return 0;
	/* the filling window to the workers, then (nothing left to fill) it
	   is waited for and placed */
	ret = hand_on(b);
	return ret ? ret : hand_on(b);
}

/* The most stored bytes a segment of len bytes can take: a compressed
 * extent takes fewer blocks than its input spans, a raw one one block per
 * block of input, so only a raw partial block at the end adds one. */
static size_t job_out_bound(const struct wbuild *b, size_t len)
{
	return ((len + b->blksz - 1) & ~((size_t)b->blksz - 1)) + b->blksz;
}

static int add_job(struct wbuild *b, struct zqfile *f, uint64_t off, size_t len)
{
	struct wzfile *z = b->zfile;
	const size_t out_need = job_out_bound(b, len);
	struct zwindow *w = &z->win[z->filling];
	struct zjob *j;

	if (w->in_used + len > z->in_cap || w->out_used + out_need > z->out_cap) {
		int ret = hand_on(b);

		if (ret)
			return ret;
		w = &z->win[z->filling];
	}
	if (w->njobs == w->jobs_cap) {
		size_t ncap = w->jobs_cap ? w->jobs_cap * 2 : 64;
		struct zjob *nj = realloc(w->jobs, ncap * sizeof(*nj));

		if (!nj)
			return es_fail(b->err, -ENOMEM, "out of memory");
		memset(nj + w->jobs_cap, 0, (ncap - w->jobs_cap) * sizeof(*nj));
		w->jobs = nj;
		w->jobs_cap = ncap;
	}
	j = &w->jobs[w->njobs];
	j->in = w->in_arena + w->in_used;
	j->out = w->out_arena + w->out_used;
	j->out_cap = out_need;
	w->in_used += len;
	w->out_used += out_need;
	if (f->src.stream) {
		int ret = wb_read_exact(b, &f->src, j->in, len, off, f->what);

		if (ret)
			return ret;
	}
	j->f = f;
	j->fd = f->src.stream ? -1 : f->src.fd;
	j->what = f->what;
	j->off = off;
	j->len = len;
	j->out_len = 0;
	j->next = 0;
	j->ret = 0;
	memset(&j->err, 0, sizeof(j->err));
	w->njobs++;
	w->bytes += len;
	return 0;
}

int wb_ingest_compressed(struct wbuild *b, struct wnode *n, struct wsource *src,
			 const char *what)
{
	struct wzfile *z = b->zfile;
	/* a stream's read-ahead is kept for a second pass: bound it */
	const uint64_t window_max = src->stream && z->window_max > WB_STREAM_REWIND_MAX ?
				    WB_STREAM_REWIND_MAX : z->window_max;
	struct zqfile *f;
	int ret;

	if (z->win[z->filling].nfiles == WINDOW_MAX_FILES) {
		ret = hand_on(b);
		if (ret)
			return ret;
	}
	f = calloc(1, sizeof(*f));
	if (!f)
		return es_fail(b->err, -ENOMEM, "out of memory");
	f->n = n;
	f->src = *src;
	if (src->stream)
		f->src.rewind_to = 0;	/* until it is committed */
	else
		f->src.fd = dup(src->fd);
	f->what = strdup(what);
	if ((!src->stream && f->src.fd < 0) || !f->what) {
		ret = !f->what ? es_fail(b->err, -ENOMEM, "out of memory") :
		      es_fail(b->err, -errno, "%s: %s", ES_PATH(what), strerror(errno));
		zqfile_free(b, f);
		return ret;
	}
	z->files[z->nfiles++] = f;
	z->win[z->filling].nfiles++;
	for (uint64_t off = 0; off < n->size; off += z->segment) {
		uint64_t len = n->size - off < z->segment ? n->size - off : z->segment;

		if (z->win[z->filling].bytes >= window_max) {
			ret = hand_on(b);
			if (ret)
				return ret;
		}
		ret = add_job(b, f, off, (size_t)len);
		if (ret)
			return ret;
	}
	/* a tar member's stream ends with it */
	return src->stream ? wb_compress_flush(b) : 0;
}

uint64_t wb_zmap_size(const struct wnode *n)
{
	return EROFS_FULL_INDEX_START + n->nchunks * EROFS_FULL_INDEX_SIZE;
}

void wb_zmap_encode(const struct wbuild *b, const struct wnode *n, uint8_t *out)
{
	uint8_t *t = out + EROFS_FULL_INDEX_START;

	memset(out, 0, EROFS_FULL_INDEX_START);
	es_put16(out + ZH_ADVISE, b->big_pclusters ? EROFS_ZADVISE_BIG_PCLUSTER_1 : 0);
	out[ZH_ALGORITHMTYPE] = (uint8_t)wz_algorithm(b->opts->compress);
	out[ZH_CLUSTERBITS] = 0;	/* lcluster = block */
	memcpy(t, n->chunk_table, n->nchunks * EROFS_FULL_INDEX_SIZE);
	/* a pcluster on a blob: its address in the unified address space */
	for (uint64_t j = 0; j < n->nchunks; j++) {
		uint8_t *ent = t + j * EROFS_FULL_INDEX_SIZE;

		if (n->zdevs[j])
			es_put32(ent + ZI_BLKADDR, es_get32(ent + ZI_BLKADDR) +
				 (uint32_t)b->devices[n->zdevs[j]].mapped_blkaddr);
	}
}

void wb_zmap_remap(struct wnode *n, uint16_t device, uint32_t base, const uint32_t *remap)
{
	for (uint64_t j = 0; j < n->nchunks; j++) {
		uint8_t *ent = n->chunk_table + j * EROFS_FULL_INDEX_SIZE;
		unsigned int type = es_get16(ent + ZI_ADVISE) & EROFS_LCLUSTER_TYPE_MASK;
		uint32_t blk = es_get32(ent + ZI_BLKADDR);

		/* block 0 of device 0 is the end-of-file marker's */
		if (type != EROFS_LCLUSTER_NONHEAD && n->zdevs[j] == device && blk >= base)
			es_put32(ent + ZI_BLKADDR, remap[blk - base]);
	}
}

void wb_zmap_remap_devices(struct wnode *n, const uint16_t *remap, unsigned int nprov)
{
	for (uint64_t j = 0; j < n->nchunks; j++)
		if (n->zdevs[j] && n->zdevs[j] < nprov)
			n->zdevs[j] = remap[n->zdevs[j]];
}
