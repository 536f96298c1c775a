/* SPDX-License-Identifier: MIT */
/*
 * TFTP: the wire codec and the socket-free transfer state machine.
 *
 * Codec (bsdpd/tftp.c).  tftp_parse_request() validates a RRQ/WRQ once and
 * yields a struct tftp_request: opcode, file name (pointing into the
 * datagram), mode and the RFC 2347 options it understood.  tftp_parse_msg()
 * does the same for DATA, ACK, ERROR and OACK.  Builders write into a
 * struct wr of explicit capacity and fail with -ENOSPC instead of
 * truncating.  tftp_path_clean() turns a requested name into a relative
 * path that cannot leave the served root by name alone (the server still
 * opens it with RESOLVE_BENEATH, see tftp_server.c).
 *
 * State machine (bsdpd/tftp_transfer.c).  struct tftp_xfer is one read
 * transfer: time is passed in (microseconds, any monotonic origin), client
 * datagrams go in through tftp_xfer_input(), expiry through
 * tftp_xfer_tick(), and tftp_xfer_next() writes the next datagram that is
 * due into a caller buffer, reading file bytes through a struct
 * tftp_source.  It owns no socket, no file and no memory beyond the
 * struct itself.
 *
 * RFCs: 1350 (TFTP), 2347 (option extension), 2348 (blksize), 2349
 * (timeout, tsize), 7440 (windowsize).  Block numbers roll over from 65535
 * to 0, as tftp-hpa, iPXE (net/udp/tftp.c) and dnsmasq expect.
 */
#ifndef BSDPD_TFTP_H
#define BSDPD_TFTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "wire.h"

#define TFTP_PORT 69

enum tftp_opcode {
	TFTP_RRQ = 1,   /* RFC 1350 */
	TFTP_WRQ = 2,
	TFTP_DATA = 3,
	TFTP_ACK = 4,
	TFTP_ERROR = 5,
	TFTP_OACK = 6,  /* RFC 2347 */
};

enum tftp_error_code {
	TFTP_EUNDEF = 0,     /* not defined, see message */
	TFTP_ENOTFOUND = 1,  /* file not found */
	TFTP_EACCESS = 2,    /* access violation */
	TFTP_ENOSPACE = 3,
	TFTP_EBADOP = 4,     /* illegal TFTP operation */
	TFTP_EBADID = 5,     /* unknown transfer ID */
	TFTP_EEXISTS = 6,
	TFTP_ENOUSER = 7,
	TFTP_EOPTNEG = 8,    /* RFC 2347: option negotiation refused */
};

#define TFTP_HDR_LEN 4              /* opcode + block */
#define TFTP_SEGSIZE 512            /* RFC 1350 block size */
#define TFTP_BLKSIZE_MIN 8          /* RFC 2348 */
#define TFTP_BLKSIZE_MAX 65464      /* RFC 2348 */
#define TFTP_TIMEOUT_MIN 1          /* RFC 2349, seconds */
#define TFTP_TIMEOUT_MAX 255
#define TFTP_WINDOW_MIN 1           /* RFC 7440 */
#define TFTP_WINDOW_MAX 65535
#define TFTP_IP_UDP_TFTP_OVERHEAD 32 /* IPv4 20 + UDP 8 + TFTP 4: blksize <= MTU - 32 */
#define TFTP_PATH_MAX 512           /* longest cleaned path we serve */
#define TFTP_ERRMSG_MAX 128         /* longest ERROR text we build */

enum tftp_mode {
	TFTP_MODE_OCTET = 0,
	TFTP_MODE_NETASCII = 1,
};

/* Options, one bit each in tftp_options.present. */
enum {
	TFTP_OPT_BLKSIZE = 1u << 0,
	TFTP_OPT_TSIZE = 1u << 1,
	TFTP_OPT_TIMEOUT = 1u << 2,
	TFTP_OPT_WINDOWSIZE = 1u << 3,
};

struct tftp_options {
	unsigned present;        /* TFTP_OPT_* with a valid value */
	unsigned ignored;        /* options seen but unknown or out of range */
	uint16_t blksize;        /* 8..65464; larger requests are lowered to 65464 */
	uint16_t windowsize;     /* 1..65535 */
	uint8_t timeout;         /* seconds, 1..255 */
	uint64_t tsize;
};

/* A validated RRQ or WRQ.  filename points into the datagram and is
 * filename_len bytes long (NUL not included). */
struct tftp_request {
	uint16_t opcode;         /* TFTP_RRQ or TFTP_WRQ */
	const char *filename;
	size_t filename_len;
	enum tftp_mode mode;
	struct tftp_options opt;
	bool quirk_trailing;     /* bytes after the last option were ignored */
	bool quirk_name_ff;      /* 0xFF bytes were cut from the end of the name */
};

/* Any other datagram: DATA, ACK, ERROR or OACK. */
struct tftp_msg {
	uint16_t opcode;
	uint16_t block;              /* DATA, ACK */
	const uint8_t *data;         /* DATA payload */
	size_t data_len;
	uint16_t error_code;         /* ERROR */
	const char *error_msg;       /* ERROR text, error_msg_len bytes, not NUL-terminated */
	size_t error_msg_len;
	struct tftp_options opt;     /* OACK */
};

/* 0, or -EBADMSG when malformed, -EOPNOTSUPP when the opcode is not RRQ or
 * WRQ, -EPROTONOSUPPORT for a mode other than octet or netascii ("mail" is
 * obsolete, RFC 1350 §5). */
int tftp_parse_request(const uint8_t *pkt, size_t len, struct tftp_request *rq);
/* 0, or -EBADMSG, or -EOPNOTSUPP for RRQ/WRQ and unknown opcodes. */
int tftp_parse_msg(const uint8_t *pkt, size_t len, struct tftp_msg *m);

int tftp_build_rrq(struct wr *w, const char *filename, enum tftp_mode mode,
		   const struct tftp_options *opt);
int tftp_build_data_header(struct wr *w, uint16_t block);
int tftp_build_ack(struct wr *w, uint16_t block);
/* Writes each option in opt->present, in a fixed order. */
int tftp_build_oack(struct wr *w, const struct tftp_options *opt);
/* msg is cut to TFTP_ERRMSG_MAX bytes. */
int tftp_build_error(struct wr *w, uint16_t code, const char *msg);

const char *tftp_mode_name(enum tftp_mode mode);
const char *tftp_error_text(uint16_t code);

/* Cleans a requested name into out (NUL-terminated), a path relative to
 * the served root: backslashes become slashes, a leading copy of root_abs
 * (the root's absolute path, may be NULL) is removed, and leading slashes,
 * empty and "." components are dropped.  Returns the length, or -EACCES for
 * an empty name, a ".." component or a control character, -ENAMETOOLONG
 * when the result does not fit in cap or TFTP_PATH_MAX. */
ssize_t tftp_path_clean(const char *name, size_t n, const char *root_abs, char *out,
			size_t cap);

/* ---- negotiation ---------------------------------------------------------- */

/* Server limits for one request. */
struct tftp_limits {
	uint16_t max_blksize;       /* --tftp-max-blksize, already capped by the link MTU */
	uint16_t max_windowsize;    /* TFTP_WINDOW_CAP */
};

#define TFTP_WINDOW_CAP 64          /* more buys nothing on a LAN; like dnsmasq's 32 */

/* Everything a transfer needs to start. */
struct tftp_xfer_params {
	uint64_t size;              /* file size in bytes */
	enum tftp_mode mode;
	uint16_t blksize;
	uint16_t windowsize;
	uint32_t timeout_us;        /* client's timeout option: caps the RTO; 0: none */
	bool oack;                  /* send OACK (block 0) before DATA */
	struct tftp_options reply;  /* the OACK's options */
};

/* Decides the reply options for rq (RFC 2347-2349, 7440); pure. */
void tftp_negotiate(const struct tftp_request *rq, const struct tftp_limits *lim,
		    uint64_t file_size, struct tftp_xfer_params *out);

/* ---- transfer state machine ---------------------------------------------- */

#define TFTP_RTO_INIT_US 500000u    /* before the first RTT sample */
#define TFTP_RTO_MIN_US 100000u
#define TFTP_RTO_MAX_US 5000000u    /* backoff stops doubling here */
#define TFTP_MAX_TRIES 8            /* unanswered retransmission rounds before giving up */
/* Before the peer's first ACK the transfer is half-open: the request's
 * source address is unproven (UDP is trivially spoofed), so what we send
 * is sent toward whoever the request names.  A half-open transfer sends
 * its first datagram alone (never a window) and at most
 * TFTP_HALF_OPEN_SENDS times (at 0, 0.5 and 1.5 s), then waits silently
 * for a late ACK until 23.5 s and is reaped.
 * That datagram is an OACK for a request with options (iPXE, OVMF and
 * PXE ROMs ask for blksize and tsize): at most the request's length + 19
 * bytes (tsize "0" grows to 20 digits, every other value only shrinks),
 * so a request of n bytes draws at most 3 * (n + 19) bytes: 3 * 28 = 84
 * for iPXE's 41-byte RRQ of snponly.efi.  A bare RRQ (RFC 1350) is answered by DATA 1,
 * at most 516 bytes: at most 3 * 516 = 1548 bytes for a 29-byte request.
 * With TFTP_MAX_TRIES it was 8 * 516 = 4128.  tftp-hpa, curl,
 * busybox and tools/tftp_fetch.c retransmit their RRQ (or, once they
 * have our OACK, their ACK) within that wait, so a real client whose first
 * exchange is lost still gets its file. */
#define TFTP_HALF_OPEN_SENDS 3
/* After the last of those sends the transfer stays, silent, this long for
 * a late ACK (its slot can still be evicted when the table is full). */
#define TFTP_HALF_OPEN_LINGER_US 20000000u

/* Where block bytes come from: pread(2) on a shared fd in the daemon, a
 * memory buffer in tests.  Returns bytes read (short only at end of file)
 * or -errno. */
struct tftp_source {
	ssize_t (*pread)(void *ctx, void *buf, size_t n, uint64_t off);
	void *ctx;
};

enum tftp_outcome {
	TFTP_RUNNING = 0,
	TFTP_COMPLETE,
	TFTP_TIMED_OUT,         /* TFTP_MAX_TRIES rounds without progress: reaped */
	TFTP_CLIENT_ERROR,      /* the client sent ERROR */
	TFTP_SIZE_PROBE,        /* ERROR 8 in answer to an OACK with tsize: size asked, nothing sent */
	TFTP_READ_FAILED,       /* the file shrank or could not be read */
	TFTP_ABORTED,           /* ended by the server (superseded, shutdown, send error) */
};

struct tftp_xfer {
	/* negotiated */
	uint64_t size;
	uint16_t blksize;
	uint16_t windowsize;
	enum tftp_mode mode;
	bool oack;
	struct tftp_options reply;
	/* Block indexes are 64-bit and never wrap; the wire carries the low
	 * 16 bits.  Index 0 is the OACK. */
	uint64_t una;           /* oldest block not yet acknowledged */
	uint64_t nxt;           /* next block to put on the wire */
	uint64_t end;           /* window end: send while nxt < end */
	uint64_t high;          /* one past the highest block ever sent */
	uint64_t last;          /* index of the final (short) block; UINT64_MAX while unknown */
	/* netascii: file offset and a held-back second byte of a CR LF / CR NUL
	 * pair, at block una and at block nxt (windowsize is 1 in netascii) */
	uint64_t na_off_una, na_off_nxt;
	int16_t na_hold_una, na_hold_nxt;
	/* retransmission (RFC 6298 estimator, Karn's rule) */
	int64_t deadline;       /* INT64_MAX when nothing is in flight */
	int64_t rtt_start;      /* when rtt_block was first sent; 0 = no sample running */
	uint64_t rtt_block;
	uint32_t srtt_us, rttvar_us, rto_us;
	uint32_t timeout_us;    /* client's timeout option (caps rto), else 0 */
	uint8_t tries;
	bool established;       /* the peer has acknowledged a block: not half-open */
	/* ending */
	enum tftp_outcome outcome;
	uint16_t error_code;    /* pending ERROR to send, or the client's */
	bool error_pending;
	const char *error_msg;  /* static text of the pending ERROR */
	/* statistics */
	uint64_t bytes_sent;    /* payload bytes sent once (file progress) */
	uint64_t packets_sent;
	uint64_t retransmits;   /* datagrams sent again */
	uint64_t dup_acks;      /* ACKs that moved nothing: never answered */
	uint64_t stray;         /* other datagrams ignored */
};

void tftp_xfer_init(struct tftp_xfer *x, const struct tftp_xfer_params *p, int64_t now);
/* One datagram from the client's transfer ID. */
void tftp_xfer_input(struct tftp_xfer *x, const uint8_t *pkt, size_t len, int64_t now);
/* Call when now >= tftp_xfer_deadline(). */
void tftp_xfer_tick(struct tftp_xfer *x, int64_t now);
/* Writes the next datagram that is due into buf (of at least
 * tftp_xfer_bufsize() bytes); returns its length, 0 when nothing is due, or
 * -ENOSPC when buf is too small.  If the source fails, the transfer ends
 * with TFTP_READ_FAILED and the datagram returned is an ERROR. */
ssize_t tftp_xfer_next(struct tftp_xfer *x, const struct tftp_source *src, uint8_t *buf,
		       size_t cap, int64_t now);
/* Ends the transfer from outside; when code >= 0 an ERROR with code and msg
 * (a string that outlives the transfer) is the last datagram. */
void tftp_xfer_abort(struct tftp_xfer *x, enum tftp_outcome why, int code, const char *msg);
bool tftp_xfer_done(const struct tftp_xfer *x);
int64_t tftp_xfer_deadline(const struct tftp_xfer *x);
/* File bytes the client has acknowledged: the blocks before una (the
 * OACK is block 0 and carries none), at most the size; in netascii the
 * file offset at una, as the conversion reached it. */
uint64_t tftp_xfer_acked(const struct tftp_xfer *x);
/* The datagram buffer a transfer needs: blksize + 4, at least an OACK. */
size_t tftp_xfer_bufsize(const struct tftp_xfer *x);
const char *tftp_outcome_name(enum tftp_outcome o);

#endif
