#!/bin/bash
# TFTP benchmark: bsdpd, dnsmasq (--enable-tftp) and tftpd-hpa side by
# side, one after the other on the same veth pair between two network
# namespaces made for this run, with the same client (tools/bench/tftp-load,
# one process, one epoll set).  Numbers, not assertions.
#
#   make bench-tftp                    (or: BSDPD=build/bsdpd TFTP_LOAD=build/tftp-load
#                                       bash tools/bench/tftp-bench.sh)
#
# Scenarios, each run RUNS times (median reported):
#   storm-512   200 concurrent fetches of snponly.efi, blksize 512, tsize
#   storm-1432  the same at blksize 1432 (what iPXE asks for)
#   big-w16     one 100 MB fetch, blksize 1468, windowsize 16 (bsdpd and
#               dnsmasq; dnsmasq before 2.92 ignores windowsize)
# For each: aggregate throughput (file bytes / wall time from the first
# request to the last byte) and the server's CPU seconds, user + system,
# children included (tftpd-hpa forks one per transfer and ignores SIGCHLD,
# so /proc never sees its children's time): the server runs in a cgroup of
# its own made for this run (v1 cpuacct or v2 cpu.stat), else /proc is
# used and the table says so.
#
# The servers only ever listen inside the namespace, on its veth: dnsmasq
# with --port=0 --interface --bind-interfaces --conf-file=/dev/null,
# tftpd-hpa with -a on the namespace's address.  Everything started here
# is stopped here; the namespaces are deleted on exit.
set -eu

BSDPD=${BSDPD:-build/bsdpd}
TFTP_LOAD=${TFTP_LOAD:-build/tftp-load}
RUNS=${RUNS:-3}
BOOTFILE=${BOOTFILE:-/usr/lib/ipxe/snponly.efi}
NET=198.18.8
SRV_IP=$NET.1
CLI_IP=$NET.2
ID=btb$$
SRV=$ID-srv
CLI=$ID-cli
SRV_IF=${ID}s
CLI_IF=${ID}c

[ "$(id -u)" -eq 0 ] || { echo "tftp-bench: needs root (network namespaces)" >&2; exit 1; }
for c in ip dnsmasq in.tftpd; do
	command -v "$c" >/dev/null 2>&1 || { echo "tftp-bench: needs $c" >&2; exit 1; }
done
[ -x "$BSDPD" ] && [ -x "$TFTP_LOAD" ] || { echo "tftp-bench: build $BSDPD and $TFTP_LOAD first (make bench-tftp)" >&2; exit 1; }
[ -r "$BOOTFILE" ] || { echo "tftp-bench: needs $BOOTFILE (package ipxe)" >&2; exit 1; }

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
netns_pair "$SRV" "$CLI" "$SRV_IF" "$CLI_IF" "$SRV_IP" "$CLI_IP"

ROOT=$WORK/root
mkdir -p "$ROOT" "$WORK/state"
cp "$BOOTFILE" "$ROOT/snponly.efi"
head -c 100000000 /dev/zero | tr '\0' 'x' >"$ROOT/big100.bin"
chmod -R a+rX "$ROOT"
SNP_SIZE=$(stat -c %s "$ROOT/snponly.efi")

# A cgroup for the server under test, so that forked children count too.
cpu_cgroup_make

start_server() {
	case $1 in
	bsdpd)
		# The 200 clients share one address: lift the per-client cap
		# (default 8, made for real firmware) as test_tftp_storm.sh does.
		ip netns exec "$SRV" "$BSDPD" --foreground --root "$ROOT" --state-dir "$WORK/state" \
			--interface "$SRV_IF" --tftp-max-per-client 200 >"$WORK/bsdpd.log" 2>&1 &
		;;
	dnsmasq)
		ip netns exec "$SRV" dnsmasq --keep-in-foreground --conf-file=/dev/null --port=0 \
			--no-resolv --no-hosts --interface="$SRV_IF" --bind-interfaces \
			--pid-file="$WORK/dnsmasq.pid" --user=root --enable-tftp --tftp-root="$ROOT" \
			--tftp-max=1000 --log-facility="$WORK/dnsmasq.log" &
		;;
	tftpd-hpa)
		ip netns exec "$SRV" in.tftpd -L -s "$ROOT" -a "$SRV_IP:69" -u root \
			>"$WORK/tftpd.log" 2>&1 &
		;;
	esac
	SERVER_PID=$!
	[ -n "$CG" ] && echo "$SERVER_PID" >"$CG/cgroup.procs"
	for _ in $(seq 50); do
		ip netns exec "$SRV" ss -Hlun 'sport = :69' | grep -q . && return 0
		sleep 0.1
	done
	echo "tftp-bench: $1 did not start" >&2
	exit 1
}

# run SCENARIO: prints "MBps cpu_seconds ok"
run() {
	local args before after out
	case $1 in
	storm-512) args="-f snponly.efi -n 200 -c 200 -b 512 -t -e $SNP_SIZE" ;;
	storm-1432) args="-f snponly.efi -n 200 -c 200 -b 1432 -t -e $SNP_SIZE" ;;
	big-w16) args="-f big100.bin -n 1 -c 1 -b 1468 -w 16 -t -e 100000000" ;;
	esac
	before=$(cpu_us)
	# shellcheck disable=SC2086
	out=$(ip netns exec "$CLI" "$TFTP_LOAD" -s "$SRV_IP" $args 2>"$WORK/load.err" | tail -n 1) || true
	sleep 0.3 # let tftpd-hpa reap its children, so their CPU time is counted
	after=$(cpu_us)
	echo "$out" | awk -v cpu="$(echo "$after $before" | awk '{printf "%.3f", ($1 - $2) / 1e6}')" -F'[:,}]' \
		'{for (i = 1; i < NF; i++) { if ($i == "\"MBps\"") m = $(i + 1); if ($i == "{\"ok\"") ok = $(i + 1) } }
		 END {printf "%s %s %s\n", m == "" ? 0 : m, cpu, ok == "" ? 0 : ok}'
}

median() { sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }

RESULTS=$WORK/results
: >"$RESULTS"
for server in bsdpd dnsmasq tftpd-hpa; do
	start_server "$server"
	for scenario in storm-512 storm-1432 big-w16; do
		[ "$scenario" = big-w16 ] && [ "$server" = tftpd-hpa ] && continue
		ip netns exec "$CLI" "$TFTP_LOAD" -s "$SRV_IP" -f snponly.efi -n 5 -c 5 >/dev/null 2>&1 || true
		for r in $(seq "$RUNS"); do
			echo "$server $scenario $(run "$scenario")" | tee -a "$RESULTS" >&2
		done
	done
	stop_server
done

# ---- table --------------------------------------------------------------------------
cell() { # server scenario column(3 = MB/s, 4 = CPU s)
	awk -v s="$1" -v c="$2" -v k="$3" '$1 == s && $2 == c {print $k}' "$RESULTS" | median
}
okcell() { awk -v s="$1" -v c="$2" '$1 == s && $2 == c {print $5}' "$RESULTS" | sort -n | head -n 1; }

echo
echo "TFTP benchmark, $(nproc) cores, $RUNS runs each (median), veth between two namespaces, CPU from $CPU_SOURCE"
echo "dnsmasq $(dnsmasq --version | head -n 1 | awk '{print $3}'), tftpd-hpa $(in.tftpd -V 2>&1 | head -n 1 | awk '{sub(/,$/, "", $2); print $2}')"
echo
printf '| %-11s | %-9s | %9s | %8s | %7s | %13s | %13s |\n' scenario server "MB/s" "CPU s" "ok" "MB/s vs best" "CPU vs best"
printf '|%s|%s|%s|%s|%s|%s|%s|\n' -------------  ----------- ----------- ---------- --------- --------------- ---------------
for scenario in storm-512 storm-1432 big-w16; do
	best_rate=0
	best_cpu=
	for server in dnsmasq tftpd-hpa; do
		r=$(cell "$server" "$scenario" 3)
		c=$(cell "$server" "$scenario" 4)
		[ -z "$r" ] && continue
		best_rate=$(echo "$r $best_rate" | awk '{print ($1 > $2) ? $1 : $2}')
		best_cpu=$(echo "$c ${best_cpu:-999999}" | awk '{print ($1 < $2) ? $1 : $2}')
	done
	for server in bsdpd dnsmasq tftpd-hpa; do
		r=$(cell "$server" "$scenario" 3)
		[ -z "$r" ] && continue
		c=$(cell "$server" "$scenario" 4)
		ok=$(okcell "$server" "$scenario")
		total=200
		[ "$scenario" = big-w16 ] && total=1
		vr=$(echo "$r $best_rate" | awk '{if ($2 > 0) printf "%.2fx", $1 / $2; else print "-"}')
		vc=$(echo "$c $best_cpu" | awk '{if ($2 > 0) printf "%.2fx", $1 / $2; else print "-"}')
		printf '| %-11s | %-9s | %9s | %8s | %7s | %13s | %13s |\n' "$scenario" "$server" "$r" "$c" \
			"$ok/$total" "$vr" "$vc"
	done
done
echo
echo "'vs best' compares with the better of dnsmasq and tftpd-hpa in that scenario"
echo "(MB/s: higher is better; CPU: lower is better, so < 1.00x means less CPU)."
