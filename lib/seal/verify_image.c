// SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0
/*
 * The trust pipeline (include/erofs/verify.h): seal, authentication,
 * manifest, filesystem region, EROFS structures, blobs, in that order.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "erofs/image.h"
#include "erofs/seal.h"
#include "erofs/verify.h"

static void device_clear(struct es_verify_device *d)
{
	free(d->name);
	memset(d, 0, sizeof(*d));
}

/*
 * Device dev as the source has it now, against its tree.  Returns 0 (the
 * outcome, good or bad, is in *out) or -ENOMEM.
 */
static int check_device(const struct es_io *io, const struct es_seal *s, unsigned int dev,
			const struct es_verify_opts *o, struct es_verify_device *out,
			struct es_err *err)
{
	struct es_io_dev info = { 0 };
	char tag[ES_IO_TAG_SIZE + 1];
	int ret;

	memset(out, 0, sizeof(*out));
	/* a blob is asked for by its digest, the name BLOB_DIR lookups use */
	es_hex(s->devices[dev].digest, 32, tag);
	ret = es_io_stat(io, dev, dev ? (const uint8_t *)tag : NULL, &info, &out->err);
	if (info.name && !(out->name = strdup(info.name)))
		return es_fail(err, -ENOMEM, "out of memory");
	if (ret == -ENODEV) {
		/* the source has no way to find it: not checked, not missing */
		es_err_clear(&out->err);
		out->state = ES_VERIFY_NOT_CHECKED;
		return 0;
	}
	if (ret) {
		if (!out->err.code)
			es_fail(&out->err, ret, "not available");
		out->state = ES_VERIFY_MISSING;
		return 0;
	}
	ret = es_seal_verify_device(io, s, dev, o->nthreads ? o->nthreads : 1, &out->err);
	out->state = ret ? ES_VERIFY_FAILED : ES_VERIFY_VERIFIED;
	if (o->progress)
		o->progress(o->progress_ctx, s, dev);
	if (dev && o->release_blobs)
		es_io_release(io, dev);
	return 0;
}

/* outcome into the report's entry for dev, unless the entry is worse. */
static void merge(struct es_verify_report *r, unsigned int dev, struct es_verify_device *outcome)
{
	struct es_verify_device *d = &r->devices[dev];

	if (outcome->state < d->state) {
		device_clear(outcome);
		return;
	}
	device_clear(d);
	*d = *outcome;
	memset(outcome, 0, sizeof(*outcome));
}

static int verify_device(const struct es_io *io, struct es_verify_report *r, unsigned int dev,
			 const struct es_verify_opts *o, struct es_err *err)
{
	struct es_verify_device outcome;
	int ret = check_device(io, r->seal, dev, o, &outcome, err);

	if (ret) {
		device_clear(&outcome);
		return ret;
	}
	merge(r, dev, &outcome);
	return 0;
}

/* Step 5: the superblock and device table, and whether they match the seal. */
static void read_structures(const struct es_io *io, struct es_verify_report *r, bool sealed)
{
	r->image_status = es_image_load(&r->img, io, false, &r->image_err);
	r->image_read = r->image_status == 0;
	if (r->image_read && sealed)
		r->match_status = es_seal_check_image(r->img, r->seal, &r->match_err);
}

int es_verify_image(const struct es_io *io, const struct es_trust *t,
		    const struct es_verify_opts *o, struct es_verify_report *r,
		    struct es_err *err)
{
	struct es_io_dev info = { 0 };
	bool parsed, region_verified = false;
	int ret;

	memset(r, 0, sizeof(*r));
	/* 1. the seal, from the end of device 0, believing nothing yet */
	r->read_status = es_io_stat(io, 0, NULL, &info, &r->read_err);
	if (!r->read_status) {
		r->file_size = info.size;
		r->container = info.container;
		r->read_status = es_seal_open(io, &r->seal, &r->read_err);
	}
	if (!r->read_status) {
		/* 2. authenticity of the raw manifest bytes */
		r->sigs = calloc(r->seal->nsigs ? r->seal->nsigs : 1, sizeof(*r->sigs));
		if (!r->sigs)
			return es_fail(err, -ENOMEM, "out of memory");
		r->auth_status = es_seal_authenticate(r->seal, t, r->sigs, &r->auth,
						      &r->auth_err);
		/* 3. only now the manifest's fields, and the chunk index */
		r->parse_status = es_seal_parse(io, r->seal, &r->parse_err);
	}
	parsed = !r->read_status && !r->parse_status;
	if (parsed) {
		r->devices = calloc(r->seal->ndevices, sizeof(*r->devices));
		if (!r->devices)
			return es_fail(err, -ENOMEM, "out of memory");
		r->ndevices = r->seal->ndevices;
		/* 4. the filesystem region, before any EROFS structure */
		if (o->check_devices) {
			ret = verify_device(io, r, 0, o, err);
			if (ret)
				return ret;
			region_verified = r->devices[0].state == ES_VERIFY_VERIFIED;
		}
	}
	/* 5. the EROFS structures, from the bytes just verified */
	if (region_verified || o->parse_unverified)
		read_structures(io, r, parsed);
	/* 6. the blobs */
	for (unsigned int i = 1; parsed && o->check_devices && !o->defer_blobs &&
	     i < r->ndevices; i++) {
		ret = verify_device(io, r, i, o, err);
		if (ret)
			return ret;
	}
	if (r->img && o->open_image) {
		r->image_status = es_image_probe_devices(r->img, &r->image_err);
		if (!r->image_status)
			return 0;
	}
	es_image_close(r->img);
	r->img = NULL;
	return 0;
}

int es_verify_blob(const struct es_io *io, struct es_verify_report *r, unsigned int dev,
		   const struct es_verify_opts *o, struct es_verify_device *outcome,
		   struct es_err *err)
{
	struct es_verify_device mine;
	int ret;

	if (!r->seal || dev == 0 || dev >= r->ndevices)
		return es_fail(err, -EINVAL, "internal error: no blob %u to verify", dev);
	ret = check_device(io, r->seal, dev, o, &mine, err);
	if (ret) {
		device_clear(&mine);
		return ret;
	}
	if (outcome) {
		*outcome = mine;
		outcome->name = NULL;
	}
	merge(r, dev, &mine);
	if (outcome)
		outcome->name = r->devices[dev].name;
	return 0;
}

int es_verify_match_blob(const struct es_seal *s, const char *path, unsigned int nthreads,
			 struct es_err *err)
{
	const char *base = strrchr(path, '/');
	uint8_t want[32], digest[32];
	struct es_err read_err = { 0 };
	struct es_io_dev info;
	struct es_io io;
	int ret;

	base = base ? base + 1 : path;
	if (strlen(base) == 64 && es_unhex(base, want, 32)) {
		for (unsigned int i = 1; i < s->ndevices; i++)
			if (!memcmp(s->devices[i].digest, want, 32))
				return (int)i;
	}
	ret = es_io_file_open(&io, path, NULL, err);
	if (ret)
		return ret;
	ret = es_io_stat(&io, 0, NULL, &info, err);
	if (!ret) {
		ret = es_io_verity_digest(&io, 0, info.size, nthreads ? nthreads : 1, digest,
					  NULL, NULL, &read_err);
		if (ret)
			es_fail(err, ret, "cannot read %s: %s", ES_PATH(path), strerror(-ret));
	}
	es_io_close(&io);
	if (ret)
		return ret;
	for (unsigned int i = 1; i < s->ndevices; i++)
		if (!memcmp(s->devices[i].digest, digest, 32))
			return (int)i;
	return 0;
}

unsigned int es_verify_count(const struct es_verify_report *r, enum es_verify_state state)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < r->ndevices; i++)
		n += r->devices[i].state == state;
	return n;
}

void es_verify_report_free(struct es_verify_report *r)
{
	for (unsigned int i = 0; i < r->ndevices; i++)
		device_clear(&r->devices[i]);
	free(r->devices);
	free(r->sigs);
	es_seal_free(r->seal);
	es_image_close(r->img);
	memset(r, 0, sizeof(*r));
}
