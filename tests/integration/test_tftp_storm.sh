#!/bin/bash
# A boot storm: 200 real TFTP clients at once (tftp-hpa, atftp, curl,
# busybox, 50 each) fetch snponly.efi while bsdpc sends BSDP LISTs; every
# fetch must be byte-identical and every LIST answered, because TFTP and
# BSDP share one event loop that never blocks.  Then the same with
# --tftp-single-port (transfers told apart by client address and port),
# and the limits: beyond --tftp-max-transfers a request gets an ERROR at
# once, and abandoned transfers are reaped so that the slots come back.
#
# All 200 clients share the client namespace's one address, which real
# machines never do, so the storm runs with --tftp-max-per-client 200: the
# per-client limit (default 8) and floods are test_tftp_flood.sh's.
BSDPD=${BSDPD:-build/san/bsdpd}
BSDPC=${BSDPC:-build/san/bsdpc}
TFTP_LOAD=${TFTP_LOAD:-build/san/tftp-load}
LAB_PREFIX=bts
LAB_NET=198.18.7
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

for c in tftp atftp curl busybox cmp jq; do
	command -v "$c" >/dev/null 2>&1 || lab_skip "needs $c"
done
[ -r /usr/lib/ipxe/snponly.efi ] || lab_skip "needs /usr/lib/ipxe/snponly.efi (package ipxe)"
[ -x "$TFTP_LOAD" ] || lab_skip "needs $TFTP_LOAD (make $TFTP_LOAD)"
lab_up

ROOT=$WORK/root
STATE=$WORK/state
OUT=$WORK/out
LOG=$WORK/bsdpd.log
mkdir -p "$ROOT" "$STATE" "$OUT"
make_bundle "$ROOT" iPXE 101 "<key>IsDefault</key><true/>"
cp /usr/lib/ipxe/snponly.efi "$ROOT/snponly.efi"
chmod -R a+rX "$ROOT"
SNP=$ROOT/snponly.efi

start_bsdpd() {
	: >"$LOG"
	lab_spawn "$SRV" "$LOG" "$BSDPD" --foreground --root "$ROOT" --state-dir "$STATE" \
		--interface "$SRV_IF" --tftp-max-per-client 200 "$@"
	BSDPD_PID=$LAST_PID
	wait_for_line "$LOG" 10 "ready" || { cat "$LOG"; exit 1; }
}
cli() { ip netns exec "$CLI" "$@"; }

# fetch N: client N waits in the client namespace until $WORK/go exists,
# then fetches: starting 200 processes takes seconds here, so they are all
# started first and let go at once.
fetch() {
	case $(($1 % 4)) in
	0) set -- "$1" tftp -m binary "$SRV_IP" -c get snponly.efi "$OUT/$1" ;;
	1) set -- "$1" atftp --option "blksize 1432" --option "tsize 0" -g -r snponly.efi \
		-l "$OUT/$1" "$SRV_IP" ;;
	2) set -- "$1" curl -sS --tftp-blksize 1468 -o "$OUT/$1" "tftp://$SRV_IP/snponly.efi" ;;
	3) set -- "$1" busybox tftp -g -b 1468 -r snponly.efi -l "$OUT/$1" "$SRV_IP" ;;
	esac
	n=$1
	shift
	cli bash -c 'touch "$1"; shift; while [ ! -e "$0" ]; do sleep 0.02; done; exec "$@"' \
		"$WORK/go" "$OUT/$n.ready" "$@" >"$OUT/$n.log" 2>&1 || true
}

# ---- 200 clients at once, BSDP LISTs in the middle ---------------------------
start_bsdpd
pids=""
for i in $(seq 1 200); do
	fetch "$i" &
	pids="$pids $!"
done
for _ in $(seq 1 600); do
	[ "$(find "$OUT" -name '*.ready' | wc -l)" -ge 200 ] && break
	sleep 0.1
done
start=$(date +%s%N)
touch "$WORK/go"
lists=0
if [ -x "$BSDPC" ]; then
	# LISTs go out one after the other (each binds port 68) while the
	# 200 transfers run.
	for k in 1 2 3; do
		lists=$k
		cli "$BSDPC" list --interface "$CLI_IF" --timeout 1 --json >"$WORK/list$k.json" \
			2>"$WORK/list$k.err" || true
	done
fi
answered=0
for k in $(seq 1 "$lists"); do
	jq -e '.servers[0].images | length > 0' "$WORK/list$k.json" >/dev/null 2>&1 &&
		answered=$((answered + 1))
done
for p in $pids; do wait "$p" || true; done
secs=$((($(date +%s%N) - start) / 1000000))
same=0
for i in $(seq 1 200); do
	if cmp -s "$OUT/$i" "$SNP"; then
		same=$((same + 1))
	else
		echo "# client $i ($(head -c 300 "$OUT/$i.log" | tr '\n' ' '))"
	fi
done
check "200 concurrent clients: all byte-identical ($same/200 in ${secs} ms)" test "$same" -eq 200
check "the server logged 200 complete transfers" \
	test "$(grep -c '"snponly.efi" octet 173792 bytes .*: complete' "$LOG")" -eq 200
check "no transfer ended any other way (repeated RRQs are not new requests)" \
	bash -c "! grep -qE 'refused|unreachable|timed out|client error|superseded' '$LOG'"
grep -E 'refused|unreachable|timed out|client error|superseded' "$LOG" | head -n 5 |
	sed 's/^/# /'
if [ -x "$BSDPC" ]; then
	check "every BSDP LIST sent during the storm was answered ($answered/$lists)" \
		test "$answered" -eq "$lists"
	# Where the first ACK[LIST] sits among the transfers in bsdpd's log.
	first=$(grep -n 'ACK\[LIST\]' "$LOG" | head -n 1 | cut -d: -f1)
	after=$(tail -n +"${first:-1}" "$LOG" | grep -c ': complete' || true)
	check "the first LIST was answered while $after of 200 transfers were still running" \
		test -n "$first" -a "$after" -gt 0
else
	echo "# SKIP: BSDP LIST during the storm: $BSDPC not built"
fi

# ---- single port: 200 transfers told apart by client address and port --------
lab_stop "$BSDPD_PID"
start_bsdpd --tftp-single-port
res=$(cli "$TFTP_LOAD" -s "$SRV_IP" -f snponly.efi -n 200 -c 200 -b 1432 -e 173792 2>&1 | tail -n 1)
check "--tftp-single-port: 200 concurrent transfers complete ($res)" \
	bash -c "echo '$res' | jq -e '.ok == 200' >/dev/null"

# ---- the transfer cap and reaping ----------------------------------------------
lab_stop "$BSDPD_PID"
start_bsdpd --tftp-max-transfers 3
# Three clients ask, acknowledge the first reply and then never answer:
# established, they hold all three slots (half-open ones would be evicted).
lab_spawn "$CLI" "$WORK/hang.log" "$TFTP_LOAD" -s "$SRV_IP" -f snponly.efi -n 3 -H 45
sleep 1
t0=$(date +%s%N)
err=$(cli "$TFTP_LOAD" -s "$SRV_IP" -f snponly.efi -o "$OUT/capped" 2>&1 | tail -n 1 || true)
ms=$((($(date +%s%N) - t0) / 1000000))
check "beyond --tftp-max-transfers a request gets an ERROR at once (${ms} ms): $err" \
	bash -c "[[ '$err' == *'Too many transfers'* ]] && [ $ms -lt 1000 ]"
check "the refusal is logged" grep -q 'refused: too many transfers' "$LOG"
check "the three abandoned transfers are reaped (timed out)" \
	bash -c "for i in \$(seq 1 400); do [ \$(grep -c ': timed out' '$LOG') -ge 3 ] && exit 0; sleep 0.1; done; exit 1"
rm -f "$OUT/after"
cli "$TFTP_LOAD" -s "$SRV_IP" -f snponly.efi -o "$OUT/after" >/dev/null 2>&1 || true
check "and their slots serve new requests" cmp -s "$OUT/after" "$SNP"

lab_stop "$BSDPD_PID"
check "bsdpd exited cleanly (no sanitizer report)" bash -c "! grep -q 'Sanitizer' '$LOG'"
lab_done
