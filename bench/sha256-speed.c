// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * bench/sha256-speed: throughput of the multi-message SHA-256 over 4 KiB
 * blocks on one thread, with SHA-NI and masked off (see bench/sha256-speed.sh,
 * which sets it beside `openssl speed`).  Rates are 10^6 bytes per second of
 * this thread's CPU time, as `openssl speed` counts them, and of wall time.
 *
 * usage: sha256-speed [SECONDS]      (default 2 per case)
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "erofs/sha256_mb.h"

#define BLOCK		4096u
#define BLOCKS		4096u	/* 16 MiB: the size of a large read batch */

static double seconds(clockid_t clock)
{
	struct timespec t;

	clock_gettime(clock, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int run(unsigned int flags, double budget, const uint8_t *data, uint8_t *digests)
{
	struct es_sha256_mb mb;
	double cpu0, wall0, cpu, wall;
	unsigned long long bytes = 0;
	int ret = es_sha256_mb_init(&mb, flags);

	if (ret)
		return ret;
	cpu0 = seconds(CLOCK_THREAD_CPUTIME_ID);
	wall0 = seconds(CLOCK_MONOTONIC);
	do {
		ret = es_sha256_mb_blocks(&mb, data, BLOCKS, BLOCK, digests);
		bytes += (unsigned long long)BLOCKS * BLOCK;
		cpu = seconds(CLOCK_THREAD_CPUTIME_ID) - cpu0;
	} while (!ret && cpu < budget);
	wall = seconds(CLOCK_MONOTONIC) - wall0;
	if (!ret)
		printf("%-12s %u-byte blocks: %7.0f MB/s cpu  %7.0f MB/s wall\n",
		       es_sha256_mb_impl(&mb), BLOCK, (double)bytes / cpu / 1e6,
		       (double)bytes / wall / 1e6);
	es_sha256_mb_release(&mb);
	return ret;
}

int main(int argc, char **argv)
{
	double budget = argc > 1 ? atof(argv[1]) : 2.0;
	uint8_t *data = malloc((size_t)BLOCKS * BLOCK);
	uint8_t *digests = malloc((size_t)BLOCKS * ES_SHA256_DIGEST_SIZE);
	uint32_t x = 0x5eed;
	int ret;

	if (argc > 2 || budget <= 0) {
		fprintf(stderr, "usage: sha256-speed [SECONDS]\n");
		return 2;
	}
	if (!data || !digests) {
		fprintf(stderr, "sha256-speed: out of memory\n");
		return 1;
	}
	for (size_t i = 0; i < (size_t)BLOCKS * BLOCK; i++) {
		x = x * 1103515245u + 12345u;
		data[i] = (uint8_t)(x >> 16);
	}
	if (!es_sha256_mb_cpu_has_shani())
		printf("note: this CPU has no SHA-NI; both rows are the one-by-one code\n");
	ret = run(0, budget, data, digests);
	if (!ret)
		ret = run(ES_SHA256_MB_NO_SHANI, budget, data, digests);
	free(data);
	free(digests);
	if (ret) {
		fprintf(stderr, "sha256-speed: hashing failed (%d)\n", ret);
		return 1;
	}
	return 0;
}
