// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Fuzz target: the superblock, the device table and the inode parser.
 * The input is the head of an image (make-seeds.sh cuts the metadata
 * blocks out of real images); every inode slot of the first 64 KiB of
 * metadata is decoded, the way dump.erofs --nid takes any number.
 */
#include "harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *buf = fuzz_copy(data, size);
	struct es_err err = { 0 };
	struct fuzz_img f;
	char features[256];
	struct es_image *img;

	if (!buf)
		return 0;
	fuzz_fix_super(buf, size);
	if (fuzz_open(&f, buf, size, &err) == 0) {
		uint64_t meta = (uint64_t)f.img.sb.meta_blkaddr << f.img.sb.blkszbits;
		uint64_t slots = meta < size ? (size - meta) / EROFS_ISLOT_SIZE : 0;

		es_super_features(&f.img.sb, features, sizeof(features));
		if (slots > 2048)
			slots = 2048;
		for (uint64_t nid = 0; nid < slots; nid++) {
			struct es_inode ino;
			uint32_t major, minor;

			es_err_clear(&err);
			if (es_inode_read(&f.img, nid, &ino, &err))
				continue;
			(void)es_layout_name(ino.layout);
			es_decode_rdev(ino.raw_u, &major, &minor);
			(void)es_mode_to_ftype(ino.mode);
		}
		es_err_clear(&err);
		es_inode_read(&f.img, f.img.sb.root_nid, &(struct es_inode){ 0 }, &err);
	}
	fuzz_close(&f);
	/* and the hosted opener, which allocates the device table itself */
	{
		const struct es_io_mem_dev dev = { .data = buf, .size = size };
		struct es_io_mem mem;
		struct es_io io;

		es_io_mem_init(&io, &mem, &dev, 1);
		es_err_clear(&err);
		if (es_image_open_io(&img, &io, &err) == 0)
			es_image_close(img);
	}
	free(buf);
	return 0;
}
