#!/bin/bash
# Reload that drops nothing (issue 11, item 5), under load.  While 50 TFTP
# transfers of a 40 MB file and 16 HTTP downloads of a 200 MB file run
# (curl, each piped through sha256sum), bsdpd gets ten SIGHUPs: a broken
# bundle added, a broken boot.ipxe template, the 40 MB file deleted while
# it is served, the 200 MB file replaced (by rename) while it is served,
# the 40 MB file put back with other bytes, the template mended, the broken
# bundle removed, and plain ones.  Every transfer ends byte-identical to
# the file it started with; the good images keep being listed and served
# throughout, the broken bundle and template are reported, and the old
# template keeps serving until the mended one replaces it.
BSDPD=${BSDPD:-build/san/bsdpd}
BSDPC=${BSDPC:-build/san/bsdpc}
LAB_PREFIX=brl
LAB_NET=198.18.42
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

for c in curl jq sha256sum; do
	command -v "$c" >/dev/null 2>&1 || lab_skip "needs $c"
done
lab_up
TFTP_N=${RELOAD_TFTP_TRANSFERS:-50}
HTTP_N=${RELOAD_HTTP_DOWNLOADS:-16}
ROOT=$WORK/root
STATE=$WORK/state
OUT=$WORK/out
PORT=8080
BASE="http://$SRV_IP:$PORT"
mkdir -p "$ROOT" "$STATE" "$OUT"
chmod 700 "$STATE"
make_bundle "$ROOT" Good1 101 "<key>IsDefault</key><true/>"
make_bundle "$ROOT" Good2 102
head -c 40000000 /dev/urandom >"$ROOT/big40"
head -c 200000000 /dev/urandom >"$ROOT/big200"
printf '#!ipxe\necho template one\n' >"$ROOT/boot.ipxe"
chmod -R a+rX "$ROOT"
SUM40=$(sha256sum <"$ROOT/big40" | cut -d' ' -f1)
SUM200=$(sha256sum <"$ROOT/big200" | cut -d' ' -f1)

# 50 TFTP transfers come from one address: --tftp-max-per-client lets them.
lab_spawn "$SRV" "$WORK/bsdpd.log" "$BSDPD" --foreground --root "$ROOT" --state-dir "$STATE" \
	--interface "$SRV_IF" --http-port "$PORT" --proxy-dhcp off --tftp-max-per-client 64
BSDPD_PID=$LAST_PID
wait_for_line "$WORK/bsdpd.log" 20 "ready" || { cat "$WORK/bsdpd.log"; exit 1; }

# Each client writes "SHA256 EXIT" to its file when it is done.  HTTP is
# paced (25 MB/s each) so that the downloads span the reloads; TFTP is
# paced by its lock-step.
fetch() { # NAME URL CURL-ARGS...
	local name=$1 url=$2
	shift 2
	ip netns exec "$CLI" bash -c 'set -o pipefail; s=$(curl -sS --max-time 240 "$@" | \
		sha256sum | cut -d" " -f1); echo "$s $?"' fetch "$@" "$url" >"$OUT/$name" 2>&1 &
	LAB_PIDS="$LAB_PIDS $!"
	FETCHES="$FETCHES $!"
}
FETCHES=
for i in $(seq "$TFTP_N"); do
	fetch "tftp-$i" "tftp://$SRV_IP/big40" --tftp-blksize 1468
done
for i in $(seq "$HTTP_N"); do
	fetch "http-$i" "$BASE/big200" --limit-rate 25M
done

# hup STEP: one SIGHUP, then waits until the catalog has been re-read
# (its "serving N images" line) and the template with it.
RELOADS=0
hup() {
	RELOADS=$((RELOADS + 1))
	kill -HUP "$BSDPD_PID"
	local i=0
	while [ "$(grep -c 'serving [0-9]* images\? from' "$WORK/bsdpd.log")" -le "$RELOADS" ]; do
		i=$((i + 1))
		[ "$i" -le 300 ] || { not_ok "SIGHUP $RELOADS ($1): no re-read in 30 s"; return; }
		sleep 0.1
	done
	ok "SIGHUP $RELOADS: $1"
}
bsdpc() { ip netns exec "$CLI" "$BSDPC" "$@" --interface "$CLI_IF" --timeout 1 --json; }
listed() { # NAMES (sorted, comma-separated)
	bsdpc list >"$OUT/list.json" 2>/dev/null || true
	[ "$(jq -r '[.servers[0].images[].name] | sort | join(",")' "$OUT/list.json")" = "$1" ]
}
script_says() { # TEXT
	ip netns exec "$CLI" curl -sS --max-time 10 "$BASE/boot.ipxe" | grep -q "$1"
}
unfinished() { # how many fetches have not written their result yet
	local n=0 f
	for f in "$OUT"/tftp-* "$OUT"/http-*; do
		[ -s "$f" ] || n=$((n + 1))
	done
	echo "$n"
}

sleep 1
hup "plain, at the start of the transfers"
make_bundle "$ROOT" Broken 0
chmod -R a+rX "$ROOT"
hup "a broken bundle added"
check "the broken bundle is reported, with its file and reason" grep -q \
	"Broken.nbi/NBImageInfo.plist: image skipped: Index 0 is out of range" "$WORK/bsdpd.log"
check "the good images are still listed, not the broken one" listed Good1,Good2

printf 'echo no #!ipxe line\n' >"$ROOT/boot.ipxe.new"
mv "$ROOT/boot.ipxe.new" "$ROOT/boot.ipxe"
hup "a broken boot.ipxe template"
check "the broken template is reported" \
	wait_for_line "$WORK/bsdpd.log" 10 "the previous /boot.ipxe keeps serving"
check "the previous template keeps serving" script_says "template one"

in_flight=$(unfinished)
rm "$ROOT/big40"
hup "big40 deleted while $in_flight fetches are in flight"
check "transfers are in flight across the delete ($in_flight unfinished)" test "$in_flight" -gt 0

head -c 200000000 /dev/urandom >"$ROOT/big200.new"
chmod a+r "$ROOT/big200.new"
mv "$ROOT/big200.new" "$ROOT/big200"
hup "big200 replaced (rename) while it is served"
NEW200=$(sha256sum <"$ROOT/big200" | cut -d' ' -f1)

head -c 40000000 /dev/urandom >"$ROOT/big40"
chmod a+r "$ROOT/big40"
NEW40=$(sha256sum <"$ROOT/big40" | cut -d' ' -f1)
hup "big40 back, with other bytes"
check "a TFTP fetch of a good image's booter succeeds during the load" bash -c \
	"ip netns exec '$CLI' curl -sS --max-time 30 'tftp://$SRV_IP/Good2.nbi/i386/booter' |
	cmp -s - '$ROOT/Good2.nbi/i386/booter'"

printf '#!ipxe\necho template two\n' >"$ROOT/boot.ipxe.new"
chmod a+r "$ROOT/boot.ipxe.new"
mv "$ROOT/boot.ipxe.new" "$ROOT/boot.ipxe"
hup "the template mended"
check "the mended template serves" script_says "template two"

rm -rf "$ROOT/Broken.nbi"
hup "the broken bundle removed"
hup "plain"
hup "plain, the tenth"
check "the good images are listed after ten SIGHUPs" listed Good1,Good2

for pid in $FETCHES; do
	wait "$pid" 2>/dev/null || true
done
good_tftp=0
good_http=0
for i in $(seq "$TFTP_N"); do
	[ "$(cat "$OUT/tftp-$i")" = "$SUM40 0" ] && good_tftp=$((good_tftp + 1))
done
for i in $(seq "$HTTP_N"); do
	[ "$(cat "$OUT/http-$i")" = "$SUM200 0" ] && good_http=$((good_http + 1))
done
check "all $TFTP_N TFTP transfers are byte-identical to the file they started with" \
	test "$good_tftp" -eq "$TFTP_N"
check "all $HTTP_N HTTP downloads are byte-identical to the file they started with" \
	test "$good_http" -eq "$HTTP_N"
[ "$good_tftp" -eq "$TFTP_N" ] || head -n 3 "$OUT"/tftp-*
check "a new TFTP fetch gets the new big40" bash -c \
	"ip netns exec '$CLI' curl -sS --max-time 60 --tftp-blksize 1468 'tftp://$SRV_IP/big40' |
	sha256sum | grep -q '^$NEW40 '"
check "a new HTTP download gets the new big200" bash -c \
	"ip netns exec '$CLI' curl -sS --max-time 60 '$BASE/big200' | sha256sum | grep -q '^$NEW200 '"
check "bsdpd is still running" kill -0 "$BSDPD_PID"
lab_stop "$BSDPD_PID"
check "no sanitizer report" bash -c "! grep -q Sanitizer '$WORK/bsdpd.log'"

lab_done
