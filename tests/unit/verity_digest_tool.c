// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Test driver: print the fs-verity digest of a file (SHA-256, 4K, no salt)
 * in the same formats as `fsverity digest`, so the integration test can
 * compare the two outputs byte for byte.
 *
 *   verity_digest_tool [--compact] [--for-builtin-sig] [--tree OUT] FILE
 *
 * default             "sha256:<hex> FILE"
 * --compact           "<hex>"
 * --for-builtin-sig   hex of the 44-byte formatted digest instead of the
 *                     digest ("<hex> FILE", or "<hex>" with --compact)
 * --tree OUT          also write the serialized Merkle tree to OUT
 *                     (like `fsverity digest --out-merkle-tree=OUT`)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "erofs/verity.h"

static void usage(void)
{
	fprintf(stderr, "usage: verity_digest_tool [--compact] "
		"[--for-builtin-sig] [--tree OUT] FILE\n");
}

static void print_hex(const uint8_t *bytes, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		printf("%02x", bytes[i]);
}

static int write_file(const char *path, const uint8_t *data, size_t len)
{
	FILE *out = fopen(path, "wb");
	int ok;

	if (!out)
		return -errno;
	ok = (!len || fwrite(data, 1, len, out) == len);
	if (fclose(out) != 0)
		ok = 0;
	return ok ? 0 : -EIO;
}

int main(int argc, char **argv)
{
	uint8_t digest[ES_VERITY_HASH_SIZE];
	uint8_t formatted[ES_VERITY_FORMATTED_DIGEST_SIZE];
	const char *tree_path = NULL, *path = NULL;
	int compact = 0, builtin_sig = 0;
	uint8_t *tree = NULL;
	size_t tree_len = 0;
	struct stat st;
	int i, fd, ret;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--compact")) {
			compact = 1;
		} else if (!strcmp(argv[i], "--for-builtin-sig")) {
			builtin_sig = 1;
		} else if (!strcmp(argv[i], "--tree") && i + 1 < argc) {
			tree_path = argv[++i];
		} else if (!strncmp(argv[i], "--tree=", 7)) {
			tree_path = argv[i] + 7;
		} else if (argv[i][0] == '-' || path) {
			usage();
			return 2;
		} else {
			path = argv[i];
		}
	}
	if (!path) {
		usage();
		return 2;
	}

	fd = open(path, O_RDONLY);
	if (fd < 0 || fstat(fd, &st) != 0) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return 1;
	}
	ret = es_verity_digest_fd(fd, (uint64_t)st.st_size, digest,
				  tree_path ? &tree : NULL, &tree_len);
	close(fd);
	if (ret) {
		fprintf(stderr, "%s: %s\n", path, strerror(-ret));
		return 1;
	}
	if (tree_path) {
		ret = write_file(tree_path, tree, tree_len);
		free(tree);
		if (ret) {
			fprintf(stderr, "%s: %s\n", tree_path, strerror(-ret));
			return 1;
		}
	}

	if (builtin_sig) {
		es_verity_formatted_digest(digest, formatted);
		print_hex(formatted, sizeof(formatted));
	} else {
		if (!compact)
			printf("sha256:");
		print_hex(digest, sizeof(digest));
	}
	if (!compact)
		printf(" %s", path);
	printf("\n");
	return fflush(stdout) == 0 ? 0 : 1;
}
