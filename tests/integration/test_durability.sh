#!/bin/bash
# Durability (issue 11, item 7): the database of bindings, policy and
# events survives kill -9 at any moment.  Two streams of Mac SELECTs
# (bsdpc, a new MAC each) and one of API writes (curl PUT of a new
# profile each) run against bsdpd while it is killed with SIGKILL and
# started again, rounds times.  After each kill `PRAGMA integrity_check`
# says ok; at the end every SELECT that got its ACK and every PUT that
# got its 200/201 is in the database, and bsdpd starts on it and serves.
BSDPD=${BSDPD:-build/san/bsdpd}
BSDPC=${BSDPC:-build/san/bsdpc}
LAB_PREFIX=bdu
LAB_NET=198.18.41
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

for c in curl sqlite3; do
	command -v "$c" >/dev/null 2>&1 || lab_skip "needs $c"
done
lab_up
ROUNDS=${DURABILITY_ROUNDS:-6}
ROOT=$WORK/root
STATE=$WORK/state
DB=$STATE/bindings.sqlite
PORT=8080
BASE="http://$SRV_IP:$PORT"
mkdir -p "$ROOT" "$STATE"
chmod 700 "$STATE"
make_bundle "$ROOT" iPXE 101 "<key>IsDefault</key><true/>"
: >"$WORK/acked-macs"
: >"$WORK/acked-profiles"

start_bsdpd() { # LOG
	lab_spawn "$SRV" "$1" "$BSDPD" --foreground --root "$ROOT" --state-dir "$STATE" \
		--interface "$SRV_IF" --no-tftp --http-port "$PORT" --proxy-dhcp off
	BSDPD_PID=$LAST_PID
	wait_for_line "$1" 20 "ready" || { cat "$1"; exit 1; }
}

# select_stream PREFIX: SELECTs from MACs PREFIX:00:00:01, :02, ...; an
# ACKed MAC is written down (upper-case hex, as SQLite's hex() gives it).
select_stream() {
	local i=0 mac
	while [ ! -e "$WORK/stop" ]; do
		i=$((i + 1))
		mac=$(printf '%s:%02x:%02x:%02x' "$1" $((i >> 16 & 255)) $((i >> 8 & 255)) \
			$((i & 255)))
		if ip netns exec "$CLI" "$BSDPC" select --interface "$CLI_IF" --mac "$mac" \
			--server "$SRV_IP" --image 0x01000065 --timeout 0.5 --json 2>/dev/null |
			grep -q '"result": *"ACK"'; then
			echo "$mac" | tr -d : | tr a-f A-F >>"$WORK/acked-macs"
		else
			sleep 0.05
		fi
	done
}

# api_stream: PUT profile w1, w2, ...; a 200 or 201 is written down.
api_stream() {
	local i=0 code
	while [ ! -e "$WORK/stop" ]; do
		i=$((i + 1))
		code=$(ip netns exec "$CLI" curl -sS --max-time 2 -o /dev/null -w '%{http_code}' \
			-X PUT -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
			--data-binary "{\"kind\":\"shell\",\"description\":\"write $i\"}" \
			"$BASE/api/v1/profiles/w$i" 2>/dev/null || true)
		case $code in
		200 | 201) echo "w$i" >>"$WORK/acked-profiles" ;;
		*) sleep 0.05 ;;
		esac
	done
}

start_bsdpd "$WORK/bsdpd-0.log"
TOKEN=$(cat "$STATE/api-token")
select_stream 02:00:01 &
STREAMS="$!"
select_stream 02:00:02 &
STREAMS="$STREAMS $!"
api_stream &
STREAMS="$STREAMS $!"
LAB_PIDS="$LAB_PIDS $STREAMS"

intact=0
for round in $(seq "$ROUNDS"); do
	# 0.5 to 1.4 s of traffic, then SIGKILL in the middle of it.
	sleep "0.$((RANDOM % 10))"
	sleep 0.5
	kill -9 "$BSDPD_PID"
	wait "$BSDPD_PID" 2>/dev/null || true
	[ "$(sqlite3 "$DB" 'PRAGMA integrity_check')" = ok ] && intact=$((intact + 1))
	start_bsdpd "$WORK/bsdpd-$round.log"
done
touch "$WORK/stop"
for pid in $STREAMS; do
	wait "$pid" 2>/dev/null || true
done
kill -9 "$BSDPD_PID"
wait "$BSDPD_PID" 2>/dev/null || true

check "integrity_check is ok after each of $ROUNDS kills" test "$intact" -eq "$ROUNDS"
check "and after the last one" test "$(sqlite3 "$DB" 'PRAGMA integrity_check')" = ok
n_macs=$(wc -l <"$WORK/acked-macs")
n_profiles=$(wc -l <"$WORK/acked-profiles")
check "the streams ran: $n_macs SELECTs and $n_profiles API writes acknowledged" \
	test "$n_macs" -ge 20 -a "$n_profiles" -ge 20
sqlite3 "$DB" 'SELECT hex(mac) FROM clients' | sort >"$WORK/db-macs"
sqlite3 "$DB" 'SELECT name FROM profiles' | sort >"$WORK/db-profiles"
lost_macs=$(sort "$WORK/acked-macs" | comm -23 - "$WORK/db-macs" | wc -l)
lost_profiles=$(sort "$WORK/acked-profiles" | comm -23 - "$WORK/db-profiles" | wc -l)
check "every ACKed SELECT's binding is kept ($lost_macs lost)" test "$lost_macs" -eq 0
check "every acknowledged API write is kept ($lost_profiles lost)" test "$lost_profiles" -eq 0
# A SELECT's event is written after its ACK, in the step's batch: a kill
# may take those of its last step (a request of each stream at most).
n_events=$(sqlite3 "$DB" "SELECT count(*) FROM events WHERE kind = 'bsdp-select'")
check "the SELECTs' boot events are kept, but for the last step before a kill ($n_events)" \
	test "$n_events" -ge $((n_macs - 2 * ROUNDS))

# The ACK leaves only after the commit.  Two SELECTs wait in the socket
# while gdb holds bsdpd; one loop step answers both, and the first one's
# boot event opens the step's write batch, so the second binding is
# written inside it.  At the second net_send (its ACK about to leave)
# gdb kills bsdpd: the binding must already be in the database.
if command -v gdb >/dev/null 2>&1; then
	start_bsdpd "$WORK/bsdpd-gdb.log"
	send_two="for m in 02:00:03:00:00:01 02:00:03:00:00:02; do
		(ip netns exec '$CLI' '$BSDPC' select --interface '$CLI_IF' --mac \$m \
		--server '$SRV_IP' --image 0x01000065 --timeout 3 >/dev/null 2>&1 &); done; sleep 1"
	printf '%s\n' 'break net_send' 'ignore 1 1' "shell $(echo "$send_two" | tr -d '\n\t')" \
		continue kill >"$WORK/kill-at-ack.gdb"
	timeout 60 gdb -q -batch -p "$BSDPD_PID" -x "$WORK/kill-at-ack.gdb" >"$WORK/gdb.log" 2>&1 ||
		true
	wait "$BSDPD_PID" 2>/dev/null || true
	kept=$(sqlite3 "$DB" "SELECT group_concat(hex(mac), ' ') FROM clients WHERE hex(mac) IN
		('020003000001', '020003000002')")
	check "a SELECT's binding is committed before its ACK leaves, even inside a batch ($kept)" \
		test "$kept" = "020003000001 020003000002"
else
	echo "SKIP: the commit-before-ACK check needs gdb"
fi

start_bsdpd "$WORK/bsdpd-last.log"
last=$(tail -n 1 "$WORK/acked-profiles")
check "bsdpd starts on the database and serves the last write ($last)" bash -c \
	"ip netns exec '$CLI' curl -sS --max-time 5 -H 'Authorization: Bearer $TOKEN' \
	'$BASE/api/v1/profiles/$last' | grep -q '\"write ${last#w}\"'"
lab_stop "$BSDPD_PID"

lab_done
