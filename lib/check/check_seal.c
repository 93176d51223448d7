// SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0
/*
 * fsck's view of the seal: what the trust pipeline (es_verify_image())
 * found, as fsck's problems and summary.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "erofs/check.h"
#include "erofs/seal.h"
#include "erofs/sign.h"
#include "erofs/verify.h"

static void say(void (*report)(void *, const char *), void *ctx, const char *msg)
{
	if (report)
		report(ctx, msg);
}

/* Report a seal problem found in e and count it. */
static void seal_problem(void (*report)(void *, const char *), void *ctx,
			 const struct es_err *e, int *problems)
{
	char msg[ES_ERR_MSG_MAX + 8];

	snprintf(msg, sizeof(msg), "seal: %s", e->msg);
	say(report, ctx, msg);
	(*problems)++;
}

/*
 * What the pipeline found for device dev: a failure is a problem of the
 * image (reported, counted, the check goes on); only an operational error
 * (I/O, memory) is returned.  A device the source does not have is not
 * checked, which the summary says.
 */
static int device_outcome(const struct es_verify_device *d,
			  const struct es_verify_device *first, void (*report)(void *, const char *), void *report_ctx,
			  int *problems, struct es_seal_summary *sum, struct es_err *err)
{
	switch (d->state) {
	case ES_VERIFY_VERIFIED:
		sum->devices_checked++;
		return 0;
	case ES_VERIFY_FAILED:
		if (d->err.code != -EBADMSG && d->err.code != -ES_ECORRUPT)
			return es_fail(err, d->err.code, "%s", d->err.msg);
		seal_problem(report, report_ctx, &d->err, problems);
		return 0;
	case ES_VERIFY_MISSING:
	case ES_VERIFY_NOT_CHECKED:
		/* a blob may be absent; the image file itself may not */
		if (d == first)
			return es_fail(err, d->err.code ? d->err.code : -EIO, "%s",
				       d->err.code ? d->err.msg : "the filesystem region "
				       "was not checked");
		break;
	}
	return 0;
}

/* The image carries no seal: fine without anchors, if nothing follows it. */
static int check_unsealed(const struct es_verify_report *r, bool anchored,
			  void (*report)(void *, const char *), void *report_ctx,
			  struct es_seal_summary *sum, struct es_err *err)
{
	char msg[ES_ERR_MSG_MAX];

	if (anchored) {
		/* stripping the seal must not turn a check into a pass */
		snprintf(msg, sizeof(msg), "seal: the image is not sealed (no seal locator "
			 "at its end), so it cannot be authenticated against the trust "
			 "anchors given");
	} else {
		uint64_t fs_size;

		if (!r->img)
			return 0;	/* the image itself cannot be read: the caller says so */
		fs_size = (uint64_t)r->img->sb.blocks << r->img->sb.blkszbits;
		/* a block device may be larger than the image it holds */
		if (r->file_size == fs_size || (r->container && r->file_size > fs_size))
			return 0;
		snprintf(msg, sizeof(msg), "seal: %llu bytes follow the filesystem but there "
			 "is no valid seal locator at the end of the image",
			 (unsigned long long)(r->file_size - fs_size));
		sum->unreadable = true;
	}
	say(report, report_ctx, msg);
	sum->problems = 1;
	return es_fail(err, -ES_ECORRUPT, "%s", msg);
}

int es_check_seal(const struct es_verify_report *r, bool anchored,
		  void (*report)(void *ctx, const char *msg), void *report_ctx,
		  struct es_seal_summary *sum, struct es_err *err)
{
	const struct es_seal *s = r->seal;
	bool signatures_ok = false;
	int problems = 0, ret;

	memset(sum, 0, sizeof(*sum));
	sum->anchored = anchored;
	if (r->read_status == -ENODATA)
		return check_unsealed(r, anchored, report, report_ctx, sum, err);
	if (r->read_status) {
		say(report, report_ctx, r->read_err.msg);
		sum->unreadable = true;
		sum->problems = 1;
		return es_fail(err, r->read_status == -ENOMEM ? -ENOMEM : -ES_ECORRUPT, "%s",
			       r->read_err.msg);
	}
	sum->signatures = s->nsigs;
	sum->signatures_checked = r->auth.signatures != -ENOKEY;
	if (anchored) {
		sum->digest_pinned = r->auth.digest == ES_DIGEST_MATCH;
		for (unsigned int i = 0; i < s->nsigs; i++) {
			if (r->sigs[i].status == ES_SIG_TRUSTED)
				sum->signatures_trusted++;
			if (r->sigs[i].status == ES_SIG_BAD) {
				char msg[ES_ERR_MSG_MAX + 64];

				snprintf(msg, sizeof(msg), "seal: signature %u: %s", i + 1,
					 r->sigs[i].error);
				say(report, report_ctx, msg);
			}
		}
		if (r->auth_status == -ENOMEM)
			return es_fail(err, -ENOMEM, "%s", r->auth_err.msg);
		if (r->auth_status)
			seal_problem(report, report_ctx, &r->auth_err, &problems);
		signatures_ok = !r->auth_status;
	}
	if (r->parse_status) {
		say(report, report_ctx, r->parse_err.msg);
		sum->unreadable = true;
		sum->problems = (unsigned int)problems + 1;
		return es_fail(err, r->parse_status == -ENOMEM ? -ENOMEM : -ES_ECORRUPT, "%s",
			       r->parse_err.msg);
	}
	sum->sealed = true;
	sum->devices = s->ndevices;
	/* the filesystem region first: a damaged device table is first of all
	 * a region that fails its tree */
	ret = device_outcome(&r->devices[0], r->devices, report, report_ctx, &problems, sum, err);
	if (ret)
		return ret;
	if (r->image_read && r->match_status)
		seal_problem(report, report_ctx, &r->match_err, &problems);
	for (unsigned int i = 1; i < r->ndevices; i++) {
		ret = device_outcome(&r->devices[i], r->devices, report, report_ctx, &problems, sum, err);
		if (ret)
			return ret;
	}
	sum->problems = (unsigned int)problems;
	sum->authenticated = signatures_ok && !problems &&
			     sum->devices_checked == sum->devices;
	if (problems)
		return es_fail(err, -ES_ECORRUPT, "the seal check found %d problem%s",
			       problems, problems == 1 ? "" : "s");
	return 0;
}

int es_seal_extract_gate(int seal_ret, const struct es_seal_summary *sum, struct es_err *err)
{
	if (seal_ret)
		return es_fail(err, seal_ret, "the seal check failed (see above)");
	/* every blob is read by some file: one that was not checked would be
	 * extracted unverified, or fail half-way through the tree */
	if (sum->sealed && sum->devices_checked < sum->devices)
		return es_fail(err, -ENOENT, "%u of the seal's %u devices could not be "
			       "checked against their Merkle trees (give every blob with "
			       "--blob-dir or --device)",
			       sum->devices - sum->devices_checked, sum->devices);
	if (sum->anchored && !sum->authenticated)
		return es_fail(err, -ES_ECORRUPT, "the seal was not authenticated");
	return 0;
}
