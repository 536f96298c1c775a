/* SPDX-License-Identifier: MIT */
/*
 * The BSDP service: owns the UDP port 67 sockets, the image catalog and
 * the bindings, feeds each datagram to the responder and sends its reply.
 */
#ifndef BSDPD_SERVER_H
#define BSDPD_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "loop.h"

#define BSDPD_MAX_INTERFACES 32

struct bsdpd_config {
	const char *root;
	const char *state_dir;
	const char *interfaces[BSDPD_MAX_INTERFACES];
	size_t n_interfaces;         /* 0: every broadcast-capable interface */
	uint16_t priority;
	const char *hostname;
	unsigned max_bindings;       /* --max-bindings */
	unsigned binding_expiry_days; /* --binding-expiry, 0: never */
	/* TFTP service (tftp_server.h) */
	bool tftp_disabled;          /* --no-tftp */
	uint16_t tftp_port;          /* --tftp-port, default 69 */
	uint16_t tftp_max_blksize;   /* --tftp-max-blksize; the link MTU - 32 caps it too */
	bool tftp_single_port;       /* --tftp-single-port */
	unsigned tftp_max_transfers; /* --tftp-max-transfers */
	unsigned tftp_max_per_client; /* --tftp-max-per-client */
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

/* Logs every problem of a catalog: one line per skipped bundle. */
struct nb_catalog;
void log_catalog_problems(const struct nb_catalog *cat);

#endif
