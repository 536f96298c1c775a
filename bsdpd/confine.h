/* SPDX-License-Identifier: MIT */
/*
 * Confinement after start (the only file that includes seccomp.h and
 * linux/landlock.h is confine.c).  Once every socket is bound, root given
 * up and the database open, bsdpd needs nothing but the files under its
 * roots and its state directory, and the sockets it already holds.  So:
 *
 * - no capabilities, and no way back: the bounding set emptied while
 *   CAP_SETPCAP is still held, the ambient, inheritable, permitted and
 *   effective sets cleared, PR_SET_NO_NEW_PRIVS;
 * - Landlock (the best ABI the kernel has): read-only beneath the image
 *   root, the HTTP root and the config file, read-write beneath the state
 *   directory, nothing else; no TCP bind, and no TCP connect but to a
 *   PostgreSQL server's port (ABI 4); no signals to processes outside, no
 *   abstract UNIX sockets bound outside (ABI 6).  A kernel without
 *   Landlock is logged, not fatal;
 * - a seccomp filter (libseccomp) that refuses exec, ptrace, mounts,
 *   namespaces, kernel modules, kexec, bpf, keyrings, io_uring, socket
 *   families bsdpd does not use, and typing into a terminal (TIOCSTI).
 *
 * Landlock binds only the calling thread and the threads it starts later:
 * confine_apply refuses to run when another thread exists already.
 */
#ifndef BSDPD_CONFINE_H
#define BSDPD_CONFINE_H

#include <stddef.h>
#include <stdint.h>

struct confine_paths {
	const char *image_root;  /* --root: read */
	const char *http_root;   /* --http-root: read (may equal image_root) */
	const char *state_dir;   /* --state-dir: read and write */
	const char *conf_file;   /* the config file (--conf): read; NULL without one */
	/* --database: the PostgreSQL server's TCP port, to which bsdpd must
	 * connect again after a restart of the server (Landlock allows
	 * connect to that port only, on any address: its rules know no
	 * addresses); 0 without one, or over a UNIX socket, which Landlock
	 * does not govern (connect(2) to a named socket is no file access
	 * right as of ABI 7).  Over TCP, the resolver's files in /etc are
	 * readable too, for a server named by host name. */
	uint16_t db_port;
};

/* Empties the capability bounding set, so that no exec of a file with
 * capabilities, nor root itself, can ever bring one back.  Needs
 * CAP_SETPCAP: drop_privileges calls it as root, before setuid.  0, or
 * -errno (-EPERM without CAP_SETPCAP). */
int confine_drop_bounding_set(void);

/* Applies everything above, once, on the only thread.  Returns 0 and
 * writes into msg what is active ("landlock ABI 7, seccomp, no
 * capabilities, no_new_privs"), or -errno and writes why not. */
int confine_apply(const struct confine_paths *p, char *msg, size_t cap);

#endif
