/* SPDX-License-Identifier: MIT */
/*
 * TFTP read client (tools/tftp_fetch.h).  Packets are built and parsed by
 * the daemon's codec (include/tftp.h), so client and server share one
 * implementation of the wire format and differ only in behaviour.
 */
#include "tftp_fetch.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tftp.h"

#define DATAGRAM_MAX 65536
#define REACK_MS 50      /* a repeated DATA is acknowledged again at most this often */

static int64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

__attribute__((format(printf, 2, 3)))
static int fail(struct tftp_session *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->res.error, sizeof(s->res.error), fmt, ap);
	va_end(ap);
	s->done = true;
	return -1;
}

/* ---- sending ------------------------------------------------------------------ */

static void send_to(const struct tftp_session *s, const struct sockaddr_in *to,
		    const uint8_t *p, size_t n)
{
	(void)sendto(s->fd, p, n, 0, (const struct sockaddr *)to, sizeof(*to));
}

static void send_last(struct tftp_session *s)
{
	send_to(s, &s->peer, s->last, s->last_len);
}

static void arm(struct tftp_session *s, int64_t now)
{
	s->deadline = now + (int64_t)s->rto_ms * 1000;
}

static void send_ack(struct tftp_session *s, uint16_t block, int64_t now)
{
	struct wr w = wr_init(s->last, sizeof(s->last));

	(void)tftp_build_ack(&w, block);
	s->last_len = w.len;
	s->last_ack_at = now;
	send_last(s);
	arm(s, now);
}

/* Something new arrived: the retransmission clock starts over. */
static void progress(struct tftp_session *s)
{
	s->tries = 0;
	s->rto_ms = s->rto_init_ms;
	s->gap_acked = false;
}

/* RFC 1350: a packet from a port that is not the transfer's gets ERROR 5,
 * and the transfer goes on. */
static void reject_stranger(struct tftp_session *s, const struct sockaddr_in *from)
{
	uint8_t buf[64];
	struct wr w = wr_init(buf, sizeof(buf));

	if (tftp_build_error(&w, TFTP_EBADID, "Unknown transfer ID") == 0)
		send_to(s, from, buf, w.len);
}

/* ---- receiving ---------------------------------------------------------------- */

static int on_oack(struct tftp_session *s, const struct tftp_msg *m, int64_t now)
{
	const struct tftp_options *o = &m->opt;

	if (s->started)
		return 0; /* a repeated OACK: our ACK 0 will be resent by the timer */
	if ((o->present & TFTP_OPT_BLKSIZE) &&
	    (!s->asked_blksize || o->blksize > s->asked_blksize))
		return fail(s, "server OACK blksize %u, asked for %u", o->blksize, s->asked_blksize);
	s->started = true;
	s->res.oack = true;
	progress(s);
	if (o->present & TFTP_OPT_BLKSIZE)
		s->res.blksize = o->blksize;
	if (o->present & TFTP_OPT_WINDOWSIZE)
		s->res.windowsize = o->windowsize;
	if (o->present & TFTP_OPT_TSIZE)
		s->res.tsize = o->tsize;
	send_ack(s, 0, now);
	return 0;
}

static int write_block(struct tftp_session *s, const uint8_t *p, size_t n)
{
	while (n > 0 && s->out_fd >= 0) {
		ssize_t w = write(s->out_fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return fail(s, "write: %s", strerror(errno));
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int on_data(struct tftp_session *s, const struct tftp_msg *m, int64_t now)
{
	if (m->block != s->expect) {
		/* A block out of order: a gap in a window, or a block we have
		 * (the server resent it because our ACK was lost).  Answer with
		 * the last block received in order (RFC 7440 §4): at once for
		 * the first gap of a window, otherwise only if our last ACK is
		 * REACK_MS old.  A server with the sorcerer's apprentice bug
		 * answers every ACK at once, so its duplicates come sooner and
		 * are not answered: the loop cannot start. */
		bool first_gap = s->res.windowsize > 1 && !s->gap_acked;

		if (s->started && (first_gap || now - s->last_ack_at >= REACK_MS * 1000)) {
			s->gap_acked = true;
			s->in_window = 0; /* the server restarts its window after this ACK */
			send_ack(s, (uint16_t)(s->expect - 1), now);
		}
		return 0;
	}
	if (m->data_len > s->res.blksize)
		return fail(s, "DATA of %zu bytes exceeds blksize %u", m->data_len, s->res.blksize);
	s->started = true;
	if (write_block(s, m->data, m->data_len) < 0)
		return -1;
	s->res.bytes += m->data_len;
	s->expect++; /* 65535 + 1 rolls over to 0, as the server's blocks do */
	progress(s);
	if (m->data_len < s->res.blksize) {
		send_ack(s, m->block, now);
		s->done = true;
		return 1;
	}
	if (++s->in_window >= s->res.windowsize) {
		s->in_window = 0;
		send_ack(s, m->block, now);
	} else {
		arm(s, now);
	}
	return 0;
}

static int on_datagram(struct tftp_session *s, const uint8_t *p, size_t n,
		       const struct sockaddr_in *from, int64_t now)
{
	struct tftp_msg m;

	if (from->sin_addr.s_addr != s->peer.sin_addr.s_addr)
		return 0;
	if (!s->locked) {
		s->peer.sin_port = from->sin_port; /* the server's transfer ID */
		s->locked = true;
	} else if (from->sin_port != s->peer.sin_port) {
		reject_stranger(s, from);
		return 0;
	}
	if (tftp_parse_msg(p, n, &m) < 0)
		return 0;
	if (m.opcode == TFTP_ERROR)
		return fail(s, "server error %u: %.*s", m.error_code,
			    (int)(m.error_msg_len > 100 ? 100 : m.error_msg_len), m.error_msg);
	if (m.opcode == TFTP_OACK)
		return on_oack(s, &m, now);
	if (m.opcode == TFTP_DATA)
		return on_data(s, &m, now);
	return 0;
}

int tftp_session_input(struct tftp_session *s, int64_t now)
{
	for (int budget = 256; budget > 0 && !s->done; budget--) {
		struct sockaddr_in from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(s->fd, s->buf, DATAGRAM_MAX, MSG_DONTWAIT,
				     (struct sockaddr *)&from, &fl);
		int r;

		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			break;
		if (n < 0)
			return fail(s, "receive: %s", strerror(errno));
		r = on_datagram(s, s->buf, (size_t)n, &from, now);
		if (r != 0)
			return r;
	}
	return s->done ? (s->res.error[0] ? -1 : 1) : 0;
}

int tftp_session_timeout(struct tftp_session *s, int64_t now)
{
	if (s->done)
		return s->res.error[0] ? -1 : 0;
	if (++s->tries >= s->max_tries)
		return fail(s, "timed out after %u tries", s->tries);
	s->res.retransmits++;
	s->rto_ms = s->rto_ms >= 5000 ? 10000 : 2 * s->rto_ms;
	send_last(s);
	arm(s, now);
	return 0;
}

/* ---- setup ---------------------------------------------------------------------- */

static int open_socket(struct tftp_session *s, const struct tftp_fetch_opts *o)
{
	struct sockaddr_in any = { .sin_family = AF_INET };

	s->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s->fd < 0)
		return fail(s, "socket: %s", strerror(errno));
	if (o->ifname && setsockopt(s->fd, SOL_SOCKET, SO_BINDTODEVICE, o->ifname,
				    (socklen_t)strlen(o->ifname)) < 0)
		return fail(s, "interface %s: %s", o->ifname, strerror(errno));
	if (bind(s->fd, (struct sockaddr *)&any, sizeof(any)) < 0)
		return fail(s, "bind: %s", strerror(errno));
	return 0;
}

static int build_request(struct tftp_session *s, const struct tftp_fetch_opts *o)
{
	struct tftp_options opt = { 0 };
	struct wr w = wr_init(s->last, sizeof(s->last));

	if (o->request) {
		if (wr_bytes(&w, o->request, o->request_len) < 0)
			return fail(s, "request too long");
		s->last_len = w.len;
		return 0;
	}
	if (o->blksize) {
		opt.present |= TFTP_OPT_BLKSIZE;
		opt.blksize = o->blksize;
	}
	if (o->tsize)
		opt.present |= TFTP_OPT_TSIZE;
	if (o->windowsize) {
		opt.present |= TFTP_OPT_WINDOWSIZE;
		opt.windowsize = o->windowsize;
	}
	if (tftp_build_rrq(&w, o->remote, o->netascii ? TFTP_MODE_NETASCII : TFTP_MODE_OCTET,
			   &opt) < 0)
		return fail(s, "file name too long for a request");
	s->last_len = w.len;
	return 0;
}

int tftp_session_start(struct tftp_session *s, const struct tftp_fetch_opts *o, int out_fd,
		       int64_t now)
{
	memset(s, 0, sizeof(*s));
	s->fd = -1;
	s->out_fd = out_fd;
	s->peer = (struct sockaddr_in){ .sin_family = AF_INET, .sin_addr = o->server,
					.sin_port = htons(o->port ? o->port : TFTP_PORT) };
	s->expect = 1;
	s->res.blksize = TFTP_SEGSIZE;
	s->res.windowsize = 1;
	s->asked_blksize = o->blksize;
	s->rto_ms = s->rto_init_ms = o->timeout_ms ? o->timeout_ms : 1000;
	s->max_tries = o->tries ? o->tries : 6;
	s->t0 = now;
	s->buf = malloc(DATAGRAM_MAX);
	if (!s->buf)
		return fail(s, "out of memory");
	if (open_socket(s, o) < 0 || build_request(s, o) < 0)
		return -1;
	send_last(s);
	arm(s, now);
	return 0;
}

void tftp_session_close(struct tftp_session *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	free(s->buf);
	s->buf = NULL;
}

/* ---- blocking fetch with progress ------------------------------------------------ */

static void show_progress(FILE *f, const struct tftp_session *s, int64_t now, bool final)
{
	double secs = (double)(now - s->t0) / 1e6;
	double rate = secs > 0 ? (double)s->res.bytes / secs / 1e6 : 0;

	if (!final && !isatty(fileno(f)))
		return; /* a log file gets the final line only */
	if (final) {
		fprintf(f, "\r%llu bytes in %.2f s, %.2f MB/s (blksize %u, windowsize %u%s)\n",
			(unsigned long long)s->res.bytes, secs, rate, s->res.blksize,
			s->res.windowsize, s->res.oack ? "" : ", no options");
	} else if (s->res.tsize) {
		fprintf(f, "\r%llu/%llu bytes (%d%%) %.2f MB/s ", (unsigned long long)s->res.bytes,
			(unsigned long long)s->res.tsize,
			(int)(100.0 * (double)s->res.bytes / (double)s->res.tsize), rate);
	} else {
		fprintf(f, "\r%llu bytes %.2f MB/s ", (unsigned long long)s->res.bytes, rate);
	}
	fflush(f);
}

static int run_blocking(struct tftp_session *s, FILE *progress)
{
	int64_t shown = 0;
	int r = 0;

	while (r == 0) {
		int64_t now = mono_us();
		int wait_ms = s->deadline > now ? (int)((s->deadline - now + 999) / 1000) : 0;
		struct pollfd p = { .fd = s->fd, .events = POLLIN };

		if (poll(&p, 1, wait_ms > 100 ? 100 : wait_ms) < 0 && errno != EINTR)
			return fail(s, "poll: %s", strerror(errno));
		now = mono_us();
		r = (p.revents & POLLIN) ? tftp_session_input(s, now) : 0;
		if (r == 0 && now >= s->deadline)
			r = tftp_session_timeout(s, now);
		if (progress && now - shown >= 200000) {
			show_progress(progress, s, now, false);
			shown = now;
		}
	}
	return r > 0 ? 0 : -1;
}

int tftp_fetch(const struct tftp_fetch_opts *o, struct tftp_fetch_result *res)
{
	struct tftp_session s;
	int out = -1, r;

	if (o->local) {
		out = open(o->local, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (out < 0) {
			memset(res, 0, sizeof(*res));
			snprintf(res->error, sizeof(res->error), "%s: %s", o->local, strerror(errno));
			return -1;
		}
	}
	r = tftp_session_start(&s, o, out, mono_us());
	if (r == 0)
		r = run_blocking(&s, o->progress);
	s.res.seconds = (double)(mono_us() - s.t0) / 1e6;
	if (o->progress && r == 0)
		show_progress(o->progress, &s, mono_us(), true);
	else if (o->progress)
		fputc('\n', o->progress);
	if (out >= 0 && close(out) < 0 && r == 0)
		r = fail(&s, "%s: %s", o->local, strerror(errno));
	*res = s.res;
	tftp_session_close(&s);
	return r;
}
