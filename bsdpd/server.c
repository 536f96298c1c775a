/* SPDX-License-Identifier: MIT */
#include "server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "catalog_loader.h"
#include "log.h"
#include "net.h"
#include "responder.h"

struct bsdp_service {
	const struct bsdpd_config *cfg;
	struct loop *loop;
	struct catalog_snap *catalog;   /* the loop's reference: what it serves */
	struct catalog_loader *loader;  /* SIGHUP loads off the loop */
	struct bindings *bindings;
	struct bsdp_responder rs;
	int fds[BSDPD_MAX_INTERFACES];
	size_t n_fds;
	struct net_iface_cache ifaces;
	uint8_t rxbuf[65536];
	struct bsdp_tx tx;
};

/* ---- catalog ----------------------------------------------------------- */

static void log_errors_of(const struct nb_catalog *cat, size_t first)
{
	const char *path = cat->problems.v[first].path;
	char msg[1024];
	size_t o = 0;

	for (size_t i = first; i < cat->problems.n; i++) {
		const struct nb_problem *p = &cat->problems.v[i];

		if (p->severity != NB_ERROR || strcmp(p->path, path) != 0)
			continue;
		o += (size_t)snprintf(msg + o, sizeof(msg) - o, "%s%s", o ? "; " : "", p->message);
		if (o >= sizeof(msg))
			break;
	}
	log_msg(LOG_ERR, "%s: image skipped: %s", path, msg);
}

static bool errors_logged_before(const struct nb_catalog *cat, size_t i)
{
	for (size_t k = 0; k < i; k++)
		if (cat->problems.v[k].severity == NB_ERROR &&
		    strcmp(cat->problems.v[k].path, cat->problems.v[i].path) == 0)
			return true;
	return false;
}

void log_catalog_problems(const struct nb_catalog *cat)
{
	for (size_t i = 0; i < cat->problems.n; i++) {
		const struct nb_problem *p = &cat->problems.v[i];

		if (p->severity == NB_WARNING)
			log_msg(LOG_WARNING, "%s: warning: %s", p->path, p->message);
		else if (!errors_logged_before(cat, i))
			log_errors_of(cat, i);
	}
}

/* Replaced whole, in one step of the loop: a request never sees half a
 * catalog, and the old one serves until then. */
static void serve_catalog(struct bsdp_service *svc, struct catalog_snap *fresh)
{
	log_catalog_problems(&fresh->cat);
	log_msg(LOG_INFO, "serving %zu image%s from %s", fresh->cat.n_images,
		fresh->cat.n_images == 1 ? "" : "s", fresh->cat.root);
	catalog_snap_unref(svc->catalog);
	svc->catalog = fresh;
	svc->rs.catalog = &fresh->cat;
}

/* At start-up, before the loop runs: nothing is served yet, and the nbi
 * loader opens no special file, so this cannot hang. */
static int load_first_catalog(struct bsdp_service *svc)
{
	struct catalog_snap *fresh;
	int r = catalog_snap_load(svc->cfg->root, &fresh);

	if (r < 0) {
		log_msg(LOG_ERR, "cannot read image root %s: %s", svc->cfg->root, strerror(-r));
		return r;
	}
	serve_catalog(svc, fresh);
	return 0;
}

void bsdp_service_reload(struct bsdp_service *svc)
{
	enum catalog_request how;
	int r = catalog_loader_request(svc->loader, &how);

	if (r < 0)
		log_msg(LOG_ERR, "cannot start re-reading %s: %s; still serving the previous "
			"catalog", svc->cfg->root, strerror(-r));
	else if (how == CATALOG_LOAD_QUEUED)
		log_msg(LOG_INFO, "SIGHUP: still re-reading %s; reading it again after that",
			svc->cfg->root);
	else
		log_msg(LOG_INFO, "SIGHUP: re-reading the image root %s", svc->cfg->root);
}

/* A load finished on the loader thread. */
static void on_catalog_loaded(struct loop *loop, int fd, uint32_t events, void *ctx)
{
	struct bsdp_service *svc = ctx;
	struct catalog_snap *fresh;
	bool queued;
	int r = catalog_loader_collect(svc->loader, &fresh, &queued);

	(void)loop;
	(void)fd;
	(void)events;
	if (r == -EAGAIN)
		return;
	if (r < 0)
		log_msg(LOG_ERR, "cannot read image root %s: %s; still serving the previous "
			"catalog", svc->cfg->root, strerror(-r));
	else
		serve_catalog(svc, fresh);
	if (queued)
		bsdp_service_reload(svc);
}

static int open_loader(struct bsdp_service *svc, char **err)
{
	int r;

	svc->loader = catalog_loader_new(svc->cfg->root);
	r = svc->loader ? loop_add(svc->loop, catalog_loader_fd(svc->loader), EPOLLIN,
				   on_catalog_loaded, svc)
			: -errno;
	if (r < 0 && asprintf(err, "cannot set up catalog loading: %s", strerror(-r)) < 0)
		*err = NULL;
	return r;
}

/* ---- interfaces -------------------------------------------------------- */

/* Without --interface, every up, broadcast-capable link with an address. */
static bool iface_served(const struct bsdp_service *svc, const struct net_iface *ifc)
{
	if (svc->cfg->n_interfaces)
		return ifc->addr.s_addr != INADDR_ANY; /* the socket is bound to it */
	return net_iface_servable(ifc);
}

/* ---- datagrams --------------------------------------------------------- */

/* Who asked what, with the client's class id escaped. */
struct request_desc {
	char mac[MAC_STR_LEN];
	char model[4 * BSDP_MODEL_MAX];
	char arch[4 * BSDP_ARCH_MAX];
	char req[32];
};

static void describe_request(const struct bsdp_event *ev, struct request_desc *d)
{
	mac_str(ev->mac, d->mac);
	log_escape(d->model, sizeof(d->model), ev->cls.model, strlen(ev->cls.model));
	log_escape(d->arch, sizeof(d->arch), ev->cls.arch, strlen(ev->cls.arch));
	if (ev->dhcp_message == DHCP_INFORM)
		snprintf(d->req, sizeof(d->req), "INFORM[%s]", bsdp_message_name(ev->bsdp_message));
	else
		snprintf(d->req, sizeof(d->req), "%s", dhcp_message_name(ev->dhcp_message));
}

static void log_reply(const struct bsdp_event *ev, const struct bsdp_tx *tx)
{
	struct request_desc d;
	char dst[INET_ADDRSTRLEN], image[24] = "";

	describe_request(ev, &d);
	if (ev->has_image)
		snprintf(image, sizeof(image), " image 0x%08x", ev->image_id);
	log_msg(LOG_INFO, "%s %s/%s %s%s -> %s to %s:%u", d.mac, d.model, d.arch, d.req, image,
		ev->reply, inet_ntop(AF_INET, &tx->dst, dst, sizeof(dst)), tx->dst_port);
	if (ev->images_applicable > ev->images_listed && ev->images_listed)
		log_msg(LOG_WARNING, "%s: image list truncated to first %zu of %zu images "
			"(client message size limit)", d.mac, ev->images_listed,
			ev->images_applicable);
}

/* A BSDP request left unanswered on purpose, at debug level, as Apple's
 * bootpd did at LOG_INFO: why a Mac gets no answer.  Plain DHCP has no
 * reason (responder.h) and is not logged at all: it is the site's DHCP
 * traffic, one line per packet would bury the BSDP lines and cost a write
 * per datagram on the hot path. */
static void log_drop(const struct bsdp_event *ev)
{
	struct request_desc d;
	char ci[INET_ADDRSTRLEN], gi[INET_ADDRSTRLEN];

	describe_request(ev, &d);
	log_msg(LOG_DEBUG, "%s %s/%s %s ciaddr %s giaddr %s: no reply: %s", d.mac, d.model,
		d.arch, d.req, inet_ntop(AF_INET, &ev->ciaddr, ci, sizeof(ci)),
		inet_ntop(AF_INET, &ev->giaddr, gi, sizeof(gi)), bsdp_drop_reason(ev->drop));
}

static void handle_datagram(struct bsdp_service *svc, int fd, size_t len,
			    const struct net_rx *rx)
{
	const struct net_iface *ifc = net_iface_cached(&svc->ifaces, rx->ifindex);
	struct bsdp_rx brx;
	struct bsdp_event ev;
	int r;

	if (!ifc || !iface_served(svc, ifc))
		return;
	brx = (struct bsdp_rx){ .if_addr = ifc->addr, .if_netmask = ifc->netmask,
				.now = time(NULL) };
	if (bsdp_respond(&svc->rs, svc->rxbuf, len, &brx, &svc->tx, &ev) != BSDP_REPLY) {
		if (ev.drop != BSDP_DROP_NONE)
			log_drop(&ev);
		return;
	}
	r = net_send(fd, svc->tx.buf, svc->tx.len, svc->tx.dst, svc->tx.dst_port, rx->ifindex,
		     ifc->addr);
	if (r < 0)
		log_msg(LOG_WARNING, "sending %s on %s: %s", ev.reply, ifc->name, strerror(-r));
	else
		log_reply(&ev, &svc->tx);
}

/* Drains the socket: one wakeup may carry a burst from a whole lab. */
static void on_readable(struct loop *loop, int fd, uint32_t events, void *ctx)
{
	struct bsdp_service *svc = ctx;
	struct net_rx rx;
	ssize_t n;

	(void)loop;
	(void)events;
	for (int budget = 256; budget > 0; budget--) {
		n = net_recv(fd, svc->rxbuf, sizeof(svc->rxbuf), &rx);
		if (n == -EAGAIN || n == -EWOULDBLOCK)
			return;
		if (n >= 0)
			handle_datagram(svc, fd, (size_t)n, &rx);
	}
}

/* ---- setup ------------------------------------------------------------- */

static int open_sockets(struct bsdp_service *svc, char **err)
{
	size_t n = svc->cfg->n_interfaces ? svc->cfg->n_interfaces : 1;

	for (size_t i = 0; i < n; i++) {
		const char *ifname = svc->cfg->n_interfaces ? svc->cfg->interfaces[i] : NULL;
		int fd = net_open_udp(DHCP_SERVER_PORT, ifname);

		if (fd < 0) {
			if (asprintf(err, "cannot listen on UDP port %d%s%s: %s", DHCP_SERVER_PORT,
				     ifname ? " on " : "", ifname ? ifname : "", strerror(-fd)) < 0)
				*err = NULL;
			return fd;
		}
		svc->fds[svc->n_fds++] = fd;
		if (loop_add(svc->loop, fd, EPOLLIN, on_readable, svc) < 0)
			return -ENOMEM;
	}
	return 0;
}

static void log_pruned(void *ctx, unsigned n, const char *why)
{
	const struct bsdpd_config *cfg = ((const struct bsdp_service *)ctx)->cfg;

	log_msg(LOG_INFO, "removed %u binding%s, %s (--max-bindings %u, --binding-expiry %u "
		"days)", n, n == 1 ? "" : "s", why, cfg->max_bindings, cfg->binding_expiry_days);
}

/* Called once bsdpd runs as --user (main.c start_services), so SQLite
 * creates and writes its files with that user's rights only. */
int bsdp_service_open_bindings(struct bsdp_service *svc, char **err)
{
	const struct bindings_policy policy = {
		.max = svc->cfg->max_bindings,
		.expiry = svc->cfg->binding_expiry_days * (int64_t)86400,
		.pruned = log_pruned, .ctx = svc,
	};

	*err = NULL;
	svc->bindings = bindings_open(svc->cfg->state_dir, &policy, err);
	if (!svc->bindings)
		return -EIO;
	if (bindings_prune(svc->bindings, time(NULL)) < 0)
		log_msg(LOG_WARNING, "%s: cannot remove expired bindings", svc->cfg->state_dir);
	svc->rs.bindings = svc->bindings;
	return 0;
}

struct bsdp_service *bsdp_service_new(const struct bsdpd_config *cfg, struct loop *loop,
				      char **err)
{
	struct bsdp_service *svc = calloc(1, sizeof(*svc));

	*err = NULL;
	if (!svc)
		return NULL;
	svc->cfg = cfg;
	svc->loop = loop;
	if (load_first_catalog(svc) < 0) {
		if (asprintf(err, "cannot read image root %s", cfg->root) < 0)
			*err = NULL;
		goto fail;
	}
	if (open_loader(svc, err) < 0 || open_sockets(svc, err) < 0)
		goto fail;
	svc->rs = (struct bsdp_responder){ .catalog = &svc->catalog->cat,
					   .priority = cfg->priority, .hostname = cfg->hostname };
	return svc;
fail:
	bsdp_service_free(svc);
	return NULL;
}

void bsdp_service_free(struct bsdp_service *svc)
{
	if (!svc)
		return;
	for (size_t i = 0; i < svc->n_fds; i++) {
		loop_del(svc->loop, svc->fds[i]);
		close(svc->fds[i]);
	}
	if (svc->loader) {
		loop_del(svc->loop, catalog_loader_fd(svc->loader));
		catalog_loader_free(svc->loader);
	}
	bindings_close(svc->bindings);
	catalog_snap_unref(svc->catalog);
	free(svc);
}
