// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * keydec_tool - extract an encrypted image through the boot unlock
 * (include/erofs/keydec.h) and the reader of lib/read/, as the boot reader
 * does, so that t-keydec.sh can compare the result with fsck.erofs
 * --unlock --extract and with the Python oracle.
 *
 * usage: keydec_tool [--file] [--key-area=FILE] IMAGE CREDENTIAL OUTDIR
 *        CREDENTIAL: keyfile:FILE | seed:FILE:LABEL | seed-any:FILE (each seed
 *        slot, whatever its label) | passphrase-file:FILE (which the library
 *        must refuse)
 *
 * The image is read over a memory source (the whole file in a buffer, as
 * a boot loader that has it in RAM), or over the file source with --file.
 * The manifest values that anchor the key table come from the hosted seal
 * reader here (the boot API checks the signature first).  Directories,
 * regular files and symlinks are extracted; other types are not (the test
 * tree has none).  Exit 0, or 1 with the library's message.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "erofs/format.h"
#include "erofs/image.h"
#include "erofs/keyarea.h"
#include "erofs/keydec.h"
#include "erofs/seal.h"

static int die(const char *what, const struct es_err *err)
{
	fprintf(stderr, "keydec_tool: %s: %s\n", what, err->msg[0] ? err->msg : "failed");
	exit(1);
}

static uint8_t *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	long n;

	if (!f || fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET)) {
		fprintf(stderr, "keydec_tool: %s: %s\n", path, strerror(errno));
		exit(1);
	}
	buf = malloc(n ? (size_t)n : 1);
	if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
		fprintf(stderr, "keydec_tool: cannot read %s\n", path);
		exit(1);
	}
	fclose(f);
	*len = (size_t)n;
	return buf;
}

/* A detached key area held in memory. */
struct mem_area {
	const uint8_t *data;
};

static int mem_area_read(void *ctx, uint64_t off, void *buf, size_t len, struct es_err *err)
{
	const struct mem_area *m = ctx;

	memcpy(buf, m->data + off, len);
	return 0;
}

struct names {
	struct name {
		char *name;
		uint64_t nid;
	} *v;
	size_t n, cap;
};

static int collect(void *ctx, const uint8_t *name, unsigned int len, uint64_t nid,
		   unsigned int type)
{
	struct names *l = ctx;

	if ((len == 1 && name[0] == '.') || (len == 2 && name[0] == '.' && name[1] == '.'))
		return 0;
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 16;
		l->v = realloc(l->v, l->cap * sizeof(*l->v));
		if (!l->v)
			return -ENOMEM;
	}
	l->v[l->n].name = strndup((const char *)name, len);
	l->v[l->n].nid = nid;
	return l->v[l->n++].name ? 0 : -ENOMEM;
}

static void extract(const struct es_image *img, uint64_t nid, const char *path)
{
	static uint8_t buf[1 << 20];
	struct es_err err = { 0 };
	struct es_inode ino;

	if (es_inode_read(img, nid, &ino, &err))
		die(path, &err);
	if (ES_S_ISDIR(ino.mode)) {
		struct names l = { 0 };

		if (mkdir(path, 0755) && errno != EEXIST) {
			perror(path);
			exit(1);
		}
		if (es_dir_iterate(img, &ino, collect, &l, &err))
			die(path, &err);
		for (size_t i = 0; i < l.n; i++) {
			char *child;

			if (asprintf(&child, "%s/%s", path, l.v[i].name) < 0)
				exit(1);
			extract(img, l.v[i].nid, child);
			free(child);
			free(l.v[i].name);
		}
		free(l.v);
	} else if (ES_S_ISREG(ino.mode)) {
		int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		if (fd < 0) {
			perror(path);
			exit(1);
		}
		for (uint64_t off = 0; off < ino.size;) {
			size_t n = ino.size - off < sizeof(buf) ? (size_t)(ino.size - off)
								: sizeof(buf);

			if (es_read(img, &ino, off, buf, n, &err))
				die(path, &err);
			if (write(fd, buf, n) != (ssize_t)n) {
				perror(path);
				exit(1);
			}
			off += n;
		}
		close(fd);
	} else if (ES_S_ISLNK(ino.mode)) {
		if (ino.size >= sizeof(buf)) {
			fprintf(stderr, "keydec_tool: %s: symlink too long\n", path);
			exit(1);
		}
		if (es_read(img, &ino, 0, buf, (size_t)ino.size, &err))
			die(path, &err);
		buf[ino.size] = '\0';
		if (symlink((const char *)buf, path)) {
			perror(path);
			exit(1);
		}
	}
}

int main(int argc, char **argv)
{
	static _Alignas(ES_KEYDEC_MEM_ALIGN) uint8_t mem[ES_KEYDEC_MEM_SIZE];
	const char *key_area_path = NULL, *image_path, *spec, *out;
	struct es_keyarea_expect expect = { .check_table = true };
	struct es_keydec_cred cred = { 0 };
	struct es_keyarea_io_ctx area_io;
	struct es_io_mem_dev mem_dev;
	struct es_keyarea_dev area;
	struct es_decryptor dec;
	struct es_device *devices;
	struct es_err err = { 0 };
	struct mem_area detached;
	struct es_image img;
	struct es_seal *seal;
	struct es_io_mem iomem;
	struct es_io io;
	unsigned int slot;
	bool use_file = false;
	char *file;
	int i = 1;

	for (; i < argc && !strncmp(argv[i], "--", 2); i++) {
		if (!strcmp(argv[i], "--file"))
			use_file = true;
		else if (!strncmp(argv[i], "--key-area=", 11))
			key_area_path = argv[i] + 11;
		else
			break;
	}
	if (argc - i != 3) {
		fprintf(stderr, "usage: keydec_tool [--file] [--key-area=FILE] IMAGE "
			"keyfile:FILE|seed:FILE:LABEL OUTDIR\n");
		return 2;
	}
	image_path = argv[i];
	spec = argv[i + 1];
	out = argv[i + 2];

	if (!strncmp(spec, "keyfile:", 8)) {
		cred.kind = ES_KEYSLOT_KEYFILE;
		file = strdup(spec + 8);
	} else if (!strncmp(spec, "seed:", 5) && strrchr(spec + 5, ':')) {
		char *colon;

		cred.kind = ES_KEYSLOT_SEED;
		file = strdup(spec + 5);
		colon = strrchr(file, ':');
		*colon = '\0';
		cred.label = colon + 1;
		cred.label_len = strlen(cred.label);
	} else if (!strncmp(spec, "seed-any:", 9)) {
		/* a seed without a label: every seed slot is tried */
		cred.kind = ES_KEYSLOT_SEED;
		file = strdup(spec + 9);
	} else if (!strncmp(spec, "passphrase-file:", 16)) {
		/* for the test that the library refuses other kinds */
		cred.kind = ES_KEYSLOT_PASSPHRASE;
		file = strdup(spec + 16);
	} else {
		fprintf(stderr, "keydec_tool: credential %s: keyfile:FILE or seed:FILE:LABEL\n",
			spec);
		return 2;
	}
	cred.secret = slurp(file, &cred.secret_len);

	if (use_file) {
		if (es_io_file_open(&io, image_path, NULL, &err))
			die(image_path, &err);
	} else {
		size_t len;

		mem_dev.data = slurp(image_path, &len);
		mem_dev.size = len;
		es_io_mem_init(&io, &iomem, &mem_dev, 1);
	}
	if (es_image_read_super(&img, &io, &err))
		die("superblock", &err);
	devices = calloc(1u + img.sb.extra_devices, sizeof(*devices));
	if (!devices || es_image_read_devices(&img, devices, &err) ||
	    es_image_probe_devices(&img, &err))
		die("device table", &err);
	if (es_seal_read(&img, &seal, &err))
		die("seal", &err);
	memcpy(expect.uuid, seal->uuid, sizeof(expect.uuid));
	expect.suite = seal->suite;
	memcpy(expect.table_digest, seal->key_table_digest, sizeof(expect.table_digest));
	expect.entries = seal->table_entries;

	if (key_area_path) {
		size_t len;

		detached.data = slurp(key_area_path, &len);
		memset(&area, 0, sizeof(area));
		area.size = len;
		area.read = mem_area_read;
		area.ctx = &detached;
	} else {
		es_keyarea_dev_io(&area, &area_io, &io, seal->keys_sec.off, seal->keys_sec.len);
	}
	if (es_keydec_open(mem, sizeof(mem), &area, &expect, &cred, &dec, &slot, &err))
		die("unlock", &err);
	img.dec = &dec;
	printf("slot %u opened\n", slot);
	extract(&img, img.sb.root_nid, out);
	es_keydec_close(mem);
	es_seal_free(seal);
	free(devices);
	if (use_file)
		es_io_close(&io);
	else
		free((void *)mem_dev.data);
	if (key_area_path)
		free((void *)detached.data);
	free((void *)cred.secret);
	free(file);
	return 0;
}
