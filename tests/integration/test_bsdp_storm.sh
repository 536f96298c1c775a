#!/bin/bash
# A BSDP boot storm on one segment: 400 Macs (tools/bench/bsdp_load
# --count, each with a MAC of its own) send INFORM[LIST] at the same
# moment, then INFORM[SELECT].  Every SELECT commits a binding while the
# rest wait in port 67's receive buffer; the kernel's default (208 KiB)
# held about 90 of them, and the others were dropped, so those Macs sat
# out their firmware's retransmission timer (tools/bench/campus-storm.sh
# found it).
#   - the sockets of ports 67 and 69 get a 4 MiB receive buffer
#     (SO_RCVBUFFORCE, as root), which the kernel doubles;
#   - all 400 Macs are answered on their first try, and the server's
#     namespace counts no UDP receive-buffer drop;
#   - started without CAP_NET_ADMIN (as the systemd unit starts it), the
#     buffer is what SO_RCVBUF may take, net.core.rmem_max, and BSDP is
#     still answered.
BSDPD=${BSDPD:-build/san/bsdpd}
BSDP_LOAD=${BSDP_LOAD:-build/san/bsdp_load}
LAB_PREFIX=bbs
LAB_NET=198.18.54
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

MACS=400
[ -x "$BSDP_LOAD" ] || lab_skip "needs $BSDP_LOAD (make $BSDP_LOAD)"
command -v setpriv >/dev/null 2>&1 || lab_skip "needs setpriv (util-linux)"
lab_up

ROOT=$WORK/root
STATE=$WORK/state
LOG=$WORK/bsdpd.log
mkdir -p "$ROOT" "$STATE"
chmod 700 "$STATE"
make_bundle "$ROOT" iPXE 101 "<key>IsDefault</key><true/>"
chmod -R a+rX "$ROOT"

start_bsdpd() { # [PREFIX...]: bsdpd started through it
	: >"$LOG"
	lab_spawn "$SRV" "$LOG" "$@" "$BSDPD" --foreground --root "$ROOT" --state-dir "$STATE" \
		--interface "$SRV_IF" --proxy-dhcp off --no-http
	BSDPD_PID=$LAST_PID
	wait_for_line "$LOG" 20 "ready" || { cat "$LOG"; exit 1; }
}
# rcvbuf PORT: the receive buffer of bsdpd's UDP socket on PORT (ss -m).
rcvbuf() {
	ip netns exec "$SRV" ss -Hlumn "sport = :$1" | sed -n 's/.*skmem:([^)]*rb\([0-9]*\).*/\1/p' |
		head -n 1
}
# The namespace's UDP RcvbufErrors (/proc/net/snmp is per namespace).
rcvbuf_errors() {
	ip netns exec "$SRV" awk '$1 == "Udp:" { if (!h) { for (i = 2; i <= NF; i++) c[$i] = i; h = 1 }
		else print $c["RcvbufErrors"] }' /proc/net/snmp
}
field() { tr ' ' '\n' <"$1" | sed -n "s/^$2=//p"; }

start_bsdpd
check "port 67's receive buffer is 4 MiB, doubled" test "$(rcvbuf 67)" = 8388608
check "port 69's too" test "$(rcvbuf 69)" = 8388608

drops0=$(rcvbuf_errors)
# A generous timeout: a Mac counted as retrying is one whose request was
# lost, not one answered late by a sanitizer build.
timeout 120 ip netns exec "$CLI" "$BSDP_LOAD" --interface "$CLI_IF" --count "$MACS" \
	--window "$MACS" --timeout 10000 --seconds 60 >"$WORK/storm" || true
cat "$WORK/storm"
check "all $MACS Macs got their ACK[SELECT]" test "$(field "$WORK/storm" completed)" = "$MACS"
check "each on its first try" test "$(field "$WORK/storm" timeouts)" = 0
check "the server's namespace dropped no datagram" test "$(rcvbuf_errors)" = "$drops0"
lab_stop "$BSDPD_PID"

# As under the systemd unit: no CAP_NET_ADMIN, so no SO_RCVBUFFORCE.
start_bsdpd setpriv --bounding-set -net_admin --inh-caps -net_admin
bnd=$(awk '$1 == "CapBnd:" { print $2 }' "/proc/$BSDPD_PID/status")
check "it runs without CAP_NET_ADMIN" test $((0x$bnd >> 12 & 1)) = 0
max=$(ip netns exec "$SRV" cat /proc/sys/net/core/rmem_max)
want=$((max < 4194304 ? max : 4194304))
check "without CAP_NET_ADMIN the buffer is what rmem_max allows" \
	test "$(rcvbuf 67)" = $((2 * want))
timeout 60 ip netns exec "$CLI" "$BSDP_LOAD" --interface "$CLI_IF" --count 20 --window 20 \
	--seconds 30 >"$WORK/small" || true
check "and BSDP is answered" test "$(field "$WORK/small" completed)" = 20
check "no sanitizer reports" bash -c "! grep -q Sanitizer '$LOG'"

lab_done
