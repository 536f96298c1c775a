#!/bin/bash
# bsdpc without --interface: a diagnostic must not broadcast on a network
# the admin did not name.  With exactly one up, broadcast-capable IPv4
# interface it uses that one; with two it lists them and sends nothing.
BSDPD=${BSDPD:-build/san/bsdpd}
BSDPC=${BSDPC:-build/san/bsdpc}
LAB_PREFIX=bi
LAB_NET=198.18.7
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

lab_up
mkdir -p "$WORK/root" "$WORK/state"
make_bundle "$WORK/root" iPXE 101 "<key>IsDefault</key><true/>"
lab_spawn "$SRV" "$WORK/bsdpd.log" "$BSDPD" --foreground --root "$WORK/root" \
	--state-dir "$WORK/state" --interface "$SRV_IF"
wait_for_line "$WORK/bsdpd.log" 10 ready || { cat "$WORK/bsdpd.log"; exit 1; }

jqt() { jq -e "$2" "$1" >/dev/null; }

ip netns exec "$CLI" "$BSDPC" list --timeout 1 --json >"$WORK/one.json" 2>"$WORK/one.err"
check "one candidate interface: bsdpc uses it and the server answers" \
	jqt "$WORK/one.json" ".interface == \"$CLI_IF\" and (.servers | length == 1)"

# A second link inside the client namespace (a veth pair with both ends
# there; this kernel has no dummy driver).
ip -n "$CLI" link add "${LAB_ID}d" type veth peer name "${LAB_ID}e"
ip -n "$CLI" addr add 198.18.8.2/24 brd + dev "${LAB_ID}d"
ip -n "$CLI" link set "${LAB_ID}e" up
ip -n "$CLI" link set "${LAB_ID}d" up
rc=0
ip netns exec "$CLI" "$BSDPC" list --verbose --timeout 1 >"$WORK/two.out" 2>"$WORK/two.err" || rc=$?
check "two candidates: bsdpc exits 2, as for a usage error" [ "$rc" -eq 2 ]
check "two candidates: the error lists both and asks for --interface" \
	grep -q "2 interfaces could carry BSDP (.*$CLI_IF.*${LAB_ID}d\|.*${LAB_ID}d.*$CLI_IF.*); name one with --interface" "$WORK/two.err"
check "two candidates: nothing was sent" bash -c "! grep -q 'sent INFORM' $WORK/two.err"
ip netns exec "$CLI" "$BSDPC" list --interface "$CLI_IF" --timeout 1 --json >"$WORK/named.json"
check "naming the interface still works" jqt "$WORK/named.json" '.servers | length == 1' 
lab_done
