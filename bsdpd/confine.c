/* SPDX-License-Identifier: MIT */
/*
 * Confinement after start: capabilities, Landlock, seccomp (confine.h).
 * The only file that includes seccomp.h and linux/landlock.h.  Landlock
 * goes through its raw system calls: glibc has no wrappers, and the
 * kernel headers of an older build host may lack the newer ABIs, whose
 * constants are defined here (values from the kernel's uapi
 * linux/landlock.h; each is used only when the running kernel reports
 * that ABI).
 */
#include "confine.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/capability.h>
#include <linux/landlock.h>
#include <seccomp.h>

#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)      /* ABI 3 */
#endif
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV
#define LANDLOCK_ACCESS_FS_IOCTL_DEV (1ULL << 15)     /* ABI 5 */
#endif
#ifndef LANDLOCK_ACCESS_NET_BIND_TCP
#define LANDLOCK_ACCESS_NET_BIND_TCP (1ULL << 0)      /* ABI 4 */
#define LANDLOCK_ACCESS_NET_CONNECT_TCP (1ULL << 1)
#define LANDLOCK_RULE_NET_PORT 2
struct landlock_net_port_attr {
	uint64_t allowed_access;
	uint64_t port;
} __attribute__((packed));
#endif
#ifndef LANDLOCK_SCOPE_SIGNAL
#define LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET (1ULL << 0) /* ABI 6 */
#define LANDLOCK_SCOPE_SIGNAL (1ULL << 1)
#endif

/* The ruleset attribute as of ABI 6.  The kernel copies what it knows and
 * wants the rest zero, so one layout serves every ABI. */
struct ll_ruleset_attr {
	uint64_t handled_access_fs;
	uint64_t handled_access_net;
	uint64_t scoped;
};

/* Sanitizer builds (make test): LeakSanitizer, at exit, reads
 * /proc/self/maps and /proc/self/task and stops the other threads with
 * ptrace from a thread of its own; a report is symbolized by reading the
 * executable's own symbols.  So those builds keep ptrace, and read access
 * to /proc/self and to the executable (library frames stay module+offset:
 * the libraries are not readable).  Release builds keep none of it. */
#if defined(__SANITIZE_ADDRESS__)
#define CONFINE_FOR_SANITIZERS 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CONFINE_FOR_SANITIZERS 1
#endif
#endif
#ifndef CONFINE_FOR_SANITIZERS
#define CONFINE_FOR_SANITIZERS 0
#endif

#define FS_READ (LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR)
/* SQLite writes the database, its -wal and -shm, and removes the -wal at
 * the last close; the API token is created once. */
#define FS_STATE (FS_READ | LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_MAKE_REG | \
		  LANDLOCK_ACCESS_FS_REMOVE_FILE | LANDLOCK_ACCESS_FS_TRUNCATE)
/* What a rule on a file (not a directory) may grant. */
#define FS_FILE (LANDLOCK_ACCESS_FS_READ_FILE)

/* Writes why into msg; returns -EPERM, bsdpd's answer to any of it failing. */
__attribute__((format(printf, 3, 4)))
static int say(char *msg, size_t cap, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, cap, fmt, ap);
	va_end(ap);
	return -EPERM;
}

/* ---- capabilities --------------------------------------------------------- */

static bool in_bounding_set(int c)
{
	return prctl(PR_CAPBSET_READ, (unsigned long)c, 0, 0, 0) == 1;
}

/* Capabilities the kernel knows: PR_CAPBSET_READ says EINVAL past the last. */
static int cap_count(void)
{
	int n = 0;

	while (prctl(PR_CAPBSET_READ, (unsigned long)n, 0, 0, 0) >= 0)
		n++;
	return n;
}

int confine_drop_bounding_set(void)
{
	int n = cap_count();

	for (int c = 0; c < n; c++)
		if (in_bounding_set(c) && prctl(PR_CAPBSET_DROP, (unsigned long)c, 0, 0, 0) < 0)
			return -errno;
	return 0;
}

static bool bounding_set_empty(void)
{
	int n = cap_count();

	for (int c = 0; c < n; c++)
		if (in_bounding_set(c))
			return false;
	return true;
}

/* glibc has no capset(2) wrapper; the raw call needs no libcap. */
static int clear_capabilities(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];

	memset(d, 0, sizeof(d));
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return -errno;
	return syscall(SYS_capset, &h, d) < 0 ? -errno : 0;
}

static bool no_capabilities(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];

	if (syscall(SYS_capget, &h, d) < 0)
		return false;
	for (size_t i = 0; i < _LINUX_CAPABILITY_U32S_3; i++)
		if (d[i].effective || d[i].permitted || d[i].inheritable)
			return false;
	return true;
}

/* ---- threads -------------------------------------------------------------- */

/* Threads: in /proc/self/status, or 0 when it cannot be read. */
static unsigned thread_count(void)
{
	FILE *f = fopen("/proc/self/status", "re");
	char line[256];
	unsigned n = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Threads: %u", &n) == 1)
			break;
	fclose(f);
	return n;
}

/* ---- Landlock -------------------------------------------------------------- */

/* The highest ABI the kernel has, or 0 without Landlock (not built in,
 * or left out of the boot's lsm= list: ENOSYS, EOPNOTSUPP). */
static int landlock_abi(void)
{
	long v = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);

	return v > 0 ? (int)v : 0;
}

/* Every file access right of the ABI: a right not handled is allowed. */
static uint64_t fs_rights(int abi)
{
	uint64_t r = (LANDLOCK_ACCESS_FS_MAKE_SYM << 1) - 1;  /* ABI 1 */

	if (abi >= 2)
		r |= LANDLOCK_ACCESS_FS_REFER;
	if (abi >= 3)
		r |= LANDLOCK_ACCESS_FS_TRUNCATE;
	if (abi >= 5)
		r |= LANDLOCK_ACCESS_FS_IOCTL_DEV;
	return r;
}

/* Grants access beneath path (a directory, or one file). */
static int allow_path(int ruleset, const char *path, uint64_t access, uint64_t handled,
		      char *msg, size_t cap)
{
	struct landlock_path_beneath_attr pb = { .allowed_access = access & handled };
	int r = 0;

	pb.parent_fd = open(path, O_PATH | O_CLOEXEC);
	if (pb.parent_fd < 0)
		return say(msg, cap, "landlock: %s: %s", path, strerror(errno));
	if (syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &pb, 0) < 0)
		r = say(msg, cap, "landlock: cannot allow %s: %s", path, strerror(errno));
	close(pb.parent_fd);
	return r;
}

/* What glibc's getaddrinfo reads each time it resolves a host name: for
 * a PostgreSQL server named by one, connected to again after a restart.
 * A file the machine does not have is skipped. */
static const char *const resolver_files[] = {
	"/etc/hosts", "/etc/resolv.conf", "/etc/nsswitch.conf", "/etc/host.conf", "/etc/gai.conf",
};

static int allow_resolver(int ruleset, uint64_t handled, char *msg, size_t cap)
{
	for (size_t i = 0; i < sizeof(resolver_files) / sizeof(resolver_files[0]); i++)
		if (access(resolver_files[i], F_OK) == 0 &&
		    allow_path(ruleset, resolver_files[i], FS_FILE, handled, msg, cap) < 0)
			return -EACCES;
	return 0;
}

/* TCP connect to the database's port, on any address. */
static int allow_db_port(int ruleset, uint16_t port, char *msg, size_t cap)
{
	struct landlock_net_port_attr np = { .allowed_access = LANDLOCK_ACCESS_NET_CONNECT_TCP,
					     .port = port };

	if (syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_NET_PORT, &np, 0) < 0)
		return say(msg, cap, "landlock: cannot allow TCP port %u: %s", port,
			   strerror(errno));
	return 0;
}

static int add_rules(int ruleset, const struct confine_paths *p, uint64_t handled, char *msg,
		     size_t cap)
{
	if (p->db_port && allow_resolver(ruleset, handled, msg, cap) < 0)
		return -EACCES;
	if (allow_path(ruleset, p->image_root, FS_READ, handled, msg, cap) < 0 ||
	    allow_path(ruleset, p->http_root, FS_READ, handled, msg, cap) < 0 ||
	    allow_path(ruleset, p->state_dir, FS_STATE, handled, msg, cap) < 0 ||
	    (p->conf_file && allow_path(ruleset, p->conf_file, FS_FILE, handled, msg, cap) < 0))
		return -EACCES;
	if (CONFINE_FOR_SANITIZERS &&
	    (allow_path(ruleset, "/proc/self", FS_READ, handled, msg, cap) < 0 ||
	     allow_path(ruleset, "/proc/self/exe", FS_FILE, handled, msg, cap) < 0))
		return -EACCES;
	return 0;
}

/* Files: the rules above, nothing else.  TCP (ABI 4): no bind, the
 * listening sockets are bound already; no connect but to a PostgreSQL
 * server's port (p->db_port), else bsdpd connects to nobody (UDP is not
 * Landlock's).  ABI 6: no signal to a process outside, and no connection
 * to an abstract UNIX socket bound outside: they have no file to guard
 * them, bsdpd runs in the host's network namespace, where other services
 * listen on them, and its own UNIX sockets are syslog's file /dev/log and
 * a NOTIFY_SOCKET connected before confinement (notify.c).  (Landlock
 * cannot refuse a connect to a socket file: a lab attacker could still
 * reach, say, the D-Bus system bus, as --user.)  The caller has set
 * no_new_privs. */
static int apply_landlock(int abi, const struct confine_paths *p, char *msg, size_t cap)
{
	struct ll_ruleset_attr attr = { .handled_access_fs = fs_rights(abi) };
	int ruleset, r;

	if (abi >= 4)
		attr.handled_access_net = LANDLOCK_ACCESS_NET_BIND_TCP |
					  LANDLOCK_ACCESS_NET_CONNECT_TCP;
	if (abi >= 6)
		attr.scoped = LANDLOCK_SCOPE_SIGNAL | LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET;
	ruleset = (int)syscall(SYS_landlock_create_ruleset, &attr, sizeof(attr), 0);
	if (ruleset < 0)
		return say(msg, cap, "landlock: cannot create a ruleset: %s", strerror(errno));
	r = add_rules(ruleset, p, attr.handled_access_fs, msg, cap);
	if (r == 0 && abi >= 4 && p->db_port)
		r = allow_db_port(ruleset, p->db_port, msg, cap);
	if (r == 0 && syscall(SYS_landlock_restrict_self, ruleset, 0) < 0)
		r = say(msg, cap, "landlock: cannot restrict: %s", strerror(errno));
	close(ruleset);
	return r;
}

/* ---- seccomp --------------------------------------------------------------- */

/* A deny-list, not an allow-list: glibc, SQLite, libmicrohttpd, libxml2
 * and the sanitizers pick their system calls by version and build
 * (clone3 or clone, statx or newfstatat, rseq...), and an allow-list that
 * missed one would kill bsdpd in the middle of a boot after a library
 * upgrade.  What is denied is what an attacker running code in bsdpd
 * would want next: running programs, reaching into other processes,
 * changing the file system view or the kernel, new namespaces (where an
 * unprivileged user gets capabilities), and kernel interfaces bsdpd never
 * uses (bpf, io_uring, whose operations seccomp cannot see, userfaultfd,
 * perf, keyrings).  Files are Landlock's job; a service manager may add
 * an allow-list of its own on top. */
static const char *const denied_calls[] = {
	"execve", "execveat",
	"ptrace", "process_vm_readv", "process_vm_writev", "pidfd_getfd",
	"mount", "umount2", "pivot_root", "chroot", "fsopen", "fsconfig", "fsmount", "fspick",
	"move_mount", "open_tree", "mount_setattr", "open_by_handle_at",
	"unshare", "setns",
	"init_module", "finit_module", "delete_module", "kexec_load", "kexec_file_load",
	"reboot", "swapon", "swapoff", "acct", "quotactl", "iopl", "ioperm", "syslog",
	"bpf", "perf_event_open", "userfaultfd", "io_uring_setup", "io_uring_enter",
	"io_uring_register", "keyctl", "add_key", "request_key", "personality", "uselib",
};

/* The namespaces clone(2) could make (unshare and setns are denied above). */
static const uint64_t clone_namespaces[] = {
	CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER,
	CLONE_NEWPID, CLONE_NEWNET,
};

static int deny_call(scmp_filter_ctx ctx, const char *name)
{
	int nr = seccomp_syscall_resolve_name(name);

	/* __NR_SCMP_ERROR, or a pseudo-number: a call this architecture
	 * does not have. */
	if (nr < 0)
		return 0;
	if (CONFINE_FOR_SANITIZERS && strcmp(name, "ptrace") == 0)
		return 0;
	return seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0);
}

/* clone3 passes its flags in memory, where a filter cannot look: it says
 * ENOSYS, and glibc falls back to clone, whose flags it can. */
static int deny_namespaces(scmp_filter_ctx ctx)
{
	int r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);

	for (size_t i = 0; r == 0 && i < sizeof(clone_namespaces) / sizeof(clone_namespaces[0]);
	     i++)
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
				     SCMP_A0(SCMP_CMP_MASKED_EQ, clone_namespaces[i],
					     clone_namespaces[i]));
	return r;
}

/* bsdpd uses AF_INET (DHCP, TFTP, HTTP), AF_UNIX (syslog, and glibc's
 * interface look-ups) and AF_NETLINK (glibc's if_nameindex). */
static int deny_families(scmp_filter_ctx ctx)
{
	int r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(socket), 1,
				 SCMP_A0(SCMP_CMP_GT, AF_NETLINK));

	for (int f = AF_INET + 1; r == 0 && f < AF_NETLINK; f++)
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(socket), 1,
				     SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)f));
	return r;
}

/* TIOCSTI pushes bytes into a terminal's input, and TIOCLINUX's paste
 * does too: bsdpd run with --foreground from a shell holds that
 * terminal, and what it pushed there the shell would run once bsdpd
 * exits, beyond every rule here.  Landlock's ioctl right (ABI 5) covers
 * only files opened after it.  The command is an int to the kernel: only
 * its low 32 bits are compared. */
static int deny_terminal_input(scmp_filter_ctx ctx)
{
	static const unsigned long cmds[] = { TIOCSTI, TIOCLINUX };
	int r = 0;

	for (size_t i = 0; r == 0 && i < sizeof(cmds) / sizeof(cmds[0]); i++)
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(ioctl), 1,
				     SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, cmds[i]));
	return r;
}

/* Calls from another architecture's ABI (i386's int 0x80 on x86_64, x32)
 * would get past rules written for the native one: libseccomp's default
 * for them is to kill, and that is kept.  TSYNC: every thread, should one
 * exist. */
static int apply_seccomp(char *msg, size_t cap)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	int r;

	if (!ctx)
		return say(msg, cap, "seccomp: cannot make a filter");
	r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
	for (size_t i = 0; r == 0 && i < sizeof(denied_calls) / sizeof(denied_calls[0]); i++)
		r = deny_call(ctx, denied_calls[i]);
	if (r == 0)
		r = deny_namespaces(ctx);
	if (r == 0)
		r = deny_families(ctx);
	if (r == 0)
		r = deny_terminal_input(ctx);
	if (r == 0)
		r = seccomp_load(ctx);
	seccomp_release(ctx);
	return r < 0 ? say(msg, cap, "seccomp: %s", strerror(-r)) : 0;
}

/* ---- all of it ------------------------------------------------------------- */

/* Root without --user still holds CAP_SETPCAP here; --user dropped the
 * bounding set before setuid; an unprivileged start (systemd's User=)
 * cannot, and the unit's CapabilityBoundingSet= bounds it instead. */
static bool settle_capabilities(char *msg, size_t cap, int *r)
{
	(void)confine_drop_bounding_set();
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		*r = say(msg, cap, "cannot set no_new_privs: %s", strerror(errno));
		return false;
	}
	if (clear_capabilities() < 0 || !no_capabilities()) {
		*r = say(msg, cap, "cannot clear the capabilities: %s", strerror(errno));
		return false;
	}
	return true;
}

int confine_apply(const struct confine_paths *p, char *msg, size_t cap)
{
	unsigned threads = thread_count();
	int abi = landlock_abi(), r = 0;

	if (threads == 0)
		return say(msg, cap, "cannot count the threads in /proc/self/status");
	if (threads != 1)
		return say(msg, cap, "%u threads run already: Landlock would bind only this one",
			   threads);
	if (!settle_capabilities(msg, cap, &r))
		return r;
	if (abi > 0 && (r = apply_landlock(abi, p, msg, cap)) < 0)
		return r;
	if ((r = apply_seccomp(msg, cap)) < 0)
		return r;
	if (abi > 0)
		snprintf(msg, cap, "landlock ABI %d", abi);
	else
		snprintf(msg, cap, "no landlock (this kernel has none; files are not confined)");
	snprintf(msg + strlen(msg), cap - strlen(msg), ", seccomp%s, no capabilities%s, "
		 "no_new_privs", CONFINE_FOR_SANITIZERS ? " (ptrace kept for the sanitizers)" : "",
		 bounding_set_empty() ? " (bounding set empty)" : "");
	return 0;
}
