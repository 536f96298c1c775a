/* SPDX-License-Identifier: MIT */
/*
 * TFTP transfer state machine, with time passed in and a memory file:
 * lock-step and windowed sending, OACK, block-number rollover, duplicate
 * ACKs (no sorcerer's apprentice), ACKs inside a window (RFC 7440),
 * retransmission with backoff, reaping, half-open transfers (few sends, no
 * window), client errors, size probes, read failures and netascii.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tftp.h"

#define MS 1000
#define T0 1000000000

struct mem {
	const uint8_t *data;
	size_t len;
	size_t fail_at;      /* reads at or past this offset fail; SIZE_MAX: never */
};

static ssize_t mem_pread(void *ctx, void *buf, size_t n, uint64_t off)
{
	struct mem *m = ctx;

	if (off >= m->fail_at)
		return -EIO;
	if (off >= m->len)
		return 0;
	if (n > m->len - off)
		n = m->len - (size_t)off;
	memcpy(buf, m->data + off, n);
	return (ssize_t)n;
}

static uint8_t *pattern(size_t n)
{
	uint8_t *p = malloc(n ? n : 1);

	assert_non_null(p);
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 7 + i / 251);
	return p;
}

struct rig {
	struct tftp_xfer x;
	struct mem mem;
	struct tftp_source src;
	uint8_t buf[TFTP_BLKSIZE_MAX + TFTP_HDR_LEN];
	int64_t now;
};

static void rig_start(struct rig *r, const uint8_t *data, size_t len,
		      const struct tftp_xfer_params *p)
{
	memset(r, 0, sizeof(*r));
	r->mem = (struct mem){ .data = data, .len = len, .fail_at = SIZE_MAX };
	r->src = (struct tftp_source){ .pread = mem_pread, .ctx = &r->mem };
	r->now = T0;
	tftp_xfer_init(&r->x, p, r->now);
}

static struct tftp_xfer_params plain(size_t size)
{
	return (struct tftp_xfer_params){ .size = size, .mode = TFTP_MODE_OCTET, .blksize = 512,
					  .windowsize = 1 };
}

/* The next datagram; 0 when none is due. */
static ssize_t next(struct rig *r)
{
	return tftp_xfer_next(&r->x, &r->src, r->buf, sizeof(r->buf), r->now);
}

static void expect_data(struct rig *r, uint16_t block, const uint8_t *payload, size_t n)
{
	ssize_t len = next(r);

	assert_int_equal(len, (ssize_t)n + 4);
	assert_int_equal(r->buf[0] << 8 | r->buf[1], TFTP_DATA);
	assert_int_equal(r->buf[2] << 8 | r->buf[3], block);
	if (n)
		assert_memory_equal(r->buf + 4, payload, n);
}

static void ack(struct rig *r, uint16_t block)
{
	uint8_t a[4] = { 0, TFTP_ACK, (uint8_t)(block >> 8), (uint8_t)block };

	tftp_xfer_input(&r->x, a, sizeof(a), r->now);
}

/* ---- lock-step ---------------------------------------------------------------- */

static void rfc1350_lock_step_transfer(void **state)
{
	struct tftp_xfer_params p = plain(1300);
	uint8_t *f = pattern(1300);
	struct rig r;

	(void)state;
	rig_start(&r, f, 1300, &p);
	expect_data(&r, 1, f, 512);
	assert_int_equal(tftp_xfer_acked(&r.x), 0); /* sent, not acknowledged */
	assert_int_equal(next(&r), 0); /* lock-step: one block in flight */
	ack(&r, 1);
	assert_int_equal(tftp_xfer_acked(&r.x), 512);
	expect_data(&r, 2, f + 512, 512);
	ack(&r, 2);
	assert_int_equal(tftp_xfer_acked(&r.x), 1024);
	expect_data(&r, 3, f + 1024, 276);
	assert_false(tftp_xfer_done(&r.x));
	ack(&r, 3);
	assert_int_equal(tftp_xfer_acked(&r.x), 1300); /* the short last block */
	assert_true(tftp_xfer_done(&r.x));
	assert_int_equal(r.x.outcome, TFTP_COMPLETE);
	assert_int_equal(r.x.bytes_sent, 1300);
	assert_int_equal(r.x.retransmits, 0);
	assert_int_equal(next(&r), 0);
	free(f);
}

/* A size that is a multiple of blksize ends with an empty DATA. */
static void exact_multiple_ends_with_empty_block(void **state)
{
	struct tftp_xfer_params p = plain(1024);
	uint8_t *f = pattern(1024);
	struct rig r;

	(void)state;
	rig_start(&r, f, 1024, &p);
	expect_data(&r, 1, f, 512);
	ack(&r, 1);
	expect_data(&r, 2, f + 512, 512);
	ack(&r, 2);
	assert_int_equal(tftp_xfer_acked(&r.x), 1024);
	expect_data(&r, 3, NULL, 0);
	ack(&r, 3);
	assert_int_equal(tftp_xfer_acked(&r.x), 1024); /* the empty block adds none */
	assert_int_equal(r.x.outcome, TFTP_COMPLETE);

	rig_start(&r, f, 0, &(struct tftp_xfer_params){ .blksize = 512, .windowsize = 1 });
	expect_data(&r, 1, NULL, 0);
	ack(&r, 1);
	assert_int_equal(r.x.outcome, TFTP_COMPLETE);
	free(f);
}

static void oack_is_block_zero(void **state)
{
	struct tftp_xfer_params p = plain(3000);
	uint8_t *f = pattern(3000);
	struct rig r;
	ssize_t n;

	(void)state;
	p.blksize = 1432;
	p.oack = true;
	p.reply = (struct tftp_options){ .present = TFTP_OPT_BLKSIZE | TFTP_OPT_TSIZE,
					 .blksize = 1432, .tsize = 3000 };
	rig_start(&r, f, 3000, &p);
	n = next(&r);
	assert_int_equal(n, sizeof("\0\6blksize\0" "1432\0tsize\0" "3000\0") - 1);
	assert_memory_equal(r.buf, "\0\6blksize\0" "1432\0tsize\0" "3000\0", (size_t)n);
	assert_int_equal(next(&r), 0);
	ack(&r, 1); /* not sent yet: ignored */
	assert_int_equal(next(&r), 0);
	ack(&r, 0);
	assert_int_equal(tftp_xfer_acked(&r.x), 0); /* the OACK carries no file bytes */
	expect_data(&r, 1, f, 1432);
	ack(&r, 1);
	expect_data(&r, 2, f + 1432, 1432);
	ack(&r, 2);
	expect_data(&r, 3, f + 2864, 136);
	ack(&r, 3);
	assert_int_equal(r.x.outcome, TFTP_COMPLETE);
	free(f);
}

/* ---- sorcerer's apprentice ------------------------------------------------------ */

static void duplicate_acks_never_cause_sends(void **state)
{
	struct tftp_xfer_params p = plain(5000);
	uint8_t *f = pattern(5000);
	struct rig r;

	(void)state;
	rig_start(&r, f, 5000, &p);
	expect_data(&r, 1, f, 512);
	ack(&r, 1);
	expect_data(&r, 2, f + 512, 512);
	/* The delayed or repeated ACK 1 that would start the apprentice. */
	for (int i = 0; i < 10; i++) {
		ack(&r, 1);
		assert_int_equal(next(&r), 0);
	}
	assert_int_equal(r.x.dup_acks, 10);
	assert_int_equal(r.x.packets_sent, 2);
	ack(&r, 2);
	expect_data(&r, 3, f + 1024, 512);
	assert_int_equal(r.x.retransmits, 0);
	free(f);
}

static void acks_ahead_or_garbage_are_ignored(void **state)
{
	struct tftp_xfer_params p = plain(5000);
	uint8_t *f = pattern(5000);
	uint8_t junk[] = { 0, 3, 0, 1, 'x' }, shorty[] = { 0, 4, 0 };
	struct rig r;

	(void)state;
	rig_start(&r, f, 5000, &p);
	expect_data(&r, 1, f, 512);
	ack(&r, 5);
	ack(&r, 0xffff);
	tftp_xfer_input(&r.x, junk, sizeof(junk), r.now);
	tftp_xfer_input(&r.x, shorty, sizeof(shorty), r.now);
	assert_int_equal(next(&r), 0);
	assert_int_equal(r.x.stray, 4);
	assert_int_equal(r.x.una, 1);
	free(f);
}

/* ---- timers -------------------------------------------------------------------- */

/* Once the client has acknowledged a block, a silent client is given
 * TFTP_MAX_TRIES rounds of backoff before it is reaped. */
static void timeouts_back_off_and_reap(void **state)
{
	struct tftp_xfer_params p = plain(5000);
	uint8_t *f = pattern(5000);
	struct rig r;
	int64_t rto;

	(void)state;
	rig_start(&r, f, 5000, &p);
	expect_data(&r, 1, f, 512);
	ack(&r, 1);
	expect_data(&r, 2, f + 512, 512);
	rto = r.x.rto_us;
	assert_int_equal(tftp_xfer_deadline(&r.x), r.now + rto);
	for (int tries = 1; tries < TFTP_MAX_TRIES; tries++) {
		r.now = tftp_xfer_deadline(&r.x) - 1;
		tftp_xfer_tick(&r.x, r.now);
		assert_int_equal(next(&r), 0);  /* not yet */
		r.now++;
		tftp_xfer_tick(&r.x, r.now);
		expect_data(&r, 2, f + 512, 512); /* the same block again */
		rto = 2 * rto > TFTP_RTO_MAX_US ? TFTP_RTO_MAX_US : 2 * rto;
		assert_int_equal(tftp_xfer_deadline(&r.x), r.now + rto);
		assert_int_equal(r.x.retransmits, tries);
	}
	r.now = tftp_xfer_deadline(&r.x);
	tftp_xfer_tick(&r.x, r.now);
	assert_true(tftp_xfer_done(&r.x));
	assert_int_equal(r.x.outcome, TFTP_TIMED_OUT);
	assert_int_equal(next(&r), 0);
	free(f);
}

/* Before the first ACK the source is unproven (a spoofed RRQ): DATA 1 is
 * sent TFTP_HALF_OPEN_SENDS times, not TFTP_MAX_TRIES, then nothing more
 * while it waits for a late ACK, then reaped. */
static void half_open_is_reaped_after_few_sends(void **state)
{
	struct tftp_xfer_params p = plain(5000);
	uint8_t *f = pattern(5000);
	struct rig r;

	(void)state;
	rig_start(&r, f, 5000, &p);
	expect_data(&r, 1, f, 512);
	for (int sends = 1; sends < TFTP_HALF_OPEN_SENDS; sends++) {
		r.now = tftp_xfer_deadline(&r.x);
		tftp_xfer_tick(&r.x, r.now);
		expect_data(&r, 1, f, 512);
	}
	assert_int_equal(r.now - T0, TFTP_RTO_INIT_US * 3); /* 0.5 s + 1 s */
	r.now = tftp_xfer_deadline(&r.x);
	tftp_xfer_tick(&r.x, r.now);
	assert_false(tftp_xfer_done(&r.x));
	assert_int_equal(next(&r), 0);             /* silent while it lingers */
	assert_int_equal(tftp_xfer_deadline(&r.x), r.now + TFTP_HALF_OPEN_LINGER_US);
	r.now = tftp_xfer_deadline(&r.x);
	tftp_xfer_tick(&r.x, r.now);
	assert_true(tftp_xfer_done(&r.x));
	assert_int_equal(r.x.outcome, TFTP_TIMED_OUT);
	assert_false(r.x.established);
	assert_int_equal(r.x.packets_sent, TFTP_HALF_OPEN_SENDS);
	assert_int_equal(next(&r), 0);
	free(f);
}

/* The client got our first datagram but its ACK was lost each time: it
 * repeats the ACK on its own timer (curl: 5 s), after our last send.  The
 * late ACK still establishes the transfer and the file follows (a hang in
 * the loss test before the silent wait existed). */
static void late_ack_after_the_last_send_is_served(void **state)
{
	struct tftp_xfer_params p = plain(700);
	uint8_t *f = pattern(700);
	struct rig r;

	(void)state;
	rig_start(&r, f, 700, &p);
	expect_data(&r, 1, f, 512);
	for (int sends = 1; sends <= TFTP_HALF_OPEN_SENDS; sends++) {
		r.now = tftp_xfer_deadline(&r.x);
		tftp_xfer_tick(&r.x, r.now);
		if (sends < TFTP_HALF_OPEN_SENDS)
			expect_data(&r, 1, f, 512);
	}
	r.now += 5000 * MS;
	ack(&r, 1);
	assert_true(r.x.established);
	expect_data(&r, 2, f + 512, 188);
	ack(&r, 2);
	assert_true(tftp_xfer_done(&r.x));
	assert_int_equal(r.x.outcome, TFTP_COMPLETE);
	free(f);
}

/* A window is never sent toward an unproven source: even with windowsize
 * and no OACK, DATA 1 goes alone until it is acknowledged. */
static void half_open_sends_no_window(void **state)
{
	struct tftp_xfer_params p = plain(5000);
	uint8_t *f = pattern(5000);
	struct rig r;

	(void)state;
	p.windowsize = 8;
	rig_start(&r, f, 5000, &p);
	expect_data(&r, 1, f, 512);
	assert_int_equal(next(&r), 0);
	r.now = tftp_xfer_deadline(&r.x);
	tftp_xfer_tick(&r.x, r.now);
	expect_data(&r, 1, f, 512);      /* the resend is alone too */
	assert_int_equal(next(&r), 0);
	ack(&r, 1);
	assert_true(r.x.established);
	for (uint16_t b = 2; b <= 9; b++)
		expect_data(&r, b, f + (b - 1) * 512, 512);
	assert_int_equal(next(&r), 0);
	free(f);
}

static void rtt_sets_timeout_and_progress_resets_backoff(void **state)
{
	struct tftp_xfer_params p = plain(5000);
	uint8_t *f = pattern(5000);
	struct rig r;

	(void)state;
	rig_start(&r, f, 5000, &p);
	expect_data(&r, 1, f, 512);
	r.now += 2 * MS;
	ack(&r, 1);                       /* 2 ms RTT: the floor applies */
	expect_data(&r, 2, f + 512, 512);
	assert_int_equal(tftp_xfer_deadline(&r.x), r.now + TFTP_RTO_MIN_US);
	r.now = tftp_xfer_deadline(&r.x);
	tftp_xfer_tick(&r.x, r.now);
	expect_data(&r, 2, f + 512, 512);
	assert_int_equal(tftp_xfer_deadline(&r.x), r.now + 2 * TFTP_RTO_MIN_US);
	r.now += 1 * MS;
	ack(&r, 2);                       /* Karn: no sample from a resent block */
	assert_int_equal(r.x.tries, 0);
	expect_data(&r, 3, f + 1024, 512);
	assert_int_equal(tftp_xfer_deadline(&r.x), r.now + TFTP_RTO_MIN_US);
	free(f);
}

/* RFC 2349: the client's timeout option bounds the interval and its backoff. */
static void client_timeout_option_caps_the_interval(void **state)
{
	struct tftp_xfer_params p = plain(5000);
	uint8_t *f = pattern(5000);
	struct rig r;

	(void)state;
	p.timeout_us = 1000 * MS;
	rig_start(&r, f, 5000, &p);
	expect_data(&r, 1, f, 512);
	assert_int_equal(tftp_xfer_deadline(&r.x), r.now + TFTP_RTO_INIT_US);
	for (int i = 0; i < TFTP_HALF_OPEN_SENDS - 1; i++) {
		r.now = tftp_xfer_deadline(&r.x);
		tftp_xfer_tick(&r.x, r.now);
		expect_data(&r, 1, f, 512);
		assert_int_equal(tftp_xfer_deadline(&r.x), r.now + 1000 * MS);
	}
	free(f);
}

/* ---- rollover ------------------------------------------------------------------ */

/* 70000 blocks of 8 bytes: block numbers pass 65535, then 0, 1, ...
 * (tftp-hpa and iPXE roll over to 0). */
static void block_numbers_roll_over_to_zero(void **state)
{
	const size_t size = 70000 * 8 + 3;
	uint8_t *f = pattern(size);
	struct tftp_xfer_params p = { .size = size, .mode = TFTP_MODE_OCTET, .blksize = 8,
				      .windowsize = 1 };
	struct rig r;
	bool saw_zero = false;

	(void)state;
	rig_start(&r, f, size, &p);
	for (uint64_t b = 1; b <= 70001; b++) {
		size_t off = (size_t)(b - 1) * 8;
		size_t n = size - off < 8 ? size - off : 8;

		expect_data(&r, (uint16_t)b, f + off, n);
		saw_zero |= (uint16_t)b == 0;
		if (b == 65536) {
			ack(&r, 65535);   /* a duplicate across the wrap */
			assert_int_equal(next(&r), 0);
		}
		ack(&r, (uint16_t)b);
	}
	assert_true(saw_zero);
	assert_int_equal(r.x.outcome, TFTP_COMPLETE);
	assert_int_equal(r.x.bytes_sent, size);
	assert_int_equal(r.x.dup_acks, 1);
	free(f);
}

/* ---- windows (RFC 7440) ------------------------------------------------------------ */

static void window_is_sent_whole_and_resumed_after_inner_ack(void **state)
{
	struct tftp_xfer_params p = plain(512 * 20);
	uint8_t *f = pattern(512 * 20);
	struct rig r;

	(void)state;
	p.windowsize = 4;
	p.oack = true;
	p.reply = (struct tftp_options){ .present = TFTP_OPT_WINDOWSIZE, .windowsize = 4 };
	rig_start(&r, f, 512 * 20, &p);
	assert_true(next(&r) > 0);         /* OACK alone */
	assert_int_equal(next(&r), 0);
	ack(&r, 0);
	for (uint16_t b = 1; b <= 4; b++)
		expect_data(&r, b, f + (b - 1) * 512, 512);
	assert_int_equal(next(&r), 0);
	ack(&r, 4);
	for (uint16_t b = 5; b <= 8; b++)
		expect_data(&r, b, f + (b - 1) * 512, 512);
	/* The client saw 5 and 6 only and acknowledges 6: resume at 7. */
	ack(&r, 6);
	for (uint16_t b = 7; b <= 10; b++)
		expect_data(&r, b, f + (b - 1) * 512, 512);
	assert_int_equal(r.x.retransmits, 2); /* 7 and 8 went twice */
	ack(&r, 6);                           /* duplicate: nothing */
	ack(&r, 3);                           /* stale: nothing */
	assert_int_equal(next(&r), 0);
	/* A timeout resends the whole window from the oldest unacknowledged. */
	r.now = tftp_xfer_deadline(&r.x);
	tftp_xfer_tick(&r.x, r.now);
	for (uint16_t b = 7; b <= 10; b++)
		expect_data(&r, b, f + (b - 1) * 512, 512);
	free(f);
}

static void window_stops_at_the_last_block(void **state)
{
	struct tftp_xfer_params p = plain(512 * 2 + 10);
	uint8_t *f = pattern(512 * 2 + 10);
	struct rig r;

	(void)state;
	p.windowsize = 16;
	rig_start(&r, f, 512 * 2 + 10, &p);
	expect_data(&r, 1, f, 512);
	assert_int_equal(next(&r), 0); /* half-open: DATA 1 alone */
	ack(&r, 1);
	expect_data(&r, 2, f + 512, 512);
	expect_data(&r, 3, f + 1024, 10);
	assert_int_equal(next(&r), 0);
	ack(&r, 3);
	assert_int_equal(r.x.outcome, TFTP_COMPLETE);
	free(f);
}

/* ---- endings ----------------------------------------------------------------------- */

static void client_error_ends_silently(void **state)
{
	struct tftp_xfer_params p = plain(5000);
	uint8_t *f = pattern(5000);
	struct rig r;

	(void)state;
	rig_start(&r, f, 5000, &p);
	expect_data(&r, 1, f, 512);
	tftp_xfer_input(&r.x, (const uint8_t *)"\0\5\0\10refused\0", 12, r.now);
	assert_true(tftp_xfer_done(&r.x));
	assert_int_equal(r.x.outcome, TFTP_CLIENT_ERROR);
	assert_int_equal(r.x.error_code, 8);
	assert_int_equal(next(&r), 0);
	free(f);
}

static struct tftp_xfer_params with_oack(size_t size, unsigned present)
{
	struct tftp_xfer_params p = plain(size);

	p.oack = true;
	p.reply = (struct tftp_options){ .present = present, .blksize = 512, .tsize = size };
	return p;
}

/* EDK2 (OVMF) asks the size with tsize and answers the OACK with ERROR 8:
 * a size probe, not a failed transfer.  ERROR 8 to an OACK without tsize
 * is a refused negotiation, and after ACK 0 an error like any other. */
static void error_8_to_a_tsize_oack_is_a_size_probe(void **state)
{
	static const uint8_t err8[] = "\0\5\0\10User aborted the transfer";
	struct tftp_xfer_params p = with_oack(5000, TFTP_OPT_TSIZE | TFTP_OPT_BLKSIZE);
	uint8_t *f = pattern(5000);
	struct rig r;

	(void)state;
	rig_start(&r, f, 5000, &p);
	assert_true(next(&r) > 0); /* the OACK */
	tftp_xfer_input(&r.x, err8, sizeof(err8), r.now);
	assert_true(tftp_xfer_done(&r.x));
	assert_int_equal(r.x.outcome, TFTP_SIZE_PROBE);
	assert_string_equal(tftp_outcome_name(r.x.outcome), "size probe");
	assert_int_equal(next(&r), 0);

	p = with_oack(5000, TFTP_OPT_BLKSIZE);
	rig_start(&r, f, 5000, &p);
	assert_true(next(&r) > 0);
	tftp_xfer_input(&r.x, err8, sizeof(err8), r.now);
	assert_int_equal(r.x.outcome, TFTP_CLIENT_ERROR);

	p = with_oack(5000, TFTP_OPT_TSIZE);
	rig_start(&r, f, 5000, &p);
	assert_true(next(&r) > 0);
	ack(&r, 0);
	expect_data(&r, 1, f, 512);
	tftp_xfer_input(&r.x, err8, sizeof(err8), r.now);
	assert_int_equal(r.x.outcome, TFTP_CLIENT_ERROR);
	free(f);
}

static void short_read_sends_error(void **state)
{
	struct tftp_xfer_params p = plain(5000);
	uint8_t *f = pattern(5000);
	struct rig r;
	ssize_t n;

	(void)state;
	rig_start(&r, f, 5000, &p);
	r.mem.len = 700; /* the file shrank after the size was taken */
	expect_data(&r, 1, f, 512);
	ack(&r, 1);
	n = next(&r);
	assert_int_equal(n, sizeof("\0\5\0\0Read error"));
	assert_memory_equal(r.buf, "\0\5\0\0Read error\0", (size_t)n);
	assert_int_equal(r.x.outcome, TFTP_READ_FAILED);
	assert_true(tftp_xfer_done(&r.x));
	free(f);
}

static void abort_with_code_sends_one_error(void **state)
{
	struct tftp_xfer_params p = plain(5000);
	uint8_t *f = pattern(5000);
	struct rig r;

	(void)state;
	rig_start(&r, f, 5000, &p);
	tftp_xfer_abort(&r.x, TFTP_ABORTED, TFTP_EUNDEF, "Server stopping");
	assert_false(tftp_xfer_done(&r.x));
	assert_int_equal(next(&r), sizeof("\0\5\0\0Server stopping"));
	assert_true(tftp_xfer_done(&r.x));
	assert_int_equal(next(&r), 0);
	free(f);
}

/* ---- netascii ---------------------------------------------------------------------- */

static void netascii_expands_and_resends_identically(void **state)
{
	static const uint8_t text[] = "a\nb\rc\n";
	struct tftp_xfer_params p = { .size = 6, .mode = TFTP_MODE_NETASCII, .blksize = 8,
				      .windowsize = 4 };
	struct rig r;

	(void)state;
	rig_start(&r, text, 6, &p);
	assert_int_equal(r.x.windowsize, 1);
	expect_data(&r, 1, (const uint8_t *)"a\r\nb\r\0c\r", 8);
	r.now = tftp_xfer_deadline(&r.x);
	tftp_xfer_tick(&r.x, r.now);
	expect_data(&r, 1, (const uint8_t *)"a\r\nb\r\0c\r", 8);
	assert_int_equal(tftp_xfer_acked(&r.x), 0);
	ack(&r, 1);
	/* file bytes, not wire bytes: all 6 made the first 8, but for the
	 * LF of the last newline's CR LF, held back */
	assert_int_equal(tftp_xfer_acked(&r.x), 6);
	expect_data(&r, 2, (const uint8_t *)"\n", 1); /* the held-back LF */
	ack(&r, 2);
	assert_int_equal(tftp_xfer_acked(&r.x), 6);
	assert_int_equal(r.x.outcome, TFTP_COMPLETE);
	assert_int_equal(r.x.bytes_sent, 9);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(rfc1350_lock_step_transfer),
		cmocka_unit_test(exact_multiple_ends_with_empty_block),
		cmocka_unit_test(oack_is_block_zero),
		cmocka_unit_test(duplicate_acks_never_cause_sends),
		cmocka_unit_test(acks_ahead_or_garbage_are_ignored),
		cmocka_unit_test(timeouts_back_off_and_reap),
		cmocka_unit_test(half_open_is_reaped_after_few_sends),
		cmocka_unit_test(late_ack_after_the_last_send_is_served),
		cmocka_unit_test(half_open_sends_no_window),
		cmocka_unit_test(rtt_sets_timeout_and_progress_resets_backoff),
		cmocka_unit_test(client_timeout_option_caps_the_interval),
		cmocka_unit_test(block_numbers_roll_over_to_zero),
		cmocka_unit_test(window_is_sent_whole_and_resumed_after_inner_ack),
		cmocka_unit_test(window_stops_at_the_last_block),
		cmocka_unit_test(client_error_ends_silently),
		cmocka_unit_test(error_8_to_a_tsize_oack_is_a_size_probe),
		cmocka_unit_test(short_read_sends_error),
		cmocka_unit_test(abort_with_code_sends_one_error),
		cmocka_unit_test(netascii_expands_and_resends_identically),
	};

	return cmocka_run_group_tests_name("tftp transfer", tests, NULL, NULL);
}
