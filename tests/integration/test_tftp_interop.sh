#!/bin/bash
# TFTP interop: bsdpd serves its --root in one namespace, Debian's TFTP
# clients fetch from the other, and every fetch must be byte-identical.
#   - tftp-hpa (RFC 1350, no options; octet and netascii), atftp (blksize,
#     tsize, windowsize), curl (tsize, blksize, timeout), busybox (blksize),
#     and our own client (tools/tftp_fetch.c via tftp-load -o);
#   - snponly.efi, a bundle's booter by every spelling of its path, and a
#     40 MB file at blksize 512 (78125 blocks: the block number rolls over);
#   - client quirks: trailing NUL / 0xFF garbage, 0xFF after the name;
#   - WRQ refused with error 2, a missing file answered with error 1 at once;
#   - blksize capped by the link MTU and by --tftp-max-blksize;
#   - replies from a per-transfer port, or all from port 69 with
#     --tftp-single-port (checked with tshark); --user keeps TFTP working;
#     --no-tftp leaves 69 closed.
BSDPD=${BSDPD:-build/san/bsdpd}
TFTP_LOAD=${TFTP_LOAD:-build/san/tftp-load}
LAB_PREFIX=bti
LAB_NET=198.18.4
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

for c in tftp atftp curl busybox tshark cmp ss; do
	command -v "$c" >/dev/null 2>&1 || lab_skip "needs $c"
done
[ -r /usr/lib/ipxe/snponly.efi ] || lab_skip "needs /usr/lib/ipxe/snponly.efi (package ipxe)"
[ -x "$TFTP_LOAD" ] || lab_skip "needs $TFTP_LOAD (make $TFTP_LOAD)"
lab_up

ROOT=$WORK/root
STATE=$WORK/state
OUT=$WORK/out
mkdir -p "$ROOT" "$STATE" "$OUT"
make_bundle "$ROOT" iPXE 101
cp /usr/lib/ipxe/snponly.efi "$ROOT/snponly.efi"
head -c 40000000 /dev/urandom >"$ROOT/big40.bin"
chmod -R a+rX "$ROOT"
SNP=$ROOT/snponly.efi
BIG=$ROOT/big40.bin
BOOTER=$ROOT/iPXE.nbi/i386/booter
LOG=$WORK/bsdpd.log

start_bsdpd() {
	lab_spawn "$SRV" "$LOG" "$BSDPD" --foreground --root "$ROOT" --state-dir "$STATE" \
		--interface "$SRV_IF" "$@"
	BSDPD_PID=$LAST_PID
	wait_for_line "$LOG" 10 "ready" || { cat "$LOG"; exit 1; }
}

restart_bsdpd() {
	lab_stop "$BSDPD_PID"
	: >"$LOG"
	start_bsdpd "$@"
}

cli() { ip netns exec "$CLI" "$@"; }
same() { cmp -s "$1" "$2"; }
logged() { wait_for_line "$LOG" 5 "$1"; }

# fetch_with CLIENT FILE OUT [BLKSIZE]: one fetch by a real client.
fetch_with() {
	case $1 in
	hpa) cli tftp -m binary "$SRV_IP" -c get "$2" "$3" ;;
	hpa-netascii) cli tftp -m netascii "$SRV_IP" -c get "$2" "$3" ;;
	atftp) cli atftp --option "blksize ${4:-1432}" --option "tsize 0" \
		--option "windowsize 8" -g -r "$2" -l "$3" "$SRV_IP" ;;
	curl) cli curl -sS --tftp-blksize "${4:-1468}" -o "$3" "tftp://$SRV_IP/$2" ;;
	busybox) cli busybox tftp -g -b "${4:-1468}" -r "$2" -l "$3" "$SRV_IP" ;;
	ours) cli "$TFTP_LOAD" -s "$SRV_IP" -f "$2" -o "$3" -t -b "${4:-1468}" -w 16 ;;
	esac >>"$WORK/clients.log" 2>&1 || true
}

start_bsdpd

# ---- every client, snponly.efi -----------------------------------------------
for c in hpa hpa-netascii atftp curl busybox ours; do
	rm -f "$OUT/snp.$c"
	fetch_with "$c" snponly.efi "$OUT/snp.$c"
	check "$c: snponly.efi is byte-identical" same "$OUT/snp.$c" "$SNP"
done
check "tftp-hpa without options gets RFC 1350 blksize 512" \
	logged '"snponly.efi" octet 173792 bytes blksize 512 windowsize 1 .*: complete'
check "netascii is converted (174554 bytes on the wire) and restored by the client" \
	logged '"snponly.efi" netascii 174554 bytes blksize 512 windowsize 1'
check "atftp gets blksize 1432 and windowsize 8 (RFC 2348, RFC 7440)" \
	logged '"snponly.efi" octet 173792 bytes blksize 1432 windowsize 8 '
check "the log line has client, file, bytes, blksize, windowsize, time, retransmits, outcome" \
	grep -Eq "tftp $CLI_IP:[0-9]+ \"snponly.efi\" octet 173792 bytes blksize [0-9]+ windowsize [0-9]+ [0-9.]+ s [0-9.]+ MB/s retransmits [0-9]+: complete" "$LOG"
check "our client printed the transfer rate" grep -q "MB/s (blksize 1468, windowsize 16)" \
	"$WORK/clients.log"

# ---- the booter BSDP announces, by every spelling ------------------------------
i=0
for name in iPXE.nbi/i386/booter /iPXE.nbi/i386/booter "$ROOT/iPXE.nbi/i386/booter" \
	'iPXE.nbi\i386\booter' '\iPXE.nbi\i386\booter' iPXE.nbi//i386/./booter; do
	i=$((i + 1))
	cli "$TFTP_LOAD" -s "$SRV_IP" -f "$name" -o "$OUT/booter.$i" -b 1432 >/dev/null 2>&1 || true
	check "booter fetched as '$name'" same "$OUT/booter.$i" "$BOOTER"
done

# ---- 40 MB at blksize 512: 78125 blocks, so block numbers roll over -------------
for c in hpa atftp curl busybox ours; do
	rm -f "$OUT/big.$c"
	fetch_with "$c" big40.bin "$OUT/big.$c" 512
	check "$c: 40 MB at blksize 512 (rollover) is byte-identical" same "$OUT/big.$c" "$BIG"
done

# ---- client quirks ---------------------------------------------------------------
for q in nul ff name-ff; do
	rm -f "$OUT/quirk.$q"
	cli "$TFTP_LOAD" -s "$SRV_IP" -f snponly.efi -q "$q" -o "$OUT/quirk.$q" >/dev/null 2>&1 || true
	check "quirk '$q' in the request is tolerated" same "$OUT/quirk.$q" "$SNP"
done

# ---- refusals ----------------------------------------------------------------------
echo data >"$OUT/upload.bin"
cli tftp "$SRV_IP" -c put "$OUT/upload.bin" upload.bin >"$WORK/put.log" 2>&1 || true
check "a write request gets error 2, access violation" grep -q "Error code 2" "$WORK/put.log"
check "and nothing is written" test ! -e "$ROOT/upload.bin"
start=$(date +%s%N)
rc=0
cli curl -sS -o "$OUT/autoexec.ipxe" "tftp://$SRV_IP/autoexec.ipxe" 2>"$WORK/missing.log" || rc=$?
ms=$((($(date +%s%N) - start) / 1000000))
check "a missing file gets error 1 (curl exit 68)" test "$rc" -eq 68
check "at once: iPXE's autoexec.ipxe probe is answered in ${ms} ms" test "$ms" -lt 1000
check "the refusal is logged" logged '"autoexec.ipxe": refused: file not found'

# ---- blksize caps -------------------------------------------------------------------
ip -n "$SRV" link set "$SRV_IF" mtu 1400
sleep 2.5 # bsdpd caches interface facts for 2 s
fetch_with atftp snponly.efi "$OUT/mtu.efi" 1468
check "MTU 1400 link: blksize capped at 1368 (MTU - 32)" \
	logged '"snponly.efi" octet 173792 bytes blksize 1368 windowsize 8'
check "and the file is intact" same "$OUT/mtu.efi" "$SNP"
ip -n "$SRV" link set "$SRV_IF" mtu 1500
restart_bsdpd --tftp-max-blksize 1024
fetch_with busybox snponly.efi "$OUT/cap.efi" 1468
check "--tftp-max-blksize 1024 caps a 1468 request" \
	logged '"snponly.efi" octet 173792 bytes blksize 1024 '
check "and the file is intact" same "$OUT/cap.efi" "$SNP"

# ---- ports: one per transfer, or all on 69 -------------------------------------------
# Prints the distinct UDP source ports of bsdpd's packets during one fetch.
capture_ports() {
	cap=$WORK/cap.$1
	cli tshark -i "$CLI_IF" -f "udp and src host $SRV_IP" -w "$cap.pcap" >"$cap.err" 2>&1 &
	tpid=$!
	wait_for_line "$cap.err" 60 "Capturing on" || true
	fetch_with busybox snponly.efi "$OUT/port.$1"
	sleep 1
	kill -TERM "$tpid" 2>/dev/null || true
	wait "$tpid" 2>/dev/null || true
	tshark -r "$cap.pcap" -T fields -e udp.srcport 2>/dev/null | sort -u | tr '\n' ' '
}

# tshark can be slow to start on a loaded machine and miss the fetch;
# an empty capture is retried rather than taken as an answer.
server_ports() {
	for try in 1 2 3; do
		p=$(capture_ports "$1.$try")
		[ -z "$p" ] || break
	done
	printf '%s' "$p"
}
ports=$(server_ports normal)
check "by default each transfer has its own port (saw: $ports)" \
	test -n "$ports" -a "$ports" != "69 "
restart_bsdpd --tftp-single-port
ports=$(server_ports single)
check "--tftp-single-port: every packet from port 69 (saw: $ports)" test "$ports" = "69 "
for c in hpa atftp curl busybox ours; do
	rm -f "$OUT/single.$c"
	fetch_with "$c" snponly.efi "$OUT/single.$c"
	check "--tftp-single-port: $c fetch is byte-identical" same "$OUT/single.$c" "$SNP"
done
fetch_with atftp big40.bin "$OUT/single.big" 512
check "--tftp-single-port: 40 MB with rollover is byte-identical" same "$OUT/single.big" "$BIG"

chmod 755 "$WORK"
restart_bsdpd --user nobody
fetch_with ours snponly.efi "$OUT/nobody.efi"
check "--user nobody: port 69 is bound before root is given up, and files still serve" \
	cmp -s "$OUT/nobody.efi" "$SNP"

STATE=$WORK/state-root # a root start refuses the one nobody now owns
restart_bsdpd --no-tftp
check "--no-tftp: nothing listens on UDP 69" \
	bash -c "! ip netns exec '$SRV' ss -Hlun 'sport = :69' | grep -q ."

lab_stop "$BSDPD_PID"
check "bsdpd exited cleanly (no sanitizer report)" bash -c "! grep -q 'Sanitizer' '$LOG'"
lab_done
