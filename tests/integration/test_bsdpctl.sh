#!/bin/bash
# bsdpctl against bsdpd's real API (docs/api.md), end to end:
#   - --help; usage errors are exit 2 before the token is read, so before
#     any request; a closed port is exit 3;
#   - the token: STATE/api-token, mode 0600, read by bsdpctl from
#     --token-file or $BSDPCTL_TOKEN; a missing, malformed or wrong one is
#     exit 4;
#   - CRUD round trips of profiles, machines, groups and the default, each
#     read back through bsdpctl: the bodies it sends (lists in order,
#     quotes, numbers, a template file) as the daemon stored them;
#   - tables: a list of 300 more machines, past a request body's bounds;
#     a Mac registered by a BSDP LIST (bsdpc) with a hostile model
#     is listed without a raw control byte; a stored template's newlines
#     and escape byte are shown escaped;
#   - errors: a missing profile is a 422 naming the field, a missing
#     record a 404 (exit 1);
#   - next-boot set and cleared;
#   - the catalog;
#   - events: /boot.ipxe fetches are recorded, read back by --mac and
#     --since, and seen live by events --follow (the SSE stream): a past
#     event once, a new one for the MAC, none of another MAC's.
BSDPD=${BSDPD:-build/san/bsdpd}
BSDPCTL=${BSDPCTL:-build/san/bsdpctl}
BSDPC=${BSDPC:-build/san/bsdpc}
LAB_PREFIX=bct
LAB_NET=198.18.22
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

command -v curl >/dev/null 2>&1 || lab_skip "needs curl"
[ -x "$BSDPCTL" ] || { echo "FAIL: $BSDPCTL is not built"; exit 1; }
[ -x "$BSDPC" ] || { echo "FAIL: $BSDPC is not built"; exit 1; }
lab_up

PORT=8080
ROOT=$WORK/root
STATE=$WORK/state
LOG=$WORK/bsdpd.log
MAC=52:54:00:12:34:56
OTHER=52:54:00:ab:cd:ef
mkdir -p "$ROOT/debian" "$STATE"
make_bundle "$ROOT" iPXE 101
echo kernel >"$ROOT/debian/vmlinuz"
echo initrd >"$ROOT/debian/initrd.gz"
chmod 644 "$ROOT/debian/vmlinuz" "$ROOT/debian/initrd.gz"

lab_spawn "$SRV" "$LOG" "$BSDPD" --foreground --root "$ROOT" --state-dir "$STATE" \
	--interface "$SRV_IF" --no-tftp --http-port "$PORT"
BSDPD_PID=$LAST_PID
wait_for_line "$LOG" 10 "ready" || { cat "$LOG"; exit 1; }

check "--help prints the manual and exits 0" eval '"$BSDPCTL" --help | grep -q "^EXIT STATUS"'
# With no token file, exit 2 shows the line was refused before the token
# was read, and so before any request (the token is read at the first).
for bad in "" "frob" "machine" "machine show" "machine show 52:54:00:12:34" \
	"machine show 52:54:00-12:34:56" "profile show a/b" "profile set p" \
	"profile set p --kind linux --timeout 9999" "next-boot $MAC" "next-boot $MAC p --clear" \
	"group set g" "machine set $MAC --kernel x" "machine set $MAC --label nokey" \
	"events --mac zz" "--bogus machines" "machines extra" "--timeout 5 machines"; do
	RC=0
	# shellcheck disable=SC2086
	ip netns exec "$CLI" timeout 20 "$BSDPCTL" --server "http://$SRV_IP:$PORT" \
		--token-file "$WORK/none" $bad >/dev/null 2>"$WORK/err" || RC=$?
	check "usage error (exit 2), nothing sent: bsdpctl $bad" [ "$RC" -eq 2 ]
done
check "an option of another command is named" grep -qx \
	"bsdpctl: --timeout does not apply to 'machines' (try bsdpctl --help)" "$WORK/err"

check "bsdpd wrote STATE/api-token, mode 0600, 43 base64url characters" eval '
	[ "$(stat -c %a "$STATE/api-token")" = 600 ] &&
	grep -qxE "[A-Za-z0-9_-]{43}" "$STATE/api-token"'

# ctl ARGS...: bsdpctl in the client namespace; $WORK/out, $WORK/err, $RC.
ctl() {
	RC=0
	ip netns exec "$CLI" timeout 20 "$BSDPCTL" --server "http://$SRV_IP:$PORT" \
		--token-file "$STATE/api-token" "$@" >"$WORK/out" 2>"$WORK/err" || RC=$?
}
ok_run() { ctl "$@"; [ "$RC" -eq 0 ] || { cat "$WORK/err"; return 1; }; }
out_has() { grep -qE -- "$1" "$WORK/out" || { cat "$WORK/out" "$WORK/err"; return 1; }; }
err_is() { [ "$(cat "$WORK/err")" = "$1" ] || { cat "$WORK/err"; return 1; }; }
# json_is EXPR: the Python expression over j, the JSON of $WORK/out, holds.
json_is() {
	python3 -c "import json,sys; j = json.load(open(sys.argv[1])); sys.exit(0 if ($1) else 1)" \
		"$WORK/out" || { cat "$WORK/out"; return 1; }
}

ctl machines --token-file "$WORK/none"
check "a missing token file: exit 4, naming it" eval '[ "$RC" -eq 4 ] &&
	grep -q "^bsdpctl: cannot read the API token from $WORK/none: " "$WORK/err"'
echo 'two words' >"$WORK/junk"
ctl machines --token-file "$WORK/junk"
check "a token file with something else: exit 4" eval '[ "$RC" -eq 4 ] &&
	err_is "bsdpctl: $WORK/junk does not hold an API token (one line of A-Z a-z 0-9 - _)"'
RC=0
ip netns exec "$CLI" timeout 20 "$BSDPCTL" --server "http://$SRV_IP:1" \
	--token-file "$STATE/api-token" machines 2>"$WORK/err" || RC=$?
check "a closed port: exit 3" eval '[ "$RC" -eq 3 ] && grep -q "^bsdpctl: cannot reach bsdpd: " "$WORK/err"'
RC=0
ip netns exec "$CLI" env BSDPCTL_TOKEN="$(cat "$STATE/api-token")" \
	BSDPCTL_SERVER="http://$SRV_IP:$PORT" timeout 20 "$BSDPCTL" profiles \
	>"$WORK/out" 2>"$WORK/err" || RC=$?
check "BSDPCTL_TOKEN and BSDPCTL_SERVER" eval '[ "$RC" -eq 0 ] && out_has "^NAME +KIND +DESCRIPTION$"'

check "profiles: none yet, a header only" eval 'ok_run profiles && [ "$(wc -l <"$WORK/out")" -eq 1 ]'
check "profile set install (linux)" ok_run profile set install --kind linux \
	--kernel debian/vmlinuz --initrd debian/initrd.gz --cmdline console=ttyS0 \
	--description "Debian 12"
check "profile set disk (local, exit)" ok_run profile set disk --kind local --local exit
check "profile show install: what was set" eval 'ok_run profile show install &&
	out_has "^kernel: +debian/vmlinuz$" && out_has "^initrds: +debian/initrd.gz$" &&
	out_has "^cmdline: +console=ttyS0$"'
check "profiles: both" eval 'ok_run profiles && out_has "^disk +local" && out_has "^install +linux +Debian 12$"'
ctl profile set two --kind linux --kernel debian/vmlinuz --cmdline 'console=ttyS0 quiet="q"'
check "a quote in the command line: 400 naming the field, exit 1" eval '[ "$RC" -eq 1 ] &&
	grep -qE "^bsdpctl: 400: .*quoting \(field cmdline\)$" "$WORK/err"'
check "profile set: initrds in order" ok_run profile set two --kind linux \
	--kernel debian/vmlinuz --initrd debian/initrd.gz --initrd debian/vmlinuz \
	--cmdline 'console=ttyS0 quiet'
check "profile show --json: as sent" eval 'ok_run --json profile show two &&
	json_is "j[\"initrds\"] == [\"debian/initrd.gz\", \"debian/vmlinuz\"] and j[\"cmdline\"] == \"console=ttyS0 quiet\""'
check "profile set menu: items, default, a numeric timeout" ok_run profile set m --kind menu \
	--item install --item disk --default disk --timeout 5
check "profile show --json menu: as sent" eval 'ok_run --json profile show m &&
	json_is "j[\"items\"] == [\"install\", \"disk\"] and j[\"default\"] == \"disk\" and j[\"timeout\"] == 5"'
printf '#!ipxe\necho \033[2J{{hostname}}\n' >"$WORK/t.ipxe"
check "profile set script: from a template file" ok_run profile set s --kind script \
	--template-file "$WORK/t.ipxe"
check "profile show: the template's newlines and escape byte escaped" eval 'ok_run profile show s &&
	out_has "^template: +#!ipxe\\\\x0aecho \\\\x1b\\[2J\\{\\{hostname\\}\\}\\\\x0a$" &&
	! grep -q "$(printf "\033")" "$WORK/out"'
printf 'echo \377\n' >"$WORK/bad.ipxe"
ctl profile set s --kind script --template-file "$WORK/bad.ipxe"
check "a template that is not UTF-8: refused here, naming the byte" eval '[ "$RC" -eq 2 ] &&
	err_is "bsdpctl: $WORK/bad.ipxe: not UTF-8 text (byte 5)"'
echo '{"kind":"shell"}' >"$WORK/p.json"
check "profile put: a JSON file" eval 'ok_run profile put sh "$WORK/p.json" &&
	ok_run profile show sh && out_has "^kind: +shell$"'
check "profile delete" ok_run profile delete sh
ctl profile show sh
check "a deleted profile: 404, exit 1" eval '[ "$RC" -eq 1 ] && grep -q "^bsdpctl: 404: " "$WORK/err"'
echo '{"kind":"shell","bogus":1}' >"$WORK/p.json"
ctl profile put sh "$WORK/p.json"
check "an unknown field: 400 naming it, exit 1" eval '[ "$RC" -eq 1 ] &&
	err_is "bsdpctl: 400: unknown field (field bogus)"'

ctl machine set "$MAC" --profile missing
check "a missing profile: 422 naming the field, exit 1" eval '[ "$RC" -eq 1 ] &&
	grep -qE "^bsdpctl: 422: .* \(field profile\)$" "$WORK/err"'
check "machine set: hostname, label, profile" \
	ok_run machine set 52-54-00-12-34-56 --profile disk --hostname lab-101 --label room=101
check "machine show: read back, MAC in lower case with colons" eval 'ok_run machine show "$MAC" &&
	out_has "^mac: +$MAC$" && out_has "^hostname: +lab-101$" && out_has "^profile: +disk$" &&
	out_has "^labels: +room=101$"'
check "next-boot MAC install" ok_run next-boot "$MAC" install
check "machine show: next_boot install" eval 'ok_run machine show "$MAC" && out_has "^next_boot: +install$"'
check "next-boot --clear" ok_run next-boot "$MAC" --clear
check "machine show: next_boot cleared" eval 'ok_run machine show "$MAC" && out_has "^next_boot: +-$"'
check "machines: the machine" eval 'ok_run machines && out_has "^$MAC +lab-101 +disk "'

# A Mac's BSDP LIST registers it, its model taken from the class id.
CLI_MAC=$(ip netns exec "$CLI" cat "/sys/class/net/$CLI_IF/address")
ip netns exec "$CLI" "$BSDPC" list --interface "$CLI_IF" --timeout 1 \
	--model "$(printf 'MacPro6,1\033[2J\tFAKE')" >"$WORK/bsdpc" 2>&1 || cat "$WORK/bsdpc"
check "machines: the Mac a LIST registered, its hostile model inert" eval 'ok_run machines &&
	out_has "^$CLI_MAC +- +- +- +MacPro6,1__2J_FAKE +i386 " &&
	! grep -q "$(printf "\033")" "$WORK/out" && [ "$(wc -l <"$WORK/out")" -eq 3 ]'

check "group set lab" ok_run group set lab --mac-prefix 52:54:00 --label room=101 \
	--profile disk --priority 10
check "groups: lab" eval 'ok_run groups && out_has "^lab +10 +disk "'
check "default disk" ok_run default disk
check "default: disk" eval 'ok_run default && out_has "^profile: +disk$"'
check "catalog: the bundle" eval 'ok_run catalog && out_has " iPXE "'

boot_script() {
	ip netns exec "$CLI" curl -sS --max-time 10 -o "$WORK/script" \
		"http://$SRV_IP:$PORT/boot.ipxe?mac=$1&arch=x86_64"
}
# follow OUT ARGS...: events --follow in the background until its header.
follow() {
	out=$1
	shift
	ip netns exec "$CLI" timeout 20 "$BSDPCTL" --server "http://$SRV_IP:$PORT" \
		--token-file "$STATE/api-token" "$@" events --follow --mac "$MAC" >"$out" 2>&1 &
	FOLLOW_PID=$!
	LAB_PIDS="$LAB_PIDS $FOLLOW_PID"
}
boot_script 52-54-00-12-34-56
follow "$WORK/follow"
wait_for_line "$WORK/follow" 10 "^TIME" || cat "$WORK/follow"
boot_script "$OTHER"
boot_script 52-54-00-12-34-56
check "events --follow: the past event, then the new one, live" eval '
	wait_for_line "$WORK/follow" 10 "$MAC.* script.*" &&
	for _ in $(seq 50); do [ "$(grep -c " script " "$WORK/follow")" -ge 2 ] && break; sleep 0.1; done &&
	[ "$(grep -c " script " "$WORK/follow")" -eq 2 ] || { cat "$WORK/follow"; false; }'
check "events --follow --mac: none of another machine" eval '! grep -q "$OTHER" "$WORK/follow"'
lab_stop "$FOLLOW_PID"
follow "$WORK/follow.json" --json
for _ in $(seq 50); do ip netns exec "$SRV" ss -Htn state established "sport = :$PORT" |
	grep -q . && break; sleep 0.1; done
boot_script 52-54-00-12-34-56
# The past events' reply as it came, then one line per new event.
check "--json events --follow: the past events, then one JSON line per new event" eval '
	wait_for_line "$WORK/follow.json" 10 "^{\"id\":.*\"kind\":\"script\"" &&
	python3 -c "import json,sys
l = [json.loads(x) for x in open(sys.argv[1])]
assert len(l[0][\"events\"]) == 2 and [e[\"kind\"] for e in l[1:]] == [\"script\"], l" "$WORK/follow.json"'
lab_stop "$FOLLOW_PID"
check "events --mac: the script events, read back" eval 'ok_run events --mac "$MAC" &&
	[ "$(grep -cE "^[^ ]+ +$MAC +script " "$WORK/out")" -eq 3 ] && ! grep -q "$OTHER" "$WORK/out"'
check "events --since (an offset, percent-encoded) and --limit" eval '
	ok_run events --since 2026-01-01T00:00:00+01:00 --limit 1 &&
	[ "$(wc -l <"$WORK/out")" -eq 2 ] && ok_run events --since 2999-01-01T00:00:00Z &&
	[ "$(wc -l <"$WORK/out")" -eq 1 ]'
check "events --json: the API's shape" eval 'ok_run --json events --mac "$MAC" &&
	json_is "j[\"events\"] and j[\"events\"][0][\"mac\"] == \"$MAC\""'

# 300 machines more: a list past a request body's 64 KiB and 4096 values.
ip netns exec "$CLI" curl -sS --max-time 60 \
	"http://$SRV_IP:$PORT/boot.ipxe?mac=52-54-01-00-0[0-2]-[00-99]&arch=x86_64" >/dev/null
check "machines: a list larger than a request body may be, whole" eval 'ok_run machines &&
	[ "$(grep -c "^52:54:01:00:0" "$WORK/out")" -eq 300 ] &&
	ok_run --json machines && [ "$(stat -c %s "$WORK/out")" -gt 65536 ]'

echo not-the-token >"$WORK/wrong"
RC=0
ip netns exec "$CLI" timeout 20 "$BSDPCTL" --server "http://$SRV_IP:$PORT" \
	--token-file "$WORK/wrong" machines 2>"$WORK/err" || RC=$?
check "a wrong token: 401, exit 4, naming the file" eval '[ "$RC" -eq 4 ] &&
	err_is "bsdpctl: 401: the server refused the API token from $WORK/wrong"'

check "group delete" ok_run group delete lab
check "machine delete" ok_run machine delete "$MAC"
ctl machine show "$MAC"
check "a deleted machine: 404, exit 1" eval '[ "$RC" -eq 1 ] && grep -q "^bsdpctl: 404" "$WORK/err"'
lab_stop "$BSDPD_PID"
check "bsdpd exited cleanly (no sanitizer report)" bash -c "! grep -q 'Sanitizer' '$LOG'"
lab_done
