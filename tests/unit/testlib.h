/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the cmocka tests: a scratch image root with bundles
 * written from plist fragments, a request builder that speaks like a Mac,
 * and a reply decoder that keeps each option-43 instance apart.
 */
#ifndef BSDPD_TESTLIB_H
#define BSDPD_TESTLIB_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bsdp.h"
#include "dhcp.h"

/* ---- scratch image roots ------------------------------------------------- */

static inline void write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static inline char *make_root(void)
{
	char *root = strdup("/tmp/bsdpd-test-XXXXXX");

	assert_non_null(root);
	assert_non_null(mkdtemp(root));
	return root;
}

static inline int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static inline void remove_root(char *root)
{
	nftw(root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(root);
}

/* Writes root/<name>.nbi/NBImageInfo.plist holding the <dict> body, and an
 * empty boot file i386/booter. */
static inline void add_bundle(const char *root, const char *name, const char *dict_body)
{
	char path[PATH_MAX], *xml = NULL;
	int n;

	snprintf(path, sizeof(path), "%s/%s.nbi", root, name);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/%s.nbi/i386", root, name);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/%s.nbi/i386/booter", root, name);
	write_file(path, "MZ", 2);
	n = asprintf(&xml, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
			   "<plist version=\"1.0\">\n<dict>\n%s</dict>\n</plist>\n", dict_body);
	assert_true(n > 0);
	snprintf(path, sizeof(path), "%s/%s.nbi/NBImageInfo.plist", root, name);
	write_file(path, xml, (size_t)n);
	free(xml);
}

/* A typical iPXE bundle body: BootFileOnly, i386, Kind 1, the given Index. */
#define IPXE_BODY(index, name, extra)                                              \
	"<key>Architectures</key><array><string>i386</string></array>\n"           \
	"<key>BootFile</key><string>booter</string>\n"                             \
	"<key>Index</key><integer>" #index "</integer>\n"                          \
	"<key>Kind</key><integer>1</integer>\n"                                    \
	"<key>Name</key><string>" name "</string>\n"                               \
	"<key>Type</key><string>BootFileOnly</string>\n" extra

/* ---- requests -------------------------------------------------------------- */

struct req {
	uint8_t dhcp_type;         /* DHCP_INFORM by default */
	uint8_t bsdp_type;         /* 0: no sub-option 1 */
	uint16_t version;          /* 0x0101 unless set; NO_VERSION to omit */
	const char *cls;           /* option 60; NULL for "AAPLBSDPC/i386/MacBookPro11,3" */
	const char *ciaddr;        /* NULL for 198.18.0.2 */
	const char *giaddr;
	const char *server_id;     /* sub-option 3 */
	bool has_selected;
	uint32_t selected;
	uint16_t reply_port;       /* sub-option 5 when nonzero */
	uint16_t max_size;         /* sub-option 12 when nonzero */
	uint16_t dhcp_max;         /* option 57 when nonzero */
	const uint16_t *filter;    /* sub-option 11 */
	size_t n_filter;
	uint8_t mac_last;          /* last byte of 00:1b:63:84:45:xx */
	uint32_t xid;
};

#define NO_VERSION 0xffff
#define TEST_SERVER "198.18.0.1"
#define TEST_CLIENT "198.18.0.2"
#define TEST_NETMASK "255.255.255.0"

static inline struct in_addr ip(const char *s)
{
	struct in_addr a;

	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return a;
}

static inline void req_vendor(const struct req *r, struct bsdp_vendor *v)
{
	bsdp_vendor_init(v);
	if (r->bsdp_type)
		assert_int_equal(bsdp_vendor_u8(v, BSDP_TAG_MESSAGE_TYPE, r->bsdp_type), 0);
	if (r->version != NO_VERSION)
		assert_int_equal(bsdp_vendor_u16(v, BSDP_TAG_VERSION,
						 r->version ? r->version : BSDP_VERSION_1_1), 0);
	if (r->server_id) {
		struct in_addr a = ip(r->server_id);

		assert_int_equal(bsdp_vendor_put(v, BSDP_TAG_SERVER_ID, &a.s_addr, 4), 0);
	}
	if (r->has_selected)
		assert_int_equal(bsdp_vendor_u32(v, BSDP_TAG_SELECTED_IMAGE, r->selected), 0);
	if (r->reply_port)
		assert_int_equal(bsdp_vendor_u16(v, BSDP_TAG_REPLY_PORT, r->reply_port), 0);
	if (r->max_size)
		assert_int_equal(bsdp_vendor_u16(v, BSDP_TAG_MAX_MESSAGE_SIZE, r->max_size), 0);
	if (r->n_filter) {
		uint8_t f[2 * BSDP_MAX_FILTERS];

		for (size_t i = 0; i < r->n_filter; i++)
			be16_put(f + 2 * i, r->filter[i]);
		assert_int_equal(bsdp_vendor_put(v, BSDP_TAG_ATTRIBUTE_FILTER, f, 2 * r->n_filter), 0);
	}
}

static inline size_t build_request(uint8_t *buf, size_t cap, const struct req *r)
{
	struct dhcp_header h = { .op = BOOTREQUEST, .htype = 1, .hlen = 6,
				 .xid = r->xid ? r->xid : 0x32a98af5 };
	const char *cls = r->cls ? r->cls : "AAPLBSDPC/i386/MacBookPro11,3";
	static const uint8_t prl[] = { 1, 3, 67, 43, 60 };
	struct dhcp_builder b;
	struct bsdp_vendor v;
	int n;

	h.ciaddr = ip(r->ciaddr ? r->ciaddr : TEST_CLIENT);
	if (r->giaddr)
		h.giaddr = ip(r->giaddr);
	memcpy(h.chaddr, (uint8_t[]){ 0x00, 0x1b, 0x63, 0x84, 0x45, r->mac_last }, 6);
	assert_int_equal(dhcp_build_init(&b, buf, cap, &h), 0);
	assert_int_equal(dhcp_build_u8(&b, DHCP_OPT_MESSAGE_TYPE,
				       r->dhcp_type ? r->dhcp_type : DHCP_INFORM), 0);
	assert_int_equal(dhcp_build_option(&b, DHCP_OPT_PARAM_REQUEST, prl, sizeof(prl)), 0);
	if (r->dhcp_max) {
		uint8_t m[2];

		be16_put(m, r->dhcp_max);
		assert_int_equal(dhcp_build_option(&b, DHCP_OPT_MAX_MESSAGE_SIZE, m, 2), 0);
	}
	assert_int_equal(dhcp_build_option(&b, DHCP_OPT_CLASS_ID, cls, strlen(cls)), 0);
	req_vendor(r, &v);
	assert_int_equal(dhcp_build_option(&b, DHCP_OPT_VENDOR, v.buf, v.w.len), 0);
	n = dhcp_build_finish(&b);
	assert_true(n > 0);
	return (size_t)n;
}

/* ---- replies --------------------------------------------------------------- */

#define MAX_SUBOPTS 512

struct subopt {
	uint8_t tag;
	uint8_t len;
	const uint8_t *data;
	size_t instance;           /* which option-43 instance it came from */
};

struct reply {
	struct dhcp_view view;
	struct subopt sub[MAX_SUBOPTS];
	size_t n_sub;
	size_t n_instances;
	uint8_t images[8192];      /* every sub-option 9 payload, concatenated */
	size_t images_len;
};

/* Decodes each option-43 instance on its own, as Apple's client does, and
 * fails the test if any sub-option overruns its instance. */
static inline void decode_reply(struct reply *rp, const uint8_t *pkt, size_t len)
{
	const struct dhcp_option *o;

	memset(rp, 0, sizeof(*rp));
	assert_int_equal(dhcp_parse(&rp->view, pkt, len), 0);
	for (size_t i = 0; (o = dhcp_option_nth(&rp->view, DHCP_OPT_VENDOR, i)); i++) {
		struct rd r = rd_init(o->data, o->len);
		uint8_t tag, l;
		const uint8_t *d;

		rp->n_instances++;
		while (rd_u8(&r, &tag)) {
			assert_true(rd_u8(&r, &l));
			assert_true(rd_bytes(&r, l, &d));
			assert_true(rp->n_sub < MAX_SUBOPTS);
			rp->sub[rp->n_sub++] = (struct subopt){ tag, l, d, i };
			if (tag == BSDP_TAG_IMAGE_LIST) {
				memcpy(rp->images + rp->images_len, d, l);
				rp->images_len += l;
			}
		}
	}
}

static inline const struct subopt *find_sub(const struct reply *rp, uint8_t tag)
{
	for (size_t i = 0; i < rp->n_sub; i++)
		if (rp->sub[i].tag == tag)
			return &rp->sub[i];
	return NULL;
}

static inline uint32_t sub_u32(const struct reply *rp, uint8_t tag)
{
	const struct subopt *s = find_sub(rp, tag);

	assert_non_null(s);
	assert_int_equal(s->len, 4);
	return be32_get(s->data);
}

/* Number of image descriptions in the concatenated sub-option 9 payloads. */
static inline size_t count_images(const struct reply *rp)
{
	size_t n = 0, off = 0;

	while (off < rp->images_len) {
		assert_true(rp->images_len - off >= 5);
		off += 5 + rp->images[off + 4];
		n++;
	}
	assert_int_equal(off, rp->images_len);
	return n;
}

/* ---- a responder over a scratch root ------------------------------------- */

#ifdef BSDPD_RESPONDER_H
struct env {
	char *root;
	struct nb_catalog cat;
	struct bindings *bindings;
	struct bsdp_responder rs;
	struct bsdp_rx rx;
	struct bsdp_tx tx;
	struct bsdp_event ev;
	struct reply rp;
	uint8_t pkt[2048];
};

static inline struct env *env_new(void)
{
	struct env *e = calloc(1, sizeof(*e));

	assert_non_null(e);
	e->root = make_root();
	e->bindings = bindings_open(NULL, NULL, NULL, NULL);
	assert_non_null(e->bindings);
	e->rx = (struct bsdp_rx){ .if_addr = ip(TEST_SERVER), .if_netmask = ip(TEST_NETMASK),
				  .now = 1700000000 };
	return e;
}

/* Loads the catalog after the test has written its bundles. */
static inline void env_load(struct env *e)
{
	assert_int_equal(nb_catalog_load(e->root, &e->cat), 0);
	e->rs = (struct bsdp_responder){ .catalog = &e->cat, .bindings = e->bindings,
					 .priority = BSDP_PRIORITY_BASE, .hostname = "netboot" };
}

static inline void env_free(struct env *e)
{
	nb_catalog_clear(&e->cat);
	bindings_close(e->bindings);
	remove_root(e->root);
	free(e);
}

static inline enum bsdp_verdict send_req(struct env *e, const struct req *r)
{
	size_t n = build_request(e->pkt, sizeof(e->pkt), r);
	enum bsdp_verdict v = bsdp_respond(&e->rs, e->pkt, n, &e->rx, &e->tx, &e->ev);

	if (v == BSDP_REPLY)
		decode_reply(&e->rp, e->tx.buf, e->tx.len);
	return v;
}
#endif

#endif
