#!/bin/bash
# HTTP benchmark (issue 8 item 6): bsdpd and nginx side by side, one after
# the other on the same veth pair between two network namespaces made for
# this run, driven by the same client (wrk, keep-alive).  Numbers, not
# assertions.
#
#   make bench-http        (or: BSDPD=build/bsdpd bash tools/bench/http-bench.sh)
#
# Scenarios, each run RUNS times for SECONDS seconds (median reported):
#   big64    64 keep-alive clients each fetching a 64 MB file over and over:
#            aggregate MB/s.  Both servers send it with sendfile(2).
#   script   64 keep-alive clients asking for /boot.ipxe?mac=...: requests
#            per second.  bsdpd renders the built-in script for the query;
#            nginx sends a static file of the same size (it has no
#            templates), so nginx's number is an upper bound for the route.
# For each: the server's CPU seconds (user + system) over the run, from a
# cgroup made for this run (v1 cpuacct or v2 cpu.stat), else /proc (the
# table says which), and the ratios bsdpd / nginx.
#
# nginx runs with one worker (NGINX_WORKERS, default 1), like bsdpd's one
# thread; sendfile on, tcp_nopush on, an access log like bsdpd's one line
# per request, keepalive_requests high enough never to close a client.
# Both listen only on the namespace's address.  Everything started here
# is stopped here by PID; the namespaces are deleted on exit.
set -eu

BSDPD=${BSDPD:-build/bsdpd}
RUNS=${RUNS:-3}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-10}
NGINX_WORKERS=${NGINX_WORKERS:-1}
PORT=8080
NET=198.18.13
SRV_IP=$NET.1
CLI_IP=$NET.2
ID=bhb$$
SRV=$ID-srv
CLI=$ID-cli
SRV_IF=${ID}s
CLI_IF=${ID}c
QUERY='mac=52-54-00-12-34-56&uuid=4c4c4544-0042-3510-8048-b4c04f4e3232&arch=x86_64&platform=efi'

fail() { echo "http-bench: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || fail "needs root (network namespaces)"
for c in ip nginx wrk curl; do
	command -v "$c" >/dev/null 2>&1 || fail "needs $c (apt-get install nginx-light wrk curl)"
done
[ -x "$BSDPD" ] || fail "build $BSDPD first (make bench-http)"
"$BSDPD" --help 2>&1 | grep -q -- --http-port || fail "$BSDPD has no --http-port"

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
mkdir -p "$ROOT" "$WORK/state" "$WORK/nginx-tmp"
head -c 67108864 /dev/urandom >"$ROOT/big64.bin"
chmod -R a+rX "$ROOT"

cpu_cgroup_make

write_nginx_conf() {
	cat >"$WORK/nginx.conf" <<NGINX
daemon off;
user root;
worker_processes $NGINX_WORKERS;
pid $WORK/nginx.pid;
error_log $WORK/nginx.err;
events { worker_connections 1024; }
http {
	access_log $WORK/nginx.access;
	sendfile on;
	tcp_nopush on;
	keepalive_requests 10000000;
	keepalive_timeout 30s;
	default_type application/octet-stream;
	types { text/plain ipxe; }
	client_body_temp_path $WORK/nginx-tmp/body;
	proxy_temp_path $WORK/nginx-tmp/proxy;
	fastcgi_temp_path $WORK/nginx-tmp/fastcgi;
	uwsgi_temp_path $WORK/nginx-tmp/uwsgi;
	scgi_temp_path $WORK/nginx-tmp/scgi;
	server {
		listen $SRV_IP:$PORT;
		root $ROOT;
	}
}
NGINX
}

start_server() {
	case $1 in
	bsdpd)
		in_cgroup ip netns exec "$SRV" "$BSDPD" --foreground --root "$ROOT" --state-dir "$WORK/state" \
			--interface "$SRV_IF" --no-tftp --http-port "$PORT" \
			--http-max-connections 256 >"$WORK/bsdpd.log" 2>&1 &
		;;
	nginx)
		write_nginx_conf
		in_cgroup ip netns exec "$SRV" nginx -c "$WORK/nginx.conf" >"$WORK/nginx.out" 2>&1 &
		;;
	esac
	SERVER_PID=$!
	for _ in $(seq 50); do
		ip netns exec "$CLI" curl -s -o /dev/null --max-time 1 "http://$SRV_IP:$PORT/big64.bin" \
			-r 0-0 && return 0
		sleep 0.1
	done
	fail "$1 did not start"
}

# wrk's "Requests/sec" and "Transfer/sec" (in MB/s), and its error count.
wrk_numbers() {
	awk '/^Requests\/sec:/ {rps = $2}
	     /^Transfer\/sec:/ {v = $2; u = substr(v, length(v) - 1); v += 0;
	                        if (u == "GB") v *= 1024; else if (u == "KB") v /= 1024;
	                        else if (u !~ /MB/) v /= 1048576; mbps = v}
	     /Non-2xx|Socket errors/ {err = err $0 ";"}
	     END {printf "%.1f %.1f %s\n", rps, mbps * 1.048576, err == "" ? "-" : "errors"}'
}

# run SCENARIO: prints "req/s MB/s cpu_seconds errors"
run() {
	local url before after
	case $1 in
	big64) url="http://$SRV_IP:$PORT/big64.bin" ;;
	script) url="http://$SRV_IP:$PORT/boot.ipxe?$QUERY" ;;
	esac
	before=$(cpu_us)
	ip netns exec "$CLI" wrk -t 2 -c 64 -d "${SECONDS_PER_RUN}s" --timeout 30s "$url" \
		>"$WORK/wrk.out" 2>&1 || true
	after=$(cpu_us)
	read -r rps mbps err < <(wrk_numbers <"$WORK/wrk.out")
	echo "$rps $mbps $(echo "$after $before" | awk '{printf "%.2f", ($1 - $2) / 1e6}') $err"
}

median() { sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }

RESULTS=$WORK/results
: >"$RESULTS"
for server in bsdpd nginx; do
	start_server "$server"
	if [ "$server" = bsdpd ]; then
		# nginx's copy of the script: what bsdpd renders, byte for byte.
		ip netns exec "$CLI" curl -s -o "$WORK/boot.ipxe" "http://$SRV_IP:$PORT/boot.ipxe?$QUERY"
	else
		cp "$WORK/boot.ipxe" "$ROOT/boot.ipxe"
		chmod a+r "$ROOT/boot.ipxe"
	fi
	for scenario in big64 script; do
		for _ in $(seq "$RUNS"); do
			echo "$server $scenario $(run "$scenario")" | tee -a "$RESULTS" >&2
		done
	done
	stop_server
	rm -f "$ROOT/boot.ipxe"
done

cell() { # server scenario column (3 req/s, 4 MB/s, 5 CPU s)
	awk -v s="$1" -v c="$2" -v k="$3" '$1 == s && $2 == c {print $k}' "$RESULTS" | median
}
ratio() { echo "$1 $2" | awk '{if ($2 > 0) printf "%.2fx", $1 / $2; else print "-"}'; }
errs() { awk -v s="$1" -v c="$2" '$1 == s && $2 == c && $6 != "-" {n++} END {print n + 0}' "$RESULTS"; }

echo
echo "HTTP benchmark, $(nproc) cores, $RUNS runs of ${SECONDS_PER_RUN} s each (median), wrk -t 2 -c 64,"
echo "veth between two namespaces, CPU from $CPU_SOURCE; $(nginx -v 2>&1 | sed 's/^nginx version: //')" \
	"with $NGINX_WORKERS worker(s), bsdpd (one thread, external epoll)"
echo
printf '| %-8s | %-6s | %10s | %9s | %8s | %9s | %9s | %10s |\n' scenario server "req/s" "MB/s" \
	"CPU s" "CPU s/GB" "vs nginx" "CPU vs ngx"
printf '|%s|%s|%s|%s|%s|%s|%s|%s|\n' ---------- -------- ------------ ----------- ---------- \
	----------- ----------- ------------
for scenario in big64 script; do
	col=4
	[ "$scenario" = script ] && col=3
	for server in bsdpd nginx; do
		rps=$(cell "$server" "$scenario" 3)
		mbps=$(cell "$server" "$scenario" 4)
		cpu=$(cell "$server" "$scenario" 5)
		per_gb=$(echo "$cpu $mbps $SECONDS_PER_RUN" |
			awk '{g = $2 * $3 / 1000; if (g > 0) printf "%.3f", $1 / g; else print "-"}')
		vs=$(ratio "$(cell "$server" "$scenario" $col)" "$(cell nginx "$scenario" $col)")
		vc=$(ratio "$cpu" "$(cell nginx "$scenario" 5)")
		printf '| %-8s | %-6s | %10s | %9s | %8s | %9s | %9s | %10s |\n' "$scenario" "$server" \
			"$rps" "$mbps" "$cpu" "$per_gb" "$vs" "$vc"
		[ "$(errs "$server" "$scenario")" -eq 0 ] || echo "  ($server $scenario: wrk saw errors)"
	done
done
echo
echo "'vs nginx': MB/s for big64, req/s for script (higher is better); 'CPU vs ngx': the server's"
echo "CPU seconds over the same run (lower is better).  The client shares the machine's cores."
