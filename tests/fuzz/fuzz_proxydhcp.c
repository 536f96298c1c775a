/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for proxyDHCP: dhcp_parse() then proxy_respond(), on
 * port 67 and on 4011, in mode "all" with a booter for every arch and a
 * bound-booter hook.  Besides the sanitizers it checks what must hold for
 * every reply: it parses, is a BOOTREPLY with yiaddr 0, carries no lease
 * option, echoes xid and chaddr, and answers only a request that carries
 * the PXE, HTTP Boot or iPXE markers and no Mac's class.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "bsdp.h"
#include "proxydhcp.h"

static const char *bound(void *ctx, const uint8_t mac[6], enum proxy_arch arch)
{
	(void)ctx;
	(void)arch;
	return mac[5] & 1 ? "Bound.nbi/i386/booter" : NULL;
}

static const struct proxy_responder pr = {
	.mode = PROXY_MODE_ALL, .http_port = 8080,
	.boot_file = { "bios/undionly.kpxe", "ia32/ipxe.efi", "iPXE.nbi/x64/snponly.efi",
		       "arm64/snp.efi", "http/snponly.efi" },
	.hooks = { .bound_booter = bound },
};

static bool has_prefix(const struct dhcp_view *v, uint8_t code, const char *p)
{
	const struct dhcp_option *o = dhcp_option_get(v, code);

	return o && o->len >= strlen(p) && memcmp(o->data, p, strlen(p)) == 0;
}

/* The markers proxy_classify() looks for, checked independently. */
static bool is_boot_client(const struct dhcp_view *v)
{
	if (has_prefix(v, DHCP_OPT_CLASS_ID, BSDP_CLASS))
		return false;
	return has_prefix(v, DHCP_OPT_CLASS_ID, "PXEClient") ||
	       has_prefix(v, DHCP_OPT_CLASS_ID, "HTTPClient") || dhcp_option_get(v, 175) ||
	       has_prefix(v, 77, "iPXE") || has_prefix(v, 77, "\x04iPXE");
}

static void check_reply(const struct dhcp_view *req, const struct proxy_tx *tx)
{
	static const uint8_t lease_opts[] = { 1, 3, 6, 28, 50, 51, 58, 59 };
	static struct dhcp_view v;

	if (tx->len > sizeof(tx->buf) || dhcp_parse(&v, tx->buf, tx->len) < 0)
		abort();
	if (v.hdr.op != BOOTREPLY || v.hdr.yiaddr.s_addr != 0 || v.hdr.xid != req->hdr.xid ||
	    memcmp(v.hdr.chaddr, req->hdr.chaddr, DHCP_CHADDR_LEN) != 0)
		abort();
	for (size_t i = 0; i < sizeof(lease_opts); i++)
		if (dhcp_option_get(&v, lease_opts[i]))
			abort();
	if (!is_boot_client(req) || !dhcp_option_get(&v, DHCP_OPT_SERVER_ID))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct dhcp_view view;
	static struct proxy_tx tx;
	static const uint16_t ports[] = { DHCP_SERVER_PORT, PROXY_PORT };
	struct proxy_event ev;

	if (dhcp_parse(&view, data, size) < 0)
		return 0;
	for (size_t i = 0; i < 2; i++) {
		struct proxy_rx rx = { .if_addr = { htonl(0x0a4d0002) }, .local_port = ports[i],
				       .src = { htonl(0x0a4d008d) }, .src_port = ports[i], .now = 1 };

		if (proxy_respond(&pr, &view, &rx, &tx, &ev) == PROXY_REPLY)
			check_reply(&view, &tx);
		else if (!ev.reason)
			abort();
	}
	return 0;
}
