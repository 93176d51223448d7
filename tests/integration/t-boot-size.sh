#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The boot reader's size and stack report (docs/BOOT.md), from the archive
# and the call graph the default `make` built (boot/liberofs_boot.a and its
# boot/obj/*.ci, *.su): x86-64 at -Os, code pulled in by the API without and
# with decryption under 32 and 48 KiB, worst stack path under 8 KiB, no
# .data or .bss in any member.  boot_report.py prints the figures.
set -euo pipefail
: "${BOOT_ARCHIVE:?run through make check}" "${BOOT_OBJDIR:?run through make check}"
if [ -x /usr/bin/python3 ]; then PYTHON=/usr/bin/python3; else PYTHON=python3; fi
for c in ld nm size "$PYTHON"; do
	command -v "$c" >/dev/null || { echo "SKIP: $c missing"; exit 77; }
done
[ "$(uname -m)" = x86_64 ] || { echo "SKIP: the figures are for x86-64"; exit 77; }
[ -r "$BOOT_ARCHIVE" ] || { echo "FAIL: $BOOT_ARCHIVE was not built by make"; exit 1; }
"$PYTHON" "$srcdir/integration/boot_report.py" "$BOOT_ARCHIVE" "$BOOT_OBJDIR"
