// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * bench/timecmd: run a command, then write "SECONDS PEAK_KIB STATUS" to a
 * file; exits with the command's status (128 + N for a signal N).
 *
 * usage: timecmd OUTFILE CMD [ARG...]
 *
 * bench/run used `date` calls around /usr/bin/time; on a small virtual
 * machine those extra forks and execs cost about 16 ms per measurement, the
 * same for every tool, which pulls the ratios of short commands (check-only
 * fsck, erofs-verify, a plain build) towards 1.  Here the clock starts just
 * before the command is spawned and stops when it is reaped, and the peak
 * resident memory is the kernel's figure for that child (ru_maxrss of
 * wait4, what /usr/bin/time -f %M prints).  This program is small, so a
 * child spawned from it starts with its few pages, as under /usr/bin/time.
 */
#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>

extern char **environ;

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	struct rusage ru;
	double t0, t1;
	int status, rc;
	pid_t pid;
	FILE *out;

	if (argc < 3) {
		fprintf(stderr, "usage: timecmd OUTFILE CMD [ARG...]\n");
		return 2;
	}
	t0 = now();
	rc = posix_spawnp(&pid, argv[2], NULL, NULL, argv + 2, environ);
	if (rc) {
		fprintf(stderr, "timecmd: cannot run %s: %s\n", argv[2], strerror(rc));
		return 127;
	}
	while (wait4(pid, &status, 0, &ru) < 0) {
		if (errno != EINTR) {
			perror("timecmd: wait4");
			return 2;
		}
	}
	t1 = now();
	rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	out = fopen(argv[1], "w");
	if (!out || fprintf(out, "%.6f %ld %d\n", t1 - t0, ru.ru_maxrss, rc) < 0 ||
	    fclose(out)) {
		perror(argv[1]);
		return 2;
	}
	return rc;
}
