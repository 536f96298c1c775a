/* SPDX-License-Identifier: MIT */
/*
 * systemd's readiness protocol (sd_notify(3)), without libsystemd: one
 * datagram of "VAR=VALUE" lines to the AF_UNIX socket named by
 * $NOTIFY_SOCKET, a path or, with a leading '@', an abstract name.  The
 * socket is made at start-up, before privileges are dropped and the
 * process is confined, and reused for every message.
 */
#ifndef BSDPD_NOTIFY_H
#define BSDPD_NOTIFY_H

#include <sys/socket.h>
#include <sys/un.h>

struct notifier {
	int fd;                      /* -1: no $NOTIFY_SOCKET, nothing is sent */
	struct sockaddr_un addr;
	socklen_t len;
};

/* Reads and unsets $NOTIFY_SOCKET (no child should inherit it).  0, also
 * when it is not set; -EINVAL for an address that is not a path or '@'
 * name, or a negative errno from socket(2). */
int notify_open(struct notifier *n);
/* Sends state ("READY=1"); 0 or a negative errno.  A no-op without a socket. */
int notify_send(const struct notifier *n, const char *state);
/* "RELOADING=1" with MONOTONIC_USEC, which systemd wants beside it. */
int notify_reloading(const struct notifier *n);
void notify_close(struct notifier *n);

#endif
