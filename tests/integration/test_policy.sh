#!/bin/bash
# Boot policy end to end, with curl against bsdpd in a namespace:
#   - the API token: created 0600 at first start, required on every /api/
#     request (401 without it or with a wrong one), never in a response;
#   - CRUD round trips for profiles, machines, groups and the default;
#     400 naming the field, 422 for a missing profile, 409 for a profile
#     in use and for a tying group, 413 for a body over 64 KiB;
#   - /boot.ipxe from policy: next boot > machine > group > default, the
#     rule in the script's comment, values from the wire inert;
#   - next boot consumed only when the last file has gone out whole: a
#     download that breaks off keeps it, two racing downloads consume it
#     once;
#   - events per machine, since a time, and live on the SSE stream;
#   - /metrics accepted by promtool; the policy survives a restart.
BSDPD=${BSDPD:-build/san/bsdpd}
LAB_PREFIX=bpo
LAB_NET=198.18.14
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

for c in curl python3; do
	command -v "$c" >/dev/null 2>&1 || lab_skip "needs $c"
done
lab_up

PORT=8080
ROOT=$WORK/root
STATE=$WORK/state
OUT=$WORK/out
BASE="http://$SRV_IP:$PORT"
MAC=52:54:00:12:34:56
MACH=52-54-00-12-34-56
mkdir -p "$ROOT/linux" "$STATE" "$OUT"
chmod 700 "$STATE"
head -c 3000000 /dev/urandom >"$ROOT/linux/vmlinuz"
# Larger than the socket buffers on both ends: a client that stops
# reading leaves most of it unsent.
head -c 48000000 /dev/urandom >"$ROOT/linux/initrd.img"
chmod 644 "$ROOT/linux/vmlinuz" "$ROOT/linux/initrd.img"

start_bsdpd() { # LOG
	lab_spawn "$SRV" "$1" "$BSDPD" --foreground --root "$ROOT" --state-dir "$STATE" \
		--interface "$SRV_IF" --no-tftp --http-port "$PORT" --proxy-dhcp off
	BSDPD_PID=$LAST_PID
	wait_for_line "$1" 10 "ready" || { cat "$1"; exit 1; }
}
start_bsdpd "$WORK/bsdpd.log"

# ---- the token -------------------------------------------------------------------
check "api-token is created at first start, mode 0600" \
	test "$(stat -c %a "$STATE/api-token" 2>/dev/null)" = 600
TOKEN=$(cat "$STATE/api-token")
check "it is 43 base64url characters" bash -c "[[ '$TOKEN' =~ ^[A-Za-z0-9_-]{43}\$ ]]"

c() { ip netns exec "$CLI" curl -sS --max-time 20 "$@"; }
# api METHOD PATH [BODY]: prints the body, then the status on its own line.
api() {
	local args=(-X "$1" -H "Authorization: Bearer $TOKEN" -w '\n%{http_code}')
	[ $# -ge 3 ] && args+=(-H 'Content-Type: application/json' --data-binary "$3")
	c "${args[@]}" "$BASE$2" | tee -a "$OUT/all-responses"
}
code() { api "$@" | tail -n 1; }
body() { api "$@" | sed '$d'; }
# json EXPR: evaluates a Python expression over the JSON on stdin, as j.
json() { python3 -c "import json,sys; j=json.load(sys.stdin); print($1)"; }

check "no Authorization: 401" \
	test "$(c -o /dev/null -w '%{http_code}' "$BASE/api/v1/profiles")" = 401
check "a wrong token: 401" test "$(c -o /dev/null -w '%{http_code}' \
	-H "Authorization: Bearer x$TOKEN" "$BASE/api/v1/profiles")" = 401
check "with WWW-Authenticate: Bearer" bash -c "ip netns exec '$CLI' curl -sS -D - -o /dev/null \
	'$BASE/api/v1/profiles' | grep -qi '^WWW-Authenticate: Bearer'"
check "/boot.ipxe needs no token" \
	test "$(c -o /dev/null -w '%{http_code}' "$BASE/boot.ipxe")" = 200

# ---- records ---------------------------------------------------------------------------
LINUX='{"kind":"linux","kernel":"linux/vmlinuz","initrds":["linux/initrd.img"],"cmdline":"console=ttyS0"}'
check "PUT a linux profile: 201" test "$(code PUT /api/v1/profiles/install "$LINUX")" = 201
check "PUT it again: 200" test "$(code PUT /api/v1/profiles/install "$LINUX")" = 200
check "GET gives it back" bash -c "[ \"\$(echo '$(body GET /api/v1/profiles/install)' |
	python3 -c 'import json,sys; j=json.load(sys.stdin); print(j[\"kernel\"], j[\"initrds\"][0])')\" = 'linux/vmlinuz linux/initrd.img' ]"
check "a local profile" test "$(code PUT /api/v1/profiles/disk '{"kind":"local"}')" = 201
check "a menu of both" test "$(code PUT /api/v1/profiles/menu \
	'{"kind":"menu","items":["install","disk"],"default":"disk","timeout":5}')" = 201
check "a script" test "$(code PUT /api/v1/profiles/hello \
	'{"kind":"script","template":"#!ipxe\necho hello {{hostname}} {{mac}}\nexit 1\n"}')" = 201
check "profiles lists four" test "$(body GET /api/v1/profiles | json 'len(j["profiles"])')" = 4

r=$(api PUT /api/v1/profiles/bad '{"kind":"linux","kernel":"../etc/passwd"}')
check "a path out of the root: 400 naming kernel" bash -c "[ '$(echo "$r" | tail -n 1)' = 400 ] &&
	echo '$(echo "$r" | sed '$d')' | grep -q '\"field\": *\"kernel\"'"
check "an unknown kind: 400" test "$(code PUT /api/v1/profiles/bad '{"kind":"floppy"}')" = 400
check "an unknown field: 400" \
	test "$(code PUT /api/v1/profiles/bad '{"kind":"local","colour":"red"}')" = 400
check "not JSON: 400" test "$(code PUT /api/v1/profiles/bad '{"kind":')" = 400
check "a template with an unknown placeholder: 400" test "$(code PUT /api/v1/profiles/bad \
	'{"kind":"script","template":"#!ipxe\necho {{nope}}\n"}')" = 400
check "a hostname with a newline: 400" \
	test "$(code PUT "/api/v1/machines/$MAC" '{"hostname":"a\nchain http://evil/"}')" = 400
check "a machine naming a missing profile: 422" \
	test "$(code PUT "/api/v1/machines/$MAC" '{"profile":"nope"}')" = 422
python3 -c "print('{\"kind\":\"local\",\"description\":\"' + 'x' * 70000 + '\"}')" >"$OUT/big.json"
check "a body over 64 KiB: 413" test "$(c -o /dev/null -w '%{http_code}' -X PUT \
	-H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
	--data-binary @"$OUT/big.json" "$BASE/api/v1/profiles/big")" = 413

check "PUT a machine by its hyphenated MAC: 201" test "$(code PUT "/api/v1/machines/$MACH" \
	'{"profile":"disk","hostname":"lab-101","labels":{"room":"101"}}')" = 201
check "GET it by colons: the same machine" \
	test "$(body GET "/api/v1/machines/$MAC" | json 'j["hostname"] + " " + j["labels"]["room"]')" = "lab-101 101"
check "deleting a profile in use: 409" test "$(code DELETE /api/v1/profiles/disk)" = 409
check "a group" test "$(code PUT /api/v1/groups/qemu \
	'{"selector":{"mac_prefix":"52:54:00"},"profile":"hello","priority":10}')" = 201
check "a second group as specific, same priority, overlapping: 409" \
	test "$(code PUT /api/v1/groups/qemu2 \
	'{"selector":{"mac_prefix":"52:54:00"},"profile":"disk","priority":10}')" = 409
check "at another priority it is saved" test "$(code PUT /api/v1/groups/qemu2 \
	'{"selector":{"mac_prefix":"52:54:00"},"profile":"disk","priority":5}')" = 201
check "the default" test "$(code PUT /api/v1/default '{"profile":"menu"}')" = 200

# ---- /boot.ipxe ---------------------------------------------------------------------------
script() { c "$BASE/boot.ipxe?mac=$1&uuid=&arch=x86_64&platform=${2:-efi}"; }
script "$MACH" >"$OUT/s1"
check "the machine's profile: local, exit 1 on EFI" grep -qx 'exit 1' "$OUT/s1"
check "with the rule in a comment" grep -q '^# bsdpd: profile disk (rule machine' "$OUT/s1"
script 52-54-00-aa-bb-cc >"$OUT/s2"
check "another QEMU MAC: the group's script" grep -q '^# bsdpd: profile hello (rule group' "$OUT/s2"
check "rendered for it" grep -q 'echo hello .* 52:54:00:aa:bb:cc' "$OUT/s2"
script 02-00-00-00-00-01 >"$OUT/s3"
check "any other MAC: the default menu" grep -q '^# bsdpd: profile menu (rule default' "$OUT/s3"
c "$BASE/boot.ipxe?mac=$MACH&arch=%0Areboot" >"$OUT/hostile"
check "a hostile query value is not echoed" bash -c "! grep -q '^reboot' '$OUT/hostile'"

check "next boot: install" test "$(code PUT "/api/v1/machines/$MAC/next-boot" '{"profile":"install"}')" = 200
script "$MACH" >"$OUT/s4"
check "now the script is the next boot's" grep -q '^# bsdpd: profile install (rule next-boot' "$OUT/s4"
kernel_url=$(sed -n 's/^kernel \([^ ]*\).*/\1/p' "$OUT/s4" | sed 's/\${mac:hexhyp}/'"$MACH"'/')
initrd_url=$(sed -n 's/^initrd \(--name [^ ]* \)\{0,1\}\([^ ]*\).*/\2/p' "$OUT/s4" | sed 's/\${mac:hexhyp}/'"$MACH"'/')
check "the kernel by its URL on bsdpd" bash -c "[[ '$kernel_url' == '$BASE/linux/vmlinuz?mac=$MACH' ]]"
check "the initrd too" bash -c "[[ '$initrd_url' == '$BASE/linux/initrd.img?mac=$MACH' ]]"
c -o /dev/null "$kernel_url"
# A download that breaks off: the client reads 1 MB of the 48 MB and
# hangs up.  Its receive buffer is kept small, so that the kernel cannot
# take the rest in on its behalf: curl --limit-rate once let a tuned-up
# 32 MiB buffer (tcp_rmem) and 700 ms absorb all of it, and bsdpd rightly
# saw the file sent in full.
broken_off_get() { # URL
	ip netns exec "$CLI" python3 -c '
import socket, sys, urllib.parse
u = urllib.parse.urlsplit(sys.argv[1])
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
s.settimeout(10)
s.connect((u.hostname, u.port or 80))
s.sendall(("GET %s?%s HTTP/1.1\r\nHost: %s\r\n\r\n" % (u.path, u.query, u.netloc)).encode())
got = 0
while got < 1000000:
    b = s.recv(65536)
    if not b:
        sys.exit("closed after %d bytes" % got)
    got += len(b)
s.close()' "$1"
}
broken_off_get "$initrd_url"
sleep 0.5
check "an initrd download broken off: the next boot stays" \
	test "$(body GET "/api/v1/machines/$MAC" | json 'j["next_boot"]')" = install
# Two at once: both complete, the next boot goes exactly once.
c -o /dev/null "$initrd_url" & p1=$!
c -o /dev/null "$initrd_url" & p2=$!
wait $p1 $p2
sleep 0.3
check "the initrd in full: the next boot is spent" \
	test "$(body GET "/api/v1/machines/$MAC" | json 'j["next_boot"] or "none"')" = none
check "consumed exactly once" test "$(body GET "/api/v1/events?mac=$MAC" |
	json 'sum(1 for e in j["events"] if e["kind"] == "next-boot-consumed")')" = 1
script "$MACH" >"$OUT/s5"
check "the next script is the machine's own again" grep -q '^# bsdpd: profile disk (rule machine' "$OUT/s5"

# ---- events ------------------------------------------------------------------------------
ev=$(body GET "/api/v1/events?mac=$MACH")
check "events of the machine: scripts and files" bash -c "echo '$ev' | python3 -c '
import json,sys; k=[e[\"kind\"] for e in json.load(sys.stdin)[\"events\"]]
assert \"script\" in k and \"http-file\" in k, k'"
check "a broken-off file is an event that says so" bash -c "echo '$ev' | python3 -c '
import json,sys; assert any(e[\"kind\"] == \"http-file\" and not e[\"ok\"] for e in json.load(sys.stdin)[\"events\"])'"
check "since the future: none" test "$(body GET "/api/v1/events?mac=$MAC&since=2999-01-01T00:00:00Z" |
	json 'len(j["events"])')" = 0
check "a bad since: 400" test "$(code GET "/api/v1/events?since=yesterday")" = 400

ip netns exec "$CLI" curl -sS -N --max-time 4 -H "Authorization: Bearer $TOKEN" \
	"$BASE/api/v1/events/stream" >"$OUT/sse" 2>/dev/null &
SSE_PID=$!
sleep 1
script 52-54-00-aa-bb-cc >/dev/null
wait $SSE_PID 2>/dev/null || true
check "the stream sends the script event as it happens" grep -q '^event: script' "$OUT/sse"
check "with its JSON" grep -q '^data: {.*"mac": *"52:54:00:aa:bb:cc"' "$OUT/sse"
check "the stream needs the token" test "$(c -o /dev/null -w '%{http_code}' \
	"$BASE/api/v1/events/stream")" = 401

# ---- metrics, the token, a restart ------------------------------------------------------------
c "$BASE/metrics" >"$OUT/metrics"
if command -v promtool >/dev/null 2>&1; then
	check "/metrics passes promtool check metrics" bash -c "promtool check metrics <'$OUT/metrics'"
fi
check "it counts the machines" grep -q '^bsdpd_machines ' "$OUT/metrics"
check "no response carried the token" bash -c "! grep -qF '$TOKEN' '$OUT/all-responses' '$OUT/metrics'"

lab_stop "$BSDPD_PID"
start_bsdpd "$WORK/bsdpd2.log"
check "after a restart the token is the same" test "$(cat "$STATE/api-token")" = "$TOKEN"
check "and the machine keeps its policy" \
	test "$(body GET "/api/v1/machines/$MAC" | json 'j["profile"]')" = disk
check "DELETE the default: 204" test "$(code DELETE /api/v1/default)" = 204
script 02-00-00-00-00-01 >"$OUT/s7"
check "then a machine no rule names gets the template again" grep -q "built-in script" "$OUT/s7"
check "DELETE a group: 204" test "$(code DELETE /api/v1/groups/qemu)" = 204
check "DELETE a missing one: 404" test "$(code DELETE /api/v1/groups/qemu)" = 404

# A profile whose file has gone: the console says so, --check reports it.
# A render keeps what it found on disk for up to a second (boot_policy.c).
mv "$ROOT/linux/vmlinuz" "$ROOT/linux/vmlinuz.moved"
sleep 1.1
code PUT "/api/v1/machines/$MAC/next-boot" '{"profile":"install"}' >/dev/null
script "$MACH" >"$OUT/s6"
check "a profile naming a missing file: the script says so on the console" \
	grep -q '^echo .*linux/vmlinuz is missing under the HTTP root' "$OUT/s6"
check "and falls back to the menu" grep -q '^menu ' "$OUT/s6"
lab_stop "$BSDPD_PID"
check_rc=0
"$BSDPD" --check --root "$ROOT" --state-dir "$STATE" >"$OUT/check" 2>&1 || check_rc=$?
check "bsdpd --check: exit 1" test "$check_rc" = 1
check "naming the profile and the file" \
	grep -q '^error: profile install: linux/vmlinuz is missing under the HTTP root' "$OUT/check"
check "no sanitizer reports" bash -c "! grep -q 'runtime error\|AddressSanitizer' '$WORK'/bsdpd*.log"
lab_done
