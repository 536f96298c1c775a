#!/bin/bash
# Half-open floods: requests that are never acknowledged, from one address
# and from many (spoofed) addresses, while real clients (tftp-hpa, curl)
# fetch the booter.  Every real fetch must succeed: the per-client limit
# stops the one address, and a full table gives up its oldest half-open
# transfer (a SYN cache) for the many.  Then the bytes one unacknowledged
# request draws toward its (unproven) source, counted by the flooding
# sockets themselves, must stay within the bound in include/tftp.h.
# Last, an EDK2-style size probe (RRQ with tsize, OACK, ERROR 8) is
# logged as a size probe, not as a failed transfer.
#
# The flood comes from tools/bench/tftp-load -F: each request from a new
# port, ports held open so that the server sees no ICMP error.  The
# "spoofed" sources are extra addresses on the client's veth, so that the
# server's replies can be counted.
BSDPD=${BSDPD:-build/san/bsdpd}
TFTP_LOAD=${TFTP_LOAD:-build/san/tftp-load}
LAB_PREFIX=btf
LAB_NET=198.18.9
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

for c in tftp curl cmp jq python3; do
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
cp /usr/lib/ipxe/snponly.efi "$ROOT/snponly.efi"
chmod -R a+rX "$ROOT"
SNP=$ROOT/snponly.efi
cli() { ip netns exec "$CLI" "$@"; }

# The flooding addresses: .50 alone, and .100-.254 as 155 "spoofed" sources.
ip -n "$CLI" addr add "$LAB_NET.50/24" dev "$CLI_IF"
for i in $(seq 100 254); do ip -n "$CLI" addr add "$LAB_NET.$i/24" dev "$CLI_IF"; done

lab_spawn "$SRV" "$LOG" "$BSDPD" --foreground --root "$ROOT" --state-dir "$STATE" \
	--interface "$SRV_IF"
BSDPD_PID=$LAST_PID
wait_for_line "$LOG" 10 "ready" || { cat "$LOG"; exit 1; }

# legit TAG: six fetches one after the other by tftp-hpa and curl from
# the client's own address; prints "ok/6 median-ms max-ms".
legit() {
	ok=0
	: >"$OUT/$1.ms"
	for k in 1 2 3 4 5 6; do
		f=$OUT/$1.$k
		t0=$(date +%s%N)
		if [ $((k % 2)) -eq 1 ]; then
			cli timeout 30 tftp -m binary "$SRV_IP" -c get snponly.efi "$f" >"$f.log" 2>&1 || true
		else
			cli timeout 30 curl -sS --tftp-blksize 1468 -o "$f" "tftp://$SRV_IP/snponly.efi" \
				>"$f.log" 2>&1 || true
		fi
		echo $((($(date +%s%N) - t0) / 1000000)) >>"$OUT/$1.ms"
		if cmp -s "$f" "$SNP"; then ok=$((ok + 1)); else sed 's/^/#   /' "$f.log" | head -n 1 >&2; fi
	done
	echo "$ok/6 $(sort -n "$OUT/$1.ms" | sed -n 3p) $(sort -n "$OUT/$1.ms" | tail -n 1)"
}

# flood TAG ARGS...: tftp-load -F in the background.
flood() {
	tag=$1
	shift
	lab_spawn "$CLI" "$OUT/$tag.json" "$TFTP_LOAD" -s "$SRV_IP" -f snponly.efi "$@"
	FLOOD_PID=$LAST_PID
}

# ---- what one unacknowledged request draws --------------------------------------
# 5 requests from each of 150 addresses, on a fresh server: within every
# limit, so each one gets a transfer that is never acknowledged.  Held
# 30 s: longer than a transfer was kept alive before (8 sends, about 27 s).
flood bare -F 500 -a "$LAB_NET.100" -k 100 -r 500 -H 30
BARE_PID=$FLOOD_PID
flood opts -F 250 -a "$LAB_NET.200" -k 50 -r 500 -b 1432 -t -H 30
wait "$BARE_PID" || true
wait "$FLOOD_PID" || true
sleep 1 # the last of them end (ICMP port unreachable now)
bare=$(tail -n 1 "$OUT/bare.json")
opts=$(tail -n 1 "$OUT/opts.json")
echo "# bare RRQs: $bare"
echo "# RRQs with blksize and tsize: $opts"
per() { echo "$1" | jq -r '.bytes_per_request'; }
jq_ok() { echo "$1" | jq -e "$2" >/dev/null; }
len() { echo "$1" | jq -r '.request_bytes'; }
check "a bare RRQ of $(len "$bare") bytes draws at most 3 x 516 bytes ($(per "$bare"))" \
	jq_ok "$bare" '.bytes_per_request <= 1548 and .requests == 500'
check "an RRQ with options of $(len "$opts") bytes draws at most 3 x (its size + 19) ($(per "$opts"))" \
	jq_ok "$opts" '.bytes_per_request <= 3 * (.request_bytes + 19) and .requests == 250'

# ---- one address: 3000 half-open requests at 500/s ----------------------------
flood one -F 3000 -a "$LAB_NET.50" -r 500 -b 1432 -t -H 3
sleep 2.5 # 1250 sent: more than --tftp-max-transfers
res=$(legit one)
wait "$FLOOD_PID" || true
echo "# one-address flood: $(tail -n 1 "$OUT/one.json")"
check "during a one-address flood, real fetches succeed ($res: ok, median ms, max ms)" \
	test "${res%%/*}" -eq 6
check "the flood is refused per address" grep -q 'refused: too many transfers from this address' "$LOG"

# ---- 155 addresses: 4000 half-open requests at 1000/s --------------------------
flood many -F 4000 -a "$LAB_NET.100" -k 155 -r 1000 -b 1432 -t -H 3
sleep 1.5
res=$(legit many)
wait "$FLOOD_PID" || true
echo "# many-address flood: $(tail -n 1 "$OUT/many.json")"
check "during a many-address flood, real fetches succeed ($res: ok, median ms, max ms)" \
	test "${res%%/*}" -eq 6
check "a full table gives up its oldest half-open transfers" \
	grep -q 'evicted before the first ACK' "$LOG"
check "no real fetch was evicted or refused" \
	bash -c "! grep -qE '$CLI_IP:.*(evicted|refused)' '$LOG'"
# ---- a size probe, as EDK2 sends it -----------------------------------------------
cli python3 - "$SRV_IP" <<'PY' >"$OUT/probe.log" 2>&1 || true
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(5)
s.sendto(b"\0\1snponly.efi\0octet\0tsize\0" b"0\0blksize\0" b"1468\0", (sys.argv[1], 69))
oack, peer = s.recvfrom(2048)
print(oack)
s.sendto(b"\0\5\0\10User aborted the transfer\0", peer)
PY
check "a size probe is logged as one (tsize 173792)" \
	wait_for_line "$LOG" 5 '"snponly.efi" octet size probe: tsize 173792'
check "and not as a failed transfer" bash -c "! grep -q 'client error 8' '$LOG'"

lab_stop "$BSDPD_PID"
check "bsdpd exited cleanly (no sanitizer report)" bash -c "! grep -q 'Sanitizer' '$LOG'"
lab_done
