/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The standalone driver of every fuzz target (tests/fuzz/harness.h and the
 * boot API's fuzz_boot.c): without libFuzzer, main() replays files and
 * corpus folders, or mutates them repeatably:
 *
 *   fuzz_X FILE|DIR...                  run every input once
 *   fuzz_X --mutate N SEED FILE|DIR...  and N bit-flipped or truncated
 *                                       mutants of each (xorshift, SEED)
 *
 * The target defines LLVMFuzzerTestOneInput() before including this.
 */
#ifndef FUZZ_DRIVER_H
#define FUZZ_DRIVER_H

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ---- standalone: replay and mutate --------------------------------------------- */

#ifndef ES_LIBFUZZER
static uint64_t fuzz_rng_state;

static uint64_t fuzz_rng(void)
{
	/* xorshift64*: deterministic for a given seed */
	fuzz_rng_state ^= fuzz_rng_state >> 12;
	fuzz_rng_state ^= fuzz_rng_state << 25;
	fuzz_rng_state ^= fuzz_rng_state >> 27;
	return fuzz_rng_state * 0x2545F4914F6CDD1Dull;
}

static uint8_t *fuzz_read_file(const char *path, size_t *len)
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

static int fuzz_run_file(const char *path, unsigned long rounds)
{
	size_t len = 0;
	uint8_t *orig = fuzz_read_file(path, &len), *work;

	if (!orig) {
		fprintf(stderr, "cannot read %s\n", path);
		return 2;
	}
	LLVMFuzzerTestOneInput(orig, len);
	work = malloc(len ? len : 1);
	for (unsigned long r = 0; work && len && r < rounds; r++) {
		unsigned int flips = 1 + (unsigned int)(fuzz_rng() % 8);
		size_t cut = len;

		memcpy(work, orig, len);
		/* favour the first 64 KiB: superblock, metadata, directories */
		for (unsigned int k = 0; k < flips; k++) {
			size_t at = (fuzz_rng() & 1) ? fuzz_rng() % (len < 65536 ? len : 65536)
						     : fuzz_rng() % len;

			work[at] ^= (uint8_t)(1u << (fuzz_rng() % 8));
		}
		if (fuzz_rng() % 16 == 0)
			cut = fuzz_rng() % len;
		LLVMFuzzerTestOneInput(work, cut);
	}
	free(work);
	free(orig);
	return 0;
}

/* A file, or every file of a folder (a libFuzzer corpus), in name order. */
static int fuzz_run_path(const char *path, unsigned long rounds, unsigned int *count)
{
	struct dirent **names;
	struct stat st;
	int n, ret = 0;

	if (stat(path, &st) || !S_ISDIR(st.st_mode)) {
		++*count;
		return fuzz_run_file(path, rounds);
	}
	n = scandir(path, &names, NULL, alphasort);
	if (n < 0) {
		fprintf(stderr, "cannot list %s\n", path);
		return 2;
	}
	for (int i = 0; i < n; i++) {
		if (names[i]->d_name[0] != '.' && !ret) {
			size_t len = strlen(path) + strlen(names[i]->d_name) + 2;
			char *sub = malloc(len);

			if (!sub)
				ret = 2;
			else {
				snprintf(sub, len, "%s/%s", path, names[i]->d_name);
				ret = fuzz_run_path(sub, rounds, count);
				free(sub);
			}
		}
		free(names[i]);
	}
	free(names);
	return ret;
}

int main(int argc, char **argv)
{
	unsigned long rounds = 0;
	unsigned int count = 0;
	int first = 1;

	if (argc > 3 && !strcmp(argv[1], "--mutate")) {
		rounds = strtoul(argv[2], NULL, 10);
		fuzz_rng_state = strtoull(argv[3], NULL, 10) | 1;
		first = 4;
	}
	if (first >= argc) {
		fprintf(stderr, "usage: %s [--mutate N SEED] FILE|DIR...\n", argv[0]);
		return 2;
	}
	for (int i = first; i < argc; i++) {
		int ret = fuzz_run_path(argv[i], rounds, &count);

		if (ret)
			return ret;
	}
	printf("%s: %u inputs, %lu mutants each\n", argv[0], count, rounds);
	return 0;
}
#endif

#endif
