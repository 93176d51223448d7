/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The keyslot test vectors of docs/FORMAT.md section 4.6, shared by the
 * unit test (test_keyslot), which compares libcore's lines with the
 * oracle's, and by keyarea_tool, which prints them for t-key-oracle.sh.
 */
#ifndef KEYSLOT_VECTORS_H
#define KEYSLOT_VECTORS_H

#include <stddef.h>

/* What `tests/oracle/keyslots.py vectors` printed, verbatim. */
extern const char ksv_oracle_text[];

/*
 * The same "name = value" lines, computed by libcore from the same inputs
 * (credential files are written into dir).  0, or a negative errno with a
 * line saying what failed in buf.
 */
int ksv_compute(const char *dir, char *buf, size_t size);

#endif
