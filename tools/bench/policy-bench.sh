#!/bin/bash
# Policy benchmark (issue 9): /boot.ipxe rendered from policy for a lab of
# MACHINES machines, GROUPS groups and PROFILES profiles, loaded through
# the API.  Numbers, not assertions.
#
#   make bench-policy      (or: BSDPD=build/bsdpd bash tools/bench/policy-bench.sh)
#
# wrk (64 keep-alive connections, SECONDS_PER_RUN seconds) asks for the
# script of a random registered machine each time, so every request reads
# a machine, resolves it against the groups and renders its profile.
# Reported: renders per second, p50/p90/p99 latency, bsdpd's CPU seconds
# and its RSS after the run.  Goal: p99 under 2 ms (a slow lookup in a
# boot storm is what makes machines hang; iPXE's HTTP watchdog is 120 s).
# Runs in two network namespaces made here, deleted on exit; only
# processes started here are stopped, by PID.
set -eu

BSDPD=${BSDPD:-build/bsdpd}
MACHINES=${MACHINES:-10000}
GROUPS_N=${GROUPS_N:-100}
PROFILES=${PROFILES:-50}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-10}
CONNECTIONS=${CONNECTIONS:-64}
PORT=8080
NET=198.18.15
SRV_IP=$NET.1
CLI_IP=$NET.2
ID=bpb$$
SRV=$ID-srv
CLI=$ID-cli

fail() { echo "policy-bench: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || fail "needs root (network namespaces)"
for c in ip wrk curl python3; do
	command -v "$c" >/dev/null 2>&1 || fail "needs $c (apt-get install wrk curl python3)"
done
[ -x "$BSDPD" ] || fail "build $BSDPD first (make bench-policy)"

# shellcheck source=server-cpu.sh
. "$(dirname "$0")/server-cpu.sh"
WORK=$(mktemp -d "/tmp/$ID.XXXXXX")
SERVER_PID=
cleanup() {
	[ -n "$SERVER_PID" ] && stop_server
	cpu_cgroup_remove
	ip netns del "$SRV" 2>/dev/null || true
	ip netns del "$CLI" 2>/dev/null || true
	rm -rf "$WORK"
}
trap cleanup EXIT

# shellcheck source=../../tests/integration/netns.sh
. "$(dirname "$0")/../../tests/integration/netns.sh"
netns_pair "$SRV" "$CLI" "${ID}s" "${ID}c" "$SRV_IP" "$CLI_IP"

mkdir -p "$WORK/root/linux" "$WORK/state"
chmod 700 "$WORK/state"
head -c 4096 /dev/urandom >"$WORK/root/linux/vmlinuz"
head -c 4096 /dev/urandom >"$WORK/root/linux/initrd.img"
chmod -R a+rX "$WORK/root"

cpu_cgroup_make
in_cgroup ip netns exec "$SRV" "$BSDPD" --foreground --quiet --root "$WORK/root" --state-dir "$WORK/state" \
	--no-tftp --proxy-dhcp off --http-port "$PORT" --max-events 100000 \
	>"$WORK/bsdpd.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 100); do [ -s "$WORK/state/api-token" ] && break; sleep 0.1; done
sleep 0.3
TOKEN=$(cat "$WORK/state/api-token")

# The lab, through the API over one keep-alive connection.
ip netns exec "$CLI" python3 - "$SRV_IP" "$PORT" "$TOKEN" "$MACHINES" "$GROUPS_N" "$PROFILES" \
	"$WORK/macs" <<'PY'
import http.client, json, sys
host, port, token, machines, groups, profiles, macs = sys.argv[1:8]
machines, groups, profiles = int(machines), int(groups), int(profiles)
c = http.client.HTTPConnection(host, int(port))
def put(path, body):
    c.request("PUT", path, json.dumps(body),
              {"Authorization": "Bearer " + token, "Content-Type": "application/json"})
    r = c.getresponse(); r.read()
    if r.status not in (200, 201):
        sys.exit(f"policy-bench: PUT {path}: {r.status}")
for p in range(profiles):
    put(f"/api/v1/profiles/p{p}", {"kind": "linux", "kernel": "linux/vmlinuz",
        "initrds": ["linux/initrd.img"], "cmdline": f"console=ttyS0 profile={p}"})
for g in range(groups):
    put(f"/api/v1/groups/g{g}", {"selector": {"labels": {"room": str(g)}},
        "profile": f"p{g % profiles}", "priority": g})
with open(macs, "w") as f:
    for m in range(machines):
        mac = "02-00-%02x-%02x-%02x-%02x" % (m >> 24 & 255, m >> 16 & 255, m >> 8 & 255, m & 255)
        body = {"hostname": f"lab-{m}", "labels": {"room": str(m % groups)}}
        if m % 4 == 0:
            body["profile"] = f"p{m % profiles}"
        put("/api/v1/machines/" + mac, body)
        f.write(mac + "\n")
PY

cat >"$WORK/random-mac.lua" <<LUA
local macs = {}
for line in io.lines("$WORK/macs") do macs[#macs + 1] = line end
math.randomseed(os.time())
request = function()
	local mac = macs[math.random(#macs)]
	return wrk.format("GET", "/boot.ipxe?mac=" .. mac .. "&uuid=&arch=x86_64&platform=efi")
end
LUA

# Latency is measured by a probe of its own: wrk 4.1's latency figures
# with a request() script are not consistent with its own request rate
# (a 1-connection run reported a 754 us mean at 8 600 requests/s).  The
# probe keeps PROBE_CONNECTIONS keep-alive connections busy, one request
# in flight each, and times every response from its send; it runs alone,
# then again while wrk is the boot storm.
cat >"$WORK/probe.py" <<'PY'
import selectors, socket, sys, time, random
host, port, conns, seconds, macs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
macs = [l.strip() for l in open(macs)]
sel = selectors.DefaultSelector()
lat = []
def send(s, st):
    mac = random.choice(macs)
    s.sendall(f"GET /boot.ipxe?mac={mac}&uuid=&arch=x86_64&platform=efi HTTP/1.1\r\nHost: b\r\n\r\n".encode())
    st["t"] = time.perf_counter(); st["buf"] = b""
for _ in range(conns):
    s = socket.create_connection((host, port)); s.setblocking(False)
    st = {}; sel.register(s, selectors.EVENT_READ, st); send(s, st)
end = time.perf_counter() + seconds
while time.perf_counter() < end:
    for key, _ in sel.select(1):
        s, st = key.fileobj, key.data
        st["buf"] += s.recv(65536)
        head, sep, body = st["buf"].partition(b"\r\n\r\n")
        if not sep:
            continue
        n = int([l.split(b":")[1] for l in head.split(b"\r\n") if l.lower().startswith(b"content-length")][0])
        if len(body) >= n:
            lat.append(time.perf_counter() - st["t"]); send(s, st)
lat.sort()
q = lambda f: lat[min(len(lat) - 1, int(len(lat) * f))] * 1e6
print(f"{len(lat)} {q(0.5):.0f} {q(0.99):.0f} {lat[-1] * 1e6:.0f}")
PY
probe() { ip netns exec "$CLI" python3 "$WORK/probe.py" "$SRV_IP" "$PORT" "${PROBE_CONNECTIONS:-4}" "$1" "$WORK/macs"; }

quiet=$(probe 5)
cpu0=$(cpu_us)
ip netns exec "$CLI" wrk -t "$((CONNECTIONS < 2 ? CONNECTIONS : 2))" -c "$CONNECTIONS" -d "${SECONDS_PER_RUN}s" \
	-s "$WORK/random-mac.lua" "http://$SRV_IP:$PORT/" >"$WORK/wrk.out" &
WRK_PID=$!
sleep 1
storm=$(probe $((SECONDS_PER_RUN - 2)))
wait "$WRK_PID"
cpu1=$(cpu_us)
rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$(pgrep -n -f "state-dir $WORK/state")/status")
rps=$(awk '/^Requests\/sec/ { print $2 }' "$WORK/wrk.out")
reqs=$(awk '/requests in/ { print $1 }' "$WORK/wrk.out")
errors=$(grep -E 'Non-2xx|Socket errors' "$WORK/wrk.out" || true)
us() { echo "$1" | awk -v f="$2" '{ printf "%.2f ms", $f / 1000 }'; }

echo "policy-bench: $MACHINES machines, $GROUPS_N groups, $PROFILES profiles"
printf '  %-44s %s\n' \
	"renders per second (wrk -c $CONNECTIONS, ${SECONDS_PER_RUN} s)" "$rps" \
	"bsdpd CPU per render" "$(awk -v a="$cpu0" -v b="$cpu1" -v n="$reqs" 'BEGIN { printf "%.0f us", (b - a) / n }')" \
	"latency, ${PROBE_CONNECTIONS:-4} connections alone: p50 / p99 / max" \
	"$(us "$quiet" 2) / $(us "$quiet" 3) / $(us "$quiet" 4)" \
	"latency, the same during the storm: p50 / p99" "$(us "$storm" 2) / $(us "$storm" 3)" \
	"bsdpd RSS" "$((rss / 1024)) MiB" "CPU accounting" "$CPU_SOURCE"
[ -z "$errors" ] || echo "  wrk: $errors"
