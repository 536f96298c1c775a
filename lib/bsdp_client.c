/* SPDX-License-Identifier: MIT */
/*
 * The client side of BSDP: requests as Apple's BSDPClient.c builds them,
 * replies accepted as BSDPClientProcess accepts them.  See bsdp_client.h.
 */
#include <errno.h>
#include <net/if_arp.h>
#include <stdio.h>
#include <string.h>

#include "bsdp_client.h"

#define IMAGE_DESC_HDR 5         /* id:4, name_len:1 (SPEC §3.4.13) */

/* RFC 2132 codes that only a client asks for. */
enum {
	DHCP_OPT_SUBNET_MASK = 1,
	DHCP_OPT_ROUTER = 3,
	DHCP_OPT_BOOTFILE_NAME = 67,
};

/* ---- requests ------------------------------------------------------------- */

int bsdp_client_class_id(char *buf, size_t cap, const char *arch, const char *model)
{
	int n = snprintf(buf, cap, BSDP_CLASS "/%s/%s", arch, model);

	if (n < 0 || (size_t)n > BSDP_CLIENT_CLASS_MAX || (size_t)n >= cap)
		return -ENOSPC;
	return n;
}

static int put_reply_port(const struct bsdp_client_request *rq, struct bsdp_vendor *v)
{
	/* Only when asked: firmware listens on 68 and sends no sub-option 5. */
	if (!rq->has_reply_port)
		return 0;
	return bsdp_vendor_u16(v, BSDP_TAG_REPLY_PORT, rq->reply_port);
}

static int put_filter(const struct bsdp_client_request *rq, struct bsdp_vendor *v)
{
	uint8_t words[2 * BSDP_MAX_FILTERS];

	if (rq->n_filter == 0)
		return 0;
	if (rq->n_filter > BSDP_MAX_FILTERS)
		return -ENOSPC;
	for (size_t i = 0; i < rq->n_filter; i++)
		be16_put(words + 2 * i, rq->filter[i]);
	return bsdp_vendor_put(v, BSDP_TAG_ATTRIBUTE_FILTER, words, 2 * rq->n_filter);
}

/* SPEC Table 5 (§4.5) in BSDPClientSendListRequest's order: 1, 2, [10],
 * 5, 12, [11].  Apple's client always sends 5 (it binds an ephemeral
 * privileged port) and 12 = 8192 (SPEC §3.4.16, v1.0.8); firmware sends
 * neither, so here both are sent only when asked.  10 is never sent:
 * it marks NetBoot 1.0 firmware, and Apple's server ignores a request
 * carrying it unless old NetBoot is enabled (docs/bsdp.md §2.2). */
static int list_vendor(const struct bsdp_client_request *rq, struct bsdp_vendor *v)
{
	int r = bsdp_vendor_u8(v, BSDP_TAG_MESSAGE_TYPE, BSDP_LIST);

	if (r == 0)
		r = bsdp_vendor_u16(v, BSDP_TAG_VERSION, rq->version);
	if (r == 0)
		r = put_reply_port(rq, v);
	if (r == 0 && rq->has_max_size)
		r = bsdp_vendor_u16(v, BSDP_TAG_MAX_MESSAGE_SIZE, rq->max_size);
	if (r == 0)
		r = put_filter(rq, v);
	return r;
}

/* SPEC §4.6 in BSDPClientSendSelectRequest's order: 1, 2, [10], 5, 3, 8
 * (5 and 10 as for LIST).  Sub-option 3 names the server because option
 * 54 may not be in an INFORM (SPEC §3.4.7). */
static int select_vendor(const struct bsdp_client_request *rq, struct bsdp_vendor *v)
{
	int r = bsdp_vendor_u8(v, BSDP_TAG_MESSAGE_TYPE, BSDP_SELECT);

	if (r == 0)
		r = bsdp_vendor_u16(v, BSDP_TAG_VERSION, rq->version);
	if (r == 0)
		r = put_reply_port(rq, v);
	if (r == 0)
		r = bsdp_vendor_put(v, BSDP_TAG_SERVER_ID, &rq->server.s_addr, 4);
	if (r == 0)
		r = bsdp_vendor_u32(v, BSDP_TAG_SELECTED_IMAGE, rq->image);
	return r;
}

int bsdp_client_vendor(const struct bsdp_client_request *rq, struct bsdp_vendor *v)
{
	bsdp_vendor_init(v);
	if (rq->message == BSDP_LIST)
		return list_vendor(rq, v);
	if (rq->message == BSDP_SELECT)
		return select_vendor(rq, v);
	return -EINVAL;
}

/* make_bsdp_request: BOOTREQUEST from ciaddr with 53, 55, 57 (then 60
 * and 43).  The parameter list is the Intel firmware's 1, 3, 67, 43, 60
 * (docs/bsdp.md §2.1), not BSDPClient.c's 60, 43. */
static int build_common(struct dhcp_builder *b, uint8_t *buf, size_t cap,
			const struct bsdp_client_id *id)
{
	static const uint8_t prl[] = { DHCP_OPT_SUBNET_MASK, DHCP_OPT_ROUTER,
				       DHCP_OPT_BOOTFILE_NAME, DHCP_OPT_VENDOR,
				       DHCP_OPT_CLASS_ID };
	struct dhcp_header h = { .op = BOOTREQUEST, .htype = ARPHRD_ETHER,
				 .hlen = BSDP_CLIENT_MAC_LEN, .xid = id->xid, .ciaddr = id->ip };
	uint8_t mms[2];

	memcpy(h.chaddr, id->mac, BSDP_CLIENT_MAC_LEN);
	be16_put(mms, id->dhcp_max_size);
	if (dhcp_build_init(b, buf, cap, &h) < 0 ||
	    dhcp_build_u8(b, DHCP_OPT_MESSAGE_TYPE, DHCP_INFORM) < 0 ||
	    dhcp_build_option(b, DHCP_OPT_PARAM_REQUEST, prl, sizeof(prl)) < 0 ||
	    dhcp_build_option(b, DHCP_OPT_MAX_MESSAGE_SIZE, mms, sizeof(mms)) < 0)
		return -ENOSPC;
	return 0;
}

int bsdp_client_build(uint8_t *buf, size_t cap, const struct bsdp_client_id *id,
		      const struct bsdp_client_request *rq)
{
	struct dhcp_builder b;
	struct bsdp_vendor v;

	if (rq && bsdp_client_vendor(rq, &v) < 0)
		return -EMSGSIZE;
	if (build_common(&b, buf, cap, id) < 0)
		return -ENOSPC;
	if (rq && (dhcp_build_option(&b, DHCP_OPT_CLASS_ID, id->class_id, id->class_len) < 0 ||
		   dhcp_build_option(&b, DHCP_OPT_VENDOR, v.buf, v.w.len) < 0))
		return -ENOSPC;
	return dhcp_build_finish(&b);
}

/* ---- replies -------------------------------------------------------------- */

const char *bsdp_ack_match(const struct dhcp_header *h, const struct bsdp_client_id *id)
{
	if (h->op != BOOTREPLY)
		return "not a BOOTREPLY";
	if (h->xid != id->xid)
		return "another transaction (xid)";
	if (h->htype != ARPHRD_ETHER || h->hlen != BSDP_CLIENT_MAC_LEN ||
	    memcmp(h->chaddr, id->mac, BSDP_CLIENT_MAC_LEN) != 0)
		return "another client (chaddr)";
	if (h->ciaddr.s_addr != id->ip.s_addr)
		return "another client (ciaddr)";
	return NULL;
}

/* dhcpol_find keeps the first instance of a tag; dhcpol_option_copy
 * (the image list) concatenates them all. */
static int take_suboption(uint8_t tag, const uint8_t *data, uint8_t len, void *ctx)
{
	struct bsdp_ack *a = ctx;

	if (!a->sub[tag].present)
		a->sub[tag] = (struct bsdp_sub){ true, len, data };
	if (tag != BSDP_TAG_IMAGE_LIST)
		return 0;
	if (len > sizeof(a->list) - a->list_len)
		return -ENOSPC; /* only a buffer longer than a UDP payload gets here */
	memcpy(a->list + a->list_len, data, len);
	a->list_len += len;
	return 0;
}

/* dhcpol_parse_vendor: each option-43 instance on its own, then merged. */
static int scan_vendor(struct bsdp_ack *a)
{
	memset(a->sub, 0, sizeof(a->sub));
	a->list_len = 0;
	return bsdp_foreach_suboption(&a->view, take_suboption, a);
}

const char *bsdp_ack_check(struct bsdp_ack *a)
{
	const struct dhcp_option *o;
	const struct bsdp_sub *type;

	if (a->view.message_type != DHCP_ACK)
		return "not a DHCP ACK";
	o = dhcp_option_get(&a->view, DHCP_OPT_CLASS_ID);
	if (!o || o->len != BSDP_CLASS_LEN || memcmp(o->data, BSDP_CLASS, BSDP_CLASS_LEN) != 0)
		return "option 60 is not \"" BSDP_CLASS "\"";
	o = dhcp_option_get(&a->view, DHCP_OPT_SERVER_ID);
	if (!o || o->len != 4)
		return "no server identifier (option 54)";
	memcpy(&a->server.s_addr, o->data, 4);
	if (scan_vendor(a) < 0)
		return "malformed option 43";
	type = &a->sub[BSDP_TAG_MESSAGE_TYPE];
	if (!type->present || type->len != 1)
		return "no BSDP message type";
	a->message = type->data[0];
	return NULL;
}

const char *bsdp_ack_parse(struct bsdp_ack *a, const uint8_t *pkt, size_t len,
			   const struct bsdp_client_id *id)
{
	const char *why;

	if (dhcp_parse(&a->view, pkt, len) < 0)
		return "not a well-formed DHCP packet";
	why = bsdp_ack_match(&a->view.hdr, id);
	return why ? why : bsdp_ack_check(a);
}

bool bsdp_ack_u16(const struct bsdp_ack *a, uint8_t tag, uint16_t *v)
{
	const struct bsdp_sub *s = &a->sub[tag];

	if (!s->present || s->len != 2)
		return false;
	*v = be16_get(s->data);
	return true;
}

bool bsdp_ack_u32(const struct bsdp_ack *a, uint8_t tag, uint32_t *v)
{
	const struct bsdp_sub *s = &a->sub[tag];

	if (!s->present || s->len != 4)
		return false;
	*v = be32_get(s->data);
	return true;
}

/* ---- image lists ---------------------------------------------------------- */

bool bsdp_filter_matches(const uint16_t *filter, size_t n_filter, uint32_t id)
{
	if (n_filter == 0)
		return true;
	for (size_t i = 0; i < n_filter; i++)
		if (filter[i] == bsdp_image_attributes(id))
			return true;
	return false;
}

void bsdp_image_iter_init(struct bsdp_image_iter *it, const uint8_t *list, size_t len,
			  const uint16_t *filter, size_t n_filter)
{
	*it = (struct bsdp_image_iter){ .rd = rd_init(list, len), .filter = filter,
					.n_filter = n_filter };
}

int bsdp_image_iter_next(struct bsdp_image_iter *it, struct bsdp_image_desc *d)
{
	/* Apple walks only while more than a bare 5-byte header remains, so a
	 * trailing nameless entry or 1-5 stray bytes are ignored. */
	while (it->rd.rem > IMAGE_DESC_HDR) {
		if (!rd_be32(&it->rd, &d->id) || !rd_u8(&it->rd, &d->name_len) ||
		    !rd_bytes(&it->rd, d->name_len, &d->name))
			return -EBADMSG;
		/* The null id is never an image; old servers ignore sub-option 11,
		 * so the client filters again (SPEC §3.4.15). */
		if (d->id != 0 && bsdp_filter_matches(it->filter, it->n_filter, d->id))
			return 1;
	}
	return 0;
}
