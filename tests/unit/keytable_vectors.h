/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The test vectors of docs/FORMAT.md section 3.4, computed by libcore:
 * shared by the unit test (test_keytable), which compares them with the
 * oracle's values, and by keytable_tool, which prints them for
 * t-oracle-vectors.sh.
 */
#ifndef KEYTABLE_VECTORS_H
#define KEYTABLE_VECTORS_H

#include <stddef.h>

/*
 * The vectors as "name = value" lines, computed with lib/keys/ and the
 * crypto backend from the inputs FORMAT.md states, into buf (size bytes).
 * 0, or a negative errno with a line saying what failed in buf.
 */
int kt_vectors_compute(char *buf, size_t size);

#endif
