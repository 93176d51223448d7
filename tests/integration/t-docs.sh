#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The manual pages against the programs:
#
#  * every option a program's --help lists (the lines that define an
#    option, in its option lists) is in the tags of its man page's
#    option list, and the other way round;
#  * every page renders with groff -ww -z (all warnings) without a word,
#    and has NAME, SYNOPSIS, DESCRIPTION, OPTIONS, EXIT STATUS, EXAMPLES
#    and SEE ALSO;
#  * every page that SEE ALSO names exists.

_lib=$(dirname "$0")/lib.sh
[ -r "$_lib" ] || _lib=${srcdir:-.}/integration/lib.sh
. "$_lib" || { echo "FAIL: cannot source lib.sh"; exit 1; }

need_progs MKFS FSCK DUMP VERIFY EROFS_KEY
need_cmd groff comm
MAN=$(cd "$LIBDIR/../../docs/man" 2>/dev/null && pwd) || fail "cannot find docs/man"
cd "$T" || fail "cannot enter $T"

# the options an option-defining line names: -x, --long (without =VALUE);
# --[no-]name stands for --name and --no-name
opt_words() {
	sed -E 's/--\[no-\]([a-zA-Z0-9-]+)/--\1 --no-\1/g' |
		grep -oE -- '(^|[ ,"[(])--?[a-zA-Z][a-zA-Z0-9-]*' | sed 's/^[ ,"[(]//' | sort -u
}

# help_opts PROG: options of the lines of --help that start with one
help_opts() {
	"$1" --help | grep -E '^  {1,3}-' | sed 's/^ *//; s/  .*//' | opt_words
}

# man_opts PAGE: the tags of its .TP entries under OPTIONS (and the
# sections after it up to EXIT STATUS), spelt as they print
man_opts() {
	awk '/^\.SH OPTIONS/ { on = 1; next } /^\.SH EXIT/ { on = 0 }
	     on && tag { print; tag = 0; next } on && /^\.TP/ { tag = 1 }' "$1" |
		sed 's/\\-/-/g; s/\\f[BIRP]//g; s/"//g' | opt_words
}

for p in MKFS:mkfs.erofs FSCK:fsck.erofs DUMP:dump.erofs VERIFY:erofs-verify EROFS_KEY:erofs-key; do
	var=${p%%:*} name=${p#*:} page=$MAN/${p#*:}.1
	help_opts "${!var}" >"$name.help"
	man_opts "$page" >"$name.man"
	[ -s "$name.help" ] || bad "$name: no options found in --help"
	only_help=$(comm -23 "$name.help" "$name.man" | tr '\n' ' ')
	only_man=$(comm -13 "$name.help" "$name.man" | tr '\n' ' ')
	[ -z "$only_help" ] || bad "$name: --help lists options its man page does not: $only_help"
	[ -z "$only_man" ] || bad "$name: the man page lists options --help does not: $only_man"
	info "$name: $(wc -l <"$name.help") options in --help and the man page"
	groff -ww -z -man "$page" >"$name.groff" 2>&1 || bad "$name: groff failed"
	[ -s "$name.groff" ] && bad "$name: groff warns: $(head -c 600 "$name.groff")"
	for s in NAME SYNOPSIS DESCRIPTION OPTIONS "EXIT STATUS" EXAMPLES "SEE ALSO"; do
		grep -q "^\.SH \"\?$s\"\?\$" "$page" || bad "$name: no $s section"
	done
	for ref in $(sed -n '/^\.SH SEE ALSO/,/^\.SH/p' "$page" | sed -n 's/^\.BR \([a-z.-]*\) (1).*/\1/p'); do
		case $ref in
		mkfs.erofs|fsck.erofs|dump.erofs|erofs-verify|erofs-key) ;;
		*) continue ;;	# a system page (mount(8), ...)
		esac
		[ -r "$MAN/$ref.1" ] || bad "$name: SEE ALSO names $ref(1), which is not in docs/man"
	done
done

finish_cases "--help and the man pages agree; every page renders without a warning"
