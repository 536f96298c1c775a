/* SPDX-License-Identifier: MIT */
/*
 * BSDP decisions: see responder.h.  The flow for each request is
 * parse → classify → decide → build, and every "no" on the way is silence.
 */
#include "responder.h"
#include "url.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

/* Everything the decision needs, parsed once. */
struct request {
	const struct dhcp_view *view;  /* parsed once by the caller */
	struct bsdp_request bsdp;
	struct nb_client client;
	const struct bsdp_rx *rx;
};

/* ---- why not ----------------------------------------------------------- */

static const char *const drop_reasons[] = {
	[BSDP_DROP_NONE] = "answered",
	[BSDP_DROP_ADDRESSED_ELSEWHERE] = "siaddr or sname names another server",
	[BSDP_DROP_MALFORMED] = "option 43 does not decode or has no version sub-option",
	[BSDP_DROP_VERSION] = "unsupported BSDP version",
	[BSDP_DROP_DHCP_MESSAGE] = "DHCP message type is not one BSDP answers",
	[BSDP_DROP_BSDP_MESSAGE] = "BSDP message type is neither LIST nor SELECT",
	[BSDP_DROP_NO_CIADDR] = "INFORM with no IP address (ciaddr 0)",
	[BSDP_DROP_CIADDR_BROADCAST] = "ciaddr is the broadcast address",
	[BSDP_DROP_CIADDR_MULTICAST] = "ciaddr is a multicast address",
	[BSDP_DROP_CIADDR_RESERVED] = "ciaddr is a reserved (240.0.0.0/4) address",
	[BSDP_DROP_CIADDR_LOOPBACK] = "ciaddr is a loopback address",
	[BSDP_DROP_CIADDR_THIS_NETWORK] = "ciaddr is in 0.0.0.0/8",
	[BSDP_DROP_CIADDR_SERVER] = "ciaddr is this server's address",
	[BSDP_DROP_CIADDR_OFF_SUBNET] = "ciaddr is off the receiving link's subnet, not relayed",
	[BSDP_DROP_CIADDR_SUBNET_NETWORK] = "ciaddr is the subnet's network address",
	[BSDP_DROP_CIADDR_SUBNET_BROADCAST] = "ciaddr is the subnet's broadcast address",
	[BSDP_DROP_GIADDR] = "giaddr is not a relay's unicast address",
	[BSDP_DROP_REPLY_PORT] = "reply port (sub-option 5) is 0 or not below 1024",
	[BSDP_DROP_NO_SERVER_ID] = "SELECT without a server identifier (sub-option 3)",
	[BSDP_DROP_OTHER_SERVER] = "SELECT for another server; a binding of ours is dropped",
	[BSDP_DROP_NO_IMAGE] = "no image applies to this client",
	[BSDP_DROP_NOT_BOUND] = "DISCOVER from a client not bound to an image that applies",
	[BSDP_DROP_BOUND_ELSEWHERE] = "DISCOVER from a client bound to another server",
	[BSDP_DROP_REPLY_TOO_BIG] = "the reply does not fit the client's message size",
};

const char *bsdp_drop_reason(enum bsdp_drop why)
{
	if ((size_t)why >= sizeof(drop_reasons) / sizeof(drop_reasons[0]) || !drop_reasons[why])
		return "unknown";
	return drop_reasons[why];
}

static enum bsdp_verdict drop(struct bsdp_event *ev, enum bsdp_drop why)
{
	ev->drop = why;
	return BSDP_SILENT;
}

/* ---- where a reply may go ---------------------------------------------- */

/* Why a cannot be a host's own address (RFC 1122 §3.2.1.3, RFC 6890), or
 * BSDP_DROP_NONE.  Nobody authenticates ciaddr or giaddr: without this an
 * INFORM[LIST] of a few hundred bytes aims an ACK[LIST] up to 8192 bytes
 * long at a broadcast or multicast group. */
static enum bsdp_drop not_unicast(struct in_addr a)
{
	uint32_t h = ntohl(a.s_addr);

	if (h == INADDR_BROADCAST)
		return BSDP_DROP_CIADDR_BROADCAST;
	if (IN_MULTICAST(h))
		return BSDP_DROP_CIADDR_MULTICAST;
	if ((h >> 28) == 0xf)
		return BSDP_DROP_CIADDR_RESERVED;
	if ((h >> IN_CLASSA_NSHIFT) == IN_LOOPBACKNET)
		return BSDP_DROP_CIADDR_LOOPBACK;
	if ((h >> IN_CLASSA_NSHIFT) == 0)
		return BSDP_DROP_CIADDR_THIS_NETWORK;
	return BSDP_DROP_NONE;
}

/* A client that was not relayed holds an address of the receiving link's
 * subnet, and neither its network nor its broadcast address (a /31 has
 * neither, RFC 3021).  An unknown mask refuses: better silent than aimed
 * at a whole subnet. */
static enum bsdp_drop off_link(struct in_addr a, const struct bsdp_rx *rx)
{
	uint32_t h = ntohl(a.s_addr), mask = ntohl(rx->if_netmask.s_addr);
	uint32_t net = ntohl(rx->if_addr.s_addr) & mask;

	if (mask == 0 || (h & mask) != net)
		return BSDP_DROP_CIADDR_OFF_SUBNET;
	if (mask >= 0xfffffffeu)
		return BSDP_DROP_NONE;
	if (h == net)
		return BSDP_DROP_CIADDR_SUBNET_NETWORK;
	return h == (net | ~mask) ? BSDP_DROP_CIADDR_SUBNET_BROADCAST : BSDP_DROP_NONE;
}

/* Through a relay the client sits on another subnet, which only the relay
 * knows; its address must still be one a host can hold. */
static enum bsdp_drop ciaddr_refusal(const struct request *rq)
{
	struct in_addr ci = rq->view->hdr.ciaddr;
	enum bsdp_drop why = not_unicast(ci);

	if (why != BSDP_DROP_NONE)
		return why;
	if (ci.s_addr == rq->rx->if_addr.s_addr)
		return BSDP_DROP_CIADDR_SERVER;
	if (rq->view->hdr.giaddr.s_addr != INADDR_ANY)
		return BSDP_DROP_NONE;
	return off_link(ci, rq->rx);
}

/* ---- image choice ------------------------------------------------------ */

/* nbimages.c NBImageList_default: the first applicable image in catalog
 * order, which puts IsDefault images first; so an IsDefault image wins,
 * and without one the first applicable image is the default. */
static const struct nb_image *default_image(const struct nb_catalog *cat,
					    const struct nb_client *c)
{
	for (size_t i = 0; i < cat->n_images; i++)
		if (nb_image_allows(&cat->images[i], c))
			return &cat->images[i];
	return NULL;
}

static bool named(const struct nb_image *img, const char *name)
{
	size_t n = strlen(img->bundle);

	if (strcmp(img->name, name) == 0)
		return true;
	/* "Install" names Install.nbi too. */
	return n > 4 && strcmp(img->bundle + n - 4, ".nbi") == 0 &&
	       strlen(name) == n - 4 && memcmp(img->bundle, name, n - 4) == 0;
}

/* The policy may pin a Mac's default image (boot_policy.h), so that a Mac
 * lab is steered through the same records as the PCs; the pin holds only
 * while that image applies to the Mac, else Apple's rule stands. */
static const struct nb_image *default_for(const struct bsdp_responder *rs,
					  const struct nb_client *c)
{
	const char *pin = rs->pinned_image ? rs->pinned_image(rs->pin_ctx, c) : NULL;

	for (size_t i = 0; pin && pin[0] && i < rs->catalog->n_images; i++)
		if (named(&rs->catalog->images[i], pin) &&
		    nb_image_allows(&rs->catalog->images[i], c))
			return &rs->catalog->images[i];
	return default_image(rs->catalog, c);
}

/* Whether a binding's image is this server's to name: its own binding,
 * or one of an image with a global index, the same image on every server
 * of the campus (SPEC §3.4.2; docs/bsdp.md).  A server-local index of
 * another server's may be a different image here. */
static bool names_our_image(const struct bsdp_responder *rs, const struct binding *bd,
			    const struct bsdp_rx *rx)
{
	return bindings_is_ours(rs->bindings, bd, rx->if_addr) ||
	       bsdp_image_index(bd->image_id) > BSDP_INDEX_LOCAL_MAX;
}

/* The bound image, if the binding exists and its image still applies.
 * A LIST or DISCOVER counts as seeing the client, for expiry. */
static const struct nb_image *bound_image(const struct bsdp_responder *rs,
					  const struct nb_client *c, const struct bsdp_rx *rx)
{
	struct binding bd;
	const struct nb_image *img;

	if (bindings_get(rs->bindings, c->mac, &bd) < 0 || !names_our_image(rs, &bd, rx))
		return NULL;
	(void)bindings_seen(rs->bindings, &bd, rx->now);
	img = nb_catalog_find(rs->catalog, bd.image_id);
	return img && nb_image_allows(img, c) ? img : NULL;
}

static uint16_t current_priority(const struct bsdp_responder *rs, const struct bsdp_rx *rx)
{
	int bound = bindings_count_of(rs->bindings, rx->if_addr, rx->now);

	if (bound <= 0)
		return rs->priority;
	return (unsigned)bound >= rs->priority ? 0 : (uint16_t)(rs->priority - bound);
}

/* ---- reply framing ----------------------------------------------------- */

static size_t clamp_message_size(size_t max, size_t cap)
{
	if (max <= BSDP_MIN_MESSAGE)
		max = BSDP_MIN_MESSAGE;
	if (max > cap)
		max = cap;
	return max - BSDP_IP_UDP_OVERHEAD;
}

static size_t option57(const struct dhcp_view *view)
{
	const struct dhcp_option *o57 = dhcp_option_get(view, DHCP_OPT_MAX_MESSAGE_SIZE);

	return o57 && o57->len == 2 ? be16_get(o57->data) : 0;
}

/* For OFFER* Apple reads only option 57 and caps it at one Ethernet frame. */
static size_t offer_limit(const struct dhcp_view *view)
{
	return clamp_message_size(option57(view), BSDP_OFFER_MAX_MESSAGE);
}

size_t bsdp_reply_limit(const struct dhcp_view *view, const struct bsdp_request *rq)
{
	/* SPEC §3.4.16: newer servers prefer sub-option 12 to option 57; a valid
	 * 12 wins even when it is small (bsdpd.c bsdp_max_message_size). */
	size_t max = rq->has_max_message_size ? rq->max_message_size : option57(view);

	return clamp_message_size(max, BSDP_REPLY_MAX);
}

/* Apple's make_dhcp_reply copies the whole request header, sname and file
 * included, then sets op, clears hops and secs, and puts the server in
 * siaddr.  yiaddr is forced to 0: bsdpd never offers an address. */
static struct dhcp_header reply_header(const struct request *rq, struct in_addr siaddr)
{
	struct dhcp_header h = rq->view->hdr;

	h.op = BOOTREPLY;
	h.hops = 0;
	h.secs = 0;
	h.yiaddr.s_addr = INADDR_ANY;
	h.siaddr = siaddr;
	return h;
}

/* Header, then 53, 54 and 60 = "AAPLBSDPC", the order Apple's server uses. */
static int begin_reply(struct dhcp_builder *b, struct bsdp_tx *tx, size_t limit,
		       const struct dhcp_header *h, uint8_t type, struct in_addr server)
{
	int r = dhcp_build_init(b, tx->buf, limit, h);

	if (r < 0)
		return r;
	if ((r = dhcp_build_u8(b, DHCP_OPT_MESSAGE_TYPE, type)) < 0 ||
	    (r = dhcp_build_addr(b, DHCP_OPT_SERVER_ID, server)) < 0)
		return r;
	return dhcp_build_option(b, DHCP_OPT_CLASS_ID, BSDP_CLASS, BSDP_CLASS_LEN);
}

static int put_vendor(struct dhcp_builder *b, const struct bsdp_vendor *v)
{
	return dhcp_build_option(b, DHCP_OPT_VENDOR, v->buf, v->w.len);
}

static int finish_reply(struct dhcp_builder *b, struct bsdp_tx *tx)
{
	int n = dhcp_build_finish(b);

	if (n < 0)
		return n;
	tx->len = (size_t)n;
	return 0;
}

/* SPEC tables 6-8: INFORM replies go from port 67 to port 68 or the reply
 * port.  bsdpd.c: to ciaddr, also when relayed; Apple does not send them
 * back through giaddr. */
static void address_inform_reply(const struct request *rq, struct bsdp_tx *tx)
{
	tx->dst = rq->view->hdr.ciaddr;
	tx->dst_port = rq->bsdp.has_reply_port ? rq->bsdp.reply_port : DHCP_CLIENT_PORT;
}

/* ---- ACK[LIST] --------------------------------------------------------- */

/* Sub-option 9 grows inside one option-43 instance of at most 255 bytes.
 * When the next description does not fit, the instance is closed and
 * emitted whole and a new one is begun, so no sub-option ever straddles two
 * instances (bsdpd.c S_insert_image_list; Apple's client and Wireshark
 * parse each instance on its own). */
struct list_packer {
	struct dhcp_builder *b;
	struct bsdp_vendor v;
	size_t list_at;      /* offset of the open sub-option 9 header, or SIZE_MAX */
	size_t listed;
};

static void packer_close_list(struct list_packer *p)
{
	if (p->list_at != SIZE_MAX)
		p->v.buf[p->list_at + 1] = (uint8_t)(p->v.w.len - p->list_at - 2);
	p->list_at = SIZE_MAX;
}

static int packer_flush(struct list_packer *p)
{
	int r = 0;

	packer_close_list(p);
	if (p->v.w.len)
		r = put_vendor(p->b, &p->v);
	bsdp_vendor_init(&p->v);
	return r;
}

/* 0 when the description was added, -ENOSPC when the packet is full. */
static int packer_add(struct list_packer *p, const struct nb_image *img)
{
	size_t name_len = strlen(img->name);
	size_t need = bsdp_image_desc_len(name_len) + (p->list_at == SIZE_MAX ? 2 : 0);

	if (need > wr_room(&p->v.w)) {
		if (packer_flush(p) < 0)
			return -ENOSPC;
		need = bsdp_image_desc_len(name_len) + 2;
	}
	/* The packet must still hold the instance once this entry is in it. */
	if (p->v.w.len + need > dhcp_build_room(p->b))
		return -ENOSPC;
	if (p->list_at == SIZE_MAX) {
		p->list_at = p->v.w.len;
		(void)wr_u8(&p->v.w, BSDP_TAG_IMAGE_LIST);
		(void)wr_u8(&p->v.w, 0);
	}
	p->listed++;
	return bsdp_put_image_desc(&p->v.w, img->id, img->name, name_len);
}

static void pack_image_list(struct list_packer *p, const struct bsdp_responder *rs,
			    const struct nb_client *c, struct bsdp_event *ev)
{
	bool full = false;

	/* Once the packet is full, keep counting for the truncation log. */
	for (size_t i = 0; i < rs->catalog->n_images; i++) {
		const struct nb_image *img = &rs->catalog->images[i];

		if (!nb_image_allows(img, c))
			continue;
		ev->images_applicable++;
		if (!full && packer_add(p, img) < 0)
			full = true;
	}
	ev->images_listed = p->listed;
}

static int list_header_suboptions(struct bsdp_vendor *v, uint16_t priority,
				  const struct nb_image *dflt, const struct nb_image *bound)
{
	int r;

	bsdp_vendor_init(v);
	if ((r = bsdp_vendor_u8(v, BSDP_TAG_MESSAGE_TYPE, BSDP_LIST)) < 0 ||
	    (r = bsdp_vendor_u16(v, BSDP_TAG_SERVER_PRIORITY, priority)) < 0 ||
	    (r = bsdp_vendor_u32(v, BSDP_TAG_DEFAULT_IMAGE, dflt->id)) < 0)
		return r;
	return bound ? bsdp_vendor_u32(v, BSDP_TAG_SELECTED_IMAGE, bound->id) : 0;
}

static enum bsdp_verdict ack_list(const struct bsdp_responder *rs, const struct request *rq,
				  struct bsdp_tx *tx, struct bsdp_event *ev)
{
	const struct nb_image *dflt = default_for(rs, &rq->client);
	const struct nb_image *bound = bound_image(rs, &rq->client, rq->rx);
	struct dhcp_header h = reply_header(rq, rq->rx->if_addr);
	struct dhcp_builder b;
	struct list_packer p = { .b = &b, .list_at = SIZE_MAX };

	/* Apple sends no ACK[LIST] when no image applies to this client. */
	if (!dflt)
		return drop(ev, BSDP_DROP_NO_IMAGE);
	if (begin_reply(&b, tx, bsdp_reply_limit(rq->view, &rq->bsdp), &h, DHCP_ACK,
			rq->rx->if_addr) < 0 ||
	    list_header_suboptions(&p.v, current_priority(rs, rq->rx), dflt, bound) < 0)
		return drop(ev, BSDP_DROP_REPLY_TOO_BIG);
	/* Version 1.0 clients get no image list (bsdpd.c LIST branch). */
	if (rq->bsdp.version != BSDP_VERSION_1_0)
		pack_image_list(&p, rs, &rq->client, ev);
	if (packer_flush(&p) < 0 || finish_reply(&b, tx) < 0)
		return drop(ev, BSDP_DROP_REPLY_TOO_BIG);
	address_inform_reply(rq, tx);
	ev->reply = "ACK[LIST]";
	ev->has_image = bound != NULL;
	ev->image_id = bound ? bound->id : dflt->id;
	return BSDP_REPLY;
}

/* ---- ACK[SELECT] and ACK[FAILED] ---------------------------------------- */

static enum bsdp_verdict ack_failed(const struct request *rq, struct bsdp_tx *tx,
				    struct bsdp_event *ev)
{
	struct dhcp_header h = reply_header(rq, rq->rx->if_addr);
	struct dhcp_builder b;
	struct bsdp_vendor v;

	bsdp_vendor_init(&v);
	if (begin_reply(&b, tx, bsdp_reply_limit(rq->view, &rq->bsdp), &h, DHCP_ACK,
			rq->rx->if_addr) < 0 ||
	    bsdp_vendor_u8(&v, BSDP_TAG_MESSAGE_TYPE, BSDP_FAILED) < 0 ||
	    put_vendor(&b, &v) < 0 || finish_reply(&b, tx) < 0)
		return drop(ev, BSDP_DROP_REPLY_TOO_BIG);
	address_inform_reply(rq, tx);
	ev->reply = "ACK[FAILED]";
	return BSDP_REPLY;
}

/* Option 17 as Apple's X_netboot builds it: NFS "nfs:<ip>:<root>:<path>",
 * HTTP "http://<ip>/<path>"; an indirect RootPath (it names a host) is
 * passed through as written. */
static int root_path(const struct bsdp_responder *rs, const struct nb_image *img,
		     struct in_addr host, char *buf, size_t cap)
{
	char ip[INET_ADDRSTRLEN], rel[1024], esc[3 * sizeof(rel)];
	int n;

	if (strchr(img->root_path, ':'))
		n = snprintf(buf, cap, "%s", img->root_path);
	else if (snprintf(rel, sizeof(rel), "%s/%s", img->bundle, img->root_path) >=
		 (int)sizeof(rel))
		return -ENAMETOOLONG;
	else if (img->type == NB_TYPE_NFS)
		n = snprintf(buf, cap, "nfs:%s:%s:%s", inet_ntop(AF_INET, &host, ip, sizeof(ip)),
			     rs->catalog->root, rel);
	else if (url_path_escape(esc, sizeof(esc), rel) < 0)
		return -ENAMETOOLONG;
	else
		n = snprintf(buf, cap, "http://%s/%s", inet_ntop(AF_INET, &host, ip, sizeof(ip)),
			     esc);
	return n < 0 || (size_t)n >= cap || n > 255 ? -ENAMETOOLONG : n;
}

static void machine_name(unsigned number, char buf[16])
{
	snprintf(buf, 16, "NetBoot%03u", number % 1000000u);
}

/* siaddr, sname and file of a reply that boots img; option 17 and
 * sub-option 130 unless the image is BootFileOnly. */
struct boot_reply {
	struct dhcp_header h;
	char root[256];
	int root_len;          /* 0 for BootFileOnly */
	char name[16];
};

static int boot_reply_init(struct boot_reply *br, const struct bsdp_responder *rs,
			   const struct request *rq, const struct nb_image *img, unsigned number)
{
	struct in_addr server = img->has_load_balance ? img->load_balance : rq->rx->if_addr;

	br->h = reply_header(rq, server);
	/* Apple names itself in sname only when it serves the image itself. */
	if (!img->has_load_balance && rs->hostname)
		snprintf(br->h.sname, sizeof(br->h.sname), "%s", rs->hostname);
	if (nb_image_boot_path(img, rq->client.arch, br->h.file, sizeof(br->h.file)) < 0)
		return -ENAMETOOLONG;
	br->root_len = 0;
	machine_name(number, br->name);
	if (img->type == NB_TYPE_BOOTFILE_ONLY)
		return 0;
	br->root_len = root_path(rs, img, server, br->root, sizeof(br->root));
	return br->root_len < 0 ? br->root_len : 0;
}

static int put_boot_options(struct dhcp_builder *b, const struct boot_reply *br,
			    struct bsdp_vendor *v)
{
	int r;

	if (br->root_len > 0 &&
	    (r = dhcp_build_option(b, DHCP_OPT_ROOT_PATH, br->root, (size_t)br->root_len)) < 0)
		return r;
	if (br->root_len > 0 &&
	    (r = bsdp_vendor_put(v, BSDP_TAG_MACHINE_NAME, br->name, strlen(br->name))) < 0)
		return r;
	return put_vendor(b, v);
}

static int record_binding(const struct bsdp_responder *rs, const struct request *rq,
			  const struct nb_image *img, struct binding *bd)
{
	*bd = (struct binding){ .image_id = img->id, .ip = rq->view->hdr.ciaddr,
				.updated = rq->rx->now, .server = rq->rx->if_addr };
	memcpy(bd->mac, rq->client.mac, 6);
	snprintf(bd->arch, sizeof(bd->arch), "%s", rq->client.arch);
	snprintf(bd->model, sizeof(bd->model), "%s", rq->client.model);
	return bindings_put(rs->bindings, bd);
}

/* Apple applies no attribute filter to a SELECT: a named image only has to
 * suit the client's arch, model and MAC; without a name the default is
 * taken as for a client that sent no filter list. */
static const struct nb_image *selected_image(const struct bsdp_responder *rs,
					     const struct request *rq)
{
	struct nb_client c = rq->client;
	const struct nb_image *img;

	c.has_filter = false;
	if (!rq->bsdp.has_selected)
		return default_for(rs, &c);
	img = nb_catalog_find(rs->catalog, rq->bsdp.selected);
	return img && nb_image_suits(img, &c) ? img : NULL;
}

static enum bsdp_verdict ack_select(const struct bsdp_responder *rs, const struct request *rq,
				    struct bsdp_tx *tx, struct bsdp_event *ev)
{
	const struct nb_image *img;
	struct boot_reply br;
	struct binding bd;
	struct dhcp_builder b;
	struct bsdp_vendor v;

	/* SPEC §3.4.7: the client names the server it chose in sub-option 3.
	 * Without it nobody answers; a SELECT for another server means this
	 * server's binding for the client is stale (bsdpd.c SELECT branch).
	 * Only this server's: on a database several share, the binding the
	 * named server is writing is the campus's (bindings_release). */
	if (!rq->bsdp.has_server_id)
		return drop(ev, BSDP_DROP_NO_SERVER_ID);
	if (rq->bsdp.server_id.s_addr != rq->rx->if_addr.s_addr) {
		(void)bindings_release(rs->bindings, rq->client.mac, rq->rx->if_addr);
		return drop(ev, BSDP_DROP_OTHER_SERVER);
	}
	img = selected_image(rs, rq);
	ev->has_image = rq->bsdp.has_selected || img;
	ev->image_id = img ? img->id : rq->bsdp.selected;
	if (!img || record_binding(rs, rq, img, &bd) < 0 ||
	    boot_reply_init(&br, rs, rq, img, bd.number) < 0)
		return ack_failed(rq, tx, ev);
	bsdp_vendor_init(&v);
	if (begin_reply(&b, tx, bsdp_reply_limit(rq->view, &rq->bsdp), &br.h, DHCP_ACK,
			rq->rx->if_addr) < 0 ||
	    bsdp_vendor_u8(&v, BSDP_TAG_MESSAGE_TYPE, BSDP_SELECT) < 0 ||
	    bsdp_vendor_u32(&v, BSDP_TAG_SELECTED_IMAGE, img->id) < 0 ||
	    put_boot_options(&b, &br, &v) < 0 || finish_reply(&b, tx) < 0)
		return drop(ev, BSDP_DROP_REPLY_TOO_BIG);
	address_inform_reply(rq, tx);
	ev->reply = "ACK[SELECT]";
	return BSDP_REPLY;
}

/* ---- OFFER* to a bound client's DISCOVER ------------------------------- */

/* SPEC §3.3: a server holding a binding answers the client's DISCOVER with
 * an OFFER that carries no address (yiaddr 0) but the boot file, so the
 * firmware can skip LIST/SELECT.  Sent through the normal DHCP reply path:
 * to the relay, else broadcast (the client has no address yet) on the
 * receiving link only: the one reply bsdpd broadcasts. */
static enum bsdp_verdict offer_bound(const struct bsdp_responder *rs, const struct request *rq,
				     struct bsdp_tx *tx, struct bsdp_event *ev)
{
	const struct nb_image *img = bound_image(rs, &rq->client, rq->rx);
	struct binding bd;
	struct boot_reply br;
	struct dhcp_builder b;
	struct bsdp_vendor v;

	/* giaddr is as unauthenticated as ciaddr, and here it is the destination:
	 * a relay's unicast address, and not ours (the OFFER would come back). */
	if (rq->view->hdr.giaddr.s_addr != INADDR_ANY &&
	    (not_unicast(rq->view->hdr.giaddr) ||
	     rq->view->hdr.giaddr.s_addr == rq->rx->if_addr.s_addr))
		return drop(ev, BSDP_DROP_GIADDR);
	if (!img || bindings_get(rs->bindings, rq->client.mac, &bd) < 0)
		return drop(ev, BSDP_DROP_NOT_BOUND);
	/* One OFFER, from the server the Mac chose: the others sharing the
	 * database see its binding too (SPEC §3.3 has one server per client). */
	if (!bindings_is_ours(rs->bindings, &bd, rq->rx->if_addr))
		return drop(ev, BSDP_DROP_BOUND_ELSEWHERE);
	if (boot_reply_init(&br, rs, rq, img, bd.number) < 0)
		return drop(ev, BSDP_DROP_REPLY_TOO_BIG);
	br.h.ciaddr.s_addr = INADDR_ANY;
	bsdp_vendor_init(&v);
	if (begin_reply(&b, tx, offer_limit(rq->view), &br.h,
			DHCP_OFFER, rq->rx->if_addr) < 0 ||
	    bsdp_vendor_u32(&v, BSDP_TAG_SELECTED_IMAGE, img->id) < 0 ||
	    put_boot_options(&b, &br, &v) < 0 || finish_reply(&b, tx) < 0)
		return drop(ev, BSDP_DROP_REPLY_TOO_BIG);
	if (rq->view->hdr.giaddr.s_addr != INADDR_ANY) {
		tx->dst = rq->view->hdr.giaddr;
		tx->dst_port = DHCP_SERVER_PORT;
	} else {
		tx->dst.s_addr = INADDR_BROADCAST;
		tx->dst_port = DHCP_CLIENT_PORT;
	}
	ev->reply = "OFFER";
	ev->has_image = true;
	ev->image_id = img->id;
	return BSDP_REPLY;
}

/* ---- classification ---------------------------------------------------- */

static int client_mac(struct request *rq)
{
	if (rq->view->hdr.op != BOOTREQUEST || !dhcp_chaddr_mac(&rq->view->hdr, rq->client.mac))
		return -EBADMSG;
	return 0;
}

/* Whether option 60 is an Apple client class id: what makes a packet
 * BSDP and worth a word in the log when it goes unanswered. */
static bool has_client_class(const struct request *rq, struct bsdp_class *cls)
{
	const struct dhcp_option *o60 = dhcp_option_get(rq->view, DHCP_OPT_CLASS_ID);

	return o60 && bsdp_parse_class(o60->data, o60->len, cls) == 0;
}

static enum bsdp_drop parse_bsdp_request(struct request *rq)
{
	if (bsdp_parse_request(rq->view, &rq->bsdp) < 0)
		return BSDP_DROP_MALFORMED;
	/* is_bsdp_packet accepts only these versions ("unsupported BSDP version"). */
	if (rq->bsdp.version != BSDP_VERSION_1_1 && rq->bsdp.version != BSDP_VERSION_1_0 &&
	    rq->bsdp.version != BSDP_VERSION_NETBOOT_1)
		return BSDP_DROP_VERSION;
	rq->client.arch = rq->bsdp.cls.arch;
	rq->client.model = rq->bsdp.cls.model;
	rq->client.has_filter = rq->bsdp.has_filter;
	rq->client.filter = rq->bsdp.filter;
	rq->client.n_filter = rq->bsdp.n_filter;
	return BSDP_DROP_NONE;
}

/* bootpd.c S_dispatch_request: a request that names another server in
 * siaddr or sname is not for us. */
static bool addressed_elsewhere(const struct bsdp_responder *rs, const struct request *rq)
{
	const struct dhcp_header *h = &rq->view->hdr;

	if (h->siaddr.s_addr != INADDR_ANY && h->siaddr.s_addr != rq->rx->if_addr.s_addr)
		return true;
	return h->sname[0] && rs->hostname && strcmp(h->sname, rs->hostname) != 0;
}

/* bsdpd.c bsdp_dhcp_request: a bound client's DHCP REQUEST (BSDP or not)
 * tells us the address the site's DHCP server gave it.  Never answered. */
static void note_requested_address(const struct bsdp_responder *rs, const struct request *rq)
{
	const struct dhcp_option *o50 = dhcp_option_get(rq->view, DHCP_OPT_REQUESTED_IP);
	struct in_addr ip;

	if (!o50 || o50->len != 4)
		return;
	memcpy(&ip.s_addr, o50->data, 4);
	(void)bindings_set_ip(rs->bindings, rq->client.mac, ip);
}

static enum bsdp_verdict inform(const struct bsdp_responder *rs, const struct request *rq,
				struct bsdp_tx *tx, struct bsdp_event *ev)
{
	enum bsdp_drop why;

	/* Apple ignores an INFORM without ciaddr ("INFORM with no IP address"):
	 * there is nowhere to send the reply. */
	if (rq->view->hdr.ciaddr.s_addr == INADDR_ANY)
		return drop(ev, BSDP_DROP_NO_CIADDR);
	/* Checked before any decision, so a refused request changes no binding. */
	if ((why = ciaddr_refusal(rq)) != BSDP_DROP_NONE)
		return drop(ev, why);
	/* SPEC §3.4.9: the reply port must be privileged; Apple drops the
	 * request otherwise.  Port 0 cannot be sent to, so it is dropped too. */
	if (rq->bsdp.has_reply_port && (rq->bsdp.reply_port >= 1024 || rq->bsdp.reply_port == 0))
		return drop(ev, BSDP_DROP_REPLY_PORT);
	switch (rq->bsdp.message) {
	case BSDP_LIST:
		return ack_list(rs, rq, tx, ev);
	case BSDP_SELECT:
		return ack_select(rs, rq, tx, ev);
	default:
		return drop(ev, BSDP_DROP_BSDP_MESSAGE);
	}
}

/* A request with an Apple client class id, described in ev first so that
 * every silent path below can be logged with who asked. */
static enum bsdp_verdict answer_bsdp(const struct bsdp_responder *rs, struct request *rq,
				     struct bsdp_tx *tx, struct bsdp_event *ev)
{
	enum bsdp_drop why;

	memcpy(ev->mac, rq->client.mac, 6);
	ev->dhcp_message = rq->view->message_type;
	ev->ciaddr = rq->view->hdr.ciaddr;
	ev->giaddr = rq->view->hdr.giaddr;
	if (addressed_elsewhere(rs, rq))
		return drop(ev, BSDP_DROP_ADDRESSED_ELSEWHERE);
	if ((why = parse_bsdp_request(rq)) != BSDP_DROP_NONE)
		return drop(ev, why);
	ev->bsdp_message = rq->bsdp.message;
	switch (rq->view->message_type) {
	case DHCP_INFORM:
		return inform(rs, rq, tx, ev);
	case DHCP_DISCOVER:
		return offer_bound(rs, rq, tx, ev);
	default:
		return drop(ev, BSDP_DROP_DHCP_MESSAGE);
	}
}

enum bsdp_verdict bsdp_respond_view(const struct bsdp_responder *rs,
				    const struct dhcp_view *view, const struct bsdp_rx *rx,
				    struct bsdp_tx *tx, struct bsdp_event *ev)
{
	struct request rq = { .view = view, .rx = rx };

	memset(ev, 0, sizeof(*ev));
	tx->len = 0;
	if (client_mac(&rq) < 0)
		return BSDP_SILENT;
	/* A REQUEST is never answered, so there is nothing to explain. */
	if (rq.view->message_type == DHCP_REQUEST) {
		if (!addressed_elsewhere(rs, &rq))
			note_requested_address(rs, &rq);
		return BSDP_SILENT;
	}
	/* Plain DHCP (PXEClient, MSFT, no class) is the site's traffic for
	 * its DHCP server: silent, and no reason to log. */
	if (!has_client_class(&rq, &ev->cls))
		return BSDP_SILENT;
	return answer_bsdp(rs, &rq, tx, ev);
}

enum bsdp_verdict bsdp_respond(const struct bsdp_responder *rs, const uint8_t *pkt,
			       size_t len, const struct bsdp_rx *rx, struct bsdp_tx *tx,
			       struct bsdp_event *ev)
{
	struct dhcp_view view;

	memset(ev, 0, sizeof(*ev));
	tx->len = 0;
	if (dhcp_parse(&view, pkt, len) < 0)
		return BSDP_SILENT;
	return bsdp_respond_view(rs, &view, rx, tx, ev);
}
