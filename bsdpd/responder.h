/* SPDX-License-Identifier: MIT */
/*
 * The BSDP responder: a socket-free decision from one request datagram to
 * at most one reply datagram and its destination.  It answers as Apple's
 * bootpd did (bootpd.tproj/bsdpd.c; docs/bsdp.md §1, §7) and is silent for
 * every packet that is not a well-formed BSDP request it can serve.  It
 * never offers an address: every reply has yiaddr 0.
 */
#ifndef BSDPD_RESPONDER_H
#define BSDPD_RESPONDER_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bindings.h"
#include "bsdp.h"
#include "nbimage.h"

#define BSDP_REPLY_MAX 8192        /* Apple's reply buffer; caps option 12/57 */
#define BSDP_MIN_MESSAGE 548       /* Apple's DHCP_PACKET_MIN = 236 + 312 */
#define BSDP_IP_UDP_OVERHEAD 28
#define BSDP_OFFER_MAX_MESSAGE 1500 /* Apple caps OFFER* at one Ethernet frame */

struct bsdp_responder {
	const struct nb_catalog *catalog;
	struct bindings *bindings;
	uint16_t priority;           /* before subtracting bound clients */
	const char *hostname;        /* sname of ACK[SELECT] and OFFER* */
	/* The default image the boot policy pins for this Mac: an image name
	 * or bundle name, or NULL for Apple's rule.  Optional. */
	const char *(*pinned_image)(void *ctx, const struct nb_client *c);
	void *pin_ctx;
};

/* Where a request arrived. */
struct bsdp_rx {
	struct in_addr if_addr;      /* address of the receiving interface */
	struct in_addr if_netmask;   /* its subnet mask; 0 when unknown (refuses on-link ciaddr) */
	int64_t now;                 /* Unix time, for bindings */
};

struct bsdp_tx {
	uint8_t buf[BSDP_REPLY_MAX];
	size_t len;
	struct in_addr dst;
	uint16_t dst_port;           /* the source port is always 67 */
};

/* Why a BSDP request got no reply.  Apple's bootpd logged these at
 * LOG_INFO; bsdpd logs them at debug level so that `bsdpd -v` shows an
 * admin why a Mac gets no answer.  Packets that are not BSDP (no Apple
 * client class id) have no reason: they are the site's DHCP traffic. */
enum bsdp_drop {
	BSDP_DROP_NONE = 0,          /* answered, or not a BSDP request */
	BSDP_DROP_ADDRESSED_ELSEWHERE,
	BSDP_DROP_MALFORMED,
	BSDP_DROP_VERSION,
	BSDP_DROP_DHCP_MESSAGE,
	BSDP_DROP_BSDP_MESSAGE,
	BSDP_DROP_NO_CIADDR,
	BSDP_DROP_CIADDR_BROADCAST,
	BSDP_DROP_CIADDR_MULTICAST,
	BSDP_DROP_CIADDR_RESERVED,
	BSDP_DROP_CIADDR_LOOPBACK,
	BSDP_DROP_CIADDR_THIS_NETWORK,
	BSDP_DROP_CIADDR_SERVER,
	BSDP_DROP_CIADDR_OFF_SUBNET,
	BSDP_DROP_CIADDR_SUBNET_NETWORK,
	BSDP_DROP_CIADDR_SUBNET_BROADCAST,
	BSDP_DROP_GIADDR,
	BSDP_DROP_REPLY_PORT,
	BSDP_DROP_NO_SERVER_ID,
	BSDP_DROP_OTHER_SERVER,
	BSDP_DROP_NO_IMAGE,
	BSDP_DROP_NOT_BOUND,
	BSDP_DROP_BOUND_ELSEWHERE,
	BSDP_DROP_REPLY_TOO_BIG,
};

/* One line of text for each reason, for the log. */
const char *bsdp_drop_reason(enum bsdp_drop why);

/* What happened, for the one log line per BSDP request. */
struct bsdp_event {
	uint8_t mac[6];
	struct bsdp_class cls;
	uint8_t dhcp_message;
	uint8_t bsdp_message;        /* of the request; 0 for DISCOVER */
	const char *reply;           /* "ACK[LIST]", "ACK[SELECT]", "ACK[FAILED]", "OFFER" */
	bool has_image;
	uint32_t image_id;
	size_t images_listed;
	size_t images_applicable;    /* > images_listed when the list was truncated */
	struct in_addr ciaddr;       /* of the request */
	struct in_addr giaddr;
	enum bsdp_drop drop;         /* set when a BSDP request got no reply */
};

enum bsdp_verdict {
	BSDP_SILENT = 0,
	BSDP_REPLY = 1,
};

/* BSDP_REPLY with the reply in tx, or BSDP_SILENT; for a silent BSDP
 * request ev->drop says why. */
/* The decision for a datagram already parsed (the daemon's port-67
 * dispatcher parses each datagram once and hands the view here or to the
 * proxyDHCP responder). */
enum bsdp_verdict bsdp_respond_view(const struct bsdp_responder *rs,
				    const struct dhcp_view *view, const struct bsdp_rx *rx,
				    struct bsdp_tx *tx, struct bsdp_event *ev);
/* Parses pkt, then bsdp_respond_view: what the tests and the fuzzer drive. */
enum bsdp_verdict bsdp_respond(const struct bsdp_responder *rs, const uint8_t *pkt,
			       size_t len, const struct bsdp_rx *rx, struct bsdp_tx *tx,
			       struct bsdp_event *ev);

/* The payload limit for an INFORM reply: BSDP 12, else DHCP 57, used only
 * above 548 and capped at 8192, minus IP/UDP headers (bsdpd.c
 * bsdp_max_message_size). */
size_t bsdp_reply_limit(const struct dhcp_view *view, const struct bsdp_request *rq);

#endif
