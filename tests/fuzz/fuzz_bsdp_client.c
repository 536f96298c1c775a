/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the BSDP client's reply parser (lib/bsdp_client.c):
 * any datagram a server, or anyone on the LAN, may send to port 68.
 * Besides the sanitizers it checks what bsdpc relies on: every sub-option
 * and every image it is handed lies inside the datagram or the parsed
 * list, and the image walk ends.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bsdp_client.h"

/* The client the seeds in tests/corpus/fuzz_bsdp_client/ answer:
 * 00:1b:63:84:45:01 at 198.18.0.2, xid 0x32a98af5. */
static struct bsdp_client_id fuzz_id(void)
{
	struct bsdp_client_id id = { .mac = { 0x00, 0x1b, 0x63, 0x84, 0x45, 0x01 },
				     .xid = 0x32a98af5 };

	id.ip.s_addr = htonl(0xc6120002);
	return id;
}

static bool inside(const uint8_t *p, size_t n, const uint8_t *base, size_t len)
{
	uintptr_t off = (uintptr_t)p - (uintptr_t)base;

	return (uintptr_t)p >= (uintptr_t)base && off <= len && n <= len - off;
}

static void check_subs(const struct bsdp_ack *a, const uint8_t *data, size_t size)
{
	for (size_t t = 0; t < 256; t++)
		if (a->sub[t].present && !inside(a->sub[t].data, a->sub[t].len, data, size))
			abort();
	if (a->list_len > size)
		abort();
}

static void walk_images(const struct bsdp_ack *a, const uint16_t *filter, size_t n_filter)
{
	struct bsdp_image_iter it;
	struct bsdp_image_desc d;
	size_t n = 0;
	int r;

	bsdp_image_iter_init(&it, a->list, a->list_len, filter, n_filter);
	while ((r = bsdp_image_iter_next(&it, &d)) > 0) {
		if (d.id == 0 || !inside(d.name, d.name_len, a->list, a->list_len))
			abort();
		if (++n > a->list_len / 5)
			abort();
	}
	if (r != 0 && r != -EBADMSG)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint16_t filter[] = { 0x0100 };
	static struct bsdp_ack a;
	struct bsdp_client_id id = fuzz_id();
	uint32_t v32;
	uint16_t v16;

	/* The full path, as bsdpc runs it, and then the option rules alone,
	 * so that inputs with another header still reach them. */
	if (bsdp_ack_parse(&a, data, size, &id) == NULL) {
		check_subs(&a, data, size);
		walk_images(&a, NULL, 0);
	}
	if (dhcp_parse(&a.view, data, size) < 0 || bsdp_ack_check(&a) != NULL)
		return 0;
	check_subs(&a, data, size);
	walk_images(&a, filter, 1);
	(void)bsdp_ack_u16(&a, BSDP_TAG_SERVER_PRIORITY, &v16);
	(void)bsdp_ack_u32(&a, BSDP_TAG_DEFAULT_IMAGE, &v32);
	return 0;
}
