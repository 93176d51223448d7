// SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0
/*
 * The dedup domain's key: 32 random bytes in a file of their own (made
 * by es_write_new_key_file(), erofs-key gen-domain), read back exactly.  Whoever holds it can
 * confirm guessed chunks of every image of the domain (docs/SECURITY.md),
 * so it is handled like any other key: wiped after use, never printed.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "crypto/backend.h"
#include "erofs/domain.h"
#include "io.h"

int es_domain_key_load(const char *path, uint8_t key[ES_DOMAIN_KEY_SIZE], struct es_err *err)
{
	uint8_t probe[ES_DOMAIN_KEY_SIZE + 1];
	struct stat st;
	ssize_t got;
	int fd, ret = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return es_fail(err, -errno, "domain key %s: %s", ES_PATH(path), strerror(errno));
	if (fstat(fd, &st) < 0) {
		ret = es_fail(err, -errno, "domain key %s: %s", ES_PATH(path), strerror(errno));
	} else if (!S_ISREG(st.st_mode)) {
		ret = es_fail(err, -EINVAL, "domain key %s: not a regular file", ES_PATH(path));
	} else {
		got = es_pread_full(fd, probe, sizeof(probe), 0);
		if (got < 0)
			ret = es_fail(err, (int)got, "domain key %s: %s", ES_PATH(path),
				      strerror((int)-got));
		else if (got != ES_DOMAIN_KEY_SIZE)
			ret = es_fail(err, -EINVAL, "domain key %s: %s bytes, not exactly %u "
				      "(make one with erofs-key gen-domain)", ES_PATH(path),
				      got > ES_DOMAIN_KEY_SIZE ? "more than 32" : "fewer than 32",
				      ES_DOMAIN_KEY_SIZE);
		else
			memcpy(key, probe, ES_DOMAIN_KEY_SIZE);
	}
	es_crypto_wipe(probe, sizeof(probe));
	close(fd);
	return ret;
}
