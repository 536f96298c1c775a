#!/bin/bash
# bsdpd.8, bsdpc.1 and bsdpctl.1 against the programs' own --help, so the two cannot
# drift: every long option --help mentions is documented in the man page's
# OPTIONS (a .TP tag), every option documented there is in --help, once,
# with the same short option; and each page renders without a groff
# warning or a mandoc -Tlint message.  For bsdpd's configuration file:
# every long option is a key of the file but those bsdpd.8 lists as
# "Command line only", which the file refuses as such, and the options
# bsdpd.8 lists as "Changed by SIGHUP" are the ones --help names.  Needs
# no root and no network.
BSDPD=${BSDPD:-build/san/bsdpd}
BSDPC=${BSDPC:-build/san/bsdpc}
BSDPCTL=${BSDPCTL:-build/san/bsdpctl}
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)

set -u
PASSED=0
FAILED=0
ok() { PASSED=$((PASSED + 1)); echo "ok - $*"; }
not_ok() { FAILED=$((FAILED + 1)); echo "not ok - $*"; }
# check DESCRIPTION COMMAND...: passes when the command succeeds.
check() {
	desc=$1
	shift
	if "$@"; then ok "$desc"; else not_ok "$desc"; fi
}

for b in "$BSDPD" "$BSDPC" "$BSDPCTL"; do
	[ -x "$b" ] || { echo "FAIL: $b is not built (make $b)"; exit 1; }
done
WORK=$(mktemp -d /tmp/manpages-test.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

# help_options BIN: every long option the help text mentions, one a line.
help_options() { "$1" --help | grep -oE -- '--[a-z][a-z-]*' | sort -u; }

# help_pairs BIN: "-X --long" for each option line that gives both.
help_pairs() {
	"$1" --help | sed -nE 's/^ +(-[A-Za-z]), (--[a-z][a-z-]*).*/\1 \2/p' | sort -u
}

# option_tags PAGE: the .TP tag lines of the OPTIONS section, with groff's
# \- turned back into -, so that they read as they render.
option_tags() {
	awk '/^\.SH / { on = ($2 == "OPTIONS") } on && tag { print; tag = 0 }
	     on && /^\.TP/ { tag = 1 }' "$1" | sed 's/\\-/-/g'
}

# man_options PAGE: every long option a tag documents, one a line, as often
# as it is documented.
man_options() { option_tags "$1" | grep -oE -- '--[a-z][a-z-]*' | sort; }

# man_pairs PAGE: "-X --long" for each tag written as .BR -X ", " --long.
man_pairs() {
	option_tags "$1" | sed -nE 's/^\.BR (-[A-Za-z]) ", " (--[a-z][a-z-]*).*/\1 \2/p' | sort -u
}

# listed LIST WORD: WORD is a line of LIST.
listed() { grep -qxF -- "$2" "$1"; }

compare() {
	prog=$1 bin=$2 page=$3
	name=$(basename "$page")
	help_options "$bin" >"$WORK/help"
	man_options "$page" >"$WORK/man"
	help_pairs "$bin" >"$WORK/help-pairs"
	man_pairs "$page" >"$WORK/man-pairs"

	# A broken extraction must not pass by finding nothing on both sides.
	check "$prog --help lists options ($(wc -l <"$WORK/help") found)" \
		[ "$(wc -l <"$WORK/help")" -ge 10 ]
	check "$name documents options ($(wc -l <"$WORK/man") found)" \
		[ "$(wc -l <"$WORK/man")" -ge 10 ]
	while read -r opt; do
		check "$name documents $opt from $prog --help" listed "$WORK/man" "$opt"
	done <"$WORK/help"
	sort -u "$WORK/man" >"$WORK/man-set"
	while read -r opt; do
		check "$prog --help lists $opt, documented in $name" listed "$WORK/help" "$opt"
	done <"$WORK/man-set"
	check "$name documents each option once" \
		sh -c "[ -z \"\$(uniq -d '$WORK/man')\" ]"
	check "$name gives each option the short form --help gives it" \
		sh -c "[ -s '$WORK/help-pairs' ] && cmp -s '$WORK/help-pairs' '$WORK/man-pairs'"
	if command -v groff >/dev/null 2>&1; then
		check "$name renders without warnings" \
			sh -c "[ -z \"\$(groff -man -Tutf8 -ww -z '$page' 2>&1)\" ]"
	fi
	if command -v mandoc >/dev/null 2>&1; then
		check "$name passes mandoc -Tlint" \
			sh -c "[ -z \"\$(mandoc -Tlint '$page' 2>&1)\" ]"
	fi
}

compare bsdpd "$BSDPD" "$TOP/bsdpd/bsdpd.8"
compare bsdpc "$BSDPC" "$TOP/tools/bsdpc.1"
compare bsdpctl "$BSDPCTL" "$TOP/tools/bsdpctl.1"
command -v groff >/dev/null 2>&1 || echo "SKIP: groff checks (no groff)"
command -v mandoc >/dev/null 2>&1 || echo "SKIP: mandoc checks (no mandoc)"

# subsection_options PAGE TITLE: the long options named in ".SS TITLE", up
# to the next heading.
subsection_options() {
	awk -v t=".SS $2" '/^\.S[SH] / { on = ($0 == t); next } on' "$1" | sed 's/\\-/-/g' |
		grep -oE -- '--[a-z][a-z-]*' | sort -u
}

# key_kind OPTION: how bsdpd --check takes a line naming OPTION in a file:
# "unknown", "cmdline" (refused as an option of the command line only) or
# "key" (anything else: read, or refused for its value).
key_kind() {
	printf 'root=%s\n%s\n' "$WORK" "$1" >"$WORK/key.conf"
	"$BSDPD" --check --conf "$WORK/key.conf" --state-dir "$WORK/state" >"$WORK/key.out" 2>&1
	if grep -q "unknown option" "$WORK/key.out"; then
		echo unknown
	elif grep -q "is an option of the command line only" "$WORK/key.out"; then
		echo cmdline
	else
		echo key
	fi
}

mkdir -p "$WORK/state"
subsection_options "$TOP/bsdpd/bsdpd.8" "Command line only" >"$WORK/man-cmdline"
check "bsdpd.8 lists the options of the command line only ($(wc -l <"$WORK/man-cmdline"))" \
	[ -s "$WORK/man-cmdline" ]
: >"$WORK/file-cmdline"
while read -r opt; do
	kind=$(key_kind "${opt#--}")
	[ "$kind" = cmdline ] && echo "$opt" >>"$WORK/file-cmdline"
	if listed "$WORK/man-cmdline" "$opt"; then
		check "${opt#--} is refused in the file, as bsdpd.8 says" [ "$kind" = cmdline ]
	else
		check "${opt#--} is a key of the configuration file" [ "$kind" = key ]
	fi
done < <(help_options "$BSDPD")
check "every option bsdpd.8 lists as command line only is one of bsdpd's" \
	cmp -s "$WORK/man-cmdline" "$WORK/file-cmdline"

subsection_options "$TOP/bsdpd/bsdpd.8" "Changed by SIGHUP" >"$WORK/man-live"
"$BSDPD" --help | tr '\n' ' ' | sed -n 's/.*Of the options, \(.*\) change at once.*/\1/p' |
	grep -oE -- '--[a-z][a-z-]*' | sort -u >"$WORK/help-live"
check "bsdpd.8 and --help name the same options as changed by SIGHUP ($(wc -l <"$WORK/man-live"))" \
	sh -c "[ -s '$WORK/man-live' ] && cmp -s '$WORK/man-live' '$WORK/help-live'"

echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
