#!/bin/bash
# The dashboard's live API, end to end in the namespace lab:
#   - a TFTP transfer (tftp-hpa, slowed by netem on the client's link, or
#     tftp-load holding one open) and an HTTP file download (curl, rate
#     limited) show up in GET /api/v1/transfers while they run, with
#     bytes, size, rate, the MAC and the stage;
#   - the same transfers arrive as `transfer` events on the event stream,
#     without an id line; the completed download follows as a stored
#     http-file event whose rule is its stage (kernel);
#   - the stream replays the stored events after Last-Event-ID;
#   - GET /api/v1/server: version, uptime, services, counters, gauges;
#   - GET /api/v1/catalog has default and selections; machines carry
#     last_event.
BSDPD=${BSDPD:-build/san/bsdpd}
TFTP_LOAD=${TFTP_LOAD:-build/san/tftp-load}
LAB_PREFIX=bal
LAB_NET=198.18.21
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

for c in curl python3 tftp; do
	command -v "$c" >/dev/null 2>&1 || lab_skip "needs $c"
done
lab_up

PORT=8080
ROOT=$WORK/root
STATE=$WORK/state
OUT=$WORK/out
BASE="http://$SRV_IP:$PORT"
MAC=52:54:00:21:00:02
mkdir -p "$ROOT/linux" "$STATE" "$OUT"
chmod 700 "$STATE"
# Far larger than the socket buffers of both ends, which take in the
# first megabytes at once: the rate-limited client keeps it running.
head -c 48000000 /dev/urandom >"$ROOT/linux/vmlinuz"
head -c 4000000 /dev/urandom >"$ROOT/booter.efi"
chmod -R a+rX "$ROOT"

lab_spawn "$SRV" "$WORK/bsdpd.log" "$BSDPD" --foreground --root "$ROOT" --state-dir "$STATE" \
	--interface "$SRV_IF" --http-port "$PORT" --proxy-dhcp off
BSDPD_PID=$LAST_PID
wait_for_line "$WORK/bsdpd.log" 10 "ready" || { cat "$WORK/bsdpd.log"; exit 1; }
TOKEN=$(cat "$STATE/api-token")

c() { ip netns exec "$CLI" curl -sS --max-time 20 "$@"; }
get() { c -H "Authorization: Bearer $TOKEN" "$BASE$1"; }
# json EXPR: evaluates a Python expression over the JSON on stdin, as j.
json() { python3 -c "import json,sys; j=json.load(sys.stdin); print($1)"; }
# The client's MAC, as bsdpd sees it in its neighbour table.
CLI_MAC=$(ip -n "$CLI" link show "$CLI_IF" | awk '/link\/ether/ { print $2 }')

get /api/v1/profiles/install >/dev/null
c -X PUT -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
	--data-binary '{"kind":"linux","kernel":"linux/vmlinuz","initrds":[]}' \
	"$BASE/api/v1/profiles/install" >/dev/null
c -X PUT -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
	--data-binary '{"profile":"install"}' "$BASE/api/v1/machines/$MAC" >/dev/null

# ---- transfers while they run ---------------------------------------------------------------
ip netns exec "$CLI" curl -sS -N --max-time 6 -H "Authorization: Bearer $TOKEN" \
	"$BASE/api/v1/events/stream" >"$OUT/sse" 2>/dev/null &
SSE_PID=$!
sleep 0.5
# A slow link: one 512-byte block per 40 ms round trip keeps tftp-hpa busy
# far longer than the checks take.
if tc -n "$CLI" qdisc add dev "$CLI_IF" root netem delay 20ms 2>/dev/null; then
	lab_spawn "$CLI" "$WORK/tftp.log" tftp -m binary "$SRV_IP" -c get booter.efi "$OUT/booter"
	TFTP_HOW="tftp-hpa over netem"
else
	lab_spawn "$CLI" "$WORK/tftp.log" "$TFTP_LOAD" -s "$SRV_IP" -f booter.efi -n 1 -c 1 -H 10
	TFTP_HOW="tftp-load holding a transfer open (no netem)"
fi
echo "# TFTP client: $TFTP_HOW"
TFTP_PID=$LAST_PID
lab_spawn "$CLI" "$WORK/curl.log" curl -sS --limit-rate 2M --max-time 30 -o "$OUT/vmlinuz" \
	"$BASE/linux/vmlinuz?mac=${MAC//:/-}"
CURL_PID=$LAST_PID
sleep 2.5
get /api/v1/transfers >"$OUT/transfers.json"
check "GET /api/v1/transfers lists the running TFTP transfer" python3 - "$OUT/transfers.json" "$CLI_MAC" <<'PY'
import json, sys
t = [x for x in json.load(open(sys.argv[1]))["transfers"] if x["kind"] == "tftp"]
assert len(t) == 1, t
x = t[0]
assert x["id"].startswith("tftp-") and x["detail"] == "booter.efi" and x["stage"] == "booter", x
assert x["size"] == 4000000 and 0 <= x["bytes"] <= x["size"], x
assert x["ip"] == "198.18.21.2" and x["mac"] == sys.argv[2], x
assert x["elapsed_ms"] >= 1000 and x["started"].endswith("Z"), x
PY
check "and the HTTP download, with its stage and bytes" python3 - "$OUT/transfers.json" "$MAC" <<'PY'
import json, sys
t = [x for x in json.load(open(sys.argv[1]))["transfers"] if x["kind"] == "http-file"]
assert len(t) == 1, t
x = t[0]
assert x["id"].startswith("http-") and x["detail"] == "linux/vmlinuz" and x["stage"] == "kernel", x
assert x["mac"] == sys.argv[2] and x["size"] == 48000000, x
assert 0 < x["bytes"] < x["size"] and x["rate"] >= 0, x
PY
lab_stop "$TFTP_PID"
wait "$SSE_PID" 2>/dev/null || true
check "the stream sends transfer events for both" python3 - "$OUT/sse" <<'PY'
import json, sys
kinds, ids, rates = set(), set(), []
lines = open(sys.argv[1]).read().split("\n")
for i, l in enumerate(lines):
    if l == "event: transfer":
        assert not lines[i - 1].startswith("id:"), "a transfer event has no id"
        d = json.loads(lines[i + 1][len("data: "):])
        kinds.add(d["kind"]); ids.add(d["id"])
        if d["kind"] == "http-file":
            rates.append(d["rate"])
assert kinds == {"tftp", "http-file"}, kinds
# Over the first second the buffers of both ends fill at once, so the
# download's rate is seen; later it may stall while the client drains.
assert max(rates) > 0, rates
PY
check "a running transfer is sent again each second" \
	test "$(grep -c '"kind":"http-file"' "$OUT/sse")" -ge 3
lab_stop "$CURL_PID"
tc -n "$CLI" qdisc del dev "$CLI_IF" root 2>/dev/null || true
# bsdpd sees the download broken off when its next write fails.
for _ in $(seq 50); do
	get "/api/v1/events?mac=$MAC" >"$OUT/events.json"
	grep -q '"http-file"' "$OUT/events.json" && break
	sleep 0.2
done
check "its stored http-file event's rule is the stage" python3 - "$OUT/events.json" <<'PY'
import json, sys
e = [x for x in json.load(open(sys.argv[1]))["events"] if x["kind"] == "http-file"]
assert e and e[-1]["rule"] == "kernel" and not e[-1]["ok"], e
PY
check "nothing is in flight any more" test "$(get /api/v1/transfers | json 'len(j["transfers"])')" = 0

# ---- Last-Event-ID -------------------------------------------------------------------------
FIRST=$(get "/api/v1/events?limit=1" | json 'j["events"][0]["id"]')
LAST=$(get "/api/v1/events?limit=1000" | json 'j["events"][-1]["id"]')
ip netns exec "$CLI" curl -sS -N --max-time 2 -H "Authorization: Bearer $TOKEN" \
	-H "Last-Event-ID: $FIRST" "$BASE/api/v1/events/stream" >"$OUT/replay" 2>/dev/null || true
check "a stream with Last-Event-ID replays the stored events after it, in order" python3 - \
	"$OUT/replay" "$FIRST" "$LAST" <<'PY'
import sys
ids = [int(l[4:]) for l in open(sys.argv[1]) if l.startswith("id: ")]
assert ids == list(range(int(sys.argv[2]) + 1, int(sys.argv[3]) + 1)), ids
PY
ip netns exec "$CLI" curl -sS -N --max-time 2 -H "Authorization: Bearer $TOKEN" \
	-H "Last-Event-ID: $LAST" "$BASE/api/v1/events/stream" >"$OUT/replay2" 2>/dev/null || true
check "and none when it is the newest" bash -c "! grep -q '^id: ' '$OUT/replay2'"

# ---- server, catalog, machines ------------------------------------------------------------
get /api/v1/server >"$OUT/server.json"
check "GET /api/v1/server: version, uptime, services, counters, gauges" python3 - "$OUT/server.json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
assert j["version"] and j["uptime_s"] >= 1 and j["now"] >= j["started"], j
assert j["services"] == {"bsdp": True, "proxy": "off", "tftp": True, "http": True}, j
t = j["counters"]["tftp"]
assert t["started"] >= 1 and t["active"] == 0 and t["bytes_sent"] > 0, t
h = j["counters"]["http"]
assert h["file"] >= 1 and h["api"] >= 3 and h["connections"] >= 1, h
assert j["counters"]["events_streams"] >= 0 and j["gauges"]["machines"] >= 1, j
PY
check "GET /api/v1/catalog has default and selections" bash -c \
	"[ \"\$(ip netns exec '$CLI' curl -sS -H 'Authorization: Bearer $TOKEN' '$BASE/api/v1/catalog' |
	python3 -c 'import json,sys; j=json.load(sys.stdin); print(j[\"default\"], j[\"selections\"])')\" = 'None []' ]"
check "the machine's last_event is its download" bash -c \
	"[ \"\$(ip netns exec '$CLI' curl -sS -H 'Authorization: Bearer $TOKEN' '$BASE/api/v1/machines' |
	python3 -c 'import json,sys; m=[x for x in json.load(sys.stdin)[\"machines\"] if x[\"mac\"] == \"$MAC\"][0]; e=m[\"last_event\"]; print(e[\"kind\"], e[\"rule\"], e[\"ok\"])')\" = 'http-file kernel False' ]"

lab_stop "$BSDPD_PID"
check "bsdpd ran clean under the sanitizers" bash -c "! grep -q 'runtime error\|ERROR: AddressSanitizer' '$WORK/bsdpd.log'"
lab_done
