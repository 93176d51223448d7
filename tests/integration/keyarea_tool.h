/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What keyarea_tool's parts share (see keyarea_tool.c). */
#ifndef KEYAREA_TOOL_H
#define KEYAREA_TOOL_H

#include <stdint.h>

/* The key table plaintext the test key areas protect (entries x 64 bytes). */
void table_fill(const uint8_t uuid[16], uint64_t entries, uint8_t *plain);

/* The fault-injection harness (keyarea_crash.c): exit status. */
int crash_main(const char *dir);

#endif
