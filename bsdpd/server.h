/* SPDX-License-Identifier: MIT */
/*
 * The DHCP service: owns the UDP port 67 and 4011 sockets, the image
 * catalog and the bindings.  Each datagram is parsed once and the view
 * handed to the BSDP responder (Macs: option 60 AAPLBSDPC) or to the
 * proxyDHCP responder (PXE firmware and iPXE); the reply goes out from the
 * socket it came in on.  Everything here runs on the loop thread.
 */
#ifndef BSDPD_SERVER_H
#define BSDPD_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "loop.h"
#include "proxydhcp.h"

#define BSDPD_MAX_INTERFACES 32

struct bsdpd_config {
	const char *root;
	const char *state_dir;
	const char *database;        /* --database: a postgresql:// URL; NULL: SQLite in state_dir */
	const char *interfaces[BSDPD_MAX_INTERFACES];
	size_t n_interfaces;         /* 0: every broadcast-capable interface */
	uint16_t priority;
	const char *hostname;
	unsigned max_bindings;       /* --max-bindings */
	unsigned binding_expiry_days; /* --binding-expiry, 0: never */
	unsigned max_events;         /* --max-events: boot events kept */
	unsigned event_expiry_days;  /* --event-expiry */
	/* TFTP service (tftp_server.h) */
	bool tftp_disabled;          /* --no-tftp */
	uint16_t tftp_port;          /* --tftp-port, default 69 */
	uint16_t tftp_max_blksize;   /* --tftp-max-blksize; the link MTU - 32 caps it too */
	bool tftp_single_port;       /* --tftp-single-port */
	unsigned tftp_max_transfers; /* --tftp-max-transfers */
	unsigned tftp_max_per_client; /* --tftp-max-per-client */
	/* proxyDHCP (proxydhcp.h): PXE firmware and iPXE, ports 67 and 4011 */
	enum proxy_mode proxy_mode;  /* --proxy-dhcp, default known */
	const char *boot_file[PROXY_ARCH_COUNT]; /* --boot-file ARCH=PATH; NULL: default */
	/* HTTP service (http.h) */
	bool http_disabled;          /* --no-http */
	uint16_t http_port;          /* --http-port, default 80 */
	const char *http_root;       /* --http-root, default --root */
	unsigned http_max_connections; /* --http-max-connections */
	struct metrics *metrics;     /* main.c's; the loop thread's (metrics.h) */
};

struct bsdp_service;

/* Loads the catalog and binds port 67.  On failure returns NULL with a
 * message in *err (to free()). */
struct bsdp_service *bsdp_service_new(const struct bsdpd_config *cfg, struct loop *loop,
				      char **err);
/* Opens the bindings in cfg->state_dir, which main.c has checked, and
 * applies the expiry and the cap; before the loop runs.  0, or -EIO with
 * a message in *err (to free()). */
int bsdp_service_open_bindings(struct bsdp_service *svc, char **err);
void bsdp_service_free(struct bsdp_service *svc);
/* Starts re-reading the catalog on the loader thread (or queues one more
 * re-read after the running one) and returns at once; the old catalog
 * serves until the new one is swapped in, and for good if the root cannot
 * be read. */
void bsdp_service_reload(struct bsdp_service *svc);

/* fn(ctx) once the re-read a bsdp_service_reload started is over, served
 * or failed (the one after the last, when they queued up). */
void bsdp_service_on_reloaded(struct bsdp_service *svc, void (*fn)(void *ctx), void *ctx);
/* 0 when each --boot-file of cfg is a booter under the image root, or
 * -EINVAL with why in *err (to free()). */
int bsdp_service_check_boot_files(const struct bsdp_service *svc,
				  const struct bsdpd_config *cfg, char **err);
/* SIGHUP changed the live part of the service's configuration (main.c,
 * options.h): priority, hostname, the proxyDHCP mode and boot files are
 * taken up at once. */
void bsdp_service_config_changed(struct bsdp_service *svc);

/* A transfer from our TFTP completed to peer on ifindex: its MAC (from the
 * ARP table) counts as known to proxyDHCP for PROXY_KNOWN_SECONDS. */
/* The bindings database, which the policy store shares (store.h); the
 * boot policy the services consult (boot_policy.h). */
struct bindings *bsdp_service_bindings(struct bsdp_service *svc);
struct boot_policy;
void bsdp_service_set_policy(struct bsdp_service *svc, struct boot_policy *bp);
/* The catalog being served now; valid until the loop's next step. */
struct nb_catalog;
const struct nb_catalog *bsdp_service_catalog(const struct bsdp_service *svc);

struct tftp_done;
void bsdp_service_note_tftp(void *svc, const struct tftp_done *done);

/* What the HTTP routes may say about a machine (http_routes.h hook). */
struct http_client_info;
bool bsdp_service_client_info(void *svc, const uint8_t *mac, struct in_addr ip,
			      struct http_client_info *out);

/* Fills the catalog and bindings values of the /metrics page. */
struct metrics_gauges;
void bsdp_service_gauges(void *svc, struct metrics_gauges *out);

/* Logs every problem of a catalog: one line per skipped bundle. */
void log_catalog_problems(const struct nb_catalog *cat);

#endif
