/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the TFTP request and option parser, and what the
 * server does with a parsed request: path cleaning, negotiation, the OACK
 * round trip, and a transfer driven by the rest of the input as a script
 * of client ACKs and timer expiries.  Besides the sanitizers it checks:
 *   - the file name lies inside the datagram;
 *   - a cleaned path is relative, has no "", "." or ".." component, no
 *     backslash and no control byte;
 *   - granted blksize and windowsize are within the limits;
 *   - an OACK parses back to the options it was built from;
 *   - a duplicate ACK never makes the transfer send anything (no
 *     sorcerer's apprentice), and no datagram exceeds its buffer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tftp.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct mem {
	const uint8_t *p;
	size_t n;
};

static ssize_t mem_pread(void *ctx, void *buf, size_t n, uint64_t off)
{
	const struct mem *m = ctx;

	if (off >= m->n)
		return 0;
	if (n > m->n - off)
		n = m->n - (size_t)off;
	memcpy(buf, m->p + off, n);
	return (ssize_t)n;
}

static void check_path(const char *p, ssize_t n)
{
	CHECK((size_t)n == strlen(p) && n > 0 && n <= TFTP_PATH_MAX);
	CHECK(p[0] != '/' && p[n - 1] != '/');
	CHECK(!strchr(p, '\\') && !strstr(p, "//"));
	CHECK(strcmp(p, ".") && strcmp(p, "..") && strncmp(p, "./", 2) && strncmp(p, "../", 3));
	CHECK(!strstr(p, "/./") && !strstr(p, "/../"));
	CHECK(!(n >= 2 && !strcmp(p + n - 2, "/.")) && !(n >= 3 && !strcmp(p + n - 3, "/..")));
	for (ssize_t i = 0; i < n; i++)
		CHECK((unsigned char)p[i] >= 0x20 && p[i] != 0x7f);
}

static void check_oack_round_trip(const struct tftp_options *o)
{
	uint8_t buf[256];
	struct wr w = wr_init(buf, sizeof(buf));
	struct tftp_msg m;

	CHECK(tftp_build_oack(&w, o) == 0);
	CHECK(tftp_parse_msg(buf, w.len, &m) == 0 && m.opcode == TFTP_OACK);
	CHECK(m.opt.present == o->present && m.opt.ignored == 0);
	CHECK(!(o->present & TFTP_OPT_BLKSIZE) || m.opt.blksize == o->blksize);
	CHECK(!(o->present & TFTP_OPT_TSIZE) || m.opt.tsize == o->tsize);
	CHECK(!(o->present & TFTP_OPT_TIMEOUT) || m.opt.timeout == o->timeout);
	CHECK(!(o->present & TFTP_OPT_WINDOWSIZE) || m.opt.windowsize == o->windowsize);
}

/* Sends everything that is due; returns how many datagrams went out. */
static unsigned drain(struct tftp_xfer *x, const struct tftp_source *src, uint8_t *buf,
		      size_t cap, int64_t now)
{
	unsigned sent = 0;
	ssize_t n;

	while ((n = tftp_xfer_next(x, src, buf, cap, now)) > 0) {
		CHECK((size_t)n <= cap && (size_t)n <= tftp_xfer_bufsize(x));
		CHECK(++sent <= TFTP_WINDOW_CAP + 1);
	}
	CHECK(n == 0);
	return sent;
}

/* Each script byte is an event: odd = the timer expires, even = an ACK
 * near the oldest unacknowledged block. */
static void run_transfer(const struct tftp_xfer_params *p, const uint8_t *script, size_t n)
{
	static uint8_t buf[TFTP_BLKSIZE_MAX + TFTP_HDR_LEN];
	struct mem m = { script, n };
	struct tftp_source src = { mem_pread, &m };
	struct tftp_xfer x;
	int64_t now = 1000000;

	tftp_xfer_init(&x, p, now);
	drain(&x, &src, buf, sizeof(buf), now);
	for (size_t i = 0; i < n && i < 256 && !tftp_xfer_done(&x); i++) {
		uint64_t dups = x.dup_acks;
		unsigned sent;

		if (script[i] & 1) {
			now = tftp_xfer_deadline(&x) == INT64_MAX ? now + 1 : tftp_xfer_deadline(&x);
			tftp_xfer_tick(&x, now);
		} else {
			uint16_t blk = (uint16_t)(x.una + (script[i] >> 1) - 4);
			uint8_t a[4] = { 0, TFTP_ACK, (uint8_t)(blk >> 8), (uint8_t)blk };

			now += 50;
			tftp_xfer_input(&x, a, sizeof(a), now);
		}
		sent = drain(&x, &src, buf, sizeof(buf), now);
		if (x.dup_acks != dups)
			CHECK(sent == 0);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tftp_request rq;
	struct tftp_msg msg;
	struct tftp_xfer_params p;
	struct tftp_limits lim = { .max_blksize = (uint16_t)(512 + (size * 97) % 65000),
				   .max_windowsize = TFTP_WINDOW_CAP };
	char path[TFTP_PATH_MAX + 1];
	ssize_t n;

	if (tftp_parse_msg(data, size, &msg) == 0 && msg.opcode == TFTP_DATA)
		CHECK(msg.data >= data && msg.data_len <= size - 4);
	if (tftp_parse_request(data, size, &rq) < 0)
		return 0;
	CHECK((const uint8_t *)rq.filename >= data + 2);
	CHECK(rq.filename_len < size && (size_t)((const uint8_t *)rq.filename - data) <=
					    size - rq.filename_len);
	n = tftp_path_clean(rq.filename, rq.filename_len, "/srv/netboot", path, sizeof(path));
	if (n >= 0)
		check_path(path, n);
	else
		CHECK(n == -EACCES || n == -ENAMETOOLONG);
	tftp_negotiate(&rq, &lim, size, &p);
	CHECK(p.blksize >= TFTP_BLKSIZE_MIN && (p.blksize <= lim.max_blksize || p.blksize == 512));
	CHECK(p.windowsize >= 1 && p.windowsize <= TFTP_WINDOW_CAP);
	CHECK(p.oack == (p.reply.present != 0));
	check_oack_round_trip(&p.reply);
	run_transfer(&p, data, size);
	return 0;
}
