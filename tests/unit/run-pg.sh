#!/bin/bash
# Runs the store's and bindings' unit tests (given as arguments) a second
# time, against a throwaway PostgreSQL cluster started and stopped here
# (tests/pg.sh); `make unit` calls it.  Without Debian's postgresql it
# says SKIP and succeeds: CI installs it (tools/setup-deps).
set -eu

. "$(dirname "$0")/../pg.sh"

why=$(pg_missing)
if [ -n "$why" ]; then
	echo "SKIP: the unit tests on PostgreSQL: $why"
	exit 0
fi
WORK=$(mktemp -d /tmp/bsdpd-pg-unit.XXXXXX)
trap 'pg_stop; rm -rf "$WORK"' EXIT
pg_start "$WORK"
for t in "$@"; do
	echo "== $t (PostgreSQL)"
	BSDPD_TEST_DATABASE=$PG_URL "$t"
done
