/* SPDX-License-Identifier: MIT */
/*
 * A TFTP read client, as firmware would fetch a booter: RRQ with optional
 * blksize (RFC 2348), tsize (RFC 2349) and windowsize (RFC 7440), OACK,
 * block-number rollover, and retransmission of its last packet with
 * backoff.  A DATA it already has is acknowledged again, so a lost ACK
 * costs one server timeout, but at most every 50 ms: a server with the
 * sorcerer's apprentice bug cannot drive it into a loop.
 *
 * tftp_fetch() is the blocking form used by `bsdpc select --fetch FILE`;
 * it writes the file and prints progress and the transfer rate.  struct
 * tftp_session is the same client as a non-blocking machine, driven by a
 * caller's poll loop (tools/bench/tftp-load.c runs hundreds at once).
 */
#ifndef BSDPD_TFTP_FETCH_H
#define BSDPD_TFTP_FETCH_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct tftp_fetch_opts {
	struct in_addr server;
	uint16_t port;           /* 0: 69 */
	const char *remote;      /* the name to ask for */
	const char *local;       /* file to write; NULL: count the bytes only */
	uint16_t blksize;        /* 0: do not ask (512 bytes) */
	uint16_t windowsize;     /* 0: do not ask (lock-step) */
	bool tsize;              /* ask for the size (shown in the progress) */
	bool netascii;           /* mode netascii instead of octet */
	unsigned timeout_ms;     /* first retransmission timeout; 0: 1000 */
	unsigned tries;          /* sends of one packet before giving up; 0: 6 */
	const char *ifname;      /* send from this interface (SO_BINDTODEVICE); may be NULL */
	FILE *progress;          /* progress and the final rate; NULL: quiet */
	const void *request;     /* tests: send these bytes as the RRQ instead */
	size_t request_len;
};

struct tftp_fetch_result {
	uint64_t bytes;          /* written */
	uint64_t tsize;          /* from the OACK, 0 if none */
	double seconds;
	uint16_t blksize;        /* as used */
	uint16_t windowsize;
	bool oack;
	uint64_t retransmits;    /* our packets sent again after a timeout */
	char error[160];         /* why it failed */
};

/* 0 when the whole file arrived, -1 with res->error set otherwise. */
int tftp_fetch(const struct tftp_fetch_opts *o, struct tftp_fetch_result *res);

/* ---- non-blocking form -------------------------------------------------------- */

struct tftp_session {
	int fd;                  /* poll it for input */
	int out_fd;              /* -1: discard */
	struct sockaddr_in peer; /* port 69 until the first reply picks the transfer ID */
	bool locked;
	bool started;            /* an OACK or DATA arrived */
	bool gap_acked;          /* already answered this gap (RFC 7440) */
	uint16_t expect;         /* next block, wraps 65535 -> 0 */
	unsigned in_window;
	int64_t deadline;        /* microseconds, same clock as the caller's now */
	unsigned rto_ms, rto_init_ms, tries, max_tries;
	int64_t last_ack_at;
	uint8_t last[1468];      /* RRQ or last ACK, to resend */
	size_t last_len;
	uint8_t *buf;            /* one datagram, 65536 bytes */
	struct tftp_fetch_result res;
	uint16_t asked_blksize;
	int64_t t0;
	bool done;
};

/* Opens the socket and sends the RRQ.  -1 with s->res.error set on failure. */
int tftp_session_start(struct tftp_session *s, const struct tftp_fetch_opts *o, int out_fd,
		       int64_t now_us);
/* Takes every datagram waiting on s->fd: 1 when complete, 0 to go on, -1 failed. */
int tftp_session_input(struct tftp_session *s, int64_t now_us);
/* Call at or after s->deadline: 0 to go on, -1 when the tries are used up. */
int tftp_session_timeout(struct tftp_session *s, int64_t now_us);
void tftp_session_close(struct tftp_session *s);

#endif
