#!/bin/bash
# The VM part of `make demo`: a Mac's choice, then real PC firmware.  In a
# namespace lab with a plain site DHCP server (dnsmasq, addresses only),
# bsdpd runs with --proxy-dhcp known.  A Mac (bsdpc) lists the images,
# selects the default for the MAC of a QEMU machine and fetches its booter
# by TFTP; then that OVMF machine netboots through bsdpd: firmware PXE ->
# proxyDHCP -> TFTP booter -> iPXE -> proxyDHCP -> /boot.ipxe over HTTP ->
# a Debian kernel and a busybox initramfs that prints a marker.  Each stage
# is printed as the console shows it, then a summary from the capture.
# Nothing leaves the lab.  The first run fetches a kernel (~27 MB).
set -eu
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then
	exec sudo BSDPD="${BSDPD:-}" BSDPC="${BSDPC:-}" bash "$0" "$@"
fi
BSDPD=${BSDPD:-build/bsdpd}
BSDPC=${BSDPC:-build/bsdpc}
[ -n "$BSDPD" ] || BSDPD=build/bsdpd
[ -n "$BSDPC" ] || BSDPC=build/bsdpc
LAB_PREFIX=dvm
# shellcheck source=../tests/integration/lib.sh
. "$(dirname "$0")/../tests/integration/lib.sh"
# shellcheck source=../tests/integration/vm.sh
. "$(dirname "$0")/../tests/integration/vm.sh"

for opt in --proxy-dhcp --http-port; do
	"$BSDPD" --help 2>&1 | grep -q -- "$opt" ||
		lab_skip "the VM demo waits for bsdpd's proxyDHCP and HTTP server ($opt is not in bsdpd --help yet)"
done
vm_require
echo "== assets (cached in $VM_CACHE)"
vm_assets
echo "   kernel $(basename "$VM_KERNEL"), initramfs $(basename "$VM_INITRD"), QEMU accel $(vm_accel)"
vm_lab_up
VM_MAC=52:54:00:de:40:01
ROOT=$WORK/root
mkdir -p "$ROOT" "$WORK/state"
make_bundle "$ROOT" iPXE 1 "<key>IsDefault</key><true/>"
cp "$VM_KERNEL" "$ROOT/vmlinuz"
cp "$VM_INITRD" "$ROOT/initrd.img"
cat >"$ROOT/boot.ipxe" <<SCRIPT
#!ipxe
echo bsdpd boot.ipxe for {{mac}} ({{arch}}, {{platform}})
kernel {{http}}/vmlinuz initrd=initrd.img console=ttyS0,115200 panic=-1 bsdpd.nonce=$VM_NONCE || goto fail
initrd {{http}}/initrd.img || goto fail
boot || goto fail
:fail
echo the boot failed
SCRIPT
chmod -R a+rX "$ROOT"

echo "== site DHCP server (dnsmasq, addresses only) on $VM_SITE_IP"
vm_site_dhcp
echo "== bsdpd --proxy-dhcp known on $VM_BOOT_IP"
lab_spawn "$VM_BOOT" "$WORK/vm/bsdpd.log" "$BSDPD" --foreground --root "$ROOT" \
	--state-dir "$WORK/state" --interface "$VM_BOOT_IF" --proxy-dhcp known
wait_for_line "$WORK/vm/bsdpd.log" 10 ready || { cat "$WORK/vm/bsdpd.log"; exit 1; }

ip -n "$VM_PEER" addr add "$VM_NET.3/24" brd + dev "$VM_PEER_IF"
mac() { ip netns exec "$VM_PEER" "$BSDPC" "$@" --interface "$VM_PEER_IF"; }
echo
echo "== a Mac lists the images: bsdpc list"
mac list
echo
echo "== and selects the default for the VM's MAC, then fetches the booter:"
echo "   bsdpc select --mac $VM_MAC --image 0x01000001 --fetch booter"
mac select --mac "$VM_MAC" --image 0x01000001 --fetch "$WORK/booter"
echo
echo "== the OVMF machine $VM_MAC netboots (QEMU, firmware PXE first)"

# milestone LINE: a person's name for a console line that marks a stage.
milestone() {
	case $1 in
	*"Station IP address is"*) echo "firmware: DHCP done, address ${1##* } from the site server" ;;
	*"NBP filename is"*) echo "firmware: bsdpd's proxyDHCP names the booter ${1##* }" ;;
	*"NBP file downloaded successfully"*) echo "firmware: booter fetched from bsdpd by TFTP" ;;
	*"iPXE initialising devices"*) echo "iPXE: running" ;;
	*"Filename: http"*) echo "iPXE: bsdpd's proxyDHCP gives the script ${1##* }" ;;
	*"boot.ipxe"*"... ok"*) echo "iPXE: script fetched from bsdpd's HTTP server" ;;
	*"vmlinuz... ok"*) echo "iPXE: kernel fetched" ;;
	*"initrd.img... ok"*) echo "iPXE: initramfs fetched" ;;
	*"Linux version "*) echo "Linux: kernel started" ;;
	*"$VM_MARKER nonce=$VM_NONCE "*) echo "Linux: /init prints the marker with this run's nonce" ;;
	*) return 1 ;;
	esac
}

# Prints each milestone as the console shows it, with seconds since QEMU
# start (a line counts when it ends, so firmware lines lag the wire a
# little; the summary has the capture's times); polls the stamped console
# log until demo.done appears.
watch_console() {
	local n=0 t0 t line what last=
	until [ -s "$WORK/vm/demo.t0" ] || [ -e "$WORK/vm/demo.done" ]; do sleep 0.1; done
	t0=$(cat "$WORK/vm/demo.t0" 2>/dev/null) || return 0
	while [ -z "$last" ]; do
		[ -e "$WORK/vm/demo.done" ] && last=1
		while read -r t line; do
			n=$((n + 1))
			what=$(milestone "$line") || continue
			awk -v t="$t" -v t0="$t0" -v w="$what" 'BEGIN { printf "   %7.3f s  %s\n", t - t0, w }'
		done < <(tail -n +$((n + 1)) "$WORK/vm/demo.serial" 2>/dev/null)
		sleep 0.2
	done
}
vm_capture_start demo
watch_console &
WATCH_PID=$!
LAB_PIDS="$LAB_PIDS $WATCH_PID"
status=0
vm_boot demo "$VM_MAC" 180 pxe || status=1
touch "$WORK/vm/demo.done"
wait "$WATCH_PID" || true
vm_capture_stop
echo
echo "== summary: the boot as the capture and the console saw it"
vm_report demo "$VM_MAC"
if [ "$status" -eq 0 ]; then
	echo "   booted to Linux in $(vm_stage_times demo "$VM_MAC" | awk '$1 == "marker" { print $2 }') s after QEMU start"
else
	echo "   the machine did not reach the marker within 180 s; bsdpd's log:"
	cat "$WORK/vm/bsdpd.log"
fi
exit "$status"
