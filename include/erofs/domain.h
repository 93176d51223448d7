/* SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0 */
/* The dedup domain's key file (hosted). */
#ifndef EROFS_DOMAIN_H
#define EROFS_DOMAIN_H

#include <stdint.h>
#include "erofs/err.h"
#include "erofs/keytable.h"

/* Exactly ES_DOMAIN_KEY_SIZE bytes from a regular file; the caller wipes key. */
int es_domain_key_load(const char *path, uint8_t key[ES_DOMAIN_KEY_SIZE], struct es_err *err);

#endif
