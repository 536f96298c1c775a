#!/bin/bash
# `make demo`: a two-host network-namespace lab.  bsdpd serves a sample
# .nbi (Debian's iPXE snponly.efi) on one side; on the other, bsdpc does
# what a Mac's firmware does when you hold Option at boot: INFORM[LIST],
# INFORM[SELECT] of the default image, then a TFTP fetch of its boot file.
# Nothing leaves the lab.
set -eu
# Namespaces need root; ask once through sudo rather than skip.
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then
	exec sudo BSDPD="${BSDPD:-}" BSDPC="${BSDPC:-}" bash "$0" "$@"
fi
BSDPD=${BSDPD:-build/bsdpd}
BSDPC=${BSDPC:-build/bsdpc}
[ -n "$BSDPD" ] || BSDPD=build/bsdpd
[ -n "$BSDPC" ] || BSDPC=build/bsdpc
LAB_PREFIX=demo
# shellcheck source=../tests/integration/lib.sh
. "$(dirname "$0")/../tests/integration/lib.sh"

lab_up
mkdir -p "$WORK/root" "$WORK/state"
make_bundle "$WORK/root" iPXE 101 "<key>IsDefault</key><true/>"
echo "== the catalog, as bsdpd sees it"
"$BSDPD" --check --root "$WORK/root"
echo
echo "== bsdpd on $SRV_IF ($SRV_IP) in namespace $SRV"
lab_spawn "$SRV" "$WORK/bsdpd.log" "$BSDPD" --foreground --root "$WORK/root" \
	--state-dir "$WORK/state" --interface "$SRV_IF"
wait_for_line "$WORK/bsdpd.log" 10 ready || { cat "$WORK/bsdpd.log"; exit 1; }
echo
echo "== a Mac ($CLI_IP) lists the images: bsdpc list"
ip netns exec "$CLI" "$BSDPC" list --interface "$CLI_IF"
echo
echo "== selects the default and fetches its boot file by TFTP, as the firmware does:"
echo "   bsdpc select --image 0x01000065 --fetch booter"
ip netns exec "$CLI" "$BSDPC" select --interface "$CLI_IF" --image 0x01000065 \
	--fetch "$WORK/booter"
cmp "$WORK/booter" /usr/lib/ipxe/snponly.efi && echo "   the fetched booter is snponly.efi, byte for byte"
echo
echo "== bsdpd's log"
cat "$WORK/bsdpd.log"
echo
# The VM part: an OVMF machine netboots through bsdpd (tools/demo-vm.sh);
# it needs bsdpd's proxyDHCP and HTTP server.
if "$BSDPD" --help 2>&1 | grep -q -- --proxy-dhcp; then
	bash "$(dirname "$0")/demo-vm.sh"
else
	echo "== next, once bsdpd has --proxy-dhcp: a QEMU machine netboots through it (tools/demo-vm.sh)"
fi
