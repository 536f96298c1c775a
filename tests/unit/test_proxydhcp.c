/* SPDX-License-Identifier: MIT */
/*
 * proxyDHCP: request bytes as OVMF, Debian's iPXE, UEFI HTTP Boot, a Mac
 * and a plain DHCP client send them (docs/ipxe.md F4, F9), through
 * dhcp_parse() and proxy_respond(), and every byte of the reply that a
 * client acts on.  Then the start-up helpers: --boot-file, the boot-file
 * check and the catalog default.
 */
#include <fcntl.h>

#include "nbi_testlib.h"
#include "proxydhcp.h"

#define US "10.77.0.2"
#define SITE "10.77.0.1"
#define LEASED "10.77.0.141"
#define RELAY "10.78.0.1"

static const uint8_t MAC[6] = { 0x52, 0x54, 0x00, 0xe2, 0xe0, 0x01 };
/* 97 as OVMF and iPXE send it: type 0, SMBIOS UUID, first fields LE. */
static const uint8_t UUID[17] = { 0,    0x00, 0x00, 0x2e, 0x7e, 0x00, 0x00, 0x00, 0x40,
				  0x80, 0x00, 0x52, 0x54, 0x00, 0x00, 0xe2, 0xe0 };
static const uint8_t OVMF_PRL[] = { 1,  2,  3,  4,  5,  6,  12, 13, 15,  17,  18,  22,
				    23, 28, 40, 41, 42, 43, 50, 51, 54,  58,  59,  60,
				    66, 67, 97, 128, 129, 130, 131, 132, 133, 134, 135 };
static const uint8_t IPXE_PRL[] = { 1,  3,   6,   7,   12,  15,  17,  26,  43,  60,  66, 67,
				    119, 128, 129, 130, 131, 132, 133, 134, 135, 175, 203 };
/* 175 of Debian's 2019 snponly.efi: bus-id virtio-net, version 1.0.0,
 * dns efi http iscsi menu nfs tftp aoe (ipxe.md F4.2). */
static const uint8_t IPXE_175[] = { 177, 5, 1, 0x1a, 0xf4, 0x10, 0x00, 235, 3, 1, 0, 0,
				    23, 1, 1, 36, 1, 1, 19, 1, 1, 17, 1, 1, 39, 1, 1,
				    25, 1, 1, 21, 1, 1, 33, 1, 1 };

/* ---- request fixtures ------------------------------------------------- */

struct pkt {
	struct dhcp_header h;
	struct dhcp_builder b;
	uint8_t buf[1500];
};

static void pkt_begin(struct pkt *p, uint32_t xid, uint16_t flags, const char *ciaddr)
{
	p->h = (struct dhcp_header){ .op = BOOTREQUEST, .htype = 1, .hlen = 6, .xid = xid,
				     .flags = flags };
	if (ciaddr)
		p->h.ciaddr = ip(ciaddr);
	memcpy(p->h.chaddr, MAC, 6);
}

static void pkt_start(struct pkt *p, uint8_t type)
{
	assert_int_equal(dhcp_build_init(&p->b, p->buf, sizeof(p->buf), &p->h), 0);
	assert_int_equal(dhcp_build_u8(&p->b, DHCP_OPT_MESSAGE_TYPE, type), 0);
}

static void put(struct pkt *p, uint8_t code, const void *data, size_t len)
{
	assert_int_equal(dhcp_build_option(&p->b, code, data, len), 0);
}

static void put_str(struct pkt *p, uint8_t code, const char *s)
{
	put(p, code, s, strlen(s));
}

static void put_u16(struct pkt *p, uint8_t code, uint16_t v)
{
	uint8_t b[2];

	be16_put(b, v);
	put(p, code, b, 2);
}

/* OVMF's PXE options, in its order (ipxe.md F4.1). */
static void put_ovmf(struct pkt *p, uint16_t arch, const char *cls)
{
	put_u16(p, DHCP_OPT_MAX_MESSAGE_SIZE, 1472);
	put(p, DHCP_OPT_PARAM_REQUEST, OVMF_PRL, sizeof(OVMF_PRL));
	put(p, 97, UUID, sizeof(UUID));
	put(p, 94, (uint8_t[]){ 1, 3, 0 }, 3);
	put_u16(p, 93, arch);
	put_str(p, DHCP_OPT_CLASS_ID, cls);
}

static void parse_pkt(struct pkt *p, struct dhcp_view *v)
{
	int n = dhcp_build_finish(&p->b);

	assert_true(n > 0);
	assert_int_equal(dhcp_parse(v, p->buf, (size_t)n), 0);
}

/* OVMF's broadcast DISCOVER, flags 0x8000 (ipxe.md F4.1). */
static void ovmf_discover(struct dhcp_view *v, uint16_t arch)
{
	static struct pkt p; /* the view points into it */

	pkt_begin(&p, 0x190f49d9, DHCP_FLAG_BROADCAST, NULL);
	pkt_start(&p, DHCP_DISCOVER);
	put_ovmf(&p, arch, "PXEClient:Arch:00007:UNDI:003000");
	parse_pkt(&p, v);
}

/* OVMF's 4011 REQUEST: new xid, ciaddr set, no 54 or 50 (§9). */
static void ovmf_4011_request(struct dhcp_view *v, const char *server_id)
{
	static struct pkt p; /* the view points into it */

	pkt_begin(&p, 0x804abc3c, 0, LEASED);
	pkt_start(&p, DHCP_REQUEST);
	put_ovmf(&p, 7, "PXEClient:Arch:00007:UNDI:003000");
	if (server_id)
		put(&p, DHCP_OPT_SERVER_ID, &(struct in_addr){ ip(server_id).s_addr }, 4);
	parse_pkt(&p, v);
}

struct ipxe_opts {
	bool no_175;
	bool no_77;
	bool rfc3004_77;
};

/* Debian's iPXE DISCOVER, no broadcast flag (ipxe.md F4.2). */
static void ipxe_discover(struct dhcp_view *v, const struct ipxe_opts *o)
{
	static struct pkt p; /* the view points into it */

	pkt_begin(&p, 0xb3b34802, 0, NULL);
	pkt_start(&p, DHCP_DISCOVER);
	put_u16(&p, DHCP_OPT_MAX_MESSAGE_SIZE, 1472);
	put_u16(&p, 93, 7);
	put(&p, 94, (uint8_t[]){ 1, 3, 10 }, 3);
	put_str(&p, DHCP_OPT_CLASS_ID, "PXEClient:Arch:00007:UNDI:003010");
	if (o->rfc3004_77)
		put(&p, 77, "\x04iPXE", 5);
	else if (!o->no_77)
		put_str(&p, 77, "iPXE");
	put(&p, DHCP_OPT_PARAM_REQUEST, IPXE_PRL, sizeof(IPXE_PRL));
	if (!o->no_175)
		put(&p, 175, IPXE_175, sizeof(IPXE_175));
	put(&p, DHCP_OPT_CLIENT_ID, (uint8_t[]){ 1, 0x52, 0x54, 0x00, 0xe2, 0xe0, 0x01 }, 7);
	put(&p, 97, UUID, sizeof(UUID));
	parse_pkt(&p, v);
}

/* OVMF's HTTP Boot DISCOVER: 60 HTTPClient, 93 = 16, no 77/175 (§9). */
static void http_discover(struct dhcp_view *v, uint16_t arch)
{
	static struct pkt p; /* the view points into it */

	pkt_begin(&p, 0x2a2b2c2d, DHCP_FLAG_BROADCAST, NULL);
	pkt_start(&p, DHCP_DISCOVER);
	put_ovmf(&p, arch, "HTTPClient:Arch:00016:UNDI:003000");
	parse_pkt(&p, v);
}

/* ---- the responder under test ----------------------------------------- */

struct env {
	struct proxy_responder pr;
	struct proxy_rx rx;
	struct proxy_tx tx;
	struct proxy_event ev;
	struct dhcp_view req;
	struct dhcp_view rep;
	bool known;
	const char *bound;
	enum proxy_arch bound_arch;
};

static bool known_hook(void *ctx, const uint8_t mac[6], int64_t now)
{
	struct env *e = ctx;

	assert_memory_equal(mac, MAC, 6);
	assert_int_equal(now, 1700000000);
	return e->known;
}

static const char *bound_hook(void *ctx, const uint8_t mac[6], enum proxy_arch arch)
{
	struct env *e = ctx;

	assert_memory_equal(mac, MAC, 6);
	e->bound_arch = arch;
	return e->bound;
}

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));

	assert_non_null(e);
	e->pr = (struct proxy_responder){
		.mode = PROXY_MODE_ALL, .http_port = 80,
		.boot_file = { [PROXY_ARCH_BIOS] = "bios/undionly.kpxe",
			       [PROXY_ARCH_EFI_IA32] = "ia32/ipxe.efi",
			       [PROXY_ARCH_EFI_X64] = "iPXE.nbi/x64/snponly.efi",
			       [PROXY_ARCH_EFI_ARM64] = "arm64/snp.efi" },
		.hooks = { .ctx = e, .known = known_hook, .bound_booter = bound_hook },
	};
	e->rx = (struct proxy_rx){ .if_addr = ip(US), .local_port = DHCP_SERVER_PORT,
				   .src = ip("0.0.0.0"), .src_port = DHCP_CLIENT_PORT,
				   .now = 1700000000 };
	e->bound_arch = PROXY_ARCH_COUNT;
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	free(*state);
	return 0;
}

static enum proxy_verdict respond(struct env *e)
{
	enum proxy_verdict v = proxy_respond(&e->pr, &e->req, &e->rx, &e->tx, &e->ev);

	if (v == PROXY_REPLY) {
		assert_null(e->ev.reason);
		assert_int_equal(dhcp_parse(&e->rep, e->tx.buf, e->tx.len), 0);
	} else {
		assert_non_null(e->ev.reason);
		assert_int_equal(e->tx.len, 0);
	}
	return v;
}

static void assert_addr(struct in_addr a, const char *want)
{
	assert_int_equal(a.s_addr, ip(want).s_addr);
}

static const struct dhcp_option *opt(struct env *e, uint8_t code)
{
	const struct dhcp_option *o = dhcp_option_get(&e->rep, code);

	assert_non_null(o);
	return o;
}

static void assert_opt(struct env *e, uint8_t code, const void *want, size_t len)
{
	const struct dhcp_option *o = opt(e, code);

	assert_int_equal(o->len, len);
	assert_memory_equal(o->data, want, len);
}

static void assert_no_opt(struct env *e, uint8_t code)
{
	assert_null(dhcp_option_get(&e->rep, code));
}

/* What every proxy reply must be: a BOOTREPLY echoing xid, chaddr and
 * flags, yiaddr 0 and no lease options, 54 and siaddr = us, 97 echoed. */
static void assert_proxy_reply(struct env *e, uint8_t type, const char *cls)
{
	static const uint8_t lease_opts[] = { 1, 3, 6, 28, 50, 51, 58, 59 };
	struct in_addr us = ip(US);

	assert_true(e->tx.len >= BOOTP_MIN_LEN && e->tx.len <= PROXY_REPLY_MAX);
	assert_int_equal(e->rep.hdr.op, BOOTREPLY);
	assert_int_equal(e->rep.message_type, type);
	assert_int_equal(e->rep.hdr.xid, e->req.hdr.xid);
	assert_int_equal(e->rep.hdr.flags, e->req.hdr.flags);
	assert_memory_equal(e->rep.hdr.chaddr, e->req.hdr.chaddr, DHCP_CHADDR_LEN);
	assert_int_equal(e->rep.hdr.yiaddr.s_addr, 0);
	assert_addr(e->rep.hdr.siaddr, US);
	assert_opt(e, DHCP_OPT_SERVER_ID, &us.s_addr, 4);
	assert_opt(e, DHCP_OPT_CLASS_ID, cls, strlen(cls));
	assert_opt(e, 97, UUID, sizeof(UUID));
	for (size_t i = 0; i < sizeof(lease_opts); i++)
		assert_no_opt(e, lease_opts[i]);
	assert_int_equal(e->ev.reply_type, type);
	assert_string_equal(e->ev.file, e->rep.hdr.file);
}

/* ipxe.md X3: 43 holds 6 = 8 (PXEBS_SKIP) and no menu (9). */
static void assert_no_menu(struct env *e)
{
	assert_opt(e, DHCP_OPT_VENDOR, (uint8_t[]){ 6, 1, 8, 255 }, 4);
}

static void assert_dst(struct env *e, const char *addr, uint16_t port)
{
	assert_addr(e->tx.dst, addr);
	assert_int_equal(e->tx.dst_port, port);
}

static void assert_silent(struct env *e, const char *reason)
{
	assert_int_equal(respond(e), PROXY_SILENT);
	assert_non_null(strstr(e->ev.reason, reason));
}

/* ---- PXE firmware --------------------------------------------------------- */

/* ipxe.md F4.3: the ProxyDHCPOFFER OVMF takes, broadcast to :68. */
static void ovmf_discover_gets_booter(void **state)
{
	struct env *e = *state;

	ovmf_discover(&e->req, 7);
	assert_int_equal(respond(e), PROXY_REPLY);
	assert_proxy_reply(e, DHCP_OFFER, "PXEClient");
	assert_no_menu(e);
	assert_no_opt(e, 175);
	assert_string_equal(e->rep.hdr.file, "iPXE.nbi/x64/snponly.efi");
	assert_int_equal(e->rep.hdr.ciaddr.s_addr, 0);
	assert_dst(e, "255.255.255.255", DHCP_CLIENT_PORT);
	assert_int_equal(e->ev.kind, PROXY_KIND_PXE);
	assert_int_equal(e->ev.arch, 7);
	assert_memory_equal(e->ev.mac, MAC, 6);
	assert_int_equal(e->bound_arch, PROXY_ARCH_EFI_X64);
}

/* §9: OVMF's 4011 REQUEST, without 54, gets an ACK to ciaddr:4011. */
static void ovmf_4011_request_gets_ack(void **state)
{
	struct env *e = *state;

	e->rx.local_port = PROXY_PORT;
	e->rx.src = ip(LEASED);
	e->rx.src_port = PROXY_PORT;
	ovmf_4011_request(&e->req, NULL);
	assert_int_equal(respond(e), PROXY_REPLY);
	assert_proxy_reply(e, DHCP_ACK, "PXEClient");
	assert_int_equal(e->rep.hdr.xid, 0x804abc3c);
	assert_addr(e->rep.hdr.ciaddr, LEASED);
	assert_string_equal(e->rep.hdr.file, "iPXE.nbi/x64/snponly.efi");
	assert_dst(e, LEASED, PROXY_PORT);
}

static void ovmf_4011_request_naming_us(void **state)
{
	struct env *e = *state;

	e->rx.local_port = PROXY_PORT;
	e->rx.src_port = PROXY_PORT;
	ovmf_4011_request(&e->req, US);
	assert_int_equal(respond(e), PROXY_REPLY);
	ovmf_4011_request(&e->req, SITE);
	assert_silent(e, "another server");
}

/* A DISCOVER on 4011 and a REQUEST on 67 are not the proxy's exchanges. */
static void wrong_exchange_is_silent(void **state)
{
	struct env *e = *state;

	ovmf_4011_request(&e->req, SITE);
	assert_silent(e, "lease REQUEST on port 67");
	e->rx.local_port = PROXY_PORT;
	ovmf_discover(&e->req, 7);
	assert_silent(e, "only REQUEST");
	e->rx.local_port = 68;
	assert_silent(e, "port other than 67 or 4011");
}

/* RFC 4578 types to --boot-file slots; 9 is x64 like 7 (xcat-core#7645). */
static void each_arch_gets_its_booter(void **state)
{
	static const struct {
		uint16_t type;
		const char *file;
	} cases[] = {
		{ 0, "bios/undionly.kpxe" },       { 6, "ia32/ipxe.efi" },
		{ 7, "iPXE.nbi/x64/snponly.efi" }, { 9, "iPXE.nbi/x64/snponly.efi" },
		{ 11, "arm64/snp.efi" },
	};
	struct env *e = *state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ovmf_discover(&e->req, cases[i].type);
		assert_int_equal(respond(e), PROXY_REPLY);
		assert_string_equal(e->rep.hdr.file, cases[i].file);
		assert_int_equal(e->ev.arch, cases[i].type);
	}
}

static void unserved_arch_is_silent(void **state)
{
	struct env *e = *state;

	ovmf_discover(&e->req, 10); /* arm32 */
	assert_silent(e, "no boot-file slot");
	ovmf_discover(&e->req, 16); /* HTTP Boot's type with PXEClient */
	assert_silent(e, "HTTP Boot, but the class is PXEClient");
	e->pr.boot_file[PROXY_ARCH_EFI_ARM64] = NULL;
	ovmf_discover(&e->req, 11);
	assert_silent(e, "no boot file for this architecture");
	assert_int_equal(e->ev.arch, 11);
	assert_int_equal(e->ev.kind, PROXY_KIND_PXE);
}

/* The Mac's BSDP choice decides what the same MAC gets (§9). */
static void bound_mac_gets_its_booter(void **state)
{
	struct env *e = *state;

	e->bound = "iPXE-test.nbi/i386/booter";
	ovmf_discover(&e->req, 7);
	assert_int_equal(respond(e), PROXY_REPLY);
	assert_string_equal(e->rep.hdr.file, "iPXE-test.nbi/i386/booter");
	/* Even with no --boot-file for the arch. */
	e->pr.boot_file[PROXY_ARCH_EFI_X64] = NULL;
	assert_int_equal(respond(e), PROXY_REPLY);
	assert_string_equal(e->rep.hdr.file, "iPXE-test.nbi/i386/booter");
}

/* RFC 2131 §4.1: a relayed DISCOVER is answered to giaddr:67, with the
 * relay agent option echoed (RFC 3046 §2.2). */
static void relayed_discover_goes_to_relay(void **state)
{
	static const uint8_t agent[] = { 1, 4, 'p', 'o', 'r', 't' };
	struct env *e = *state;
	struct pkt p;

	pkt_begin(&p, 0x11223344, 0, NULL);
	p.h.giaddr = ip(RELAY);
	p.h.hops = 1;
	pkt_start(&p, DHCP_DISCOVER);
	put_ovmf(&p, 7, "PXEClient:Arch:00007:UNDI:003000");
	put(&p, 82, agent, sizeof(agent));
	parse_pkt(&p, &e->req);
	assert_int_equal(respond(e), PROXY_REPLY);
	assert_proxy_reply(e, DHCP_OFFER, "PXEClient");
	assert_addr(e->rep.hdr.giaddr, RELAY);
	assert_int_equal(e->rep.hdr.hops, 0);
	assert_opt(e, 82, agent, sizeof(agent));
	assert_dst(e, RELAY, DHCP_SERVER_PORT);
}

/* RFC 2131 §4.1: a client with an address is unicast at ciaddr:68. */
static void discover_with_ciaddr_is_unicast(void **state)
{
	struct env *e = *state;
	struct pkt p;

	pkt_begin(&p, 0x55667788, 0, LEASED);
	pkt_start(&p, DHCP_DISCOVER);
	put_ovmf(&p, 7, "PXEClient:Arch:00007:UNDI:003000");
	parse_pkt(&p, &e->req);
	assert_int_equal(respond(e), PROXY_REPLY);
	assert_int_equal(e->rep.hdr.ciaddr.s_addr, 0); /* table 3: OFFER ciaddr 0 */
	assert_dst(e, LEASED, DHCP_CLIENT_PORT);
}

/* Without 97 (Intel ROMs, pixiecore#21) the reply carries none. */
static void no_uuid_no_echo(void **state)
{
	struct env *e = *state;
	struct pkt p;

	pkt_begin(&p, 1, 0, NULL);
	pkt_start(&p, DHCP_DISCOVER);
	put_u16(&p, 93, 0);
	put_str(&p, DHCP_OPT_CLASS_ID, "PXEClient:Arch:00000:UNDI:002001");
	parse_pkt(&p, &e->req);
	assert_int_equal(respond(e), PROXY_REPLY);
	assert_no_opt(e, 97);
	assert_string_equal(e->rep.hdr.file, "bios/undionly.kpxe");
}

static void malformed_markers_are_silent(void **state)
{
	struct env *e = *state;
	struct pkt p;

	pkt_begin(&p, 1, 0, NULL);
	pkt_start(&p, DHCP_DISCOVER);
	put(&p, 93, "\x00", 1);
	put_str(&p, DHCP_OPT_CLASS_ID, "PXEClient");
	parse_pkt(&p, &e->req);
	assert_silent(e, "option 93 is not");
	pkt_start(&p, DHCP_DISCOVER);
	put_u16(&p, 93, 7);
	put(&p, 97, UUID, 16);
	put_str(&p, DHCP_OPT_CLASS_ID, "PXEClient");
	parse_pkt(&p, &e->req);
	assert_silent(e, "option 97 is not");
	pkt_start(&p, DHCP_DISCOVER);
	put_str(&p, DHCP_OPT_CLASS_ID, "PXEClient:Arch:00007");
	parse_pkt(&p, &e->req);
	assert_silent(e, "no client architecture");
	p.h.htype = 6; /* IEEE 802 */
	pkt_start(&p, DHCP_DISCOVER);
	put_ovmf(&p, 7, "PXEClient");
	parse_pkt(&p, &e->req);
	assert_silent(e, "not an Ethernet MAC");
	assert_false(e->ev.has_mac);
}

/* ---- iPXE ------------------------------------------------------------- */

#define SCRIPT_QUERY "/boot.ipxe?mac=${mac:hexhyp}&uuid=${uuid}&arch=${buildarch}&platform=${platform}"

/* §4.3: the offer iPXE takes, plus 175.1 so ours wins over the site's
 * filename (ipxe.md X4, ipxe.md F6.3); never the booter again. */
static void ipxe_discover_gets_script(void **state)
{
	struct env *e = *state;

	ipxe_discover(&e->req, &(struct ipxe_opts){ 0 });
	assert_int_equal(respond(e), PROXY_REPLY);
	assert_proxy_reply(e, DHCP_OFFER, "PXEClient");
	assert_no_menu(e);
	assert_opt(e, 175, (uint8_t[]){ 1, 1, 1 }, 3);
	assert_string_equal(e->rep.hdr.file, "http://" US SCRIPT_QUERY);
	assert_true((int8_t)opt(e, 175)->data[2] > 0);
	assert_dst(e, "255.255.255.255", DHCP_CLIENT_PORT);
	assert_int_equal(e->ev.kind, PROXY_KIND_IPXE);
	assert_int_equal(e->bound_arch, PROXY_ARCH_COUNT); /* no booter lookup */
}

static void ipxe_by_175_or_77_alone(void **state)
{
	struct env *e = *state;

	ipxe_discover(&e->req, &(struct ipxe_opts){ .no_77 = true });
	assert_int_equal(respond(e), PROXY_REPLY);
	assert_int_equal(e->ev.kind, PROXY_KIND_IPXE);
	ipxe_discover(&e->req, &(struct ipxe_opts){ .no_175 = true });
	assert_int_equal(respond(e), PROXY_REPLY);
	assert_int_equal(e->ev.kind, PROXY_KIND_IPXE);
	ipxe_discover(&e->req, &(struct ipxe_opts){ .no_175 = true, .rfc3004_77 = true });
	assert_int_equal(respond(e), PROXY_REPLY);
	assert_int_equal(e->ev.kind, PROXY_KIND_IPXE);
	/* Neither marker: PXE firmware, which gets the booter. */
	ipxe_discover(&e->req, &(struct ipxe_opts){ .no_175 = true, .no_77 = true });
	assert_int_equal(respond(e), PROXY_REPLY);
	assert_int_equal(e->ev.kind, PROXY_KIND_PXE);
	assert_string_equal(e->rep.hdr.file, "iPXE.nbi/x64/snponly.efi");
}

static void ipxe_script_port(void **state)
{
	struct env *e = *state;

	e->pr.http_port = 8080;
	ipxe_discover(&e->req, &(struct ipxe_opts){ 0 });
	assert_int_equal(respond(e), PROXY_REPLY);
	assert_string_equal(e->rep.hdr.file, "http://" US ":8080" SCRIPT_QUERY);
	e->pr.http_port = 0;
	assert_silent(e, "--no-http");
}

/* ---- UEFI HTTP Boot ------------------------------------------------------- */

/* §9: 60 = HTTPClient and the booter's URL in the file field, no 43. */
static void http_boot_gets_booter_url(void **state)
{
	struct env *e = *state;

	http_discover(&e->req, 16);
	assert_int_equal(respond(e), PROXY_REPLY);
	assert_proxy_reply(e, DHCP_OFFER, "HTTPClient");
	assert_no_opt(e, DHCP_OPT_VENDOR);
	assert_no_opt(e, 175);
	assert_string_equal(e->rep.hdr.file, "http://" US "/iPXE.nbi/x64/snponly.efi");
	assert_int_equal(e->ev.kind, PROXY_KIND_HTTP_BOOT);
	assert_int_equal(e->bound_arch, PROXY_ARCH_HTTP_X64);
	e->pr.boot_file[PROXY_ARCH_HTTP_X64] = "http/boot x64.efi";
	e->pr.http_port = 8080;
	assert_int_equal(respond(e), PROXY_REPLY);
	assert_string_equal(e->rep.hdr.file, "http://" US ":8080/http/boot%20x64.efi");
}

static void http_boot_refusals(void **state)
{
	struct env *e = *state;

	http_discover(&e->req, 15); /* x86 UEFI HTTP */
	assert_silent(e, "other than x64");
	http_discover(&e->req, 16);
	e->pr.http_port = 0;
	assert_silent(e, "--no-http");
	e->pr.http_port = 80;
	e->pr.boot_file[PROXY_ARCH_EFI_X64] = NULL;
	assert_silent(e, "no boot file for http-x64");
}

/* ---- clients that are not ours ------------------------------------------ */

/* A Mac's INFORM[LIST], and a Mac DISCOVER that also sends 93. */
static void mac_is_silent(void **state)
{
	struct env *e = *state;
	uint8_t buf[1500];
	size_t n = build_request(buf, sizeof(buf), &(struct req){ .bsdp_type = BSDP_LIST });
	struct pkt p;

	assert_int_equal(dhcp_parse(&e->req, buf, n), 0);
	assert_silent(e, "AAPLBSDPC");
	pkt_begin(&p, 1, 0, NULL);
	pkt_start(&p, DHCP_DISCOVER);
	put_ovmf(&p, 7, "AAPLBSDPC/i386/MacBookPro11,3");
	parse_pkt(&p, &e->req);
	assert_silent(e, "AAPLBSDPC");
}

static void plain_dhcp_is_silent(void **state)
{
	struct env *e = *state;
	struct pkt p;

	pkt_begin(&p, 0x0badcafe, 0, NULL);
	pkt_start(&p, DHCP_DISCOVER);
	put(&p, DHCP_OPT_CLIENT_ID, (uint8_t[]){ 1, 0x52, 0x54, 0x00, 0xe2, 0xe0, 0x01 }, 7);
	put_str(&p, 12, "udhcpc-host");
	put(&p, DHCP_OPT_PARAM_REQUEST, (uint8_t[]){ 1, 3, 6, 12, 15, 28, 42 }, 7);
	put_str(&p, DHCP_OPT_CLASS_ID, "udhcp 1.35.0");
	parse_pkt(&p, &e->req);
	assert_silent(e, "plain DHCP client");
	assert_true(e->ev.has_mac);
	assert_false(e->ev.has_kind);
}

/* ---- modes ---------------------------------------------------------------- */

static void known_mode(void **state)
{
	struct env *e = *state;

	e->pr.mode = PROXY_MODE_KNOWN;
	ovmf_discover(&e->req, 7);
	assert_silent(e, "not known");
	e->known = true;
	assert_int_equal(respond(e), PROXY_REPLY);
	e->pr.hooks.known = NULL;
	assert_silent(e, "not known");
}

static void off_mode(void **state)
{
	struct env *e = *state;

	e->pr.mode = PROXY_MODE_OFF;
	e->known = true;
	ipxe_discover(&e->req, &(struct ipxe_opts){ 0 });
	assert_silent(e, "off");
}

/* ---- start-up: flags ------------------------------------------------------ */

static void boot_file_names_and_numbers(void **state)
{
	static const struct {
		const char *arg;
		enum proxy_arch arch;
	} ok[] = {
		{ "bios=a", PROXY_ARCH_BIOS },          { "0=a", PROXY_ARCH_BIOS },
		{ "efi-ia32=a", PROXY_ARCH_EFI_IA32 },  { "6=a", PROXY_ARCH_EFI_IA32 },
		{ "efi-x64=a", PROXY_ARCH_EFI_X64 },    { "7=a", PROXY_ARCH_EFI_X64 },
		{ "9=a", PROXY_ARCH_EFI_X64 },          { "efi-arm64=a", PROXY_ARCH_EFI_ARM64 },
		{ "11=a", PROXY_ARCH_EFI_ARM64 },       { "http-x64=a", PROXY_ARCH_HTTP_X64 },
		{ "16=a", PROXY_ARCH_HTTP_X64 },
	};
	struct proxy_boot_file bf;
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(proxy_boot_file_parse(ok[i].arg, &bf, err, sizeof(err)), 0);
		assert_int_equal(bf.arch, ok[i].arch);
		assert_string_equal(bf.path, "a");
	}
	assert_int_equal(proxy_boot_file_parse("efi-x64=iPXE.nbi/i386/booter", &bf, err,
					       sizeof(err)), 0);
	assert_string_equal(bf.path, "iPXE.nbi/i386/booter");
}

static void boot_file_errors(void **state)
{
	static const struct {
		const char *arg;
		const char *msg;
	} bad[] = {
		{ "snponly.efi", "expected ARCH=PATH" },
		{ "efi-x86=a", "unknown ARCH \"efi-x86\"" },
		{ "10=a", "unknown ARCH \"10\"" },
		{ "=a", "unknown ARCH \"\"" },
		{ "99999999=a", "unknown ARCH" },
		{ "bios=", "is empty" },
		{ "bios=/srv/a", "relative to --root" },
		{ "bios=a/../../etc/passwd", "\"..\"" },
		{ "bios=./a", "\".\"" },
		{ "bios=a//b", "empty path component" },
		{ "bios=a/", "empty path component" },
	};
	struct proxy_boot_file bf;
	char err[512], longarg[200];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(proxy_boot_file_parse(bad[i].arg, &bf, err, sizeof(err)), -EINVAL);
		assert_non_null(strstr(err, bad[i].msg));
		assert_non_null(strstr(err, bad[i].arg)); /* names the value */
	}
	snprintf(longarg, sizeof(longarg), "bios=%0128d", 0);
	assert_int_equal(proxy_boot_file_parse(longarg, &bf, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "127 bytes"));
}

static void mode_names(void **state)
{
	enum proxy_mode m;

	(void)state;
	assert_int_equal(proxy_mode_parse("off", &m), 0);
	assert_int_equal(m, PROXY_MODE_OFF);
	assert_int_equal(proxy_mode_parse("known", &m), 0);
	assert_int_equal(m, PROXY_MODE_KNOWN);
	assert_int_equal(proxy_mode_parse("all", &m), 0);
	assert_int_equal(m, PROXY_MODE_ALL);
	assert_int_equal(proxy_mode_parse("on", &m), -EINVAL);
}

/* ---- start-up: the boot files --------------------------------------------- */

static enum proxy_file_verdict check_file(const char *dir, const char *name,
					  enum proxy_arch arch, struct proxy_file_check *out)
{
	char path[PATH_MAX];
	int fd, r;

	PATHF(path, "%s/%s", dir, name);
	fd = open(path, O_RDONLY);
	r = proxy_boot_file_check(arch, name, fd < 0 ? -errno : fd, out);
	if (fd >= 0)
		close(fd);
	assert_int_equal(r, out->verdict == PROXY_FILE_OK ? 0 : -EINVAL);
	assert_non_null(strstr(out->message, name));
	assert_non_null(strstr(out->message, proxy_arch_name(arch)));
	return out->verdict;
}

static void write_fat(const char *dir, const char *name)
{
	struct pe_spec s32 = PE_IA32, s64 = PE_X64;
	uint8_t a[4096], b[4096], out[16384];
	struct fat_part parts[2] = { { FAT_CPU_X86, a, pe_make(a, &s32) },
				     { FAT_CPU_X86_64, b, pe_make(b, &s64) } };
	struct wr w = wr_init(out, sizeof(out));
	char path[PATH_MAX];

	assert_int_equal(fat_build(&w, parts, 2), 0);
	PATHF(path, "%s/%s", dir, name);
	write_file(path, out, w.len);
}

static void boot_file_check(void **state)
{
	struct pe_spec x64 = PE_X64, ia32 = PE_IA32, arm64 = PE_X64, drv = PE_X64;
	struct proxy_file_check c;
	char *root = make_root(), path[PATH_MAX];

	(void)state;
	arm64.machine = PE_MACHINE_ARM64;
	drv.subsystem = PE_SUBSYSTEM_EFI_BOOT_DRIVER;
	free(write_pe(root, "x64.efi", &x64));
	free(write_pe(root, "ia32.efi", &ia32));
	free(write_pe(root, "arm64.efi", &arm64));
	free(write_pe(root, "driver.efi", &drv));
	write_fat(root, "booter");
	PATHF(path, "%s/undionly.kpxe", root);
	write_file(path, "\xeb\x40\x00\x01\xfa\xfcPXENV+\x00\x00!PXE", 16);
	PATHF(path, "%s/empty", root);
	write_file(path, "", 0);

	assert_int_equal(check_file(root, "x64.efi", PROXY_ARCH_EFI_X64, &c), PROXY_FILE_OK);
	assert_int_equal(check_file(root, "x64.efi", PROXY_ARCH_HTTP_X64, &c), PROXY_FILE_OK);
	assert_int_equal(check_file(root, "ia32.efi", PROXY_ARCH_EFI_IA32, &c), PROXY_FILE_OK);
	assert_int_equal(check_file(root, "arm64.efi", PROXY_ARCH_EFI_ARM64, &c), PROXY_FILE_OK);
	assert_int_equal(check_file(root, "undionly.kpxe", PROXY_ARCH_BIOS, &c), PROXY_FILE_OK);
	assert_int_equal(check_file(root, "ia32.efi", PROXY_ARCH_EFI_X64, &c),
			 PROXY_FILE_WRONG_TYPE);
	assert_non_null(strstr(c.message, "not a x86-64 EFI application"));
	assert_int_equal(check_file(root, "x64.efi", PROXY_ARCH_EFI_ARM64, &c),
			 PROXY_FILE_WRONG_TYPE);
	assert_int_equal(check_file(root, "driver.efi", PROXY_ARCH_EFI_X64, &c),
			 PROXY_FILE_WRONG_TYPE);
	assert_int_equal(check_file(root, "undionly.kpxe", PROXY_ARCH_EFI_X64, &c),
			 PROXY_FILE_WRONG_TYPE);
	assert_non_null(strstr(c.message, "BIOS PXE"));
	assert_int_equal(check_file(root, "x64.efi", PROXY_ARCH_BIOS, &c), PROXY_FILE_WRONG_TYPE);
	assert_int_equal(check_file(root, "empty", PROXY_ARCH_BIOS, &c), PROXY_FILE_WRONG_TYPE);
	assert_int_equal(check_file(root, "booter", PROXY_ARCH_EFI_X64, &c), PROXY_FILE_APPLE_FAT);
	assert_non_null(strstr(c.message, "Apple fat"));
	assert_int_equal(check_file(root, "booter", PROXY_ARCH_EFI_IA32, &c), PROXY_FILE_APPLE_FAT);
	assert_int_equal(check_file(root, "missing.efi", PROXY_ARCH_EFI_X64, &c),
			 PROXY_FILE_MISSING);
	assert_non_null(strstr(c.message, "not found under the root"));
	assert_int_equal(proxy_boot_file_check(PROXY_ARCH_BIOS, "dev", -EXDEV, &c), -EINVAL);
	assert_int_equal(c.verdict, PROXY_FILE_UNREADABLE);
	assert_non_null(strstr(c.message, "leaves the root"));
	remove_root(root);
}

/* The default NetBoot image's booter: IsDefault first (catalog order),
 * skipping disabled and model-restricted images. */
static void default_booter_from_catalog(void **state)
{
	struct nb_catalog cat;
	char *root = make_root(), path[128];

	(void)state;
	add_bundle(root, "A-Restricted", IPXE_BODY(101, "R",
		   "<key>IsDefault</key><true/>\n<key>EnabledSystemIdentifiers</key>"
		   "<array><string>MacBookPro11,3</string></array>\n"));
	add_bundle(root, "B-Off", IPXE_BODY(102, "Off", "<key>IsEnabled</key><false/>\n"));
	add_bundle(root, "C-Plain", IPXE_BODY(103, "Plain", ""));
	add_bundle(root, "D-Default", IPXE_BODY(104, "Default", "<key>IsDefault</key><true/>\n"));
	assert_int_equal(nb_catalog_load(root, &cat), 0);
	assert_int_equal(cat.n_images, 4);
	assert_int_equal(proxy_default_booter(&cat, path, sizeof(path)), 0);
	assert_string_equal(path, "D-Default.nbi/i386/booter");
	assert_int_equal(proxy_default_booter(&cat, path, 10), -ENAMETOOLONG);
	nb_catalog_clear(&cat);
	remove_root(root);
}

static void default_booter_none(void **state)
{
	struct nb_catalog cat;
	char *root = make_root(), path[128];

	(void)state;
	add_bundle(root, "Off", IPXE_BODY(102, "Off", "<key>IsEnabled</key><false/>\n"));
	assert_int_equal(nb_catalog_load(root, &cat), 0);
	assert_int_equal(proxy_default_booter(&cat, path, sizeof(path)), -ENOENT);
	nb_catalog_clear(&cat);
	remove_root(root);
}

/* ---- an independent reading ------------------------------------------------ */

static void write_hexdump(const char *path, const uint8_t *b, size_t n)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	for (size_t i = 0; i < n; i++) {
		if (i % 16 == 0)
			fprintf(f, "%s%06zx", i ? "\n" : "", i);
		fprintf(f, " %02x", b[i]);
	}
	fputc('\n', f);
	assert_int_equal(fclose(f), 0);
}

static char *run_tshark(const char *dir)
{
	char cmd[4 * PATH_MAX], path[PATH_MAX];
	char *out = calloc(1, 1 << 16);
	FILE *f;

	PATHF(cmd, "cd %s && text2pcap -q -u 67,68 reply.hex reply.pcap && "
		   "tshark -n -r reply.pcap -V > decoded.txt 2>&1", dir);
	assert_int_equal(system(cmd), 0);
	PATHF(path, "%s/decoded.txt", dir);
	f = fopen(path, "r");
	assert_non_null(f);
	assert_non_null(out);
	assert_true(fread(out, 1, (1 << 16) - 1, f) > 0);
	fclose(f);
	return out;
}

/* Wireshark's DHCP dissector reads the iPXE offer on its own: a DHCP
 * Offer with yiaddr 0, our 54 and 60, 43.6 = 8, 175.1, and nothing it
 * calls malformed.  Skipped where the wireshark tools are not installed. */
static void tshark_decodes_reply(void **state)
{
	struct env *e = *state;
	char *dir, path[PATH_MAX], *out;

	if (system("command -v text2pcap >/dev/null && command -v tshark >/dev/null") != 0)
		skip();
	ipxe_discover(&e->req, &(struct ipxe_opts){ 0 });
	assert_int_equal(respond(e), PROXY_REPLY);
	dir = make_root();
	PATHF(path, "%s/reply.hex", dir);
	write_hexdump(path, e->tx.buf, e->tx.len);
	out = run_tshark(dir);
	assert_non_null(strstr(out, "Dynamic Host Configuration Protocol (Offer)"));
	assert_non_null(strstr(out, "Your (client) IP address: 0.0.0.0"));
	assert_non_null(strstr(out, "Next server IP address: " US));
	assert_non_null(strstr(out, "Boot file name: http://" US SCRIPT_QUERY));
	assert_non_null(strstr(out, "DHCP Server Identifier: " US));
	assert_non_null(strstr(out, "Vendor class identifier: PXEClient"));
	assert_non_null(strstr(out, "(6) PXE discovery control"));
	assert_non_null(strstr(out, "discovery control: 0x08"));
	assert_non_null(strstr(out, "Option: (175)"));
	assert_null(strstr(out, "Malformed"));
	assert_null(strstr(out, "Expert Info"));
	free(out);
	remove_root(dir);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(ovmf_discover_gets_booter),
		T(ovmf_4011_request_gets_ack),
		T(ovmf_4011_request_naming_us),
		T(wrong_exchange_is_silent),
		T(each_arch_gets_its_booter),
		T(unserved_arch_is_silent),
		T(bound_mac_gets_its_booter),
		T(relayed_discover_goes_to_relay),
		T(discover_with_ciaddr_is_unicast),
		T(no_uuid_no_echo),
		T(malformed_markers_are_silent),
		T(ipxe_discover_gets_script),
		T(ipxe_by_175_or_77_alone),
		T(ipxe_script_port),
		T(http_boot_gets_booter_url),
		T(http_boot_refusals),
		T(mac_is_silent),
		T(plain_dhcp_is_silent),
		T(known_mode),
		T(off_mode),
		T(tshark_decodes_reply),
		cmocka_unit_test(boot_file_names_and_numbers),
		cmocka_unit_test(boot_file_errors),
		cmocka_unit_test(mode_names),
		cmocka_unit_test(boot_file_check),
		cmocka_unit_test(default_booter_from_catalog),
		cmocka_unit_test(default_booter_none),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
