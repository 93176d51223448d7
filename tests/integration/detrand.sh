# SPDX-License-Identifier: GPL-2.0-or-later
#
# detrand.sh - deterministic test data, sourced by lib.sh and gentree.sh.
# Tests must not depend on unseeded randomness: the same test makes the
# same bytes on every run and every machine.
#
#   detstream SEED     an endless byte stream (AES-128-CTR keystream of
#                      zeros keyed by SEED, a number)
#   rnd N              N bytes; each call in a test gives different bytes
#                      (the call counter lives in a file, so calls made in
#                      pipelines and subshells count too), the same
#                      sequence on every run

detstream() {
	openssl enc -aes-128-ctr -nosalt -K "$(printf '%032x' "$1")" \
		-iv 00000000000000000000000000000000 </dev/zero 2>/dev/null
}

# the counter file: per test temp dir when there is one
_DETRAND_COUNTER=${T:-${TMPDIR:-/tmp}}/.detrand.$$
rnd() {
	local n=0
	[ -f "$_DETRAND_COUNTER" ] && n=$(cat "$_DETRAND_COUNTER")
	n=$((n + 1))
	echo "$n" >"$_DETRAND_COUNTER"
	# seed: a hash of the test's name and the call number
	# (the stream is cut by head: its SIGPIPE is not a failure, also
	# under pipefail)
	{ detstream "$((0x$(printf '%s/%d' "${TEST_NAME:-test}" "$n" | sha256sum | cut -c1-15)))" ||
		true; } | head -c "$1"
}
