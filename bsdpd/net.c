/* SPDX-License-Identifier: MIT */
#include "net.h"

#include "loop.h"

#include <errno.h>
#include <net/if_arp.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

static int set_int(int fd, int level, int opt, int v)
{
	return setsockopt(fd, level, opt, &v, sizeof(v)) < 0 ? -errno : 0;
}

/* A boot storm's requests arrive together while the loop is busy with
 * one of them (each SELECT commits a binding), and the kernel drops what
 * does not fit in the receive buffer: its default, 208 KiB (each
 * datagram is charged its whole kernel buffer, about 2.3 KiB from a
 * veth), held about 90, and every Mac beyond them waited out its
 * firmware's retransmission timer (tests/integration/test_bsdp_storm.sh;
 * 4 MiB, doubled, holds about 3 600).  SO_RCVBUFFORCE passes
 * net.core.rmem_max when bsdpd holds CAP_NET_ADMIN (started as root);
 * without (the systemd unit), SO_RCVBUF takes as much as rmem_max allows
 * (socket(7)).  Memory is spent only on what waits. */
static void grow_receive_buffer(int fd)
{
	if (set_int(fd, SOL_SOCKET, SO_RCVBUFFORCE, NET_RCVBUF_BYTES) < 0)
		(void)set_int(fd, SOL_SOCKET, SO_RCVBUF, NET_RCVBUF_BYTES);
}

int net_open_udp(uint16_t port, const char *ifname)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port) };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int r;

	if (fd < 0)
		return -errno;
	grow_receive_buffer(fd);
	if ((r = set_int(fd, SOL_SOCKET, SO_REUSEADDR, 1)) < 0 ||
	    (r = set_int(fd, SOL_SOCKET, SO_BROADCAST, 1)) < 0 ||
	    (r = set_int(fd, IPPROTO_IP, IP_PKTINFO, 1)) < 0)
		goto fail;
	if (ifname && setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, ifname,
				 (socklen_t)strlen(ifname)) < 0) {
		r = -errno;
		goto fail;
	}
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
		r = -errno;
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return r;
}

ssize_t net_recv(int fd, void *buf, size_t cap, struct net_rx *rx)
{
	union {
		char buf[CMSG_SPACE(sizeof(struct in_pktinfo))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { .iov_base = buf, .iov_len = cap };
	struct msghdr mh = { .msg_name = &rx->src, .msg_namelen = sizeof(rx->src),
			     .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf) };
	ssize_t n = recvmsg(fd, &mh, MSG_DONTWAIT);

	if (n < 0)
		return -errno;
	rx->ifindex = 0;
	rx->local.s_addr = INADDR_ANY;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
			struct in_pktinfo pi;

			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			rx->ifindex = pi.ipi_ifindex;
			rx->local = pi.ipi_spec_dst;
		}
	}
	/* A datagram cut by the buffer is not what the client sent. */
	return (mh.msg_flags & MSG_TRUNC) ? -EMSGSIZE : n;
}

int net_send(int fd, const void *buf, size_t len, struct in_addr dst, uint16_t port,
	     int ifindex, struct in_addr src)
{
	union {
		char buf[CMSG_SPACE(sizeof(struct in_pktinfo))];
		struct cmsghdr align;
	} ctl;
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(port), .sin_addr = dst };
	struct iovec iov = { .iov_base = (void *)(uintptr_t)buf, .iov_len = len };
	struct msghdr mh = { .msg_name = &to, .msg_namelen = sizeof(to), .msg_iov = &iov,
			     .msg_iovlen = 1, .msg_control = ctl.buf,
			     .msg_controllen = sizeof(ctl.buf) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	struct in_pktinfo pi = { .ipi_ifindex = ifindex, .ipi_spec_dst = src };

	memset(ctl.buf, 0, sizeof(ctl.buf));
	c->cmsg_level = IPPROTO_IP;
	c->cmsg_type = IP_PKTINFO;
	c->cmsg_len = CMSG_LEN(sizeof(pi));
	memcpy(CMSG_DATA(c), &pi, sizeof(pi));
	return sendmsg(fd, &mh, 0) < 0 ? -errno : 0;
}

static int iface_ioctl(int fd, unsigned long req, struct ifreq *ifr)
{
	return ioctl(fd, req, ifr) < 0 ? -errno : 0;
}

static struct in_addr sockaddr_in_addr(const struct sockaddr *sa)
{
	return ((const struct sockaddr_in *)(const void *)sa)->sin_addr;
}

int net_iface_get(int ifindex, struct net_iface *out)
{
	struct ifreq ifr = { .ifr_ifindex = ifindex };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int r;

	if (fd < 0)
		return -errno;
	memset(out, 0, sizeof(*out));
	out->ifindex = ifindex;
	if ((r = iface_ioctl(fd, SIOCGIFNAME, &ifr)) < 0)
		goto out;
	memcpy(out->name, ifr.ifr_name, IF_NAMESIZE);
	out->name[IF_NAMESIZE - 1] = '\0';
	if ((r = iface_ioctl(fd, SIOCGIFFLAGS, &ifr)) < 0)
		goto out;
	out->flags = (unsigned)(unsigned short)ifr.ifr_flags;
	if ((r = iface_ioctl(fd, SIOCGIFMTU, &ifr)) < 0)
		goto out;
	out->mtu = (unsigned)ifr.ifr_mtu;
	/* No IPv4 address is not an error here; the caller ignores such links.
	 * The mask bounds which ciaddr a client on this link can hold. */
	if (iface_ioctl(fd, SIOCGIFADDR, &ifr) == 0)
		out->addr = sockaddr_in_addr(&ifr.ifr_addr);
	if (out->addr.s_addr != INADDR_ANY && iface_ioctl(fd, SIOCGIFNETMASK, &ifr) == 0)
		out->netmask = sockaddr_in_addr(&ifr.ifr_netmask);
out:
	close(fd);
	return r;
}

bool net_iface_servable(const struct net_iface *ifc)
{
	return (ifc->flags & IFF_UP) && (ifc->flags & IFF_BROADCAST) &&
	       !(ifc->flags & IFF_LOOPBACK) && ifc->addr.s_addr != INADDR_ANY;
}

bool net_iface_served(const struct net_iface *ifc, bool named)
{
	return named ? ifc->addr.s_addr != INADDR_ANY : net_iface_servable(ifc);
}

int net_listen(struct net_listener *l, struct loop *loop, uint16_t port,
	       const char *const *ifnames, size_t n, void (*fn)(struct loop *, int, uint32_t, void *),
	       void *ctx, char **err)
{
	*err = NULL;
	for (size_t i = 0; i < (n ? n : 1); i++) {
		const char *ifname = n ? ifnames[i] : NULL;
		int fd = net_open_udp(port, ifname);

		if (fd < 0) {
			if (asprintf(err, "cannot listen on UDP port %u%s%s: %s", port,
				     ifname ? " on " : "", ifname ? ifname : "", strerror(-fd)) < 0)
				*err = NULL;
			return fd;
		}
		l->fds[l->n++] = fd;
		if (loop_add(loop, fd, EPOLLIN, fn, ctx) < 0) {
			if (asprintf(err, "cannot watch UDP port %u", port) < 0)
				*err = NULL;
			return -ENOMEM;
		}
	}
	return 0;
}

void net_unlisten(struct net_listener *l, struct loop *loop)
{
	for (size_t i = 0; i < l->n; i++) {
		loop_del(loop, l->fds[i]);
		close(l->fds[i]);
	}
	l->n = 0;
}

const struct net_iface *net_iface_cached(struct net_iface_cache *cache, int ifindex)
{
	struct net_iface_slot *slot = &cache->slot[(unsigned)ifindex % NET_IFACE_CACHE_SLOTS];
	time_t now = time(NULL);

	if (slot->ifc.ifindex != ifindex || now - slot->fetched >= NET_IFACE_CACHE_SECONDS) {
		if (net_iface_get(ifindex, &slot->ifc) < 0)
			return NULL;
		slot->fetched = now;
	}
	return &slot->ifc;
}

/* The kernel's neighbour entry for ip on ifindex: a TFTP client on the
 * link has just been answered, so its ARP entry is fresh.  Relayed
 * clients have none (-ENXIO). */
int net_neighbour_mac(int ifindex, struct in_addr ip, uint8_t mac[6])
{
	struct arpreq ar = { .arp_flags = 0 };
	struct sockaddr_in *pa = (struct sockaddr_in *)(void *)&ar.arp_pa;
	int fd, r;

	pa->sin_family = AF_INET;
	pa->sin_addr = ip;
	if (!if_indextoname((unsigned)ifindex, ar.arp_dev))
		return -errno;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	r = ioctl(fd, SIOCGARP, &ar) < 0 ? -errno : 0;
	close(fd);
	if (r == 0 && !(ar.arp_flags & ATF_COM))
		r = -ENXIO;
	if (r == 0)
		memcpy(mac, ar.arp_ha.sa_data, 6);
	return r;
}
