#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The encryption test vectors (docs/FORMAT.md section 3.4) three ways: what
# the Python oracle computes (tests/oracle/escrypt.py, written from the
# specification with hashlib, hmac and python3-cryptography), what the
# document publishes, and what libcore computes (keytable_tool) must be the
# same text.  Then key tables of sizes around the segment boundaries, from
# deterministic data, must encrypt to the same bytes and digests in C and
# in Python.
#
# Environment: KEYTABLE_TOOL = path of the built tests/unit/keytable_tool.
# Exit status: 0 pass, 77 skip (prints "SKIP: reason"), 1 fail.

set -u

. "$(dirname "$0")/lib.sh"

need_progs KEYTABLE_TOOL
need_cmd cmp diff
"$PYTHON" -c 'import cryptography.hazmat.primitives.ciphers.aead' 2>/dev/null ||
	skip "python3-cryptography is not installed"
oracle=$srcdir/oracle/escrypt.py
format=$srcdir/../docs/FORMAT.md
[ -r "$format" ] || skip "docs/FORMAT.md is not in this tree"

must "$PYTHON" "$oracle" selftest
runcmd oracle "$PYTHON" "$oracle" vectors
[ "$RC" -eq 0 ] || fail "the oracle failed: $(cat "$T/oracle.err")"
runcmd ours "$KEYTABLE_TOOL" vectors
[ "$RC" -eq 0 ] || fail "keytable_tool failed: $(cat "$T/ours.err")"
# the fenced block after the marker line
awk '/^<!-- escrypt vectors/ { m = 1; next }
     m == 1 && /^```/ { m = 2; next }
     m == 2 && /^```/ { exit }
     m == 2 { print }' "$format" >"$T/published"
[ -s "$T/published" ] || fail "no test vector block in docs/FORMAT.md"
[ "$(wc -l <"$T/oracle.out")" -ge 30 ] || fail "the oracle printed too few vectors"

diff -u "$T/oracle.out" "$T/published" ||
	fail "docs/FORMAT.md does not publish what the oracle computes"
diff -u "$T/oracle.out" "$T/ours.out" ||
	fail "libcore does not compute what the oracle computes"
info "vectors: oracle, docs/FORMAT.md and libcore agree ($(wc -l <"$T/oracle.out") values)"

# whole tables: one entry, a full segment, one more, many segments
uuid=00112233445566778899aabbccddeeff
tk=$(rnd 32 | od -An -v -tx1 | tr -d ' \n')
for entries in 1 63 64 65 128 129 1000; do
	rnd $((entries * 64)) >"$T/plain"
	runcmd c "$KEYTABLE_TOOL" encrypt-table "$uuid" "$tk" "$entries" "$T/plain" "$T/ct.c"
	[ "$RC" -eq 0 ] || fail "$entries entries: keytable_tool: $(cat "$T/c.err")"
	runcmd py "$PYTHON" "$oracle" encrypt-table "$uuid" "$tk" "$entries" "$T/plain" "$T/ct.py"
	[ "$RC" -eq 0 ] || fail "$entries entries: oracle: $(cat "$T/py.err")"
	cmp "$T/ct.c" "$T/ct.py" ||
		fail "$entries entries: the ciphertexts differ"
	diff -u "$T/py.out" "$T/c.out" ||
		fail "$entries entries: the digests differ"
	info "$entries entries: same $(wc -c <"$T/ct.c")-byte ciphertext and $(($(wc -l <"$T/c.out") - 1)) segment digests"
done
echo "PASS: the oracle and libcore agree on the vectors and on 7 tables"
