#!/bin/bash
# TFTP path safety: a corpus of names that try to leave --root or reach
# something that is not a regular, world-readable file: "..", its encoded
# and backslashed forms, absolute paths, symlinks leading out (absolute,
# relative, through a directory, chained), device nodes, a FIFO, a
# directory, a private file, empty and very long names, control bytes.
# Every one must be refused with TFTP error 1 or 2 and no byte of the file
# outside the root may come back.  And nothing outside the root may even
# be opened: an inotify watch (IN_OPEN, IN_ACCESS) on the outside
# directory, the canary file, the device node and the FIFO must stay
# silent for the whole corpus, and the canary's atime must not move.
# Symlinks that stay inside the root are served (a positive control).
BSDPD=${BSDPD:-build/san/bsdpd}
TFTP_LOAD=${TFTP_LOAD:-build/san/tftp-load}
LAB_PREFIX=btt
LAB_NET=198.18.6
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

for c in cc tftp cmp mknod mkfifo; do
	command -v "$c" >/dev/null 2>&1 || lab_skip "needs $c"
done
[ -x "$TFTP_LOAD" ] || lab_skip "needs $TFTP_LOAD (make $TFTP_LOAD)"
lab_up

ROOT=$WORK/root
OUTSIDE=$WORK/outside
STATE=$WORK/state
OUT=$WORK/out
LOG=$WORK/bsdpd.log
mkdir -p "$ROOT/subdir" "$OUTSIDE" "$STATE" "$OUT"
echo "CANARY-$$-outside-the-root" >"$OUTSIDE/secret"
chmod 644 "$OUTSIDE/secret"
cp /usr/lib/ipxe/snponly.efi "$ROOT/snponly.efi" 2>/dev/null || head -c 100000 /dev/urandom >"$ROOT/snponly.efi"
chmod 644 "$ROOT/snponly.efi"
ln -s "$OUTSIDE/secret" "$ROOT/escape-abs"
ln -s ../outside/secret "$ROOT/escape-rel"
ln -s ../outside "$ROOT/dirlink"
ln -s escape-rel "$ROOT/chain"
ln -s /etc/passwd "$ROOT/passwd-link"
ln -s snponly.efi "$ROOT/inside-link"
ln -s ../snponly.efi "$ROOT/subdir/up-but-inside"
mknod "$ROOT/null" c 1 3 || lab_skip "cannot create device nodes here"
mkfifo "$ROOT/fifo"
echo private >"$ROOT/private"
chmod 600 "$ROOT/private"
touch -a -d '2001-01-01' "$OUTSIDE/secret" # relatime will move it on any read
atime0=$(stat -c %X "$OUTSIDE/secret")

build_watcher

lab_spawn "$SRV" "$LOG" "$BSDPD" --foreground --root "$ROOT" --state-dir "$STATE" \
	--interface "$SRV_IF"
BSDPD_PID=$LAST_PID
wait_for_line "$LOG" 10 "ready" || { cat "$LOG"; exit 1; }
# Started after bsdpd: its start-up reads nothing outside the root either,
# but the watch is about what clients can make it do.
lab_spawn "$SRV" "$WORK/events" "$WORK/watch" "$OUTSIDE" "$OUTSIDE/secret" "$ROOT/null" \
	"$ROOT/fifo" "$ROOT/private"
wait_for_line "$WORK/events" 5 watching || { cat "$WORK/events"; exit 1; }

# fetch NAME OUT: our client sends NAME byte for byte; prints its error.
fetch() {
	ip netns exec "$CLI" "$TFTP_LOAD" -s "$SRV_IP" -f "$1" -o "$2" 2>&1 >/dev/null | tail -n 1
}

# refused NAME: error 1 or 2, and no canary bytes came back.
refused() {
	out="$OUT/refused.$((++n))"
	rm -f "$out"
	err=$(fetch "$1" "$out")
	case $err in
	*"server error 1:"* | *"server error 2:"*) ;;
	*) echo "# '$1': $err"; return 1 ;;
	esac
	! grep -q CANARY "$out" 2>/dev/null
}

long=$(printf 'a%.0s' $(seq 1 1400))
n=0
while IFS= read -r name; do
	check "refused: '${name:0:60}'" refused "$name"
done <<EOF
../outside/secret
..\\outside\\secret
/../outside/secret
\\..\\outside\\secret
a/../../outside/secret
subdir/../../outside/secret
./../outside/secret
%2e%2e/outside/secret
..%2foutside%2fsecret
%2e%2e%2foutside%2fsecret
....//outside/secret
$OUTSIDE/secret
$ROOT/../outside/secret
/etc/passwd
escape-abs
escape-rel
dirlink/secret
dirlink
chain
passwd-link
null
fifo
subdir
subdir/
private
.
/
//
$long
EOF
check "refused: the empty name" refused ""
check "refused: a name with a newline" refused $'snponly.efi\nx'
check "refused: a name with an escape byte" refused $'snp\033only.efi'
rm -f "$OUT/hpa.out"
ip netns exec "$CLI" tftp -m binary "$SRV_IP" -c get ../outside/secret "$OUT/hpa.out" \
	>"$WORK/hpa.log" 2>&1 || true
check "tftp-hpa asking for ../outside/secret gets error 2" grep -q "Error code 2" "$WORK/hpa.log"
check "and no canary" bash -c "! grep -qs CANARY '$OUT/hpa.out'"

# Positive controls: symlinks that stay inside the root are served.
for name in inside-link subdir/up-but-inside; do
	rm -f "$OUT/ok"
	fetch "$name" "$OUT/ok" >/dev/null
	check "served: '$name' (a symlink inside the root)" cmp -s "$OUT/ok" "$ROOT/snponly.efi"
done

sleep 0.5
check "nothing outside the root was opened or read (inotify)" \
	test "$(grep -c '^event' "$WORK/events")" -eq 0
grep '^event' "$WORK/events" | head -n 5 | sed 's/^/# /'
check "the canary's access time did not move" test "$(stat -c %X "$OUTSIDE/secret")" = "$atime0"
check "every refusal is logged" test "$(grep -c 'refused:' "$LOG")" -ge 33
lab_stop "$BSDPD_PID"
check "bsdpd exited cleanly (no sanitizer report)" bash -c "! grep -q 'Sanitizer' '$LOG'"
lab_done
