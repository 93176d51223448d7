/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The JSON the programs print (erofs-verify --json, dump.erofs --json):
 * a growing text that is always valid UTF-8, and the two fields every
 * top-level object starts with.  docs/erofs-seal.schema.json describes
 * every object; a change to a field's meaning raises JSON_SCHEMA_VERSION.
 */
#ifndef ES_PROGS_JSON_H
#define ES_PROGS_JSON_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "erofs/hex.h"
#include "erofs/seal.h"
#include "erofs/sign.h"

#define JSON_SCHEMA_VERSION 1

/* A growing JSON text; oom is sticky (the program then fails). */
struct jbuf {
	char *buf;
	size_t len, cap;
	bool oom;
};

static inline void json_raw(struct jbuf *j, const char *p, size_t n)
{
	if (j->oom)
		return;
	if (j->cap - j->len <= n) {
		size_t cap = (j->cap + n + 1) * 2;
		char *nb = realloc(j->buf, cap);

		if (!nb) {
			j->oom = true;
			return;
		}
		j->buf = nb;
		j->cap = cap;
	}
	memcpy(j->buf + j->len, p, n);
	j->len += n;
	j->buf[j->len] = '\0';
}

static inline void json_add(struct jbuf *j, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static inline void json_add(struct jbuf *j, const char *fmt, ...)
{
	char small[256], *p = small;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0) {
		j->oom = true;
		return;
	}
	if ((size_t)n >= sizeof(small)) {
		va_start(ap, fmt);
		n = vasprintf(&p, fmt, ap);
		va_end(ap);
		if (n < 0) {
			j->oom = true;
			return;
		}
	}
	json_raw(j, p, (size_t)n);
	if (p != small)
		free(p);
}

/*
 * Length of the well-formed UTF-8 sequence at s (RFC 3629: shortest form,
 * no surrogates, nothing above U+10FFFF), 0 when s does not start one.
 * Stops at a NUL, which is never a continuation byte.
 */
static inline size_t utf8_len(const unsigned char *s)
{
	uint32_t cp, min;
	size_t n;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		n = 2, cp = s[0] & 0x1f, min = 0x80;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 3, cp = s[0] & 0x0f, min = 0x800;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4, cp = s[0] & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

/*
 * A JSON string that is always valid UTF-8, whatever the bytes (paths are
 * bytes): well-formed UTF-8 passes through, each byte that is not part of
 * a well-formed sequence becomes U+FFFD, control characters are escaped.
 */
static inline void json_str(struct jbuf *j, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;

	json_raw(j, "\"", 1);
	while (*s) {
		size_t n = utf8_len(s);

		if (!n) {
			json_raw(j, "\\ufffd", 6);
			s++;
		} else if (*s == '"' || *s == '\\') {
			json_add(j, "\\%c", *s++);
		} else if (*s < 0x20) {
			json_add(j, "\\u%04x", *s++);
		} else {
			json_raw(j, (const char *)s, n);
			s += n;
		}
	}
	json_raw(j, "\"", 1);
}

/* `{"schema_version":N,"program":"PROG"` — the caller adds the rest and the `}`. */
static inline void json_begin(struct jbuf *j, const char *program)
{
	json_add(j, "{\"schema_version\":%d,\"program\":", JSON_SCHEMA_VERSION);
	json_str(j, program);
}

/* A string, or null for NULL or "" (a field that has no value here). */
static inline void json_str_or_null(struct jbuf *j, const char *s)
{
	if (s && *s)
		json_str(j, s);
	else
		json_raw(j, "null", 4);
}

/*
 * Does the command line ask for JSON (--json before any "--")?  For the
 * failures found before the options are all parsed, so that a caller that
 * asked for JSON always gets it.
 */
static inline bool json_wanted(int argc, char **argv)
{
	for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
		if (!strcmp(argv[i], "--json"))
			return true;
	return false;
}

/* `,"error":{...}`: the top-level error object of a run that failed. */
static inline void json_error(struct jbuf *j, int exit_code, const char *kind,
			      const char *message)
{
	json_add(j, ",\"error\":{\"exit_code\":%d,\"kind\":", exit_code);
	json_str(j, kind);
	json_add(j, ",\"message\":");
	json_str(j, message && *message ? message : kind);
	json_add(j, "}");
}

/*
 * Signature index (from 1) of a seal as a signer object, left open for the
 * caller's fields and "}": what the signature and the anchors of trust
 * (may be NULL) tell of who made it.  Verifies nothing.
 */
static inline void json_signer_open(struct jbuf *j, unsigned int index,
				    const struct es_seal_sig *sig, const struct es_trust *trust)
{
	const char *type = es_sig_type_name((enum es_sig_type)sig->type);
	char hex[2 * ES_SIGN_KEY_ID_SIZE + 1];
	struct es_sig_info info;

	es_signature_info(trust, (enum es_sig_type)sig->type, sig->key_id, sig->data, sig->len,
			  &info);
	es_hex(sig->key_id, ES_SIGN_KEY_ID_SIZE, hex);
	json_add(j, "{\"index\":%u,\"type\":\"%s\",\"subject\":", index,
		 type ? type : "unknown");
	json_str_or_null(j, info.subject);
	json_add(j, ",\"key_id\":\"%s\",\"algorithm\":", hex);
	json_str_or_null(j, info.algorithm);
	json_add(j, ",\"bytes\":%u", sig->len);
}

#endif
