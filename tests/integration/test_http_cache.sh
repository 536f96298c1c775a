#!/bin/bash
# Files through a standard HTTP cache: docs/nginx-cache.conf, as shipped
# but for its two paths, run by a real nginx (Debian nginx-light) that this
# test starts in the server namespace with its own configuration and
# directories, in front of bsdpd --http-base.
#   - two machines get their scripts from bsdpd; both name the kernel on
#     the cache, without ?mac=; the first is a MISS, the second a HIT
#     (X-Cache-Status and nginx's access log), byte for byte the same, and
#     bsdpd's log shows it served the kernel once;
#   - a storm of 8 machines fetching an initrd nobody fetched yet: bsdpd
#     serves it once (proxy_cache_lock);
#   - a next boot is spent when its script is served;
#   - 206 and 304 through the cache, without asking bsdpd again;
#   - bsdpd's own answers: Cache-Control public, max-age=60 for files
#     (200, 206, 304), no-store for scripts, the API, /metrics and errors;
#     If-Range; the ETag the same after a restart and for a cp -p copy;
#   - the cache does not relay /boot.ipxe or the API.
BSDPD=${BSDPD:-build/san/bsdpd}
LAB_PREFIX=bhc
# TEST-NET-1, the documentation addresses docs/nginx-cache.conf uses:
# bsdpd is 192.0.2.1 port 80, inside the namespace.
LAB_NET=192.0.2
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

for c in curl nginx python3 cmp; do
	command -v "$c" >/dev/null 2>&1 || lab_skip "needs $c"
done
"$BSDPD" --help 2>&1 | grep -q -- --http-base || lab_skip "$BSDPD has no --http-base"
lab_up

TOP=$(cd "$(dirname "$0")/../.." && pwd)
ROOT=$WORK/root
STATE=$WORK/state
OUT=$WORK/out
NG=$WORK/nginx
BSDPD_URL="http://$SRV_IP"
CACHE="http://$SRV_IP:8080"
MAC_A=52:54:00:00:00:0a
MAC_B=52:54:00:00:00:0b
mkdir -p "$ROOT/linux" "$STATE" "$OUT" "$NG"
chmod 700 "$STATE"
head -c 3000000 /dev/urandom >"$ROOT/linux/vmlinuz"
head -c 20000000 /dev/urandom >"$ROOT/linux/initrd.img"
chmod 644 "$ROOT/linux/vmlinuz" "$ROOT/linux/initrd.img"

# ---- nginx: the example, with its cache and log in $NG ---------------------------
sed -e "s#/var/cache/nginx/bsdpd#$NG/cache#" \
	-e "s#/var/log/nginx/bsdpd-cache.log#$NG/access.log#" \
	"$TOP/docs/nginx-cache.conf" >"$NG/bsdpd-cache.conf"
changed=$(diff "$TOP/docs/nginx-cache.conf" "$NG/bsdpd-cache.conf" | grep -c '^<' || true)
check "the example runs as shipped but for its two paths" test "$changed" = 2
cat >"$NG/nginx.conf" <<EOF
daemon off;
worker_processes 1;
pid $NG/nginx.pid;
error_log $NG/error.log info;
events { worker_connections 256; }
http {
	client_body_temp_path $NG/body;
	proxy_temp_path $NG/proxy;
	fastcgi_temp_path $NG/fastcgi;
	uwsgi_temp_path $NG/uwsgi;
	scgi_temp_path $NG/scgi;
	include $NG/bsdpd-cache.conf;
}
EOF
# The workers run as nobody: they pass through $WORK to their own files.
chmod 711 "$WORK"
chown nobody "$NG"

start_bsdpd() { # LOG
	lab_spawn "$SRV" "$1" "$BSDPD" --foreground --root "$ROOT" --state-dir "$STATE" \
		--interface "$SRV_IF" --no-tftp --http-port 80 --proxy-dhcp off \
		--http-base "$CACHE/"
	BSDPD_PID=$LAST_PID
	wait_for_line "$1" 10 "ready" || { cat "$1"; exit 1; }
}
start_bsdpd "$WORK/bsdpd.log"
check "bsdpd says where scripts point" \
	grep -q "http: scripts point at $CACHE for files (--http-base)" "$WORK/bsdpd.log"

lab_spawn "$SRV" "$NG/stderr" nginx -e "$NG/error.log" -p "$NG/" -c "$NG/nginx.conf"
NGINX_PID=$LAST_PID
for _ in $(seq 1 50); do
	ip netns exec "$SRV" ss -Hltn 'sport = :8080' | grep -q LISTEN && break
	sleep 0.1
done
ip netns exec "$SRV" ss -Hltn 'sport = :8080' | grep -q LISTEN ||
	{ cat "$NG/stderr" "$NG/error.log"; exit 1; }

c() { ip netns exec "$CLI" curl -sS --max-time 20 "$@"; }
header() { sed -n "s/^$1: //Ip" "$2" | tr -d '\r' | tail -n 1; }
TOKEN=$(cat "$STATE/api-token")
api() { # METHOD PATH [BODY]: the status
	local args=(-o /dev/null -w '%{http_code}' -X "$1" -H "Authorization: Bearer $TOKEN")
	[ $# -ge 3 ] && args+=(-H 'Content-Type: application/json' --data-binary "$3")
	c "${args[@]}" "$BSDPD_URL$2"
}
json() { python3 -c "import json,sys; j=json.load(sys.stdin); print($1)"; }
# served PATH: how many times bsdpd's log shows PATH sent whole (200).
served() { grep -c "http: [0-9.]* GET $1 200 " "$WORK/bsdpd.log" || true; }

check "a linux profile" test "$(api PUT /api/v1/profiles/install \
	'{"kind":"linux","kernel":"linux/vmlinuz","initrds":["linux/initrd.img"]}')" = 201
check "the default" test "$(api PUT /api/v1/default '{"profile":"install"}')" = 200
check "machine A's next boot" test "$(api PUT "/api/v1/machines/$MAC_A/next-boot" \
	'{"profile":"install"}')" = 200

# ---- two machines, one kernel -------------------------------------------------------
script() { c "$BSDPD_URL/boot.ipxe?mac=${1//:/-}&arch=x86_64&platform=efi"; }
script "$MAC_A" >"$OUT/a.ipxe"
script "$MAC_B" >"$OUT/b.ipxe"
kernel_a=$(sed -n 's/^kernel \([^ ]*\).*/\1/p' "$OUT/a.ipxe")
kernel_b=$(sed -n 's/^kernel \([^ ]*\).*/\1/p' "$OUT/b.ipxe")
initrd_url=$(sed -n 's/^initrd --name [^ ]* \([^ ]*\).*/\1/p' "$OUT/b.ipxe")
check "A's script is its next boot" grep -q '^# bsdpd: profile install (rule next-boot' "$OUT/a.ipxe"
check "B's is the default" grep -q '^# bsdpd: profile install (rule default' "$OUT/b.ipxe"
check "both name the kernel on the cache, without ?mac=" \
	test "$kernel_a" = "$CACHE/linux/vmlinuz" -a "$kernel_b" = "$kernel_a"
check "the initrd too" test "$initrd_url" = "$CACHE/linux/initrd.img"
sleep 0.3
check "A's next boot is spent with its script" test "$(c -H "Authorization: Bearer $TOKEN" \
	"$BSDPD_URL/api/v1/machines/$MAC_A" | json 'j["next_boot"] or "none"')" = none

c -D "$OUT/a.h" -o "$OUT/a.kernel" "$kernel_a"
c -D "$OUT/b.h" -o "$OUT/b.kernel" "$kernel_b"
check "machine A's kernel: a MISS, fetched from bsdpd" test "$(header X-Cache-Status "$OUT/a.h")" = MISS
check "machine B's kernel: a HIT" test "$(header X-Cache-Status "$OUT/b.h")" = HIT
check "both byte for byte the kernel" \
	bash -c "cmp -s '$OUT/a.kernel' '$ROOT/linux/vmlinuz' && cmp -s '$OUT/b.kernel' '$ROOT/linux/vmlinuz'"
check "bsdpd served the kernel once (its log)" test "$(served /linux/vmlinuz)" = 1
check "nginx's access log: MISS, then HIT" test "$(grep ' "GET /linux/vmlinuz ' "$NG/access.log" |
	awk '{ print $(NF - 1) }' | tr '\n' ' ')" = "MISS HIT "
check "the cache passes bsdpd's validators on" test "$(header Cache-Control "$OUT/b.h")" = \
	"public, max-age=60" -a -n "$(header ETag "$OUT/b.h")"

# ---- a storm: 8 machines, one initrd nobody has fetched -----------------------------
pids=""
for i in 1 2 3 4 5 6 7 8; do
	c -D "$OUT/storm$i.h" -o "$OUT/storm$i" "$initrd_url" &
	pids="$pids $!"
done
storm_rc=0
for p in $pids; do wait "$p" || storm_rc=$?; done
check "8 at once: every one got the initrd" bash -c "[ $storm_rc = 0 ] &&
	for i in 1 2 3 4 5 6 7 8; do cmp -s '$OUT/storm'\$i '$ROOT/linux/initrd.img' || exit 1; done"
check "bsdpd served it once (proxy_cache_lock)" test "$(served /linux/initrd.img)" = 1
statuses=$(cat "$OUT"/storm*.h | sed -n 's/^X-Cache-Status: //Ip' | tr -d '\r' | sort | uniq -c |
	tr -s ' \n' '  ')
echo "# the storm's X-Cache-Status:$statuses"

# ---- ranges and revalidation through the cache --------------------------------------
etag=$(header ETag "$OUT/b.h")
c -D "$OUT/r.h" -o "$OUT/r" -H 'Range: bytes=1000-1999' "$kernel_a"
dd if="$ROOT/linux/vmlinuz" of="$OUT/r.want" bs=1000 skip=1 count=1 status=none
check "a Range through the cache: 206 with those bytes" bash -c \
	"grep -q '^HTTP/1.1 206' '$OUT/r.h' && cmp -s '$OUT/r' '$OUT/r.want'"
check "from the cache (HIT)" test "$(header X-Cache-Status "$OUT/r.h")" = HIT
check "If-None-Match through the cache: 304" test "$(c -o /dev/null -w '%{http_code}' \
	-H "If-None-Match: $etag" "$kernel_a")" = 304
check "bsdpd still served the kernel once" test "$(served /linux/vmlinuz)" = 1
check "the cache does not relay /boot.ipxe" \
	test "$(c -o /dev/null -w '%{http_code}' "$CACHE/boot.ipxe?mac=52-54-00-00-00-0b")" = 404
check "nor the API" test "$(c -o /dev/null -w '%{http_code}' \
	-H "Authorization: Bearer $TOKEN" "$CACHE/api/v1/profiles")" = 404

# ---- bsdpd's own answers --------------------------------------------------------------
K="$BSDPD_URL/linux/vmlinuz"
c -D "$OUT/d.h" -o /dev/null "$K"
check "a file: Cache-Control: public, max-age=60" \
	test "$(header Cache-Control "$OUT/d.h")" = "public, max-age=60"
check "with the same strong ETag the cache passed on" test "$(header ETag "$OUT/d.h")" = "$etag"
c -D "$OUT/304.h" -o /dev/null -H "If-None-Match: $etag" "$K"
check "304 with the ETag and Cache-Control (it renews a cache's copy)" bash -c \
	"grep -q '^HTTP/1.1 304' '$OUT/304.h' &&
	 [ \"\$(sed -n 's/^ETag: //Ip' '$OUT/304.h' | tr -d '\r')\" = '$etag' ] &&
	 grep -qi '^Cache-Control: public, max-age=60' '$OUT/304.h'"
c -D "$OUT/206.h" -o /dev/null -H 'Range: bytes=0-9' "$K"
check "206 with Cache-Control" bash -c "grep -q '^HTTP/1.1 206' '$OUT/206.h' &&
	grep -qi '^Cache-Control: public, max-age=60' '$OUT/206.h'"
check "If-Range with the ETag: 206" test "$(c -o /dev/null -w '%{http_code}' \
	-H 'Range: bytes=0-9' -H "If-Range: $etag" "$K")" = 206
check "If-Range with another ETag: the whole file (200)" test "$(c -o /dev/null \
	-w '%{http_code} %{size_download}' -H 'Range: bytes=0-9' -H 'If-Range: "x"' "$K")" = \
	"200 3000000"
no_store() { c -D "$OUT/ns.h" -o /dev/null "$@"; test "$(header Cache-Control "$OUT/ns.h")" = no-store; }
check "/boot.ipxe: no-store" no_store "$BSDPD_URL/boot.ipxe?mac=52-54-00-00-00-0b"
check "the API: no-store" no_store -H "Authorization: Bearer $TOKEN" "$BSDPD_URL/api/v1/profiles"
check "/metrics: no-store" no_store "$BSDPD_URL/metrics"
check "a 404: no-store" no_store "$BSDPD_URL/linux/nope"
cp -p "$ROOT/linux/vmlinuz" "$ROOT/linux/vmlinuz.copy"
c -D "$OUT/copy.h" -o /dev/null "$K.copy"
check "a cp -p copy (another inode) has the same ETag" test "$(header ETag "$OUT/copy.h")" = "$etag"
lab_stop "$BSDPD_PID"
mv "$WORK/bsdpd.log" "$WORK/bsdpd-1.log"
start_bsdpd "$WORK/bsdpd.log"
c -D "$OUT/restart.h" -o /dev/null -I "$K"
check "after a restart, the same ETag" test "$(header ETag "$OUT/restart.h")" = "$etag"

lab_stop "$NGINX_PID"
check "nginx logged no error" bash -c "! grep -q '\[\(error\|crit\|alert\|emerg\)\]' '$NG/error.log'"
check "no sanitizer reports" bash -c "! grep -q 'runtime error\|AddressSanitizer' '$WORK'/bsdpd*.log"
lab_done
