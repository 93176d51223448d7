#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The boot reader's UEFI example (boot/examples/uefi): its sources and the
# reader's, built with gnu-efi, link with no undefined symbol into a PE32+
# EFI application (machine x86-64, optional-header magic 0x20b, subsystem
# 10), checked by reading the PE headers here.  Building is the claim;
# booting it is not tested.

_lib=$(dirname "$0")/lib.sh
[ -r "$_lib" ] || _lib=${srcdir:-.}/integration/lib.sh
. "$_lib" || { echo "FAIL: cannot source lib.sh"; exit 1; }

top=$(cd "$srcdir/.." && pwd)
[ "$(uname -m)" = x86_64 ] || skip "the example is for x86-64"
for f in /usr/include/efi/efi.h /usr/lib/crt0-efi-x86_64.o /usr/lib/elf_x86_64_efi.lds \
	/usr/lib/libgnuefi.a; do
	[ -e "$f" ] || skip "gnu-efi is not installed ($f missing)"
done
[ -e "$top/boot/erofs_boot.h" ] && [ -e "$top/boot/boot.c" ] ||
	skip "the boot reader (boot/erofs_boot.h, boot/boot.c) is not in this tree"
need_cmd make ld objcopy nm

runcmd build make -C "$top/boot/examples/uefi" TOP="$top" O="$T/efi" \
	ANCHOR=00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff
[ "$RC" -eq 0 ] || fail "the UEFI example does not build: $(tail -c 1500 "$T/build.err")"
"$PYTHON" - "$T/efi/erofs-boot.efi" <<'PY' || fail "erofs-boot.efi is not a PE32+ EFI application"
import struct, sys
d = open(sys.argv[1], 'rb').read()
def need(cond, what):
    if not cond:
        print('  ' + what)
        sys.exit(1)
need(d[:2] == b'MZ', 'no MZ header')
pe, = struct.unpack_from('<I', d, 0x3c)
need(d[pe:pe + 4] == b'PE\0\0', 'no PE signature')
machine, = struct.unpack_from('<H', d, pe + 4)
magic, = struct.unpack_from('<H', d, pe + 24)
subsystem, = struct.unpack_from('<H', d, pe + 24 + 68)
need(machine == 0x8664, 'machine %#x, not x86-64' % machine)
need(magic == 0x20b, 'optional header magic %#x, not PE32+' % magic)
need(subsystem == 10, 'subsystem %d, not an EFI application (10)' % subsystem)
PY
echo "PASS: boot/examples/uefi builds into a PE32+ EFI application of $(stat -c %s "$T/efi/erofs-boot.efi") bytes"
