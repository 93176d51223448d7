// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Fuzz target for the reader: any byte string is opened as an image and
 * walked the way fsck, dump and erofs-verify walk one (superblock, every
 * inode, directory, xattr and chunk map, the seal, the trust pipeline).
 * The bytes are read through the memory source: no file, no descriptor.
 * Without libFuzzer, main() replays and mutates (harness.h).
 */
#include "harness.h"
#include "erofs/check.h"
#include "erofs/verify.h"

static int list_cb(void *ctx, const uint8_t *name, unsigned int len, uint64_t nid,
		   unsigned int ftype)
{
	(void)ctx, (void)name, (void)len, (void)nid, (void)ftype;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct es_err err = { 0 };
	struct es_image *img = NULL;
	struct es_seal *seal = NULL;
	const struct es_io_mem_dev image = { .data = data, .size = size };
	struct es_io_mem mem;
	struct es_io io;

	es_io_mem_init(&io, &mem, &image, 1);
	if (es_image_open_io(&img, &io, &err) == 0) {
		struct es_check_opts o;
		struct es_stats st;
		struct es_inode root;
		uint64_t nid;

		es_check_opts_init(&o);
		o.check_data = true;
		es_err_clear(&err);
		es_check(img, &o, NULL, &err);
		es_err_clear(&err);
		es_image_stats(img, &st, &err);
		es_err_clear(&err);
		if (es_inode_read(img, img->sb.root_nid, &root, &err) == 0)
			es_dir_iterate(img, &root, list_cb, NULL, &err);
		es_err_clear(&err);
		es_lookup(img, "/a/b/c", &nid, &err);
		es_err_clear(&err);
		if (es_seal_read(img, &seal, &err) == 0) {
			es_err_clear(&err);
			for (unsigned int i = 0; i < seal->ndevices && i < 2; i++) {
				uint8_t *tree;
				size_t len;

				if (es_seal_load_tree(&io, seal, i, &tree, &len, &err) == 0)
					free(tree);
				es_err_clear(&err);
			}
			es_seal_verify_device(&io, seal, 0, 1, &err);
			es_seal_free(seal);
		}
		es_image_close(img);
	}
	es_err_clear(&err);
	/* the trust pipeline, as fsck runs it without anchors */
	{
		static const struct es_verify_opts vo = {
			.nthreads = 1, .check_devices = true, .parse_unverified = true,
			.open_image = true,
		};
		struct es_verify_report report;
		struct es_seal_summary sum;

		if (es_verify_image(&io, NULL, &vo, &report, &err) == 0) {
			es_err_clear(&err);
			es_check_seal(&report, false, NULL, NULL, &sum, &err);
		}
		es_verify_report_free(&report);
	}
	return 0;
}
