#!/bin/bash
# /metrics end to end: a Mac lists and selects an image and fetches its
# booter by TFTP (bsdpc), iPXE asks for /boot.ipxe, curl fetches a file
# and a missing one; then the page is read with curl, checked by a real
# Prometheus parser (promtool check metrics, Debian's prometheus), and
# each counter is seen to have moved by what the clients did.
BSDPD=${BSDPD:-build/san/bsdpd}
BSDPC=${BSDPC:-build/san/bsdpc}
LAB_PREFIX=bme
LAB_NET=198.18.20
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

for c in curl promtool; do
	command -v "$c" >/dev/null 2>&1 || lab_skip "needs $c (tools/setup-deps)"
done
lab_up

PORT=8080
ROOT=$WORK/root
STATE=$WORK/state
LOG=$WORK/bsdpd.log
mkdir -p "$ROOT" "$STATE"
make_bundle "$ROOT" iPXE 101
head -c 3000 /dev/urandom >"$ROOT/kernel"
chmod 644 "$ROOT/kernel"

lab_spawn "$SRV" "$LOG" "$BSDPD" --foreground --root "$ROOT" --state-dir "$STATE" \
	--interface "$SRV_IF" --http-port "$PORT"
BSDPD_PID=$LAST_PID
wait_for_line "$LOG" 10 "ready" || { cat "$LOG"; exit 1; }

c() { ip netns exec "$CLI" curl -sS --max-time 10 "$@"; }
BASE="http://$SRV_IP:$PORT"

ip netns exec "$CLI" "$BSDPC" select --interface "$CLI_IF" --timeout 1 --image 0x01000065 \
	--fetch "$WORK/booter" >/dev/null 2>&1 || true
c -o /dev/null "$BASE/boot.ipxe?mac=52-54-00-12-34-56"
c -o /dev/null "$BASE/kernel"
c -o /dev/null "$BASE/missing"
c -D "$WORK/headers" -o "$WORK/metrics" "$BASE/metrics"

check "/metrics is text/plain; version=0.0.4" \
	grep -qi '^content-type: text/plain; version=0.0.4' "$WORK/headers"
check "promtool check metrics accepts the page" \
	eval 'promtool check metrics <"$WORK/metrics" >"$WORK/promtool.out" 2>&1'
[ -s "$WORK/promtool.out" ] && cat "$WORK/promtool.out"
has() { grep -qx -- "$1" "$WORK/metrics" || { echo "# not in /metrics: $1"; return 1; }; }
check "BSDP: one INFORM[LIST] and one INFORM[SELECT], both answered" eval '
	has "bsdpd_bsdp_requests_total{kind=\"list\"} 1" &&
	has "bsdpd_bsdp_requests_total{kind=\"select\"} 1" &&
	has "bsdpd_bsdp_replies_total{kind=\"list\"} 1" &&
	has "bsdpd_bsdp_replies_total{kind=\"select\"} 1"'
booter_size=$(stat -c %s "$ROOT/iPXE.nbi/i386/booter")
check "TFTP: the booter's transfer completed, its bytes counted" eval '
	has "bsdpd_tftp_transfers_total{outcome=\"completed\"} 1" &&
	has "bsdpd_tftp_sent_bytes_total $booter_size" &&
	has "bsdpd_tftp_active_transfers 0"'
check "HTTP: the script, the file and the 404 by route and class" eval '
	has "bsdpd_http_requests_total{route=\"script\",code=\"2xx\"} 1" &&
	has "bsdpd_http_requests_total{route=\"file\",code=\"2xx\"} 1" &&
	has "bsdpd_http_requests_total{route=\"file\",code=\"4xx\"} 1" &&
	grep -q "^bsdpd_http_response_bytes_total{route=\"file\"} 30[0-9][0-9]$" "$WORK/metrics"'
check "one script render observed" has "bsdpd_script_render_seconds_count 1"
check "gauges: one image, one binding" eval '
	has "bsdpd_catalog_images 1" && has "bsdpd_bindings 1"'
lab_stop "$BSDPD_PID"
check "bsdpd exited cleanly (no sanitizer report)" bash -c "! grep -q 'Sanitizer' '$LOG'"
lab_done
