/* SPDX-License-Identifier: MIT */
/*
 * The TFTP service (tftp_server.h): sockets, timers and the log; shared
 * open files come from file_cache.c.
 * Protocol decisions live in tftp.c (codec) and tftp_transfer.c (state
 * machine); this file only moves datagrams between them and the kernel and
 * never blocks: sockets are non-blocking and file bytes come from pread(2)
 * on files that are normally in the page cache.
 */
#include "tftp_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "beneath.h"
#include "clock.h"
#include "log.h"
#include "file_cache.h"
#include "net.h"
#include "tftp.h"
#include "transfer.h"

#define RX_MAX 65536
#define TX_MAX (TFTP_BLKSIZE_MAX + TFTP_HDR_LEN)
#define FD_RESERVE 64            /* descriptors kept for everything but transfers */
#define RX_BUDGET 256            /* datagrams per wakeup, like the BSDP socket */

struct tftp_conn {
	struct tftp_xfer x;
	struct tftp_service *svc;
	struct served_file *file;
	struct tftp_conn *hnext;     /* client hash chain (address and port) */
	struct tftp_conn *anext;     /* address hash chain (address only) */
	struct tftp_conn *older, *newer; /* the half-open list, while half-open */
	bool half_open;
	int64_t key;                 /* deadline as placed in the heap */
	size_t heap_i;
	int64_t started;
	int64_t started_real_us;     /* Unix time, for the API */
	uint64_t serial;             /* the API's "tftp-N" */
	struct transfer_rate rate;
	bool mac_known;              /* mac was looked up (once per transfer) */
	bool has_mac;
	uint8_t mac[6];
	int fd;                      /* own socket, or the server socket (single port) */
	bool own_fd;
	int ifindex;
	struct sockaddr_in peer;
	struct in_addr local;
	const char *why;             /* overrides the outcome in the log */
	char path[];                 /* cleaned name, for the log */
};

struct tftp_service {
	const struct bsdpd_config *cfg;
	struct loop *loop;
	int rootfd;
	char root_abs[PATH_MAX];
	struct net_listener port;    /* --tftp-port */
	int timerfd;
	int64_t armed;               /* INT64_MAX: timer off */
	unsigned max_transfers;
	struct tftp_conn **heap;
	size_t heap_n;
	struct tftp_conn **hash;
	struct tftp_conn **by_addr;  /* same size as hash */
	size_t hash_mask;
	struct tftp_conn *oldest_half_open, *newest_half_open;
	struct file_cache *files;    /* shared with HTTP; loop thread only */
	struct net_iface_cache ifaces;
	struct tftp_counters ctr;
	tftp_served_fn on_served;    /* loop thread only, like everything here */
	void *on_served_ctx;
	struct transfer_watch watch;
	uint8_t rx[RX_MAX];
	uint8_t tx[TX_MAX];
};

static int64_t now_us(void)
{
	return clock_us(CLOCK_MONOTONIC);
}

/* ---- timer heap (min-heap on conn->key) -------------------------------------- */

static void heap_set(struct tftp_service *svc, size_t i, struct tftp_conn *c)
{
	svc->heap[i] = c;
	c->heap_i = i;
}

static void heap_up(struct tftp_service *svc, size_t i)
{
	struct tftp_conn *c = svc->heap[i];

	while (i > 0 && svc->heap[(i - 1) / 2]->key > c->key) {
		heap_set(svc, i, svc->heap[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
	heap_set(svc, i, c);
}

static void heap_down(struct tftp_service *svc, size_t i)
{
	struct tftp_conn *c = svc->heap[i];

	for (;;) {
		size_t k = 2 * i + 1;

		if (k >= svc->heap_n)
			break;
		if (k + 1 < svc->heap_n && svc->heap[k + 1]->key < svc->heap[k]->key)
			k++;
		if (svc->heap[k]->key >= c->key)
			break;
		heap_set(svc, i, svc->heap[k]);
		i = k;
	}
	heap_set(svc, i, c);
}

static void heap_push(struct tftp_service *svc, struct tftp_conn *c)
{
	c->key = tftp_xfer_deadline(&c->x);
	heap_set(svc, svc->heap_n++, c);
	heap_up(svc, c->heap_i);
}

static void heap_fix(struct tftp_service *svc, struct tftp_conn *c)
{
	int64_t old = c->key;

	c->key = tftp_xfer_deadline(&c->x);
	if (c->key < old)
		heap_up(svc, c->heap_i);
	else if (c->key > old)
		heap_down(svc, c->heap_i);
}

static void heap_remove(struct tftp_service *svc, struct tftp_conn *c)
{
	size_t i = c->heap_i;
	struct tftp_conn *tail = svc->heap[--svc->heap_n];

	if (tail == c)
		return;
	heap_set(svc, i, tail);
	heap_up(svc, i);
	heap_down(svc, tail->heap_i);
}

/* Arms the timerfd when the earliest deadline is before what is armed; a
 * timer that fires early just re-arms (deadlines mostly move later). */
static void timer_arm(struct tftp_service *svc)
{
	int64_t when = svc->heap_n ? svc->heap[0]->key : INT64_MAX;
	struct itimerspec its = { 0 };

	if (when >= svc->armed || when == INT64_MAX)
		return;
	if (when < 1)
		when = 1;
	its.it_value.tv_sec = when / 1000000;
	its.it_value.tv_nsec = (long)(when % 1000000) * 1000;
	if (timerfd_settime(svc->timerfd, TFD_TIMER_ABSTIME, &its, NULL) == 0)
		svc->armed = when;
}

/* ---- client hash --------------------------------------------------------------- */

static size_t peer_hash(const struct tftp_service *svc, const struct sockaddr_in *p)
{
	uint32_t h = p->sin_addr.s_addr * 2654435761u ^ (uint32_t)p->sin_port * 40503u;

	return (h ^ h >> 15) & svc->hash_mask;
}

static bool same_peer(const struct sockaddr_in *a, const struct sockaddr_in *b)
{
	return a->sin_addr.s_addr == b->sin_addr.s_addr && a->sin_port == b->sin_port;
}

static struct tftp_conn *conn_find(struct tftp_service *svc, const struct sockaddr_in *p)
{
	struct tftp_conn *c = svc->hash[peer_hash(svc, p)];

	while (c && !same_peer(&c->peer, p))
		c = c->hnext;
	return c;
}

static void hash_insert(struct tftp_service *svc, struct tftp_conn *c)
{
	size_t h = peer_hash(svc, &c->peer);

	c->hnext = svc->hash[h];
	svc->hash[h] = c;
}

static void hash_remove(struct tftp_service *svc, struct tftp_conn *c)
{
	struct tftp_conn **pp = &svc->hash[peer_hash(svc, &c->peer)];

	while (*pp && *pp != c)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = c->hnext;
}

/* Transfers are also chained by client address alone, for the per-client
 * limit: counting walks one chain, which holds at most that limit of one
 * client's transfers plus the few of others hashed there. */
static struct tftp_conn **addr_bucket(struct tftp_service *svc, struct in_addr a)
{
	uint32_t h = a.s_addr * 2654435761u;

	return &svc->by_addr[(h ^ h >> 15) & svc->hash_mask];
}

static unsigned transfers_from(struct tftp_service *svc, struct in_addr a)
{
	unsigned n = 0;

	for (struct tftp_conn *c = *addr_bucket(svc, a); c; c = c->anext)
		n += c->peer.sin_addr.s_addr == a.s_addr;
	return n;
}

static void addr_insert(struct tftp_service *svc, struct tftp_conn *c)
{
	struct tftp_conn **b = addr_bucket(svc, c->peer.sin_addr);

	c->anext = *b;
	*b = c;
}

static void addr_remove(struct tftp_service *svc, struct tftp_conn *c)
{
	struct tftp_conn **pp = addr_bucket(svc, c->peer.sin_addr);

	while (*pp && *pp != c)
		pp = &(*pp)->anext;
	if (*pp)
		*pp = c->anext;
}

/* ---- half-open transfers ---------------------------------------------------- */

/* Transfers whose client has not yet acknowledged anything, oldest first:
 * when the table is full a new request takes the place of the oldest,
 * like a SYN cache (RFC 4987 §3.2), so that a flood of spoofed requests
 * from many addresses cannot keep real clients out.  A real client on
 * the LAN answers within milliseconds and leaves the list; established
 * transfers are never evicted. */
static void half_open_append(struct tftp_service *svc, struct tftp_conn *c)
{
	c->half_open = true;
	c->older = svc->newest_half_open;
	c->newer = NULL;
	if (c->older)
		c->older->newer = c;
	else
		svc->oldest_half_open = c;
	svc->newest_half_open = c;
}

static void half_open_remove(struct tftp_service *svc, struct tftp_conn *c)
{
	if (!c->half_open)
		return;
	c->half_open = false;
	if (c->older)
		c->older->newer = c->newer;
	else
		svc->oldest_half_open = c->newer;
	if (c->newer)
		c->newer->older = c->older;
	else
		svc->newest_half_open = c->older;
}

/* ---- interfaces -------------------------------------------------------------- */

/* The same links as the BSDP service: the --interface ones (the socket is
 * bound to them), else every up, broadcast-capable link with an address. */
static struct tftp_limits limits_for(const struct tftp_service *svc, const struct net_iface *ifc)
{
	struct tftp_limits lim = { .max_blksize = svc->cfg->tftp_max_blksize,
				   .max_windowsize = TFTP_WINDOW_CAP };

	/* A DATA datagram must fit the link: MTU - IP - UDP - TFTP headers. */
	if (ifc->mtu > TFTP_IP_UDP_TFTP_OVERHEAD + TFTP_SEGSIZE &&
	    ifc->mtu - TFTP_IP_UDP_TFTP_OVERHEAD < lim.max_blksize)
		lim.max_blksize = (uint16_t)(ifc->mtu - TFTP_IP_UDP_TFTP_OVERHEAD);
	return lim;
}

/* ---- logging ------------------------------------------------------------------ */

static const char *peer_str(const struct sockaddr_in *p, char *buf, size_t cap)
{
	char a[INET_ADDRSTRLEN];

	snprintf(buf, cap, "%s:%u", inet_ntop(AF_INET, &p->sin_addr, a, sizeof(a)),
		 ntohs(p->sin_port));
	return buf;
}

static void log_refusal(const struct net_rx *rx, const char *name, size_t n, const char *why)
{
	char peer[32], esc[4 * 128 + 1];

	log_escape(esc, sizeof(esc), name, n > 128 ? 128 : n);
	log_msg(LOG_INFO, "tftp %s \"%s%s\": refused: %s", peer_str(&rx->src, peer, sizeof(peer)),
		esc, n > 128 ? "..." : "", why);
}

static void log_transfer(const struct tftp_conn *c, int64_t now)
{
	const struct tftp_xfer *x = &c->x;
	double secs = (double)(now - c->started) / 1e6;
	char peer[32], esc[4 * TFTP_PATH_MAX + 1], what[48];

	log_escape(esc, sizeof(esc), c->path, strlen(c->path));
	if (x->outcome == TFTP_SIZE_PROBE) {
		log_msg(LOG_INFO, "tftp %s \"%s\" %s size probe: tsize %" PRIu64,
			peer_str(&c->peer, peer, sizeof(peer)), esc, tftp_mode_name(x->mode),
			x->reply.tsize);
		return;
	}
	if (c->why)
		snprintf(what, sizeof(what), "%s", c->why);
	else if (x->outcome == TFTP_CLIENT_ERROR)
		snprintf(what, sizeof(what), "client error %u", x->error_code);
	else if (x->outcome == TFTP_TIMED_OUT && !x->established)
		snprintf(what, sizeof(what), "timed out before the first ACK");
	else
		snprintf(what, sizeof(what), "%s", tftp_outcome_name(x->outcome));
	log_msg(LOG_INFO, "tftp %s \"%s\" %s %" PRIu64 " bytes blksize %u windowsize %u "
		"%.3f s %.1f MB/s retransmits %" PRIu64 ": %s",
		peer_str(&c->peer, peer, sizeof(peer)), esc, tftp_mode_name(x->mode),
		x->bytes_sent, x->blksize, x->windowsize, secs,
		secs > 0 ? (double)x->bytes_sent / secs / 1e6 : 0.0, x->retransmits, what);
}

static void count_end(struct tftp_counters *ctr, const struct tftp_conn *c)
{
	const struct tftp_xfer *x = &c->x;

	ctr->active--;
	ctr->bytes_sent += x->bytes_sent;
	ctr->packets_sent += x->packets_sent;
	ctr->retransmits += x->retransmits;
	ctr->dup_acks += x->dup_acks;
	if (x->outcome == TFTP_COMPLETE)
		ctr->completed++;
	else if (x->outcome == TFTP_TIMED_OUT)
		ctr->timed_out++;
	else if (x->outcome == TFTP_CLIENT_ERROR)
		ctr->client_errors++;
	else if (x->outcome == TFTP_SIZE_PROBE)
		ctr->size_probes++;
	else
		ctr->failed++;
}

/* ---- transfers ---------------------------------------------------------------- */

static void tell_done(const struct tftp_conn *c, int64_t now)
{
	int64_t ms = (now - c->started) / 1000;
	struct tftp_done d = {
		.peer = c->peer.sin_addr, .ifindex = c->ifindex, .path = c->path,
		.bytes = c->x.bytes_sent, .duration_ms = ms > UINT32_MAX ? UINT32_MAX : (uint32_t)ms,
		.complete = c->x.outcome == TFTP_COMPLETE,
	};

	c->svc->on_served(c->svc->on_served_ctx, &d);
}

/* ---- the API's view -------------------------------------------------------------- */

/* The MAC from the kernel's neighbour table, asked once per transfer and
 * only when someone looks (as bsdp_service_note_tftp does at the end). */
static void conn_mac(struct tftp_conn *c)
{
	if (c->mac_known)
		return;
	c->mac_known = true;
	c->has_mac = net_neighbour_mac(c->ifindex, c->peer.sin_addr, c->mac) == 0;
}

static struct transfer conn_view(struct tftp_conn *c, int64_t now)
{
	struct transfer t = {
		.kind = TRANSFER_TFTP, .serial = c->serial, .ip = c->peer.sin_addr,
		.detail = c->path, .stage = "booter", .bytes = tftp_xfer_acked(&c->x),
		.size = c->x.size, .started_us = c->started_real_us,
		.elapsed_ms = (now - c->started) / 1000,
	};

	conn_mac(c);
	t.has_mac = c->has_mac;
	memcpy(t.mac, c->mac, 6);
	t.rate = transfer_rate_sample(&c->rate, t.bytes, now);
	return t;
}

static void tell_started(struct tftp_conn *c, int64_t now)
{
	const struct transfer_watch *w = &c->svc->watch;
	struct transfer t;

	if (!w->started || !w->watching(w->ctx))
		return;
	t = conn_view(c, now);
	w->started(w->ctx, &t);
}

void tftp_service_transfers(struct tftp_service *svc, transfer_fn fn, void *ctx)
{
	int64_t now = now_us();
	struct transfer t;

	/* Every running transfer is in the heap, once. */
	for (size_t i = 0; i < svc->heap_n; i++) {
		t = conn_view(svc->heap[i], now);
		fn(ctx, &t);
	}
}

uint64_t tftp_service_bytes_sent(const struct tftp_service *svc)
{
	uint64_t n = svc->ctr.bytes_sent;

	for (size_t i = 0; i < svc->heap_n; i++)
		n += svc->heap[i]->x.bytes_sent;
	return n;
}

void tftp_service_watch(struct tftp_service *svc, const struct transfer_watch *w)
{
	svc->watch = *w;
}

static void conn_end(struct tftp_conn *c, int64_t now)
{
	struct tftp_service *svc = c->svc;

	log_transfer(c, now);
	count_end(&svc->ctr, c);
	if (c->x.outcome != TFTP_SIZE_PROBE && svc->on_served)
		tell_done(c, now);
	heap_remove(svc, c);
	hash_remove(svc, c);
	addr_remove(svc, c);
	half_open_remove(svc, c);
	if (c->own_fd) {
		loop_del(svc->loop, c->fd);
		close(c->fd);
	}
	file_cache_put(svc->files, c->file);
	free(c);
}

/* A datagram that cannot go out now (full socket buffer) counts as lost:
 * the timer resends it.  A client port that answers ICMP unreachable has
 * gone away. */
static int conn_send(struct tftp_conn *c, const uint8_t *buf, size_t len)
{
	int r = 0;

	if (c->own_fd) {
		if (send(c->fd, buf, len, 0) < 0)
			r = -errno;
	} else {
		r = net_send(c->fd, buf, len, c->peer.sin_addr, ntohs(c->peer.sin_port),
			     c->ifindex, c->local);
	}
	if (r == -EAGAIN || r == -EWOULDBLOCK || r == -ENOBUFS || r == -EINTR)
		return 0;
	return r;
}

/* Sends whatever the state machine has due, then files the transfer under
 * its next deadline or ends it. */
static void conn_pump(struct tftp_conn *c, int64_t now)
{
	struct tftp_service *svc = c->svc;
	struct tftp_source src = { .pread = served_file_pread, .ctx = c->file };
	ssize_t n;

	while ((n = tftp_xfer_next(&c->x, &src, svc->tx, sizeof(svc->tx), now)) > 0) {
		if (conn_send(c, svc->tx, (size_t)n) < 0) {
			c->why = "client unreachable";
			tftp_xfer_abort(&c->x, TFTP_ABORTED, -1, NULL);
			break;
		}
	}
	if (tftp_xfer_done(&c->x)) {
		conn_end(c, now);
		return;
	}
	heap_fix(svc, c);
	timer_arm(svc);
}

static void conn_input(struct tftp_conn *c, const uint8_t *pkt, size_t len, int64_t now)
{
	tftp_xfer_input(&c->x, pkt, len, now);
	if (c->x.established)
		half_open_remove(c->svc, c);
}

/* Feeds up to budget datagrams waiting on the transfer's own socket. */
static void conn_drain(struct tftp_conn *c, int budget, int64_t now)
{
	for (; budget > 0 && c->x.outcome == TFTP_RUNNING; budget--) {
		ssize_t n = recv(c->fd, c->svc->rx, sizeof(c->svc->rx), MSG_DONTWAIT);

		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			c->why = "client unreachable";
			tftp_xfer_abort(&c->x, TFTP_ABORTED, -1, NULL);
			break;
		}
		conn_input(c, c->svc->rx, (size_t)n, now);
	}
}

static void on_conn_readable(struct loop *loop, int fd, uint32_t events, void *ctx)
{
	struct tftp_conn *c = ctx;
	int64_t now = now_us();

	(void)loop;
	(void)fd;
	(void)events;
	/* One datagram: in lock-step that is the one ACK there is, and the
	 * level-triggered loop calls again for any other (saves a recv that
	 * would only say EAGAIN, a quarter of the syscalls per block). */
	conn_drain(c, 1, now);
	conn_pump(c, now);
}

static int open_transfer_socket(const struct net_rx *rx)
{
	struct sockaddr_in local = { .sin_family = AF_INET, .sin_addr = rx->local };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&local, sizeof(local)) < 0 ||
	    connect(fd, (const struct sockaddr *)&rx->src, sizeof(rx->src)) < 0) {
		int r = -errno;

		close(fd);
		return r;
	}
	return fd;
}

static struct tftp_conn *conn_new(struct tftp_service *svc, int lfd, const struct net_rx *rx,
				  const char *path, size_t path_len)
{
	struct tftp_conn *c = calloc(1, sizeof(*c) + path_len + 1);

	if (!c)
		return NULL;
	c->svc = svc;
	c->peer = rx->src;
	c->local = rx->local;
	c->ifindex = rx->ifindex;
	memcpy(c->path, path, path_len + 1);
	if (svc->cfg->tftp_single_port) {
		c->fd = lfd;
		return c;
	}
	c->fd = open_transfer_socket(rx);
	if (c->fd < 0 || loop_add(svc->loop, c->fd, EPOLLIN, on_conn_readable, c) < 0) {
		if (c->fd >= 0)
			close(c->fd);
		free(c);
		return NULL;
	}
	c->own_fd = true;
	return c;
}

/* ---- requests ------------------------------------------------------------------ */

/* An ERROR straight from the server port.  Clients take the first reply's
 * port as the transfer ID; for an ERROR that ends the exchange there is
 * no later packet for that to matter to. */
static void refuse(struct tftp_service *svc, int lfd, const struct net_rx *rx,
		   uint16_t code, const char *msg)
{
	struct wr w = wr_init(svc->tx, sizeof(svc->tx));

	if (tftp_build_error(&w, code, msg) == 0)
		(void)net_send(lfd, w.p, w.len, rx->src.sin_addr, ntohs(rx->src.sin_port),
			       rx->ifindex, rx->local);
}

/* A second RRQ from a client port that already has a transfer.  For the
 * same file it is the client's retransmission of the first (busybox
 * repeats its RRQ after 50 ms; in a storm the copy can wait in the queue
 * until the transfer is well under way): our own timer answers for the
 * first one, so it is dropped.  For another file the client has started
 * over, and the old transfer ends. */
static bool repeated_request(struct tftp_service *svc, const struct net_rx *rx,
			     const struct tftp_request *rq, int64_t now)
{
	struct tftp_conn *c = conn_find(svc, &rx->src);
	char path[TFTP_PATH_MAX + 1];

	if (!c)
		return false;
	if (tftp_path_clean(rq->filename, rq->filename_len, svc->root_abs, path,
			    sizeof(path)) >= 0 && strcmp(path, c->path) == 0) {
		svc->ctr.dup_requests++;
		return true;
	}
	c->why = "superseded by a new request";
	tftp_xfer_abort(&c->x, TFTP_ABORTED, -1, NULL);
	conn_end(c, now);
	return false;
}

struct opened {
	struct served_file *file;
	uint64_t size;
	char path[TFTP_PATH_MAX + 1];
	size_t path_len;
};

/* Finds the file for rq; on refusal returns the TFTP error code to send. */
static int open_request(struct tftp_service *svc, const struct tftp_request *rq,
			struct opened *op, const char **why)
{
	ssize_t n = tftp_path_clean(rq->filename, rq->filename_len, svc->root_abs, op->path,
				    sizeof(op->path));
	struct stat st;
	int fd;

	if (n < 0) {
		*why = n == -ENAMETOOLONG ? "name too long" : "name not allowed";
		return TFTP_EACCESS;
	}
	op->path_len = (size_t)n;
	fd = beneath_open_served(svc->rootfd, op->path, &st);
	if (fd == -ENOENT || fd == -ENOTDIR) {
		*why = "file not found";
		return TFTP_ENOTFOUND;
	}
	if (fd < 0) {
		*why = fd == -EXDEV || fd == -ELOOP ? "leaves the root" : "not a readable regular file";
		return TFTP_EACCESS;
	}
	op->file = file_cache_get(svc->files, fd, &st);
	if (!op->file) {
		*why = "out of memory";
		return TFTP_EUNDEF;
	}
	op->size = (uint64_t)op->file->size;
	return -1;
}

static void start_transfer(struct tftp_service *svc, int lfd, const struct net_rx *rx,
			   const struct tftp_request *rq, struct opened *op,
			   const struct tftp_limits *lim, int64_t now)
{
	struct tftp_xfer_params p;
	struct tftp_conn *c = conn_new(svc, lfd, rx, op->path, op->path_len);

	if (!c) {
		file_cache_put(svc->files, op->file);
		log_refusal(rx, op->path, op->path_len, "cannot open a transfer socket");
		refuse(svc, lfd, rx, TFTP_EUNDEF, "Server out of resources");
		return;
	}
	tftp_negotiate(rq, lim, op->size, &p);
	tftp_xfer_init(&c->x, &p, now);
	c->file = op->file;
	c->started = now;
	c->started_real_us = clock_us(CLOCK_REALTIME);
	transfer_rate_start(&c->rate, now);
	hash_insert(svc, c);
	addr_insert(svc, c);
	half_open_append(svc, c);
	heap_push(svc, c);
	svc->ctr.started++;
	svc->ctr.active++;
	c->serial = svc->ctr.started;
	tell_started(c, now);
	conn_pump(c, now);
}

/* Counts and answers a request that will not be served. */
static void refuse_request(struct tftp_service *svc, int lfd, const struct net_rx *rx,
			   const struct tftp_request *rq, int code, const char *why)
{
	if (code == TFTP_ENOTFOUND)
		svc->ctr.not_found++;
	else if (code == TFTP_EACCESS)
		svc->ctr.access_denied++;
	log_refusal(rx, rq->filename, rq->filename_len, why);
	refuse(svc, lfd, rx, (uint16_t)code, tftp_error_text((uint16_t)code));
}

/* Whether a new transfer may start: within the per-client limit, and in a
 * free slot or one a half-open transfer can give up.  Refuses otherwise. */
static bool admit(struct tftp_service *svc, int lfd, const struct net_rx *rx,
		  const struct tftp_request *rq)
{
	if (transfers_from(svc, rx->src.sin_addr) >= svc->cfg->tftp_max_per_client) {
		svc->ctr.per_client_refused++;
		log_refusal(rx, rq->filename, rq->filename_len, "too many transfers from this address");
		refuse(svc, lfd, rx, TFTP_EUNDEF, "Too many transfers from your address");
		return false;
	}
	if (svc->ctr.active < svc->max_transfers || svc->oldest_half_open)
		return true;
	svc->ctr.over_capacity++;
	log_refusal(rx, rq->filename, rq->filename_len, "too many transfers");
	refuse(svc, lfd, rx, TFTP_EUNDEF, "Too many transfers, try again later");
	return false;
}

/* Frees a slot for a new transfer in a full table: the oldest half-open
 * transfer ends, silently (no ERROR toward an unproven address). */
static void make_room(struct tftp_service *svc, int64_t now)
{
	struct tftp_conn *c = svc->oldest_half_open;

	if (svc->ctr.active < svc->max_transfers || !c)
		return;
	svc->ctr.evicted++;
	c->why = "evicted before the first ACK: table full";
	tftp_xfer_abort(&c->x, TFTP_ABORTED, -1, NULL);
	conn_end(c, now);
}

static void on_request(struct tftp_service *svc, int lfd, const struct tftp_request *rq,
		       const struct net_rx *rx, const struct net_iface *ifc, int64_t now)
{
	struct tftp_limits lim = limits_for(svc, ifc);
	struct opened op;
	const char *why = NULL;
	int code;

	svc->ctr.requests++;
	if (rq->opcode == TFTP_WRQ) {
		svc->ctr.write_refused++;
		log_refusal(rx, rq->filename, rq->filename_len, "write request");
		refuse(svc, lfd, rx, TFTP_EACCESS, "Write requests are not served");
		return;
	}
	if (repeated_request(svc, rx, rq, now) || !admit(svc, lfd, rx, rq))
		return;
	code = open_request(svc, rq, &op, &why);
	if (code >= 0) {
		refuse_request(svc, lfd, rx, rq, code, why);
		return;
	}
	make_room(svc, now);
	start_transfer(svc, lfd, rx, rq, &op, &lim, now);
}

/* ---- the server port ------------------------------------------------------------- */

static void on_datagram(struct tftp_service *svc, int fd, size_t len, const struct net_rx *rx,
			int64_t now)
{
	const struct net_iface *ifc = net_iface_cached(&svc->ifaces, rx->ifindex);
	struct tftp_request rq;
	struct tftp_conn *c;
	int r;

	if (!ifc || !net_iface_served(ifc, svc->cfg->n_interfaces > 0) || rx->src.sin_port == 0)
		return;
	r = tftp_parse_request(svc->rx, len, &rq);
	if (r == -EOPNOTSUPP) {
		/* Not a request: in single-port mode, a datagram of a transfer. */
		c = svc->cfg->tftp_single_port ? conn_find(svc, &rx->src) : NULL;
		if (c) {
			conn_input(c, svc->rx, len, now);
			conn_pump(c, now);
		}
		return;
	}
	if (r < 0) {
		const char *msg = r == -EPROTONOSUPPORT ? "Unsupported mode" : "Malformed request";

		svc->ctr.requests++;
		svc->ctr.bad_requests++;
		/* Garbage is answered only by an ERROR no larger than itself,
		 * so that spoofed requests cannot use us as an amplifier. */
		if (len >= TFTP_HDR_LEN + strlen(msg) + 1)
			refuse(svc, fd, rx, TFTP_EBADOP, msg);
		return;
	}
	on_request(svc, fd, &rq, rx, ifc, now);
}

static void on_server_readable(struct loop *loop, int fd, uint32_t events, void *ctx)
{
	struct tftp_service *svc = ctx;
	struct net_rx rx;

	(void)loop;
	(void)events;
	for (int budget = RX_BUDGET; budget > 0; budget--) {
		ssize_t n = net_recv(fd, svc->rx, sizeof(svc->rx), &rx);

		if (n == -EAGAIN || n == -EWOULDBLOCK)
			return;
		if (n >= 0)
			on_datagram(svc, fd, (size_t)n, &rx, now_us());
	}
}

static void on_timer(struct loop *loop, int fd, uint32_t events, void *ctx)
{
	struct tftp_service *svc = ctx;
	uint64_t expirations;
	int64_t now = now_us();

	(void)events;
	if (read(fd, &expirations, sizeof(expirations)) < 0 && errno != EAGAIN)
		return;
	svc->armed = INT64_MAX;
	/* An ACK may be waiting behind this timer in the same epoll batch
	 * (a busy loop): read it first, or the retransmission is spurious,
	 * and atftp aborts on a repeated OACK. */
	if (svc->cfg->tftp_single_port)
		for (size_t i = 0; i < svc->port.n; i++)
			on_server_readable(loop, svc->port.fds[i], 0, svc);
	/* Each pass pushes the transfer's deadline past now or ends it. */
	for (size_t budget = svc->heap_n; budget > 0 && svc->heap_n; budget--) {
		struct tftp_conn *c = svc->heap[0];

		if (c->key > now)
			break;
		if (c->own_fd)
			conn_drain(c, RX_BUDGET, now);
		tftp_xfer_tick(&c->x, now);
		conn_pump(c, now);
	}
	timer_arm(svc);
}

/* ---- setup ---------------------------------------------------------------------- */

__attribute__((format(printf, 2, 3)))
static int fail(char **err, const char *fmt, ...)
{
	va_list ap;
	int e = errno;

	va_start(ap, fmt);
	if (vasprintf(err, fmt, ap) < 0)
		*err = NULL;
	va_end(ap);
	return e ? -e : -EINVAL;
}

/* Each transfer needs a descriptor: raise the soft limit, or lower the cap. */
static void fit_descriptors(struct tftp_service *svc)
{
	struct rlimit rl;
	rlim_t need = (rlim_t)svc->max_transfers + FD_RESERVE;

	if (svc->cfg->tftp_single_port || getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= need)
		return;
	rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= need ? need : rl.rlim_max;
	(void)setrlimit(RLIMIT_NOFILE, &rl);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < need) {
		svc->max_transfers = rl.rlim_cur > 2 * FD_RESERVE ? (unsigned)(rl.rlim_cur - FD_RESERVE)
								 : FD_RESERVE;
		log_msg(LOG_WARNING, "tftp: open file limit %llu allows only %u transfers",
			(unsigned long long)rl.rlim_cur, svc->max_transfers);
	}
}

static int open_root(struct tftp_service *svc, char **err)
{
	svc->rootfd = open(svc->cfg->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (svc->rootfd < 0)
		return fail(err, "tftp: cannot open root %s: %s", svc->cfg->root, strerror(errno));
	if (!realpath(svc->cfg->root, svc->root_abs))
		svc->root_abs[0] = '\0';
	return 0;
}

static int open_sockets(struct tftp_service *svc, char **err)
{
	const struct bsdpd_config *cfg = svc->cfg;

	return net_listen(&svc->port, svc->loop, cfg->tftp_port, cfg->interfaces,
			  cfg->n_interfaces, on_server_readable, svc, err);
}

static int alloc_tables(struct tftp_service *svc, char **err)
{
	size_t buckets = 64;

	while (buckets < 2 * (size_t)svc->max_transfers)
		buckets *= 2;
	svc->hash = calloc(buckets, sizeof(*svc->hash));
	svc->by_addr = calloc(buckets, sizeof(*svc->by_addr));
	svc->hash_mask = buckets - 1;
	svc->heap = calloc(svc->max_transfers ? svc->max_transfers : 1, sizeof(*svc->heap));
	svc->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	svc->armed = INT64_MAX;
	if (!svc->hash || !svc->by_addr || !svc->heap || svc->timerfd < 0 ||
	    loop_add(svc->loop, svc->timerfd, EPOLLIN, on_timer, svc) < 0)
		return fail(err, "tftp: cannot set up timers: %s", strerror(errno));
	return 0;
}

struct tftp_service *tftp_service_new(const struct bsdpd_config *cfg, struct loop *loop,
				      struct file_cache *files, char **err)
{
	struct tftp_service *svc = calloc(1, sizeof(*svc));

	*err = NULL;
	if (!svc)
		return NULL;
	svc->cfg = cfg;
	svc->loop = loop;
	svc->files = files;
	svc->rootfd = svc->timerfd = -1;
	svc->max_transfers = cfg->tftp_max_transfers;
	fit_descriptors(svc);
	if (open_root(svc, err) < 0 || alloc_tables(svc, err) < 0 || open_sockets(svc, err) < 0) {
		tftp_service_free(svc);
		return NULL;
	}
	log_msg(LOG_INFO, "tftp: serving %s on UDP port %u%s, blksize up to %u, at most %u "
		"transfers (%u per client) of %zu bytes each plus the file name", cfg->root,
		cfg->tftp_port, cfg->tftp_single_port ? " (single port)" : "",
		cfg->tftp_max_blksize, svc->max_transfers, cfg->tftp_max_per_client,
		sizeof(struct tftp_conn) + sizeof(struct tftp_conn *) * 5);
	return svc;
}

void tftp_service_free(struct tftp_service *svc)
{
	int64_t now = now_us();

	if (!svc)
		return;
	while (svc->heap_n) {
		struct tftp_conn *c = svc->heap[0];

		c->why = "server stopping";
		tftp_xfer_abort(&c->x, TFTP_ABORTED, -1, NULL);
		conn_end(c, now);
	}
	net_unlisten(&svc->port, svc->loop);
	if (svc->timerfd >= 0) {
		loop_del(svc->loop, svc->timerfd);
		close(svc->timerfd);
	}
	if (svc->rootfd >= 0)
		close(svc->rootfd);
	free(svc->heap);
	free(svc->hash);
	free(svc->by_addr);
	free(svc);
}

const struct tftp_counters *tftp_service_counters(const struct tftp_service *svc)
{
	return &svc->ctr;
}

void tftp_service_on_served(struct tftp_service *svc, tftp_served_fn fn, void *ctx)
{
	svc->on_served = fn;
	svc->on_served_ctx = ctx;
}
