// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Fuzz target: the seal trailer.  The input is a whole sealed image; the
 * locator checksum and the manifest's chunk index digest are recomputed
 * (fuzz_fix_seal) so mutations reach the locator's sections, the manifest
 * decoder, the signature records, the chunk index and the stored Merkle
 * trees (each tree checked against the manifest's digest, one data block
 * against the tree).  Then the seal against the image (es_seal_check_image).
 */
#include "harness.h"
#include "erofs/verity.h"

static void trees(const struct es_io *io, const struct es_seal *seal)
{
	for (unsigned int i = 0; i < seal->ndevices && i < 2; i++) {
		struct es_err err = { 0 };
		struct es_verity_geom g;
		uint8_t *tree;
		uint8_t block[4096];
		size_t len;

		if (es_seal_load_tree(io, seal, i, &tree, &len, &err))
			continue;
		if (es_verity_geometry(seal->devices[i].size, &g) == 0 &&
		    es_verity_check_tree(&g, tree, len, seal->devices[i].digest) == 0 &&
		    g.data_blocks) {
			memset(block, 0, sizeof(block));
			es_verity_check_leaf(&g, tree, len, seal->devices[i].digest,
					     g.data_blocks - 1, block, sizeof(block));
		}
		free(tree);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *buf = fuzz_copy(data, size);
	struct es_err err = { 0 };
	struct es_seal *seal = NULL;
	struct fuzz_img f;

	if (!buf)
		return 0;
	fuzz_fix_super(buf, size);
	fuzz_fix_seal(buf, size);
	/* as fsck and dump read it: image first, then the seal */
	if (fuzz_open(&f, buf, size, &err) == 0) {
		es_err_clear(&err);
		if (es_seal_read(&f.img, &seal, &err) == 0) {
			uint8_t digest[32];
			char text[128];

			es_err_clear(&err);
			es_seal_manifest_digest(seal, digest, &err);
			es_manifest_digest_format(digest, text);
			trees(&f.io, seal);
			es_err_clear(&err);
			es_seal_verify_device(&f.io, seal, 0, 1, &err);
			es_seal_free(seal);
		}
	}
	fuzz_close(&f);
	/* as erofs-verify reads it: the raw manifest before any EROFS structure */
	{
		const struct es_io_mem_dev dev = { .data = buf, .size = size };
		struct es_io_mem mem;
		struct es_io io;

		es_io_mem_init(&io, &mem, &dev, 1);
		es_err_clear(&err);
		if (es_seal_open(&io, &seal, &err) == 0) {
			es_err_clear(&err);
			if (es_seal_parse(&io, seal, &err) == 0)
				trees(&io, seal);
			es_seal_free(seal);
		}
	}
	free(buf);
	return 0;
}
