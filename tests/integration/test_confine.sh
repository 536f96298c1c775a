#!/bin/bash
# Confinement after start (issue 11, item 6; bsdpd/confine.h).  bsdpd
# starts as root with --user nobody; once it is up:
#   - /proc/PID/status of every thread: no capabilities (CapBnd too),
#     NoNewPrivs 1, Seccomp 2; the log line names the protections;
#   - from inside the daemon (gdb calls open() on its threads, the loop's
#     and the checkpointer's): nothing outside the roots and the state
#     directory opens, even a world-readable file; files under the roots
#     open read-only, the state directory read-write; exec, a new user
#     namespace, an AF_INET6 or AF_PACKET socket, a TCP connect, a
#     connect to an abstract UNIX socket bound outside (Landlock ABI 6)
#     and TIOCSTI (typing into a terminal) are refused;
#   - hostile HTTP and TFTP paths (.., absolute, encoded, a link out of
#     the root) get nothing;
#   - while confined it still works: BSDP LIST and SELECT, a TFTP and an
#     HTTP fetch, an API write, a SIGHUP that brings in a new image;
#   - detached (no --foreground): SIGHUP and SIGTERM still reach it and
#     its checkpointer thread runs (fork keeps no thread; both are set up
#     after daemon());
#   - started unprivileged with an ambient capability (as systemd does),
#     or as root in a bounding set without CAP_SETPCAP, it cannot empty the
#     bounding set and leaves that out of the log line, but keeps no
#     capability; on a kernel without Landlock it says so and starts.
BSDPD=${BSDPD:-build/san/bsdpd}
BSDPC=${BSDPC:-build/san/bsdpc}
LAB_PREFIX=bcf
LAB_NET=198.18.40
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

for c in gdb curl tftp jq cc setpriv python3; do
	command -v "$c" >/dev/null 2>&1 || lab_skip "needs $c"
done
id nobody >/dev/null 2>&1 || lab_skip "needs user nobody"
lab_up
chmod 755 "$WORK" # nobody must reach the roots
ROOT=$WORK/root
WWW=$WORK/www
STATE=$WORK/state
OUTSIDE=$WORK/outside
OUT=$WORK/out
PORT=8080
mkdir -p "$ROOT" "$WWW" "$STATE" "$OUTSIDE" "$OUT"
chmod 700 "$STATE"
make_bundle "$ROOT" iPXE 101 "<key>IsDefault</key><true/>"
echo "served over HTTP" >"$WWW/www.txt"
# World-readable, so only the confinement keeps nobody from it.
echo "outside the roots" >"$OUTSIDE/secret.txt"
ln -s "$OUTSIDE/secret.txt" "$ROOT/leak"
ln -s "$OUTSIDE/secret.txt" "$WWW/leak"
chmod -R a+rX "$ROOT" "$WWW" "$OUTSIDE"

start_bsdpd() { # LOG ARGS...
	local log=$1
	shift
	lab_spawn "$SRV" "$log" "$@" --foreground --root "$ROOT" --http-root "$WWW" \
		--state-dir "$STATE" --interface "$SRV_IF" --http-port "$PORT" --proxy-dhcp off
	BSDPD_PID=$LAST_PID
	wait_for_line "$log" 20 "ready" || { cat "$log"; exit 1; }
	# lab_spawn's pid is `ip netns exec`, which execs bsdpd: the same process.
}

# An abstract UNIX socket bound by a process outside the daemon, in its
# network namespace (abstract names are per namespace).
ABSTRACT=$LAB_ID-abstract
lab_spawn "$SRV" "$WORK/abstract.log" python3 -c "
import socket, time
s = socket.socket(socket.AF_UNIX)
s.bind('\\0$ABSTRACT')
s.listen()
print('listening', flush=True)
time.sleep(600)"
wait_for_line "$WORK/abstract.log" 10 listening || { cat "$WORK/abstract.log"; exit 1; }
start_bsdpd "$WORK/bsdpd.log" "$BSDPD" --user nobody
LANDLOCK_ABI=$(sed -n 's/.*confined: landlock ABI \([0-9]*\).*/\1/p' "$WORK/bsdpd.log")
check "one log line names the protections" grep -Eq \
	"confined: landlock ABI [0-9]+, seccomp.*, no capabilities \(bounding set empty\), no_new_privs" \
	"$WORK/bsdpd.log"
grep -q "confined: no landlock" "$WORK/bsdpd.log" && lab_skip "this kernel has no Landlock"

# ---- /proc/PID/status ------------------------------------------------------------
# status_is FIELD VALUE: on every thread of the daemon.
status_is() {
	local f
	for f in /proc/"$BSDPD_PID"/task/*/status; do
		[ "$(awk -v k="$1:" '$1 == k { print $2 }' "$f")" = "$2" ] || return 1
	done
}
for cap in CapInh CapPrm CapEff CapBnd CapAmb; do
	check "$cap is 0 on every thread" status_is "$cap" 0000000000000000
done
check "NoNewPrivs: 1 on every thread" status_is NoNewPrivs 1
check "Seccomp: 2 (filter) on every thread" status_is Seccomp 2
check "the checkpointer thread runs beside the loop" \
	test "$(ls /proc/"$BSDPD_PID"/task | wc -l)" -ge 2

# ---- from inside the daemon ------------------------------------------------------
# A gdb script of calls made on the daemon's threads, printing one line
# "NAME RESULT ERRNO" each.  Strings go into memory malloc'd in the daemon
# and freed after (a string literal in a gdb call would be malloc'd by gdb
# and never freed, and LeakSanitizer would fail the daemon at exit).
GDB=$WORK/calls.gdb
gdb_call() { # NAME EXPR: EXPR may use $b, the buffer
	cat >>"$GDB" <<EOF
set \$r = (long)($2)
set \$e = *(int *)__errno_location()
printf "$1 %ld %d\\n", \$r, \$e
EOF
}
gdb_path() { # PATH: into $b
	printf 'set {char[%d]}$b = "%s"\n' $((${#1} + 1)) "$1" >>"$GDB"
}
gdb_open() { # NAME PATH FLAGS: opens and closes again
	gdb_path "$2"
	gdb_call "$1" "open(\$b, $3, 0600)"
	echo 'if $r >= 0
call (int)close($r)
end' >>"$GDB"
}
O_RDWR_CREAT=$((0x42)) # O_RDWR | O_CREAT
O_WRONLY_CREAT=$((0x41))
# 127.0.0.1:8080 as a struct sockaddr_in.
SIN='{2, 0, 31, 144, 127, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0}'
for thread in 1 2; do
	echo "thread $thread" >>"$GDB"
	echo 'set $b = (char *)malloc(4096)' >>"$GDB"
	gdb_open "t$thread-hostname" /etc/hostname 0
	gdb_open "t$thread-secret" "$OUTSIDE/secret.txt" 0
	gdb_open "t$thread-outside-dir" "$OUTSIDE" 0
	gdb_open "t$thread-tmp-create" "/tmp/$LAB_ID-created" "$O_WRONLY_CREAT"
	gdb_open "t$thread-root-file" "$ROOT/iPXE.nbi/NBImageInfo.plist" 0
	gdb_open "t$thread-www-file" "$WWW/www.txt" 0
	gdb_open "t$thread-root-create" "$ROOT/created" "$O_WRONLY_CREAT"
	gdb_open "t$thread-state-rw" "$STATE/bindings.sqlite" 2
	gdb_open "t$thread-state-create" "$STATE/created-$thread" "$O_RDWR_CREAT"
	echo 'call (void)free($b)' >>"$GDB"
done
echo 'thread 1
set $b = (char *)malloc(4096)' >>"$GDB"
gdb_path /bin/true
gdb_call execve 'execve($b, 0, 0)'
gdb_call unshare-user 'unshare(0x10000000)'
gdb_call socket-inet6 'socket(10, 2, 0)'
gdb_call socket-packet 'socket(17, 3, 0)'
gdb_call socket-inet 'socket(2, 2, 0)'
echo 'if $r >= 0
call (int)close($r)
end' >>"$GDB"
echo "set {unsigned char[16]}\$b = $SIN" >>"$GDB"
echo 'set $s = (int)socket(2, 1, 0)' >>"$GDB"
# connect's second parameter is glibc's transparent union, which gdb would
# pass in memory: called through a plain prototype instead.
gdb_call tcp-connect '((int (*)(int, void *, unsigned int))connect)($s, $b, 16)'
echo 'call (int)close($s)' >>"$GDB"
# struct sockaddr_un: AF_UNIX, then a NUL and the name.
sun="1, 0, 0$(printf "$ABSTRACT" | od -An -tu1 -v | tr -s ' \n' ',' | sed 's/,$//')"
echo "set {unsigned char[$((3 + ${#ABSTRACT}))]}\$b = {$sun}" >>"$GDB"
echo 'set $s = (int)socket(1, 1, 0)' >>"$GDB"
gdb_call abstract-connect \
	"((int (*)(int, void *, unsigned int))connect)(\$s, \$b, $((3 + ${#ABSTRACT})))"
echo 'call (int)close($s)' >>"$GDB"
# TIOCSTI (0x5412) on stdin: refused whatever stdin is.
gdb_call tiocsti '((int (*)(int, unsigned long, void *))ioctl)(0, 0x5412, $b)'
echo 'call (void)free($b)' >>"$GDB"
timeout 120 gdb -q -batch -p "$BSDPD_PID" -x "$GDB" >"$WORK/gdb.log" 2>&1 || true
# result NAME: "RESULT ERRNO"
result() { awk -v n="$1" '$1 == n { print $2, $3 }' "$WORK/gdb.log"; }
denied() { # NAME ERRNO
	local r
	r=$(result "$1")
	if [ "$r" = "-1 $2" ]; then ok "$3: refused ($r)"; else not_ok "$3: got '$r', not '-1 $2'"; fi
}
allowed() { # NAME DESCRIPTION
	local r
	r=$(result "$1")
	if [ -n "$r" ] && [ "${r%% *}" -ge 0 ]; then ok "$2: opens"; else not_ok "$2: got '$r'"; fi
}
EACCES=13
EPERM=1
for t in 1 2; do
	name="thread $t"
	[ "$t" = 2 ] && name="the checkpointer thread"
	denied "t$t-hostname" $EACCES "$name: /etc/hostname"
	denied "t$t-secret" $EACCES "$name: a world-readable file outside the roots"
	denied "t$t-outside-dir" $EACCES "$name: a directory outside the roots"
	denied "t$t-tmp-create" $EACCES "$name: creating a file in /tmp"
	denied "t$t-root-create" $EACCES "$name: creating a file in the image root"
	allowed "t$t-root-file" "$name: a file under the image root"
	allowed "t$t-www-file" "$name: a file under the HTTP root"
	allowed "t$t-state-rw" "$name: the database, read-write"
	allowed "t$t-state-create" "$name: a new file in the state directory"
done
check "nothing was created outside the state directory" \
	test ! -e "/tmp/$LAB_ID-created" -a ! -e "$ROOT/created"
rm -f "$STATE"/created-*
denied execve $EPERM "execve"
denied unshare-user $EPERM "unshare(CLONE_NEWUSER)"
denied socket-inet6 $EPERM "an AF_INET6 socket"
denied socket-packet $EPERM "an AF_PACKET socket"
allowed socket-inet "an AF_INET socket"
denied tcp-connect $EACCES "a TCP connect (Landlock ABI 4)"
if [ "${LANDLOCK_ABI:-0}" -ge 6 ]; then
	denied abstract-connect $EPERM "a connect to an abstract UNIX socket bound outside"
else
	ok "Landlock ABI ${LANDLOCK_ABI:-0}: abstract UNIX sockets are not scoped"
fi
denied tiocsti $EPERM "TIOCSTI, typing into a terminal"
grep -q '^t1-hostname' "$WORK/gdb.log" || cat "$WORK/gdb.log"

# ---- hostile paths over the wire ---------------------------------------------------
BASE="http://$SRV_IP:$PORT"
http_nothing() { # PATH
	local code
	code=$(ip netns exec "$CLI" curl -sS --path-as-is --max-time 10 -o "$OUT/hostile" \
		-w '%{http_code}' "$BASE$1" || true)
	if [ "$code" != 200 ] &&
		! grep -qxF -e "outside the roots" -e "$(cat /etc/hostname)" "$OUT/hostile" 2>/dev/null
	then ok "HTTP $1: $code, nothing from outside"
	else not_ok "HTTP $1: $code: $(head -c 80 "$OUT/hostile")"
	fi
}
for p in /../outside/secret.txt /%2e%2e/outside/secret.txt /..%2foutside%2fsecret.txt \
	/leak /%2fetc%2fhostname //etc/hostname /boot.ipxe/../../etc/hostname; do
	http_nothing "$p"
done
tftp_nothing() { # PATH
	rm -f "$OUT/tftp"
	ip netns exec "$CLI" timeout 20 tftp -m binary "$SRV_IP" -c get "$1" "$OUT/tftp" \
		>/dev/null 2>&1 || true
	if [ ! -s "$OUT/tftp" ]; then ok "TFTP $1: nothing"
	else not_ok "TFTP $1: $(head -c 80 "$OUT/tftp")"
	fi
}
for p in ../outside/secret.txt /etc/hostname leak "iPXE.nbi/../../outside/secret.txt"; do
	tftp_nothing "$p"
done

# ---- it still works, confined --------------------------------------------------------
bsdpc() { ip netns exec "$CLI" "$BSDPC" "$@" --interface "$CLI_IF" --timeout 2 --json; }
jqf() { jq -e "$2" "$OUT/$1.json" >/dev/null; } # FILE EXPR
bsdpc list >"$OUT/list.json" || true
check "BSDP LIST lists the image" jqf list '.servers[0].images[0].name == "iPXE"'
bsdpc select --image 0x01000065 >"$OUT/select.json" || true
check "BSDP SELECT is acknowledged" jqf select '.result == "ACK"'
ip netns exec "$CLI" timeout 20 tftp -m binary "$SRV_IP" -c get iPXE.nbi/i386/booter \
	"$OUT/booter" >/dev/null 2>&1 || true
check "a TFTP fetch is byte-identical" cmp -s "$OUT/booter" "$ROOT/iPXE.nbi/i386/booter"
check "an HTTP fetch is byte-identical" bash -c "ip netns exec '$CLI' curl -sS --max-time 10 \
	'$BASE/www.txt' | cmp -s - '$WWW/www.txt'"
TOKEN=$(cat "$STATE/api-token")
api_code=$(ip netns exec "$CLI" curl -sS --max-time 10 -o /dev/null -w '%{http_code}' -X PUT \
	-H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
	--data-binary '{"kind":"shell"}' "$BASE/api/v1/profiles/confined" || true)
check "an API write succeeds ($api_code)" test "$api_code" = 201
make_bundle "$ROOT" Second 102
chmod -R a+rX "$ROOT"
kill -HUP "$BSDPD_PID"
check "SIGHUP re-reads the root" wait_for_line "$WORK/bsdpd.log" 20 "serving 2 images"
bsdpc list >"$OUT/list2.json" || true
check "LIST then has the new image" \
	jqf list2 '[.servers[0].images[].name] | sort == ["Second", "iPXE"]'
lab_stop "$BSDPD_PID"
check "it stops cleanly (LeakSanitizer included)" \
	grep -q "signal 15: stopping" "$WORK/bsdpd.log"
check "no sanitizer report" bash -c "! grep -q 'Sanitizer' '$WORK/bsdpd.log'"
rm -rf "$ROOT/Second.nbi"

# ---- detached -------------------------------------------------------------------------
# daemon() forks: the pid is found by the state directory, which only
# this test's bsdpd names.
DSTATE=$WORK/dstate
mkdir -m 700 "$DSTATE"
ip netns exec "$SRV" "$BSDPD" --root "$ROOT" --state-dir "$DSTATE" --interface "$SRV_IF" \
	--no-http --proxy-dhcp off --user nobody >"$WORK/detached.log" 2>&1 || true
DPID=
for _ in $(seq 50); do
	DPID=$(pgrep -f -- "--state-dir $DSTATE " | head -n 1 || true)
	[ -n "$DPID" ] && break
	sleep 0.1
done
if [ -z "$DPID" ]; then
	not_ok "detached: no daemon: $(cat "$WORK/detached.log")"
else
	LAB_PIDS="$LAB_PIDS $DPID"
	check "detached: confined too (Seccomp 2, CapEff 0)" bash -c \
		"grep -q '^Seccomp:.2' /proc/$DPID/status && grep -q '^CapEff:.0000000000000000' /proc/$DPID/status"
	check "detached: the checkpointer thread survives the fork" \
		test "$(ls /proc/"$DPID"/task | wc -l)" -ge 2
	# SQLite's locks are the process's that took them: a database opened
	# before the fork would be unlocked in the daemon, and the next other
	# connection to close (an admin's sqlite3) would take itself for the
	# last one, checkpoint and delete the log the daemon still writes to.
	sqlite3 "$DSTATE/bindings.sqlite" 'SELECT count(*) FROM clients' >/dev/null
	check "detached: another connection closing leaves the daemon's log" \
		test -e "$DSTATE/bindings.sqlite-wal"
	make_bundle "$ROOT" Second 102
	chmod -R a+rX "$ROOT"
	kill -HUP "$DPID"
	listed=
	for _ in $(seq 20); do
		bsdpc list >"$OUT/dlist.json" 2>/dev/null || true
		jq -e '.servers[0].images | length == 2' "$OUT/dlist.json" >/dev/null 2>&1 &&
			{ listed=1; break; }
		sleep 0.5
	done
	check "detached: SIGHUP reaches it (the new image is listed)" test -n "$listed"
	kill "$DPID"
	for _ in $(seq 100); do
		kill -0 "$DPID" 2>/dev/null || break
		sleep 0.1
	done
	check "detached: SIGTERM stops it within 10 s" bash -c "! kill -0 $DPID 2>/dev/null"
	kill -9 "$DPID" 2>/dev/null || true
	rm -rf "$ROOT/Second.nbi"
fi

# ---- unprivileged, and without Landlock -----------------------------------------------
# As systemd starts it: User=nobody, AmbientCapabilities=CAP_NET_BIND_SERVICE
# (setpriv execs, so the pid stays bsdpd's).
start_bsdpd "$WORK/unpriv.log" setpriv --reuid "$(id -u nobody)" --regid "$(id -g nobody)" \
	--clear-groups --inh-caps +net_bind_service --ambient-caps +net_bind_service \
	"$BSDPD"
check "unprivileged: confined, the bounding set left as it was given" bash -c \
	"grep -q 'confined: landlock ABI [0-9]*, seccomp.*, no capabilities, no_new_privs' \
	'$WORK/unpriv.log' && ! grep -q 'bounding set empty' '$WORK/unpriv.log'"
check "unprivileged: the ambient CAP_NET_BIND_SERVICE is gone" status_is CapAmb 0000000000000000
check "unprivileged: CapEff, CapPrm and CapInh 0" bash -c \
	"status_is() { for f in /proc/$BSDPD_PID/task/*/status; do grep -q \"^\$1:.0000000000000000\" \$f || return 1; done; }
	 status_is CapEff && status_is CapPrm && status_is CapInh"
check "unprivileged: Seccomp 2" status_is Seccomp 2
lab_stop "$BSDPD_PID"

# Root in a bounding set without CAP_SETPCAP (a service manager's
# CapabilityBoundingSet=): --user still works, and the set stays as given.
start_bsdpd "$WORK/bounded.log" setpriv --bounding-set -setpcap "$BSDPD" --user nobody
check "bounded root: --user works, the set is not called empty" bash -c \
	"grep -q 'confined: landlock ABI [0-9]*, seccomp.*, no capabilities, no_new_privs' \
	'$WORK/bounded.log' && ! grep -q 'bounding set empty' '$WORK/bounded.log'"
check "bounded root: CapEff, CapPrm and CapAmb 0" bash -c \
	"for c in CapEff CapPrm CapAmb; do grep -q \"^\$c:.0000000000000000\" /proc/$BSDPD_PID/status || exit 1; done"
lab_stop "$BSDPD_PID"

cc -O2 -Wall -o "$WORK/no_landlock" "$(dirname "$0")/no_landlock.c"
start_bsdpd "$WORK/nolandlock.log" "$WORK/no_landlock" "$BSDPD" --user nobody
check "without Landlock: it says so, and starts with the rest" grep -q \
	"confined: no landlock (this kernel has none; files are not confined), seccomp" \
	"$WORK/nolandlock.log"
lab_stop "$BSDPD_PID"

lab_done
