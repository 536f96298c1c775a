/* SPDX-License-Identifier: MIT */
/*
 * The client side of BSDP, socket-free: INFORM[LIST] and INFORM[SELECT]
 * laid out as Apple's BSDPClient.c builds them (make_bsdp_request,
 * BSDPClientSendListRequest/SelectRequest), and ACKs accepted by the
 * rules of BSDPClientProcess and read as BSDPClientCreateImageList does
 * (docs/bsdp.md §1.5, §2.6).  Used by tools/bsdpc.c and the benchmark
 * load generator; every byte goes through dhcp.h and bsdp.h.
 *
 * Replies are untrusted: the parser reads only through struct rd and
 * the validated struct dhcp_view, and every pointer it hands out points
 * into the datagram or into struct bsdp_ack.
 */
#ifndef BSDPD_BSDP_CLIENT_H
#define BSDPD_BSDP_CLIENT_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bsdp.h"
#include "dhcp.h"
#include "wire.h"

#define BSDP_CLIENT_MAC_LEN 6
#define BSDP_CLIENT_CLASS_MAX 255  /* option 60 is one DHCP option */
#define BSDP_CLIENT_DHCP_MAX 1500  /* make_bsdp_request: option 57 = ETHERMTU */
#define BSDP_ACK_MAX 65535         /* a whole UDP payload: sub-option 12 lets lists exceed 1500 */

/* The client a request comes from and a reply must be addressed to. */
struct bsdp_client_id {
	uint8_t mac[BSDP_CLIENT_MAC_LEN]; /* chaddr; Apple's client is Ethernet only */
	struct in_addr ip;                /* ciaddr: BSDP runs after DHCP */
	uint32_t xid;
	const char *class_id;             /* option 60, class_len bytes */
	size_t class_len;
	uint16_t dhcp_max_size;           /* option 57 */
};

/* Option 60 "AAPLBSDPC/<arch>/<model>" into buf; its length, or -ENOSPC
 * when it is longer than one DHCP option or than cap - 1. */
int bsdp_client_class_id(char *buf, size_t cap, const char *arch, const char *model);

/* What one INFORM asks.  Fields a message does not use are ignored. */
struct bsdp_client_request {
	uint8_t message;                  /* BSDP_LIST or BSDP_SELECT */
	uint16_t version;                 /* sub-option 2 */
	bool has_reply_port;              /* sub-option 5 */
	uint16_t reply_port;
	bool has_max_size;                /* LIST: sub-option 12 */
	uint16_t max_size;
	size_t n_filter;                  /* LIST: sub-option 11, at most BSDP_MAX_FILTERS */
	const uint16_t *filter;
	struct in_addr server;            /* SELECT: sub-option 3 */
	uint32_t image;                   /* SELECT: sub-option 8 */
};

/* The option-43 instance of rq; -ENOSPC when it exceeds 255 bytes,
 * -EINVAL for a message other than LIST and SELECT. */
int bsdp_client_vendor(const struct bsdp_client_request *rq, struct bsdp_vendor *v);

/* A DHCPINFORM from id with options 53, 55, 57, 60 and 43, padded to the
 * BOOTP minimum; with rq NULL a plain INFORM (53, 55, 57 only), so that
 * a DHCP server can be measured on requests of the same shape.  Returns
 * the datagram length, -EMSGSIZE when option 43 cannot be built (over
 * 255 bytes, or a message that is neither LIST nor SELECT), or -ENOSPC
 * when the datagram exceeds cap. */
int bsdp_client_build(uint8_t *buf, size_t cap, const struct bsdp_client_id *id,
		      const struct bsdp_client_request *rq);

/* One sub-option as dhcpol_find returns it: the first instance of a tag. */
struct bsdp_sub {
	bool present;
	uint8_t len;
	const uint8_t *data;              /* into the datagram */
};

/* An accepted ACK.  Large (about 80 KiB): keep it off the stack. */
struct bsdp_ack {
	struct dhcp_view view;
	struct in_addr server;            /* DHCP option 54 */
	uint8_t message;                  /* BSDP sub-option 1 */
	struct bsdp_sub sub[256];
	size_t list_len;                  /* every sub-option 9 payload, in wire order */
	uint8_t list[BSDP_ACK_MAX];
};

/* dhcp_packet_match() plus the ciaddr test of BSDPClientProcess: NULL
 * when h answers id, else why not. */
const char *bsdp_ack_match(const struct dhcp_header *h, const struct bsdp_client_id *id);

/* The option tests of BSDPClientProcess over a->view, which dhcp_parse
 * has filled: a DHCP ACK, option 60 of exactly the 9 bytes "AAPLBSDPC",
 * a 4-byte option 54, option 43 whose instances each parse (Apple's
 * dhcpol_parse_vendor), and a 1-byte sub-option 1.  Fills the rest of a;
 * NULL when accepted, else why not. */
const char *bsdp_ack_check(struct bsdp_ack *a);

/* dhcp_parse, bsdp_ack_match and bsdp_ack_check in the order Apple's
 * client applies them; NULL when the datagram is an ACK for id. */
const char *bsdp_ack_parse(struct bsdp_ack *a, const uint8_t *pkt, size_t len,
			   const struct bsdp_client_id *id);

/* A sub-option counts only with its exact size, as in BSDPClientProcessList. */
bool bsdp_ack_u16(const struct bsdp_ack *a, uint8_t tag, uint16_t *v);
bool bsdp_ack_u32(const struct bsdp_ack *a, uint8_t tag, uint32_t *v);

/* attributes_match in BSDPClient.c: an empty filter matches every image. */
bool bsdp_filter_matches(const uint16_t *filter, size_t n_filter, uint32_t id);

/* One entry of a Boot Image List (SPEC §3.4.13). */
struct bsdp_image_desc {
	uint32_t id;
	uint8_t name_len;
	const uint8_t *name;              /* not NUL-terminated, not validated UTF-8 */
};

/* Walks a concatenated image list as BSDPClientCreateImageList does. */
struct bsdp_image_iter {
	struct rd rd;
	const uint16_t *filter;
	size_t n_filter;
};

void bsdp_image_iter_init(struct bsdp_image_iter *it, const uint8_t *list, size_t len,
			  const uint16_t *filter, size_t n_filter);

/* 1 with *d the next image that is not the null id and matches the
 * filter, 0 at the end, -EBADMSG for a "short image list", after which
 * Apple discards the whole answer. */
int bsdp_image_iter_next(struct bsdp_image_iter *it, struct bsdp_image_desc *d);

#endif
