/* SPDX-License-Identifier: MIT */
/*
 * DHCP/BOOTP datagram codec (RFC 951, RFC 2131, RFC 2132, RFC 3396).
 *
 * dhcp_parse() validates a datagram once and produces a struct dhcp_view:
 * the fixed header in host order plus every option instance in wire order,
 * with the sname/file overload areas (option 52) folded in.  Repeated
 * instances of one option are kept apart rather than concatenated, because
 * Apple's BSDP places several self-contained option-43 instances in one
 * packet and parses each on its own (bsdp.md §2.6).  Nothing after
 * dhcp_parse() re-reads raw lengths.
 *
 * The builder writes into a caller buffer of explicit capacity and returns
 * -ENOSPC rather than overrun; it always keeps one byte for the END option.
 */
#ifndef BSDPD_DHCP_H
#define BSDPD_DHCP_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire.h"

#define DHCP_SERVER_PORT 67
#define DHCP_CLIENT_PORT 68

#define DHCP_HEADER_LEN 236     /* RFC 2131 §2, fixed BOOTP fields */
#define DHCP_COOKIE_LEN 4
#define DHCP_OPTIONS_OFFSET (DHCP_HEADER_LEN + DHCP_COOKIE_LEN)
#define DHCP_SNAME_LEN 64
#define DHCP_FILE_LEN 128
#define DHCP_CHADDR_LEN 16
#define BOOTP_MIN_LEN 300       /* RFC 1542 §2.1: relays may drop shorter */
#define DHCP_MIN_MAX_MSG 576    /* RFC 2132 §9.10: smallest legal option 57 */
#define DHCP_MAX_INSTANCES 512  /* more option instances than a sane client sends */

#define BOOTREQUEST 1
#define BOOTREPLY 2
#define DHCP_FLAG_BROADCAST 0x8000

enum dhcp_option_code {
	DHCP_OPT_PAD = 0,
	DHCP_OPT_ROOT_PATH = 17,
	DHCP_OPT_VENDOR = 43,
	DHCP_OPT_REQUESTED_IP = 50,
	DHCP_OPT_OVERLOAD = 52,
	DHCP_OPT_MESSAGE_TYPE = 53,
	DHCP_OPT_SERVER_ID = 54,
	DHCP_OPT_PARAM_REQUEST = 55,
	DHCP_OPT_MAX_MESSAGE_SIZE = 57,
	DHCP_OPT_CLASS_ID = 60,
	DHCP_OPT_CLIENT_ID = 61,
	DHCP_OPT_END = 255,
};

enum dhcp_message_type {
	DHCP_DISCOVER = 1,
	DHCP_OFFER = 2,
	DHCP_REQUEST = 3,
	DHCP_DECLINE = 4,
	DHCP_ACK = 5,
	DHCP_NAK = 6,
	DHCP_RELEASE = 7,
	DHCP_INFORM = 8,
};

struct dhcp_header {
	uint8_t op;
	uint8_t htype;
	uint8_t hlen;
	uint8_t hops;
	uint32_t xid;
	uint16_t secs;
	uint16_t flags;
	struct in_addr ciaddr;
	struct in_addr yiaddr;
	struct in_addr siaddr;
	struct in_addr giaddr;
	uint8_t chaddr[DHCP_CHADDR_LEN];
	char sname[DHCP_SNAME_LEN];
	char file[DHCP_FILE_LEN];
};

/* One option instance as it appeared on the wire; data points into the datagram. */
struct dhcp_option {
	uint8_t code;
	uint8_t len;
	const uint8_t *data;
};

struct dhcp_view {
	struct dhcp_header hdr;
	uint8_t message_type;   /* 0 when option 53 is absent (plain BOOTP) */
	size_t n_options;
	struct dhcp_option options[DHCP_MAX_INSTANCES];
};

/* 0 on success, -EBADMSG for anything malformed or not DHCP. */
int dhcp_parse(struct dhcp_view *view, const uint8_t *pkt, size_t len);

/* The index-th instance (0-based) of option code, or NULL. */
const struct dhcp_option *dhcp_option_nth(const struct dhcp_view *view, uint8_t code,
					  size_t index);

static inline const struct dhcp_option *dhcp_option_get(const struct dhcp_view *view,
							uint8_t code)
{
	return dhcp_option_nth(view, code, 0);
}

/* The Ethernet MAC in chaddr, when htype/hlen say it is one. */
bool dhcp_chaddr_mac(const struct dhcp_header *hdr, uint8_t mac[6]);

struct dhcp_builder {
	struct wr w;
};

/* Writes the fixed header and the magic cookie; -ENOSPC if cap is too small. */
int dhcp_build_init(struct dhcp_builder *b, uint8_t *buf, size_t cap,
		    const struct dhcp_header *hdr);
int dhcp_build_option(struct dhcp_builder *b, uint8_t code, const void *data, size_t len);
int dhcp_build_u8(struct dhcp_builder *b, uint8_t code, uint8_t v);
int dhcp_build_addr(struct dhcp_builder *b, uint8_t code, struct in_addr a);
/* Option bytes still free for one more option header+data, END reserved. */
size_t dhcp_build_room(const struct dhcp_builder *b);
/* Appends END and pads to the BOOTP minimum; returns the datagram length or -ENOSPC. */
int dhcp_build_finish(struct dhcp_builder *b);

const char *dhcp_message_name(uint8_t type);

#endif
