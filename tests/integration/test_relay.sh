#!/bin/bash
# Through a router that relays DHCP, as a campus runs one bsdpd for several
# segments (issue 12; README "Beside an existing DHCP server"): bsdpd on
# one segment, a Mac and a PC on another, and between them a router that
# forwards and runs ISC dhcrelay (Debian isc-dhcp-relay), as `ip
# helper-address` does on a Cisco.
#   - the Mac's broadcast INFORM[LIST] reaches bsdpd relayed (giaddr set),
#     and the ACK[LIST] comes back to the Mac's ciaddr, routed: Apple
#     answers an INFORM at ciaddr, relayed or not (docs/bsdp.md);
#   - its SELECT, and the booter's TFTP, work across the router;
#   - a PXE client's DISCOVER (busybox udhcpc with PXE's class and arch)
#     gets a proxy offer back through the relay, decoded by tshark on the
#     client's segment: yiaddr 0, the booter, bsdpd's server identifier;
#   - no offer on that segment carries an address.
BSDPD=${BSDPD:-build/san/bsdpd}
BSDPC=${BSDPC:-build/san/bsdpc}
LAB_PREFIX=brl
LAB_NET=198.18.64
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

DHCRELAY=${DHCRELAY:-/usr/sbin/dhcrelay}
[ -x "$DHCRELAY" ] || lab_skip "needs dhcrelay (isc-dhcp-relay)"
for c in tshark jq busybox; do
	command -v "$c" >/dev/null 2>&1 || lab_skip "needs $c"
done

# SRV (198.18.64.1) -- RTR (.254 | 198.18.65.1) -- CLI (198.18.65.2)
RTR="$LAB_ID-rtr"
RTR_UP="${LAB_ID}u"
RTR_DOWN="${LAB_ID}d"
GIADDR=198.18.65.1
CLI_IP=198.18.65.2
trap 'lab_cleanup; ip netns del "$RTR" 2>/dev/null || true' EXIT
netns_pair "$SRV" "$RTR" "$SRV_IF" "$RTR_UP" "$SRV_IP" "$LAB_NET.254" ||
	lab_skip "cannot create network namespaces"
ip netns add "$CLI"
ip link add "$RTR_DOWN" netns "$RTR" type veth peer name "$CLI_IF" netns "$CLI"
ip -n "$RTR" addr add "$GIADDR/24" brd + dev "$RTR_DOWN"
ip -n "$CLI" addr add "$CLI_IP/24" brd + dev "$CLI_IF"
ip -n "$RTR" link set "$RTR_DOWN" up
ip -n "$CLI" link set lo up
ip -n "$CLI" link set "$CLI_IF" up
ip netns exec "$RTR" sysctl -qw net.ipv4.ip_forward=1
ip -n "$SRV" route add 198.18.65.0/24 via "$LAB_NET.254"
ip -n "$CLI" route add default via "$GIADDR"

mkdir -p "$WORK/root" "$WORK/state"
make_bundle "$WORK/root" iPXE 101 "<key>IsDefault</key><true/>"

lab_spawn "$CLI" "$WORK/tshark.log" tshark -n -i "$CLI_IF" -f "udp port 67 or udp port 68" \
	-w "$WORK/cap.pcapng"
TSHARK_PID=$LAST_PID
lab_spawn "$SRV" "$WORK/tshark-srv.log" tshark -n -i "$SRV_IF" -f "udp port 67" \
	-w "$WORK/cap-srv.pcapng"
TSHARK_SRV_PID=$LAST_PID
for log in tshark tshark-srv; do
	wait_for_line "$WORK/$log.log" 60 "Capturing on" || { cat "$WORK/$log.log"; exit 1; }
done
lab_spawn "$RTR" "$WORK/relay.log" "$DHCRELAY" -4 -d --no-pid -iu "$RTR_UP" -id "$RTR_DOWN" \
	"$SRV_IP"
wait_for_line "$WORK/relay.log" 10 "Sending on" || { cat "$WORK/relay.log"; exit 1; }
lab_spawn "$SRV" "$WORK/bsdpd.log" "$BSDPD" --foreground --verbose --root "$WORK/root" \
	--state-dir "$WORK/state" --interface "$SRV_IF" --no-http --proxy-dhcp all
wait_for_line "$WORK/bsdpd.log" 10 ready || { cat "$WORK/bsdpd.log"; exit 1; }

bsdpc() {
	ip netns exec "$CLI" "$BSDPC" "$@" --interface "$CLI_IF" --timeout 2 --json
}
jqf() { jq -e "$2" "$WORK/$1.json" >/dev/null; }

# ---- a Mac on the far segment ------------------------------------------------------
bsdpc list >"$WORK/list.json" || true
check "the Mac's LIST is answered through the relay" \
	jqf list ".servers | length == 1 and .[0].server == \"$SRV_IP\""
check "with the image" jqf list '.servers[0].default == "0x01000065"'
bsdpc select --image 0x01000065 --server "$SRV_IP" >"$WORK/select.json" || true
check "its SELECT is acknowledged across the router" \
	jqf select ".result == \"ACK\" and .tftp_server == \"$SRV_IP\""
ip netns exec "$CLI" "$BSDPC" select --interface "$CLI_IF" --timeout 2 --image 0x01000065 \
	--server "$SRV_IP" --fetch "$WORK/booter" >/dev/null 2>&1 || true
check "and the booter comes by TFTP, routed" cmp -s "$WORK/booter" /usr/lib/ipxe/snponly.efi

# ---- a PC on the far segment ------------------------------------------------------------
MAC=$(ip -n "$CLI" link show "$CLI_IF" | awk '/link\/ether/ {print $2}')
ip netns exec "$CLI" busybox udhcpc -i "$CLI_IF" -n -q -t 2 -T 1 -s /bin/true \
	-V PXEClient:Arch:00007:UNDI:003016 -x 0x5d:0007 >/dev/null 2>&1 || true
check "the PC's DISCOVER reached bsdpd relayed, and was offered the booter" \
	grep -q "proxy $MAC PXE arch 7 DISCOVER -> OFFER file iPXE.nbi/i386/booter" "$WORK/bsdpd.log"
lab_stop "$TSHARK_PID"
lab_stop "$TSHARK_SRV_PID"
relayed_informs() { # ciaddr;giaddr of each INFORM on bsdpd's segment
	tshark -n -r "$WORK/cap-srv.pcapng" -Y "dhcp.option.dhcp == 8" -T fields \
		-E separator=';' -e dhcp.ip.client -e dhcp.ip.relay 2>/dev/null | sort -u
}
check "bsdpd's segment carried the Mac's INFORMs relayed (ciaddr, giaddr)" \
	test "$(relayed_informs)" = "$CLI_IP;$GIADDR"
offers() {
	tshark -n -r "$WORK/cap.pcapng" -Y "dhcp.option.dhcp == 2 && dhcp.hw.mac_addr == $MAC" \
		-T fields -E separator=';' -e dhcp.ip.your -e dhcp.file -e dhcp.option.dhcp_server_id \
		-e dhcp.ip.relay 2>/dev/null
}
offers >"$WORK/offers"
check "tshark sees the proxy offer on the PC's segment" test -s "$WORK/offers"
check "it carries no address, the booter, and bsdpd as its server" \
	bash -c "grep -q '^0.0.0.0;iPXE.nbi/i386/booter;$SRV_IP;$GIADDR\$' '$WORK/offers'"
check "every offer on the segment is an address-free one" \
	bash -c "! grep -v '^0.0.0.0;' '$WORK/offers' | grep -q ."
check "no sanitizer reports" bash -c "! grep -q Sanitizer '$WORK/bsdpd.log'"
lab_done
