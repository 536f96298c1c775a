#!/bin/bash
# The configuration file (issue 11, items 1 and 5): --conf FILE and the
# default /etc/bsdpd.conf, the command line over the file, every error a
# file can have, named by FILE:LINE and the option, and SIGHUP: live
# options change at once, options that need new sockets are reported and
# kept, and a broken file changes nothing.  bsdpd runs in a namespace lab;
# bsdpc, a Mac-like client, sees what it answers.
BSDPD=${BSDPD:-build/san/bsdpd}
BSDPC=${BSDPC:-build/san/bsdpc}
LAB_PREFIX=bf
LAB_NET=198.18.11
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

command -v jq >/dev/null || lab_skip "needs jq"
ROOT=$WORK/root
STATE=$WORK/state
CONF=$WORK/bsdpd.conf
mkdir -p "$ROOT" "$STATE"
make_bundle "$ROOT" iPXE 101 "<key>IsDefault</key><true/>"

# ---- --check: what counted, and from where ----------------------------------

cat >"$CONF" <<EOF
# a lab's server
root = $ROOT          # images
state-dir=$STATE
interface=eth7
interface=eth8
priority=5
hostname="lab # one"
no-tftp
EOF
bsdpd_check() { "$BSDPD" --check "$@" >"$WORK/check.out" 2>&1; }
has() { grep -qF -- "$1" "$WORK/check.out"; }
lacks() { ! grep -qF -- "$1" "$WORK/check.out"; }

check "--check reads --conf and exits 0" bsdpd_check --conf "$CONF"
check "--check names the file and counts its options" has "conf $CONF: 7 options"
check "a value's blanks and trailing comment are not part of it" \
	has "  root=$ROOT  ($CONF:2)"
check "a quoted value keeps its '#'" has "  hostname=lab # one  ($CONF:7)"
check "a flag line counts" has "  no-tftp  ($CONF:8)"

bsdpd_check --conf "$CONF" --priority 9 --interface eth1 || true
check "--priority on the command line overrides the file's" has "  priority=9  (command line)"
check "the file's priority no longer counts" lacks "priority=5"
check "--interface on the command line replaces the file's list" \
	sh -c "grep -c '^  interface=' '$WORK/check.out' | grep -qx 1 && grep -qF '  interface=eth1  (command line)' '$WORK/check.out'"
check "options the command line leaves alone still come from the file" \
	has "  hostname=lab # one  ($CONF:7)"

mkdir -p "$WORK/other"
bsdpd_check --conf "$CONF" --root "$WORK/other" || true
check "--root on the command line is the root checked" has "root $WORK/other"

# ---- the default file ----------------------------------------------------------

# /etc/bsdpd.conf is read when no --conf is given.  An overlay over /etc in
# a mount namespace of this test's own stands for it; the host's /etc is
# not touched.
default_conf() {
	mkdir -p "$WORK/etc-up" "$WORK/etc-work"
	unshare -m sh -c "mount -t overlay overlay -o lowerdir=/etc,upperdir=$WORK/etc-up,workdir=$WORK/etc-work /etc &&
		printf 'root=%s\nstate-dir=%s\npriority=77\n' '$ROOT' '$STATE' >/etc/bsdpd.conf &&
		'$BSDPD' --check" >"$WORK/check.out" 2>&1
}
overlay_works() {
	mkdir -p "$WORK/probe-up" "$WORK/probe-work"
	unshare -m sh -c "mount -t overlay overlay -o lowerdir=/etc,upperdir=$WORK/probe-up,workdir=$WORK/probe-work /etc" 2>/dev/null
}
if [ ! -e /etc/bsdpd.conf ] && overlay_works; then
	default_conf || true
	check "without --conf, /etc/bsdpd.conf is read when it exists" \
		has "  priority=77  (/etc/bsdpd.conf:3)"
	bsdpd_check --root "$ROOT" --state-dir "$STATE" || true
	check "without --conf and without /etc/bsdpd.conf, no file is read" \
		has "conf: none (no --conf, and no /etc/bsdpd.conf)"
else
	echo "SKIP: the default file (no overlay in a mount namespace, or the host has /etc/bsdpd.conf)"
fi

# ---- every error a file can have --------------------------------------------

# refused NAME PATTERN: bsdpd --check --conf $WORK/bad.conf exits 2 with a
# message matching PATTERN (grep -E), the file's path and line first.
refused() {
	rc=0
	"$BSDPD" --check --conf "$WORK/bad.conf" >"$WORK/bad.out" 2>&1 || rc=$?
	if [ "$rc" -eq 2 ] && grep -qE -- "^bsdpd: $WORK/bad.conf$2" "$WORK/bad.out"; then
		ok "$1: $(head -n 1 "$WORK/bad.out")"
	else
		not_ok "$1: exit $rc: $(head -n 2 "$WORK/bad.out" | tr '\n' ' ')"
	fi
}
# bad NAME PATTERN LINE...: the file is the LINEs, after a good first line.
bad() {
	name=$1 pattern=$2
	shift 2
	{ echo "root=$ROOT"; printf '%s\n' "$@"; } >"$WORK/bad.conf"
	chmod 644 "$WORK/bad.conf"
	refused "$name" "$pattern"
}

bad "unknown option" ":2: unknown option 'tftp-prot'" "tftp-prot=69"
bad "option missing its value" ":3: priority needs a value: NAME=VALUE" "" "priority"
bad "empty value" ":2: state-dir: needs a value" "state-dir="
bad "value for a flag" ":2: no-http takes no value" "no-http=yes"
bad "number out of range" ":2: tftp-port: must be a number from 1 to 65535, not '70000'" \
	"tftp-port=70000"
bad "not a number" ":2: priority: must be a number from 0 to 65535, not 'high'" "priority=high"
bad "negative number" ":2: max-bindings: must be a number from 1 to 10000000, not '-1'" \
	"max-bindings=-1"
bad "option given twice" ":3: priority given twice \(first on line 2\)" "priority=1" "priority=2"
bad "a command-line option in the file" ":2: check is an option of the command line only" "check"
bad "--conf in the file" ":2: conf is an option of the command line only" "conf=/etc/other.conf"
bad "option written with its dashes" ":2: write the option without its leading '-': \"--root=/srv\"" \
	"--root=/srv"
bad "no name" ":2: expected NAME or NAME=VALUE, not \"=x\"" "=x"
bad "upper-case name" ":2: expected NAME or NAME=VALUE, not \"Root=/srv\"" "Root=/srv"
bad "something other than '='" ":2: expected '=' after \"priority\"" "priority: 5"
bad "unclosed quote" ":2: hostname: the quoted value has no closing '\"'" 'hostname="lab'
bad "unknown escape" ":2: hostname: unknown escape '\\\\n' in a quoted value" 'hostname="a\nb"'
bad "text after the quote" ":2: hostname: text after the closing '\"' of the value" \
	'hostname="lab" two'
bad "control character" ":2: hostname: control character 0x1b in the value" \
	"$(printf 'hostname=a\033[1mb')"
bad "name too long" ":2: option name longer than 64 bytes" "$(printf 'a%.0s' $(seq 70))=1"
bad "hostname too long" ":2: hostname: must be 1-63 bytes" "hostname=$(printf 'h%.0s' $(seq 64))"
bad "bad interface name" ":2: interface: 'abcdefghijklmnopq' is not an interface name" \
	"interface=abcdefghijklmnopq"
bad "bad proxy-dhcp mode" ":2: proxy-dhcp: must be off, known or all, not 'some'" "proxy-dhcp=some"
bad "bad boot-file" ":2: boot-file: efi-x86=a: unknown ARCH" "boot-file=efi-x86=a"
bad "boot-file twice for one arch" ":3: boot-file: efi-x64 given twice" \
	"boot-file=efi-x64=a.efi" "boot-file=7=b.efi"
bad "33 interfaces" ":34: interface: at most 32 interfaces" \
	$(for i in $(seq 33); do echo "interface=eth$i"; done)

printf 'root=%s\n' "$ROOT" >"$WORK/bad.conf"
head -c 5000 /dev/zero | tr '\0' x >>"$WORK/bad.conf"
refused "line too long" ":2: line longer than 4096 bytes"
printf 'root=%s\npriority=1\0\n' "$ROOT" >"$WORK/bad.conf"
refused "NUL byte" ":2: a NUL byte in the line"
printf 'root=%s\r\npriority=1\r\n' "$ROOT" >"$WORK/bad.conf"
check "CRLF line ends are read as line ends" bsdpd_check --conf "$WORK/bad.conf" \
	--state-dir "$STATE"
chmod 664 "$WORK/bad.conf"
refused "group-writable file" ": writable by group or others \(mode 0664\); chmod go-w it"
rm "$WORK/bad.conf"
refused "missing file" ": No such file or directory"
mkdir "$WORK/bad.conf"
refused "a directory" ": not a regular file"
rmdir "$WORK/bad.conf"
head -c $((1024 * 1024 + 1)) /dev/zero | tr '\0' '#' >"$WORK/bad.conf"
refused "file over 1 MiB" ": larger than 1048576 bytes"
rm "$WORK/bad.conf"
rc=0
"$BSDPD" --check --priority 70000 >"$WORK/bad.out" 2>&1 || rc=$?
check "a command-line error names the option: $(head -n 1 "$WORK/bad.out")" \
	sh -c "[ $rc -eq 2 ] && grep -q -- \"^bsdpd: --priority: must be a number from 0 to 65535, not '70000'\" '$WORK/bad.out'"

# ---- SIGHUP ------------------------------------------------------------------

lab_up
bsdpc() { ip netns exec "$CLI" "$BSDPC" "$@" --interface "$CLI_IF" --timeout 1 --json; }
jqf() { jq -e "$2" "$WORK/$1.json" >/dev/null; }
served() { bsdpc list >"$WORK/list.json" 2>/dev/null && jqf list "$1"; }
# hup PATTERN: a SIGHUP, then PATTERN in the log (the reload is done).
hup() {
	lines=$(wc -l <"$WORK/bsdpd.log")
	kill -HUP "$BSDPD_PID"
	i=0
	while ! tail -n +"$((lines + 1))" "$WORK/bsdpd.log" | grep -q -- "$1"; do
		i=$((i + 1))
		[ "$i" -le 100 ] || return 1
		sleep 0.1
	done
}
write_conf() {
	{
		echo "root=$ROOT"
		echo "state-dir=$STATE"
		echo "interface=$SRV_IF"
		echo "no-http"
		printf '%s\n' "$@"
	} >"$CONF"
}

write_conf "priority=100" "hostname=from-file"
lab_spawn "$SRV" "$WORK/bsdpd.log" "$BSDPD" --foreground --conf "$CONF" --tftp-port 1069 \
	--max-bindings 500
BSDPD_PID=$LAST_PID
wait_for_line "$WORK/bsdpd.log" 20 "ready" || { cat "$WORK/bsdpd.log"; exit 1; }
check "the file's priority is served" served '.servers[0].priority == 100'
bsdpc select --image 0x01000065 >"$WORK/select.json" || true
check "the file's hostname is the ACK's server name" jqf select '.sname == "from-file"'
# From here on the Mac is bound, and the priority served is one lower
# than the one set (Apple's load spreading, bsdpd --help).

write_conf "priority=200" "hostname=renamed"
check "SIGHUP with live changes: the catalog is served again" hup "serving 1 image"
check "the new priority is served at once" served '.servers[0].priority == 199'
bsdpc select --image 0x01000065 >"$WORK/select.json" || true
check "the new hostname is the ACK's server name" jqf select '.sname == "renamed"'
check "no restart is asked for live options" \
	sh -c "! grep -q 'needs a restart' '$WORK/bsdpd.log'"

write_conf "priority=300" "interface=lo" "tftp-port=2069" "http-port=8080" "http-root=$WORK"
check "SIGHUP with restart-only changes names them" \
	hup "SIGHUP: interface, http-port, http-root changed; that needs a restart"
check "the live option in the same file still applies" served '.servers[0].priority == 299'
check "the command line's --tftp-port hides the file's: not reported" \
	sh -c "! grep -q 'tftp-port changed' '$WORK/bsdpd.log'"

write_conf "priority=400" "bogus-option=1"
check "SIGHUP with a broken file: one line names FILE:LINE and the option" \
	hup "SIGHUP: $CONF:6: unknown option 'bogus-option'; nothing changed"
check "the running priority stays" served '.servers[0].priority == 299'

write_conf "priority=500" "boot-file=efi-x64=missing.efi"
check "SIGHUP with a boot file that is not there changes nothing" \
	hup "SIGHUP: --boot-file: boot file for efi-x64, missing.efi: .*; nothing changed"
check "the running priority stays after it" served '.servers[0].priority == 299'

write_conf "proxy-dhcp=off" "priority=600"
check "proxy-dhcp to off needs a restart" hup "SIGHUP: proxy-dhcp changed; that needs a restart"

chmod 666 "$CONF"
check "SIGHUP with a file others may write changes nothing" \
	hup "SIGHUP: $CONF: writable by group or others"
chmod 644 "$CONF"

# quiet takes effect at once: the INFO lines of its own reload and of the
# next one are gone; the next one's warning is still logged.
write_conf "priority=700" "quiet"
lines=$(wc -l <"$WORK/bsdpd.log")
kill -HUP "$BSDPD_PID"
i=0
until served '.servers[0].priority == 699' || [ "$i" -ge 50 ]; do i=$((i + 1)); sleep 0.1; done
write_conf "priority=700" "quiet" "user=nobody"
check "a reload under quiet still logs its warning" hup "SIGHUP: user changed; that needs a restart"
check "quiet took effect: no INFO line since it was read" \
	sh -c "! tail -n +$((lines + 1)) '$WORK/bsdpd.log' | grep -q 're-reading\\|serving'"
check "bsdpd survived every reload" kill -0 "$BSDPD_PID"
lab_stop "$BSDPD_PID"

lab_done
