/* SPDX-License-Identifier: MIT */
/*
 * proxyDHCP (PXE 2.1 §2.2.4, "proxyDHCP"): a socket-free decision from
 * one parsed request to at most one reply and its destination.  bsdpd runs
 * beside the site's DHCP server: it never offers an address (yiaddr 0, no
 * lease options), it only says where the boot file is.
 *
 *   PXE firmware (60 "PXEClient…" + 93)  → a booter over TFTP, by arch
 *   iPXE (175, or 77 "iPXE")             → the boot.ipxe script URL
 *   UEFI HTTP Boot (60 "HTTPClient…")    → an http:// URL of the booter
 *
 * so iPXE never gets the booter again and PXE firmware never an HTTP URL:
 * no chain loop (ipxe.md §2, ipxe/ipxe#908).  Macs (60 "AAPLBSDPC…")
 * belong to the BSDP responder.  Every other packet gets silence and, in
 * ev->reason, why.
 *
 * The second half is what the daemon calls at start-up: --proxy-dhcp and
 * --boot-file parsing, the boot-file check, and the default booter taken
 * from the NetBoot catalog.
 */
#ifndef BSDPD_PROXYDHCP_H
#define BSDPD_PROXYDHCP_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dhcp.h"
#include "nbimage.h"

#define PROXY_PORT 4011            /* PXE 2.1 §2.2.6: the boot server (BINL) port */
/* RFC 2131 §2: every client accepts 576-byte datagrams; less IP and UDP. */
#define PROXY_REPLY_MAX (DHCP_MIN_MAX_MSG - 28)
#define PROXY_KNOWN_SECONDS 600    /* "fetched a booter in the last 10 minutes" */
#define PROXY_IPXE_PRIORITY 1      /* 175.1, see put_ipxe_options() */

enum proxy_mode {
	PROXY_MODE_OFF,
	PROXY_MODE_KNOWN,
	PROXY_MODE_ALL,
};

/* The boot-file table's slots; RFC 4578 §2.1 option-93 types in brackets. */
enum proxy_arch {
	PROXY_ARCH_BIOS,        /* bios (0) */
	PROXY_ARCH_EFI_IA32,    /* efi-ia32 (6) */
	PROXY_ARCH_EFI_X64,     /* efi-x64 (7; 9 is the same machine, xcat-core#7645) */
	PROXY_ARCH_EFI_ARM64,   /* efi-arm64 (11) */
	PROXY_ARCH_HTTP_X64,    /* http-x64 (16): x64 UEFI HTTP Boot */
	PROXY_ARCH_COUNT,
};

enum proxy_kind {
	PROXY_KIND_PXE,         /* firmware PXE: booter over TFTP */
	PROXY_KIND_IPXE,        /* iPXE: the script URL */
	PROXY_KIND_HTTP_BOOT,   /* UEFI HTTP Boot: booter URL */
};

/* Hooks the daemon supplies; ctx is passed back unchanged. */
struct proxy_hooks {
	void *ctx;
	/* Mode "known": has this MAC booted through bsdpd (a BSDP binding,
	 * or a booter fetched by TFTP in the last PROXY_KNOWN_SECONDS)? */
	bool (*known)(void *ctx, const uint8_t mac[6], int64_t now);
	/* The booter (path under --root) of the image this MAC selected by
	 * BSDP, when that booter suits arch (a plain EFI application of its
	 * machine type; for PROXY_ARCH_HTTP_X64, a path under the HTTP root);
	 * else NULL.  May be NULL itself: no BSDP bindings. */
	const char *(*bound_booter)(void *ctx, const uint8_t mac[6], enum proxy_arch arch);
	/* Whether this MAC is to be left unanswered in every mode: its boot
	 * policy is the local disk, by refusal.  Optional. */
	bool (*refused)(void *ctx, const uint8_t mac[6]);
};

struct proxy_responder {
	enum proxy_mode mode;
	/* Path under --root per arch, NULL for none.  The http-x64 path is the
	 * path in the URL, under the HTTP root; without one, HTTP Boot gets
	 * the efi-x64 booter (the same file: the HTTP root defaults to --root). */
	const char *boot_file[PROXY_ARCH_COUNT];
	uint16_t http_port;        /* 0: no HTTP server, so iPXE and HTTP Boot get silence */
	struct proxy_hooks hooks;
};

/* Where a request arrived. */
struct proxy_rx {
	struct in_addr if_addr;    /* our address: siaddr and option 54 */
	uint16_t local_port;       /* DHCP_SERVER_PORT or PROXY_PORT */
	struct in_addr src;
	uint16_t src_port;
	int64_t now;               /* Unix time, for the known hook */
};

/* The reply; the daemon sends it from rx->local_port, because iPXE takes
 * a 4011 answer only from port 4011 (ipxe.md X3). */
struct proxy_tx {
	uint8_t buf[PROXY_REPLY_MAX];
	size_t len;
	struct in_addr dst;
	uint16_t dst_port;
};

/* The request, parsed once and validated (proxy_classify). */
struct proxy_request {
	enum proxy_kind kind;
	bool has_arch;             /* option 93; required except from iPXE */
	uint16_t arch;             /* its first type */
	uint8_t message_type;
	uint8_t mac[6];
	bool has_uuid;             /* option 97 of type 0 (RFC 4578 §2.3) */
	uint8_t uuid[17];          /* as sent, type byte first: echoed */
	bool has_ipxe_encap;       /* option 175 present */
	struct in_addr server_id;  /* option 54, 0 when absent */
};

/* For the log: one line per answer, one debug line (reason) per silence. */
struct proxy_event {
	bool has_mac;
	uint8_t mac[6];
	bool has_kind;
	enum proxy_kind kind;
	bool has_arch;
	uint16_t arch;
	uint8_t request_type;      /* DHCP message type, 0 for BOOTP */
	uint8_t reply_type;        /* DHCP_OFFER or DHCP_ACK */
	char file[DHCP_FILE_LEN];  /* what the reply's file field says */
	const char *reason;        /* static text; set exactly when silent */
};

enum proxy_verdict {
	PROXY_SILENT = 0,
	PROXY_REPLY = 1,
};

/* 0 with rq filled, or -EINVAL with *why set (a static string) for
 * anything that is not a well-formed PXE, iPXE or HTTP Boot request. */
int proxy_classify(const struct dhcp_view *view, struct proxy_request *rq, const char **why);

enum proxy_verdict proxy_respond(const struct proxy_responder *pr, const struct dhcp_view *view,
				 const struct proxy_rx *rx, struct proxy_tx *tx,
				 struct proxy_event *ev);

const char *proxy_kind_name(enum proxy_kind kind);   /* "PXE", "iPXE", "HTTPBoot" */
const char *proxy_arch_name(enum proxy_arch arch);   /* "efi-x64"... */
/* The slot for an option-93 type, or -1 when no slot serves it. */
int proxy_arch_slot(uint16_t type);

/* ---- start-up ------------------------------------------------------------ */

/* --proxy-dhcp off|known|all; 0 or -EINVAL. */
int proxy_mode_parse(const char *s, enum proxy_mode *out);
const char *proxy_mode_name(enum proxy_mode m);   /* "off", "known", "all" */

struct proxy_boot_file {
	enum proxy_arch arch;
	const char *path;          /* points into the argument */
};

/* --boot-file ARCH=PATH: ARCH is a name above or its option-93 number,
 * PATH is relative to --root with no "." or ".." part and fits the BOOTP
 * file field.  0, or -EINVAL with a message naming the value in err. */
int proxy_boot_file_parse(const char *arg, struct proxy_boot_file *out, char *err, size_t cap);

enum proxy_file_verdict {
	PROXY_FILE_OK,
	PROXY_FILE_MISSING,        /* not found under the root */
	PROXY_FILE_UNREADABLE,     /* not a regular world-readable file, or outside the root */
	PROXY_FILE_APPLE_FAT,      /* an Apple fat binary: PC firmware cannot load it */
	PROXY_FILE_WRONG_TYPE,     /* not an EFI application of that machine type */
};

struct proxy_file_check {
	enum proxy_file_verdict verdict;
	char message[320];         /* names the arch, the path and what was found */
};

/* Checks a boot file for arch.  fd is the file opened read-only by the
 * daemon's confined opener (under --root, regular and world-readable, as
 * TFTP serves it), or that opener's negative errno.  EFI arches need a PE
 * EFI application of their machine type; bios needs anything else that is
 * not empty.  Reads at most PROXY_BOOT_FILE_MAX bytes and does not close
 * fd.  0 when usable, else -EINVAL with out->message for the admin. */
#define PROXY_BOOT_FILE_MAX (64u << 20)
int proxy_boot_file_check(enum proxy_arch arch, const char *path, int fd,
			  struct proxy_file_check *out);

/* The same for path under rootfd, opened as the TFTP server opens it
 * (lib/beneath.c). */
int proxy_boot_file_check_at(int rootfd, enum proxy_arch arch, const char *path,
			     struct proxy_file_check *out);

/* The booter of the catalog's default NetBoot image, "<bundle>/i386/<BootFile>",
 * the candidate default for efi-x64 and efi-ia32: the daemon passes it to
 * proxy_boot_file_check() for each and uses it where that returns 0 (an
 * Apple fat booter fits neither: log PROXY_FILE_APPLE_FAT once).  The
 * default image is the first enabled, non-FilterOnly i386 image in catalog
 * order not restricted to some models or MACs, since a PC has no model.
 * 0, -ENOENT for no such image, -ENAMETOOLONG. */
int proxy_default_booter(const struct nb_catalog *cat, char *path, size_t cap);

#endif
