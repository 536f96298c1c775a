/* SPDX-License-Identifier: MIT */
#include "notify.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* "/run/systemd/notify" or "@name"; anything else (systemd 256's vsock:
 * addresses) is not for a daemon on the host. */
static int notify_address(const char *s, struct notifier *n)
{
	size_t len = strlen(s);

	if ((s[0] != '/' && s[0] != '@') || len < 2 || len >= sizeof(n->addr.sun_path))
		return -EINVAL;
	n->addr.sun_family = AF_UNIX;
	memcpy(n->addr.sun_path, s, len);
	/* An abstract name starts with a NUL and is exactly len bytes long. */
	if (s[0] == '@')
		n->addr.sun_path[0] = '\0';
	n->len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + (s[0] == '/'));
	return 0;
}

int notify_open(struct notifier *n)
{
	const char *s = getenv("NOTIFY_SOCKET");
	int r;

	*n = (struct notifier){ .fd = -1 };
	if (!s)
		return 0;
	r = notify_address(s, n);
	unsetenv("NOTIFY_SOCKET");
	if (r < 0)
		return r;
	/* Connected now, before confine_apply: Landlock (ABI 6) refuses a
	 * sendto(2) to an abstract socket bound outside bsdpd, such as an
	 * "@name" NOTIFY_SOCKET, but not a send on a socket already connected. */
	n->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (n->fd < 0)
		return -errno;
	if (connect(n->fd, (const struct sockaddr *)&n->addr, n->len) < 0) {
		r = -errno;
		close(n->fd);
		n->fd = -1;
		return r;
	}
	return 0;
}

int notify_send(const struct notifier *n, const char *state)
{
	if (n->fd < 0)
		return 0;
	if (send(n->fd, state, strlen(state), MSG_NOSIGNAL) < 0)
		return -errno;
	return 0;
}

int notify_reloading(const struct notifier *n)
{
	struct timespec ts;
	char msg[64];

	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%llu",
		 (unsigned long long)ts.tv_sec * 1000000ULL + (unsigned long long)ts.tv_nsec / 1000);
	return notify_send(n, msg);
}

void notify_close(struct notifier *n)
{
	if (n->fd >= 0)
		close(n->fd);
	n->fd = -1;
}
