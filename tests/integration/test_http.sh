#!/bin/bash
# bsdpd's HTTP server, end to end with curl, against the daemon's command
# line: --http-port, --http-root, --http-max-connections.
#   - GET and HEAD with Content-Length, a single Range (206, 416), ETag and
#     Last-Modified with conditional GET (304), keep-alive, Content-Types;
#   - the TFTP traversal corpus over HTTP, raw and percent-encoded: every
#     name refused with 400, 403 or 404, no canary byte back, and nothing
#     outside the root opened (inotify) or read (atime);
#   - beyond --http-max-connections: 503 with Retry-After, and a client
#     that honours Retry-After gets the file once a slot frees;
#   - /boot.ipxe: the built-in menu for the query's identity, hostile
#     query values not echoed, an admin's template rendered, SIGHUP
#     re-reading it, and a template with an unknown placeholder refused
#     by --check with its line:column;
#   - one log line per request, and a clean exit.
BSDPD=${BSDPD:-build/san/bsdpd}
LAB_PREFIX=bth
LAB_NET=198.18.12
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

for c in curl cc cmp python3 mknod mkfifo; do
	command -v "$c" >/dev/null 2>&1 || lab_skip "needs $c"
done
"$BSDPD" --help 2>&1 | grep -q -- --http-port || lab_skip "$BSDPD has no --http-port yet"
lab_up

PORT=8080
ROOT=$WORK/root
OUTSIDE=$WORK/outside
STATE=$WORK/state
OUT=$WORK/out
LOG=$WORK/bsdpd.log
BASE="http://$SRV_IP:$PORT"
mkdir -p "$ROOT/subdir" "$ROOT/ipxe" "$OUTSIDE" "$STATE" "$OUT"
echo "CANARY-$$-outside-the-root" >"$OUTSIDE/secret"
chmod 644 "$OUTSIDE/secret"
head -c 5000000 /dev/urandom >"$ROOT/vmlinuz"
cp /usr/lib/ipxe/snponly.efi "$ROOT/ipxe/snponly.efi" 2>/dev/null ||
	head -c 100000 /dev/urandom >"$ROOT/ipxe/snponly.efi"
chmod 644 "$ROOT/vmlinuz" "$ROOT/ipxe/snponly.efi"
ln -s "$OUTSIDE/secret" "$ROOT/escape-abs"
ln -s ../outside/secret "$ROOT/escape-rel"
ln -s ../outside "$ROOT/dirlink"
ln -s escape-rel "$ROOT/chain"
ln -s /etc/passwd "$ROOT/passwd-link"
ln -s vmlinuz "$ROOT/inside-link"
ln -s ../vmlinuz "$ROOT/subdir/up-but-inside"
mknod "$ROOT/null" c 1 3 || lab_skip "cannot create device nodes here"
mkfifo "$ROOT/fifo"
echo private >"$ROOT/private"
chmod 600 "$ROOT/private"
touch -a -d '2001-01-01' "$OUTSIDE/secret"
atime0=$(stat -c %X "$OUTSIDE/secret")

build_watcher

start_bsdpd() { # LOG ROOT
	lab_spawn "$SRV" "$1" "$BSDPD" --foreground --root "$2" --state-dir "$STATE" \
		--interface "$SRV_IF" --no-tftp --http-port "$PORT" --http-max-connections 4
	BSDPD_PID=$LAST_PID
	wait_for_line "$1" 10 "ready" || { cat "$1"; exit 1; }
}
start_bsdpd "$LOG" "$ROOT"
lab_spawn "$SRV" "$WORK/events" "$WORK/watch" "$OUTSIDE" "$OUTSIDE/secret" "$ROOT/null" \
	"$ROOT/fifo" "$ROOT/private"
wait_for_line "$WORK/events" 5 watching || { cat "$WORK/events"; exit 1; }

# With one --interface, HTTP listens on that link's address only, as the
# UDP services do (no surprises on the host's other networks).
check "with one --interface, HTTP listens only on $SRV_IP:$PORT" \
	eval 'ip netns exec "$SRV" ss -Hltn "sport = :$PORT" | grep -q " $SRV_IP:$PORT " &&
	! ip netns exec "$SRV" ss -Hltn "sport = :$PORT" | grep -q " \\*:$PORT \| 0.0.0.0:$PORT "'

# curl in the client namespace, bounded; extra arguments pass through.
c() { ip netns exec "$CLI" curl -sS --max-time 20 --path-as-is "$@"; }
# header NAME FILE: the value of a response header, without the CR.
header() { sed -n "s/^$1: //Ip" "$2" | tr -d '\r' | tail -n 1; }
status() { c -o /dev/null -w '%{http_code}' "$@"; }

# ---- static files ---------------------------------------------------------------
c -D "$OUT/get.h" -o "$OUT/vmlinuz" "$BASE/vmlinuz"
check "GET serves the file byte for byte" cmp -s "$OUT/vmlinuz" "$ROOT/vmlinuz"
check "with Content-Length" test "$(header Content-Length "$OUT/get.h")" = 5000000
check "as application/octet-stream" \
	test "$(header Content-Type "$OUT/get.h")" = application/octet-stream
check "and Accept-Ranges: bytes" test "$(header Accept-Ranges "$OUT/get.h")" = bytes
etag=$(header ETag "$OUT/get.h")
lm=$(header Last-Modified "$OUT/get.h")
check "a strong ETag and a Last-Modified" bash -c "[[ '$etag' == '\"'*'\"' && '$lm' == *GMT ]]"
c -D "$OUT/efi.h" -o /dev/null "$BASE/ipxe/snponly.efi"
check ".efi is application/efi" test "$(header Content-Type "$OUT/efi.h")" = application/efi

got=$(c -I -o "$OUT/head.h" -w '%{size_download}' "$BASE/vmlinuz")
check "HEAD: 200 with the same Content-Length" \
	bash -c "grep -q '^HTTP/1.1 200' '$OUT/head.h' && grep -qi '^Content-Length: 5000000' '$OUT/head.h'"
check "and no body" test "$got" = 0

c -D "$OUT/range.h" -o "$OUT/range" -H 'Range: bytes=100-199' "$BASE/vmlinuz"
dd if="$ROOT/vmlinuz" of="$OUT/range.want" bs=1 skip=100 count=100 status=none
check "Range: 206 with those 100 bytes" \
	bash -c "grep -q '^HTTP/1.1 206' '$OUT/range.h' && cmp -s '$OUT/range' '$OUT/range.want'"
check "and Content-Range: bytes 100-199/5000000" \
	test "$(header Content-Range "$OUT/range.h")" = "bytes 100-199/5000000"
check "a suffix range" test "$(c -H 'Range: bytes=-10' "$BASE/vmlinuz" | wc -c)" = 10

# Files up to 4 MiB are sent from the copy in memory that TFTP shares
# (file_cache.c); larger ones by sendfile.  Both paths, whole and ranged,
# and a file replaced on disk is served anew (the cache keys on the
# version: inode, size, mtime).
SMALL="$ROOT/ipxe/snponly.efi"
c -o "$OUT/small" "$BASE/ipxe/snponly.efi"
check "a small file (from memory) is byte-identical" cmp -s "$OUT/small" "$SMALL"
c -o "$OUT/small.range" -H 'Range: bytes=1000-1999' "$BASE/ipxe/snponly.efi"
dd if="$SMALL" of="$OUT/small.want" bs=1 skip=1000 count=1000 status=none
check "and a range of it" cmp -s "$OUT/small.range" "$OUT/small.want"
head -c 100000 /dev/urandom >"$OUT/small.new"
chmod 644 "$OUT/small.new"
cp "$OUT/small.new" "$SMALL.tmp" && mv "$SMALL.tmp" "$SMALL"
c -o "$OUT/small.after" "$BASE/ipxe/snponly.efi"
check "a small file replaced on disk is served as it is now" cmp -s "$OUT/small.after" "$OUT/small.new"
c -D "$OUT/416.h" -o /dev/null -H 'Range: bytes=5000000-' "$BASE/vmlinuz"
check "an unsatisfiable range: 416 with Content-Range: bytes */5000000" \
	bash -c "grep -q '^HTTP/1.1 416' '$OUT/416.h' && \
		 grep -qi '^Content-Range: bytes \*/5000000' '$OUT/416.h'"
check "several ranges: the whole file (200)" \
	test "$(status -H 'Range: bytes=0-1,5-9' "$BASE/vmlinuz")" = 200

check "If-None-Match with the ETag: 304" \
	test "$(status -H "If-None-Match: $etag" "$BASE/vmlinuz")" = 304
check "If-Modified-Since Last-Modified: 304" \
	test "$(status -H "If-Modified-Since: $lm" "$BASE/vmlinuz")" = 304
check "another ETag: 200" test "$(status -H 'If-None-Match: "x"' "$BASE/vmlinuz")" = 200

c -v -o /dev/null -o /dev/null "$BASE/vmlinuz" "$BASE/ipxe/snponly.efi" 2>"$OUT/ka.log"
check "keep-alive: the second request reuses the connection" \
	grep -q 'Re-using existing connection' "$OUT/ka.log"
check "POST: 405" test "$(status -X POST -d x "$BASE/vmlinuz")" = 405

# ---- path safety: the TFTP corpus over HTTP ----------------------------------
refused() {
	out="$OUT/refused.$((++n))"
	rm -f "$out"
	code=$(c -o "$out" -w '%{http_code}' "$BASE/$1")
	case $code in
	400 | 403 | 404 | 414) ;;
	*) echo "# '$1': $code"; return 1 ;;
	esac
	! grep -q CANARY "$out" 2>/dev/null
}
long=$(printf 'a%.0s' $(seq 1 1400))
n=0
while IFS= read -r name; do
	check "refused: '/${name:0:60}'" refused "$name"
done <<EOF2
../outside/secret
..\\outside\\secret
%2e%2e/outside/secret
%2E%2E/%2e%2e/outside/secret
..%2foutside%2fsecret
..%2Foutside/secret
..%5coutside%5csecret
%2e%2e%5coutside%5csecret
a/../../outside/secret
subdir/../../outside/secret
./../outside/secret
....//outside/secret
${OUTSIDE#/}/secret
/etc/passwd
escape-abs
escape-rel
dirlink/secret
dirlink
chain
passwd-link
null
fifo
subdir
subdir/
private
vmlinuz%00.txt
vmlinuz%0a
snp%1bonly.efi
bad%zzescape
%
.
$long
EOF2
check "refused: '/'" refused ""
for name in inside-link subdir/up-but-inside %76mlinuz; do
	rm -f "$OUT/ok"
	c -o "$OUT/ok" "$BASE/$name"
	check "served: '/$name' (inside the root)" cmp -s "$OUT/ok" "$ROOT/vmlinuz"
done
sleep 0.5
check "nothing outside the root was opened or read (inotify)" \
	test "$(grep -c '^event' "$WORK/events")" -eq 0
grep '^event' "$WORK/events" | head -n 5 | sed 's/^/# /'
check "the canary's access time did not move" test "$(stat -c %X "$OUTSIDE/secret")" = "$atime0"

# ---- 503 beyond --http-max-connections 4 -------------------------------------
cat >"$WORK/hold.py" <<'PY'
import socket, sys, time
socks = [socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)
         for _ in range(int(sys.argv[3]))]
print("holding", flush=True)
time.sleep(float(sys.argv[4]))
PY
lab_spawn "$CLI" "$WORK/hold.out" python3 "$WORK/hold.py" "$SRV_IP" "$PORT" 4 4
HOLD_PID=$LAST_PID
wait_for_line "$WORK/hold.out" 5 holding || cat "$WORK/hold.out"
sleep 0.3
c -D "$OUT/503.h" -o /dev/null "$BASE/vmlinuz"
check "a fifth connection gets 503" grep -q '^HTTP/1.1 503' "$OUT/503.h"
check "with Retry-After" test -n "$(header Retry-After "$OUT/503.h")"
check "and Connection: close" test "$(header Connection "$OUT/503.h")" = close
# curl honours Retry-After like iPXE (X6): paced, then served.
rm -f "$OUT/retry"
c --retry 5 -o "$OUT/retry" "$BASE/vmlinuz" 2>/dev/null || true
check "a client that retries gets the file once a slot frees" \
	cmp -s "$OUT/retry" "$ROOT/vmlinuz"
lab_stop "$HOLD_PID"

# ---- /boot.ipxe --------------------------------------------------------------
Q='mac=52-54-00-12-34-56&uuid=4c4c4544-0042-3510-8048-b4c04f4e3232&arch=x86_64&platform=efi'
c -D "$OUT/boot.h" -o "$OUT/boot.ipxe" "$BASE/boot.ipxe?$Q"
check "without boot.ipxe: the built-in script" \
	test "$(head -n 1 "$OUT/boot.ipxe")" = '#!ipxe'
check "showing the machine's identity" \
	grep -q 'mac 52:54:00:12:34:56  ip '"$CLI_IP" "$OUT/boot.ipxe"
check "its uuid, arch and platform" \
	grep -q 'uuid 4c4c4544-0042-3510-8048-b4c04f4e3232  arch x86_64  platform efi' \
	"$OUT/boot.ipxe"
check "with a local-disk default and a shell" \
	bash -c "grep -q 'choose --default local --timeout' '$OUT/boot.ipxe' && \
		 grep -q '^shell$' '$OUT/boot.ipxe'"
check "not cacheable" test "$(header Cache-Control "$OUT/boot.h")" = no-store
c -o "$OUT/hostile.ipxe" \
	"$BASE/boot.ipxe?mac=52-54-00-12-34-56%0ashell&arch=x86_64%20%7C%7C%20shell&platform=%24%7Bx%7D"
check "hostile query values are not echoed" \
	bash -c "! grep -q -e '|| shell' -e '\${x}' -e '52-54' '$OUT/hostile.ipxe' && \
		 grep -q 'mac   ip' '$OUT/hostile.ipxe'"

printf '#!ipxe\nkernel {{http}}/vmlinuz mac={{mac}} uuid=${uuid}\nboot\n' >"$ROOT/boot.ipxe"
chmod 644 "$ROOT/boot.ipxe"
ip netns exec "$SRV" kill -HUP "$BSDPD_PID"
sleep 1
c -o "$OUT/tmpl.ipxe" "$BASE/boot.ipxe?$Q"
printf '#!ipxe\nkernel http://%s:%s/vmlinuz mac=52:54:00:12:34:56 uuid=${uuid}\nboot\n' \
	"$SRV_IP" "$PORT" >"$OUT/tmpl.want"
check "SIGHUP: the admin's boot.ipxe, rendered for the query" \
	cmp -s "$OUT/tmpl.ipxe" "$OUT/tmpl.want"

check "one log line per request (client, method, path, status, bytes)" \
	grep -q "http: $CLI_IP GET /vmlinuz 200 5000000 bytes" "$LOG"
check "HEAD is logged with the 0 bytes it sent" grep -q "http: $CLI_IP HEAD /vmlinuz 200 0 bytes" "$LOG"
check "refused paths are logged escaped" grep -q 'http: .* GET /vmlinuz%0a 400' "$LOG"
lab_stop "$BSDPD_PID"
check "bsdpd exited cleanly (no sanitizer report)" bash -c "! grep -q 'Sanitizer' '$LOG'"

# Two --interface options: one socket on each link's address, none on the
# wildcard, and both answer.  The second link is a veth pair with both
# ends in the server namespace.
ip -n "$SRV" link add "${LAB_ID}x" type veth peer name "${LAB_ID}y"
ip -n "$SRV" addr add 198.18.14.1/24 dev "${LAB_ID}x"
ip -n "$SRV" link set "${LAB_ID}y" up
ip -n "$SRV" link set "${LAB_ID}x" up
lab_spawn "$SRV" "$WORK/two.log" "$BSDPD" --foreground --root "$ROOT" --state-dir "$STATE" \
	--interface "$SRV_IF" --interface "${LAB_ID}x" --no-tftp --http-port "$PORT"
TWO_PID=$LAST_PID
wait_for_line "$WORK/two.log" 10 ready || cat "$WORK/two.log"
listeners() { ip netns exec "$SRV" ss -Hltn "sport = :$PORT" | awk '{print $4}' | sort | tr '\n' ' '; }
check "two --interface options: HTTP listens on both links' addresses, not on all" \
	[ "$(listeners)" = "$(printf '%s\n' "198.18.14.1:$PORT" "$SRV_IP:$PORT" | sort | tr '\n' ' ')" ]
check "and both answer" eval 'c -o /dev/null "$BASE/vmlinuz" &&
	ip netns exec "$SRV" curl -sS --max-time 10 -o /dev/null "http://198.18.14.1:$PORT/vmlinuz"'
lab_stop "$TWO_PID"

mkdir -p "$WORK/bad"
printf '#!ipxe\nchain {{nope}}\n' >"$WORK/bad/boot.ipxe"
chmod 644 "$WORK/bad/boot.ipxe"
if "$BSDPD" --check --root "$WORK/bad" >"$OUT/check.out" 2>&1; then
	not_ok "--check refuses a template with an unknown placeholder"
else
	check "--check refuses a bad template, naming its line:column" \
		grep -q 'boot.ipxe:2:9: unknown placeholder {{nope}}' "$OUT/check.out"
fi
lab_done
