/* SPDX-License-Identifier: MIT */
/*
 * proxyDHCP decisions: see proxydhcp.h.  The flow is classify → check the
 * exchange (port, message type) → check the client (mode) → choose the
 * file → build → address, and every "no" on the way is silence with a
 * reason.  References: docs/ipxe.md X1-X4 (iPXE's rules) and F4, F6,
 * F9 (what OVMF and Debian's iPXE really send).
 */
#include "proxydhcp.h"
#include "url.h"

#include "beneath.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bsdp.h"
#include "pe.h"

enum {
	OPT_USER_CLASS = 77,      /* RFC 3004 */
	OPT_RELAY_AGENT = 82,     /* RFC 3046 */
	OPT_CLIENT_ARCH = 93,     /* RFC 4578 §2.1 */
	OPT_CLIENT_UUID = 97,     /* RFC 4578 §2.3 */
	OPT_IPXE_ENCAP = 175,     /* iPXE's own block (include/ipxe/dhcp.h) */
};

#define PXE_CLASS "PXEClient"
#define HTTP_CLASS "HTTPClient"
#define UUID_OPT_LEN 17           /* type 0 + 16 bytes */

/* ---- classification --------------------------------------------------- */

static bool has_prefix(const struct dhcp_option *o, const char *prefix)
{
	size_t n = strlen(prefix);

	return o && o->len >= n && memcmp(o->data, prefix, n) == 0;
}

/* iPXE sends 77 as the bare string "iPXE", not in RFC 3004's length-
 * prefixed form (ipxe.md X1, ipxe/ipxe#1374); a script may set the RFC
 * form by hand (04 "iPXE"), so both are taken. */
static bool user_class_is_ipxe(const struct dhcp_view *v)
{
	const struct dhcp_option *o = dhcp_option_get(v, OPT_USER_CLASS);

	if (!o)
		return false;
	if (o->len == 4 && memcmp(o->data, "iPXE", 4) == 0)
		return true;
	return o->len == 5 && o->data[0] == 4 && memcmp(o->data + 1, "iPXE", 4) == 0;
}

/* iPXE is told apart by option 175 (its feature list, always sent) or by
 * 77; its option 60 says "PXEClient" too, so that test comes first
 * (ipxe.md X1; ipxe.md F6.4). */
static int classify_kind(const struct dhcp_view *v, struct proxy_request *rq, const char **why)
{
	const struct dhcp_option *cls = dhcp_option_get(v, DHCP_OPT_CLASS_ID);

	rq->has_ipxe_encap = dhcp_option_get(v, OPT_IPXE_ENCAP) != NULL;
	if (rq->has_ipxe_encap || user_class_is_ipxe(v))
		rq->kind = PROXY_KIND_IPXE;
	else if (has_prefix(cls, PXE_CLASS))
		rq->kind = PROXY_KIND_PXE;
	else if (has_prefix(cls, HTTP_CLASS))
		rq->kind = PROXY_KIND_HTTP_BOOT;
	else {
		*why = "no PXEClient, HTTPClient or iPXE marker: a plain DHCP client";
		return -EINVAL;
	}
	return 0;
}

/* RFC 4578 §2.1: a list of 16-bit types, the first being the one to serve.
 * PXE firmware must send it; iPXE always does, but only the log needs it. */
static int parse_arch(const struct dhcp_view *v, struct proxy_request *rq, const char **why)
{
	const struct dhcp_option *o = dhcp_option_get(v, OPT_CLIENT_ARCH);

	if (!o) {
		*why = "no client architecture (option 93)";
		return rq->kind == PROXY_KIND_IPXE ? 0 : -EINVAL;
	}
	if (o->len < 2 || o->len % 2) {
		*why = "option 93 is not a list of 16-bit types";
		return -EINVAL;
	}
	rq->has_arch = true;
	rq->arch = be16_get(o->data);
	return 0;
}

/* RFC 4578 §2.3: type 0 and a 16-byte UUID, echoed in the reply (PXE 2.1
 * requires it).  Intel ROMs without 97 exist (pixiecore#21), and some
 * send it empty (Smee accepts that): both mean "none". */
static int parse_uuid(const struct dhcp_view *v, struct proxy_request *rq, const char **why)
{
	const struct dhcp_option *o = dhcp_option_get(v, OPT_CLIENT_UUID);

	if (!o || o->len == 0)
		return 0;
	if (o->len != UUID_OPT_LEN || o->data[0] != 0) {
		*why = "option 97 is not type 0 and a 16-byte UUID";
		return -EINVAL;
	}
	rq->has_uuid = true;
	memcpy(rq->uuid, o->data, UUID_OPT_LEN);
	return 0;
}

static int parse_server_id(const struct dhcp_view *v, struct proxy_request *rq, const char **why)
{
	const struct dhcp_option *o = dhcp_option_get(v, DHCP_OPT_SERVER_ID);

	if (!o)
		return 0;
	if (o->len != 4) {
		*why = "option 54 is not an IPv4 address";
		return -EINVAL;
	}
	memcpy(&rq->server_id.s_addr, o->data, 4);
	return 0;
}

int proxy_classify(const struct dhcp_view *v, struct proxy_request *rq, const char **why)
{
	*rq = (struct proxy_request){ .message_type = v->message_type };
	if (v->hdr.op != BOOTREQUEST) {
		*why = "not a BOOTREQUEST";
		return -EINVAL;
	}
	if (!dhcp_chaddr_mac(&v->hdr, rq->mac)) {
		*why = "chaddr is not an Ethernet MAC";
		return -EINVAL;
	}
	/* Macs stay with the BSDP responder, even a Mac that sends 93. */
	if (has_prefix(dhcp_option_get(v, DHCP_OPT_CLASS_ID), BSDP_CLASS)) {
		*why = "a Mac (AAPLBSDPC): the BSDP responder's";
		return -EINVAL;
	}
	if (classify_kind(v, rq, why) < 0 || parse_arch(v, rq, why) < 0 ||
	    parse_uuid(v, rq, why) < 0 || parse_server_id(v, rq, why) < 0)
		return -EINVAL;
	return 0;
}

/* ---- who is answered -------------------------------------------------- */

/* A DISCOVER on 67 is the proxy's to answer; a REQUEST on 67 asks the site
 * server for a lease (RFC 2131 §4.3.2) and is not ours.  On 4011 the
 * firmware REQUESTs the boot file (PXE 2.1 §2.2.6; ipxe.md X3).  OVMF's
 * 4011 REQUEST has a new xid, ciaddr set and no option 54 or 50
 * (ipxe.md F9), so 54 is checked only when present. */
static const char *refuse_exchange(const struct proxy_request *rq, const struct proxy_rx *rx)
{
	if (rx->local_port == DHCP_SERVER_PORT) {
		if (rq->message_type == DHCP_REQUEST)
			return "a lease REQUEST on port 67: the site DHCP server's";
		return rq->message_type == DHCP_DISCOVER ? NULL
		       : "not a DISCOVER: port 67 answers only DISCOVER";
	}
	if (rx->local_port != PROXY_PORT)
		return "arrived on a port other than 67 or 4011";
	if (rq->message_type != DHCP_REQUEST)
		return "not a REQUEST: port 4011 answers only REQUEST";
	if (rq->server_id.s_addr && rq->server_id.s_addr != rx->if_addr.s_addr)
		return "a 4011 REQUEST for another server (option 54)";
	return NULL;
}

/* --proxy-dhcp: a server that answers every PC on a shared LAN is a rogue
 * boot server; "known" answers only machines that booted through bsdpd. */
static const char *refuse_client(const struct proxy_responder *pr,
				 const struct proxy_request *rq, const struct proxy_rx *rx)
{
	if (pr->mode == PROXY_MODE_OFF)
		return "proxyDHCP is off";
	/* Tinkerbell's way to the local disk: no answer, so the firmware
	 * tries its next boot device (docs/policy.md). */
	if (pr->hooks.refused && pr->hooks.refused(pr->hooks.ctx, rq->mac))
		return "its policy boots the local disk by refusal";
	if (pr->mode == PROXY_MODE_ALL)
		return NULL;
	if (!pr->hooks.known || !pr->hooks.known(pr->hooks.ctx, rq->mac, rx->now))
		return "not known";
	return NULL;
}

/* ---- which file ------------------------------------------------------- */

int proxy_arch_slot(uint16_t type)
{
	switch (type) {
	case 0: return PROXY_ARCH_BIOS;
	case 6: return PROXY_ARCH_EFI_IA32;
	/* 7 is what OVMF and iPXE send; some firmware sends 9 for the same
	 * machine, and matching only one of them loops (xcat-core#7645). */
	case 7:
	case 9: return PROXY_ARCH_EFI_X64;
	case 11: return PROXY_ARCH_EFI_ARM64;
	case 16: return PROXY_ARCH_HTTP_X64;
	default: return -1;
	}
}

/* A Mac's BSDP choice decides what the same MAC gets as a PC
 * (ipxe.md F9, last point); else the --boot-file table. */
static const char *booter_for(const struct proxy_responder *pr, const struct proxy_request *rq,
			      enum proxy_arch slot)
{
	const char *bound = pr->hooks.bound_booter
				    ? pr->hooks.bound_booter(pr->hooks.ctx, rq->mac, slot)
				    : NULL;

	if (bound)
		return bound;
	if (slot == PROXY_ARCH_HTTP_X64 && !pr->boot_file[slot])
		return pr->boot_file[PROXY_ARCH_EFI_X64];
	return pr->boot_file[slot];
}

/* "http://<addr>[:<port>]", the port left out when it is 80 (docs/architecture.md). */
static int http_base(char *buf, size_t cap, struct in_addr addr, uint16_t port)
{
	char a[INET_ADDRSTRLEN];
	int n;

	inet_ntop(AF_INET, &addr, a, sizeof(a));
	n = port == 80 ? snprintf(buf, cap, "http://%s", a)
		       : snprintf(buf, cap, "http://%s:%u", a, port);
	return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

/* The script URL (http_routes.h, http_query_identity).  iPXE expands ${...} in the
 * filename itself (ipxe.md X4), so one static string identifies every
 * machine.  It is at most 108 bytes: it always fits the file field. */
static const char *script_url(const struct proxy_responder *pr, const struct proxy_rx *rx,
			      char file[DHCP_FILE_LEN])
{
	char base[32];

	if (!pr->http_port)
		return "no HTTP server for the iPXE script (--no-http)";
	if (http_base(base, sizeof(base), rx->if_addr, pr->http_port) < 0 ||
	    snprintf(file, DHCP_FILE_LEN, "%s/boot.ipxe?mac=${mac:hexhyp}&uuid=${uuid}"
		     "&arch=${buildarch}&platform=${platform}", base) >= DHCP_FILE_LEN)
		return "script URL longer than the BOOTP file field";
	return NULL;
}

/* UEFI HTTP Boot: the EFI booter itself, by URL in the file field; OVMF
 * accepted exactly that from a proxy (ipxe.md F9). */
static const char *booter_url(const struct proxy_responder *pr, const struct proxy_request *rq,
			      const struct proxy_rx *rx, char file[DHCP_FILE_LEN])
{
	char base[32], esc[DHCP_FILE_LEN];
	const char *path;

	if (!rq->has_arch || proxy_arch_slot(rq->arch) != PROXY_ARCH_HTTP_X64)
		return "HTTP Boot for an architecture other than x64 (16)";
	if (!pr->http_port)
		return "no HTTP server for HTTP Boot (--no-http)";
	path = booter_for(pr, rq, PROXY_ARCH_HTTP_X64);
	if (!path)
		return "no boot file for http-x64 or efi-x64";
	if (http_base(base, sizeof(base), rx->if_addr, pr->http_port) < 0 ||
	    url_path_escape(esc, sizeof(esc), path) < 0 ||
	    snprintf(file, DHCP_FILE_LEN, "%s/%s", base, esc) >= DHCP_FILE_LEN)
		return "booter URL longer than the BOOTP file field";
	return NULL;
}

/* PXE firmware: a booter over TFTP from us (siaddr), never an HTTP URL. */
static const char *tftp_booter(const struct proxy_responder *pr, const struct proxy_request *rq,
			       char file[DHCP_FILE_LEN])
{
	int slot = proxy_arch_slot(rq->arch);
	const char *path;

	if (slot < 0)
		return "no boot-file slot for this architecture (option 93)";
	if (slot == PROXY_ARCH_HTTP_X64)
		return "architecture 16 is HTTP Boot, but the class is PXEClient";
	path = booter_for(pr, rq, (enum proxy_arch)slot);
	if (!path)
		return "no boot file for this architecture (--boot-file)";
	if (snprintf(file, DHCP_FILE_LEN, "%s", path) >= DHCP_FILE_LEN)
		return "boot file path longer than the BOOTP file field";
	return NULL;
}

static const char *choose_file(const struct proxy_responder *pr, const struct proxy_request *rq,
			       const struct proxy_rx *rx, char file[DHCP_FILE_LEN])
{
	switch (rq->kind) {
	case PROXY_KIND_IPXE: return script_url(pr, rx, file);
	case PROXY_KIND_HTTP_BOOT: return booter_url(pr, rq, rx, file);
	case PROXY_KIND_PXE: return tftp_booter(pr, rq, file);
	}
	return "unknown client kind";
}

/* ---- the reply ---------------------------------------------------------- */

/* RFC 2131 table 3, with yiaddr always 0: a proxy never offers an address,
 * and a non-zero yiaddr would make iPXE take us for the DHCP server
 * (ipxe.md X2, X3).  xid and chaddr are echoed (iPXE matches on both);
 * siaddr is us, so iPXE sees "siaddr and a filename" and uses this offer
 * without asking 4011 (X3). */
static struct dhcp_header reply_header(const struct dhcp_view *v, const struct proxy_rx *rx,
				       uint8_t type, const char *file)
{
	struct dhcp_header h = {
		.op = BOOTREPLY, .htype = v->hdr.htype, .hlen = v->hdr.hlen, .xid = v->hdr.xid,
		.flags = v->hdr.flags, .siaddr = rx->if_addr, .giaddr = v->hdr.giaddr,
	};

	/* Table 3: an OFFER has ciaddr 0, an ACK the REQUEST's ciaddr. */
	if (type == DHCP_ACK)
		h.ciaddr = v->hdr.ciaddr;
	memcpy(h.chaddr, v->hdr.chaddr, DHCP_CHADDR_LEN);
	snprintf(h.file, sizeof(h.file), "%s", file);
	return h;
}

/* ipxe.md X3: sub-option 6 (discovery control) = 8 (PXEBS_SKIP) and no
 * menu (43.9), so neither iPXE nor PXE firmware starts boot-server
 * discovery; it ends with 255 as PXE 2.1 §2.2.5 vendor options do.  HTTP
 * Boot does not read 43, and OVMF accepted the offer without it
 * (ipxe.md F9), so it gets none. */
static int put_pxe_vendor(struct dhcp_builder *b)
{
	static const uint8_t pxe[] = { 6, 1, 8, 255 };

	return dhcp_build_option(b, DHCP_OPT_VENDOR, pxe, sizeof(pxe));
}

/* 175.1 is iPXE's settings priority (a signed byte).  The site server's
 * block has priority 0 and is registered first, so without this its
 * filename wins over ours (ipxe.md X4; tested with 1 in
 * ipxe.md F6.3).  No 175.176 (no-pxedhcp): that tells iPXE to stop
 * waiting for a proxy offer and belongs in the site server's offer (X2);
 * this offer is the proxy offer, so it has nothing to say there. */
static int put_ipxe_options(struct dhcp_builder *b)
{
	static const uint8_t encap[] = { 1, 1, PROXY_IPXE_PRIORITY };

	return dhcp_build_option(b, OPT_IPXE_ENCAP, encap, sizeof(encap));
}

/* RFC 3046 §2.2: a server echoes the relay agent information option. */
static int put_relay_agent(struct dhcp_builder *b, const struct dhcp_view *v)
{
	const struct dhcp_option *o = dhcp_option_get(v, OPT_RELAY_AGENT);

	if (!o || !v->hdr.giaddr.s_addr)
		return 0;
	return dhcp_build_option(b, OPT_RELAY_AGENT, o->data, o->len);
}

/* 60 is "PXEClient" (or "HTTPClient"): iPXE counts an offer as a proxy
 * offer only by that prefix (X2), and UEFI HTTP Boot needs "HTTPClient"
 * echoed (ipxe.md §2).  No lease time, subnet or router options. */
static int put_options(struct dhcp_builder *b, const struct dhcp_view *v,
		       const struct proxy_request *rq, const struct proxy_rx *rx, uint8_t type)
{
	const char *cls = rq->kind == PROXY_KIND_HTTP_BOOT ? HTTP_CLASS : PXE_CLASS;
	int r;

	if ((r = dhcp_build_u8(b, DHCP_OPT_MESSAGE_TYPE, type)) < 0 ||
	    (r = dhcp_build_addr(b, DHCP_OPT_SERVER_ID, rx->if_addr)) < 0 ||
	    (r = dhcp_build_option(b, DHCP_OPT_CLASS_ID, cls, strlen(cls))) < 0)
		return r;
	if (rq->has_uuid && (r = dhcp_build_option(b, OPT_CLIENT_UUID, rq->uuid, UUID_OPT_LEN)) < 0)
		return r;
	if (rq->kind != PROXY_KIND_HTTP_BOOT && (r = put_pxe_vendor(b)) < 0)
		return r;
	if (rq->kind == PROXY_KIND_IPXE && (r = put_ipxe_options(b)) < 0)
		return r;
	return put_relay_agent(b, v);
}

static int build_reply(const struct dhcp_view *v, const struct proxy_request *rq,
		       const struct proxy_rx *rx, uint8_t type, const char *file,
		       struct proxy_tx *tx)
{
	struct dhcp_header h = reply_header(v, rx, type, file);
	struct dhcp_builder b;
	int n;

	if ((n = dhcp_build_init(&b, tx->buf, sizeof(tx->buf), &h)) < 0 ||
	    (n = put_options(&b, v, rq, rx, type)) < 0 || (n = dhcp_build_finish(&b)) < 0)
		return n;
	tx->len = (size_t)n;
	return 0;
}

/* RFC 2131 §4.1: through the relay (giaddr, port 67) when relayed; else to
 * ciaddr when the client has an address.  On 4011 the client unicasts
 * from its address and port and waits there (OVMF: from 4011, reply to
 * 4011; ipxe.md F4.3).  Otherwise broadcast: the client has no
 * address and yiaddr is 0, so the §4.1 unicast to chaddr/yiaddr cannot be
 * done; OVMF (broadcast flag set) and iPXE (flag clear) both took a
 * broadcast proxy offer (ipxe.md F4.3). */
static void address_reply(const struct dhcp_view *v, const struct proxy_rx *rx,
			  struct proxy_tx *tx)
{
	if (v->hdr.giaddr.s_addr) {
		tx->dst = v->hdr.giaddr;
		tx->dst_port = DHCP_SERVER_PORT;
	} else if (rx->local_port == PROXY_PORT) {
		tx->dst = v->hdr.ciaddr.s_addr ? v->hdr.ciaddr : rx->src;
		tx->dst_port = rx->src_port;
	} else if (v->hdr.ciaddr.s_addr) {
		tx->dst = v->hdr.ciaddr;
		tx->dst_port = DHCP_CLIENT_PORT;
	} else {
		tx->dst.s_addr = htonl(INADDR_BROADCAST);
		tx->dst_port = DHCP_CLIENT_PORT;
	}
}

static enum proxy_verdict silent(struct proxy_event *ev, const char *reason)
{
	ev->reason = reason;
	return PROXY_SILENT;
}

static void note_client(struct proxy_event *ev, const struct proxy_request *rq)
{
	ev->has_kind = true;
	ev->kind = rq->kind;
	ev->has_arch = rq->has_arch;
	ev->arch = rq->arch;
}

enum proxy_verdict proxy_respond(const struct proxy_responder *pr, const struct dhcp_view *view,
				 const struct proxy_rx *rx, struct proxy_tx *tx,
				 struct proxy_event *ev)
{
	struct proxy_request rq;
	char file[DHCP_FILE_LEN];
	const char *why;
	uint8_t type = rx->local_port == PROXY_PORT ? DHCP_ACK : DHCP_OFFER;

	*ev = (struct proxy_event){ .request_type = view->message_type };
	tx->len = 0;
	ev->has_mac = dhcp_chaddr_mac(&view->hdr, ev->mac);
	if (proxy_classify(view, &rq, &why) < 0)
		return silent(ev, why);
	note_client(ev, &rq);
	if ((why = refuse_exchange(&rq, rx)) || (why = refuse_client(pr, &rq, rx)) ||
	    (why = choose_file(pr, &rq, rx, file)))
		return silent(ev, why);
	if (build_reply(view, &rq, rx, type, file, tx) < 0)
		return silent(ev, "the reply does not fit");
	address_reply(view, rx, tx);
	ev->reply_type = type;
	snprintf(ev->file, sizeof(ev->file), "%s", file);
	return PROXY_REPLY;
}

const char *proxy_kind_name(enum proxy_kind kind)
{
	switch (kind) {
	case PROXY_KIND_PXE: return "PXE";
	case PROXY_KIND_IPXE: return "iPXE";
	case PROXY_KIND_HTTP_BOOT: return "HTTPBoot";
	}
	return "?";
}

/* ---- start-up: flags ---------------------------------------------------- */

static const struct {
	const char *name;
	uint16_t type;
} arch_names[PROXY_ARCH_COUNT] = {
	[PROXY_ARCH_BIOS] = { "bios", 0 },
	[PROXY_ARCH_EFI_IA32] = { "efi-ia32", 6 },
	[PROXY_ARCH_EFI_X64] = { "efi-x64", 7 },
	[PROXY_ARCH_EFI_ARM64] = { "efi-arm64", 11 },
	[PROXY_ARCH_HTTP_X64] = { "http-x64", 16 },
};

#define ARCH_CHOICES "bios (0), efi-ia32 (6), efi-x64 (7 or 9), efi-arm64 (11) or http-x64 (16)"

const char *proxy_arch_name(enum proxy_arch arch)
{
	return (unsigned)arch < PROXY_ARCH_COUNT ? arch_names[arch].name : "?";
}

static const char *const proxy_mode_names[] = { [PROXY_MODE_OFF] = "off",
						[PROXY_MODE_KNOWN] = "known",
						[PROXY_MODE_ALL] = "all" };

const char *proxy_mode_name(enum proxy_mode m)
{
	return (size_t)m < sizeof(proxy_mode_names) / sizeof(proxy_mode_names[0])
		       ? proxy_mode_names[m] : "off";
}

int proxy_mode_parse(const char *s, enum proxy_mode *out)
{
	for (size_t i = 0; i < sizeof(proxy_mode_names) / sizeof(proxy_mode_names[0]); i++)
		if (strcmp(s, proxy_mode_names[i]) == 0) {
			*out = (enum proxy_mode)i;
			return 0;
		}
	return -EINVAL;
}

/* A name, or an option-93 number in decimal. */
static int arch_token(const char *s, size_t n, enum proxy_arch *out)
{
	unsigned long v = 0;

	for (int i = 0; i < PROXY_ARCH_COUNT; i++)
		if (strlen(arch_names[i].name) == n && memcmp(s, arch_names[i].name, n) == 0) {
			*out = (enum proxy_arch)i;
			return 0;
		}
	if (n == 0 || n > 5)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v > UINT16_MAX || proxy_arch_slot((uint16_t)v) < 0)
		return -EINVAL;
	*out = (enum proxy_arch)proxy_arch_slot((uint16_t)v);
	return 0;
}

/* The path as TFTP will look it up under --root: relative, no "." or ".."
 * component, no empty component. */
static const char *bad_path(const char *p)
{
	if (!*p)
		return "is empty";
	if (*p == '/')
		return "must be relative to --root";
	if (strlen(p) >= DHCP_FILE_LEN)
		return "is longer than the 127 bytes of the BOOTP file field";
	for (const char *c = p;; c++) {
		size_t n = strcspn(c, "/");

		if (n == 0)
			return "has an empty path component (\"//\" or a trailing \"/\")";
		if ((n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
			return "has a \".\" or \"..\" component";
		c += n;
		if (!*c)
			return NULL;
	}
}

int proxy_boot_file_parse(const char *arg, struct proxy_boot_file *out, char *err, size_t cap)
{
	const char *eq = strchr(arg, '='), *why;

	if (!eq) {
		snprintf(err, cap, "%s: expected ARCH=PATH, ARCH one of " ARCH_CHOICES,
			 arg);
		return -EINVAL;
	}
	if (arch_token(arg, (size_t)(eq - arg), &out->arch) < 0) {
		snprintf(err, cap, "%s: unknown ARCH \"%.*s\"; use " ARCH_CHOICES, arg,
			 (int)(eq - arg), arg);
		return -EINVAL;
	}
	out->path = eq + 1;
	if ((why = bad_path(out->path))) {
		snprintf(err, cap, "%s: the PATH %s", arg, why);
		return -EINVAL;
	}
	return 0;
}

/* ---- start-up: the boot files ------------------------------------------- */

static int file_verdict(struct proxy_file_check *out, enum proxy_file_verdict v,
			enum proxy_arch arch, const char *path, const char *what)
{
	out->verdict = v;
	snprintf(out->message, sizeof(out->message), "boot file for %s, %s: %s",
		 proxy_arch_name(arch), path, what);
	return v == PROXY_FILE_OK ? 0 : -EINVAL;
}

/* The whole file: pe_inspect checks that every section lies inside it. */
static uint8_t *read_whole(int fd, size_t *len, const char **why)
{
	struct stat st;
	uint8_t *buf;
	size_t got = 0;

	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		*why = "not a regular file";
		return NULL;
	}
	if ((uint64_t)st.st_size > PROXY_BOOT_FILE_MAX) {
		*why = "larger than 64 MiB: not a booter";
		return NULL;
	}
	buf = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (!buf)
		abort();
	while (got < (size_t)st.st_size) {
		ssize_t n = pread(fd, buf + got, (size_t)st.st_size - got, (off_t)got);

		if (n <= 0) {
			free(buf);
			*why = n < 0 ? "cannot be read" : "shrank while being read";
			return NULL;
		}
		got += (size_t)n;
	}
	*len = got;
	return buf;
}

static uint16_t efi_machine(enum proxy_arch arch)
{
	switch (arch) {
	case PROXY_ARCH_EFI_IA32: return PE_MACHINE_I386;
	case PROXY_ARCH_EFI_ARM64: return PE_MACHINE_ARM64;
	default: return PE_MACHINE_X86_64;
	}
}

/* pe.c judges files for Mac firmware and calls ARM64 "the wrong machine";
 * its header fields are still read, so an ARM64 EFI application is
 * recognised by machine and subsystem. */
static bool is_efi_app_for(const struct booter_info *bi, int r, uint16_t machine)
{
	if (bi->fat)
		return false;
	if (machine == PE_MACHINE_ARM64)
		return bi->pe.verdict == PE_WRONG_MACHINE && bi->pe.machine == machine &&
		       bi->pe.subsystem == PE_SUBSYSTEM_EFI_APPLICATION;
	return r == 0 && bi->pe.machine == machine;
}

static int check_bytes(enum proxy_arch arch, const char *path, const uint8_t *data, size_t len,
		       struct proxy_file_check *out)
{
	struct booter_info bi;
	char what[300];
	int r = booter_inspect(data, len, &bi);

	if (arch == PROXY_ARCH_BIOS) {
		if (len == 0)
			return file_verdict(out, PROXY_FILE_WRONG_TYPE, arch, path, "empty");
		if (bi.fat || r == 0)
			return file_verdict(out, PROXY_FILE_WRONG_TYPE, arch, path,
					    "an EFI application, not a BIOS PXE program");
		return file_verdict(out, PROXY_FILE_OK, arch, path, "ok");
	}
	/* Apple's fat wrapper (pe.h) is read by Mac firmware only. */
	if (bi.fat)
		return file_verdict(out, PROXY_FILE_APPLE_FAT, arch, path,
				    "an Apple fat EFI binary, which PC firmware cannot load; "
				    "give it the plain EFI file (e.g. /usr/lib/ipxe/snponly.efi)");
	if (is_efi_app_for(&bi, r, efi_machine(arch)))
		return file_verdict(out, PROXY_FILE_OK, arch, path, "ok");
	snprintf(what, sizeof(what), "%s, not a %s EFI application", bi.what,
		 pe_machine_name(efi_machine(arch)));
	return file_verdict(out, PROXY_FILE_WRONG_TYPE, arch, path, what);
}

int proxy_boot_file_check(enum proxy_arch arch, const char *path, int fd,
			  struct proxy_file_check *out)
{
	const char *why = NULL;
	uint8_t *data;
	size_t len = 0;
	int r;

	if (fd == -ENOENT || fd == -ENOTDIR)
		return file_verdict(out, PROXY_FILE_MISSING, arch, path, "not found under the root");
	if (fd < 0)
		return file_verdict(out, PROXY_FILE_UNREADABLE, arch, path,
				    fd == -EXDEV || fd == -ELOOP
					    ? "leaves the root"
					    : "not a regular world-readable file");
	data = read_whole(fd, &len, &why);
	if (!data)
		return file_verdict(out, PROXY_FILE_UNREADABLE, arch, path, why);
	r = check_bytes(arch, path, data, len, out);
	free(data);
	return r;
}

/* See proxydhcp.h: Apple's default is the first image in catalog order
 * that applies (responder.c default_image); for a PC that sends no model
 * only images open to every model and MAC can apply. */
int proxy_default_booter(const struct nb_catalog *cat, char *path, size_t cap)
{
	for (size_t i = 0; i < cat->n_images; i++) {
		const struct nb_image *img = &cat->images[i];

		if (!img->enabled || img->filter_only || !nb_image_has_arch(img, "i386") ||
		    img->enabled_models.n || img->enabled_macs.n)
			continue;
		return nb_image_boot_path(img, "i386", path, cap);
	}
	return -ENOENT;
}

int proxy_boot_file_check_at(int rootfd, enum proxy_arch arch, const char *path,
			     struct proxy_file_check *out)
{
	struct stat st;
	int fd = beneath_open_served(rootfd, path, &st);
	int r = proxy_boot_file_check(arch, path, fd, out);

	if (fd >= 0)
		close(fd);
	return r;
}
