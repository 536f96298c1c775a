# Sourced by the TFTP and HTTP benchmarks: the CPU time of the server under
# test, children included.  The server runs in a cgroup made for the run
# (v1 cpuacct, or v2 cpu.stat), so forked workers and children count;
# without one, /proc of the server and its children.  Needs ID (a name for
# the cgroup) and SERVER_PID once the server runs.  cpu_cgroup_remove
# undoes cpu_cgroup_make.
HZ=$(getconf CLK_TCK)
CG=
CPU_SOURCE=proc

cpu_cgroup_make() {
	if [ -f /sys/fs/cgroup/cpuacct/cpuacct.usage ] && mkdir "/sys/fs/cgroup/cpuacct/$ID" 2>/dev/null; then
		CG=/sys/fs/cgroup/cpuacct/$ID
		CPU_SOURCE="cgroup v1 cpuacct"
		return
	fi
	for base in /sys/fs/cgroup /sys/fs/cgroup/unified; do
		if [ -f "$base/cgroup.procs" ] && [ ! -f "$base/cpuacct.usage" ] && mkdir "$base/$ID" 2>/dev/null; then
			CG=$base/$ID
			CPU_SOURCE="cgroup v2 cpu.stat"
			return
		fi
	done
}

cpu_cgroup_remove() {
	[ -n "$CG" ] && rmdir "$CG" 2>/dev/null || true
}

# Runs a command already inside the cgroup, so that a child it forks at
# once (nginx's worker) is counted too: moving it in after the fork would
# leave the child out.
in_cgroup() {
	if [ -n "$CG" ]; then
		sh -c 'echo $$ >"$1" && shift && exec "$@"' sh "$CG/cgroup.procs" "$@"
	else
		"$@"
	fi
}

# Stops the server and whatever it forked (nginx's workers, tftpd-hpa's
# children that linger after a transfer): all in our cgroup, or children.
stop_server() {
	local pids
	pids=$( { [ -n "$CG" ] && cat "$CG/cgroup.procs"; pgrep -P "$SERVER_PID"; } 2>/dev/null || true)
	kill "$SERVER_PID" 2>/dev/null || true
	wait "$SERVER_PID" 2>/dev/null || true
	for pid in $pids; do
		[ "$pid" = "$SERVER_PID" ] || kill "$pid" 2>/dev/null || true
	done
	for _ in $(seq 20); do
		[ -z "$CG" ] || [ -z "$(cat "$CG/cgroup.procs")" ] && break
		sleep 0.1
	done
	SERVER_PID=
}

# CPU time of the server and its children, in microseconds.
cpu_us() {
	local t=0 pid
	case $CPU_SOURCE in
	"cgroup v1 cpuacct") echo $(($(cat "$CG/cpuacct.usage") / 1000)); return ;;
	"cgroup v2 cpu.stat") awk '$1 == "usage_usec" {print $2}' "$CG/cpu.stat"; return ;;
	esac
	for pid in "$SERVER_PID" $(pgrep -P "$SERVER_PID" 2>/dev/null || true); do
		[ -r "/proc/$pid/stat" ] || continue
		t=$((t + $(sed 's/^.*) //' "/proc/$pid/stat" | awk '{print $12 + $13 + $14 + $15}')))
	done
	echo $((t * 1000000 / HZ))
}
