#!/bin/bash
# bsdpctl against a stand-in of the API (fake_api.py, the contract's
# shapes), so that the client is tested whatever the daemon's state:
#   - --help, usage errors (exit 2) before any request or token read;
#   - the token from --token-file, $BSDPCTL_TOKEN, refused (exit 4);
#   - tables, with hostile server strings escaped, and --json as sent;
#   - the request bodies each command sends, read back from the server;
#   - the API's errors printed as "bsdpctl: 422: ... (field ...)" (exit 1),
#     an unreachable server (exit 3);
#   - events --follow over the SSE stream: no repeat of a past event,
#     --mac filtering.
BSDPCTL=${BSDPCTL:-build/san/bsdpctl}
LAB_PREFIX=bcc
LAB_NET=198.18.21
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

command -v python3 >/dev/null 2>&1 || lab_skip "needs python3"
[ -x "$BSDPCTL" ] || { echo "FAIL: $BSDPCTL is not built"; exit 1; }
lab_up

HERE=$(cd "$(dirname "$0")" && pwd)
PORT=8080
TOKEN=AbC-123_xyz
MAC=52:54:00:12:34:56
LOG=$WORK/requests
echo "$TOKEN" >"$WORK/token"
lab_spawn "$SRV" "$WORK/fake.out" python3 -u "$HERE/fake_api.py" "$SRV_IP" "$PORT" "$TOKEN" "$LOG"
for _ in $(seq 50); do
	ip netns exec "$SRV" ss -Hltn "sport = :$PORT" | grep -q . && break
	sleep 0.1
done

# ctl ARGS...: bsdpctl in the client namespace, output in $WORK/out and
# $WORK/err, exit status in $RC.
ctl() {
	RC=0
	ip netns exec "$CLI" timeout 20 "$BSDPCTL" --server "http://$SRV_IP:$PORT" \
		--token-file "$WORK/token" "$@" >"$WORK/out" 2>"$WORK/err" || RC=$?
}
out_has() { grep -qF -- "$1" "$WORK/out" || { cat "$WORK/out"; return 1; }; }
err_is() { [ "$(cat "$WORK/err")" = "$1" ] || { cat "$WORK/err"; return 1; }; }
requests() { [ -f "$LOG" ] && wc -l <"$LOG" || echo 0; }
# last_body: the JSON body of the last request, compact and key-sorted.
last_body() {
	tail -n 1 "$LOG" | python3 -c 'import json,sys
l = sys.stdin.read().split(" ", 2)
print(l[0], l[1], json.dumps(json.loads(json.loads(l[2]) or "null"), sort_keys=True))'
}

check "--help prints the manual and exits 0" eval '"$BSDPCTL" --help | grep -q "^EXIT STATUS"'
n0=$(requests)
for bad in "" "frob" "machine" "machine show" "machine show 52:54:00:12:34" \
	"machine show 52:54:00-12:34:56" "profile show a/b" "profile set p" \
	"profile set p --kind linux --timeout 9999" "next-boot $MAC" "next-boot $MAC p --clear" \
	"group set g" "machine set $MAC --kernel x" "machine set $MAC --label nokey" \
	"events --mac zz" "--bogus machines" "machines extra"; do
	# shellcheck disable=SC2086
	ctl $bad
	check "usage error (exit 2): bsdpctl $bad" [ "$RC" -eq 2 ]
done
check "usage errors send nothing" [ "$(requests)" -eq "$n0" ]
ctl machine show nothex
check "a bad MAC is named" err_is "bsdpctl: 'nothex' is not a MAC address (aa:bb:cc:dd:ee:ff) (try bsdpctl --help)"
ctl --timeout 5 machines
check "an option of another command is refused" \
	err_is "bsdpctl: --timeout does not apply to 'machines' (try bsdpctl --help)"

ctl machines
check "machines: a table, exit 0" eval '[ "$RC" -eq 0 ] && out_has "MAC                HOSTNAME"'
check "machines: a server's escape sequence and newline are escaped" \
	eval 'out_has "lab-101\x1b[2J" && out_has "MacPro6,1\x0aFAKE" && ! grep -q $'"'"'\x1b'"'"' "$WORK/out"'
check "machines: one line per machine" [ "$(wc -l <"$WORK/out")" -eq 2 ]
ctl machine show 52-54-00-12-34-56
check "machine show: hyphens accepted, the path in lower case with colons" \
	eval 'out_has "labels:     room=101" && tail -n 1 "$LOG" | grep -q "^GET /api/v1/machines/$MAC "'
ctl --json machine show "$MAC"
check "--json prints the server's JSON" \
	eval 'python3 -c "import json,sys; assert json.load(open(sys.argv[1]))[\"arch\"] == \"x86_64\"" "$WORK/out"'
ctl catalog
check "catalog: images and problems" eval 'out_has "iPXE" && out_has "Broken.nbi  no booter"'

ctl machine set "$MAC" --profile local --hostname lab-101 --label room=101 --label row=2 --local exit
check "machine set: PUT with the given fields" [ "$(last_body)" = \
	"PUT /api/v1/machines/$MAC {\"hostname\": \"lab-101\", \"labels\": {\"room\": \"101\", \"row\": \"2\"}, \"local\": \"exit\", \"profile\": \"local\"}" ]
ctl next-boot "$MAC" install
check "next-boot: PUT .../next-boot" [ "$(last_body)" = \
	"PUT /api/v1/machines/$MAC/next-boot {\"profile\": \"install\"}" ]
ctl next-boot "$MAC" --clear
check "next-boot --clear: DELETE .../next-boot, exit 0" \
	eval '[ "$RC" -eq 0 ] && [ "$(last_body)" = "DELETE /api/v1/machines/$MAC/next-boot null" ]'
ctl profile set install --kind linux --kernel vmlinuz --initrd a.img --initrd b.img \
	--cmdline 'console=ttyS0 "q"' --description 'Debian 12'
check "profile set linux: initrds in order, quotes escaped" [ "$(last_body)" = \
	"PUT /api/v1/profiles/install {\"cmdline\": \"console=ttyS0 \\\"q\\\"\", \"description\": \"Debian 12\", \"initrds\": [\"a.img\", \"b.img\"], \"kernel\": \"vmlinuz\", \"kind\": \"linux\"}" ]
ctl profile set m --kind menu --item a --item b --default a --timeout 5
check "profile set menu: items, default, a numeric timeout" [ "$(last_body)" = \
	"PUT /api/v1/profiles/m {\"default\": \"a\", \"items\": [\"a\", \"b\"], \"kind\": \"menu\", \"timeout\": 5}" ]
printf '#!ipxe\necho {{hostname}}\n' >"$WORK/t.ipxe"
ctl profile set s --kind script --template-file "$WORK/t.ipxe"
check "profile set script: the template file's text" [ "$(last_body)" = \
	"PUT /api/v1/profiles/s {\"kind\": \"script\", \"template\": \"#!ipxe\\necho {{hostname}}\\n\"}" ]
printf 'echo \377\n' >"$WORK/bad.ipxe"
ctl profile set s --kind script --template-file "$WORK/bad.ipxe"
check "a template that is not UTF-8 is refused, naming the byte" \
	eval '[ "$RC" -eq 2 ] && err_is "bsdpctl: $WORK/bad.ipxe: not UTF-8 text (byte 5)"'
echo '{"kind":"shell"}' >"$WORK/p.json"
ctl profile put sh "$WORK/p.json"
check "profile put: the file as the body" [ "$(last_body)" = "PUT /api/v1/profiles/sh {\"kind\": \"shell\"}" ]
ctl group set lab --mac-prefix 52:54:00 --model 'MacPro*' --label room=101 --profile local --priority 10
check "group set: the selector object" [ "$(last_body)" = \
	"PUT /api/v1/groups/lab {\"priority\": 10, \"profile\": \"local\", \"selector\": {\"labels\": {\"room\": \"101\"}, \"mac_prefix\": \"52:54:00\", \"model\": \"MacPro*\"}}" ]
ctl default local
check "default PROFILE: PUT /api/v1/default" [ "$(last_body)" = "PUT /api/v1/default {\"profile\": \"local\"}" ]
ctl default
check "default: shows it" out_has "profile: local"
ctl profile delete sh
check "profile delete: DELETE, exit 0" eval '[ "$RC" -eq 0 ] && [ "$(last_body)" = "DELETE /api/v1/profiles/sh null" ]'

ctl machine set "$MAC" --profile missing
check "a 422 is printed with its field, exit 1" eval '[ "$RC" -eq 1 ] &&
	err_is "bsdpctl: 422: profile \"missing\" does not exist (field profile)"'
ctl profile show nosuch
check "a 404 is exit 1" eval '[ "$RC" -eq 1 ] && err_is "bsdpctl: 404: no such thing"'
echo wrong-token >"$WORK/token"
ctl machines
check "a refused token is exit 4, naming the file" eval '[ "$RC" -eq 4 ] &&
	err_is "bsdpctl: 401: the server refused the API token from $WORK/token"'
RC=0
ip netns exec "$CLI" env BSDPCTL_TOKEN="$TOKEN" BSDPCTL_SERVER="http://$SRV_IP:$PORT" \
	"$BSDPCTL" groups >"$WORK/out" 2>"$WORK/err" || RC=$?
check "BSDPCTL_TOKEN and BSDPCTL_SERVER" eval '[ "$RC" -eq 0 ] && out_has "mac_prefix=52:54:00"'
echo 'two words' >"$WORK/token"
ctl machines
check "a token file with something else is exit 4" eval '[ "$RC" -eq 4 ] &&
	err_is "bsdpctl: $WORK/token does not hold an API token (one line of A-Z a-z 0-9 - _)"'
ctl --token-file "$WORK/none" machines
check "an unreadable token file is exit 4" [ "$RC" -eq 4 ]
echo "$TOKEN" >"$WORK/token"
RC=0
ip netns exec "$CLI" timeout 20 "$BSDPCTL" --server "http://$SRV_IP:1" \
	--token-file "$WORK/token" machines 2>"$WORK/err" || RC=$?
check "an unreachable server is exit 3" eval '[ "$RC" -eq 3 ] && grep -q "cannot reach bsdpd" "$WORK/err"'

ctl events --mac "$MAC" --since 2026-12-01T22:00:00+01:00 --limit 10
check "events: the query, the time percent-encoded" \
	eval 'tail -n 1 "$LOG" | grep -qF "GET /api/v1/events?mac=$MAC&since=2026-12-01T22%3A00%3A00%2B01%3A00&limit=10 "'
ctl events --follow --mac "$MAC"
check "events --follow: the past event once, then the stream's new one for this MAC" eval '
	[ "$(grep -c " tftp " "$WORK/out")" -eq 1 ] && [ "$(grep -c " script " "$WORK/out")" -eq 1 ] &&
	! grep -q " file " "$WORK/out"'
check "events --follow: the end of the stream is exit 3" [ "$RC" -eq 3 ]
ctl --json events --follow
check "--json events --follow: one JSON line per new event" \
	eval '[ "$(tail -n 2 "$WORK/out" | python3 -c "import json,sys; print(\" \".join(json.loads(l)[\"kind\"] for l in sys.stdin))")" = "script file" ]'
lab_done
