#!/bin/bash
# --proxy-dhcp known, the TFTP route: a PC that nothing has bound gets no
# proxy offer; once it has fetched a file from bsdpd's TFTP (its MAC read
# from the ARP table), its next PXE DISCOVER is answered.  The PXE client
# is busybox udhcpc sending option 60 PXEClient and option 93 = 7 (EFI
# x64), as OVMF does; `all` answers it at once, `off` never.
BSDPD=${BSDPD:-build/san/bsdpd}
LAB_PREFIX=bk
LAB_NET=198.18.9
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

command -v busybox >/dev/null || lab_skip "needs busybox"
command -v tftp >/dev/null || lab_skip "needs tftp-hpa"
lab_up
mkdir -p "$WORK/root"
make_bundle "$WORK/root" iPXE 101 "<key>IsDefault</key><true/>"

start_bsdpd() { # MODE
	mkdir -p "$WORK/state-$1"
	lab_spawn "$SRV" "$WORK/bsdpd-$1.log" "$BSDPD" --foreground --verbose --root "$WORK/root" \
		--state-dir "$WORK/state-$1" --interface "$SRV_IF" --no-http --proxy-dhcp "$1"
	BSDPD_PID=$LAST_PID
	wait_for_line "$WORK/bsdpd-$1.log" 10 ready || { cat "$WORK/bsdpd-$1.log"; exit 1; }
}

# One PXE DISCOVER (and its retry); udhcpc gets no lease, which is right.
pxe_discover() {
	ip netns exec "$CLI" busybox udhcpc -i "$CLI_IF" -n -q -t 2 -T 1 -s /bin/true \
		-V PXEClient:Arch:00007:UNDI:003016 -x 0x5d:0007 >/dev/null 2>&1 || true
}

MAC=$(ip -n "$CLI" link show "$CLI_IF" | awk '/link\/ether/ {print $2}')
offered() { grep -q "proxy $MAC PXE arch 7 DISCOVER -> OFFER file iPXE.nbi/i386/booter" "$1"; }

start_bsdpd known
pxe_discover
check "known: a PC nothing knows gets no offer" bash -c "! grep -q 'proxy $MAC.*-> OFFER' '$WORK/bsdpd-known.log'"
check "known: and -v says why" grep -q "proxy $MAC PXE arch 7 DISCOVER: no reply: not known" \
	"$WORK/bsdpd-known.log"
ip netns exec "$CLI" tftp "$SRV_IP" -m binary -c get iPXE.nbi/i386/booter "$WORK/booter"
check "the PC fetches the booter by TFTP" cmp -s "$WORK/booter" /usr/lib/ipxe/snponly.efi
pxe_discover
check "known: after the TFTP download its DISCOVER gets the booter" offered "$WORK/bsdpd-known.log"
lab_stop "$BSDPD_PID"

start_bsdpd all
pxe_discover
check "all: the same PC is answered at once" offered "$WORK/bsdpd-all.log"
lab_stop "$BSDPD_PID"

start_bsdpd off
pxe_discover
check "off: never answered" bash -c "! grep -q 'proxy ' '$WORK/bsdpd-off.log'"
lab_stop "$BSDPD_PID"
lab_done
