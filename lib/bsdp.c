/* SPDX-License-Identifier: MIT */
/*
 * BSDP codec: class id (option 60) and option-43 sub-options.
 * See include/bsdp.h and docs/bsdp.md §2.
 */
#include "bsdp.h"

#include <errno.h>
#include <string.h>

static bool class_char_ok(uint8_t c)
{
	/* Apple's bsdp_parse_class_id rejects NUL and newline in either part. */
	return c != '\0' && c != '\n';
}

/* Copies data[0..n) into dst as a C string, failing on a bad byte or no
 * room.  Apple accepts an empty part; no image lists an empty arch. */
static int copy_class_part(char *dst, size_t cap, const uint8_t *src, size_t n)
{
	if (n >= cap)
		return -EBADMSG;
	for (size_t i = 0; i < n; i++)
		if (!class_char_ok(src[i]))
			return -EBADMSG;
	memcpy(dst, src, n);
	dst[n] = '\0';
	return 0;
}

int bsdp_parse_class(const uint8_t *data, size_t len, struct bsdp_class *out)
{
	const uint8_t *arch, *slash;
	size_t rest;

	/* Apple's parser reads past the option when the second '/' is missing;
	 * such a class id is rejected here. */
	if (len < BSDP_CLASS_LEN + 1 || memcmp(data, BSDP_CLASS "/", BSDP_CLASS_LEN + 1) != 0)
		return -EBADMSG;
	arch = data + BSDP_CLASS_LEN + 1;
	rest = len - (BSDP_CLASS_LEN + 1);
	slash = memchr(arch, '/', rest);
	if (!slash)
		return -EBADMSG;
	if (copy_class_part(out->arch, sizeof(out->arch), arch, (size_t)(slash - arch)) < 0)
		return -EBADMSG;
	rest -= (size_t)(slash - arch) + 1;
	return copy_class_part(out->model, sizeof(out->model), slash + 1, rest);
}

int bsdp_foreach_suboption(const struct dhcp_view *view, bsdp_suboption_fn fn, void *ctx)
{
	const struct dhcp_option *o;
	uint8_t tag, len;
	const uint8_t *data;
	int r;

	for (size_t i = 0; (o = dhcp_option_nth(view, DHCP_OPT_VENDOR, i)); i++) {
		struct rd rd = rd_init(o->data, o->len);

		while (rd_u8(&rd, &tag)) {
			if (tag == DHCP_OPT_PAD)
				continue;
			if (tag == DHCP_OPT_END)
				break;
			if (!rd_u8(&rd, &len) || !rd_bytes(&rd, len, &data))
				return -EBADMSG;
			r = fn(tag, data, len, ctx);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

/* Fixed sizes of the client sub-options we read; 0 means variable. */
static int suboption_len_ok(uint8_t tag, uint8_t len)
{
	switch (tag) {
	case BSDP_TAG_MESSAGE_TYPE:
		return len == 1;
	case BSDP_TAG_VERSION:
	case BSDP_TAG_REPLY_PORT:
		return len == 2;
	case BSDP_TAG_SERVER_ID:
	case BSDP_TAG_SELECTED_IMAGE:
		return len == 4;
	case BSDP_TAG_ATTRIBUTE_FILTER:
		return len % 2 == 0 && len / 2 <= BSDP_MAX_FILTERS;
	default:
		return 1;
	}
}

static void take_filter(struct bsdp_request *rq, const uint8_t *data, uint8_t len)
{
	rq->has_filter = true;
	rq->n_filter = len / 2u;
	for (size_t i = 0; i < rq->n_filter; i++)
		rq->filter[i] = be16_get(data + 2 * i);
}

struct request_parse {
	struct bsdp_request *rq;
	uint32_t seen;          /* bit n: sub-option n (< 32) already taken */
};

/* Sub-option 12 counts only when exactly 2 bytes; otherwise Apple falls back
 * to option 57, so a bad one is skipped rather than taken as "seen". */
static bool take_once(struct request_parse *ps, uint8_t tag, uint8_t len)
{
	if (tag >= 32 || (tag == BSDP_TAG_MAX_MESSAGE_SIZE && len != 2))
		return false;
	if (ps->seen & (1u << tag))
		return false;
	ps->seen |= 1u << tag;
	return true;
}

/* The first instance of each sub-option wins, as with Apple's dhcpol_find. */
static int take_suboption(uint8_t tag, const uint8_t *data, uint8_t len, void *ctx)
{
	struct request_parse *ps = ctx;
	struct bsdp_request *rq = ps->rq;

	if (!suboption_len_ok(tag, len))
		return -EBADMSG;
	if (!take_once(ps, tag, len))
		return 0;
	switch (tag) {
	case BSDP_TAG_MESSAGE_TYPE:
		rq->message = data[0];
		break;
	case BSDP_TAG_VERSION:
		rq->has_version = true;
		rq->version = be16_get(data);
		break;
	case BSDP_TAG_SERVER_ID:
		rq->has_server_id = true;
		memcpy(&rq->server_id.s_addr, data, 4);
		break;
	case BSDP_TAG_REPLY_PORT:
		rq->has_reply_port = true;
		rq->reply_port = be16_get(data);
		break;
	case BSDP_TAG_SELECTED_IMAGE:
		rq->has_selected = true;
		rq->selected = be32_get(data);
		break;
	case BSDP_TAG_ATTRIBUTE_FILTER:
		take_filter(rq, data, len);
		break;
	case BSDP_TAG_MAX_MESSAGE_SIZE:
		rq->has_max_message_size = true;
		rq->max_message_size = be16_get(data);
		break;
	default:
		break;
	}
	return 0;
}

int bsdp_parse_request(const struct dhcp_view *view, struct bsdp_request *out)
{
	const struct dhcp_option *cls = dhcp_option_get(view, DHCP_OPT_CLASS_ID);
	struct request_parse ps = { .rq = out };
	int r;

	memset(out, 0, sizeof(*out));
	if (!cls || bsdp_parse_class(cls->data, cls->len, &out->cls) < 0)
		return -EBADMSG;
	/* is_bsdp_packet: no option 43 or no version sub-option, no BSDP. */
	if (!dhcp_option_get(view, DHCP_OPT_VENDOR))
		return -EBADMSG;
	r = bsdp_foreach_suboption(view, take_suboption, &ps);
	if (r < 0)
		return r;
	return out->has_version ? 0 : -EBADMSG;
}

void bsdp_vendor_init(struct bsdp_vendor *v)
{
	v->w = wr_init(v->buf, sizeof(v->buf));
}

int bsdp_vendor_put(struct bsdp_vendor *v, uint8_t tag, const void *data, size_t len)
{
	if (len > 255 || len + 2 > wr_room(&v->w))
		return -ENOSPC;
	(void)wr_u8(&v->w, tag);
	(void)wr_u8(&v->w, (uint8_t)len);
	return wr_bytes(&v->w, data, len);
}

int bsdp_vendor_u8(struct bsdp_vendor *v, uint8_t tag, uint8_t val)
{
	return bsdp_vendor_put(v, tag, &val, 1);
}

int bsdp_vendor_u16(struct bsdp_vendor *v, uint8_t tag, uint16_t val)
{
	uint8_t b[2];

	be16_put(b, val);
	return bsdp_vendor_put(v, tag, b, sizeof(b));
}

int bsdp_vendor_u32(struct bsdp_vendor *v, uint8_t tag, uint32_t val)
{
	uint8_t b[4];

	be32_put(b, val);
	return bsdp_vendor_put(v, tag, b, sizeof(b));
}

int bsdp_put_image_desc(struct wr *w, uint32_t id, const char *name, size_t name_len)
{
	if (name_len > BSDP_IMAGE_NAME_MAX)
		name_len = BSDP_IMAGE_NAME_MAX;
	if (bsdp_image_desc_len(name_len) > wr_room(w))
		return -ENOSPC;
	(void)wr_be32(w, id);
	(void)wr_u8(w, (uint8_t)name_len);
	return wr_bytes(w, name, name_len);
}

const char *bsdp_message_name(uint8_t message)
{
	switch (message) {
	case BSDP_LIST:
		return "LIST";
	case BSDP_SELECT:
		return "SELECT";
	case BSDP_FAILED:
		return "FAILED";
	default:
		return "?";
	}
}
