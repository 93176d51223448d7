// SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0
/*
 * Layout of the metadata: inode order (breadth first, root first, so the
 * root nid stays small), compact or extended inodes, directory sizes and
 * inline tails, and the byte position (hence nid) of every inode.
 * Metadata follows the file data, so meta_blkaddr points past the data and
 * nids count from there.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "erofs/format.h"
#include "erofs/image.h"
#include "wtree.h"

struct dirent_ref {
	const uint8_t *name;
	unsigned int len;
	const struct wnode *node;
};

/* The entries of a directory with "." and ".." merged in, sorted. */
static struct dirent_ref *sorted_dirents(const struct wnode *dir, size_t *count)
{
	static const uint8_t dot[] = ".", dotdot[] = "..";
	struct dirent_ref *r = malloc((dir->nchildren + 2) * sizeof(*r));
	size_t k = 0, i = 0;
	struct dirent_ref extra[2] = {
		{ dot, 1, dir }, { dotdot, 2, dir->parent },
	};
	unsigned int e = 0;

	if (!r)
		return NULL;
	while (i < dir->nchildren || e < 2) {
		bool take_extra = e < 2 && (i == dir->nchildren ||
			es_name_cmp(extra[e].name, extra[e].len, dir->children[i].name,
				    dir->children[i].len) < 0);

		if (take_extra) {
			r[k++] = extra[e++];
		} else {
			r[k].name = dir->children[i].name;
			r[k].len = dir->children[i].len;
			r[k].node = dir->children[i].node;
			k++;
			i++;
		}
	}
	*count = k;
	return r;
}

uint64_t wb_dir_size(const struct wnode *dir, uint32_t blksz)
{
	uint64_t total = 0, used = 0;
	size_t count;
	struct dirent_ref *r = sorted_dirents(dir, &count);

	if (!r)
		return 0;
	for (size_t i = 0; i < count; i++) {
		uint64_t need = EROFS_DIRENT_SIZE + r[i].len;

		if (used + need > blksz) {
			total += blksz;
			used = 0;
		}
		used += need;
	}
	free(r);
	return total + used;
}

int wb_dir_encode(const struct wnode *dir, uint32_t blksz, uint8_t *out)
{
	size_t count, first = 0;
	struct dirent_ref *r = sorted_dirents(dir, &count);
	uint8_t *block = out;

	if (!r)
		return -ENOMEM;
	while (first < count) {
		size_t last = first;
		uint64_t used = 0;
		unsigned int nameoff;

		while (last < count && used + EROFS_DIRENT_SIZE + r[last].len <= blksz)
			used += EROFS_DIRENT_SIZE + r[last++].len;
		nameoff = (unsigned int)((last - first) * EROFS_DIRENT_SIZE);
		for (size_t i = first; i < last; i++) {
			uint8_t *de = block + (i - first) * EROFS_DIRENT_SIZE;

			es_put64(de + DIRENT_NID, r[i].node->nid);
			es_put16(de + DIRENT_NAMEOFF, (uint16_t)nameoff);
			de[DIRENT_FILE_TYPE] = (uint8_t)es_mode_to_ftype(r[i].node->mode);
			de[DIRENT_FILE_TYPE + 1] = 0;
			memcpy(block + nameoff, r[i].name, r[i].len);
			nameoff += r[i].len;
		}
		block += blksz;
		first = last;
	}
	free(r);
	return 0;
}

static int order_nodes(struct wbuild *b)
{
	uint64_t head = 0, tail = 0;

	b->order = malloc(b->nnodes * sizeof(*b->order));
	if (!b->order)
		return es_fail(b->err, -ENOMEM, "out of memory");
	b->order[tail++] = b->root;
	b->root->queued = true;
	while (head < tail) {
		struct wnode *n = b->order[head++];

		n->seq = (uint32_t)head;
		for (size_t i = 0; i < n->nchildren; i++) {
			struct wnode *c = n->children[i].node;

			if (!c->queued) {
				c->queued = true;
				b->order[tail++] = c;
			}
		}
	}
	return 0;
}

static void choose_inode_format(struct wbuild *b, struct wnode *n)
{
	if (S_ISDIR(n->mode)) {
		n->nlink = 2;
		for (size_t i = 0; i < n->nchildren; i++)
			if (S_ISDIR(n->children[i].node->mode))
				n->nlink++;
	}
	n->extended = n->size > UINT32_MAX || n->uid > UINT16_MAX ||
		      n->gid > UINT16_MAX || n->nlink > UINT16_MAX ||
		      n->mtime != b->epoch || n->mtime_nsec != 0;
}

static int plan_directory(struct wbuild *b, struct wnode *n)
{
	uint32_t isize = n->extended ? EROFS_INODE_EXTENDED_SIZE : EROFS_INODE_COMPACT_SIZE;
	uint64_t tail;

	n->size = wb_dir_size(n, b->blksz);
	if (!n->size)
		return es_fail(b->err, -ENOMEM, "out of memory");
	if (n->size > UINT32_MAX && !n->extended)
		n->extended = true;
	tail = n->size & (b->blksz - 1);
	if (tail && isize + n->xattr_isize + tail <= b->blksz) {
		n->layout = EROFS_LAYOUT_FLAT_INLINE;
		n->tail_inline = true;
		n->tail_len = (uint32_t)tail;
		n->nblocks = n->size >> b->blkszbits;
	} else {
		n->layout = EROFS_LAYOUT_FLAT_PLAIN;
		n->nblocks = (n->size + b->blksz - 1) >> b->blkszbits;
	}
	return 0;
}

/*
 * Best-fit packing of inode records (inode, xattrs, chunk table or inline
 * tail) into metadata blocks: a record that fits in a block is put in the
 * partly used block with the least room that still holds it, so tails do
 * not leave half-empty blocks behind.  Records larger than a block start a
 * fresh block.  Free space is always a multiple of 32 bytes.
 */
#define PACK_BUCKETS 129	/* free space / 32, 0..128 */

struct packer {
	uint32_t blksz;
	uint64_t end;			/* first byte of the first unused block */
	uint64_t *blocks[PACK_BUCKETS];	/* stacks of block numbers by free space */
	size_t count[PACK_BUCKETS], cap[PACK_BUCKETS];
};

static int pack_push(struct packer *p, uint64_t block, uint32_t free_bytes)
{
	unsigned int k = free_bytes / EROFS_ISLOT_SIZE;

	if (!k)
		return 0;
	if (p->count[k] == p->cap[k]) {
		size_t ncap = p->cap[k] ? p->cap[k] * 2 : 64;
		uint64_t *nb = realloc(p->blocks[k], ncap * sizeof(*nb));

		if (!nb)
			return -ENOMEM;
		p->blocks[k] = nb;
		p->cap[k] = ncap;
	}
	p->blocks[k][p->count[k]++] = block;
	return 0;
}

static int pack_place(struct packer *p, uint64_t need, uint64_t *pos)
{
	const uint32_t blksz = p->blksz;
	uint64_t block;

	need = es_round_up(need, EROFS_ISLOT_SIZE);
	if (need <= blksz) {
		for (unsigned int k = (unsigned int)(need / EROFS_ISLOT_SIZE); k < PACK_BUCKETS; k++) {
			uint32_t free_bytes = k * EROFS_ISLOT_SIZE;

			if (!p->count[k])
				continue;
			block = p->blocks[k][--p->count[k]];
			*pos = block * blksz + (blksz - free_bytes);
			return pack_push(p, block, free_bytes - (uint32_t)need);
		}
	}
	*pos = p->end;
	p->end += es_round_up(need, blksz);
	block = p->end / blksz - 1;
	return pack_push(p, block, (uint32_t)(p->end - *pos - need));
}

static void pack_free(struct packer *p)
{
	for (unsigned int k = 0; k < PACK_BUCKETS; k++)
		free(p->blocks[k]);
}

/*
 * Where the device table goes (docs/FORMAT.md §1): block 0 while its
 * slots fit after the superblock, else whole blocks of its own right after
 * the data region, which is small when there are blobs (their data is in
 * the blobs) and must end within devt_slotoff's reach.  Returns the first
 * block after it.
 */
static int plan_device_table(struct wbuild *b, uint64_t *next)
{
	uint64_t bytes = (uint64_t)(b->ndevices - 1) * EROFS_DEVT_SLOT_SIZE;

	*next = b->data_next;
	b->devt_pos = wb_devt_block0_pos(b);
	if (b->devt_pos + bytes <= b->blksz)
		return 0;
	b->devt_pos = b->data_next << b->blkszbits;
	if (b->devt_pos > WB_DEVT_MAX_POS)
		return es_fail(b->err, -EFBIG, "the device table of %u blobs must start in "
			       "the first %llu bytes of the image, but %llu blocks of data "
			       "precede it", b->ndevices - 1,
			       (unsigned long long)WB_DEVT_MAX_POS,
			       (unsigned long long)b->data_next - 1);
	*next += es_round_up(bytes, b->blksz) >> b->blkszbits;
	return 0;
}

uint64_t wb_meta_record_size(const struct wnode *n)
{
	uint64_t need = (n->extended ? EROFS_INODE_EXTENDED_SIZE : EROFS_INODE_COMPACT_SIZE) +
			n->xattr_isize;

	if (n->layout == EROFS_LAYOUT_CHUNK_BASED) {
		unsigned int unit = (n->chunkfmt & EROFS_CHUNK_FORMAT_INDEXES) ?
			EROFS_CHUNK_INDEX_SIZE : EROFS_BLOCKMAP_ENTRY_SIZE;

		/* the table is unit-aligned; records start 32-aligned */
		need = es_round_up(need, unit) + n->nchunks * unit;
	} else if (n->layout == EROFS_LAYOUT_COMPRESSED_FULL) {
		need = es_round_up(need, EROFS_ZMAP_HEADER_ALIGN) + wb_zmap_size(n);
	}
	if (n->tail_inline)
		need += n->tail_len;
	return need;
}

int wb_plan_layout(struct wbuild *b, uint64_t *meta_blkaddr, uint64_t *meta_len,
		   uint64_t *total_blocks)
{
	const uint32_t blksz = b->blksz;
	struct packer pk = { .blksz = blksz };
	uint64_t reserved, next;
	int ret;

	ret = order_nodes(b);
	if (!ret)
		ret = plan_device_table(b, meta_blkaddr);
	if (ret)
		return ret;
	/* shared xattrs first; nid 0 is never used */
	reserved = es_round_up(b->shared_len ? b->shared_len : EROFS_ISLOT_SIZE,
			       EROFS_ISLOT_SIZE);
	pk.end = es_round_up(reserved, blksz);
	ret = pack_push(&pk, pk.end / blksz - 1, (uint32_t)(pk.end - reserved));
	for (uint64_t i = 0; !ret && i < b->nnodes; i++) {
		struct wnode *n = b->order[i];

		choose_inode_format(b, n);
		if (S_ISDIR(n->mode)) {
			ret = plan_directory(b, n);
			if (ret)
				break;
		}
		ret = pack_place(&pk, wb_meta_record_size(n), &n->meta_pos);
		if (ret)
			ret = es_fail(b->err, ret, "out of memory");
		n->nid = n->meta_pos >> EROFS_ISLOT_BITS;
	}
	pack_free(&pk);
	if (ret)
		return ret;
	if (b->root->nid > UINT16_MAX)
		return es_fail(b->err, -EFBIG, "the root inode does not fit in the "
			       "first 2 MiB of metadata (too many shared xattrs)");
	*meta_len = pk.end;
	next = *meta_blkaddr + (*meta_len >> b->blkszbits);
	for (uint64_t i = 0; i < b->nnodes; i++) {
		struct wnode *n = b->order[i];

		if (S_ISDIR(n->mode) && n->nblocks) {
			n->startblk = (uint32_t)next;
			next += n->nblocks;
		} else if (S_ISDIR(n->mode)) {
			n->startblk = EROFS_NULL_ADDR;
		}
	}
	if (next > UINT32_MAX)
		return es_fail(b->err, -EFBIG, "the image would exceed 2^32 blocks");
	*total_blocks = next;
	return 0;
}
