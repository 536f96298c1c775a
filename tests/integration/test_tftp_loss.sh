#!/bin/bash
# TFTP under loss and reordering: 10% of the packets in each direction of
# the veth pair are dropped and 5% reordered, and 50 transfers by four
# different clients, lock-step and windowed, must all complete
# byte-identical.  The server's log must show retransmissions (its timer
# did the recovering) and no failure.
#
# The impairment is netem (`delay 1ms loss 10% reorder 5%`; the delay lets
# netem reorder at all).  Kernels built without netem (the Firecracker VMs
# this project's CI runs on have CONFIG_NET_SCH_NETEM off) get the same
# impairment from a small cls_bpf program instead: it drops 10% of the
# packets and steers 5% through a slow HTB class, so that they arrive
# after packets sent later.
BSDPD=${BSDPD:-build/san/bsdpd}
TFTP_LOAD=${TFTP_LOAD:-build/san/tftp-load}
LAB_PREFIX=btl
LAB_NET=198.18.5
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

for c in tftp curl busybox tc cmp; do
	command -v "$c" >/dev/null 2>&1 || lab_skip "needs $c"
done
[ -r /usr/lib/ipxe/snponly.efi ] || lab_skip "needs /usr/lib/ipxe/snponly.efi (package ipxe)"
[ -x "$TFTP_LOAD" ] || lab_skip "needs $TFTP_LOAD (make $TFTP_LOAD)"
lab_up

build_impair_bpf() {
	command -v clang >/dev/null 2>&1 || return 1
	cat >"$WORK/impair.c" <<'BPF'
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#define SEC(n) __attribute__((section(n), used))
static __u32 (*prandom)(void) = (void *)BPF_FUNC_get_prandom_u32;
SEC("classifier") int impair(struct __sk_buff *skb)
{
	__u32 r = prandom() % 1000;

	if (r < 100)
		return TC_ACT_SHOT;                            /* 10% lost */
	skb->tc_classid = r < 150 ? 0x10002 : 0x10001; /* 5% late */
	return TC_ACT_OK;
}
char _license[] SEC("license") = "GPL";
BPF
	clang -O2 -target bpf -I"/usr/include/$(gcc -dumpmachine 2>/dev/null)" \
		-c "$WORK/impair.c" -o "$WORK/impair.o"
}

# impair NS IF: 10% loss and 5% reordering on IF's egress.
impair() {
	if tc -n "$1" qdisc add dev "$2" root netem delay 1ms loss 10% reorder 5% 2>/dev/null; then
		IMPAIR=netem
		return 0
	fi
	{ [ -f "$WORK/impair.o" ] || build_impair_bpf; } || return 1
	tc -n "$1" qdisc add dev "$2" root handle 1: htb default 1 &&
		tc -n "$1" class add dev "$2" parent 1: classid 1:1 htb rate 10gbit quantum 60000 &&
		tc -n "$1" class add dev "$2" parent 1: classid 1:2 htb rate 20mbit quantum 1600 &&
		tc -n "$1" filter add dev "$2" parent 1: bpf obj "$WORK/impair.o" sec classifier da
	IMPAIR="cls_bpf + htb (this kernel has no netem)"
}
for ns_if in "$SRV:$SRV_IF" "$CLI:$CLI_IF"; do
	ip -n "${ns_if%%:*}" link set "${ns_if#*:}" txqueuelen 10000
	impair "${ns_if%%:*}" "${ns_if#*:}" >>"$WORK/impair.err" 2>&1 ||
		lab_skip "needs netem, or clang and tc with eBPF to emulate it: $(tail -n 2 "$WORK/impair.err")"
done
echo "# impairment: $IMPAIR"

ROOT=$WORK/root
STATE=$WORK/state
OUT=$WORK/out
LOG=$WORK/bsdpd.log
mkdir -p "$ROOT" "$STATE" "$OUT"
cp /usr/lib/ipxe/snponly.efi "$ROOT/snponly.efi"
chmod -R a+rX "$ROOT"
# The 25 clients of a batch share the client namespace's one address,
# which real machines never do: hence --tftp-max-per-client 25.
lab_spawn "$SRV" "$LOG" "$BSDPD" --foreground --root "$ROOT" --state-dir "$STATE" \
	--interface "$SRV_IF" --tftp-max-per-client 25
BSDPD_PID=$LAST_PID
wait_for_line "$LOG" 10 "ready" || { cat "$LOG"; exit 1; }

cli() { ip netns exec "$CLI" "$@"; }

# fetch N CLIENT: transfer number N by CLIENT into $OUT/N; each client
# gives up on its own after its retries, and curl (whose TFTP timeout is
# an hour by default) gets --max-time, so no fetch hangs the test.
# atftp 0.8.0 is left out here: it ignores a repeated DATA instead of
# acknowledging it again, and aborts on a repeated OACK ("unexpected
# OACK"), so after a lost ACK it waits for its own 5 s timeout or fails,
# with any server (test_tftp_interop.sh covers it without loss).
fetch() {
	f=snponly.efi
	echo "$f" >"$OUT/$1.name"
	case $2 in
	hpa) cli tftp -m binary "$SRV_IP" -c get "$f" "$OUT/$1" ;;
	curl) cli curl -sS --max-time 120 --tftp-blksize 1432 -o "$OUT/$1" "tftp://$SRV_IP/$f" ;;
	busybox) cli busybox tftp -g -b 1432 -r "$f" -l "$OUT/$1" "$SRV_IP" ;;
	ours) cli "$TFTP_LOAD" -s "$SRV_IP" -f "$f" -o "$OUT/$1" -b 1432 -t ;;
	ours-window) cli "$TFTP_LOAD" -s "$SRV_IP" -f "$f" -o "$OUT/$1" -b 1468 -w 8 -t ;;
	esac >"$OUT/$1.log" 2>&1
}

clients=(hpa curl busybox ours ours-window)
start=$(date +%s)
for batch in 0 1; do
	pids=""
	for i in $(seq $((batch * 25 + 1)) $((batch * 25 + 25))); do
		fetch "$i" "${clients[$((i % 5))]}" &
		pids="$pids $!"
	done
	for p in $pids; do wait "$p" || true; done
done
secs=$(($(date +%s) - start))

identical=0
for i in $(seq 1 50); do
	if cmp -s "$OUT/$i" "$ROOT/$(cat "$OUT/$i.name")"; then
		identical=$((identical + 1))
	else
		echo "# transfer $i (${clients[$((i % 5))]}) differs or failed:"
		sed 's/^/#   /' "$OUT/$i.log" | tail -n 3
	fi
done
check "50 transfers under 10% loss and 5% reordering are byte-identical ($identical/50, ${secs}s)" \
	test "$identical" -eq 50
echo "# server egress: $(tc -n "$SRV" -s qdisc show dev "$SRV_IF" | grep -o 'Sent [0-9]* bytes [0-9]* pkt (dropped [0-9]*' | head -n 1))"
retx=$(grep -o 'retransmits [0-9]*' "$LOG" | awk '{s += $2} END {print s + 0}')
check "the server's timer recovered the losses ($retx retransmissions logged)" test "$retx" -gt 0
# A transfer whose first datagram or its ACK is lost 3 times sends no more
# and waits for a late ACK or a repeated RRQ (include/tftp.h); either way
# the fetches above are all whole.  Nothing acknowledged may time out.
echo "# given up before the first ACK, then fetched again: $(grep -c 'timed out before the first ACK' "$LOG" || true)"
check "no acknowledged transfer timed out on the server" bash -c "! grep -q ': timed out$' '$LOG'"
lab_stop "$BSDPD_PID"
check "bsdpd exited cleanly (no sanitizer report)" bash -c "! grep -q 'Sanitizer' '$LOG'"
lab_done
