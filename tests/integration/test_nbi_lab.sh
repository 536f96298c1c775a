#!/bin/bash
# From nbi create to a Mac-like client: nbi wraps Debian's snponly.efi into
# a bundle, bsdpd serves the root in one namespace, and bsdpc in the other
# sees the image in LIST, gets its boot file in ACK[SELECT], and fetches
# that file by TFTP byte for byte.  Then nbi set renames the image and a
# SIGHUP makes the new name appear.
NBI=${NBI:-build/san/nbi}
BSDPD=${BSDPD:-build/san/bsdpd}
BSDPC=${BSDPC:-build/san/bsdpc}
SNPONLY=${SNPONLY:-/usr/lib/ipxe/snponly.efi}
LAB_PREFIX=bn
LAB_NET=198.18.6
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

command -v jq >/dev/null || lab_skip "needs jq"
[ -r "$SNPONLY" ] || lab_skip "needs $SNPONLY (package ipxe)"
[ -x "$NBI" ] || { echo "FAIL: $NBI is not built (make $NBI)"; exit 1; }
lab_up
ROOT=$WORK/root
STATE=$WORK/state
mkdir -p "$ROOT" "$STATE"

check "nbi create wraps snponly.efi" \
	"$NBI" create --booter "$SNPONLY" -o "$ROOT/iPXE.nbi" --name "iPXE via nbi" --default
check "nbi create picks a second index" \
	"$NBI" create --booter "$SNPONLY" -o "$ROOT/Lab.nbi" --name "Lab only" \
	--enable-model MacPro6,1
chmod -R a+rX "$ROOT"

lab_spawn "$SRV" "$WORK/bsdpd.log" "$BSDPD" --foreground --root "$ROOT" --state-dir "$STATE" \
	--hostname lab-server --interface "$SRV_IF"
BSDPD_PID=$LAST_PID
wait_for_line "$WORK/bsdpd.log" 10 "ready" || { cat "$WORK/bsdpd.log"; exit 1; }

bsdpc() { ip netns exec "$CLI" "$BSDPC" "$@" --interface "$CLI_IF" --timeout 1 --json; }
jqf() { jq -e "$2" "$WORK/$1.json" >/dev/null; }

bsdpc list >"$WORK/list.json"
check "bsdpc list shows the new image as the default" \
	jqf list '.servers[0].default == "0x01000001" and (.servers[0].images | map(.name)) == ["iPXE via nbi"]'
bsdpc list --model MacPro6,1 >"$WORK/list-macpro.json"
check "a MacPro6,1 also sees the image limited to its model" \
	jqf list-macpro '(.servers[0].images | map(.name) | sort) == ["Lab only", "iPXE via nbi"]'

bsdpc select --image 0x01000001 >"$WORK/select.json"
check "bsdpc select gets the boot file of the new image" \
	jqf select ".result == \"ACK\" and .boot_file == \"iPXE.nbi/i386/booter\" and .tftp_server == \"$SRV_IP\" and .root_path == null"

if command -v tftp >/dev/null 2>&1; then
	ip netns exec "$CLI" tftp -m binary "$SRV_IP" -c get iPXE.nbi/i386/booter "$WORK/booter" \
		>"$WORK/tftp.log" 2>&1 || true
	check "the booter fetched by TFTP is snponly.efi" cmp -s "$WORK/booter" "$SNPONLY"
fi

check "nbi set renames the image" "$NBI" set "$ROOT/iPXE.nbi" Name "iPXE renamed"
kill -HUP "$BSDPD_PID"
wait_for_line "$WORK/bsdpd.log" 10 "re-reading" || true
sleep 0.5
bsdpc list >"$WORK/list2.json"
check "after SIGHUP the list carries the new name and the same ID" \
	jqf list2 '.servers[0].images[0] | .name == "iPXE renamed" and .id == "0x01000001"'

lab_done
