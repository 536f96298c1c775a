#!/bin/bash
# Boot policy on real firmware: one OVMF machine, steered through the API
# only (issue 9).  bsdpd runs with --proxy-dhcp known and the machine is
# known only by its record.
#
#   boot 1  its next boot is the linux profile: OVMF PXE -> bsdpd -> iPXE ->
#           /boot.ipxe from policy (rule next-boot) -> vmlinuz, initrd.img
#           -> the marker.  The next boot is spent once the initrd is out.
#   boot 2  its own profile, local: iPXE gets "exit 1", returns to the
#           firmware, and the firmware moves on to its next boot entry
#           (OVMF prints ">>Start HTTP Boot over IPv4" on the console).
#
# Then the events of both boots are read back through the API.
BSDPD=${BSDPD:-build/san/bsdpd}
NBI=${NBI:-build/san/nbi}
LAB_PREFIX=bqp
LAB_NET=198.18.16
VM_NET=198.18.17
BOOT_LIMIT=${BOOT_LIMIT:-150}
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=vm.sh
. "$(dirname "$0")/vm.sh"

[ -x "$BSDPD" ] || { echo "FAIL: $BSDPD is not built"; exit 1; }
[ -x "$NBI" ] || { echo "FAIL: $NBI is not built"; exit 1; }
command -v jq >/dev/null || lab_skip "needs jq"
vm_require
vm_assets
VM_KEEP_LOGS=${VM_KEEP_LOGS:-$VM_TOP/build/vm-logs/test_qemu_policy}
vm_lab_up

MAC=52:54:00:b5:d9:11
ROOT=$WORK/root
STATE=$WORK/state
mkdir -p "$ROOT" "$STATE"
chmod 700 "$STATE"
"$NBI" create --booter "$SNPONLY" -o "$ROOT/iPXE.nbi" --name iPXE --default >/dev/null
cp "$VM_KERNEL" "$ROOT/vmlinuz"
cp "$VM_INITRD" "$ROOT/initrd.img"
chmod -R a+rX "$ROOT"
vm_site_dhcp

lab_spawn "$VM_BOOT" "$WORK/vm/bsdpd.log" "$BSDPD" --foreground --verbose --root "$ROOT" \
	--state-dir "$STATE" --interface "$VM_BOOT_IF" --proxy-dhcp known
BSDPD_PID=$LAST_PID
wait_for_line "$WORK/vm/bsdpd.log" 10 ready ||
	{ cat "$WORK/vm/bsdpd.log"; echo "FAIL: bsdpd did not start"; exit 1; }
TOKEN=$(cat "$STATE/api-token")

# api METHOD PATH [BODY]: the API from the boot namespace; prints the body.
api() {
	local args=(-sS --max-time 10 -X "$1" -H "Authorization: Bearer $TOKEN" --fail-with-body)
	[ $# -ge 3 ] && args+=(-H 'Content-Type: application/json' --data-binary "$3")
	ip netns exec "$VM_BOOT" curl "${args[@]}" "http://$VM_BOOT_IP$2"
}
put() { api PUT "$@" >/dev/null; }

check "PUT the linux profile" put /api/v1/profiles/linux \
	"{\"kind\":\"linux\",\"kernel\":\"vmlinuz\",\"initrds\":[\"initrd.img\"],
	  \"cmdline\":\"console=ttyS0,115200 panic=-1 bsdpd.nonce=$VM_NONCE\"}"
check "PUT the local profile" put /api/v1/profiles/disk '{"kind":"local"}'
check "the machine's own profile is disk" put "/api/v1/machines/$MAC" \
	'{"profile":"disk","hostname":"vm-1"}'
check "its next boot is linux" put "/api/v1/machines/$MAC/next-boot" '{"profile":"linux"}'

# The dashboard after boot 1: headless Chromium in the boot namespace (so
# it reaches only this bsdpd) opens Boots and must show every stage of the
# VM's boot done (tests/integration/ui_driver.py); the screenshot is
# build/artifacts/ui/qemu-boots.png (docs/ui-boots.png is one of them).
ui_boots_check() {
	if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ] ||
		! /usr/bin/python3 -c 'import selenium' 2>/dev/null; then
		echo "   (no chromium, chromium-driver or python3-selenium: the Boots page is not checked)"
		return 0
	fi
	ip netns exec "$VM_BOOT" /usr/bin/python3 "$(dirname "$0")/ui_driver.py" qemu \
		--base "http://$VM_BOOT_IP" --token-file "$STATE/api-token" \
		--artifacts "${UI_ARTIFACTS:-$VM_TOP/build/artifacts/ui}" --mac "$MAC" \
		--stages pxe,booter,ipxe,script,kernel,initrd >"$WORK/vm/ui.out" 2>"$WORK/vm/ui.err" || true
	while read -r line; do
		case $line in
		"ok - "*) ok "Boots page: ${line#ok - }" ;;
		"not ok - "*) not_ok "Boots page: ${line#not ok - }" ;;
		esac
	done <"$WORK/vm/ui.out"
	grep -q 'the browser console shows no errors' "$WORK/vm/ui.out" ||
		{ not_ok "Boots page: the browser check ran to its end"; tail -n 20 "$WORK/vm/ui.err"; }
}

vm_capture_start boot1
check "boot 1: the next boot, linux, reaches the marker" vm_boot boot1 "$MAC" "$BOOT_LIMIT" pxe
vm_capture_stop
echo "   stages of boot 1:"
vm_report boot1 "$MAC"
sleep 0.5
check "boot 1: the next boot is spent" \
	test "$(api GET "/api/v1/machines/$MAC" | jq -r '.next_boot // "none"')" = none
ui_boots_check

vm_capture_start boot2
vm_boot boot2 "$MAC" "$BOOT_LIMIT" pxe '>>Start HTTP Boot over IPv4' || true
vm_capture_stop
check "boot 2: iPXE fetched the script again" \
	test "$(grep -c 'GET /boot.ipxe' "$WORK/vm/bsdpd.log")" -ge 2
check "boot 2: the script was the machine's local profile" \
	grep -q 'profile disk' <(api GET "/api/v1/events?mac=$MAC" | jq -r \
	'.events[] | select(.kind == "script") | "profile \(.detail) rule \(.rule)"' | tail -n 1)
check "boot 2: no kernel was fetched" \
	test "$(tshark -r "$WORK/vm/boot2.pcap" -Y 'http.request.uri contains "vmlinuz"' 2>/dev/null | wc -l)" = 0
check "boot 2: the firmware moved on to its next boot entry" \
	grep -aq '>>Start HTTP Boot over IPv4' "$WORK/vm/boot2.serial"

api GET "/api/v1/events?mac=$MAC" >"$WORK/vm/events.json"
echo "   events: $(jq -r '[.events[].kind] | join(" ")' "$WORK/vm/events.json")"
for k in proxy-offer tftp script http-file next-boot-consumed; do
	check "the events hold $k" bash -c "jq -e --arg k $k 'any(.events[]; .kind == \$k)' \
		'$WORK/vm/events.json' >/dev/null"
done
check "the first script was chosen by next-boot, the last by machine" \
	test "$(jq -r '[.events[] | select(.kind == "script") | .rule] | "\(first) \(last)"' \
		"$WORK/vm/events.json")" = "next-boot machine"
check "the whole initrd went out, in one event" \
	test "$(jq -r '[.events[] | select(.kind == "http-file" and .detail == "initrd.img" and .ok)] | length' \
		"$WORK/vm/events.json")" = 1
lab_stop "$BSDPD_PID"
lab_done
