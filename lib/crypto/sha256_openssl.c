// SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0
/*
 * SHA-256 backend on OpenSSL 3 EVP.
 *
 * The EVP_MD is fetched explicitly once per context: passing EVP_sha256()
 * to every init would make OpenSSL look the implementation up again each
 * time.  A context is restarted with EVP_DigestInit_ex2(ctx, NULL, NULL),
 * which keeps the fetched algorithm, so hashing many 4 KiB blocks costs no
 * allocation per block.
 */
#include <errno.h>
#include <string.h>
#include <openssl/evp.h>
#include "erofs/sha256.h"

int es_sha256_init(struct es_sha256_ctx *ctx)
{
	EVP_MD_CTX *md_ctx;
	EVP_MD *md;

	memset(ctx, 0, sizeof(*ctx));
	md = EVP_MD_fetch(NULL, "SHA256", NULL);
	if (!md)
		return -EIO;
	md_ctx = EVP_MD_CTX_new();
	if (!md_ctx) {
		EVP_MD_free(md);
		return -ENOMEM;
	}
	if (EVP_DigestInit_ex2(md_ctx, md, NULL) != 1) {
		EVP_MD_CTX_free(md_ctx);
		EVP_MD_free(md);
		return -EIO;
	}
	ctx->u.evp.md_ctx = md_ctx;
	ctx->u.evp.md = md;
	return 0;
}

void es_sha256_update(struct es_sha256_ctx *ctx, const void *data, size_t len)
{
	if (ctx->error || !len)
		return;
	if (EVP_DigestUpdate(ctx->u.evp.md_ctx, data, len) != 1)
		ctx->error = -EIO;
}

static int finish_message(struct es_sha256_ctx *ctx,
			  uint8_t out[ES_SHA256_DIGEST_SIZE])
{
	unsigned int out_len = 0;

	if (ctx->error)
		return ctx->error;
	if (EVP_DigestFinal_ex(ctx->u.evp.md_ctx, out, &out_len) != 1 ||
	    out_len != ES_SHA256_DIGEST_SIZE)
		return -EIO;
	return 0;
}

int es_sha256_final_reset(struct es_sha256_ctx *ctx,
			  uint8_t out[ES_SHA256_DIGEST_SIZE])
{
	int ret = finish_message(ctx, out);

	if (ret)
		memset(out, 0, ES_SHA256_DIGEST_SIZE);
	ctx->error = 0;
	if (EVP_DigestInit_ex2(ctx->u.evp.md_ctx, NULL, NULL) != 1)
		ctx->error = -EIO;
	return ret;
}

int es_sha256_final(struct es_sha256_ctx *ctx,
		    uint8_t out[ES_SHA256_DIGEST_SIZE])
{
	int ret = finish_message(ctx, out);

	if (ret)
		memset(out, 0, ES_SHA256_DIGEST_SIZE);
	es_sha256_release(ctx);
	return ret;
}

void es_sha256_release(struct es_sha256_ctx *ctx)
{
	EVP_MD_CTX_free(ctx->u.evp.md_ctx);
	EVP_MD_free(ctx->u.evp.md);
	ctx->u.evp.md_ctx = NULL;
	ctx->u.evp.md = NULL;
	ctx->error = 0;
}

int es_sha256(const void *data, size_t len, uint8_t out[ES_SHA256_DIGEST_SIZE])
{
	unsigned int out_len = 0;

	/* EVP_Digest() uses a short-lived context of its own */
	if (EVP_Digest(data, len, out, &out_len, EVP_sha256(), NULL) != 1 ||
	    out_len != ES_SHA256_DIGEST_SIZE) {
		memset(out, 0, ES_SHA256_DIGEST_SIZE);
		return -EIO;
	}
	return 0;
}
