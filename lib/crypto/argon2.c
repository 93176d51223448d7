// SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0
/*
 * Argon2id on libargon2 (the reference implementation, Debian's
 * libargon2-dev): the passphrase KDF of keyslots.  See lib/crypto/backend.h.
 *
 * libargon2 is told to clear the password and the secret as soon as it has
 * absorbed them; since it writes to those buffers, it gets copies, and the
 * caller's buffers stay const.  Its working memory (m_cost KiB) is cleared
 * by the library before it is freed.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <argon2.h>

#include "crypto/backend.h"

/* Argon2 needs 2 blocks of 1 KiB per lane and sync point (4 of them). */
#define ARGON2_MIN_KIB_PER_LANE	8u

uint32_t es_crypto_argon2id_max_memory_kib(void)
{
	long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
	uint64_t half_kib;

	if (pages <= 0 || page <= 0)
		return ES_CRYPTO_ARGON2_MAX_MEMORY_KIB;
	half_kib = (uint64_t)pages * (uint64_t)page / 1024 / 2;
	return half_kib < ES_CRYPTO_ARGON2_MAX_MEMORY_KIB ? (uint32_t)half_kib
							   : ES_CRYPTO_ARGON2_MAX_MEMORY_KIB;
}

int es_crypto_argon2id_check(const struct es_crypto_argon2id_params *p)
{
	if (!p || p->t_cost < 1 || p->t_cost > ES_CRYPTO_ARGON2_MAX_TIME ||
	    p->lanes < 1 || p->lanes > ES_CRYPTO_ARGON2_MAX_LANES ||
	    p->m_cost_kib < ARGON2_MIN_KIB_PER_LANE * p->lanes ||
	    p->m_cost_kib > es_crypto_argon2id_max_memory_kib())
		return -ERANGE;
	return 0;
}

/* A copy for libargon2 to clear; NULL (and *ok) for an empty buffer. */
static uint8_t *clearable_copy(const void *src, size_t len, bool *ok)
{
	uint8_t *p;

	*ok = true;
	if (!len)
		return NULL;
	p = malloc(len);
	if (!p) {
		*ok = false;
		return NULL;
	}
	memcpy(p, src, len);
	return p;
}

static unsigned int thread_count(uint32_t lanes)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	if (cpus < 1)
		cpus = 1;
	return lanes < (unsigned long)cpus ? lanes : (unsigned int)cpus;
}

int es_crypto_argon2id_ext(const void *passphrase, size_t passphrase_len,
			   const void *salt, size_t salt_len,
			   const void *secret, size_t secret_len,
			   const void *ad, size_t ad_len,
			   const struct es_crypto_argon2id_params *params,
			   void *out, size_t out_len)
{
	argon2_context ctx;
	uint8_t *pwd, *key, *salt_copy = NULL, *ad_copy = NULL;
	bool ok_pwd, ok_key;
	int ret, r;

	if ((!passphrase && passphrase_len) || !salt || (!secret && secret_len) ||
	    (!ad && ad_len) || !params || !out)
		return -EINVAL;
	if (salt_len < ES_CRYPTO_ARGON2_MIN_SALT || salt_len > UINT32_MAX ||
	    passphrase_len > UINT32_MAX || secret_len > UINT32_MAX ||
	    ad_len > UINT32_MAX || out_len < ARGON2_MIN_OUTLEN || out_len > UINT32_MAX)
		return -EINVAL;
	ret = es_crypto_argon2id_check(params);
	if (ret) {
		es_crypto_wipe(out, out_len);
		return ret;
	}

	pwd = clearable_copy(passphrase, passphrase_len, &ok_pwd);
	key = clearable_copy(secret, secret_len, &ok_key);
	/* libargon2 takes non-const salt and ad pointers, but only reads them */
	salt_copy = malloc(salt_len);
	if (ad_len)
		ad_copy = malloc(ad_len);
	if (!ok_pwd || !ok_key || !salt_copy || (ad_len && !ad_copy)) {
		ret = -ENOMEM;
		goto out;
	}
	memcpy(salt_copy, salt, salt_len);
	if (ad_len)
		memcpy(ad_copy, ad, ad_len);

	memset(&ctx, 0, sizeof(ctx));
	ctx.out = out;
	ctx.outlen = (uint32_t)out_len;
	ctx.pwd = pwd;
	ctx.pwdlen = (uint32_t)passphrase_len;
	ctx.salt = salt_copy;
	ctx.saltlen = (uint32_t)salt_len;
	ctx.secret = key;
	ctx.secretlen = (uint32_t)secret_len;
	ctx.ad = ad_copy;
	ctx.adlen = (uint32_t)ad_len;
	ctx.t_cost = params->t_cost;
	ctx.m_cost = params->m_cost_kib;
	ctx.lanes = params->lanes;
	ctx.threads = thread_count(params->lanes);
	ctx.version = ARGON2_VERSION_13;
	ctx.flags = ARGON2_FLAG_CLEAR_PASSWORD | ARGON2_FLAG_CLEAR_SECRET;

	r = argon2_ctx(&ctx, Argon2_id);
	if (r == ARGON2_OK)
		ret = 0;
	else if (r == ARGON2_MEMORY_ALLOCATION_ERROR)
		ret = -ENOMEM;
	else
		ret = -EIO;
out:
	if (ret)
		es_crypto_wipe(out, out_len);
	/* cleared by libargon2 on success; wiped again for the error paths */
	es_crypto_wipe(pwd, passphrase_len);
	es_crypto_wipe(key, secret_len);
	free(pwd);
	free(key);
	free(salt_copy);
	free(ad_copy);
	return ret;
}

int es_crypto_argon2id(const void *passphrase, size_t passphrase_len,
		       const void *salt, size_t salt_len,
		       const struct es_crypto_argon2id_params *params,
		       void *out, size_t out_len)
{
	return es_crypto_argon2id_ext(passphrase, passphrase_len, salt, salt_len,
				      NULL, 0, NULL, 0, params, out, out_len);
}
