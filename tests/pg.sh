# A throwaway PostgreSQL cluster for the tests of the PostgreSQL backend
# (--database): made with Debian's initdb in a directory of the caller's,
# run as `nobody` when the caller is root (the server refuses to run as
# root), stopped by pg_stop.  Sourced, not run.
#
#   pg_start DIR [ADDRESS PORT]   the cluster in DIR/pg; it listens on a
#                                 UNIX socket in DIR/pg only, or on ADDRESS
#                                 PORT too.  Sets PG_URL (its socket) and
#                                 PG_TCP_URL (ADDRESS:PORT, when given).
#   pg_stop                       a fast shutdown, then kill by PID
#   pg_restart                    starts the stopped cluster again
#   pg_missing                    prints why no cluster can run, or nothing
#
# Debian's binaries are named by path: /usr/local/bin may hold a
# pg_ctl of another version.  Every wait is bounded (pg_ctl -t).

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
PG_DIR=
PG_PID=
PG_OPTS=

pg_missing() {
	for b in initdb pg_ctl postgres; do
		[ -x "$PG_BIN/$b" ] || { echo "no $PG_BIN/$b (Debian's postgresql)"; return 0; }
	done
	if [ "$(id -u)" -eq 0 ] && ! id nobody >/dev/null 2>&1; then
		echo "no user nobody to run the server as"
	fi
}

# PG_NS: the network namespace the server runs in (its TCP address is
# that namespace's); unset: the caller's.
pg_as() {
	local ns=()
	[ -z "${PG_NS:-}" ] || ns=(ip netns exec "$PG_NS")
	if [ "$(id -u)" -eq 0 ]; then
		"${ns[@]}" runuser -u nobody -- "$@"
	else
		"${ns[@]}" "$@"
	fi
}

pg_start() {
	PG_DIR=$1/pg
	mkdir -p "$PG_DIR"
	chmod 755 "$1"
	[ "$(id -u)" -ne 0 ] || chown nobody "$PG_DIR"
	pg_as "$PG_BIN/initdb" -D "$PG_DIR/data" -U bsdpd --auth=trust -E UTF8 \
		--no-sync >"$PG_DIR/initdb.log" 2>&1 || { cat "$PG_DIR/initdb.log" >&2; return 1; }
	listen=""
	port=${3:-5432}
	[ -z "${2:-}" ] || listen=$2
	# fsync off: a test's cluster need not survive a power cut.
	PG_OPTS="-k $PG_DIR -c listen_addresses='$listen' -p $port -F"
	pg_as "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 30 \
		-o "$PG_OPTS" start >"$PG_DIR/pg_ctl.log" 2>&1 ||
		{ cat "$PG_DIR/server.log" >&2; return 1; }
	PG_PID=$(head -n 1 "$PG_DIR/data/postmaster.pid")
	PG_PORT=$port
	PG_URL="postgresql://bsdpd@/postgres?host=$PG_DIR&port=$port"
	PG_TCP_URL=""
	[ -z "$listen" ] || PG_TCP_URL="postgresql://bsdpd@$listen:$port/postgres"
}

# Stops the server and waits for it, or kills it by PID (it is our own).
pg_stop() {
	[ -n "$PG_PID" ] || return 0
	pg_as "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w -t 20 stop >/dev/null 2>&1 ||
		kill -9 "$PG_PID" 2>/dev/null || true
	PG_PID=
}

# Starts the stopped cluster again, on the same port.
pg_restart() {
	pg_as "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 30 \
		-o "$PG_OPTS" start >>"$PG_DIR/pg_ctl.log" 2>&1 || return 1
	PG_PID=$(head -n 1 "$PG_DIR/data/postmaster.pid")
}
