// SPDX-License-Identifier: GPL-2.0-or-later
/* fsck.erofs: check an image and optionally extract it (front end of libcore). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include "config.h"
#include "erofs/check.h"
#include "erofs/image.h"

#define EXIT_OK 0
#define EXIT_CORRUPT 4
#define EXIT_OPERATIONAL 8
#define EXIT_USAGE 16

static const char *prog = "fsck.erofs";

static void usage(FILE *f)
{
	fprintf(f,
"Usage: %s [OPTIONS] IMAGE\n"
"Check an EROFS image: superblock, every inode, directory, xattr and data\n"
"mapping, \".\" and \"..\" entries, link counts and directory loops.\n"
"\n"
"Options:\n"
"  --device=PATH         an extra device (blob) of the image, in device-table\n"
"                        order; repeatable\n"
"  --extract=DIR         also recreate the tree in DIR (created if missing):\n"
"                        contents, holes, modes, owners, times, xattrs, hard\n"
"                        links, symlinks, device nodes, FIFOs and sockets\n"
"  --overwrite           with --extract, replace files that already exist\n"
"  --no-preserve-owner   with --extract, do not set owners\n"
"  --no-preserve-perms   with --extract, do not set modes\n"
"  --no-xattrs           with --extract, do not set xattrs\n"
"  -h, --help            show this help\n"
"  -V, --version         show the version\n"
"\n"
"Nothing is ever written outside DIR: every name is checked and every file\n"
"is created relative to its directory without following symlinks.\n"
"\n"
"Exit status:\n"
"  0   the image is consistent (and was extracted, if asked)\n"
"  4   the image is corrupt or inconsistent; each problem is printed\n"
"  8   operational error: the image or a device cannot be read, it uses a\n"
"      feature this reader does not support, or DIR cannot be written\n"
"  16  usage error\n", prog);
}

static void report_cb(void *ctx, const char *msg)
{
	(void)ctx;
	fprintf(stderr, "%s: %s\n", prog, msg);
}

static int usage_error(const char *msg)
{
	fprintf(stderr, "%s: %s\nTry '%s --help' for more information.\n", prog, msg, prog);
	return EXIT_USAGE;
}

enum { OPT_DEVICE = 256, OPT_EXTRACT, OPT_OVERWRITE, OPT_NO_OWNER, OPT_NO_PERMS,
       OPT_NO_XATTRS };

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "device", required_argument, NULL, OPT_DEVICE },
		{ "extract", required_argument, NULL, OPT_EXTRACT },
		{ "overwrite", no_argument, NULL, OPT_OVERWRITE },
		{ "no-preserve-owner", no_argument, NULL, OPT_NO_OWNER },
		{ "no-preserve-perms", no_argument, NULL, OPT_NO_PERMS },
		{ "no-xattrs", no_argument, NULL, OPT_NO_XATTRS },
		{ NULL, 0, NULL, 0 },
	};
	const char **devices = calloc((size_t)argc, sizeof(char *));
	struct es_open_opts oo = { 0 };
	struct es_check_opts co;
	struct es_check_result res;
	struct es_err err = { 0 };
	struct es_image *img;
	struct rlimit rl;
	int c, ret;

	if (!devices)
		return EXIT_OPERATIONAL;
	es_check_opts_init(&co);
	co.report = report_cb;
	while ((c = getopt_long(argc, argv, "hV", longopts, NULL)) != -1) {
		switch (c) {
		case 'h':
			usage(stdout);
			return EXIT_OK;
		case 'V':
			printf("%s (erofs-seal) %s\n", prog, PACKAGE_VERSION);
			return EXIT_OK;
		case OPT_DEVICE:
			devices[oo.ndevice_paths++] = optarg;
			break;
		case OPT_EXTRACT:
			if (!*optarg)
				return usage_error("--extract needs a directory");
			co.extract_dir = optarg;
			break;
		case OPT_OVERWRITE:
			co.overwrite = true;
			break;
		case OPT_NO_OWNER:
			co.preserve_owner = false;
			break;
		case OPT_NO_PERMS:
			co.preserve_perms = false;
			break;
		case OPT_NO_XATTRS:
			co.xattrs = false;
			break;
		default:
			fprintf(stderr, "Try '%s --help' for more information.\n", prog);
			return EXIT_USAGE;
		}
	}
	if (argc - optind != 1)
		return usage_error(argc - optind ? "too many arguments" : "no IMAGE given");
	oo.device_paths = devices;
	/* extraction keeps one directory open per level */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	ret = es_image_open(&img, argv[optind], &oo, &err);
	if (ret) {
		fprintf(stderr, "%s: %s\n", prog, err.msg);
		free(devices);
		return ret == -ES_ECORRUPT ? EXIT_CORRUPT : EXIT_OPERATIONAL;
	}
	ret = es_check(img, &co, &res, &err);
	es_image_close(img);
	free(devices);
	if (ret == -ES_ECORRUPT) {
		fprintf(stderr, "%s: %s: %llu problem%s found\n", prog, argv[optind],
			(unsigned long long)res.problems, res.problems == 1 ? "" : "s");
		if (!res.problems)
			fprintf(stderr, "%s: %s\n", prog, err.msg);
		return EXIT_CORRUPT;
	}
	if (ret) {
		fprintf(stderr, "%s: %s\n", prog, err.msg);
		return EXIT_OPERATIONAL;
	}
	return EXIT_OK;
}
