#!/bin/bash
# BSDP end to end: bsdpd in one namespace, bsdpc (a Mac-like client) in the
# other.  LIST and SELECT, the reply port, a restart that keeps the
# binding, tshark as an independent decoder of the replies, and a plain
# DHCP client (busybox udhcpc) that must get no answer at all.
BSDPD=${BSDPD:-build/san/bsdpd}
BSDPC=${BSDPC:-build/san/bsdpc}
LAB_PREFIX=bb
LAB_NET=198.18.1
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

command -v tshark >/dev/null || lab_skip "needs tshark"
command -v jq >/dev/null || lab_skip "needs jq"
lab_up
ROOT=$WORK/root
STATE=$WORK/state
mkdir -p "$ROOT" "$STATE"
make_bundle "$ROOT" iPXE 101 "<key>IsDefault</key><true/>"
make_bundle "$ROOT" Diagnostics 3000 "<key>IsInstall</key><true/>"
make_bundle "$ROOT" Broken 0

start_bsdpd() {
	lab_spawn "$SRV" "$WORK/bsdpd.log" "$BSDPD" --foreground --root "$ROOT" \
		--state-dir "$STATE" --hostname lab-server --verbose "$@"
	BSDPD_PID=$LAST_PID
	wait_for_line "$WORK/bsdpd.log" 10 "ready" || { cat "$WORK/bsdpd.log"; exit 1; }
}

not_in_log() { ! grep -q -- "$1" "$WORK/bsdpd.log"; }

bsdpc() {
	ip netns exec "$CLI" "$BSDPC" "$@" --interface "$CLI_IF" --timeout 1 --json
}

lab_spawn "$CLI" "$WORK/tshark.log" tshark -n -i "$CLI_IF" -f "udp port 67 or udp port 68 or udp port 700" -w "$WORK/cap.pcapng"
TSHARK_PID=$LAST_PID
wait_for_line "$WORK/tshark.log" 60 "Capturing on" || { cat "$WORK/tshark.log"; exit 1; }
start_bsdpd --interface "$SRV_IF"

check "a broken bundle is logged with its file and reason" \
	grep -q "Broken.nbi/NBImageInfo.plist: image skipped: Index 0 is out of range" "$WORK/bsdpd.log"

bsdpc list >"$WORK/list.json"
# jqf FILE EXPR: passes when EXPR is true of the JSON in $WORK/FILE.json.
jqf() { jq -e "$2" "$WORK/$1.json" >/dev/null; }
jq_list() { jqf list "$1"; }
check "LIST answered by the lab server" jq_list ".servers | length == 1 and .[0].server == \"$SRV_IP\""
check "LIST carries priority 32768 and default 0x01000065" \
	jq_list '.servers[0].priority == 32768 and .servers[0].default == "0x01000065"'
check "LIST names both good images, not the broken one" \
	jq_list '[.servers[0].images[].name] | sort == ["Diagnostics", "iPXE"]'
check "LIST has no selected image before any SELECT" jq_list '.servers[0].selected == null'

bsdpc select --image 0x01000065 >"$WORK/select.json"
jq_sel() { jqf select "$1"; }
check "SELECT is acknowledged" jq_sel '.result == "ACK" and .image == "0x01000065"'
check "ACK[SELECT] names the boot file and TFTP server" \
	jq_sel ".boot_file == \"iPXE.nbi/i386/booter\" and .tftp_server == \"$SRV_IP\" and .sname == \"lab-server\""

# The firmware's whole path: LIST, SELECT, then TFTP of the named boot file.
ip netns exec "$CLI" "$BSDPC" select --interface "$CLI_IF" --timeout 1 --image 0x01000065 \
	--fetch "$WORK/fetched" >"$WORK/fetch.out" 2>"$WORK/fetch.err" || true
check "select --fetch TFTPs the boot file, identical to the bundle's booter" \
	cmp -s "$WORK/fetched" "$ROOT/iPXE.nbi/i386/booter"
check "select --fetch reports the transfer rate" grep -q "/s" "$WORK/fetch.err"

bsdpc select --image 0x01000066 --server "$SRV_IP" >"$WORK/failed.json" || true
check "SELECT of an unknown image gets ACK[FAILED]" jqf failed '.result == "FAILED"'

bsdpc list --reply-port 700 >"$WORK/list700.json"
check "the reply port (Startup Disk) is honoured" \
	jqf list700 '.servers[0].selected == "0x01000065"'

lab_stop "$BSDPD_PID"
chmod 755 "$WORK"
start_bsdpd --interface "$SRV_IF" --user nobody
bsdpc list >"$WORK/list2.json"
check "the binding survives a restart" \
	jqf list2 '.servers[0].selected == "0x01000065" and .servers[0].priority == 32767'
check "with --user, bsdpd runs as that user" \
	grep -q "^Uid:[[:space:]]*$(id -u nobody)[[:space:]]" "/proc/$BSDPD_PID/status"
bsdpc select --image 0x81000bb8 >"$WORK/select2.json"
check "as that user, a SELECT still records its binding" \
	jqf select2 '.result == "ACK" and .boot_file == "Diagnostics.nbi/i386/booter"'

# A standard DHCP client asks for an address: bsdpd must stay silent.
if ip netns exec "$CLI" busybox udhcpc -i "$CLI_IF" -n -q -f -t 2 -T 1 -s /bin/true >"$WORK/udhcpc.log" 2>&1; then
	not_ok "udhcpc got a lease from bsdpd"
else
	ok "udhcpc's DISCOVER gets no answer"
fi
check "plain DHCP is not logged, even with --verbose" not_in_log "DISCOVER"

# With --verbose an admin sees why a Mac got no answer.
bsdpc select --image 0x01000065 --server "$LAB_NET.99" >/dev/null 2>&1 || true
check "a SELECT for another server is logged with the reason" \
	wait_for_line "$WORK/bsdpd.log" 5 "INFORM\[SELECT\] ciaddr $CLI_IP giaddr 0.0.0.0: no reply: SELECT for another server"
bsdpc select --image 0x01000065 >/dev/null # that dropped our binding: select again

# Startup Disk announces BSDP 12 = 8192: a 200-image list must arrive whole,
# in one (IP-fragmented) datagram of several option-43 instances.
lab_stop "$BSDPD_PID"
ROOT=$WORK/root200
STATE=$WORK/state200 # a root start refuses the one nobody now owns
mkdir -p "$ROOT"
echo booter >"$WORK/booter"
for i in $(seq 1 200); do
	BOOTER=$WORK/booter make_bundle "$ROOT" "Image$i" "$i"
done
start_bsdpd # on every broadcast-capable interface: here, the veth and not lo
bsdpc list --max-size 8192 >"$WORK/list200.json"
check "a client announcing 8192 bytes is sent all 200 images" \
	jqf list200 '.servers[0].images | length == 200'
bsdpc list >"$WORK/list548.json"
check "a client announcing nothing gets the list cut to 548 bytes, and a log line" \
	jqf list548 '.servers[0].images | length < 200 and length > 10'
check "the truncation is logged" grep -q "image list truncated to first" "$WORK/bsdpd.log"
BOOTER=$WORK/booter make_bundle "$ROOT" "Image201" 201
kill -HUP "$BSDPD_PID"
wait_for_line "$WORK/bsdpd.log" 10 "serving 201 images" || true
bsdpc list --max-size 8192 >"$WORK/list201.json"
check "SIGHUP re-reads the root" jqf list201 '.servers[0].images | length == 201'

# A re-read that cannot read the root keeps the catalog that serves.
mv "$ROOT" "$ROOT.away"
kill -HUP "$BSDPD_PID"
wait_for_line "$WORK/bsdpd.log" 10 "cannot read image root.*still serving the previous" || true
mv "$ROOT.away" "$ROOT"
bsdpc list --max-size 8192 >"$WORK/list-gone.json" || true
check "a SIGHUP that cannot read the root keeps the old catalog serving" \
	jqf list-gone '.servers[0].images | length == 201'

# A FIFO where a plist should be: open() blocks on it unless the nbi
# loader refuses special files first.  Either way the load runs off the
# event loop: LIST is still answered, a SIGHUP meanwhile queues one more
# re-read, and SIGTERM stops bsdpd at once.
serving() { grep -c "serving .* images from" "$WORK/bsdpd.log"; }
loads_before=$(serving)
mkdir "$ROOT/Stuck.nbi"
mkfifo "$ROOT/Stuck.nbi/NBImageInfo.plist"
kill -HUP "$BSDPD_PID"
sleep 0.5
bsdpc list --max-size 8192 >"$WORK/list-stuck.json" || true
check "LIST is answered while a re-read is stuck on a FIFO" \
	jqf list-stuck '.servers[0].images | length == 201'
if [ "$(serving)" = "$loads_before" ]; then # still stuck: nbi opened the FIFO
	kill -HUP "$BSDPD_PID"
	check "a SIGHUP during a stuck re-read queues one more" \
		wait_for_line "$WORK/bsdpd.log" 5 "still re-reading $ROOT; reading it again after that"
fi
kill -TERM "$BSDPD_PID"
stopped() { for _ in $(seq 20); do kill -0 "$BSDPD_PID" 2>/dev/null || return 0; sleep 0.1; done; return 1; }
check "SIGTERM stops bsdpd within 2 s while a re-read is stuck" stopped
kill -KILL "$BSDPD_PID" 2>/dev/null || true
wait "$BSDPD_PID" 2>/dev/null || true
no_sanitizer_report() { ! grep -q "Sanitizer" "$WORK/bsdpd.log"; }
check "bsdpd exits cleanly, leaving the stuck thread behind" no_sanitizer_report

sleep 1
lab_stop "$TSHARK_PID"

tsv() { tshark -n -r "$WORK/cap.pcapng" -Y "$1" -T fields -E separator=';' "${@:2}" 2>/dev/null; }
check "tshark saw udhcpc's DISCOVER" \
	test -n "$(tsv 'dhcp.option.dhcp == 1 && !dhcp.option.vendor.bsdp.version' -e frame.number)"
check "tshark sees no OFFER or ACK to udhcpc" \
	test -z "$(tsv 'udp.srcport == 67 && !dhcp.option.vendor_class_id' -e frame.number)"
check "tshark decodes ACK[LIST]: message type, priority, default, names" \
	grep -q '^1;32768;0x01000065;iPXE,Diagnostics$' <(tsv 'udp.srcport == 67 && dhcp.option.vendor.bsdp.message_type == 1' \
		-e dhcp.option.vendor.bsdp.message_type -e dhcp.option.vendor.bsdp.server_priority \
		-e dhcp.option.vendor.bsdp.default_boot_image_id -e dhcp.option.vendor.bsdp.boot_image.name)
check "tshark decodes ACK[SELECT]: selected image and boot file" \
	grep -q '^2;0x01000065;iPXE.nbi/i386/booter$' <(tsv 'udp.srcport == 67 && dhcp.option.vendor.bsdp.message_type == 2' \
		-e dhcp.option.vendor.bsdp.message_type -e dhcp.option.vendor.bsdp.selected_boot_image_id -e dhcp.file)
check "tshark decodes ACK[FAILED]" \
	test -n "$(tsv 'dhcp.option.vendor.bsdp.message_type == 3' -e frame.number)"
check "replies come from port 67 to the reply port 700" \
	test -n "$(tsv 'udp.srcport == 67 && udp.dstport == 700' -e frame.number)"
check "every reply has option 60 exactly AAPLBSDPC" \
	test -z "$(tsv 'udp.srcport == 67 && dhcp.option.vendor_class_id != "AAPLBSDPC"' -e frame.number)"

[ -n "${KEEP_CAPTURE:-}" ] && cp "$WORK/cap.pcapng" "$KEEP_CAPTURE"
lab_done
