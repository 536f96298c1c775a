/* SPDX-License-Identifier: MIT */
/*
 * The daemon's boot policy: the store (store.h) put to work for the
 * services.  It registers the machines the services see, records each
 * stage of their boots as events (kept in the store and sent to the open
 * event streams), answers /boot.ipxe from the resolved profile, consumes
 * a next boot once its last file has gone out, and tells proxyDHCP whom to
 * leave alone (the "refuse" way of booting the local disk).
 *
 * Loop thread only, like the services that call it.
 */
#ifndef BSDPD_BOOT_POLICY_H
#define BSDPD_BOOT_POLICY_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include "http_routes.h"
#include "store.h"

struct boot_policy;
struct http_service;

/* Machines seen in one of the boot stages: what the service knows. */
struct boot_sighting {
	const uint8_t *mac;
	const char *model;             /* raw from the wire; NULL unknown */
	const char *arch;              /* iPXE ${buildarch} vocabulary; NULL unknown */
	const char *uuid;              /* validated 8-4-4-4-12; NULL unknown */
	struct in_addr ip;             /* INADDR_ANY: unknown */
};

/* The HTTP root holds the files profiles name; the state directory the
 * API token (api.h); the boots of one step of loop write in one batch.  NULL and *err (to free) on failure. */
struct loop;
struct boot_policy *boot_policy_new(struct store *store, struct loop *loop, int state_dirfd,
				    const char *http_root, char **err);
void boot_policy_free(struct boot_policy *bp);
/* Where events go live; NULL: nowhere but the store. */
void boot_policy_set_http(struct boot_policy *bp, struct http_service *http);
/* What the API reads of the running daemon (transfers, server status). */
struct api_live;
void boot_policy_set_live(struct boot_policy *bp, const struct api_live *live);

/* Commits what this loop step has written so far (the batch): an
 * acknowledgement of a write (ACK[SELECT]) must not leave before the
 * write is in the database, or a kill -9 right after it loses what the
 * client was told is kept.  bp may be NULL. */
void boot_policy_commit(struct boot_policy *bp);

/* Where sightings and events are written, off the loop thread
 * (recorder.h); NULL, the default: by the loop, in its step's batch. */
struct recorder;
void boot_policy_set_recorder(struct boot_policy *bp, struct recorder *r);

void boot_policy_seen(struct boot_policy *bp, const struct boot_sighting *s);
/* Records e (its time is filled in) and publishes it: at once without a
 * recorder, else once the recorder has committed it
 * (boot_policy_event_written, its recorder_written_fn). */
void boot_policy_event(struct boot_policy *bp, struct event *e);
void boot_policy_event_written(void *bp, const struct event *e);
/* Whether the machine's resolved policy is to boot its local disk by
 * refusal: proxyDHCP then stays silent to it. */
bool boot_policy_refuses(struct boot_policy *bp, const uint8_t mac[6]);
/* Whether the admin named this machine: its own record's profile or next
 * boot, or a group that selects it (proxyDHCP's "known"). */
bool boot_policy_names(struct boot_policy *bp, const uint8_t mac[6]);

/* The NetBoot image the policy pins as a Mac's default (machine, else
 * group), or NULL; valid until the next call. */
const char *boot_policy_image(struct boot_policy *bp, const uint8_t mac[6], const char *model,
			      const char *arch);

/* bsdpd --check: prints an error line for each file a profile names that
 * is not a servable file under http_root; returns how many. */
size_t boot_policy_check(struct store *store, const char *http_root);

/* The hooks the HTTP routes get (http_routes.h): /boot.ipxe from policy,
 * the end of a profile's files, the API, /metrics, and what BSDP knows of
 * a Mac for the template. */
struct bsdp_service;
void boot_policy_http_hooks(struct boot_policy *bp, struct bsdp_service *dhcp,
			    struct http_hooks *out);
bool boot_policy_script(void *bp, const struct http_request *rq, const struct http_identity *id,
			const struct ipxe_values *vals, struct http_response *rsp);
/* The /metrics gauges: BSDP's and the machines registered. */
void boot_policy_gauges(void *bp, struct metrics_gauges *out);
void boot_policy_file_stage(void *bp, const uint8_t mac[6], const char *path,
			    char out[HTTP_STAGE_MAX]);
/* Records an http-file event whose rule is the file's stage. */
void boot_policy_file_served(void *bp, const uint8_t mac[6], const char *path,
			     const char *stage, struct in_addr client, uint64_t bytes,
			     uint32_t duration_ms, bool complete);

#endif
