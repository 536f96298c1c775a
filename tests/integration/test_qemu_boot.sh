#!/bin/bash
# Real firmware, real iPXE, a real kernel: OVMF machines under QEMU netboot
# through bsdpd in a namespace lab where a plain site DHCP server (dnsmasq,
# addresses only, plus a boot filename of its own that must lose) runs
# beside it, and bsdpd is the only boot server (issue 8 item 3).
#
#   pc-pxe     --proxy-dhcp all: OVMF's PXE -> bsdpd proxyDHCP (67, 4011) ->
#              TFTP iPXE.nbi/i386/booter (nbi create from snponly.efi) ->
#              iPXE -> bsdpd proxyDHCP -> /boot.ipxe rendered from the
#              template in the HTTP root -> vmlinuz, initrd.img -> marker.
#              A busybox udhcpc asks the same LAN for a lease meanwhile.
#   http-boot  --proxy-dhcp all: OVMF's UEFI HTTP Boot (PXE entries hidden)
#              -> the booter by HTTP -> iPXE -> the same script -> marker.
#   mac-choice --proxy-dhcp known: bsdpc select binds the VM's MAC to the
#              image "Lab"; the VM then gets Lab.nbi/i386/booter -> marker.
#   unknown    --proxy-dhcp known: a MAC nothing knows gets silence until
#              the firmware gives up its PXE boot option (OVMF prints
#              "failed to load Boot0001 \"UEFI PXEv4"; the PXE-Exx code it
#              shows first depends on what the site server offered).
#
# Over every capture: no bsdpd reply carries an address (yiaddr 0), and
# none goes to the plain DHCP client.  Each boot has a time limit; the
# stage times are printed (no timed assertions).
NBI=${NBI:-build/san/nbi}
BSDPD=${BSDPD:-build/san/bsdpd}
BSDPC=${BSDPC:-build/san/bsdpc}
LAB_PREFIX=bq
BOOT_LIMIT=${BOOT_LIMIT:-150}
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=vm.sh
. "$(dirname "$0")/vm.sh"

[ -x "$BSDPD" ] || { echo "FAIL: $BSDPD is not built"; exit 1; }
for opt in --proxy-dhcp --boot-file --http-port; do
	"$BSDPD" --help 2>&1 | grep -q -- "$opt" ||
		lab_skip "bsdpd --help lists no $opt yet: the firmware boots wait for proxyDHCP and HTTP (issue 8)"
done
[ -x "$NBI" ] || { echo "FAIL: $NBI is not built (make $NBI)"; exit 1; }
[ -x "$BSDPC" ] || { echo "FAIL: $BSDPC is not built (make $BSDPC)"; exit 1; }
command -v jq >/dev/null || lab_skip "needs jq"
vm_require
vm_assets
VM_KEEP_LOGS=${VM_KEEP_LOGS:-$VM_TOP/build/vm-logs/test_qemu_boot}
vm_lab_up

MAC_PC=52:54:00:b5:d9:01
MAC_HTTP=52:54:00:b5:d9:02
MAC_MAC=52:54:00:b5:d9:03
MAC_UNKNOWN=52:54:00:b5:d9:04
ROOT=$WORK/root
mkdir -p "$ROOT"
"$NBI" create --booter "$SNPONLY" -o "$ROOT/iPXE.nbi" --name iPXE --default >/dev/null
"$NBI" create --booter "$SNPONLY" -o "$ROOT/Lab.nbi" --name Lab >/dev/null
cp "$VM_KERNEL" "$ROOT/vmlinuz"
cp "$VM_INITRD" "$ROOT/initrd.img"
# initrd=initrd.img: Debian's 2019 EFI iPXE hands the initrd to the
# kernel's EFI stub only through this command-line option.
cat >"$ROOT/boot.ipxe" <<SCRIPT
#!ipxe
echo bsdpd test script for {{mac}} arch {{arch}} platform {{platform}}
kernel {{http}}/vmlinuz initrd=initrd.img console=ttyS0,115200 panic=-1 bsdpd.nonce=$VM_NONCE || goto fail
initrd {{http}}/initrd.img || goto fail
boot || goto fail
:fail
echo bsdpd test script: the boot failed
SCRIPT
chmod -R a+rX "$ROOT"

# The site's filename goes to every client; bsdpd's answer must win.
vm_site_dhcp --dhcp-boot=site-file.efi

# start_bsdpd NAME MODE [OPTION...]: a fresh daemon on the boot namespace.
start_bsdpd() {
	mkdir -p "$WORK/state-$1"
	lab_spawn "$VM_BOOT" "$WORK/vm/bsdpd-$1.log" "$BSDPD" --foreground --verbose \
		--root "$ROOT" --state-dir "$WORK/state-$1" --interface "$VM_BOOT_IF" \
		--proxy-dhcp "$2" "${@:3}"
	BSDPD_PID=$LAST_PID
	wait_for_line "$WORK/vm/bsdpd-$1.log" 10 ready ||
		{ cat "$WORK/vm/bsdpd-$1.log"; echo "FAIL: bsdpd did not start"; exit 1; }
}

# n_packets NAME FILTER: how many packets of capture NAME match; prints
# "error" when tshark fails (a bad filter must not pass as "no packets").
n_packets() {
	local out
	out=$(tshark -r "$WORK/vm/$1.pcap" -Y "$2" -T fields -e frame.number 2>"$WORK/vm/tshark.err") ||
		{ echo "tshark: $2: $(tail -n 1 "$WORK/vm/tshark.err")" >&2; echo error; return; }
	[ -z "$out" ] && echo 0 || echo "$out" | wc -l
}
has_packets() { [ "$(n_packets "$1" "$2")" -gt 0 ]; }
no_packets() { [ "$(n_packets "$1" "$2")" -eq 0 ]; }
from_bsdpd="ip.src == $VM_BOOT_IP && (udp.srcport == 67 || udp.srcport == 4011) && dhcp"

# boot NAME MAC MODE: one full boot, captured, with its stage table.
boot() {
	vm_capture_start "$1"
	[ "$1" = pc-pxe ] && MAC_PLAIN=$(vm_plain_client)
	vm_boot "$1" "$2" "$BOOT_LIMIT" "$3"
	BOOTED=$?
	vm_capture_stop
	echo "   stages of $1 ($2, $3):"
	vm_report "$1" "$2"
	return $BOOTED
}

echo "# --proxy-dhcp all"
start_bsdpd all all --boot-file http-x64=iPXE.nbi/i386/booter
check "pc-pxe: OVMF PXE -> bsdpd -> iPXE -> boot.ipxe -> Linux prints the marker" \
	boot pc-pxe "$MAC_PC" pxe
check "pc-pxe: the firmware fetched iPXE.nbi/i386/booter from bsdpd by TFTP" \
	has_packets pc-pxe "ip.dst == $VM_BOOT_IP && tftp.source_file == \"iPXE.nbi/i386/booter\""
# bsdpd's offer carries siaddr and the file, so OVMF may take the booter
# from it (ipxe.md X3); when it does ask on 4011, the ACK must come back
# from 4011 to 4011.  Both routes are pinned byte by byte in test_proxydhcp.
answered_4011() {
	local asked
	asked=$(n_packets pc-pxe "ip.dst == $VM_BOOT_IP && udp.dstport == 4011")
	[ "$asked" = 0 ] ||
		has_packets pc-pxe "$from_bsdpd && udp.srcport == 4011 && udp.dstport == 4011"
}
check "pc-pxe: a 4011 REQUEST, if OVMF sends one, is answered from 4011 to 4011" \
	answered_4011
check "pc-pxe: iPXE fetched /boot.ipxe from bsdpd with its MAC in the URL" \
	has_packets pc-pxe "ip.dst == $VM_BOOT_IP && http.request.uri contains \"boot.ipxe?mac=52-54-00-b5-d9-01\""
check "pc-pxe: the site DHCP server did hand out its own filename" \
	has_packets pc-pxe "ip.src == $VM_SITE_IP && udp.srcport == 67 && frame contains \"site-file.efi\""
check "pc-pxe: nobody fetched the site's filename (bsdpd's script won)" \
	no_packets pc-pxe "!icmp && tftp.source_file == \"site-file.efi\""
check "the plain DHCP client (udhcpc) got its lease from the site server" \
	grep -q "lease of" "$WORK/vm/udhcpc.log"
check "bsdpd sent nothing to the plain DHCP client $MAC_PLAIN" \
	no_packets pc-pxe "$from_bsdpd && dhcp.hw.mac_addr == ${MAC_PLAIN:-none}"

# OVMF HTTP Boot takes an extensionless URL only when the server says
# Content-Type: application/efi (measured with a stand-in server).
check "http-boot: OVMF HTTP Boot -> booter by HTTP -> iPXE -> Linux prints the marker" \
	boot http-boot "$MAC_HTTP" http
check "http-boot: the booter came from bsdpd's HTTP server" \
	has_packets http-boot "ip.dst == $VM_BOOT_IP && http.user_agent contains \"UefiHttpBoot\""
check "http-boot: no TFTP at all" no_packets http-boot "tftp"
lab_stop "$BSDPD_PID"

echo "# --proxy-dhcp known"
start_bsdpd known known
ip -n "$VM_PEER" addr add "$VM_NET.3/24" brd + dev "$VM_PEER_IF"
mac_bsdpc() { ip netns exec "$VM_PEER" "$BSDPC" "$@" --interface "$VM_PEER_IF" --timeout 2 --json; }
LAB_IMAGE=$(mac_bsdpc list | jq -r '.servers[0].images[] | select(.name == "Lab") | .id')
check "bsdpc select --mac $MAC_MAC binds the VM's MAC to the image Lab ($LAB_IMAGE)" \
	eval 'mac_bsdpc select --mac "$MAC_MAC" --image "$LAB_IMAGE" >"$WORK/select.json"'
check "mac-choice: the bound VM boots to the marker" boot mac-choice "$MAC_MAC" pxe
check "mac-choice: its firmware got the booter of the image it chose (Lab.nbi)" \
	has_packets mac-choice "ip.dst == $VM_BOOT_IP && tftp.source_file == \"Lab.nbi/i386/booter\""
check "mac-choice: and not the default image's booter" \
	no_packets mac-choice "tftp.source_file == \"iPXE.nbi/i386/booter\""

vm_capture_start unknown
vm_boot unknown "$MAC_UNKNOWN" 90 pxe 'failed to load Boot0001 "UEFI PXEv4' || true
vm_capture_stop
check "unknown: the firmware of a MAC nothing knows asked (DHCPDISCOVER seen)" \
	has_packets unknown "dhcp.hw.mac_addr == $MAC_UNKNOWN && dhcp.option.dhcp == 1"
check "unknown: bsdpd stayed silent to it until the firmware gave up PXE" \
	eval 'grep -aq "failed to load Boot0001 \"UEFI PXEv4" "$WORK/vm/unknown.serial" &&
	no_packets unknown "$from_bsdpd && dhcp.hw.mac_addr == $MAC_UNKNOWN"'

# Over the whole run: bsdpd replied, and never with an address.
replies=0
with_address=0
for name in pc-pxe http-boot mac-choice unknown; do
	replies=$((replies + $(n_packets "$name" "$from_bsdpd")))
	with_address=$((with_address + $(n_packets "$name" "$from_bsdpd && dhcp.ip.your != 0.0.0.0")))
done
check "bsdpd sent $replies DHCP replies over the four boots" [ "$replies" -gt 0 ]
check "none of them carried an address (yiaddr != 0: $with_address)" [ "$with_address" -eq 0 ]
lab_done
