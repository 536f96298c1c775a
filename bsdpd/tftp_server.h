/* SPDX-License-Identifier: MIT */
/*
 * The TFTP service: serves regular files under --root to firmware that
 * was told where its booter is by BSDP (or by DHCP option 67), on the same
 * event loop as the BSDP service.  Read requests only.
 *
 * Sockets.  Requests arrive on UDP --tftp-port (69).  Each transfer gets
 * its own socket bound to the receiving address and an ephemeral port
 * (RFC 1350 transfer IDs) and connected to the client, so the kernel
 * demultiplexes.  With --tftp-single-port every datagram of every transfer
 * stays on port 69 and transfers are found by client address and port,
 * which is what NAT and stateful firewalls need.
 *
 * Memory.  A transfer holds its state machine, addresses, its cleaned
 * file name and one slot in the timer heap and in the two client hashes
 * (address and port, address alone): 376 bytes on x86-64 (printed at
 * start) plus the name, at most 513, so under 900 bytes.  It has no packet buffer: each datagram is built in one
 * shared buffer, from the file's bytes, and built again if it must be
 * resent.  Files are opened once and shared by all their transfers; one
 * of at most 4 MiB is read into memory once (64 MiB for all such files
 * together), larger ones are read with pread(2).  --tftp-max-transfers
 * caps the count (1000 by default: under 1 MB of transfer state) and
 * --tftp-max-per-client those of one client address (8); a request beyond
 * either gets an ERROR at once, except that a full table evicts its
 * oldest half-open transfer (never acknowledged, see include/tftp.h).  The kernel adds one socket
 * per transfer, unless --tftp-single-port.
 *
 * Timers.  One timerfd, armed for the earliest deadline of a binary heap
 * of transfers ordered by their retransmission deadline.
 */
#ifndef BSDPD_TFTP_SERVER_H
#define BSDPD_TFTP_SERVER_H

#include <netinet/in.h>
#include <stdint.h>

#include "loop.h"
#include "server.h"
#include "transfer.h"

#define TFTP_DEFAULT_MAX_BLKSIZE 1468   /* Ethernet MTU 1500 - 32 */
#define TFTP_DEFAULT_MAX_TRANSFERS 1000
/* Firmware fetches one file at a time (iPXE, OVMF, Apple's); a client
 * that restarts leaves its abandoned transfers behind until they are
 * reaped, so a few more than one. */
#define TFTP_DEFAULT_MAX_PER_CLIENT 8

/* For the metrics endpoint; monotonic except active. */
struct tftp_counters {
	uint64_t requests;        /* RRQ and WRQ datagrams on the server port */
	uint64_t bad_requests;    /* malformed, or a mode other than octet/netascii */
	uint64_t write_refused;   /* WRQ: error 2 */
	uint64_t not_found;       /* error 1 */
	uint64_t access_denied;   /* error 2: name, symlink, device, directory, mode */
	uint64_t over_capacity;   /* --tftp-max-transfers reached, none of them half-open */
	uint64_t per_client_refused; /* --tftp-max-per-client reached */
	uint64_t evicted;         /* half-open transfers ended to make room (also in failed) */
	uint64_t dup_requests;    /* RRQ repeated before our first reply was acknowledged */
	uint64_t started;
	uint64_t completed;
	uint64_t timed_out;       /* abandoned by the client: reaped */
	uint64_t client_errors;   /* the client sent ERROR */
	uint64_t size_probes;     /* ERROR 8 to an OACK with tsize (EDK2): not an error */
	uint64_t failed;          /* read errors, send errors, superseded, evicted, shutdown */
	uint64_t bytes_sent;      /* file bytes, first transmissions */
	uint64_t packets_sent;
	uint64_t retransmits;
	uint64_t dup_acks;        /* duplicate ACKs, never answered */
	uint64_t active;          /* transfers now */
};

struct tftp_service;

/* Opens the root and the port-69 sockets.  NULL with a message in *err
 * (to free()) on failure. */
struct file_cache;
struct tftp_service *tftp_service_new(const struct bsdpd_config *cfg, struct loop *loop,
				      struct file_cache *files, char **err);
/* Ends every transfer (logged as aborted) and closes everything. */
void tftp_service_free(struct tftp_service *svc);
const struct tftp_counters *tftp_service_counters(const struct tftp_service *svc);

/* The end of a transfer (a size probe is none). */
struct tftp_done {
	struct in_addr peer;
	int ifindex;
	const char *path;          /* as cleaned, under --root */
	uint64_t bytes;            /* sent */
	uint32_t duration_ms;
	bool complete;
};
/* Called on the loop thread after each transfer: the proxyDHCP "known"
 * rule counts a machine that fetched a booter from us, and the boot
 * events record it (server.c bsdp_service_note_tftp). */
typedef void (*tftp_served_fn)(void *ctx, const struct tftp_done *done);
void tftp_service_on_served(struct tftp_service *svc, tftp_served_fn fn, void *ctx);

/* The API's view of the running transfers (transfer.h): fn once for
 * each, with bytes the client acknowledged.  Its MAC is looked up once
 * per transfer, the first time it is viewed. */
void tftp_service_transfers(struct tftp_service *svc, transfer_fn fn, void *ctx);
/* Tells w of each transfer as it starts (its first DATA or OACK not yet
 * out). */
void tftp_service_watch(struct tftp_service *svc, const struct transfer_watch *w);
/* File bytes sent so far: those of ended transfers (tftp_counters) and
 * of the running ones, so that it grows while a long transfer runs. */
uint64_t tftp_service_bytes_sent(const struct tftp_service *svc);

#endif
