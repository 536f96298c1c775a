# Shared by the namespace integration tests: a two-host lab joined by a
# veth pair, torn down on exit.  Sourced, not run.
#
# Every test runs only processes it started, inside namespaces it created,
# and sends traffic only there.  Without root or `ip netns` it skips.

set -eu

lab_skip() {
	echo "SKIP: $*"
	echo "0 passed, 0 failed, 1 skipped"
	exit 0
}

[ "$(id -u)" -eq 0 ] || lab_skip "needs root for network namespaces"
command -v ip >/dev/null 2>&1 || lab_skip "needs iproute2"

LAB_ID="${LAB_PREFIX:-bt}$$"
SRV="$LAB_ID-srv"
CLI="$LAB_ID-cli"
SRV_IF="${LAB_ID}s"
CLI_IF="${LAB_ID}c"
LAB_NET="${LAB_NET:-198.18.0}"
SRV_IP="$LAB_NET.1"
CLI_IP="$LAB_NET.2"
WORK=$(mktemp -d "/tmp/$LAB_ID.XXXXXX")
LAB_PIDS=""
PASSED=0
FAILED=0

lab_cleanup() {
	for pid in $LAB_PIDS; do
		kill "$pid" 2>/dev/null || true
	done
	for pid in $LAB_PIDS; do
		wait "$pid" 2>/dev/null || true
	done
	ip netns del "$SRV" 2>/dev/null || true
	ip netns del "$CLI" 2>/dev/null || true
	rm -rf "$WORK"
}
trap lab_cleanup EXIT

# shellcheck source=netns.sh
. "$(dirname "${BASH_SOURCE[0]:-$0}")/netns.sh"

lab_up() {
	netns_pair "$SRV" "$CLI" "$SRV_IF" "$CLI_IF" "$SRV_IP" "$CLI_IP" ||
		lab_skip "cannot create network namespaces"
}

# Runs a command in the background in a namespace; remembers its pid.
lab_spawn() {
	ns=$1
	out=$2
	shift 2
	ip netns exec "$ns" "$@" >"$out" 2>&1 &
	LAB_PIDS="$LAB_PIDS $!"
	LAST_PID=$!
}

lab_stop() {
	kill "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
}

# Waits up to $2 seconds (default 10) for file $1 to contain $3.
wait_for_line() {
	file=$1
	timeout=${2:-10}
	pattern=$3
	i=0
	while ! grep -q -- "$pattern" "$file" 2>/dev/null; do
		i=$((i + 1))
		[ "$i" -le $((timeout * 10)) ] || return 1
		sleep 0.1
	done
}

# Runs COMMAND... until it succeeds, up to $1 seconds: for what another
# server shows a moment later (its recorder commits every 10 ms or so).
eventually() {
	local timeout=$1 i=0
	shift
	until "$@"; do
		i=$((i + 1))
		[ "$i" -le $((timeout * 10)) ] || return 1
		sleep 0.1
	done
}

ok() {
	PASSED=$((PASSED + 1))
	echo "ok - $*"
}

not_ok() {
	FAILED=$((FAILED + 1))
	echo "not ok - $*"
}

# check DESCRIPTION COMMAND...: passes when the command succeeds.
check() {
	desc=$1
	shift
	if "$@"; then ok "$desc"; else not_ok "$desc"; fi
}

lab_done() {
	echo "$PASSED passed, $FAILED failed"
	[ "$FAILED" -eq 0 ]
}

# Builds $WORK/watch from inotify_watch.c (one line per open or read of
# the paths it is given), or skips the test.
build_watcher() {
	cc -O2 -o "$WORK/watch" "$(dirname "${BASH_SOURCE[0]}")/inotify_watch.c" ||
		lab_skip "cannot build the inotify watcher"
}

# A bundle under $1 named $2.nbi: BootFileOnly, i386, the given Index
# and extra plist keys in $4.
make_bundle() {
	mkdir -p "$1/$2.nbi/i386"
	cp "${BOOTER:-/usr/lib/ipxe/snponly.efi}" "$1/$2.nbi/i386/booter"
	cat >"$1/$2.nbi/NBImageInfo.plist" <<PLIST
<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
	<key>Architectures</key><array><string>i386</string></array>
	<key>BootFile</key><string>booter</string>
	<key>Index</key><integer>$3</integer>
	<key>Kind</key><integer>1</integer>
	<key>Name</key><string>$2</string>
	<key>Type</key><string>BootFileOnly</string>
	${4:-}
</dict>
</plist>
PLIST
}
