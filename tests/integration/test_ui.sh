#!/bin/bash
# The dashboard (/ui/) end to end: bsdpd in one namespace; curl and a
# headless Chromium (Debian's chromium + chromium-driver, driven by
# python3-selenium through ui_driver.py) in the other, so the browser
# reaches nothing but the namespaced bsdpd.
#
#   - the route: 301 /ui -> /ui/, the page and its assets with their types,
#     a strong ETag and 304, Cache-Control: no-cache, the CSP and the other
#     security headers (on the API's answers too), 404 for any other name,
#     405 for a write, and /ui/ never served from the HTTP root;
#   - in the browser: sign-in (a wrong token refused beside its field);
#     a bsdpc LIST/SELECT from the client namespace appears live on Boots
#     without a reload; next boot set in two clicks and read back from the
#     API; validation errors beside their fields; a hostile hostname and
#     model (put straight into the database, where no API check stands in
#     the way) and a hostile description shown as text, running nothing;
#     each page at 375 px without sideways scrolling; no console errors.
# Screenshots of every page: build/artifacts/ui/ (UI_ARTIFACTS).
BSDPD=${BSDPD:-build/san/bsdpd}
BSDPC=${BSDPC:-build/san/bsdpc}
LAB_PREFIX=bui
LAB_NET=198.18.18
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

TOP=$(cd "$(dirname "$0")/../.." && pwd)
ARTIFACTS=${UI_ARTIFACTS:-$TOP/build/artifacts/ui}
for c in curl jq sqlite3 /usr/bin/chromium /usr/bin/chromedriver; do
	command -v "$c" >/dev/null 2>&1 || lab_skip "needs $c"
done
/usr/bin/python3 -c 'import selenium' 2>/dev/null || lab_skip "needs python3-selenium"
BSDPD=$(realpath "$BSDPD")
BSDPC=$(realpath "$BSDPC")
lab_up

PORT=8080
ROOT=$WORK/root
STATE=$WORK/state
BASE="http://$SRV_IP:$PORT"
HOSTILE='<img src=x onerror=alert(1)>'
HOSTILE_MAC=52:54:00:66:66:66
mkdir -p "$ROOT/ui" "$STATE" "$ARTIFACTS"
chmod 700 "$STATE"
make_bundle "$ROOT" iPXE 101 "<key>IsDefault</key><true/>"
make_bundle "$ROOT" Broken 0
# Larger than the socket buffers on both ends, so that what TCP has
# acknowledged (the transfer's bytes) follows what curl reads.
head -c 24000000 /dev/urandom >"$ROOT/vmlinuz"
echo "a file the dashboard's path hides" >"$ROOT/ui/index.html"
chmod -R a+rX "$ROOT"

lab_spawn "$SRV" "$WORK/bsdpd.log" "$BSDPD" --foreground --root "$ROOT" --state-dir "$STATE" \
	--interface "$SRV_IF" --http-port "$PORT" --proxy-dhcp off
BSDPD_PID=$LAST_PID
wait_for_line "$WORK/bsdpd.log" 10 "ready" || { cat "$WORK/bsdpd.log"; exit 1; }
TOKEN=$(cat "$STATE/api-token")

c() { ip netns exec "$CLI" curl -sS --max-time 10 "$@"; }
# head PATH [CURL ARGS]: the response's headers, lower-cased names.
head_of() { p=$1; shift; c -o /dev/null -D - "$@" "$BASE$p" | tr -d '\r'; }
hdr() { grep -i "^$1:" | head -n 1 | cut -d' ' -f2-; }
api() {
	local args=(-X "$1" -H "Authorization: Bearer $TOKEN" --fail-with-body)
	[ $# -ge 3 ] && args+=(-H 'Content-Type: application/json' --data-binary "$3")
	c "${args[@]}" "$BASE/api/v1$2"
}

# ---- the route ---------------------------------------------------------------------
head_of /ui >"$WORK/root.h"
check "/ui answers 301 to /ui/" bash -c "grep -q '^HTTP/1.1 301' '$WORK/root.h' &&
	grep -qx 'Location: /ui/' '$WORK/root.h'"
head_of /ui/ >"$WORK/index.h"
c "$BASE/ui/" >"$WORK/index.html"
check "/ui/ is the dashboard's page, not the root's ui/index.html" \
	grep -q 'src="app.js"' "$WORK/index.html"
check "... as text/html" grep -qi '^content-type: text/html' "$WORK/index.h"
check "... with the strict CSP" test "$(hdr content-security-policy <"$WORK/index.h")" = \
	"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
check "... nosniff, no-referrer, DENY" bash -c "grep -qix 'x-content-type-options: nosniff' '$WORK/index.h' &&
	grep -qix 'referrer-policy: no-referrer' '$WORK/index.h' && grep -qix 'x-frame-options: DENY' '$WORK/index.h'"
check "... Cache-Control: no-cache" test "$(hdr cache-control <"$WORK/index.h")" = no-cache
ETAG=$(hdr etag <"$WORK/index.h")
check "... a strong ETag" bash -c "[[ '$ETAG' =~ ^\\\"[0-9a-f]{32}\\\"\$ ]]"
check "If-None-Match with it: 304" \
	test "$(c -o /dev/null -w '%{http_code}' -H "If-None-Match: $ETAG" "$BASE/ui/")" = 304
check "another ETag: 200" \
	test "$(c -o /dev/null -w '%{http_code}' -H 'If-None-Match: "x"' "$BASE/ui/")" = 200
check "app.js as text/javascript" test "$(c -o /dev/null -w '%{content_type}' "$BASE/ui/app.js")" = \
	"text/javascript; charset=utf-8"
check "app.css as text/css" test "$(c -o /dev/null -w '%{content_type}' "$BASE/ui/app.css")" = \
	"text/css; charset=utf-8"
check "an unknown name: 404" test "$(c -o /dev/null -w '%{http_code}' "$BASE/ui/nothing.js")" = 404
check "an escaped name: 404" test "$(c -o /dev/null -w '%{http_code}' "$BASE/ui/app%2ejs")" = 404
check "a dotted path: 404" test "$(c -o /dev/null -w '%{http_code}' --path-as-is "$BASE/ui/../vmlinuz")" = 404
check "/uix is a file path again (404 here)" \
	test "$(c -o /dev/null -w '%{http_code}' "$BASE/uix")" = 404
check "a POST: 405" test "$(c -o /dev/null -w '%{http_code}' -X POST "$BASE/ui/")" = 405
c -I "$BASE/ui/app.js" >"$WORK/head.out"
check "HEAD: the headers with the ETag" grep -qi '^etag: "' "$WORK/head.out"
check "the API's answers carry nosniff and the CSP too" bash -c "
	ip netns exec '$CLI' curl -sS -o /dev/null -D - '$BASE/api/v1/profiles' | tr -d '\r' |
	grep -qi '^x-content-type-options: nosniff' &&
	ip netns exec '$CLI' curl -sS -o /dev/null -D - '$BASE/api/v1/profiles' | tr -d '\r' |
	grep -qi '^content-security-policy: default-src'"
check "a served file does not" bash -c "! ip netns exec '$CLI' curl -sS -o /dev/null -D - \
	'$BASE/vmlinuz' | grep -qi '^content-security-policy'"

# ---- what the browser will see ----------------------------------------------------------
api PUT /profiles/install '{"kind":"linux","kernel":"vmlinuz","initrds":[],"cmdline":"quiet"}' >/dev/null
api PUT /profiles/disk "{\"kind\":\"local\",\"description\":\"$HOSTILE\"}" >/dev/null ||
	not_ok "a profile with a hostile description is accepted"
api PUT "/machines/$HOSTILE_MAC" '{"hostname":"placeholder","profile":"disk"}' >/dev/null
# No API path stores markup in a hostname (policy.c checks it) and the
# wire's values are made inert (boot_policy.c): put it in the database
# directly, so the page's own escaping is what is tested.
sqlite3 -cmd '.timeout 5000' "$STATE/bindings.sqlite" \
	"UPDATE machines SET hostname = '$HOSTILE', model = '$HOSTILE' WHERE mac = X'525400666666'"
check "the API gives the hostile hostname back as it is stored" \
	test "$(api GET "/machines/$HOSTILE_MAC" | jq -r .hostname)" = "$HOSTILE"

CLI_MAC=$(ip -n "$CLI" -o link show "$CLI_IF" | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p')
BSDPC_CMD="'$BSDPC' list --interface '$CLI_IF' --timeout 1 >/dev/null &&
	'$BSDPC' select --interface '$CLI_IF' --timeout 1 --image 0x01000065 --fetch '$WORK/booter'"

ip netns exec "$CLI" /usr/bin/python3 "$(dirname "$0")/ui_driver.py" lab --base "$BASE" \
	--token-file "$STATE/api-token" --artifacts "$ARTIFACTS" --mac "$CLI_MAC" \
	--hostile-mac "$HOSTILE_MAC" --next-boot install --bsdpc "$BSDPC_CMD" \
	--download "curl -sS -o /dev/null --limit-rate 4M '$BASE/vmlinuz?mac=${CLI_MAC//:/-}'" \
	>"$WORK/driver.out" 2>"$WORK/driver.err" || true
while read -r line; do
	case $line in
	"ok - "*) ok "${line#ok - }" ;;
	"not ok - "*) not_ok "${line#not ok - }" ;;
	esac
done <"$WORK/driver.out"
grep -q '^\(not \)\{0,1\}ok - the browser console shows no errors' "$WORK/driver.out" ||
	{ not_ok "the browser test ran to its end"; tail -n 20 "$WORK/driver.err"; }
check "bsdpd logged no error of its own" bash -c "! grep -q 'Sanitizer\|runtime error' '$WORK/bsdpd.log'"
check "the slow download spent the next boot" \
	test "$(api GET "/machines/$CLI_MAC" | jq -r '.next_boot // "none"')" = none
check "screenshots of every page" bash -c "for p in boots machines policy images server; do
	[ -s '$ARTIFACTS/'\$p.png ] && [ -s '$ARTIFACTS/'\$p-375.png ] || exit 1; done"
lab_stop "$BSDPD_PID"
lab_done
