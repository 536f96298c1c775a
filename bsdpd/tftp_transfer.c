/* SPDX-License-Identifier: MIT */
/*
 * One TFTP read transfer as a socket-free state machine (include/tftp.h).
 *
 * Sequence.  Blocks are counted with 64-bit indexes that never wrap; only
 * the wire carries index mod 65536, so block 65535 is followed by block 0
 * (rollover as tftp-hpa, iPXE net/udp/tftp.c L818-824 and dnsmasq do).  An
 * OACK is index 0 and is acknowledged by ACK 0 (RFC 2347).  [una, high) is
 * what was sent and not yet acknowledged; a window of windowsize blocks
 * (RFC 7440; 1 = RFC 1350 lock-step) is sent at once from nxt to end.
 *
 * ACKs.  An ACK for a block in [una, high) moves una past it and opens the
 * next window starting right after it: for an ACK inside the window that
 * means sending again what the client missed (RFC 7440 §4).  Any other ACK,
 * above all a duplicate of the last one, changes nothing and sends nothing:
 * answering duplicates is the sorcerer's apprentice bug (RFC 1123
 * §4.2.3.1), which doubles every packet after a single delayed ACK.
 *
 * Half-open.  Until the first ACK the client's address is unproven, so the
 * first datagram goes alone and is sent at most TFTP_HALF_OPEN_SENDS times
 * (the bound on what a spoofed request draws is in include/tftp.h).
 *
 * Size probe.  EDK2's PXE base code (OVMF, and most UEFI firmware) asks
 * for a file's size before downloading it: RRQ with tsize, and when the
 * OACK comes, ERROR 8 (EFI_MTFTP4_ERRORCODE_REQUEST_DENIED) instead of
 * ACK 0 (MdeModulePkg Mtftp4 GetInfo).  That is a question answered, not
 * a failed transfer: its own outcome, TFTP_SIZE_PROBE.
 *
 * Timer.  Only the timer resends: after rto without progress the window is
 * sent again from una and rto doubles, up to TFTP_RTO_MAX_US; after
 * TFTP_MAX_TRIES such rounds the transfer is abandoned.  rto comes from an
 * RFC 6298 estimator fed with Karn's rule (no samples from resent blocks),
 * bounded below by TFTP_RTO_MIN_US.  A client's timeout option (RFC 2349:
 * "seconds to wait before retransmitting") is echoed and bounds rto from
 * above: we never wait longer than the client expects, and on a LAN we
 * resend sooner, which the client takes as any duplicate.  (curl asks for
 * 6 s; taken literally, every lost packet would stall it for 6 s.)
 */
#include "tftp.h"

#include <errno.h>
#include <string.h>

#define NO_DEADLINE INT64_MAX

/* ---- negotiation ---------------------------------------------------------- */

static uint16_t min_u16(uint16_t a, uint16_t b)
{
	return a < b ? a : b;
}

/* RFC 2348: the server may answer with a smaller size. */
static uint16_t grant_blksize(uint16_t asked, const struct tftp_limits *lim)
{
	uint16_t b = min_u16(asked, lim->max_blksize);

	return b < TFTP_BLKSIZE_MIN ? TFTP_BLKSIZE_MIN : b;
}

/* RFC 7440 lets the server lower it.  netascii keeps 1: resending from
 * mid-window would need every block's conversion state. */
static uint16_t grant_windowsize(uint16_t asked, enum tftp_mode mode,
				 const struct tftp_limits *lim)
{
	uint16_t w = mode == TFTP_MODE_NETASCII ? 1 : min_u16(asked, lim->max_windowsize);

	return w < 1 ? 1 : w;
}

void tftp_negotiate(const struct tftp_request *rq, const struct tftp_limits *lim,
		    uint64_t file_size, struct tftp_xfer_params *out)
{
	const struct tftp_options *o = &rq->opt;
	struct tftp_options *re = &out->reply;

	memset(out, 0, sizeof(*out));
	out->size = file_size;
	out->mode = rq->mode;
	out->blksize = TFTP_SEGSIZE;
	out->windowsize = 1;
	if (o->present & TFTP_OPT_BLKSIZE) {
		out->blksize = re->blksize = grant_blksize(o->blksize, lim);
		re->present |= TFTP_OPT_BLKSIZE;
	}
	/* RFC 2349 tsize: the size on the wire is only known in octet mode
	 * (netascii grows every LF), so netascii leaves it out, as tftp-hpa. */
	if ((o->present & TFTP_OPT_TSIZE) && rq->mode == TFTP_MODE_OCTET) {
		re->tsize = file_size;
		re->present |= TFTP_OPT_TSIZE;
	}
	if (o->present & TFTP_OPT_TIMEOUT) {
		re->timeout = o->timeout;
		out->timeout_us = (uint32_t)o->timeout * 1000000u;
		re->present |= TFTP_OPT_TIMEOUT;
	}
	if (o->present & TFTP_OPT_WINDOWSIZE) {
		out->windowsize = re->windowsize = grant_windowsize(o->windowsize, rq->mode, lim);
		re->present |= TFTP_OPT_WINDOWSIZE;
	}
	/* RFC 2347: no understood option, no OACK; DATA 1 answers at once. */
	out->oack = re->present != 0;
}

/* ---- helpers --------------------------------------------------------------- */

static uint64_t window_end(const struct tftp_xfer *x)
{
	uint64_t stop = x->last == UINT64_MAX ? UINT64_MAX : x->last + 1;
	uint64_t end;

	if (!x->established)
		return x->una + 1; /* the OACK or DATA 1 goes alone: half-open */
	end = x->una + x->windowsize;
	return end < stop ? end : stop;
}

/* Timer rounds before giving up: few sends while the peer has not shown
 * it exists, then one silent round of TFTP_HALF_OPEN_LINGER_US. */
static uint8_t max_tries(const struct tftp_xfer *x)
{
	return x->established ? TFTP_MAX_TRIES : TFTP_HALF_OPEN_SENDS + 1;
}

/* The longest we wait: RTO_MAX, or less if the client asked for less. */
static uint32_t rto_cap(const struct tftp_xfer *x)
{
	return x->timeout_us && x->timeout_us < TFTP_RTO_MAX_US ? x->timeout_us : TFTP_RTO_MAX_US;
}

static uint32_t base_rto(const struct tftp_xfer *x)
{
	uint64_t rto = TFTP_RTO_INIT_US;

	if (x->srtt_us) {
		rto = (uint64_t)x->srtt_us + 4 * (uint64_t)x->rttvar_us;
		if (rto < TFTP_RTO_MIN_US)
			rto = TFTP_RTO_MIN_US;
	}
	return rto > rto_cap(x) ? rto_cap(x) : (uint32_t)rto;
}

/* RFC 6298 §2: SRTT and RTTVAR, in microseconds. */
static void rtt_sample(struct tftp_xfer *x, int64_t r)
{
	uint32_t s = r <= 0 ? 1 : r > (int64_t)TFTP_RTO_MAX_US ? TFTP_RTO_MAX_US : (uint32_t)r;

	if (x->srtt_us == 0) {
		x->srtt_us = s;
		x->rttvar_us = s / 2;
	} else {
		uint32_t d = x->srtt_us > s ? x->srtt_us - s : s - x->srtt_us;

		x->rttvar_us = (3 * x->rttvar_us + d) / 4;
		x->srtt_us = (7 * x->srtt_us + s) / 8;
	}
}

static void finish(struct tftp_xfer *x, enum tftp_outcome why)
{
	x->outcome = why;
	x->deadline = NO_DEADLINE;
}

/* ---- life cycle ------------------------------------------------------------ */

void tftp_xfer_init(struct tftp_xfer *x, const struct tftp_xfer_params *p, int64_t now)
{
	(void)now;
	memset(x, 0, sizeof(*x));
	x->size = p->size;
	x->blksize = p->blksize >= TFTP_BLKSIZE_MIN ? p->blksize : TFTP_SEGSIZE;
	x->mode = p->mode;
	x->windowsize = p->mode == TFTP_MODE_NETASCII || p->windowsize == 0 ? 1 : p->windowsize;
	x->oack = p->oack;
	x->reply = p->reply;
	x->una = x->nxt = x->high = p->oack ? 0 : 1;
	/* Octet: the final block is the first one shorter than blksize, empty
	 * when the size is a multiple of it.  netascii finds out as it goes. */
	x->last = p->mode == TFTP_MODE_OCTET ? p->size / x->blksize + 1 : UINT64_MAX;
	x->end = window_end(x);
	x->na_hold_una = x->na_hold_nxt = -1;
	x->deadline = NO_DEADLINE;
	x->timeout_us = p->timeout_us;
	x->rto_us = base_rto(x);
}

void tftp_xfer_abort(struct tftp_xfer *x, enum tftp_outcome why, int code, const char *msg)
{
	if (x->outcome != TFTP_RUNNING)
		return;
	finish(x, why);
	if (code >= 0) {
		x->error_pending = true;
		x->error_code = (uint16_t)code;
		x->error_msg = msg ? msg : tftp_error_text((uint16_t)code);
	}
}

bool tftp_xfer_done(const struct tftp_xfer *x)
{
	return x->outcome != TFTP_RUNNING && !x->error_pending;
}

uint64_t tftp_xfer_acked(const struct tftp_xfer *x)
{
	uint64_t blocks = x->una > 0 ? x->una - 1 : 0;

	if (x->mode == TFTP_MODE_NETASCII)
		return x->na_off_una;
	/* Past size / blksize full blocks only the short final one is left. */
	if (blocks > x->size / x->blksize)
		return x->size;
	return blocks * x->blksize;
}

int64_t tftp_xfer_deadline(const struct tftp_xfer *x)
{
	return x->deadline;
}

size_t tftp_xfer_bufsize(const struct tftp_xfer *x)
{
	size_t n = (size_t)x->blksize + TFTP_HDR_LEN;

	return n > 512 ? n : 512; /* room for an OACK or an ERROR */
}

const char *tftp_outcome_name(enum tftp_outcome o)
{
	switch (o) {
	case TFTP_RUNNING: return "running";
	case TFTP_COMPLETE: return "complete";
	case TFTP_TIMED_OUT: return "timed out";
	case TFTP_CLIENT_ERROR: return "client error";
	case TFTP_SIZE_PROBE: return "size probe";
	case TFTP_READ_FAILED: return "read failed";
	case TFTP_ABORTED: return "aborted";
	}
	return "?";
}

/* ---- input ----------------------------------------------------------------- */

/* Block k (una <= k < high) is acknowledged. */
static void advance(struct tftp_xfer *x, uint64_t k, int64_t now)
{
	if (x->rtt_start && k >= x->rtt_block) {
		rtt_sample(x, now - x->rtt_start);
		x->rtt_start = 0;
	}
	if (x->mode == TFTP_MODE_NETASCII && k >= 1) {
		/* windowsize 1: k is the block just converted from the una cursor */
		x->na_off_una = x->na_off_nxt;
		x->na_hold_una = x->na_hold_nxt;
	}
	x->una = k + 1;
	x->established = true;
	x->tries = 0;
	x->rto_us = base_rto(x);
	x->deadline = NO_DEADLINE;
	if (x->una > x->last) {
		finish(x, TFTP_COMPLETE);
		return;
	}
	/* RFC 7440 §4: go on from the block after the acknowledged one, which
	 * resends the rest of the window if this ACK came from inside it. */
	x->nxt = x->una;
	x->end = window_end(x);
}

/* ERROR 8 to an OACK that offered tsize, before anything else: the
 * client wanted only the size (EDK2, see the top of this file). */
static bool is_size_probe(const struct tftp_xfer *x, uint16_t code)
{
	return code == TFTP_EOPTNEG && x->oack && x->una == 0 &&
	       (x->reply.present & TFTP_OPT_TSIZE);
}

static void on_ack(struct tftp_xfer *x, uint16_t block, int64_t now)
{
	uint64_t d = (uint16_t)(block - (uint16_t)x->una);

	if (x->high > x->una && d < x->high - x->una) {
		advance(x, x->una + d, now);
		return;
	}
	/* Not for anything in flight: a duplicate of the last ACK (delayed,
	 * or the client's own retransmission) or a stale one.  Never answer
	 * it: that is how the sorcerer's apprentice bug starts.  Our timer
	 * covers a lost DATA. */
	if (x->una > 0 && block == (uint16_t)(x->una - 1))
		x->dup_acks++;
	else
		x->stray++;
}

void tftp_xfer_input(struct tftp_xfer *x, const uint8_t *pkt, size_t len, int64_t now)
{
	struct tftp_msg m;

	if (x->outcome != TFTP_RUNNING)
		return;
	if (tftp_parse_msg(pkt, len, &m) < 0) {
		x->stray++;
		return;
	}
	if (m.opcode == TFTP_ACK) {
		on_ack(x, m.block, now);
	} else if (m.opcode == TFTP_ERROR) {
		/* RFC 1350: an ERROR ends the transfer and is not acknowledged. */
		x->error_code = m.error_code;
		finish(x, is_size_probe(x, m.error_code) ? TFTP_SIZE_PROBE : TFTP_CLIENT_ERROR);
	} else {
		x->stray++;
	}
}

void tftp_xfer_tick(struct tftp_xfer *x, int64_t now)
{
	if (x->outcome != TFTP_RUNNING || now < x->deadline)
		return;
	x->deadline = NO_DEADLINE;
	if (++x->tries >= max_tries(x)) {
		finish(x, TFTP_TIMED_OUT);
		return;
	}
	/* Enough has gone toward an unproven source: send nothing more, but
	 * listen for a late ACK.  A client whose ACK of our OACK was lost has
	 * moved on and never repeats its RRQ; it repeats that ACK only on its
	 * own timer (curl and tftp-hpa every 5 s, iPXE backing off to 10 s). */
	if (!x->established && x->tries == TFTP_HALF_OPEN_SENDS) {
		x->deadline = now + TFTP_HALF_OPEN_LINGER_US;
		return;
	}
	/* RFC 6298 §5.5 backoff, never beyond the client's timeout. */
	x->rto_us = x->rto_us >= rto_cap(x) / 2 ? rto_cap(x) : 2 * x->rto_us;
	x->rtt_start = 0; /* Karn: what is resent is not timed */
	x->nxt = x->una;
	x->end = window_end(x);
}

/* ---- output ---------------------------------------------------------------- */

/* netascii (RFC 764 via RFC 1350): LF goes out as CR LF and CR as CR NUL.
 * A pair cut by the block end leaves its second byte in *hold. */
static ssize_t netascii_fill(const struct tftp_source *src, uint64_t size, uint64_t *off,
			     int16_t *hold, uint8_t *out, size_t cap)
{
	uint8_t in[512];
	size_t o = 0;

	if (*hold >= 0 && cap > 0) {
		out[o++] = (uint8_t)*hold;
		*hold = -1;
	}
	while (o < cap && *off < size) {
		size_t want = sizeof(in), i;
		ssize_t n;

		if (want > size - *off)
			want = (size_t)(size - *off);
		if (want > cap - o)
			want = cap - o; /* each input byte yields at least one */
		n = src->pread(src->ctx, in, want, *off);
		if (n <= 0)
			return n < 0 ? n : -EIO;
		for (i = 0; i < (size_t)n && o < cap; i++) {
			uint8_t pair = in[i] == '\n' ? '\n' : '\0';

			if (in[i] != '\n' && in[i] != '\r') {
				out[o++] = in[i];
				continue;
			}
			out[o++] = '\r';
			if (o < cap)
				out[o++] = pair;
			else
				*hold = pair;
		}
		*off += i;
	}
	return (ssize_t)o;
}

static ssize_t octet_fill(const struct tftp_xfer *x, const struct tftp_source *src,
			  uint64_t b, uint8_t *out)
{
	uint64_t off = (b - 1) * x->blksize;
	size_t want = x->size - off < x->blksize ? (size_t)(x->size - off) : x->blksize;
	ssize_t n = want ? src->pread(src->ctx, out, want, off) : 0;

	/* A short read means the file shrank under us: the size promised in
	 * tsize and implied by earlier blocks no longer holds. */
	if (n >= 0 && (size_t)n != want)
		return -EIO;
	return n;
}

/* DATA for block b (b == una in netascii). */
static ssize_t build_data(struct tftp_xfer *x, const struct tftp_source *src, uint64_t b,
			  uint8_t *buf, size_t cap)
{
	struct wr w = wr_init(buf, cap);
	ssize_t n;

	if (tftp_build_data_header(&w, (uint16_t)b) < 0 || wr_room(&w) < x->blksize)
		return -ENOSPC;
	if (x->mode == TFTP_MODE_OCTET) {
		n = octet_fill(x, src, b, buf + w.len);
	} else {
		x->na_off_nxt = x->na_off_una;
		x->na_hold_nxt = x->na_hold_una;
		n = netascii_fill(src, x->size, &x->na_off_nxt, &x->na_hold_nxt, buf + w.len,
				  x->blksize);
		if (n >= 0 && (size_t)n < x->blksize) {
			x->last = b;
			x->end = b + 1;
		}
	}
	return n < 0 ? n : (ssize_t)w.len + n;
}

static ssize_t build_pending_error(struct tftp_xfer *x, uint8_t *buf, size_t cap)
{
	struct wr w = wr_init(buf, cap);

	x->error_pending = false;
	if (tftp_build_error(&w, x->error_code, x->error_msg) < 0)
		return -ENOSPC;
	x->packets_sent++;
	return (ssize_t)w.len;
}

static void account(struct tftp_xfer *x, uint64_t b, size_t len, int64_t now)
{
	x->packets_sent++;
	if (b < x->high) {
		x->retransmits++;
		if (x->rtt_start && b == x->rtt_block)
			x->rtt_start = 0; /* Karn */
	} else {
		x->high = b + 1;
		x->bytes_sent += b ? len - TFTP_HDR_LEN : 0;
		if (!x->rtt_start) {
			x->rtt_start = now;
			x->rtt_block = b;
		}
	}
	if (x->deadline == NO_DEADLINE)
		x->deadline = now + x->rto_us;
}

ssize_t tftp_xfer_next(struct tftp_xfer *x, const struct tftp_source *src, uint8_t *buf,
		       size_t cap, int64_t now)
{
	uint64_t b = x->nxt;
	ssize_t n;

	if (x->outcome != TFTP_RUNNING)
		return x->error_pending ? build_pending_error(x, buf, cap) : 0;
	if (b >= x->end)
		return 0;
	if (b == 0) {
		struct wr w = wr_init(buf, cap);

		n = tftp_build_oack(&w, &x->reply) < 0 ? -ENOSPC : (ssize_t)w.len;
	} else {
		n = build_data(x, src, b, buf, cap);
	}
	if (n == -ENOSPC)
		return n;
	if (n < 0) {
		tftp_xfer_abort(x, TFTP_READ_FAILED, TFTP_EUNDEF, "Read error");
		return build_pending_error(x, buf, cap);
	}
	account(x, b, (size_t)n, now);
	x->nxt = b + 1;
	return n;
}
