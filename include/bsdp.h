/* SPDX-License-Identifier: MIT */
/*
 * Apple Boot Server Discovery Protocol: option 60 class ids and the
 * option-43 sub-option codec.  Numbers and names follow Apple's "NetBoot
 * 2.0: BSDP" v1.0.8 and bootplib/bsdp.h (see docs/bsdp.md §2).
 */
#ifndef BSDPD_BSDP_H
#define BSDPD_BSDP_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dhcp.h"

#define BSDP_CLASS "AAPLBSDPC"
#define BSDP_CLASS_LEN 9
#define BSDP_ARCH_MAX 16
#define BSDP_MODEL_MAX 64
#define BSDP_IMAGE_NAME_MAX 246  /* Apple's BSDP_IMAGE_NAME_MAX */
#define BSDP_OPTION_MAX 255      /* one option-43 instance */
#define BSDP_MAX_FILTERS 64
#define BSDP_PRIORITY_BASE 32768 /* Apple's default server priority */

enum bsdp_message {
	BSDP_LIST = 1,
	BSDP_SELECT = 2,
	BSDP_FAILED = 3,
};

enum bsdp_tag {
	BSDP_TAG_MESSAGE_TYPE = 1,
	BSDP_TAG_VERSION = 2,
	BSDP_TAG_SERVER_ID = 3,
	BSDP_TAG_SERVER_PRIORITY = 4,
	BSDP_TAG_REPLY_PORT = 5,
	BSDP_TAG_IMAGE_LIST_PATH = 6,
	BSDP_TAG_DEFAULT_IMAGE = 7,
	BSDP_TAG_SELECTED_IMAGE = 8,
	BSDP_TAG_IMAGE_LIST = 9,
	BSDP_TAG_NETBOOT_1_0 = 10,
	BSDP_TAG_ATTRIBUTE_FILTER = 11,
	BSDP_TAG_MAX_MESSAGE_SIZE = 12,
	BSDP_TAG_SHADOW_MOUNT_PATH = 128,
	BSDP_TAG_SHADOW_FILE_PATH = 129,
	BSDP_TAG_MACHINE_NAME = 130,
};

#define BSDP_VERSION_NETBOOT_1 0x0000 /* accepted by Apple, otherwise served as 1.1 */
#define BSDP_VERSION_1_0 0x0100
#define BSDP_VERSION_1_1 0x0101

/* boot_image_id layout, SPEC §3.4.2: install bit, kind, reserved, index. */
#define BSDP_IMAGE_INSTALL 0x80000000u
#define BSDP_IMAGE_KIND_SHIFT 24
#define BSDP_IMAGE_KIND_MASK 0x7fu
#define BSDP_IMAGE_INDEX_MASK 0xffffu
#define BSDP_INDEX_LOCAL_MAX 4095  /* 1-4095 server-local, 4096-65535 global */

enum bsdp_kind {
	BSDP_KIND_MACOS9 = 0,
	BSDP_KIND_MACOSX = 1,
	BSDP_KIND_MACOSX_SERVER = 2,
	BSDP_KIND_DIAGNOSTICS = 3,
};

static inline uint32_t bsdp_image_id(bool install, unsigned kind, uint16_t index)
{
	return (install ? BSDP_IMAGE_INSTALL : 0) |
	       (uint32_t)(kind & BSDP_IMAGE_KIND_MASK) << BSDP_IMAGE_KIND_SHIFT | index;
}

/* The attribute word an attribute filter list compares against (SPEC §3.4.15). */
static inline uint16_t bsdp_image_attributes(uint32_t id)
{
	return (uint16_t)(id >> 16);
}

static inline uint16_t bsdp_image_index(uint32_t id)
{
	return (uint16_t)(id & BSDP_IMAGE_INDEX_MASK);
}

static inline unsigned bsdp_image_kind(uint32_t id)
{
	return (id >> BSDP_IMAGE_KIND_SHIFT) & BSDP_IMAGE_KIND_MASK;
}

/* Client class id "AAPLBSDPC/<arch>/<model>", NUL-terminated copies. */
struct bsdp_class {
	char arch[BSDP_ARCH_MAX];
	char model[BSDP_MODEL_MAX];
};

/* 0 for a well-formed client class id; -EBADMSG for anything else,
 * including the bare server class "AAPLBSDPC". */
int bsdp_parse_class(const uint8_t *data, size_t len, struct bsdp_class *out);

/* The validated BSDP part of a request: option 60 and every option-43 instance. */
struct bsdp_request {
	struct bsdp_class cls;
	uint8_t message;               /* 0 when sub-option 1 is absent */
	bool has_version;
	uint16_t version;
	bool has_server_id;
	struct in_addr server_id;
	bool has_reply_port;
	uint16_t reply_port;
	bool has_selected;
	uint32_t selected;
	bool has_filter;
	size_t n_filter;
	uint16_t filter[BSDP_MAX_FILTERS];
	bool has_max_message_size;
	uint16_t max_message_size;
};

/* 0 when the view carries an Apple client class id, option 43 whose
 * sub-options decode, and a version sub-option; -EBADMSG otherwise.  Each option-43 instance is walked on its
 * own, as Apple's dhcpol_parse_vendor does, so one sub-option can never
 * straddle two instances. */
int bsdp_parse_request(const struct dhcp_view *view, struct bsdp_request *out);

/* Calls fn for each sub-option of every option-43 instance, in wire order.
 * Returns -EBADMSG when a sub-option overruns its instance. */
typedef int (*bsdp_suboption_fn)(uint8_t tag, const uint8_t *data, uint8_t len, void *ctx);
int bsdp_foreach_suboption(const struct dhcp_view *view, bsdp_suboption_fn fn, void *ctx);

/* Builder for one self-contained option-43 instance (at most 255 bytes). */
struct bsdp_vendor {
	uint8_t buf[BSDP_OPTION_MAX];
	struct wr w;
};

void bsdp_vendor_init(struct bsdp_vendor *v);
int bsdp_vendor_put(struct bsdp_vendor *v, uint8_t tag, const void *data, size_t len);
int bsdp_vendor_u8(struct bsdp_vendor *v, uint8_t tag, uint8_t val);
int bsdp_vendor_u16(struct bsdp_vendor *v, uint8_t tag, uint16_t val);
int bsdp_vendor_u32(struct bsdp_vendor *v, uint8_t tag, uint32_t val);

/* One entry of sub-option 9 (id:4, name_len:1, name), names cut at 246 bytes. */
static inline size_t bsdp_image_desc_len(size_t name_len)
{
	return 5 + (name_len > BSDP_IMAGE_NAME_MAX ? BSDP_IMAGE_NAME_MAX : name_len);
}
int bsdp_put_image_desc(struct wr *w, uint32_t id, const char *name, size_t name_len);

const char *bsdp_message_name(uint8_t message);

#endif
