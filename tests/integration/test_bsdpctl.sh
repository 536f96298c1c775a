#!/bin/bash
# bsdpctl against bsdpd's real API (policy-contract.md), end to end:
#   - the token: STATE/api-token, mode 0600, read by bsdpctl; a wrong one
#     is exit 4;
#   - CRUD round trips of profiles, machines, groups and the default, each
#     read back through bsdpctl;
#   - validation: a missing profile is a 422 naming the field (exit 1);
#   - next-boot set and cleared;
#   - the catalog;
#   - events: a /boot.ipxe fetch is recorded, read back by --mac, and seen
#     live by events --follow (the SSE stream).
BSDPD=${BSDPD:-build/san/bsdpd}
BSDPCTL=${BSDPCTL:-build/san/bsdpctl}
LAB_PREFIX=bct
LAB_NET=198.18.22
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

command -v curl >/dev/null 2>&1 || lab_skip "needs curl"
[ -x "$BSDPCTL" ] || { echo "FAIL: $BSDPCTL is not built"; exit 1; }
lab_up

PORT=8080
ROOT=$WORK/root
STATE=$WORK/state
LOG=$WORK/bsdpd.log
MAC=52:54:00:12:34:56
mkdir -p "$ROOT/debian" "$STATE"
make_bundle "$ROOT" iPXE 101
echo kernel >"$ROOT/debian/vmlinuz"
echo initrd >"$ROOT/debian/initrd.gz"
chmod 644 "$ROOT/debian/vmlinuz" "$ROOT/debian/initrd.gz"

lab_spawn "$SRV" "$LOG" "$BSDPD" --foreground --root "$ROOT" --state-dir "$STATE" \
	--interface "$SRV_IF" --no-tftp --http-port "$PORT"
BSDPD_PID=$LAST_PID
wait_for_line "$LOG" 10 "ready" || { cat "$LOG"; exit 1; }

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

check "profiles: none yet, a header only" eval 'ok_run profiles && [ "$(wc -l <"$WORK/out")" -eq 1 ]'
check "profile set install (linux)" ok_run profile set install --kind linux \
	--kernel debian/vmlinuz --initrd debian/initrd.gz --cmdline console=ttyS0 \
	--description "Debian 12"
check "profile set disk (local, exit)" ok_run profile set disk --kind local --local exit
check "profile show install: what was set" eval 'ok_run profile show install &&
	out_has "^kernel: +debian/vmlinuz$" && out_has "^initrds: +debian/initrd.gz$" &&
	out_has "^cmdline: +console=ttyS0$"'
check "profiles: both" eval 'ok_run profiles && out_has "^disk +local" && out_has "^install +linux +Debian 12$"'

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

check "group set lab" ok_run group set lab --mac-prefix 52:54:00 --label room=101 \
	--profile disk --priority 10
check "groups: lab" eval 'ok_run groups && out_has "^lab +10 +disk "'
check "default disk" ok_run default disk
check "default: disk" eval 'ok_run default && out_has "^profile: +disk$"'
check "catalog: the bundle" eval 'ok_run catalog && out_has " iPXE "'

ip netns exec "$CLI" timeout 20 "$BSDPCTL" --server "http://$SRV_IP:$PORT" \
	--token-file "$STATE/api-token" events --follow --mac "$MAC" >"$WORK/follow" 2>&1 &
FOLLOW_PID=$!
LAB_PIDS="$LAB_PIDS $FOLLOW_PID"
wait_for_line "$WORK/follow" 10 "^TIME" || cat "$WORK/follow"
ip netns exec "$CLI" curl -sS --max-time 10 -o "$WORK/script" \
	"http://$SRV_IP:$PORT/boot.ipxe?mac=52-54-00-12-34-56"
check "events --follow: the script served, live" wait_for_line "$WORK/follow" 10 " $MAC "
lab_stop "$FOLLOW_PID"
check "events --mac: the script event, read back" eval 'ok_run events --mac "$MAC" &&
	out_has " $MAC +script"'
check "events --json: the API's shape" eval 'ok_run --json events --mac "$MAC" &&
	python3 -c "import json,sys; e = json.load(open(sys.argv[1]))[\"events\"]; assert e and e[0][\"mac\"] == \"$MAC\"" "$WORK/out"'

echo not-the-token >"$WORK/wrong"
RC=0
ip netns exec "$CLI" timeout 20 "$BSDPCTL" --server "http://$SRV_IP:$PORT" \
	--token-file "$WORK/wrong" machines 2>"$WORK/err" || RC=$?
check "a wrong token: 401, exit 4" eval '[ "$RC" -eq 4 ] && grep -q "^bsdpctl: 401: " "$WORK/err"'

check "group delete" ok_run group delete lab
check "machine delete" ok_run machine delete "$MAC"
ctl machine show "$MAC"
check "a deleted machine: 404, exit 1" eval '[ "$RC" -eq 1 ] && grep -q "^bsdpctl: 404" "$WORK/err"'
lab_stop "$BSDPD_PID"
check "bsdpd exited cleanly (no sanitizer report)" bash -c "! grep -q 'Sanitizer' '$LOG'"
lab_done
