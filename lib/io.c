// SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <libgen.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include <linux/fs.h>
#include "erofs/image.h"
#include "io.h"

void es_prefault(void *buf, size_t len)
{
#ifdef MADV_POPULATE_WRITE
	/* a first touch costs ~20 us a page under some hypervisors (this
	 * bench machine's); mapped beforehand with one madvise(), about
	 * half of that: new memory stays dear, reusing it is what helps */
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t start, end;

	if (!buf || len < 16 * page)
		return;
	start = (uintptr_t)buf & ~(page - 1);
	end = ((uintptr_t)buf + len + page - 1) & ~(page - 1);
	/* the pages around buf belong to the same mapping; an old kernel
	 * without the advice just leaves the faults to happen */
	(void)madvise((void *)start, end - start, MADV_POPULATE_WRITE);
#else
	(void)buf, (void)len;
#endif
}

#define ES_HUGE_PAGE (2u << 20)

void *es_alloc_big(size_t len)
{
#ifdef MADV_HUGEPAGE
	/* ~20 us a 4 KiB fault under some hypervisors: a 4 MiB window costs
	 * 20 ms to touch first, under 1 ms in huge pages.  Below half a huge
	 * page, rounding up would cost more memory than it saves faults. */
	if (len >= ES_HUGE_PAGE / 2 && len <= SIZE_MAX - ES_HUGE_PAGE) {
		size_t whole = (len + ES_HUGE_PAGE - 1) & ~(size_t)(ES_HUGE_PAGE - 1);
		void *p;

		if (posix_memalign(&p, ES_HUGE_PAGE, whole))
			return NULL;
		/* advice only: without huge pages it stays a plain buffer */
		(void)madvise(p, whole, MADV_HUGEPAGE);
		return p;
	}
#endif
	{
		void *p = malloc(len);

		es_prefault(p, len);
		return p;
	}
}

void *es_calloc_big(size_t n, size_t size)
{
	void *p;

	if (size && n > SIZE_MAX / size)
		return NULL;
	p = es_alloc_big(n * size);
	if (p)
		memset(p, 0, n * size);
	return p;
}

/* Read until at least min bytes (at most max, and at least one call when
 * max is not 0) or end of file, at off
 * (positional) or at the descriptor's position; EINTR is retried. */
static ssize_t read_full(int fd, void *buf, size_t min, size_t max, bool positional,
			 uint64_t off)
{
	size_t done = 0;

	while (done < max) {
		ssize_t n = positional ? pread(fd, (char *)buf + done, max - done,
					       (off_t)(off + done)) :
					 read(fd, (char *)buf + done, max - done);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		done += (size_t)n;
		if (done >= min)
			break;
	}
	return (ssize_t)done;
}

ssize_t es_pread_full(int fd, void *buf, size_t len, uint64_t off)
{
	return read_full(fd, buf, len, len, true, off);
}

ssize_t es_pread_atleast(int fd, void *buf, size_t min, size_t max, uint64_t off)
{
	return read_full(fd, buf, min, max, true, off);
}

ssize_t es_read_full(int fd, void *buf, size_t len)
{
	return read_full(fd, buf, len, len, false, 0);
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

int es_pwritev_full(int fd, struct iovec *iov, int iovcnt, uint64_t off)
{
	while (iovcnt > 0) {
		ssize_t n = pwritev(fd, iov, iovcnt, (off_t)off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		off += (uint64_t)n;
		/* a short write: go on from where it stopped */
		while (iovcnt > 0 && (size_t)n >= iov->iov_len) {
			n -= (ssize_t)iov->iov_len;
			iov++;
			iovcnt--;
		}
		if (iovcnt > 0 && n > 0) {
			iov->iov_base = (char *)iov->iov_base + n;
			iov->iov_len -= (size_t)n;
		}
	}
	return 0;
}

/* What a file is, for a message: "a FIFO". */
static const char *file_kind(mode_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFREG:
		return "a regular file";
	case S_IFBLK:
		return "a block device";
	case S_IFCHR:
		return "a character device";
	case S_IFIFO:
		return "a FIFO";
	case S_IFSOCK:
		return "a socket";
	case S_IFDIR:
		return "a directory";
	case S_IFLNK:
		return "a symbolic link";
	default:
		return "a file of unknown type";
	}
}

/* The size of what fd (whose fstat() is st) holds. */
static int stat_size(int fd, const struct stat *st, const char *path, uint64_t *size,
		     struct es_err *err)
{
	if (S_ISBLK(st->st_mode)) {
		/* st_size of a device node is 0: ask the device */
		if (ioctl(fd, BLKGETSIZE64, size) < 0)
			return es_fail(err, -errno, "cannot get the size of block device "
				       "%s: %s", ES_PATH(path), strerror(errno));
	} else {
		*size = (uint64_t)st->st_size;
	}
	return 0;
}

int es_input_size(int fd, const char *path, uint64_t *size, bool *blockdev,
		  struct es_err *err)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return es_fail(err, -errno, "cannot stat %s: %s", ES_PATH(path),
			       strerror(errno));
	*blockdev = S_ISBLK(st.st_mode);
	return stat_size(fd, &st, path, size, err);
}

int es_open_input(const char *path, uint64_t *size, struct es_err *err)
{
	struct stat st;
	int fd, flags;

	/*
	 * Look before opening: open() blocks on a FIFO until a writer comes,
	 * and opening some character devices has side effects (a tape
	 * rewinds).  fstat() below decides; this only avoids the open.
	 */
	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
		goto wrong_kind;
	/* O_NONBLOCK: a FIFO swapped in after the stat() must not block us */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return es_fail(err, -errno, "cannot open %s: %s", ES_PATH(path),
			       strerror(errno));
	if (fstat(fd, &st) < 0) {
		int ret = es_fail(err, -errno, "cannot stat %s: %s", ES_PATH(path),
				  strerror(errno));

		close(fd);
		return ret;
	}
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
		close(fd);
		goto wrong_kind;
	}
	/* reads must wait for a slow device, not fail with EAGAIN */
	flags = fcntl(fd, F_GETFL);
	if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0) {
		int ret = es_fail(err, -errno, "%s: %s", ES_PATH(path), strerror(errno));

		close(fd);
		return ret;
	}
	if (size) {
		int ret = stat_size(fd, &st, path, size, err);

		if (ret) {
			close(fd);
			return ret;
		}
	}
	return fd;
wrong_kind:
	return es_fail(err, S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL,
		       "%s is %s, not a regular file or block device", ES_PATH(path),
		       file_kind(st.st_mode));
}

/*
 * The output replaces path by rename(): that must not turn a device node,
 * a FIFO or a directory into a regular file.  A symbolic link is replaced
 * itself, but one that points at a device says the user meant the device.
 */
static int check_replaceable(const char *path, struct es_err *err)
{
	struct stat st;

	if (stat(path, &st) < 0 || S_ISREG(st.st_mode))
		return 0;	/* absent (or unreachable: creating says why) */
	if (S_ISBLK(st.st_mode))
		return es_fail(err, -EINVAL, "%s is a block device: the output is written "
			       "to a new file and renamed into place, which would replace "
			       "the device node; write it to a regular file and copy that "
			       "onto the device (dd if=FILE of=DEVICE)", ES_PATH(path));
	return es_fail(err, S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL,
		       "%s is %s, not a regular file: the output is written to a new file "
		       "and renamed into place, which would replace it; give the path "
		       "of a regular file", ES_PATH(path), file_kind(st.st_mode));
}

struct es_flusher {
	int fd;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	unsigned long asked, done;	/* steps asked for, synced */
	bool stopping;
	int error;			/* the first failure */
};

static void *flusher_main(void *arg)
{
	struct es_flusher *f = arg;

	pthread_mutex_lock(&f->lock);
	for (;;) {
		unsigned long asked;
		int ret = 0;

		while (!f->stopping && f->done == f->asked)
			pthread_cond_wait(&f->wake, &f->lock);
		if (f->done == f->asked)
			break;		/* stopping: the final fsync does the rest */
		asked = f->asked;
		pthread_mutex_unlock(&f->lock);
		if (fdatasync(f->fd) < 0)
			ret = -errno;
		pthread_mutex_lock(&f->lock);
		if (ret && !f->error)
			f->error = ret;
		f->done = asked;
	}
	pthread_mutex_unlock(&f->lock);
	return NULL;
}

int es_writeback_start(struct es_writeback *w, int fd)
{
	struct es_flusher *f = calloc(1, sizeof(*f));
	int ret;

	if (!f)
		return -ENOMEM;
	f->fd = fd;
	if (pthread_mutex_init(&f->lock, NULL)) {
		free(f);
		return -ENOMEM;
	}
	if (pthread_cond_init(&f->wake, NULL)) {
		pthread_mutex_destroy(&f->lock);
		free(f);
		return -ENOMEM;
	}
	ret = -pthread_create(&f->thread, NULL, flusher_main, f);
	if (ret) {
		pthread_cond_destroy(&f->wake);
		pthread_mutex_destroy(&f->lock);
		free(f);
		return ret;
	}
	w->flusher = f;
	return 0;
}

int es_writeback_stop(struct es_writeback *w)
{
	struct es_flusher *f = w->flusher;
	int ret;

	if (!f)
		return 0;
	pthread_mutex_lock(&f->lock);
	f->stopping = true;
	pthread_cond_signal(&f->wake);
	pthread_mutex_unlock(&f->lock);
	pthread_join(f->thread, NULL);
	ret = f->error;
	pthread_cond_destroy(&f->wake);
	pthread_mutex_destroy(&f->lock);
	free(f);
	w->flusher = NULL;
	return ret;
}

static void start_writeback(struct es_writeback *w, int fd, uint64_t from, uint64_t to,
			    bool sync_now)
{
	struct es_flusher *f = w->flusher;

	/* a hint: where the kernel cannot, the final fsync does it all */
	if (to > from)
		(void)sync_file_range(fd, (off_t)from, (off_t)(to - from),
				      SYNC_FILE_RANGE_WRITE);
	w->unsynced += to - from;
	if (f && w->unsynced && (sync_now || w->unsynced >= ES_WRITEBACK_STEP)) {
		w->unsynced = 0;
		pthread_mutex_lock(&f->lock);
		f->asked++;
		pthread_cond_signal(&f->wake);
		pthread_mutex_unlock(&f->lock);
	}
}

void es_writeback_note(struct es_writeback *w, int fd, uint64_t off, uint64_t len)
{
	if (off != w->to) {
		/* a jump: what gathered so far is handed over as it is */
		if (w->to > w->from)
			start_writeback(w, fd, w->from, w->to, false);
		w->from = off;
	}
	w->to = off + len;
	if (w->to - w->from >= ES_WRITEBACK_STEP) {
		start_writeback(w, fd, w->from, w->to, false);
		w->from = w->to;
	}
}

void es_writeback_flush(struct es_writeback *w, int fd)
{
	start_writeback(w, fd, w->from, w->to, true);
	w->from = w->to;
}

int es_outfile_create(struct es_outfile *of, const char *path, struct es_err *err)
{
	size_t len = strlen(path) + 16;
	int ret;

	of->fd = -1;
	of->path = of->tmp_path = NULL;
	ret = check_replaceable(path, err);
	if (ret)
		return ret;
	of->path = strdup(path);
	of->tmp_path = malloc(len);
	if (!of->path || !of->tmp_path) {
		es_outfile_abort(of);
		return es_fail(err, -ENOMEM, "out of memory");
	}
	snprintf(of->tmp_path, len, "%s.tmpXXXXXX", path);
	of->fd = mkostemp(of->tmp_path, O_CLOEXEC);
	if (of->fd < 0) {
		ret = es_fail(err, -errno, "cannot create a temporary file beside %s: %s",
			      ES_PATH(path), strerror(errno));
		free(of->tmp_path);
		of->tmp_path = NULL;
		es_outfile_abort(of);
		return ret;
	}
	if (fchmod(of->fd, 0644) < 0) {
		ret = es_fail(err, -errno, "cannot set mode of %s: %s",
			      ES_PATH(of->tmp_path), strerror(errno));
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
		ret = es_fail(err, -errno, "cannot sync %s: %s", ES_PATH(of->tmp_path),
			      strerror(errno));
		es_outfile_abort(of);
		return ret;
	}
	if (close(of->fd) < 0) {
		of->fd = -1;
		ret = es_fail(err, -errno, "cannot close %s: %s", ES_PATH(of->tmp_path),
			      strerror(errno));
		es_outfile_abort(of);
		return ret;
	}
	of->fd = -1;
	/* the build took a while: the path may have been replaced meanwhile */
	ret = check_replaceable(of->path, err);
	if (ret) {
		es_outfile_abort(of);
		return ret;
	}
	if (rename(of->tmp_path, of->path) < 0) {
		ret = es_fail(err, -errno, "cannot rename %s to %s: %s",
			      ES_PATH(of->tmp_path), ES_PATH(of->path), strerror(errno));
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

int es_tmpfile_near(const char *path, struct es_err *err)
{
	char *copy = strdup(path), *dir, *name = NULL;
	int fd;

	if (!copy)
		return es_fail(err, -ENOMEM, "out of memory");
	dir = dirname(copy);
	/* anonymous where the filesystem allows it: nothing to clean up */
	fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0 && (name = malloc(strlen(dir) + 32))) {
		sprintf(name, "%s/.erofs-seal-XXXXXX", dir);
		fd = mkostemp(name, O_CLOEXEC);
		if (fd >= 0)
			unlink(name);
	}
	if (fd < 0)
		fd = es_fail(err, -errno, "cannot make a temporary file in %s: %s", ES_PATH(dir),
			     strerror(errno));
	free(name);
	free(copy);
	return fd;
}
