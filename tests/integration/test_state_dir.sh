#!/bin/bash
# The state directory against its own --user (issue 7, item 3).  bsdpd
# starts as root and gives --state-dir to --user; that user can then plant
# links and files there before the next root start.  bsdpd must refuse
# them, naming the file and what is wrong, and create or give away
# nothing; a normal --user start must still record bindings, as the user.
BSDPD=${BSDPD:-build/san/bsdpd}
BSDPC=${BSDPC:-build/san/bsdpc}
LAB_PREFIX=bd
LAB_NET=198.18.5
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

command -v sqlite3 >/dev/null || lab_skip "needs sqlite3"
command -v runuser >/dev/null || lab_skip "needs runuser"
id nobody >/dev/null 2>&1 || lab_skip "needs user nobody"
lab_up
chmod 755 "$WORK" # nobody must reach its state directories
ROOT=$WORK/root
PRIVATE=$WORK/private # root's, as /etc or /root would be
mkdir -p "$ROOT" -m 700 "$PRIVATE"
make_bundle "$ROOT" iPXE 101 "<key>IsDefault</key><true/>"
NOBODY="$(id -u nobody):$(id -g nobody)"
sqlite3 "$PRIVATE/secret.db" "CREATE TABLE secret (x); INSERT INTO secret VALUES ('root only');"
echo "root only" >"$PRIVATE/secret.txt"
chmod 600 "$PRIVATE/secret.db" "$PRIVATE/secret.txt"

# as_nobody CMD...: what the --user account can do in its own directory.
as_nobody() { runuser -u nobody -- "$@"; }

# A state directory that an earlier run gave to nobody.
given_dir() {
	mkdir "$WORK/$1"
	chown "$NOBODY" "$WORK/$1"
	echo "$WORK/$1"
}

# refused NAME STATE_DIR PATTERN: a start with --user nobody exits with an
# error line matching PATTERN (bounded: a start that is not refused is
# stopped by timeout and fails the check).
refused() {
	rc=0
	timeout 10 ip netns exec "$SRV" "$BSDPD" --foreground --root "$ROOT" --state-dir "$2" \
		--interface "$SRV_IF" --no-tftp --user nobody >"$WORK/$1.log" 2>&1 || rc=$?
	if [ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] && grep -q -- "$3" "$WORK/$1.log"; then
		ok "$1: refused: $(grep -o -- "$3.*" "$WORK/$1.log" | head -n 1)"
	else
		not_ok "$1: not refused (exit $rc): $(tail -n 3 "$WORK/$1.log" | tr '\n' ' ')"
	fi
}

untouched() {
	[ "$(stat -c %u:%g "$PRIVATE/secret.db")" = 0:0 ] &&
		[ "$(sqlite3 "$PRIVATE/secret.db" .tables)" = secret ] &&
		[ "$(stat -c %u:%g "$PRIVATE/secret.txt")" = 0:0 ] &&
		[ "$(cat "$PRIVATE/secret.txt")" = "root only" ] &&
		[ "$(stat -c %u:%g "$PRIVATE")" = 0:0 ]
}

S=$(given_dir link-db)
as_nobody ln -s "$PRIVATE/secret.db" "$S/bindings.sqlite"
refused "bindings.sqlite linked to root's database" "$S" "$S/bindings.sqlite: is a symbolic link"
check "root's database is still root's, with no bindings table written into it" untouched

S=$(given_dir link-new)
as_nobody ln -s "$PRIVATE/new.db" "$S/bindings.sqlite"
refused "bindings.sqlite linked to a new file in a root-only directory" "$S" \
	"$S/bindings.sqlite: is a symbolic link"
check "nothing is created at the link's target" test ! -e "$PRIVATE/new.db"

S=$(given_dir link-wal)
as_nobody ln -s "$PRIVATE/secret.txt" "$S/bindings.sqlite-wal"
refused "bindings.sqlite-wal linked to a root file" "$S" "$S/bindings.sqlite-wal: is a symbolic link"
as_nobody ln -s "$PRIVATE/secret.txt" "$S/bindings.sqlite-shm"
check "the -wal and -shm targets are still root's" untouched

# fs.protected_hardlinks stops nobody making this link; root makes it here
# to stand for a system where it is off.
S=$(given_dir hard-link)
ln "$PRIVATE/secret.db" "$S/bindings.sqlite"
refused "bindings.sqlite hard-linked to root's database" "$S" "$S/bindings.sqlite: has 2 hard links"
check "the hard-linked database is still root's" untouched

S=$(given_dir fifo)
as_nobody mkfifo "$S/bindings.sqlite"
refused "bindings.sqlite is a FIFO" "$S" "$S/bindings.sqlite: is not a regular file"

ln -s "$PRIVATE" "$WORK/link-dir"
refused "the state directory is a symbolic link" "$WORK/link-dir" \
	"$WORK/link-dir: the state directory is a symbolic link"
check "the link's target directory is not given away" untouched
check "nothing is created in the link's target" test ! -e "$PRIVATE/bindings.sqlite"

S=$(given_dir world-writable)
chmod 777 "$S"
refused "a world-writable state directory" "$S" "$S: the state directory is writable by group or others (mode 0777)"

S=$(given_dir other-owner)
chown 4242:4242 "$S"
refused "a state directory owned by someone else" "$S" "$S: owned by uid 4242, not by uid 0 or --user nobody"
check "that directory is not given away" test "$(stat -c %u "$S")" = 4242

S=$WORK/other-file
mkdir "$S"
touch "$S/bindings.sqlite-shm"
chown 4242:4242 "$S/bindings.sqlite-shm"
refused "a database file owned by someone else" "$S" \
	"$S/bindings.sqlite-shm: owned by uid 4242, not by uid 0 or --user nobody"

# The normal case: a root run made the database, a --user run takes it
# over, opens it as nobody and records a SELECT.
S=$WORK/state
lab_spawn "$SRV" "$WORK/root-run.log" "$BSDPD" --foreground --root "$ROOT" --state-dir "$S" \
	--interface "$SRV_IF" --no-tftp
wait_for_line "$WORK/root-run.log" 10 "ready" || { cat "$WORK/root-run.log"; exit 1; }
lab_stop "$LAST_PID"
check "a root run makes a root-owned database" test "$(stat -c %u "$S/bindings.sqlite")" = 0
lab_spawn "$SRV" "$WORK/user-run.log" "$BSDPD" --foreground --root "$ROOT" --state-dir "$S" \
	--interface "$SRV_IF" --no-tftp --user nobody
BSDPD_PID=$LAST_PID
wait_for_line "$WORK/user-run.log" 10 "ready" || { cat "$WORK/user-run.log"; exit 1; }
ip netns exec "$CLI" "$BSDPC" select --interface "$CLI_IF" --timeout 1 --image 0x01000065 \
	--json >"$WORK/select.json" || true
check "as nobody, a SELECT is acknowledged" grep -q '"result": *"ACK"' "$WORK/select.json"
lab_stop "$BSDPD_PID"
check "the binding is recorded" test "$(sqlite3 "$S/bindings.sqlite" 'SELECT count(*) FROM clients')" = 1
check "the state directory and database now belong to nobody" \
	test "$(stat -c %u:%g "$S" "$S/bindings.sqlite" | sort -u)" = "$NOBODY"
check "the database is at schema version 3" test "$(sqlite3 "$S/bindings.sqlite" 'PRAGMA user_version')" = 3

lab_done
