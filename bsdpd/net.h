/* SPDX-License-Identifier: MIT */
/*
 * UDP sockets and interface facts; the only code that calls socket(2) for
 * the DHCP side.  Replies leave from the receiving interface with its
 * address as source, chosen per datagram with IP_PKTINFO.
 */
#ifndef BSDPD_NET_H
#define BSDPD_NET_H

#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

struct net_rx {
	struct sockaddr_in src;
	struct in_addr local;    /* IP_PKTINFO ipi_spec_dst: our address for replies */
	int ifindex;
};

struct net_iface {
	int ifindex;
	char name[IF_NAMESIZE];
	struct in_addr addr;     /* primary IPv4 address, 0 if none */
	struct in_addr netmask;  /* its prefix as a mask, 0 if none */
	unsigned flags;          /* IFF_* */
	unsigned mtu;
};

/* The receive buffer asked for each listening socket: a storm of a few
 * thousand requests at once (the kernel doubles it for its overhead). */
#define NET_RCVBUF_BYTES (4 << 20)

/* A non-blocking UDP socket bound to INADDR_ANY:port, with SO_BROADCAST,
 * SO_REUSEADDR and IP_PKTINFO, tied to ifname when it is not NULL, and a
 * receive buffer of NET_RCVBUF_BYTES (or what net.core.rmem_max allows
 * without CAP_NET_ADMIN).  Returns the fd or -errno. */
int net_open_udp(uint16_t port, const char *ifname);
/* Receives one datagram; -EAGAIN when none is waiting. */
ssize_t net_recv(int fd, void *buf, size_t cap, struct net_rx *rx);
/* Sends from src out of ifindex (0: routing decides) to dst:port. */
int net_send(int fd, const void *buf, size_t len, struct in_addr dst, uint16_t port,
	     int ifindex, struct in_addr src);
/* Fills *out for ifindex; -errno if the interface is gone. */
int net_iface_get(int ifindex, struct net_iface *out);
/* Whether an interface may be served when no --interface was given. */
bool net_iface_servable(const struct net_iface *ifc);
/* The one rule for every UDP service: with --interface (named), each
 * socket is tied to its link and only needs an address to answer from;
 * without, every up, broadcast-capable, non-loopback link with one. */
bool net_iface_served(const struct net_iface *ifc, bool named);

/* The sockets of one UDP service: one per --interface, or one for all. */
#define NET_MAX_LISTEN 32

struct net_listener {
	int fds[NET_MAX_LISTEN];
	size_t n;
};

/* Binds port on each of ifnames (n 0: once, on every link) and watches
 * each socket on loop with fn(ctx).  0, or -errno with a message in *err
 * (to free()) naming the port and the interface. */
struct loop;
int net_listen(struct net_listener *l, struct loop *loop, uint16_t port,
	       const char *const *ifnames, size_t n, void (*fn)(struct loop *, int, uint32_t, void *),
	       void *ctx, char **err);
void net_unlisten(struct net_listener *l, struct loop *loop);

/* The MAC of a neighbour on ifindex from the kernel's ARP table:
 * 0, -ENXIO when there is no complete entry, or -errno. */
int net_neighbour_mac(int ifindex, struct in_addr ip, uint8_t mac[6]);

/* Interface facts looked up per datagram, cached for a couple of seconds
 * so a burst costs no ioctls and address or MTU changes are still seen. */
#define NET_IFACE_CACHE_SLOTS 64
#define NET_IFACE_CACHE_SECONDS 2

struct net_iface_slot {
	struct net_iface ifc;
	time_t fetched;
};

struct net_iface_cache {
	struct net_iface_slot slot[NET_IFACE_CACHE_SLOTS];
};

/* The facts of ifindex, or NULL if the interface is gone. */
const struct net_iface *net_iface_cached(struct net_iface_cache *cache, int ifindex);

#endif
