// SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0
/* fsck's view of the seal: structure, device trees, signatures. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "erofs/check.h"
#include "erofs/seal.h"
#include "erofs/sign.h"

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
 * Device dev against its tree: a failure is a problem of the image
 * (reported, counted, the check goes on); only an operational error (I/O,
 * memory) is returned.
 */
static int check_device(const struct es_image *img, const struct es_seal *s,
			unsigned int dev, unsigned int nthreads,
			void (*report)(void *, const char *), void *report_ctx,
			int *problems, struct es_seal_summary *sum, struct es_err *err)
{
	struct es_err e = { 0 };
	int ret = es_seal_verify_device(&img->io, s, dev, nthreads, &e);

	if (ret == -EBADMSG || ret == -ES_ECORRUPT)
		seal_problem(report, report_ctx, &e, problems);
	else if (ret)
		return es_fail(err, ret, "%s", e.msg);
	else
		sum->devices_checked++;
	return 0;
}

int es_check_seal(const struct es_image *img, const struct es_trust *t,
		  unsigned int nthreads, void (*report)(void *ctx, const char *msg),
		  void *report_ctx, struct es_seal_summary *sum, struct es_err *err)
{
	uint64_t fs_size = (uint64_t)img->sb.blocks << img->sb.blkszbits;
	struct es_err e = { 0 };
	struct es_seal *s = NULL;
	bool signatures_ok = false;
	int problems = 0, ret;

	memset(sum, 0, sizeof(*sum));
	sum->anchored = t != NULL;
	/* the image cross-checks come after device 0 is checked: a damaged
	 * device table is first of all a region that fails its tree */
	ret = es_seal_read_io(&img->io, &s, &e);
	if (ret == -ENODATA) {
		if (img->file_size == fs_size && !t)
			return 0;
		if (img->file_size == fs_size)
			/* stripping the seal must not turn a check into a pass */
			snprintf(e.msg, sizeof(e.msg), "seal: the image is not sealed (no "
				 "seal locator at its end), so it cannot be authenticated "
				 "against the trust anchors given");
		else
			snprintf(e.msg, sizeof(e.msg), "seal: %llu bytes follow the "
				 "filesystem but there is no valid seal locator at the end "
				 "of the image",
				 (unsigned long long)(img->file_size - fs_size));
		sum->unreadable = img->file_size != fs_size;
		say(report, report_ctx, e.msg);
		sum->problems = 1;
		return es_fail(err, -ES_ECORRUPT, "%s", e.msg);
	}
	if (ret) {
		say(report, report_ctx, e.msg);
		sum->unreadable = true;
		sum->problems = 1;
		return es_fail(err, ret == -ENOMEM ? ret : -ES_ECORRUPT, "%s", e.msg);
	}
	sum->sealed = true;
	sum->devices = s->ndevices;
	if (s->fs_size != fs_size) {
		snprintf(e.msg, sizeof(e.msg), "seal: filesystem size %llu differs from the "
			 "superblock's %llu", (unsigned long long)s->fs_size,
			 (unsigned long long)fs_size);
		say(report, report_ctx, e.msg);
		problems++;
	} else {
		ret = check_device(img, s, 0, nthreads, report, report_ctx, &problems, sum, err);
		if (ret) {
			es_seal_free(s);
			return ret;
		}
	}
	es_err_clear(&e);
	if (es_seal_check_image(img, s, &e))
		seal_problem(report, report_ctx, &e, &problems);
	sum->signatures = s->nsigs;
	sum->signatures_checked = es_trust_count(t) > 0;
	if (t) {
		struct es_sig_result *res = calloc(s->nsigs ? s->nsigs : 1, sizeof(*res));
		struct es_seal_auth auth;

		if (!res) {
			es_seal_free(s);
			return es_fail(err, -ENOMEM, "out of memory");
		}
		es_err_clear(&e);
		ret = es_seal_authenticate(s, t, res, &auth, &e);
		sum->digest_pinned = auth.digest == ES_DIGEST_MATCH;
		for (unsigned int i = 0; i < s->nsigs; i++) {
			if (res[i].status == ES_SIG_TRUSTED)
				sum->signatures_trusted++;
			if (res[i].status == ES_SIG_BAD) {
				char msg[ES_ERR_MSG_MAX + 64];

				snprintf(msg, sizeof(msg), "seal: signature %u: %s", i + 1,
					 res[i].error);
				say(report, report_ctx, msg);
			}
		}
		free(res);
		if (ret)
			seal_problem(report, report_ctx, &e, &problems);
		signatures_ok = !ret;
	}
	for (unsigned int i = 1; i < s->ndevices && i < img->ndevices; i++) {
		if (!img->devices[i].present)
			continue;
		ret = check_device(img, s, i, nthreads, report, report_ctx, &problems, sum, err);
		if (ret) {
			es_seal_free(s);
			return ret;
		}
	}
	es_seal_free(s);
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
