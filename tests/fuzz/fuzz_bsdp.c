/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the BSDP packet handler: one datagram in, at most
 * one reply out.  Besides the sanitizers, it checks what must hold for
 * every reply: it parses, never offers an address, is no larger than the
 * buffer, every option-43 instance holds whole sub-options, and it goes to
 * one host: never to a broadcast, multicast or reserved address, except
 * the OFFER to a bound client on the link, which Apple broadcasts.
 */
#include <arpa/inet.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bindings.h"
#include "responder.h"

static struct nb_catalog catalog;
static struct bsdp_responder rs;

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f || fputs(text, f) < 0 || fclose(f) != 0)
		abort();
}

/* Creates root/rel: a directory when text is NULL, else a file. */
static void put(const char *root, const char *rel, const char *text)
{
	char p[512];

	snprintf(p, sizeof(p), "%s/%s", root, rel);
	if (!text && mkdir(p, 0755) < 0)
		abort();
	if (text)
		write_text(p, text);
}

/* Two images: a BootFileOnly default and an HTTP install image. */
static void make_root(char *root)
{
	if (!mkdtemp(root))
		abort();
	put(root, "A.nbi", NULL);
	put(root, "A.nbi/i386", NULL);
	put(root, "A.nbi/i386/booter", "MZ");
	put(root, "A.nbi/NBImageInfo.plist",
	    "<plist version=\"1.0\"><dict>"
	    "<key>Architectures</key><array><string>i386</string></array>"
	    "<key>BootFile</key><string>booter</string><key>Index</key><integer>101</integer>"
	    "<key>Kind</key><integer>1</integer><key>Name</key><string>iPXE</string>"
	    "<key>IsDefault</key><true/><key>Type</key><string>BootFileOnly</string>"
	    "</dict></plist>");
	put(root, "B.nbi", NULL);
	put(root, "B.nbi/i386", NULL);
	put(root, "B.nbi/i386/booter", "MZ");
	put(root, "B.nbi/NetInstall.dmg", "dmg");
	put(root, "B.nbi/NBImageInfo.plist",
	    "<plist version=\"1.0\"><dict>"
	    "<key>Architectures</key><array><string>i386</string></array>"
	    "<key>BootFile</key><string>booter</string><key>Index</key><integer>4096</integer>"
	    "<key>IsInstall</key><true/><key>Name</key><string>Install</string>"
	    "<key>Type</key><string>HTTP</string>"
	    "<key>RootPath</key><string>NetInstall.dmg</string></dict></plist>");
}

static char root[] = "/tmp/fuzz-bsdp-XXXXXX";

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* The catalog is in memory once loaded; the scratch root can go at exit. */
static void remove_root(void)
{
	nftw(root, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	make_root(root);
	atexit(remove_root);
	if (nb_catalog_load(root, &catalog) < 0 || catalog.n_images != 2)
		abort();
	rs = (struct bsdp_responder){ .catalog = &catalog, .priority = BSDP_PRIORITY_BASE,
				      .hostname = "fuzz", .bindings = bindings_open(NULL, NULL, NULL, NULL) };
	if (!rs.bindings)
		abort();
	return 0;
}

static int whole_suboption(uint8_t tag, const uint8_t *data, uint8_t len, void *ctx)
{
	(void)tag;
	(void)data;
	(void)len;
	(void)ctx;
	return 0;
}

static void check_reply(const struct bsdp_tx *tx)
{
	static struct dhcp_view v;

	if (tx->len > sizeof(tx->buf) || dhcp_parse(&v, tx->buf, tx->len) < 0)
		abort();
	if (v.hdr.yiaddr.s_addr != 0 || v.hdr.op != BOOTREPLY)
		abort();
	if (bsdp_foreach_suboption(&v, whole_suboption, NULL) < 0)
		abort();
}

#define IF_ADDR 0xc6120001u /* 198.18.0.1/24 */
#define IF_MASK 0xffffff00u

/* An address one host holds: not 0/8, 127/8, 224/4, 240/4 (with the
 * broadcast address), nor the server's own. */
static bool host_address(uint32_t h)
{
	return h >> 24 != 0 && h >> 24 != 127 && h >> 28 < 0xe && h != IF_ADDR;
}

/* ACKs go to ciaddr: a host, on the link's /24 and neither its network nor
 * its broadcast address unless relayed.  An OFFER goes to the relay, or
 * is broadcast to port 68 on the link. */
static void check_destination(const struct bsdp_tx *tx, const struct bsdp_event *ev)
{
	uint32_t dst = ntohl(tx->dst.s_addr), gi = ntohl(ev->giaddr.s_addr);

	if (strcmp(ev->reply, "OFFER") == 0) {
		if (gi == 0 && dst == INADDR_BROADCAST && tx->dst_port == 68)
			return;
		if (gi == 0 || dst != gi || !host_address(dst))
			abort();
		return;
	}
	if (tx->dst.s_addr != ev->ciaddr.s_addr || !host_address(dst))
		abort();
	if (gi == 0 && ((dst & IF_MASK) != (IF_ADDR & IF_MASK) || (dst & ~IF_MASK) == 0 ||
			(dst & ~IF_MASK) == ~IF_MASK))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct bsdp_tx tx;
	struct bsdp_rx rx = { .if_addr = { htonl(IF_ADDR) }, .if_netmask = { htonl(IF_MASK) },
			      .now = 1 };
	struct bsdp_event ev;

	if (bsdp_respond(&rs, data, size, &rx, &tx, &ev) != BSDP_REPLY)
		return 0;
	check_reply(&tx);
	if (ev.drop != BSDP_DROP_NONE)
		abort();
	check_destination(&tx, &ev);
	return 0;
}
