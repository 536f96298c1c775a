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
# Reported: renders per second and bsdpd's CPU per render; p50/p99/max
# latency alone, in a boot storm (all MACHINES machines booting within
# STORM_SECONDS, and within half that) and under wrk's saturating load;
# bsdpd's RSS.  Goal: p99 under 2 ms in a boot storm (a slow lookup is
# what makes machines hang; iPXE's HTTP watchdog is 120 s).
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

# Latency comes from script_probe.py (wrk's own figures with a request()
# script are not consistent with its request rate).  Three loads:
#   quiet: PROBE_CONNECTIONS keep-alive connections, one request each in
#          flight, alone;
#   storm: every one of the MACHINES machines boots once, each on a
#          connection of its own, all within STORM_SECONDS (an open loop
#          on a fixed schedule: latency counts from the scheduled arrival);
#   saturated: the quiet probe again while wrk keeps CONNECTIONS
#          connections busy, which is the server's capacity and no boot
#          storm: there, latency is queueing (Little's law: connections
#          over renders per second), whatever a lookup costs.
PROBE="$(dirname "$0")/script_probe.py"
probe() { ip netns exec "$CLI" python3 "$PROBE" "$@"; }
closed_probe() { probe closed "$SRV_IP" "$PORT" "$WORK/macs" "${PROBE_CONNECTIONS:-4}" "$1"; }
storm_probe() {
	probe open "$SRV_IP" "$PORT" "$WORK/macs" \
		"$(awk -v n="$MACHINES" -v s="$1" 'BEGIN { print n / s }')" "$MACHINES"
}
STORM_SECONDS=${STORM_SECONDS:-2}

quiet=$(closed_probe 5)
storm=$(storm_probe "$STORM_SECONDS")
storm_fast=$(storm_probe "$(awk -v s="$STORM_SECONDS" 'BEGIN { print s / 2 }')")
cpu0=$(cpu_us)
ip netns exec "$CLI" wrk -t "$((CONNECTIONS < 2 ? CONNECTIONS : 2))" -c "$CONNECTIONS" -d "${SECONDS_PER_RUN}s" \
	-s "$WORK/random-mac.lua" "http://$SRV_IP:$PORT/" >"$WORK/wrk.out" &
WRK_PID=$!
sleep 1
saturated=$(closed_probe $((SECONDS_PER_RUN - 2)))
wait "$WRK_PID"
cpu1=$(cpu_us)
rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$(pgrep -n -f "state-dir $WORK/state")/status")
rps=$(awk '/^Requests\/sec/ { print $2 }' "$WORK/wrk.out")
reqs=$(awk '/requests in/ { print $1 }' "$WORK/wrk.out")
errors=$(grep -E 'Non-2xx|Socket errors' "$WORK/wrk.out" || true)
us() { echo "$1" | awk -v f="$2" '{ printf "%.2f ms", $f / 1000 }'; }

rate() { awk -v n="$MACHINES" -v s="$1" 'BEGIN { printf "%.0f", n / s }'; }
fast=$(awk -v s="$STORM_SECONDS" 'BEGIN { print s / 2 }')
echo "policy-bench: $MACHINES machines, $GROUPS_N groups, $PROFILES profiles"
printf '  %-58s %s\n' \
	"renders per second (wrk -c $CONNECTIONS, ${SECONDS_PER_RUN} s)" "$rps" \
	"bsdpd CPU per render" "$(awk -v a="$cpu0" -v b="$cpu1" -v n="$reqs" 'BEGIN { printf "%.0f us", (b - a) / n }')" \
	"quiet, ${PROBE_CONNECTIONS:-4} connections: p50 / p99 / max" \
	"$(us "$quiet" 2) / $(us "$quiet" 3) / $(us "$quiet" 4)" \
	"storm, all boot in ${STORM_SECONDS} s ($(rate "$STORM_SECONDS")/s): p50 / p99 / max" \
	"$(us "$storm" 2) / $(us "$storm" 3) / $(us "$storm" 4), $(echo "$storm" | awk '{ print $5 }') errors" \
	"storm, all boot in ${fast} s ($(rate "$fast")/s): p50 / p99 / max" \
	"$(us "$storm_fast" 2) / $(us "$storm_fast" 3) / $(us "$storm_fast" 4), $(echo "$storm_fast" | awk '{ print $5 }') errors" \
	"saturated by wrk -c $CONNECTIONS: p50 / p99" "$(us "$saturated" 2) / $(us "$saturated" 3)" \
	"bsdpd RSS" "$((rss / 1024)) MiB" "CPU accounting" "$CPU_SOURCE"
[ -z "$errors" ] || echo "  wrk: $errors"
