/* SPDX-License-Identifier: MIT */
#include "server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "beneath.h"
#include "boot_policy.h"
#include "catalog_loader.h"
#include "http_routes.h"
#include "log.h"
#include "metrics.h"
#include "net.h"
#include "responder.h"
#include "store.h"
#include "tftp_server.h"

/* Machines that fetched a file from our TFTP lately, for the proxyDHCP
 * "known" rule: a ring, oldest overwritten first.  A lab boots far fewer
 * machines than this within PROXY_KNOWN_SECONDS. */
#define RECENT_SLOTS 1024

struct recent_boot {
	uint8_t mac[6];
	int64_t at;                     /* 0: empty */
};

_Static_assert(BSDPD_MAX_INTERFACES <= NET_MAX_LISTEN, "one socket per --interface");

struct bsdp_service {
	const struct bsdpd_config *cfg;
	struct loop *loop;
	struct catalog_snap *catalog;   /* the loop's reference: what it serves */
	struct catalog_loader *loader;  /* SIGHUP loads off the loop */
	struct bindings *bindings;
	struct boot_policy *policy;     /* NULL until bsdp_service_set_policy */
	struct bsdp_responder rs;
	void (*reloaded)(void *ctx);    /* each SIGHUP's re-read is over */
	void *reloaded_ctx;
	struct net_listener dhcp;       /* port 67 */
	struct net_listener proxy;      /* port 4011, unless --proxy-dhcp off */
	int rootfd;                     /* --root, for checking boot files */
	struct proxy_responder prs;
	char boot_files[PROXY_ARCH_COUNT][DHCP_FILE_LEN];
	char bound_path[DHCP_FILE_LEN]; /* what bound_booter() last returned */
	bool warned_fat;
	struct recent_boot recent[RECENT_SLOTS];
	size_t recent_next;
	struct net_iface_cache ifaces;
	struct dhcp_view view;          /* the datagram being handled, parsed once */
	uint8_t rxbuf[65536];
	struct bsdp_tx tx;
	struct proxy_tx ptx;
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

/* ---- proxyDHCP boot files ------------------------------------------------ */

/* Without --boot-file, EFI PCs get the booter of the default NetBoot
 * image when it is a plain EFI application of their type: the same iPXE
 * the Macs get.  An Apple fat binary cannot be loaded by PC firmware. */
static void default_boot_file(struct bsdp_service *svc, enum proxy_arch arch,
			      const char *candidate)
{
	struct proxy_file_check chk;

	if (!candidate || proxy_boot_file_check_at(svc->rootfd, arch, candidate, &chk) < 0) {
		if (candidate && chk.verdict == PROXY_FILE_APPLE_FAT && !svc->warned_fat) {
			log_msg(LOG_WARNING, "proxyDHCP: %s; give PCs a plain booter with "
				"--boot-file", chk.message);
			svc->warned_fat = true;
		}
		return;
	}
	snprintf(svc->boot_files[arch], sizeof(svc->boot_files[arch]), "%s", candidate);
}

static void choose_boot_files(struct bsdp_service *svc)
{
	char dflt[DHCP_FILE_LEN];
	bool have_default = proxy_default_booter(&svc->catalog->cat, dflt, sizeof(dflt)) == 0;

	for (int a = 0; a < PROXY_ARCH_COUNT; a++) {
		svc->boot_files[a][0] = '\0';
		if (svc->cfg->boot_file[a])
			snprintf(svc->boot_files[a], sizeof(svc->boot_files[a]), "%s",
				 svc->cfg->boot_file[a]);
		else if (a == PROXY_ARCH_EFI_X64 || a == PROXY_ARCH_EFI_IA32)
			default_boot_file(svc, (enum proxy_arch)a, have_default ? dflt : NULL);
		svc->prs.boot_file[a] = svc->boot_files[a][0] ? svc->boot_files[a] : NULL;
	}
}

/* --boot-file names a file for one arch: it must be there and fit, or
 * bsdpd does not start (and --check says why), or a SIGHUP changes
 * nothing. */
int bsdp_service_check_boot_files(const struct bsdp_service *svc,
				  const struct bsdpd_config *cfg, char **err)
{
	struct proxy_file_check chk;

	*err = NULL;
	for (int a = 0; a < PROXY_ARCH_COUNT; a++) {
		const char *path = cfg->boot_file[a];

		if (path && proxy_boot_file_check_at(svc->rootfd, (enum proxy_arch)a, path, &chk) < 0) {
			if (asprintf(err, "--boot-file: %s", chk.message) < 0)
				*err = NULL;
			return -EINVAL;
		}
	}
	return 0;
}

/* ---- proxyDHCP hooks ----------------------------------------------------- */

static void note_fetched(struct bsdp_service *svc, const uint8_t mac[6])
{
	struct recent_boot *slot = &svc->recent[svc->recent_next];

	for (size_t i = 0; i < RECENT_SLOTS; i++) {
		if (svc->recent[i].at && memcmp(svc->recent[i].mac, mac, 6) == 0) {
			svc->recent[i].at = time(NULL);
			return;
		}
	}
	memcpy(slot->mac, mac, 6);
	slot->at = time(NULL);
	svc->recent_next = (svc->recent_next + 1) % RECENT_SLOTS;
}

static void tftp_event(struct bsdp_service *svc, const uint8_t mac[6],
		       const struct tftp_done *d)
{
	struct event e = { .kind = EVENT_TFTP, .has_mac = true, .bytes = d->bytes,
			   .duration_ms = d->duration_ms, .ok = d->complete };

	memcpy(e.mac, mac, 6);
	snprintf(e.detail, sizeof(e.detail), "%s", d->path);
	boot_policy_event(svc->policy, &e);
}

/* The client's MAC is in the kernel's neighbour table: it just talked to
 * us.  TFTP requests carry no MAC of their own. */
void bsdp_service_note_tftp(void *ctx, const struct tftp_done *d)
{
	struct bsdp_service *svc = ctx;
	uint8_t mac[6];

	if (net_neighbour_mac(d->ifindex, d->peer, mac) < 0)
		return;
	tftp_event(svc, mac, d);
	if (d->complete)
		note_fetched(svc, mac);
}


static bool fetched_lately(const struct bsdp_service *svc, const uint8_t mac[6], int64_t now)
{
	for (size_t i = 0; i < RECENT_SLOTS; i++)
		if (svc->recent[i].at && now - svc->recent[i].at < PROXY_KNOWN_SECONDS &&
		    memcmp(svc->recent[i].mac, mac, 6) == 0)
			return true;
	return false;
}

/* --proxy-dhcp known: a machine bsdpd has seen boot through it, or one
 * the admin gave a policy of its own (a machine record or a group; the
 * default profile alone does not make every PC on the LAN known). */
static bool known_machine(void *ctx, const uint8_t mac[6], int64_t now)
{
	struct bsdp_service *svc = ctx;
	struct binding bd;

	return (svc->bindings && bindings_get(svc->bindings, mac, &bd) == 0) ||
	       fetched_lately(svc, mac, now) || boot_policy_names(svc->policy, mac);
}

static const char *pinned_image(void *ctx, const struct nb_client *c)
{
	struct bsdp_service *svc = ctx;

	return boot_policy_image(svc->policy, c->mac, c->model, c->arch);
}

static bool refused_machine(void *ctx, const uint8_t mac[6])
{
	struct bsdp_service *svc = ctx;

	return boot_policy_refuses(svc->policy, mac);
}

/* The booter of the image a Mac (or a PC given a binding with bsdpc
 * select --mac) chose over BSDP; only i386 EFI booters suit a PC. */
static const char *bound_booter(void *ctx, const uint8_t mac[6], enum proxy_arch arch)
{
	struct bsdp_service *svc = ctx;
	const struct nb_image *img;
	struct binding bd;

	if (arch != PROXY_ARCH_EFI_X64 && arch != PROXY_ARCH_EFI_IA32 &&
	    arch != PROXY_ARCH_HTTP_X64)
		return NULL;
	if (!svc->bindings || bindings_get(svc->bindings, mac, &bd) < 0)
		return NULL;
	img = nb_catalog_find(&svc->catalog->cat, bd.image_id);
	if (!img || nb_image_boot_path(img, "i386", svc->bound_path, sizeof(svc->bound_path)) < 0)
		return NULL;
	return svc->bound_path;
}

bool bsdp_service_client_info(void *ctx, const uint8_t *mac, struct in_addr ip,
			      struct http_client_info *out)
{
	struct bsdp_service *svc = ctx;
	const struct nb_image *img;
	struct binding bd;

	(void)ip;
	if (!mac || !svc->bindings || bindings_get(svc->bindings, mac, &bd) < 0)
		return false;
	memset(out, 0, sizeof(*out));
	/* The NetBoot machine name Apple's server gave it in ACK[SELECT]. */
	snprintf(out->hostname, sizeof(out->hostname), "NetBoot%03u", bd.number);
	snprintf(out->model, sizeof(out->model), "%s", bd.model);
	img = nb_catalog_find(&svc->catalog->cat, bd.image_id);
	if (img)
		snprintf(out->image, sizeof(out->image), "%s", img->name);
	return true;
}

/* What the /metrics page reads of the catalog and the bindings. */
void bsdp_service_gauges(void *ctx, struct metrics_gauges *out)
{
	const struct bsdp_service *svc = ctx;
	const struct nb_catalog *cat = &svc->catalog->cat;

	out->catalog_images = cat->n_images;
	out->catalog_problems = 0;
	for (size_t i = 0; i < cat->problems.n; i++)
		if (cat->problems.v[i].severity == NB_ERROR && !errors_logged_before(cat, i))
			out->catalog_problems++; /* one per bundle, as logged */
	out->bindings = svc->bindings ? (size_t)bindings_count(svc->bindings) : 0;
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
	choose_boot_files(svc);
}

/* At start-up, before the loop runs: nothing is served yet, and the nbi
 * loader opens no special file, so this cannot hang. */
static int load_first_catalog(struct bsdp_service *svc)
{
	struct catalog_snap *fresh;
	int r = catalog_snap_load(svc->cfg->root, NULL, &fresh);

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
	int r = catalog_loader_request(svc->loader, svc->catalog, &how);

	if (r < 0) {
		log_msg(LOG_ERR, "cannot start re-reading %s: %s; still serving the previous "
			"catalog", svc->cfg->root, strerror(-r));
		if (svc->reloaded)
			svc->reloaded(svc->reloaded_ctx);
	} else if (how == CATALOG_LOAD_QUEUED)
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
	else if (svc->reloaded)
		svc->reloaded(svc->reloaded_ctx);
}

void bsdp_service_on_reloaded(struct bsdp_service *svc, void (*fn)(void *ctx), void *ctx)
{
	svc->reloaded = fn;
	svc->reloaded_ctx = ctx;
}

void bsdp_service_config_changed(struct bsdp_service *svc)
{
	svc->rs.priority = svc->cfg->priority;
	svc->rs.hostname = svc->cfg->hostname;
	svc->prs.mode = svc->cfg->proxy_mode;
	choose_boot_files(svc);
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

/* A Mac's LIST or SELECT, answered: it registers the machine and is a
 * boot event.  Its model and arch are the class id's (AAPLBSDPC/i386/
 * MacBookPro11,3): a Mac's EFI arch is "i386", as in BSDP. */
static void note_bsdp(struct bsdp_service *svc, const struct bsdp_event *ev)
{
	struct boot_sighting s = { .mac = ev->mac, .model = ev->cls.model, .arch = ev->cls.arch };
	struct event e = { .has_mac = true, .ok = strcmp(ev->reply, "ACK[FAILED]") != 0 };
	const struct nb_image *img;

	if (ev->dhcp_message != DHCP_INFORM ||
	    (ev->bsdp_message != BSDP_LIST && ev->bsdp_message != BSDP_SELECT))
		return;
	boot_policy_seen(svc->policy, &s);
	e.kind = ev->bsdp_message == BSDP_LIST ? EVENT_BSDP_LIST : EVENT_BSDP_SELECT;
	memcpy(e.mac, ev->mac, 6);
	img = ev->has_image ? nb_catalog_find(&svc->catalog->cat, ev->image_id) : NULL;
	if (img)
		snprintf(e.detail, sizeof(e.detail), "%s", img->name);
	boot_policy_event(svc->policy, &e);
}

static enum metrics_bsdp reply_kind(const struct bsdp_event *ev)
{
	if (ev->dhcp_message != DHCP_INFORM)
		return METRICS_BSDP_OFFER;
	if (ev->bsdp_message == BSDP_LIST)
		return METRICS_BSDP_LIST;
	return strcmp(ev->reply, "ACK[FAILED]") == 0 ? METRICS_BSDP_FAILED : METRICS_BSDP_SELECT;
}

static void answer_bsdp(struct bsdp_service *svc, int fd, const struct net_iface *ifc,
			const struct net_rx *rx)
{
	struct bsdp_rx brx = { .if_addr = ifc->addr, .if_netmask = ifc->netmask,
			       .now = time(NULL) };
	struct bsdp_event ev;
	enum bsdp_verdict v;
	int r;

	v = bsdp_respond_view(&svc->rs, &svc->view, &brx, &svc->tx, &ev);
	metrics_bsdp_request(svc->cfg->metrics, ev.bsdp_message);
	if (v != BSDP_REPLY) {
		if (ev.drop != BSDP_DROP_NONE) {
			log_drop(&ev);
			metrics_bsdp(svc->cfg->metrics, METRICS_BSDP_IGNORED);
		}
		return;
	}
	/* The binding a SELECT wrote may sit in this step's batch, opened by
	 * an earlier request: the ACK says it is kept, so it is committed. */
	if (ev.bsdp_message == BSDP_SELECT)
		boot_policy_commit(svc->policy);
	r = net_send(fd, svc->tx.buf, svc->tx.len, svc->tx.dst, svc->tx.dst_port, rx->ifindex,
		     ifc->addr);
	if (r < 0) {
		log_msg(LOG_WARNING, "sending %s on %s: %s", ev.reply, ifc->name, strerror(-r));
		metrics_error(svc->cfg->metrics, METRICS_ERR_DHCP_SEND);
		return;
	}
	log_reply(&ev, &svc->tx);
	metrics_bsdp(svc->cfg->metrics, reply_kind(&ev));
	note_bsdp(svc, &ev);
}

static void proxy_client(const struct proxy_event *ev, char *buf, size_t cap)
{
	char mac[MAC_STR_LEN] = "?";

	if (ev->has_mac)
		mac_str(ev->mac, mac);
	if (ev->has_arch)
		snprintf(buf, cap, "%s %s arch %u %s", mac, proxy_kind_name(ev->kind), ev->arch,
			 dhcp_message_name(ev->request_type));
	else
		snprintf(buf, cap, "%s %s %s", mac, proxy_kind_name(ev->kind),
			 dhcp_message_name(ev->request_type));
}

static void log_proxy(const struct proxy_event *ev, const struct proxy_tx *tx)
{
	char who[96], file[4 * DHCP_FILE_LEN], dst[INET_ADDRSTRLEN];

	proxy_client(ev, who, sizeof(who));
	log_escape(file, sizeof(file), ev->file, strnlen(ev->file, sizeof(ev->file)));
	log_msg(LOG_INFO, "proxy %s -> %s file %s to %s:%u", who,
		dhcp_message_name(ev->reply_type), file,
		inet_ntop(AF_INET, &tx->dst, dst, sizeof(dst)), tx->dst_port);
}

/* PXE and iPXE clients left unanswered, with the reason, at debug level.
 * Packets without PXE or iPXE markers are the site's DHCP: not logged. */
static void log_proxy_drop(const struct proxy_event *ev)
{
	char who[96];

	if (!ev->has_kind)
		return;
	proxy_client(ev, who, sizeof(who));
	log_msg(LOG_DEBUG, "proxy %s: no reply: %s", who, ev->reason);
}

/* The arch in iPXE's ${buildarch} words, which group selectors use: BIOS
 * PXE loads the i386 iPXE. */
static const char *buildarch_of(uint16_t type)
{
	switch (proxy_arch_slot(type)) {
	case PROXY_ARCH_BIOS:
	case PROXY_ARCH_EFI_IA32: return "i386";
	case PROXY_ARCH_EFI_X64:
	case PROXY_ARCH_HTTP_X64: return "x86_64";
	case PROXY_ARCH_EFI_ARM64: return "arm64";
	default: return NULL;
	}
}

static void note_proxy(struct bsdp_service *svc, const struct proxy_event *ev)
{
	struct boot_sighting s = { .mac = ev->mac,
				   .arch = ev->has_arch ? buildarch_of(ev->arch) : NULL };
	struct event e = { .kind = EVENT_PROXY_OFFER, .has_mac = true, .ok = true };

	if (!ev->has_mac)
		return;
	boot_policy_seen(svc->policy, &s);
	memcpy(e.mac, ev->mac, 6);
	snprintf(e.detail, sizeof(e.detail), "%s", ev->file);
	snprintf(e.rule, sizeof(e.rule), "%s", proxy_kind_name(ev->kind));
	boot_policy_event(svc->policy, &e);
}

static void answer_proxy(struct bsdp_service *svc, int fd, uint16_t port,
			 const struct net_iface *ifc, const struct net_rx *rx)
{
	struct proxy_rx prx = { .if_addr = ifc->addr, .local_port = port,
				.src = rx->src.sin_addr, .src_port = ntohs(rx->src.sin_port),
				.now = time(NULL) };
	struct proxy_event ev;
	int r;

	if (proxy_respond(&svc->prs, &svc->view, &prx, &svc->ptx, &ev) != PROXY_REPLY) {
		log_proxy_drop(&ev);
		if (ev.has_kind) { /* else the site's DHCP traffic, not ours to count */
			metrics_proxy_request(svc->cfg->metrics, ev.kind);
			metrics_proxy(svc->cfg->metrics, METRICS_PROXY_IGNORED);
		}
		return;
	}
	metrics_proxy_request(svc->cfg->metrics, ev.kind);
	r = net_send(fd, svc->ptx.buf, svc->ptx.len, svc->ptx.dst, svc->ptx.dst_port,
		     rx->ifindex, ifc->addr);
	if (r < 0) {
		log_msg(LOG_WARNING, "sending a proxy %s on %s: %s",
			dhcp_message_name(ev.reply_type), ifc->name, strerror(-r));
		metrics_error(svc->cfg->metrics, METRICS_ERR_DHCP_SEND);
		return;
	}
	log_proxy(&ev, &svc->ptx);
	metrics_proxy(svc->cfg->metrics, (enum metrics_proxy)ev.kind);
	note_proxy(svc, &ev);
}

/* Whether option 60 is an Apple client class id (AAPLBSDPC...). */
static bool from_a_mac(const struct dhcp_view *view)
{
	const struct dhcp_option *o60 = dhcp_option_get(view, DHCP_OPT_CLASS_ID);
	struct bsdp_class cls;

	return o60 && bsdp_parse_class(o60->data, o60->len, &cls) == 0;
}

/* The one DHCP dispatcher: each datagram is parsed once.  Macs and every
 * REQUEST on port 67 go to the BSDP responder (a bound client's REQUEST
 * updates its address, responder.c); PXE firmware and iPXE go to
 * proxyDHCP, which stays silent to everything else. */
static void dispatch(struct bsdp_service *svc, int fd, uint16_t port, size_t len,
		     const struct net_rx *rx)
{
	const struct net_iface *ifc = net_iface_cached(&svc->ifaces, rx->ifindex);

	if (!ifc || !net_iface_served(ifc, svc->cfg->n_interfaces > 0) || dhcp_parse(&svc->view, svc->rxbuf, len) < 0)
		return;
	if (port == DHCP_SERVER_PORT &&
	    (from_a_mac(&svc->view) || svc->view.message_type == DHCP_REQUEST))
		answer_bsdp(svc, fd, ifc, rx);
	else if (svc->cfg->proxy_mode != PROXY_MODE_OFF)
		answer_proxy(svc, fd, port, ifc, rx);
}

/* Drains the socket: one wakeup may carry a burst from a whole lab. */
static void drain(struct bsdp_service *svc, int fd, uint16_t port)
{
	struct net_rx rx;
	ssize_t n;

	for (int budget = 256; budget > 0; budget--) {
		n = net_recv(fd, svc->rxbuf, sizeof(svc->rxbuf), &rx);
		if (n == -EAGAIN || n == -EWOULDBLOCK)
			return;
		if (n >= 0)
			dispatch(svc, fd, port, (size_t)n, &rx);
	}
}

static void on_dhcp_readable(struct loop *loop, int fd, uint32_t events, void *ctx)
{
	(void)loop;
	(void)events;
	drain(ctx, fd, DHCP_SERVER_PORT);
}

static void on_proxy_readable(struct loop *loop, int fd, uint32_t events, void *ctx)
{
	(void)loop;
	(void)events;
	drain(ctx, fd, PROXY_PORT);
}

/* ---- setup ------------------------------------------------------------- */

static int open_sockets(struct bsdp_service *svc, char **err)
{
	const struct bsdpd_config *cfg = svc->cfg;
	int r = net_listen(&svc->dhcp, svc->loop, DHCP_SERVER_PORT, cfg->interfaces,
			   cfg->n_interfaces, on_dhcp_readable, svc, err);

	if (r == 0 && cfg->proxy_mode != PROXY_MODE_OFF)
		r = net_listen(&svc->proxy, svc->loop, PROXY_PORT, cfg->interfaces,
			       cfg->n_interfaces, on_proxy_readable, svc, err);
	return r;
}

static int open_root(struct bsdp_service *svc, char **err)
{
	svc->rootfd = open(svc->cfg->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (svc->rootfd >= 0)
		return 0;
	if (asprintf(err, "cannot open image root %s: %s", svc->cfg->root, strerror(errno)) < 0)
		*err = NULL;
	return -errno;
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
	svc->bindings = bindings_open(svc->cfg->database, svc->cfg->state_dir, &policy, err);
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
	svc->rootfd = -1;
	svc->prs = (struct proxy_responder){
		.mode = cfg->proxy_mode, .http_port = cfg->http_disabled ? 0 : cfg->http_port,
		.hooks = { .ctx = svc, .known = known_machine, .bound_booter = bound_booter,
			   .refused = refused_machine },
	};
	if (open_root(svc, err) < 0 || bsdp_service_check_boot_files(svc, cfg, err) < 0)
		goto fail;
	if (load_first_catalog(svc) < 0) {
		if (asprintf(err, "cannot read image root %s", cfg->root) < 0)
			*err = NULL;
		goto fail;
	}
	if (open_loader(svc, err) < 0 || open_sockets(svc, err) < 0)
		goto fail;
	svc->rs = (struct bsdp_responder){ .catalog = &svc->catalog->cat,
					   .priority = cfg->priority, .hostname = cfg->hostname,
					   .pinned_image = pinned_image, .pin_ctx = svc };
	return svc;
fail:
	bsdp_service_free(svc);
	return NULL;
}

struct bindings *bsdp_service_bindings(struct bsdp_service *svc)
{
	return svc->bindings;
}

void bsdp_service_set_policy(struct bsdp_service *svc, struct boot_policy *bp)
{
	svc->policy = bp;
}

const struct nb_catalog *bsdp_service_catalog(const struct bsdp_service *svc)
{
	return &svc->catalog->cat;
}

void bsdp_service_free(struct bsdp_service *svc)
{
	if (!svc)
		return;
	net_unlisten(&svc->dhcp, svc->loop);
	net_unlisten(&svc->proxy, svc->loop);
	if (svc->rootfd >= 0)
		close(svc->rootfd);
	if (svc->loader) {
		loop_del(svc->loop, catalog_loader_fd(svc->loader));
		catalog_loader_free(svc->loader);
	}
	bindings_close(svc->bindings);
	catalog_snap_unref(svc->catalog);
	free(svc);
}
