// SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "io.h"

ssize_t es_pread_full(int fd, void *buf, size_t len, uint64_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(fd, (char *)buf + done, len - done,
				  (off_t)(off + done));

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

ssize_t es_read_full(int fd, void *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = read(fd, (char *)buf + done, len - done);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

int es_pwrite_full(int fd, const void *buf, size_t len, uint64_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pwrite(fd, (const char *)buf + done, len - done,
				   (off_t)(off + done));

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		done += (size_t)n;
	}
	return 0;
}

int es_outfile_create(struct es_outfile *of, const char *path, struct es_err *err)
{
	size_t len = strlen(path) + 16;

	of->fd = -1;
	of->path = strdup(path);
	of->tmp_path = malloc(len);
	if (!of->path || !of->tmp_path) {
		es_outfile_abort(of);
		return es_fail(err, -ENOMEM, "out of memory");
	}
	snprintf(of->tmp_path, len, "%s.tmpXXXXXX", path);
	of->fd = mkostemp(of->tmp_path, O_CLOEXEC);
	if (of->fd < 0) {
		int ret = es_fail(err, -errno, "cannot create a temporary file beside %s: %s",
				  path, strerror(errno));

		free(of->tmp_path);
		of->tmp_path = NULL;
		es_outfile_abort(of);
		return ret;
	}
	if (fchmod(of->fd, 0644) < 0) {
		int ret = es_fail(err, -errno, "cannot set mode of %s: %s",
				  of->tmp_path, strerror(errno));

		es_outfile_abort(of);
		return ret;
	}
	return 0;
}

static int fsync_parent_dir(const char *path)
{
	char *copy = strdup(path);
	int fd, ret = 0;

	if (!copy)
		return -ENOMEM;
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		if (fsync(fd) < 0)
			ret = -errno;
		close(fd);
	}
	free(copy);
	return ret;
}

int es_outfile_commit(struct es_outfile *of, struct es_err *err)
{
	int ret;

	if (fsync(of->fd) < 0) {
		ret = es_fail(err, -errno, "cannot sync %s: %s", of->tmp_path,
			      strerror(errno));
		es_outfile_abort(of);
		return ret;
	}
	if (close(of->fd) < 0) {
		of->fd = -1;
		ret = es_fail(err, -errno, "cannot close %s: %s", of->tmp_path,
			      strerror(errno));
		es_outfile_abort(of);
		return ret;
	}
	of->fd = -1;
	if (rename(of->tmp_path, of->path) < 0) {
		ret = es_fail(err, -errno, "cannot rename %s to %s: %s", of->tmp_path,
			      of->path, strerror(errno));
		es_outfile_abort(of);
		return ret;
	}
	ret = fsync_parent_dir(of->path);
	free(of->tmp_path);
	free(of->path);
	of->tmp_path = of->path = NULL;
	if (ret)
		return es_fail(err, ret, "cannot sync the directory of the output");
	return 0;
}

void es_outfile_abort(struct es_outfile *of)
{
	if (of->fd >= 0)
		close(of->fd);
	of->fd = -1;
	if (of->tmp_path)
		unlink(of->tmp_path);
	free(of->tmp_path);
	free(of->path);
	of->tmp_path = of->path = NULL;
}

char *es_path_join(const char *parent, const uint8_t *name, size_t len)
{
	size_t plen = strlen(parent);
	char *s = malloc(plen + 1 + len + 1);

	if (!s)
		return NULL;
	memcpy(s, parent, plen);
	s[plen] = '/';
	memcpy(s + plen + 1, name, len);
	s[plen + 1 + len] = '\0';
	return s;
}
