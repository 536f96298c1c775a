#!/bin/bash
# `make bench`: BSDP transactions per second that bsdpd answers on one
# core, next to DHCPINFORM transactions that dnsmasq answers on the same
# core in the same run, so the number means something on any machine.
#
# Lab: two network namespaces joined by a veth pair in 198.18.2.0/24
# (RFC 2544 benchmarking space).  The server runs pinned to one core
# (taskset -c $BENCH_SERVER_CPU); tools/bench/bsdp_load runs in the client
# namespace on another core and keeps $BENCH_WINDOW transactions in flight
# from 1000 client MACs:
#   bsdpd:   INFORM[LIST] -> ACK[LIST] -> INFORM[SELECT] -> ACK[SELECT]
#            (every SELECT writes the MAC's binding to SQLite: WAL mode,
#            synchronous=NORMAL, under a temp dir)
#   dnsmasq: DHCPINFORM -> DHCPACK, twice
# Server CPU is utime+stime from /proc/PID/stat around the load run.
#
# Growth: BENCH_BINDINGS=N fills bsdpd's database with N bindings (with
# sqlite3, in the tables bsdpd 0.1.0 made, so every version reads them)
# before bsdpd starts; with BENCH_MACS=16777216 every transaction then
# comes from a new MAC and adds a binding.  BENCH_BSDPD_ARGS adds bsdpd
# options (e.g. --max-bindings 1000000); BENCH_DNSMASQ=0 skips dnsmasq.
#
# Logging: each server logs as it does by default (bsdpd one line per
# reply, dnsmasq two lines per INFORM) into a file in the temp dir, so
# both pay for their log writes; BENCH_QUIET=1 runs bsdpd --quiet and
# dnsmasq --quiet-dhcp instead.
#
# Everything runs inside namespaces this script creates, only processes it
# started are stopped, and the trap removes the lab.  Each load run ends
# by itself after BENCH_WARMUP + BENCH_SECONDS and is also cut by timeout.
set -eu

BSDPD=${BSDPD:-build/bsdpd}
BSDP_LOAD=${BSDP_LOAD:-build/bsdp_load}
SECONDS_RUN=${BENCH_SECONDS:-10}
WARMUP=${BENCH_WARMUP:-1}
WINDOW=${BENCH_WINDOW:-32}
MACS=${BENCH_MACS:-1000}
SERVER_CPU=${BENCH_SERVER_CPU:-0}
CLIENT_CPU=${BENCH_CLIENT_CPU:-1}
QUIET=${BENCH_QUIET:-0}
BINDINGS=${BENCH_BINDINGS:-0}
DNSMASQ=${BENCH_DNSMASQ:-1}
read -r -a BSDPD_ARGS <<<"${BENCH_BSDPD_ARGS:-}"

skip() {
	echo "SKIP: bsdp-bench: $*"
	exit 0
}

[ "$(id -u)" -eq 0 ] || skip "needs root (network namespaces, ports 67 and 68)"
for tool in ip taskset timeout ss; do
	command -v "$tool" >/dev/null 2>&1 || skip "needs $tool"
done
if [ ! -x "$BSDPD" ] || [ ! -x "$BSDP_LOAD" ]; then
	skip "build $BSDPD and $BSDP_LOAD first (make bench)"
fi
case "$SECONDS_RUN$WARMUP$WINDOW$MACS$SERVER_CPU$CLIENT_CPU$BINDINGS$DNSMASQ" in
*[!0-9.]*) echo "bsdp-bench: BENCH_* values must be numbers" >&2; exit 2 ;;
esac

LAB="bb-$$"
SRV_NS="$LAB-srv"
CLI_NS="$LAB-cli"
SRV_IF="${LAB}s"
CLI_IF="${LAB}c"
SRV_IP=198.18.2.1
CLI_IP=198.18.2.2
WORK=$(mktemp -d "/tmp/$LAB.XXXXXX")
SERVER_PID=""
LOAD_PID=""
CLK_TCK=$(getconf CLK_TCK)

cleanup() {
	[ -z "$LOAD_PID" ] || kill "$LOAD_PID" 2>/dev/null || true
	stop_server
	ip netns del "$SRV_NS" 2>/dev/null || true
	ip netns del "$CLI_NS" 2>/dev/null || true
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

stop_server() {
	[ -n "$SERVER_PID" ] || return 0
	kill "$SERVER_PID" 2>/dev/null || true
	wait "$SERVER_PID" 2>/dev/null || true
	SERVER_PID=""
}

# shellcheck source=../../tests/integration/netns.sh
. "$(dirname "$0")/../../tests/integration/netns.sh"

lab_up() {
	netns_pair "$SRV_NS" "$CLI_NS" "$SRV_IF" "$CLI_IF" "$SRV_IP" "$CLI_IP"
}

# The sample bundle: one BootFileOnly i386 image, the default.
make_root() {
	mkdir -p "$1/Bench.nbi/i386"
	printf 'not a real booter: bsdp-bench only lists and selects it\n' \
		>"$1/Bench.nbi/i386/booter"
	cat >"$1/Bench.nbi/NBImageInfo.plist" <<'PLIST'
<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
	<key>Architectures</key><array><string>i386</string></array>
	<key>BootFile</key><string>booter</string>
	<key>Index</key><integer>101</integer>
	<key>IsDefault</key><true/>
	<key>Kind</key><integer>1</integer>
	<key>Name</key><string>Bench</string>
	<key>Type</key><string>BootFileOnly</string>
</dict>
</plist>
PLIST
}

# Starts "$@" in the server namespace on the server core.  ip netns exec
# and taskset both exec, so $! is the server's own pid.
start_server() {
	log=$1
	shift
	ip netns exec "$SRV_NS" taskset -c "$SERVER_CPU" "$@" >"$log" 2>&1 </dev/null &
	SERVER_PID=$!
}

# Waits up to 10 s for UDP port 67 to be bound in the server namespace.
wait_port67() {
	for _ in $(seq 100); do
		kill -0 "$SERVER_PID" 2>/dev/null || return 1
		ip netns exec "$SRV_NS" ss -Hlun 'sport = :67' | grep -q . && return 0
		sleep 0.1
	done
	return 1
}

# utime + stime of the server, in clock ticks (fields 14 and 15; the
# command name in field 2 has no spaces here).
server_ticks() {
	awk '{ print $14 + $15 }' "/proc/$SERVER_PID/stat"
}

# "busy idle" jiffies of CPU $1 from /proc/stat (idle includes iowait).
cpu_jiffies() {
	awk -v c="cpu$1" '$1 == c { print $2 + $3 + $4 + $7 + $8 + $9, $5 + $6 }' /proc/stat
}

# warn_if_shared CPU "BUSY0 IDLE0 BUSY1 IDLE1" OWN_TICKS: other tenants of
# this machine running on a benchmark core make the run worth less; say so
# when they took more than a tenth of it.
warn_if_shared() {
	# shellcheck disable=SC2086
	set -- "$1" $2 "$3"
	other=$(( ($4 - $2 - $6) * 100 / ($4 - $2 + $5 - $3 + 1) ))
	[ "$other" -lt 10 ] ||
		echo "  WARNING: other processes used ${other}% of CPU $1 during this run"
}

# key=value from the load generator's one-line report.
field() {
	printf '%s\n' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"
}

# run_load NAME LOG [bsdp_load options]: one measured run; appends a row.
run_load() {
	name=$1
	log=$2
	shift 2
	before=$(server_ticks)
	s0=$(cpu_jiffies "$SERVER_CPU")
	c0=$(cpu_jiffies "$CLIENT_CPU")
	lines_before=$(wc -l <"$log")
	# In the background so that the trap can stop it too.
	timeout $((${SECONDS_RUN%.*} + ${WARMUP%.*} + 30)) \
		ip netns exec "$CLI_NS" taskset -c "$CLIENT_CPU" "$BSDP_LOAD" \
		--interface "$CLI_IF" --window "$WINDOW" --macs "$MACS" \
		--seconds "$SECONDS_RUN" --warmup "$WARMUP" "$@" >"$WORK/load.out" &
	LOAD_PID=$!
	wait "$LOAD_PID" || { echo "bsdp_load failed" >&2; exit 1; }
	LOAD_PID=""
	out=$(cat "$WORK/load.out")
	after=$(server_ticks)
	lines=$(($(wc -l <"$log") - lines_before))
	echo "  $name: $out"
	warn_if_shared "$SERVER_CPU" "$s0 $(cpu_jiffies "$SERVER_CPU")" $((after - before))
	warn_if_shared "$CLIENT_CPU" "$c0 $(cpu_jiffies "$CLIENT_CPU")" \
		"$(awk -v s="$(field "$out" client_cpu_s)" -v hz="$CLK_TCK" 'BEGIN { print int(s * hz) }')"
	ROWS+=("$name $(field "$out" tx_per_s) $(field "$out" total_completed) \
$(field "$out" seconds) $((after - before)) $lines $(field "$out" timeouts) \
$(field "$out" mean_latency_us)")
}

# fill_bindings DIR N: N bindings seen a minute ago, under MACs "000001"..
# (ASCII digits: never one of bsdp_load's 02:62:62:xx:xx:xx).
fill_bindings() {
	[ "$2" -gt 0 ] || return 0
	command -v sqlite3 >/dev/null 2>&1 || skip "BENCH_BINDINGS needs sqlite3"
	sqlite3 "$1/bindings.sqlite" <<SQL
PRAGMA journal_mode = WAL;
CREATE TABLE clients (mac BLOB PRIMARY KEY CHECK (length(mac) = 6),
 image_id INTEGER NOT NULL, arch TEXT NOT NULL, model TEXT NOT NULL,
 ip BLOB NOT NULL, number INTEGER NOT NULL UNIQUE, updated INTEGER NOT NULL);
CREATE TABLE next_number (id INTEGER PRIMARY KEY CHECK (id = 1), number INTEGER NOT NULL);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $2)
INSERT INTO clients SELECT CAST(printf('%06d', i) AS BLOB), 16777317, 'i386',
 'MacBookPro11,3', x'00000000', i, strftime('%s', 'now') - 60 FROM n;
INSERT INTO next_number VALUES (1, $2);
SQL
}

bench_bsdpd() {
	mkdir -p "$WORK/root" "$WORK/state"
	make_root "$WORK/root"
	fill_bindings "$WORK/state" "$BINDINGS"
	quiet=()
	[ "$QUIET" = 1 ] && quiet=(--quiet)
	start_server "$WORK/bsdpd.log" "$BSDPD" --foreground --root "$WORK/root" \
		--state-dir "$WORK/state" --interface "$SRV_IF" "${quiet[@]}" "${BSDPD_ARGS[@]}"
	wait_port67 || { echo "bsdpd did not start:"; cat "$WORK/bsdpd.log"; exit 1; }
	# Port 67 is bound before the database opens (and migrates): wait.
	for _ in $(seq 600); do
		grep -q ready "$WORK/bsdpd.log" && break
		sleep 0.1
	done
	run_load bsdpd "$WORK/bsdpd.log"
	stop_server
}

bench_dnsmasq() {
	quiet=()
	[ "$QUIET" = 1 ] && quiet=(--quiet-dhcp)
	# dnsmasq drops to user nobody after opening its files.
	chmod 755 "$WORK"
	start_server "$WORK/dnsmasq.out" dnsmasq --keep-in-foreground --port=0 --no-resolv \
		--no-hosts --conf-file=/dev/null --interface="$SRV_IF" --bind-interfaces \
		--dhcp-range=198.18.2.10,198.18.2.200,12h \
		--dhcp-leasefile="$WORK/dnsmasq.leases" --pid-file="$WORK/dnsmasq.pid" \
		--log-facility="$WORK/dnsmasq.log" "${quiet[@]}"
	wait_port67 || { echo "dnsmasq did not start:"; cat "$WORK/dnsmasq.out"; exit 1; }
	run_load dnsmasq "$WORK/dnsmasq.log" --plain-inform
	stop_server
}

# Row fields: name tx/s total_tx seconds cpu_ticks log_lines timeouts latency_us
print_table() {
	printf '\n%-8s %14s %12s %6s %17s %12s %8s %10s\n' server "transactions/s" \
		"server CPU s" "CPU %" "tx per CPU-second" "log lines/tx" timeouts "latency us"
	for row in "${ROWS[@]}"; do
		# shellcheck disable=SC2086
		set -- $row
		awk -v n="$1" -v tps="$2" -v tot="$3" -v secs="$4" -v ticks="$5" -v lines="$6" \
			-v to="$7" -v lat="$8" -v hz="$CLK_TCK" -v warm="$WARMUP" 'BEGIN {
			cpu = ticks / hz
			printf "%-8s %14.0f %12.2f %6.0f %17.0f %12.1f %8d %10.0f\n", n, tps, cpu,
				100 * cpu / (secs + warm), (cpu > 0 ? tot / cpu : 0),
				(tot > 0 ? lines / tot : 0), to, lat }'
	done
}

print_ratio() {
	[ "${#ROWS[@]}" -eq 2 ] || return 0
	# shellcheck disable=SC2086
	awk -v hz="$CLK_TCK" -v a="${ROWS[0]}" -v b="${ROWS[1]}" 'BEGIN {
		split(a, x, " "); split(b, y, " ")
		ex = x[5] > 0 ? x[3] / (x[5] / hz) : 0
		ey = y[5] > 0 ? y[3] / (y[5] / hz) : 0
		printf "\nbsdpd/dnsmasq: transactions/s %.2f, tx per CPU-second %.2f\n",
			(y[2] > 0 ? x[2] / y[2] : 0), (ey > 0 ? ex / ey : 0) }'
}


# The numbers are only worth comparing on otherwise idle cores: say so
# when something else is running on the two this benchmark uses.
warn_if_busy() {
	s0=$(cpu_jiffies "$SERVER_CPU")
	c0=$(cpu_jiffies "$CLIENT_CPU")
	sleep 1
	for pair in "$SERVER_CPU $s0 $(cpu_jiffies "$SERVER_CPU")" \
		"$CLIENT_CPU $c0 $(cpu_jiffies "$CLIENT_CPU")"; do
		# shellcheck disable=SC2086
		set -- $pair
		busy=$(( ($4 - $2) * 100 / ($4 - $2 + $5 - $3 + 1) ))
		[ "$busy" -lt 10 ] ||
			echo "WARNING: CPU $1 is ${busy}% busy before the run; numbers will be noisy"
	done
}

ROWS=()
warn_if_busy
lab_up
echo "bsdp-bench: ${SECONDS_RUN}s runs (+${WARMUP}s warm-up), window $WINDOW, $MACS MACs," \
	"server on CPU $SERVER_CPU, load on CPU $CLIENT_CPU, logs to files$([ "$QUIET" = 1 ] &&
	echo ' (quiet)'), $BINDINGS bindings before the run"
bench_bsdpd
if [ "$DNSMASQ" = 0 ]; then
	:
elif command -v dnsmasq >/dev/null 2>&1; then
	bench_dnsmasq
else
	echo "  dnsmasq: not installed, no comparison (apt-get install dnsmasq-base)"
fi
print_table
print_ratio
echo "A bsdpd transaction is INFORM[LIST]+INFORM[SELECT], with one SQLite write" \
	"(WAL, synchronous=NORMAL); a dnsmasq one is two DHCPINFORMs."
