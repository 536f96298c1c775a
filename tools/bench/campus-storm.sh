#!/bin/bash
# The campus boot storm (issue 12; docs/scaling.md "Sizing"): MACHINES
# simulated Macs boot at once through two bsdpd on one PostgreSQL
# database and an nginx cache, in a namespace lab whose every link is
# shaped to LINK_RATE (1 Gbit/s).  Numbers, not assertions.
#
#   make bench-campus      (or: BSDPD=build/bsdpd NBI=build/nbi BSDP_LOAD=build/bsdp_load
#                           TFTP_LOAD=build/tftp-load bash tools/bench/campus-storm.sh)
#
# The lab, each box a network namespace, each line a veth pair:
#
#   clients A ──┐                       ┌── cache 1 (nginx, docs/nginx-cache.conf)
#   server A  ──┤ segment A             ├── [cache 2, with CACHES=2]
#               │            core ──────┤
#   clients B ──┤ segment B (router)    └── db (PostgreSQL, tests/pg.sh)
#   server B  ──┘
#
# The segments and the core net are bridges in the core namespace, which
# routes between them.  Every host's port is LINK_RATE both ways: a tbf
# on the egress of each end of its veth.  A Mac's BSDP broadcast reaches
# its own segment's server only.  Half the machines are on each segment,
# behind the one port of its client namespace: a building's uplink, not
# a port per machine.  Both servers run as nobody on the same root (one
# catalog: iPXE.nbi, made by nbi create from /usr/lib/ipxe/snponly.efi,
# global index 4096), with --proxy-dhcp off (the machines are Macs: BSDP,
# then iPXE's HTTP stages) and --http-base on a cache whose upstreams are
# both servers; with CACHES=2 each segment's server names a cache of its
# own.  The default profile, set through A's API, is `linux`: a random
# KERNEL_MIB MiB kernel and INITRD_MIB MiB initrd.  DATABASE=sqlite runs
# the same storm with each server on its own SQLite file instead (the
# policy set through both APIs), to show what the shared database costs.
#
# Every machine runs the stages of one Mac boot, as waves (every machine
# through a stage, both segments at once, then the next stage; each stage
# is timed alone):
#   1. BSDP INFORM[LIST] + INFORM[SELECT]: tools/bench/bsdp_load --count,
#      all of a segment's Macs at once, MACs 02:62:62:…;
#   2. TFTP of the booter at blksize TFTP_BLKSIZE, all at once:
#      tools/bench/tftp-load;
#   3. /boot.ipxe?mac=… of each Mac from its segment's server, all at once,
#      a connection each: curl --parallel;
#   4. the kernel, then the initrd, named by each Mac's script, through the
#      cache, a connection per Mac: curl --parallel.
# Printed: per stage its count, wall time, rate, machines per minute,
# p50/p99 and errors; the machines booted per minute end to end and the
# stage that limits them; the caches' HIT/MISS ($upstream_cache_status)
# and the bytes bsdpd and the caches sent; bsdpd's CPU time.
#
# Root (namespaces).  Everything is made here and deleted on exit; only
# processes started here are stopped, by PID; every wait is bounded.
set -eu

BSDPD=${BSDPD:-build/bsdpd}
NBI=${NBI:-build/nbi}
BSDP_LOAD=${BSDP_LOAD:-build/bsdp_load}
TFTP_LOAD=${TFTP_LOAD:-build/tftp-load}
BOOTER=${BOOTER:-/usr/lib/ipxe/snponly.efi}
MACHINES=${MACHINES:-300}
KERNEL_MIB=${KERNEL_MIB:-8}
INITRD_MIB=${INITRD_MIB:-40}
LINK_RATE=${LINK_RATE:-1gbit}
TFTP_BLKSIZE=${TFTP_BLKSIZE:-1432}
CACHES=${CACHES:-1}
DATABASE=${DATABASE:-postgresql}
ID=bcs$$
NET_A=198.18.70
NET_B=198.18.71
NET_CORE=198.18.72
SRV_A_IP=$NET_A.1
SRV_B_IP=$NET_B.1
DB_IP=$NET_CORE.10
TOP=$(cd "$(dirname "$0")/../.." && pwd)

fail() { echo "campus-storm: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || fail "needs root (network namespaces)"
for c in ip tc ss curl nginx runuser awk; do
	command -v "$c" >/dev/null 2>&1 || fail "needs $c (tools/setup-deps)"
done
for b in "$BSDPD" "$NBI" "$BSDP_LOAD" "$TFTP_LOAD"; do
	[ -x "$b" ] || fail "build $b first (make bench-campus)"
done
[ -r "$BOOTER" ] || fail "needs $BOOTER (package ipxe)"
# A segment's machines are one curl, a connection each (curl's
# --parallel-max is 300 at most).
case $MACHINES in
*[!0-9]* | "") fail "MACHINES must be an even number from 2 to 600, not '$MACHINES'" ;;
esac
if [ "$MACHINES" -lt 2 ] || [ "$MACHINES" -gt 600 ] || [ $((MACHINES % 2)) -ne 0 ]; then
	fail "MACHINES must be an even number from 2 to 600, not '$MACHINES'"
fi
[ "$CACHES" = 1 ] || [ "$CACHES" = 2 ] || fail "CACHES must be 1 or 2, not '$CACHES'"
[ "$DATABASE" = postgresql ] || [ "$DATABASE" = sqlite ] ||
	fail "DATABASE must be postgresql or sqlite, not '$DATABASE'"
HALF=$((MACHINES / 2))
NS_ALL="core a b ca cb $(seq -f 'cache%g' -s ' ' "$CACHES")"
[ "$DATABASE" = sqlite ] || NS_ALL="$NS_ALL db"
cache_ip() { echo "$NET_CORE.$1"; }
# The cache segment a's or b's server names in its scripts.
cache_of() {
	if [ "$1" = b ] && [ "$CACHES" = 2 ]; then echo 2; else echo 1; fi
}
cache_url() { echo "http://$(cache_ip "$(cache_of "$1")"):8080"; }

# shellcheck source=../../tests/pg.sh
. "$(dirname "$0")/../../tests/pg.sh"
why=$(pg_missing)
[ "$DATABASE" = sqlite ] || [ -z "$why" ] || fail "$why"

WORK=$(mktemp -d "/tmp/$ID.XXXXXX")
PIDS=
ns() { echo "$ID-$1"; }
cleanup() {
	for pid in $PIDS; do
		kill "$pid" 2>/dev/null || true
	done
	for pid in $PIDS; do
		wait "$pid" 2>/dev/null || true
	done
	pg_stop
	for n in $NS_ALL; do
		ip netns del "$(ns "$n")" 2>/dev/null || true
	done
	rm -rf "$WORK"
}
trap cleanup EXIT

# ---- the lab ----------------------------------------------------------------------------
for n in $NS_ALL; do
	ip netns add "$(ns "$n")"
	ip -n "$(ns "$n")" link set lo up
done
CORE=$(ns core)
ip netns exec "$CORE" sysctl -qw net.ipv4.ip_forward=1
for br in A:$NET_A B:$NET_B C:$NET_CORE; do
	ip -n "$CORE" link add "br${br%%:*}" type bridge
	ip -n "$CORE" addr add "${br#*:}.254/24" dev "br${br%%:*}"
	ip -n "$CORE" link set "br${br%%:*}" up
done

# A tbf's bucket must hold what the link sends in a timer tick, and a
# 64 KiB GSO packet; at most 10 ms of queue behind it.
shape() { # NS DEV
	ip netns exec "$1" tc qdisc add dev "$2" root tbf rate "$LINK_RATE" burst 256kb latency 10ms
}
# host NAME ADDRESS BRIDGE: the host's port on the bridge, its default
# route through the core, and the port shaped both ways.
host() {
	local n dev=${ID}$1
	n=$(ns "$1")
	ip link add "$dev" netns "$n" type veth peer name "${dev}p" netns "$CORE"
	ip -n "$n" addr add "$2/24" dev "$dev"
	ip -n "$n" link set "$dev" up
	ip -n "$CORE" link set "${dev}p" master "$3" up
	ip -n "$n" route add default via "${2%.*}.254"
	shape "$n" "$dev"
	shape "$CORE" "${dev}p"
}
host a "$SRV_A_IP" brA
host ca "$NET_A.2" brA
host b "$SRV_B_IP" brB
host cb "$NET_B.2" brB
[ "$DATABASE" = sqlite ] || host db "$DB_IP" brC
for c in $(seq "$CACHES"); do
	host "cache$c" "$(cache_ip "$c")" brC
done

# ---- the database: PostgreSQL in its namespace, both servers over TCP ------------------
# nobody, the servers' and the cluster's user, passes through $WORK.
chmod 711 "$WORK"
DB_URL=sqlite:
if [ "$DATABASE" = postgresql ]; then
	# shellcheck disable=SC2034 # tests/pg.sh runs the cluster there
	PG_NS=$(ns db)
	pg_start "$WORK" "$DB_IP" 5432
	# initdb trusts the loopback only; the servers are on the segments.
	echo "host all all 198.18.0.0/15 trust" >>"$PG_DIR/data/pg_hba.conf"
	pg_as "$PG_BIN/pg_ctl" -D "$PG_DIR/data" reload >/dev/null
	DB_URL=$PG_TCP_URL
fi

# ---- the images: one catalog, a kernel and an initrd --------------------------------------
ROOT=$WORK/root
mkdir -p "$ROOT/linux" "$WORK/state-a" "$WORK/state-b" "$WORK/out"
chmod 700 "$WORK/state-a" "$WORK/state-b"
"$NBI" create --booter "$BOOTER" -o "$ROOT/iPXE.nbi" --name iPXE --default --index 4096 \
	>/dev/null
KERNEL_SIZE=$((KERNEL_MIB << 20))
INITRD_SIZE=$((INITRD_MIB << 20))
head -c "$KERNEL_SIZE" /dev/urandom >"$ROOT/linux/vmlinuz"
head -c "$INITRD_SIZE" /dev/urandom >"$ROOT/linux/initrd.img"
chmod -R a+rX "$ROOT"
BOOTER_PATH=iPXE.nbi/i386/booter
BOOTER_SIZE=$(stat -c %s "$ROOT/$BOOTER_PATH")

# ---- two servers ----------------------------------------------------------------------------
# A segment's machines share its client namespace's one address: the
# per-client TFTP cap (8, for real firmware) is lifted.
start_bsdpd() { # a|b
	local log=$WORK/bsdpd-$1.log
	ip netns exec "$(ns "$1")" "$BSDPD" --foreground --root "$ROOT" --state-dir "$WORK/state-$1" \
		--interface "${ID}$1" --database "$DB_URL" --user nobody --http-port 80 \
		--proxy-dhcp off --http-base "$(cache_url "$1")" --tftp-max-per-client "$HALF" \
		>"$log" 2>&1 &
	LAST_PID=$!
	PIDS="$PIDS $LAST_PID"
	for _ in $(seq 100); do
		grep -qs "ready" "$log" && return 0
		sleep 0.1
	done
	cat "$log" >&2
	fail "bsdpd $1 did not start"
}
start_bsdpd a
PID_A=$LAST_PID
start_bsdpd b
PID_B=$LAST_PID

# ---- the caches: the example configuration, upstream both servers ----------------------------
start_cache() { # N
	local ng=$WORK/nginx$1 n
	n=$(ns "cache$1")
	mkdir -p "$ng"
	chown nobody "$ng"
	sed -e "s#server 192.0.2.1:80;.*#server $SRV_A_IP:80; server $SRV_B_IP:80;#" \
		-e "s#/var/cache/nginx/bsdpd#$ng/cache#" \
		-e "s#/var/log/nginx/bsdpd-cache.log#$ng/access.log#" \
		"$TOP/docs/nginx-cache.conf" >"$ng/bsdpd-cache.conf"
	cat >"$ng/nginx.conf" <<-EOF
	daemon off;
	worker_processes 1;
	pid $ng/nginx.pid;
	error_log $ng/error.log;
	events { worker_connections 4096; }
	http {
		sendfile on;
		client_body_temp_path $ng/body;
		proxy_temp_path $ng/proxy;
		fastcgi_temp_path $ng/fastcgi;
		uwsgi_temp_path $ng/uwsgi;
		scgi_temp_path $ng/scgi;
		include $ng/bsdpd-cache.conf;
	}
	EOF
	ip netns exec "$n" nginx -e "$ng/error.log" -p "$ng/" -c "$ng/nginx.conf" \
		>"$ng/stderr" 2>&1 &
	PIDS="$PIDS $!"
	for _ in $(seq 50); do
		ip netns exec "$n" ss -Hltn 'sport = :8080' | grep -q LISTEN && return 0
		sleep 0.1
	done
	cat "$ng/stderr" "$ng/error.log" >&2
	fail "nginx $1 did not start"
}
for c in $(seq "$CACHES"); do
	start_cache "$c"
done

# ---- the policy, through A's API; B serves it once it has heard -----------------------------
api() { # a|b PATH BODY: the status
	local ip=$SRV_A_IP
	[ "$1" = a ] || ip=$SRV_B_IP
	ip netns exec "$(ns "c$1")" curl -sS --max-time 10 -o /dev/null -w '%{http_code}' -X PUT \
		-H "Authorization: Bearer $(cat "$WORK/state-$1/api-token")" \
		-H 'Content-Type: application/json' --data-binary "$3" "http://$ip$2"
}
set_policy() { # a|b
	[ "$(api "$1" /api/v1/profiles/linux '{"kind":"linux","kernel":"linux/vmlinuz",
		"initrds":["linux/initrd.img"],"cmdline":"console=ttyS0"}')" = 201 ] ||
		fail "PUT profile through $1"
	[ "$(api "$1" /api/v1/default '{"profile":"linux"}')" = 200 ] || fail "PUT default through $1"
}
set_policy a
[ "$DATABASE" = postgresql ] || set_policy b
# A MAC outside the storm's 02:62:62:… pool.
probe="http://$SRV_B_IP/boot.ipxe?mac=02-00-5e-00-00-01&arch=x86_64&platform=efi"
for _ in $(seq 50); do
	ip netns exec "$(ns cb)" curl -sS --max-time 5 "$probe" 2>/dev/null |
		grep -q '^# bsdpd: profile linux' && break
	sleep 0.1
done

# ---- helpers ----------------------------------------------------------------------------------
now() { date +%s.%N; }
# The value of KEY in bsdp_load's key=value line or tftp-load's JSON.
field() { printf '%s\n' "$1" | tr ' ,{}' '\n' | sed -n "s/^\"\{0,1\}$2\"\{0,1\}[=:]//p"; }
both() { # FILE_A FILE_B KEY: the sum
	awk -v a="$(field "$(cat "$1")" "$3")" -v b="$(field "$(cat "$2")" "$3")" \
		'BEGIN { printf "%.0f", a + b }'
}
worse() { # FILE_A FILE_B KEY [DIVISOR]: the larger, divided
	awk -v a="$(field "$(cat "$1")" "$3")" -v b="$(field "$(cat "$2")" "$3")" -v d="${4:-1}" \
		'BEGIN { printf "%.4f", (a > b ? a : b) / d }'
}
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.4f", b - a }'; }
cpu_s() { # PID: user + system seconds
	awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$1/stat"
}
pcts() { # a column of seconds: p50 p99 (nearest rank)
	sort -g | awk '{ v[NR] = $1 } END {
		if (!NR) { print "0 0"; exit }
		printf "%s %s\n", v[int((NR * 50 + 99) / 100)], v[int((NR * 99 + 99) / 100)] }'
}
mac_of() { # N: the pool MAC bsdp_load gives machine N, as iPXE's ${mac:hexhyp}
	printf '02-62-62-%02x-%02x-%02x' $(($1 >> 16 & 255)) $(($1 >> 8 & 255)) $(($1 & 255))
}
first_of() { [ "$1" = a ] && echo 0 || echo "$HALF"; }
server_of() { [ "$1" = a ] && echo "$SRV_A_IP" || echo "$SRV_B_IP"; }
OUT=$WORK/out
ROWS=$OUT/rows
: >"$ROWS"
row() { echo "$*" >>"$ROWS"; } # stage ok errors wall_s p50_s p99_s retries machines bytes
cpu_a0=$(cpu_s "$PID_A")
cpu_b0=$(cpu_s "$PID_B")

# on_both CMD ARGS...: CMD a ARGS and CMD b ARGS at once, both segments.
on_both() {
	local cmd=$1 pa pb
	shift
	"$cmd" a "$@" &
	pa=$!
	"$cmd" b "$@" &
	pb=$!
	wait "$pa" "$pb"
}

# ---- 1. BSDP: every Mac LIST + SELECT, all at once ----------------------------------------------
bsdp() { # SEGMENT
	timeout 90 ip netns exec "$(ns "c$1")" "$BSDP_LOAD" --interface "${ID}c$1" \
		--count "$HALF" --first-mac "$(first_of "$1")" --window "$HALF" --seconds 60 \
		>"$OUT/bsdp-$1"
}
on_both bsdp
# Each tool times its own storm; the stage lasts as long as the slower.
set -- "$OUT/bsdp-a" "$OUT/bsdp-b"
ok=$(both "$@" completed)
row bsdp "$ok" "$(($(both "$@" failed) + $(both "$@" unfinished)))" "$(worse "$@" seconds)" \
	"$(worse "$@" p50_latency_us 1e6)" "$(worse "$@" p99_latency_us 1e6)" \
	"$(both "$@" timeouts)" "$ok" 0

# ---- 2. TFTP: every Mac's booter, all at once -------------------------------------------------
tftp() { # SEGMENT
	timeout 120 ip netns exec "$(ns "c$1")" "$TFTP_LOAD" -s "$(server_of "$1")" -f "$BOOTER_PATH" \
		-n "$HALF" -c "$HALF" -b "$TFTP_BLKSIZE" -t -e "$BOOTER_SIZE" \
		>"$OUT/tftp-$1" 2>"$OUT/tftp-$1.err" || true
}
on_both tftp
set -- "$OUT/tftp-a" "$OUT/tftp-b"
ok=$(both "$@" ok)
row tftp "$ok" "$(both "$@" failed)" "$(worse "$@" seconds)" "$(worse "$@" p50_s)" \
	"$(worse "$@" p99_s)" "$(both "$@" client_retransmits)" "$ok" "$(both "$@" bytes)"

# ---- 3. scripts: /boot.ipxe from its server, all at once -------------------------------------------
# curl --parallel: one process per segment, a connection per Mac;
# --write-out gives each transfer's status, time and size.
scripts_config() { # SEGMENT
	local i first
	first=$(first_of "$1")
	mkdir -p "$OUT/scripts-$1"
	for i in $(seq "$first" $((first + HALF - 1))); do
		printf 'url = "http://%s/boot.ipxe?mac=%s&uuid=&arch=x86_64&platform=efi"\n' \
			"$(server_of "$1")" "$(mac_of "$i")"
		printf 'output = "%s/scripts-%s/%s.ipxe"\n' "$OUT" "$1" "$i"
	done >"$OUT/scripts-$1.curl"
}
parallel_curl() { # SEGMENT STAGE
	timeout 300 ip netns exec "$(ns "c$1")" curl -sS --parallel --parallel-immediate \
		--parallel-max "$HALF" --max-time 240 \
		-w '%{http_code} %{time_total} %{size_download}\n' \
		-K "$OUT/$2-$1.curl" >"$OUT/$2-$1.times" 2>>"$OUT/curl.err" || true
}
# A good script is the linux profile's, naming both files on its cache.
good_script() { # SEGMENT FILE
	local url
	url=$(cache_url "$1")
	grep -q '^# bsdpd: profile linux' "$2" &&
		grep -q "^kernel $url/linux/vmlinuz" "$2" &&
		grep -q "^initrd --name [^ ]* $url/linux/initrd.img" "$2"
}
scripts_config a
scripts_config b
on_both parallel_curl scripts
good=0
for s in a b; do
	for f in "$OUT/scripts-$s"/*.ipxe; do
		[ -e "$f" ] && good_script "$s" "$f" && good=$((good + 1))
	done
done
times=$(cat "$OUT"/scripts-[ab].times)
read -r p50 p99 < <(awk '$1 == 200 { print $2 }' <<<"$times" | pcts)
# Every script is asked for at once, so the stage lasts as long as the
# slowest: curl's own clock, without its start-up (tens of ms here).
wall=$(awk '$2 > m { m = $2 } END { printf "%.4f", m }' <<<"$times")
row script "$good" "$((MACHINES - good))" "$wall" "$p50" "$p99" - "$good" \
	"$(awk '{ s += $3 } END { printf "%.0f", s }' <<<"$times")"

# ---- 4. kernel and initrd, through the cache ----------------------------------------------------------
# The URLs each Mac's script names: every Mac's kernel is listed before
# any initrd, so with a connection per Mac each asks for its kernel, then
# its initrd, as iPXE does.
files_config() { # SEGMENT
	local f
	for f in "$OUT/scripts-$1"/*.ipxe; do
		sed -n 's/^kernel \([^ ]*\).*/\1/p' "$f"
	done >"$OUT/kernels-$1"
	for f in "$OUT/scripts-$1"/*.ipxe; do
		sed -n 's/^initrd --name [^ ]* \([^ ]*\).*/\1/p' "$f"
	done | cat "$OUT/kernels-$1" - |
		awk 'NF { printf "url = \"%s\"\noutput = \"/dev/null\"\n", $1 }' >"$OUT/files-$1.curl"
}
files_config a
files_config b
t0=$(now)
on_both parallel_curl files
wall=$(since "$t0")
times=$(cat "$OUT"/files-[ab].times)
whole=$(awk -v k="$KERNEL_SIZE" -v i="$INITRD_SIZE" '$1 == 200 && ($3 == k || $3 == i)' \
	<<<"$times" | wc -l)
read -r p50 p99 < <(awk '$1 == 200 { print $2 }' <<<"$times" | pcts)
row files "$whole" "$((2 * MACHINES - whole))" "$wall" "$p50" "$p99" - "$((whole / 2))" \
	"$(awk '{ s += $3 } END { printf "%.0f", s }' <<<"$times")"

cpu_a=$(awk -v a="$cpu_a0" -v b="$(cpu_s "$PID_A")" 'BEGIN { printf "%.2f", b - a }')
cpu_b=$(awk -v a="$cpu_b0" -v b="$(cpu_s "$PID_B")" 'BEGIN { printf "%.2f", b - a }')

# ---- what bsdpd and the caches sent -------------------------------------------------------------------
metric() { # SEGMENT NAME: the sample's value in that server's /metrics
	ip netns exec "$(ns "c$1")" curl -sS --max-time 10 "http://$(server_of "$1")/metrics" |
		awk -v n="$2" '$1 == n { print $2 }'
}
sum_metric() { awk -v a="$(metric a "$1")" -v b="$(metric b "$1")" 'BEGIN { printf "%.0f", a + b }'; }
file_bytes=$(sum_metric 'bsdpd_http_response_bytes_total{route="file"}')
script_bytes=$(sum_metric 'bsdpd_http_response_bytes_total{route="script"}')
tftp_bytes=$(sum_metric bsdpd_tftp_sent_bytes_total)
# An access log line: addr [date zone] "GET path HTTP/1.1" status bytes
# $upstream_cache_status time.
cat "$WORK"/nginx*/access.log | awk '$5 ~ /^\/linux\//' >"$OUT/cache.log"
statuses=$(awk '{ n[$9]++ } END { for (s in n) printf "%s %d, ", s, n[s] }' "$OUT/cache.log")
hits=$(awk '$9 == "HIT"' "$OUT/cache.log" | wc -l)
asked=$(wc -l <"$OUT/cache.log")
cache_bytes=$(awk '{ b += $8 } END { printf "%.0f", b }' "$OUT/cache.log")

# ---- the table -----------------------------------------------------------------------------------------
mb() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1e6 }'; }
database="a SQLite file each"
[ "$DATABASE" = sqlite ] ||
	database="one PostgreSQL $("$PG_BIN/postgres" --version | awk '{ print $3 }')"
echo "campus-storm: $MACHINES Macs, $HALF on server A's segment and $HALF on B's, the stages as waves;"
echo "  every link $LINK_RATE both ways (tbf); booter $BOOTER_SIZE bytes by TFTP (blksize $TFTP_BLKSIZE),"
echo "  kernel $KERNEL_MIB MiB + initrd $INITRD_MIB MiB through $CACHES nginx cache(s);" \
	"$database; $(nproc) CPUs, one host"
echo
printf '  %-24s %6s %6s %9s %18s %12s %8s %8s %8s\n' stage count errors "wall s" rate \
	"machines/min" "p50 s" "p99 s" retries
while read -r stage ok err wall p50 p99 retries machines bytes; do
	case $stage in
	bsdp) name="BSDP LIST+SELECT"
		rate=$(awk -v n="$ok" -v t="$wall" 'BEGIN { printf "%.0f answers/s", 2 * n / t }') ;;
	tftp) name="TFTP booter"
		rate=$(awk -v b="$bytes" -v t="$wall" 'BEGIN { printf "%.1f MB/s", b / t / 1e6 }') ;;
	script) name="/boot.ipxe (rendered)"
		rate=$(awk -v n="$ok" -v t="$wall" 'BEGIN { printf "%.0f scripts/s", n / t }') ;;
	files) name="kernel+initrd, cache"
		rate=$(awk -v b="$bytes" -v t="$wall" 'BEGIN { printf "%.1f MB/s", b / t / 1e6 }') ;;
	esac
	printf '  %-24s %6s %6s %9.3f %18s %12.0f %8.3f %8.3f %8s\n' "$name" "$ok" "$err" "$wall" \
		"$rate" "$(awk -v n="$machines" -v t="$wall" 'BEGIN { print 60 * n / t }')" \
		"$p50" "$p99" "$retries"
done <"$ROWS"
echo
awk -v n="$MACHINES" '{ t += $4; if ($4 > max) { max = $4; s = $1 } } END {
	printf "  end to end: %d Macs in %.2f s of stages, %.0f machines booted per minute;\n",
		n, t, 60 * n / t
	printf "  the slowest stage, %s, is %.0f%% of that: %.0f per minute if the stages overlapped\n",
		s, 100 * max / t, 60 * n / max }' "$ROWS"
printf '  cache: %s of %s kernel and initrd requests were HITs (%s): %s\n' "$hits" "$asked" \
	"$(awk -v h="$hits" -v a="$asked" 'BEGIN { printf "%.1f%%", a ? 100 * h / a : 0 }')" \
	"${statuses%, }"
printf '  bytes: the cache(s) sent %s MB of files; bsdpd sent %s MB of files (to the caches),\n' \
	"$(mb "$cache_bytes")" "$(mb "$file_bytes")"
printf '         %s MB of scripts and %s MB by TFTP\n' "$(mb "$script_bytes")" "$(mb "$tftp_bytes")"
printf '  bsdpd CPU over the four stages: A %s s, B %s s\n' "$cpu_a" "$cpu_b"
