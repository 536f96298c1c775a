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
# latency alone, in open-loop boot storms (every one of the MACHINES
# machines boots once, on a connection of its own, at STORM_RATES per
# second; tools/bench/script_storm.c) beside nginx serving a static script
# file to the same storm, and under wrk's saturating load; bsdpd's RSS.
# Goal: p99 under 2 ms in a boot storm (a slow lookup is what makes
# machines hang; iPXE's HTTP watchdog is 120 s).
# Runs in two network namespaces made here, deleted on exit; only
# processes started here are stopped, by PID.
set -eu

BSDPD=${BSDPD:-build/bsdpd}
SCRIPT_STORM=${SCRIPT_STORM:-build/script_storm}
STORM_RATES=${STORM_RATES:-1000 2500 5000}
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
for c in ip wrk curl python3 nginx; do
	command -v "$c" >/dev/null 2>&1 || fail "needs $c (apt-get install wrk curl python3 nginx-light)"
done
[ -x "$BSDPD" ] && [ -x "$SCRIPT_STORM" ] || fail "build $BSDPD and $SCRIPT_STORM first (make bench-policy)"

# shellcheck source=server-cpu.sh
. "$(dirname "$0")/server-cpu.sh"
WORK=$(mktemp -d "/tmp/$ID.XXXXXX")
SERVER_PID=
NGINX_PID=
cleanup() {
	[ -n "$NGINX_PID" ] && kill "$NGINX_PID" 2>/dev/null
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
# Each storm leaves MACHINES client ports in TIME_WAIT: let the next ones
# start without running out of them.
ip netns exec "$CLI" sysctl -qw net.ipv4.ip_local_port_range="1024 65535" net.ipv4.tcp_tw_reuse=1

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

# Latency: script_probe.py keeps PROBE_CONNECTIONS keep-alive connections
# busy, alone ("quiet") and while wrk saturates bsdpd ("saturated": the
# server's capacity, no boot storm: there, latency is queueing, Little's
# law: connections over renders per second, whatever a lookup costs).
# script_storm is the boot storm, an open loop on a fixed schedule, its
# latency counted from each machine's arrival; nginx (one worker, like
# bsdpd's one thread) serving the last rendered script as a static file
# gets the same storms, which shows what this machine's network stack
# alone costs a new connection.
PROBE="$(dirname "$0")/script_probe.py"
closed_probe() {
	ip netns exec "$CLI" python3 "$PROBE" "$SRV_IP" "$PORT" "$WORK/macs" \
		"${PROBE_CONNECTIONS:-4}" "$1"
}
storm() { ip netns exec "$CLI" "$SCRIPT_STORM" "$SRV_IP" "$1" "$WORK/macs" "$2" "$MACHINES"; }

NGINX_PORT=8081
mkdir -p "$WORK/nginx/root" "$WORK/nginx/tmp"
# nginx's worker runs as www-data: it must get through mktemp's 0700.
chmod 711 "$WORK"
ip netns exec "$CLI" curl -sS "http://$SRV_IP:$PORT/boot.ipxe?mac=$(head -n 1 "$WORK/macs")" \
	>"$WORK/nginx/root/boot.ipxe"
chmod -R a+rX "$WORK/nginx/root"
cat >"$WORK/nginx/nginx.conf" <<NGINX
daemon off;
worker_processes 1;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log;
events { worker_connections 4096; }
http {
	access_log off;
	client_body_temp_path $WORK/nginx/tmp; proxy_temp_path $WORK/nginx/tmp;
	fastcgi_temp_path $WORK/nginx/tmp; uwsgi_temp_path $WORK/nginx/tmp;
	scgi_temp_path $WORK/nginx/tmp;
	server { listen $SRV_IP:$NGINX_PORT; root $WORK/nginx/root; }
}
NGINX
ip netns exec "$SRV" nginx -c "$WORK/nginx/nginx.conf" &
NGINX_PID=$!
sleep 0.5

# Loading the lab wrote hundreds of MB of log: the storms start once the
# database has taken it in (its log started over and cut back to 64 MiB,
# sqlite.c), as it would have long before a lab's next boot storm.
for _ in $(seq 300); do
	[ "$(stat -c %s "$WORK/state/bindings.sqlite-wal" 2>/dev/null || echo 0)" -le 67108864 ] && break
	sleep 0.1
done
quiet=$(closed_probe 5)
storms=
for rate in $STORM_RATES; do
	storms="$storms$rate $(storm "$PORT" "$rate") $(storm "$NGINX_PORT" "$rate")
"
done
kill "$NGINX_PID"
wait "$NGINX_PID" 2>/dev/null || true
NGINX_PID=
cpu0=$(cpu_us)
ip netns exec "$CLI" wrk -t "$((CONNECTIONS < 2 ? CONNECTIONS : 2))" -c "$CONNECTIONS" -d "${SECONDS_PER_RUN}s" \
	-s "$WORK/random-mac.lua" "http://$SRV_IP:$PORT/" >"$WORK/wrk.out" &
WRK_PID=$!
sleep 1
saturated=$(closed_probe $((SECONDS_PER_RUN - 2)))
wait "$WRK_PID"
cpu1=$(cpu_us)
rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$(pgrep -n -f "state-dir $WORK/state")/status")
# What the recorder (bsdpd/recorder.c) still held when wrk stopped, and
# dropped: whether the writes kept up with the renders.
ip netns exec "$CLI" curl -sS --max-time 10 "http://$SRV_IP:$PORT/metrics" >"$WORK/metrics" || true
held=$(awk '$1 == "bsdpd_boot_records_queued" { print $2 }' "$WORK/metrics")
dropped=$(awk '$1 == "bsdpd_boot_records_dropped_total" { print $2 }' "$WORK/metrics")
rps=$(awk '/^Requests\/sec/ { print $2 }' "$WORK/wrk.out")
reqs=$(awk '/requests in/ { print $1 }' "$WORK/wrk.out")
errors=$(grep -E 'Non-2xx|Socket errors' "$WORK/wrk.out" || true)
us() { echo "$1" | awk -v f="$2" '{ printf "%.2f ms", $f / 1000 }'; }

ms() { awk -v v="$1" 'BEGIN { printf "%.2f", v / 1000 }'; }
echo "policy-bench: $MACHINES machines, $GROUPS_N groups, $PROFILES profiles"
printf '  %-52s %s\n' \
	"renders per second (wrk -c $CONNECTIONS, ${SECONDS_PER_RUN} s)" "$rps" \
	"bsdpd CPU per render" "$(awk -v a="$cpu0" -v b="$cpu1" -v n="$reqs" 'BEGIN { printf "%.0f us", (b - a) / n }')" \
	"quiet, ${PROBE_CONNECTIONS:-4} connections: p50 / p99 / max" \
	"$(us "$quiet" 2) / $(us "$quiet" 3) / $(us "$quiet" 4)" \
	"saturated by wrk -c $CONNECTIONS: p50 / p99" "$(us "$saturated" 2) / $(us "$saturated" 3)" \
	"bsdpd RSS" "$((rss / 1024)) MiB" \
	"boot records waiting / dropped after wrk" "${held:-?} / ${dropped:-?}" \
	"CPU accounting" "$CPU_SOURCE"
echo "  boot storm, each of the $MACHINES machines once, on a connection of its own:"
echo "    rate/s   bsdpd p50 / p99 / max ms (errors)      nginx, static file: p50 / p99 / max ms (errors)"
echo "$storms" | while read -r rate _ b50 b99 bmax berr _ n50 n99 nmax nerr; do
	[ -n "$rate" ] || continue
	printf '    %-8s %6s / %6s / %7s (%s)%17s %6s / %6s / %7s (%s)\n' "$rate" \
		"$(ms "$b50")" "$(ms "$b99")" "$(ms "$bmax")" "$berr" "" \
		"$(ms "$n50")" "$(ms "$n99")" "$(ms "$nmax")" "$nerr"
done
[ -z "$errors" ] || echo "  wrk: $errors"
