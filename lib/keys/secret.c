// SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0
/*
 * Secret memory: see include/erofs/secret.h.  One anonymous mapping per
 * buffer, so that madvise() and mlock() apply to the secret's pages only.
 */
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#include "crypto/backend.h"
#include "erofs/secret.h"

static size_t mapped_size(size_t len)
{
	long page = sysconf(_SC_PAGESIZE);
	size_t p = page > 0 ? (size_t)page : 4096;

	if (len > SIZE_MAX - p)
		return 0;
	return (len + p - 1) / p * p;
}

void *es_secret_alloc(size_t len)
{
	size_t size = mapped_size(len);
	void *p;

	if (!len || !size)
		return NULL;
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
#ifdef MADV_DONTDUMP
	(void)madvise(p, size, MADV_DONTDUMP);
#endif
	/* without the privilege or above RLIMIT_MEMLOCK this fails: fine */
	(void)mlock(p, size);
	return p;
}

void es_secret_free(void *p, size_t len)
{
	size_t size = mapped_size(len);

	if (!p || !size)
		return;
	es_crypto_wipe(p, size);
	(void)munlock(p, size);
	munmap(p, size);
}
