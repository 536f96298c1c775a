#!/bin/bash
# Several servers on one PostgreSQL database (issue 12; docs/scaling.md
# "Several servers"): two bsdpd in namespaces of their own, A and B, and
# a client namespace linked to both; a throwaway PostgreSQL cluster
# (tests/pg.sh) runs in A's namespace, A reaches it over TCP (so
# confinement's Landlock rule for its port is exercised) and B over its
# UNIX socket.  Both run as nobody, confined.
#   - a default and a group set through one server's API are what the
#     other serves next (/boot.ipxe), without a restart;
#   - one next boot asked of both servers at once, 100 times: exactly one
#     of each round's two scripts is the next boot's, and 100
#     next-boot-consumed events are recorded;
#   - bsdpd --check reads the shared database;
#   - a SELECT (bsdpc) on A is a binding both APIs show, and its event too;
#     B's script events are in A's API;
#   - the database stopped and started again: both servers log it, keep
#     answering /boot.ipxe (machines they read before with their own
#     profile, from their last copy; a next boot waits), connect again, and every write an API acknowledged (2xx)
#     meanwhile is there afterwards; a machine that booted meanwhile is
#     registered afterwards (the recorder held its sighting), and /metrics
#     said the database was away.
BSDPD=${BSDPD:-build/san/bsdpd}
BSDPC=${BSDPC:-build/san/bsdpc}
LAB_PREFIX=bpg
LAB_NET=198.18.52
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=../pg.sh
. "$(dirname "$0")/../pg.sh"

for c in curl python3 runuser; do
	command -v "$c" >/dev/null 2>&1 || lab_skip "needs $c"
done
why=$(pg_missing)
[ -z "$why" ] || lab_skip "$why"
lab_up
# Server B, on a second link to the client.
SRV2="$LAB_ID-srv2"
SRV2_IF="${LAB_ID}t"
CLI2_IF="${LAB_ID}d"
SRV2_IP=198.18.53.1
CLI2_IP=198.18.53.2
ip netns add "$SRV2"
trap 'pg_stop; lab_cleanup; ip netns del "$SRV2" 2>/dev/null || true' EXIT
ip link add "$SRV2_IF" netns "$SRV2" type veth peer name "$CLI2_IF" netns "$CLI"
ip -n "$SRV2" addr add "$SRV2_IP/24" brd + dev "$SRV2_IF"
ip -n "$CLI" addr add "$CLI2_IP/24" brd + dev "$CLI2_IF"
ip -n "$SRV2" link set lo up
ip -n "$SRV2" link set "$SRV2_IF" up
ip -n "$CLI" link set "$CLI2_IF" up

chmod 755 "$WORK"
PG_NS=$SRV
pg_start "$WORK" 127.0.0.1 5432
URL_A=$PG_TCP_URL
URL_B=$PG_URL

PORT=8080
ROOT=$WORK/root
OUT=$WORK/out
MAC=52:54:00:12:34:56
mkdir -p "$ROOT" "$OUT" "$WORK/state-a" "$WORK/state-b"
chmod 700 "$WORK/state-a" "$WORK/state-b"
make_bundle "$ROOT" iPXE 101 "<key>IsDefault</key><true/>"
make_bundle "$ROOT" Campus 4242 # a global index: the same image on every server
chmod -R a+rX "$ROOT"

start_server() { # NS IF URL STATE LOG
	lab_spawn "$1" "$5" "$BSDPD" --foreground --root "$ROOT" --state-dir "$4" \
		--interface "$2" --database "$3" --user nobody --http-port "$PORT" \
		--proxy-dhcp off --no-tftp
	wait_for_line "$5" 20 "ready" || { cat "$5"; exit 1; }
}
start_server "$SRV" "$SRV_IF" "$URL_A" "$WORK/state-a" "$WORK/a.log"
start_server "$SRV2" "$SRV2_IF" "$URL_B" "$WORK/state-b" "$WORK/b.log"
check "A is confined, TCP connect allowed to the database's port only" \
	grep -q "confined: landlock ABI" "$WORK/a.log"
check "B is confined" grep -q "confined: landlock ABI" "$WORK/b.log"

TOKEN_A=$(cat "$WORK/state-a/api-token")
TOKEN_B=$(cat "$WORK/state-b/api-token")
c() { ip netns exec "$CLI" curl -sS --max-time 20 "$@"; }
# api A|B METHOD PATH [BODY]: the body, then the status on its own line.
api() {
	local base=http://$SRV_IP:$PORT token=$TOKEN_A
	[ "$1" = A ] || { base=http://$SRV2_IP:$PORT; token=$TOKEN_B; }
	local args=(-X "$2" -H "Authorization: Bearer $token" -w '\n%{http_code}')
	[ $# -ge 4 ] && args+=(-H 'Content-Type: application/json' --data-binary "$4")
	c "${args[@]}" "$base$3" 2>/dev/null || echo 000
}
code() { api "$@" | tail -n 1; }
body() { api "$@" | sed '$d'; }
json() { python3 -c "import json,sys; j=json.load(sys.stdin); print($1)"; }
script() { # A|B: the first line of bsdpd's comment in the machine's script
	local ip=$SRV_IP
	[ "$1" = A ] || ip=$SRV2_IP
	c "http://$ip:$PORT/boot.ipxe?mac=$MAC&arch=x86_64&platform=efi" 2>/dev/null |
		grep -m 1 '^# bsdpd: profile' || echo "# none"
}

# ---- policy set on one is served by the other -----------------------------------------
check "a profile through A" test "$(code A PUT /api/v1/profiles/disk '{"kind":"local"}')" = 201
check "another through B" test "$(code B PUT /api/v1/profiles/once \
	'{"kind":"script","template":"#!ipxe\necho once\nexit 1\n"}')" = 201
check "the default through A" test "$(code A PUT /api/v1/default '{"profile":"disk"}')" = 200
serves() { script "$1" | grep -q "$2"; } # A|B PATTERN
check "B serves A's default next" serves B 'profile disk (rule default' 
check "a group through B" test "$(code B PUT /api/v1/groups/qemu \
	'{"selector":{"mac_prefix":"52:54:00"},"profile":"once","priority":1}')" = 201
check "A serves B's group next" serves A 'profile once (rule group'
check "the group deleted through A" test "$(code A DELETE /api/v1/groups/qemu)" = 204
check "B is back to the default" serves B 'profile disk (rule default' 

# ---- one next boot, two servers, 100 times -------------------------------------------------
rounds=100 set_failed=0 both=0 neither=0
for i in $(seq 1 $rounds); do
	[ "$(code A PUT "/api/v1/machines/$MAC/next-boot" '{"profile":"once"}')" = 200 ] ||
		set_failed=$((set_failed + 1))
	script A >"$OUT/race-a" &
	pa=$!
	script B >"$OUT/race-b" &
	pb=$!
	wait "$pa" "$pb" || true
	n=$(cat "$OUT/race-a" "$OUT/race-b" | grep -c 'rule next-boot' || true)
	[ "$n" -le 1 ] || both=$((both + 1))
	[ "$n" -ge 1 ] || neither=$((neither + 1))
done
check "every next boot was set" test "$set_failed" = 0
check "no round served the next boot twice" test "$both" = 0
check "every round served it once" test "$neither" = 0
consumed() { # A|B
	body "$1" GET "/api/v1/events?mac=$MAC&limit=1000" |
		json 'sum(1 for e in j["events"] if e["kind"] == "next-boot-consumed")'
}
consumed_is() { [ "$(consumed "$1")" = "$2" ]; } # A|B N
# Each server records its own events; the other's show a moment later.
check "100 next-boot-consumed events, through A" eventually 10 consumed_is A $rounds
check "the same 100 through B" eventually 10 consumed_is B $rounds
check "both servers spent some" bash -c "
	grep -q 'next boot once done' '$WORK/a.log' && grep -q 'next boot once done' '$WORK/b.log'"

check "bsdpd --check reads the shared database" bash -c "'$BSDPD' --check --root '$ROOT' \
	--state-dir '$WORK/state-b' --database '$URL_B' --no-http | grep -q '^policy: 1 machine\$'"

# ---- bindings and events on either, visible on both -----------------------------------------
ip netns exec "$CLI" "$BSDPC" select --server "$SRV_IP" --image 0x01000065 \
	--interface "$CLI_IF" --timeout 2 --json >"$OUT/select.json" 2>&1 || true
CLI_MAC=$(ip -n "$CLI" -o link show "$CLI_IF" | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p')
selected() { # A|B
	body "$1" GET /api/v1/catalog |
		json "any(s['mac'] == '$CLI_MAC' for s in j['selections'])"
}
check "A's SELECT is in A's catalog" test "$(selected A)" = True
check "and in B's" test "$(selected B)" = True
select_event_in() { # A|B
	[ "$(body "$1" GET "/api/v1/events?mac=$CLI_MAC" |
		json 'any(e["kind"] == "bsdp-select" for e in j["events"])')" = True ]
}
check "its bsdp-select event is in B's API" eventually 10 select_event_in B
# The same Mac's SELECT naming A, broadcast where B hears it too (one
# segment, two servers): Apple drops its own binding then; B must not
# drop the campus's, which A made.
ip -n "$CLI" link set "$CLI2_IF" address "$CLI_MAC"
ip netns exec "$CLI" "$BSDPC" select --server "$SRV_IP" --image 0x01000065 \
	--interface "$CLI2_IF" --timeout 1 >/dev/null 2>&1 || true
check "B heard it" bash -c "ip netns exec '$CLI' curl -sS --max-time 20 \
	'http://$SRV2_IP:$PORT/metrics' | grep -q '^bsdpd_bsdp_requests_total{kind=\"select\"} [1-9]'"
check "A's binding is still in A's catalog" test "$(selected A)" = True
check "and in B's" test "$(selected B)" = True
selected_in_list() { # IFACE: the selected image a LIST there says
	ip netns exec "$CLI" "$BSDPC" list --interface "$1" --timeout 1 --json 2>/dev/null |
		json 'j["servers"][0].get("selected")'
}
check "A's LIST names the Mac's image as selected" test "$(selected_in_list "$CLI_IF")" = 0x01000065
check "B's does not: index 101 is A's own, maybe another image on B" \
	test "$(selected_in_list "$CLI2_IF")" = None
ip netns exec "$CLI" "$BSDPC" select --server "$SRV_IP" --image 0x01001092 \
	--interface "$CLI_IF" --timeout 2 >/dev/null 2>&1 || true
check "the Mac selects the global image 4242 on A; B's LIST names it too" \
	test "$(selected_in_list "$CLI2_IF")" = 0x01001092
# The bound Mac's DISCOVER, heard by B: its OFFER is A's to send.
ip netns exec "$CLI" busybox udhcpc -i "$CLI2_IF" -n -q -t 2 -T 1 -s /bin/true \
	-V AAPLBSDPC/i386/MacBookPro11,3 -x 0x2b:02020101 >/dev/null 2>&1 || true
offers_of() { # IP: the BSDP OFFERs that server sent
	ip netns exec "$CLI" curl -sS --max-time 20 "http://$1:$PORT/metrics" |
		sed -n 's/^bsdpd_bsdp_replies_total{kind="offer"} //p'
}
check "B leaves the DISCOVER of A's Mac to A" test "$(offers_of "$SRV2_IP")" = 0
ip netns exec "$CLI" busybox udhcpc -i "$CLI_IF" -n -q -t 2 -T 1 -s /bin/true \
	-V AAPLBSDPC/i386/MacBookPro11,3 -x 0x2b:02020101 >/dev/null 2>&1 || true
check "which answers it" test "$(offers_of "$SRV_IP")" -ge 1
# Apple spreads Macs by priority: the base less the server's own bound
# clients.  The binding is A's, so B, with none, now outbids A.
prio() { # IFACE: the priority of the server that answers a LIST there
	ip netns exec "$CLI" "$BSDPC" list --interface "$1" --timeout 1 --json 2>/dev/null |
		json 'j["servers"][0]["priority"]'
}
check "A's priority counts the Mac bound to it" test "$(prio "$CLI_IF")" = 32767
check "B's does not: the next Mac goes to B" test "$(prio "$CLI2_IF")" = 32768
scripts_in_a() {
	[ "$(body A GET "/api/v1/events?mac=$MAC&limit=1000" |
		json 'sum(1 for e in j["events"] if e["kind"] == "script")')" -ge $((2 * rounds)) ]
}
check "B's script events are in A's API" eventually 10 scripts_in_a

# ---- the database stopped and started again -----------------------------------------------------
# Writes through both servers all along: each 2xx must survive.
writer() { # A|B
	local i=0
	while [ ! -e "$OUT/stop" ] && [ $i -lt 400 ]; do
		i=$((i + 1))
		r=$(code "$1" PUT "/api/v1/profiles/w$1$i" '{"kind":"local"}')
		echo "w$1$i $r" >>"$OUT/writes-$1"
		sleep 0.05
	done
}
# Machines whose records each server has read (a boot, an API read):
# while the database is away they boot from the server's last copy.
MAC_OWN=52:54:00:0f:f0:02
MAC_NB=52:54:00:0f:f0:03
check "a machine with a profile of its own" test "$(code A PUT "/api/v1/machines/$MAC_OWN" \
	'{"profile":"once","hostname":"own"}')" = 201
check "another, with a next boot too" test "$(code A PUT "/api/v1/machines/$MAC_NB" \
	'{"profile":"once"}')" = 201
check "its next boot set" test "$(code A PUT "/api/v1/machines/$MAC_NB/next-boot" \
	'{"profile":"disk"}')" = 200
script_of() { # IP MAC: the first line of bsdpd's comment
	c "http://$1:$PORT/boot.ipxe?mac=$2&arch=x86_64&platform=efi" 2>/dev/null |
		grep -m 1 '^# bsdpd: profile' || echo "# none"
}
for ip in $SRV_IP $SRV2_IP; do
	script_of "$ip" "$MAC_OWN" >/dev/null
done
code A GET "/api/v1/machines/$MAC_NB" >/dev/null
code B GET "/api/v1/machines/$MAC_NB" >/dev/null
writer A &
WA=$!
writer B &
WB=$!
LAB_PIDS="$LAB_PIDS $WA $WB"
sleep 1
pg_stop
sleep 2
# What a server serves without the database: the policy of its last copy
# (the machines and profiles it read, store.h), else the template.
during() { # A|B: the status of /boot.ipxe
	local ip=$SRV_IP
	[ "$1" = A ] || ip=$SRV2_IP
	c -o /dev/null -w '%{http_code}' "http://$ip:$PORT/boot.ipxe?mac=$MAC&arch=x86_64" ||
		true
}
during_a=$(during A)
during_b=$(during B)
# Boots while it is away: their sightings wait in each server's recorder.
MAC_OFF=52:54:00:0f:f0:01
for ip in $SRV_IP $SRV2_IP; do
	for _ in 1 2 3 4 5; do
		c -o /dev/null "http://$ip:$PORT/boot.ipxe?mac=$MAC_OFF&arch=x86_64" || true
	done
done
own_a=$(script_of "$SRV_IP" "$MAC_OWN")
own_b=$(script_of "$SRV2_IP" "$MAC_OWN")
nb_a=$(script_of "$SRV_IP" "$MAC_NB")
sleep 1
c "http://$SRV_IP:$PORT/metrics" >"$OUT/metrics-away" 2>/dev/null || true
pg_restart
sleep 3
touch "$OUT/stop"
wait "$WA" "$WB" || true
check "A logs the loss" grep -q "database: connection lost" "$WORK/a.log"
check "B logs the loss" grep -q "database: connection lost" "$WORK/b.log"
check "A answered /boot.ipxe while the database was down" test "$during_a" = 200
check "B did too" test "$during_b" = 200
check "some writes were refused while it was down (5xx)" \
	bash -c "cat '$OUT'/writes-* | awk '\$2 >= 500' | grep -q ."
check "A served a machine its own profile from its last copy" \
	grep -q 'profile once (rule machine' <<<"$own_a"
check "B too" grep -q 'profile once (rule machine' <<<"$own_b"
check "a next boot waited: the usual profile was served" \
	grep -q 'profile once (rule machine' <<<"$nb_a"
check "A logged that it answered from its copy" grep -q "policy: the database is away" "$WORK/a.log"
check "/metrics says the database is away" grep -qx 'bsdpd_database_up 0' "$OUT/metrics-away"
check "and that boot records wait" \
	awk '$1 == "bsdpd_boot_records_queued" && $2 >= 5 { ok = 1 } END { exit !ok }' \
	"$OUT/metrics-away"
check "A connected again" grep -q "database: connected again" "$WORK/a.log"
check "B connected again" grep -q "database: connected again" "$WORK/b.log"
check "writes succeed again through A" \
	test "$(code A PUT /api/v1/profiles/after-a '{"kind":"local"}')" = 201
check "and through B" test "$(code B PUT /api/v1/profiles/after-b '{"kind":"local"}')" = 201
body A GET /api/v1/profiles | json '"\n".join(p["name"] for p in j["profiles"])' >"$OUT/kept"
lost=$(awk '$2 ~ /^2/ {print $1}' "$OUT"/writes-* | grep -vxF -f "$OUT/kept" || true)
acked=$(awk '$2 ~ /^2/' "$OUT"/writes-* | wc -l)
echo "# $acked writes acknowledged across the restart; lost: ${lost:-none}"
check "every acknowledged write is kept" test -z "$lost"
check "and seen through B too" test "$(body B GET /api/v1/profiles | json 'len(j["profiles"])')" = \
	"$(wc -l <"$OUT/kept")"
check "A's recorder wrote what it held" wait_for_line "$WORK/a.log" 20 "recorder: the database is back"
check "B's too" wait_for_line "$WORK/b.log" 20 "recorder: the database is back"
check "the machine that booted while it was away is registered now" \
	test "$(code A GET "/api/v1/machines/$MAC_OFF")" = 200
check "the 10 boots served while it was away are events now" \
	test "$(body A GET "/api/v1/events?mac=$MAC_OFF" |
		json 'sum(1 for e in j["events"] if e["kind"] == "script")')" = 10
check "the next boot that waited is still set" \
	test "$(body A GET "/api/v1/machines/$MAC_NB" | json 'j["next_boot"]')" = disk
check "and is served now" grep -q 'profile disk (rule next-boot' <<<"$(script_of "$SRV_IP" "$MAC_NB")"
check "/metrics says it is back" bash -c "ip netns exec '$CLI' curl -sS --max-time 20 \
	'http://$SRV_IP:$PORT/metrics' | grep -qx 'bsdpd_database_up 1'"
check "no sanitizer reports" bash -c "! grep -q 'Sanitizer' '$WORK/a.log' '$WORK/b.log'"

lab_done
