/* SPDX-License-Identifier: MIT */
/*
 * DHCP datagram codec: see include/dhcp.h for the design.
 */
#include "dhcp.h"

#include <errno.h>
#include <string.h>

static const uint8_t dhcp_cookie[DHCP_COOKIE_LEN] = { 99, 130, 83, 99 }; /* RFC 2131 §3 */

enum overload {
	OVERLOAD_FILE = 1,
	OVERLOAD_SNAME = 2,
};

static struct in_addr rd_addr(const uint8_t *b)
{
	struct in_addr a;

	memcpy(&a.s_addr, b, 4);
	return a;
}

static void parse_header(struct dhcp_header *h, const uint8_t *p)
{
	h->op = p[0];
	h->htype = p[1];
	h->hlen = p[2];
	h->hops = p[3];
	h->xid = be32_get(p + 4);
	h->secs = be16_get(p + 8);
	h->flags = be16_get(p + 10);
	h->ciaddr = rd_addr(p + 12);
	h->yiaddr = rd_addr(p + 16);
	h->siaddr = rd_addr(p + 20);
	h->giaddr = rd_addr(p + 24);
	memcpy(h->chaddr, p + 28, DHCP_CHADDR_LEN);
	/* sname and file are not guaranteed to be NUL-terminated on the wire. */
	memcpy(h->sname, p + 44, DHCP_SNAME_LEN - 1);
	h->sname[DHCP_SNAME_LEN - 1] = '\0';
	memcpy(h->file, p + 108, DHCP_FILE_LEN - 1);
	h->file[DHCP_FILE_LEN - 1] = '\0';
}

/* Walks one option area.  END stops the walk; running off the end without
 * END is tolerated (many firmware clients omit it), but an option whose
 * length overruns the area is not. */
static int parse_area(struct dhcp_view *v, const uint8_t *area, size_t len)
{
	struct rd r = rd_init(area, len);
	uint8_t code, olen;
	const uint8_t *data;

	while (rd_u8(&r, &code)) {
		if (code == DHCP_OPT_PAD)
			continue;
		if (code == DHCP_OPT_END)
			return 0;
		if (!rd_u8(&r, &olen) || !rd_bytes(&r, olen, &data))
			return -EBADMSG;
		if (v->n_options == DHCP_MAX_INSTANCES)
			return -EBADMSG;
		v->options[v->n_options++] = (struct dhcp_option){ code, olen, data };
	}
	return 0;
}

/* RFC 2131 §4.1: with option 52 the file field is read first, then sname. */
static int parse_overload(struct dhcp_view *v, const uint8_t *pkt)
{
	const struct dhcp_option *o = dhcp_option_get(v, DHCP_OPT_OVERLOAD);
	int r;

	if (!o)
		return 0;
	if (o->len != 1 || o->data[0] < 1 || o->data[0] > 3)
		return -EBADMSG;
	if (o->data[0] & OVERLOAD_FILE) {
		r = parse_area(v, pkt + 108, DHCP_FILE_LEN);
		if (r < 0)
			return r;
		v->hdr.file[0] = '\0';
	}
	if (o->data[0] & OVERLOAD_SNAME) {
		r = parse_area(v, pkt + 44, DHCP_SNAME_LEN);
		if (r < 0)
			return r;
		v->hdr.sname[0] = '\0';
	}
	return 0;
}

static int parse_message_type(struct dhcp_view *v)
{
	const struct dhcp_option *o = dhcp_option_get(v, DHCP_OPT_MESSAGE_TYPE);

	if (!o)
		return 0;
	if (o->len != 1 || o->data[0] < DHCP_DISCOVER || o->data[0] > DHCP_INFORM)
		return -EBADMSG;
	v->message_type = o->data[0];
	return 0;
}

int dhcp_parse(struct dhcp_view *v, const uint8_t *pkt, size_t len)
{
	int r;

	v->n_options = 0;
	v->message_type = 0;
	if (len < DHCP_OPTIONS_OFFSET || len > UINT16_MAX)
		return -EBADMSG;
	if (memcmp(pkt + DHCP_HEADER_LEN, dhcp_cookie, DHCP_COOKIE_LEN) != 0)
		return -EBADMSG;
	parse_header(&v->hdr, pkt);
	r = parse_area(v, pkt + DHCP_OPTIONS_OFFSET, len - DHCP_OPTIONS_OFFSET);
	if (r < 0)
		return r;
	r = parse_overload(v, pkt);
	if (r < 0)
		return r;
	return parse_message_type(v);
}

const struct dhcp_option *dhcp_option_nth(const struct dhcp_view *v, uint8_t code,
					  size_t index)
{
	for (size_t i = 0; i < v->n_options; i++) {
		if (v->options[i].code != code)
			continue;
		if (index == 0)
			return &v->options[i];
		index--;
	}
	return NULL;
}

bool dhcp_chaddr_mac(const struct dhcp_header *h, uint8_t mac[6])
{
	if (h->htype != 1 || h->hlen != 6) /* ARP hardware type 1: Ethernet */
		return false;
	memcpy(mac, h->chaddr, 6);
	return true;
}

static void put_addr(uint8_t *p, struct in_addr a)
{
	memcpy(p, &a.s_addr, 4);
}

int dhcp_build_init(struct dhcp_builder *b, uint8_t *buf, size_t cap,
		    const struct dhcp_header *h)
{
	uint8_t *p;

	b->w = wr_init(buf, cap);
	/* Room for the header, the cookie and END. */
	if (cap < DHCP_OPTIONS_OFFSET + 1)
		return -ENOSPC;
	p = buf;
	memset(p, 0, DHCP_OPTIONS_OFFSET);
	p[0] = h->op;
	p[1] = h->htype;
	p[2] = h->hlen;
	p[3] = h->hops;
	be32_put(p + 4, h->xid);
	be16_put(p + 8, h->secs);
	be16_put(p + 10, h->flags);
	put_addr(p + 12, h->ciaddr);
	put_addr(p + 16, h->yiaddr);
	put_addr(p + 20, h->siaddr);
	put_addr(p + 24, h->giaddr);
	memcpy(p + 28, h->chaddr, DHCP_CHADDR_LEN);
	memcpy(p + 44, h->sname, strnlen(h->sname, DHCP_SNAME_LEN - 1));
	memcpy(p + 108, h->file, strnlen(h->file, DHCP_FILE_LEN - 1));
	memcpy(p + DHCP_HEADER_LEN, dhcp_cookie, DHCP_COOKIE_LEN);
	b->w.len = DHCP_OPTIONS_OFFSET;
	return 0;
}

/* Each option costs its code and length byte, and END must still fit. */
#define OPTION_OVERHEAD 3

size_t dhcp_build_room(const struct dhcp_builder *b)
{
	size_t room = wr_room(&b->w);

	return room > OPTION_OVERHEAD ? room - OPTION_OVERHEAD : 0;
}

int dhcp_build_option(struct dhcp_builder *b, uint8_t code, const void *data, size_t len)
{
	if (len > 255 || wr_room(&b->w) < OPTION_OVERHEAD || len > wr_room(&b->w) - OPTION_OVERHEAD)
		return -ENOSPC;
	(void)wr_u8(&b->w, code);
	(void)wr_u8(&b->w, (uint8_t)len);
	return wr_bytes(&b->w, data, len);
}

int dhcp_build_u8(struct dhcp_builder *b, uint8_t code, uint8_t v)
{
	return dhcp_build_option(b, code, &v, 1);
}

int dhcp_build_addr(struct dhcp_builder *b, uint8_t code, struct in_addr a)
{
	return dhcp_build_option(b, code, &a.s_addr, 4);
}

int dhcp_build_finish(struct dhcp_builder *b)
{
	int r = wr_u8(&b->w, DHCP_OPT_END);

	if (r < 0)
		return r;
	while (b->w.len < BOOTP_MIN_LEN && wr_room(&b->w) > 0)
		(void)wr_u8(&b->w, DHCP_OPT_PAD);
	return (int)b->w.len;
}

const char *dhcp_message_name(uint8_t type)
{
	static const char *const names[] = {
		[DHCP_DISCOVER] = "DISCOVER", [DHCP_OFFER] = "OFFER",
		[DHCP_REQUEST] = "REQUEST",   [DHCP_DECLINE] = "DECLINE",
		[DHCP_ACK] = "ACK",           [DHCP_NAK] = "NAK",
		[DHCP_RELEASE] = "RELEASE",   [DHCP_INFORM] = "INFORM",
	};

	if (type < DHCP_DISCOVER || type > DHCP_INFORM)
		return "BOOTP";
	return names[type];
}
