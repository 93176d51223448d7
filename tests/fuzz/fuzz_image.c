// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Fuzz target for the reader: any byte string is opened as an image and
 * walked the way fsck, dump and erofs-verify walk one (superblock, every
 * inode, directory, xattr and chunk map, the seal, the trust pipeline).
 * Built with libFuzzer (clang -fsanitize=fuzzer) it fuzzes; built without
 * it, main() replays files, or mutates them: `fuzz_image --mutate N SEED FILE...` flips
 * random bits N times per file, a small fuzz run that needs no clang.
 * The bytes are read through the memory source: no file, no descriptor.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "erofs/check.h"
#include "erofs/image.h"
#include "erofs/seal.h"
#include "erofs/verify.h"

static int list_cb(void *ctx, const uint8_t *name, unsigned int len, uint64_t nid,
		   unsigned int ftype)
{
	(void)ctx, (void)name, (void)len, (void)nid, (void)ftype;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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

#ifndef ES_LIBFUZZER
static uint64_t rng_state;

static uint64_t rng(void)
{
	/* xorshift64*: deterministic for a given seed */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545F4914F6CDD1Dull;
}

static uint8_t *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
		buf = malloc((size_t)n + 1);
		if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
			free(buf);
			buf = NULL;
		}
		*len = (size_t)n;
	}
	fclose(f);
	return buf;
}

int main(int argc, char **argv)
{
	unsigned long rounds = 0;
	int first = 1;

	if (argc > 3 && !strcmp(argv[1], "--mutate")) {
		rounds = strtoul(argv[2], NULL, 10);
		rng_state = strtoull(argv[3], NULL, 10) | 1;
		first = 4;
	}
	for (int i = first; i < argc; i++) {
		size_t len = 0;
		uint8_t *orig = read_file(argv[i], &len), *work;

		if (!orig) {
			fprintf(stderr, "cannot read %s\n", argv[i]);
			return 2;
		}
		LLVMFuzzerTestOneInput(orig, len);
		work = malloc(len ? len : 1);
		for (unsigned long r = 0; work && len && r < rounds; r++) {
			unsigned int flips = 1 + (unsigned int)(rng() % 8);
			size_t cut = len;

			memcpy(work, orig, len);
			/* favour the first blocks: superblock, metadata, dirs */
			for (unsigned int k = 0; k < flips; k++) {
				size_t at = (rng() & 1) ? rng() % (len < 65536 ? len : 65536)
							: rng() % len;

				work[at] ^= (uint8_t)(1u << (rng() % 8));
			}
			if (rng() % 16 == 0)
				cut = rng() % len;
			LLVMFuzzerTestOneInput(work, cut);
		}
		free(work);
		free(orig);
	}
	return 0;
}
#endif
