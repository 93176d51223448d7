#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Crash safety of the key area (ENCRYPTION.md section 4): keyarea_tool's
# harness runs add, remove, rotate and rotate --drop over a device that
# stops at every write and every fdatasync in turn, tears the write in
# progress after every 512-byte sector and keeps or drops the sectors of
# unsynced writes; after each stop the key area must open with exactly the
# old or exactly the new set of credentials (never neither, never a mix)
# and its key table must decrypt against its digests.  A second operation
# then runs, crashed the same way, on crash images of the first: a
# credential the first removed never comes back.  It prints how many crash
# points it tried.
#
# Environment: KEYAREA_TOOL = path of tests/integration/keyarea_tool.

set -u

. "$(dirname "$0")/lib.sh"

need_progs KEYAREA_TOOL
need_cmd openssl

mkdir -p "$T/creds"
for k in 0 1 2 3; do
	rnd 64 >"$T/creds/k$k"
done
rnd 48 >"$T/creds/seed"
must x25519_pair "$T/creds/x"

runcmd crash "$KEYAREA_TOOL" crash "$T/creds"
cat "$T/crash.out"
[ "$RC" -eq 0 ] || { head -c 4000 "$T/crash.err"; fail "the crash harness found a state that is neither old nor new"; }
grep -q '^crash points tried: [1-9]' "$T/crash.out" || fail "the harness did not report its crash points"
info "$(grep '^crash points tried' "$T/crash.out")"
echo "PASS"
