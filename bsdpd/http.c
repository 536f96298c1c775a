/* SPDX-License-Identifier: MIT */
/*
 * The HTTP service (see http.h): translates between libmicrohttpd and the
 * socket-free routes of http_routes.c.  The only file that includes
 * <microhttpd.h>.
 *
 * External epoll: MHD is started with MHD_USE_EPOLL and no internal
 * thread; its epoll descriptor (MHD_DAEMON_INFO_EPOLL_FD) sits in our loop
 * and MHD_run is called when it is readable and when a timerfd, armed
 * from MHD_get_timeout after every run, expires (connection timeouts, and
 * connections MHD still has work for).  So all HTTP state is owned by the
 * loop thread, like the rest of the daemon, and the hooks need no locks.
 */
#include "http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
/* tcp_info with tcpi_bytes_acked (Linux 4.2): glibc's <netinet/tcp.h>
 * lacks it, and the two headers cannot both be included. */
#include <linux/tcp.h>
#include <microhttpd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "file_cache.h"
#include "log.h"
#include "transfer.h"
#include "ui.h"

#define HTTP_RUNS_PER_WAKEUP 8
#define STREAMS_MAX 32                 /* open /api/v1/events/stream connections */
#define STREAM_BACKLOG_MAX (256 * 1024) /* bytes queued for a slow reader before it goes */
#define STREAM_PING_SECONDS 15         /* a comment line, well inside the idle timeout */

/* One Server-Sent Events connection (the HTML living standard, §9.2).
 * Its queue is filled by http_publish and drained by MHD's content
 * reader; when it is empty the connection is suspended, so an idle
 * stream costs no wake-ups, and http_publish resumes it. */
struct stream {
	struct http_service *svc;
	struct MHD_Connection *con;
	char *buf;
	size_t len, off;
	bool suspended;
	bool dropped;                  /* too slow: its queue overflowed */
	struct stream *next;
};

/* One libmicrohttpd daemon per listening address (it has one socket). */
struct listener {
	struct http_service *svc;
	struct MHD_Daemon *mhd;
	int fd;                        /* MHD's epoll set, in our loop; -1: none */
};

struct http_service {
	struct http_config cfg;
	struct loop *loop;
	struct listener ls[HTTP_MAX_LISTEN];
	size_t n_ls;
	int timer_fd;
	int ping_fd;                   /* STREAM_PING_SECONDS, for the event streams */
	unsigned active;               /* open connections */
	struct stream *streams;
	unsigned n_streams;
	struct ipxe_template *script;
	struct http_routes routes;
	struct exchange *sending;      /* served files in flight (the API's transfers) */
	uint64_t serial;               /* of the last one: "http-N" */
	struct transfer_watch watch;
	void (*stream_opened)(void *ctx);
	void *stream_opened_ctx;
};

/* One request, from its request line to its completion. */
struct exchange {
	char *target;                  /* raw, as sent */
	char method[16];
	struct in_addr client;
	int64_t start_us;
	bool headers_seen;             /* the first call of on_request is over */
	char *body;                    /* the request body, up to HTTP_BODY_MAX */
	size_t body_len;
	bool body_too_large;
	unsigned status;
	uint64_t bytes;
	char *served_path;             /* a profile's file (http_response.served) */
	uint8_t served_mac[6];
	char served_stage[HTTP_STAGE_MAX];
	/* While a served file goes out: in svc->sending, for the API. */
	struct http_service *svc;
	struct exchange *prev, *next;
	int fd;                        /* the connection's socket */
	uint64_t serial;
	uint64_t size;
	uint64_t acked_base;           /* TCP bytes acknowledged before the response */
	int64_t sent_at_us;            /* the response queued, CLOCK_MONOTONIC */
	int64_t started_real_us;       /* the same, Unix time */
	struct transfer_rate rate;
};

static int64_t now_us(void)
{
	return clock_us(CLOCK_MONOTONIC);
}

/* ---- running MHD on the loop ------------------------------------------------ */

/* The timer fires at the earliest timeout of any of the daemons. */
static void timer_arm(struct http_service *svc)
{
	struct itimerspec its = { 0 };
	MHD_UNSIGNED_LONG_LONG ms = 0, t;
	bool any = false;

	for (size_t i = 0; i < svc->n_ls; i++) {
		if (MHD_get_timeout(svc->ls[i].mhd, &t) == MHD_YES && (!any || t < ms)) {
			ms = t;
			any = true;
		}
	}
	if (any) {
		its.it_value.tv_sec = (time_t)(ms / 1000);
		its.it_value.tv_nsec = (long)(ms % 1000) * 1000000;
		if (ms == 0)
			its.it_value.tv_nsec = 1; /* work is pending: run again at once */
	}
	timerfd_settime(svc->timer_fd, 0, &its, NULL);
}

/* While MHD has work it can do at once (a timeout of 0: connections it
 * could write more to, sendfile going 128 KiB per call), run it again
 * here rather than through a timer wake-up; a bound keeps the other
 * services of the loop served while a download runs. */
static void run_mhd(struct MHD_Daemon *mhd)
{
	MHD_UNSIGNED_LONG_LONG ms = 0;

	for (int i = 0; i < HTTP_RUNS_PER_WAKEUP; i++) {
		MHD_run(mhd);
		if (MHD_get_timeout(mhd, &ms) != MHD_YES || ms > 0)
			break;
	}
}

static void on_mhd_ready(struct loop *loop, int fd, uint32_t events, void *ctx)
{
	struct listener *l = ctx;

	(void)loop;
	(void)fd;
	(void)events;
	run_mhd(l->mhd);
	timer_arm(l->svc);
}

static void on_timer(struct loop *loop, int fd, uint32_t events, void *ctx)
{
	struct http_service *svc = ctx;
	uint64_t expirations;

	(void)loop;
	(void)events;
	if (read(fd, &expirations, sizeof(expirations)) < 0 && errno != EAGAIN)
		log_msg(LOG_WARNING, "http: timerfd: %s", strerror(errno));
	for (size_t i = 0; i < svc->n_ls; i++)
		run_mhd(svc->ls[i].mhd);
	timer_arm(svc);
}

/* ---- MHD callbacks --------------------------------------------------------------- */

/* Called with the raw request-target before MHD parses it; what it
 * returns is the request's context in every later callback. */
static void *on_request_line(void *cls, const char *uri, struct MHD_Connection *con)
{
	struct exchange *ex = calloc(1, sizeof(*ex));
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(con, MHD_CONNECTION_INFO_CLIENT_ADDRESS);

	(void)cls;
	if (!ex)
		return NULL;
	ex->start_us = now_us();
	ex->target = strdup(uri);
	if (ci && ci->client_addr && ci->client_addr->sa_family == AF_INET)
		ex->client = ((const struct sockaddr_in *)(const void *)ci->client_addr)->sin_addr;
	return ex;
}

/* Keeps the path and query as sent: the routes decode them themselves,
 * strictly (MHD would turn %2F into '/' and cut at %00). */
static size_t keep_escaped(void *cls, struct MHD_Connection *con, char *s)
{
	(void)cls;
	(void)con;
	return strlen(s);
}

static void on_connection(void *cls, struct MHD_Connection *con, void **socket_ctx,
			  enum MHD_ConnectionNotificationCode code)
{
	struct http_service *svc = cls;

	(void)con;
	(void)socket_ctx;
	if (code == MHD_CONNECTION_NOTIFY_STARTED)
		svc->active++;
	else if (svc->active > 0)
		svc->active--;
}

static const char *termination(enum MHD_RequestTerminationCode toe)
{
	switch (toe) {
	case MHD_REQUEST_TERMINATED_COMPLETED_OK: return "";
	case MHD_REQUEST_TERMINATED_TIMEOUT_REACHED: return " (timed out)";
	case MHD_REQUEST_TERMINATED_CLIENT_ABORT: return " (client closed)";
	case MHD_REQUEST_TERMINATED_DAEMON_SHUTDOWN: return " (shutdown)";
	default: return " (failed)";
	}
}

/* One line per request: client, method, path (escaped), status, bytes,
 * time.  bytes is what the response holds; an aborted one says so. */
static void tell_served(struct http_service *svc, const struct exchange *ex, bool complete)
{
	const struct http_hooks *h = &svc->cfg.hooks;
	int64_t ms = (now_us() - ex->start_us) / 1000;

	if (h->file_served)
		h->file_served(h->ctx, ex->served_mac, ex->served_path, ex->served_stage, ex->client,
			       complete ? ex->bytes : 0, ms > UINT32_MAX ? UINT32_MAX : (uint32_t)ms,
			       complete);
}

/* ---- served files in flight (the API's transfers) --------------------------------- */

/* What TCP says the peer has acknowledged on fd: MHD sends a large file
 * with sendfile(2) and cannot tell how far it got, the socket can. */
static uint64_t tcp_acked(int fd)
{
	struct tcp_info ti = { 0 };
	socklen_t len = sizeof(ti);

	if (fd < 0 || getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0 ||
	    len < offsetof(struct tcp_info, tcpi_bytes_acked) + sizeof(ti.tcpi_bytes_acked))
		return 0;
	return ti.tcpi_bytes_acked;
}

/* The response's bytes acknowledged: its headers count too, so at most
 * the size (and a few hundred bytes early). */
static struct transfer sending_view(struct exchange *ex, int64_t now)
{
	uint64_t acked = tcp_acked(ex->fd);
	struct transfer t = {
		.kind = TRANSFER_HTTP_FILE, .serial = ex->serial, .has_mac = true,
		.ip = ex->client, .detail = ex->served_path, .stage = ex->served_stage,
		.size = ex->size, .started_us = ex->started_real_us,
		.elapsed_ms = (now - ex->sent_at_us) / 1000,
	};

	memcpy(t.mac, ex->served_mac, 6);
	t.bytes = acked > ex->acked_base ? acked - ex->acked_base : 0;
	if (t.bytes > t.size)
		t.bytes = t.size;
	t.rate = transfer_rate_sample(&ex->rate, t.bytes, now);
	return t;
}

static int connection_fd(struct MHD_Connection *con)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(con, MHD_CONNECTION_INFO_CONNECTION_FD);

	return ci ? ci->connect_fd : -1;
}

static void sending_begin(struct http_service *svc, struct MHD_Connection *con,
			  struct exchange *ex, uint64_t size)
{
	const struct transfer_watch *w = &svc->watch;
	struct transfer t;

	ex->svc = svc;
	ex->fd = connection_fd(con);
	ex->serial = ++svc->serial;
	ex->size = size;
	ex->acked_base = tcp_acked(ex->fd);
	ex->sent_at_us = now_us();
	ex->started_real_us = clock_us(CLOCK_REALTIME);
	transfer_rate_start(&ex->rate, ex->sent_at_us);
	ex->next = svc->sending;
	if (svc->sending)
		svc->sending->prev = ex;
	svc->sending = ex;
	if (w->started && w->watching(w->ctx)) {
		t = sending_view(ex, ex->sent_at_us);
		w->started(w->ctx, &t);
	}
}

static void sending_end(struct exchange *ex)
{
	if (!ex->svc)
		return;
	if (ex->prev)
		ex->prev->next = ex->next;
	else
		ex->svc->sending = ex->next;
	if (ex->next)
		ex->next->prev = ex->prev;
	ex->svc = NULL;
}

void http_service_transfers(struct http_service *svc, transfer_fn fn, void *ctx)
{
	int64_t now = now_us();
	struct transfer t;

	for (struct exchange *ex = svc ? svc->sending : NULL; ex; ex = ex->next) {
		t = sending_view(ex, now);
		fn(ctx, &t);
	}
}

void http_service_watch(struct http_service *svc, const struct transfer_watch *w,
			void (*stream_opened)(void *ctx))
{
	svc->watch = *w;
	svc->stream_opened = stream_opened;
	svc->stream_opened_ctx = w->ctx;
}

void http_service_stats(const struct http_service *svc, unsigned *connections,
			unsigned *streams)
{
	*connections = svc ? svc->active : 0;
	*streams = svc ? svc->n_streams : 0;
}

static void on_completed(void *cls, struct MHD_Connection *con, void **req_ctx,
			 enum MHD_RequestTerminationCode toe)
{
	struct http_service *svc = cls;
	struct exchange *ex = *req_ctx;
	char client[INET_ADDRSTRLEN], target[256], status[12] = "-";

	(void)con;
	if (!ex)
		return;
	inet_ntop(AF_INET, &ex->client, client, sizeof(client));
	log_escape(target, sizeof(target), ex->target ? ex->target : "",
		   ex->target ? strlen(ex->target) : 0);
	if (ex->status) /* else MHD answered a malformed request itself */
		snprintf(status, sizeof(status), "%u", ex->status);
	log_msg(LOG_INFO, "http: %s %s %s %s %llu bytes %.1f ms%s", client,
		ex->method[0] ? ex->method : "-", target, status,
		(unsigned long long)ex->bytes, (double)(now_us() - ex->start_us) / 1000.0,
		termination(toe));
	sending_end(ex);
	if (ex->served_path)
		tell_served(svc, ex, toe == MHD_REQUEST_TERMINATED_COMPLETED_OK);
	free(ex->served_path);
	free(ex->body);
	free(ex->target);
	free(ex);
	*req_ctx = NULL;
}

__attribute__((format(printf, 2, 0)))
static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[256], clean[512];
	int n;

	(void)cls;
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	if (n < 0)
		return;
	n = n < (int)sizeof(msg) ? n : (int)sizeof(msg) - 1;
	while (n > 0 && msg[n - 1] == '\n')
		n--;
	log_msg(LOG_WARNING, "http: libmicrohttpd: %s", log_escape(clean, sizeof(clean), msg,
								  (size_t)n));
}

/* ---- requests ---------------------------------------------------------------- */

static enum http_method method_of(const char *m)
{
	static const struct { const char *name; enum http_method method; } methods[] = {
		{ MHD_HTTP_METHOD_GET, HTTP_GET },   { MHD_HTTP_METHOD_HEAD, HTTP_HEAD },
		{ MHD_HTTP_METHOD_PUT, HTTP_PUT },   { MHD_HTTP_METHOD_POST, HTTP_POST },
		{ MHD_HTTP_METHOD_DELETE, HTTP_DELETE },
	};

	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (strcmp(m, methods[i].name) == 0)
			return methods[i].method;
	return HTTP_OTHER;
}

static struct in_addr local_address(struct MHD_Connection *con)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(con, MHD_CONNECTION_INFO_CONNECTION_FD);
	struct sockaddr_in sin = { 0 };
	socklen_t len = sizeof(sin);

	if (ci)
		getsockname(ci->connect_fd, (struct sockaddr *)&sin, &len);
	return sin.sin_addr;
}

static const char *header(struct MHD_Connection *con, const char *name)
{
	return MHD_lookup_connection_value(con, MHD_HEADER_KIND, name);
}

static struct http_request make_request(const struct http_service *svc,
					struct MHD_Connection *con, const struct exchange *ex,
					const char *method)
{
	return (struct http_request){
		.authorization = header(con, MHD_HTTP_HEADER_AUTHORIZATION),
		.content_type = header(con, MHD_HTTP_HEADER_CONTENT_TYPE),
		.body = ex->body,
		.body_len = ex->body_len,
		.body_too_large = ex->body_too_large,
		.method = method_of(method),
		.target = ex->target,
		.range = MHD_lookup_connection_value(con, MHD_HEADER_KIND, MHD_HTTP_HEADER_RANGE),
		.if_none_match = MHD_lookup_connection_value(con, MHD_HEADER_KIND,
							     MHD_HTTP_HEADER_IF_NONE_MATCH),
		.if_modified_since = MHD_lookup_connection_value(
			con, MHD_HEADER_KIND, MHD_HTTP_HEADER_IF_MODIFIED_SINCE),
		.last_event_id = header(con, "Last-Event-ID"),
		.if_range = header(con, MHD_HTTP_HEADER_IF_RANGE),
		.client = ex->client,
		.local = local_address(con),
		.over_capacity = svc->active > svc->cfg.max_connections,
		.now = time(NULL),
	};
}

/* MHD destroys a response from memory on the loop thread: the copy's
 * reference goes then. */
static void release_file(void *cls)
{
	struct served_file *f = cls;

	file_cache_put(f->owner, f);
}

/* A file through the cache TFTP uses too: a small one is sent from the
 * copy in memory (the version the request began with, whatever happens
 * on disk), a larger one from its own descriptor with sendfile(2). */
static struct MHD_Response *file_response(struct http_service *svc, struct http_response *rsp)
{
	struct MHD_Response *r = NULL;
	struct served_file *f;
	struct stat st;
	int fd;

	if (fstat(rsp->fd, &st) < 0 || !(f = file_cache_get(svc->cfg.files, rsp->fd, &st)))
		return NULL;
	rsp->fd = -1;                   /* the cache has it now */
	if (f->data) {
		r = MHD_create_response_from_buffer_with_free_callback_cls(
			rsp->length, f->data + rsp->offset, release_file, f);
		if (r)
			return r;
	} else if ((fd = dup(f->fd)) >= 0) {
		r = MHD_create_response_from_fd_at_offset64(rsp->length, fd, rsp->offset);
		if (!r)
			close(fd);
	}
	file_cache_put(svc->cfg.files, f);
	return r;
}

/* MHD takes the buffer (to free()), or the file (file_response). */
static struct MHD_Response *make_body(struct http_service *svc, struct http_response *rsp)
{
	struct MHD_Response *r = NULL;

	if (rsp->body == HTTP_BODY_BUFFER) {
		r = MHD_create_response_from_buffer(rsp->buf_len, rsp->buf, MHD_RESPMEM_MUST_FREE);
		if (r)
			rsp->buf = NULL;
	} else if (rsp->body == HTTP_BODY_FILE) {
		r = file_response(svc, rsp);
	} else if (rsp->body == HTTP_BODY_STATIC) {
		/* PERSISTENT: MHD neither copies, frees nor writes it; its API
		 * takes void * all the same. */
		r = MHD_create_response_from_buffer(rsp->buf_len, (void *)(uintptr_t)rsp->static_buf,
						    MHD_RESPMEM_PERSISTENT);
	} else {
		r = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
	}
	return r;
}

static void add_header(struct MHD_Response *r, const char *name, const char *value)
{
	if (value && value[0])
		MHD_add_response_header(r, name, value);
}

/* ui.h: what the dashboard, and the API it calls, answer with. */
static void add_security_headers(struct MHD_Response *r)
{
	add_header(r, "Content-Security-Policy", UI_CSP);
	add_header(r, "X-Content-Type-Options", "nosniff");
	add_header(r, "Referrer-Policy", "no-referrer");
	add_header(r, "X-Frame-Options", "DENY");
}

static void add_headers(struct MHD_Response *r, const struct http_response *rsp)
{
	char retry[16], cache[40];

	add_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, rsp->content_type);
	add_header(r, MHD_HTTP_HEADER_ETAG, rsp->etag);
	add_header(r, MHD_HTTP_HEADER_LAST_MODIFIED, rsp->last_modified);
	add_header(r, MHD_HTTP_HEADER_CONTENT_RANGE, rsp->content_range);
	if (rsp->accept_ranges)
		add_header(r, MHD_HTTP_HEADER_ACCEPT_RANGES, "bytes");
	if (rsp->allow)
		add_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	add_header(r, MHD_HTTP_HEADER_ALLOW, rsp->allow_methods);
	if (rsp->no_store) {
		add_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	} else if (rsp->max_age) {
		snprintf(cache, sizeof(cache), "public, max-age=%u", rsp->max_age);
		add_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, cache);
	} else if (rsp->no_cache) {
		add_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
	}
	add_header(r, MHD_HTTP_HEADER_LOCATION, rsp->location);
	if (rsp->security_headers)
		add_security_headers(r);
	if (rsp->www_authenticate) /* RFC 6750 §3 */
		add_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"bsdpd\"");
	if (rsp->retry_after) {
		snprintf(retry, sizeof(retry), "%u", rsp->retry_after);
		add_header(r, MHD_HTTP_HEADER_RETRY_AFTER, retry);
		/* Frees the slot for the retry instead of keeping it idle. */
		add_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
	}
}

/* ---- event streams ---------------------------------------------------------------- */

/* MHD's content reader: what is queued, or a suspension until there is
 * more.  Returning 0 without suspending would make MHD poll it at once,
 * again and again (MHD_ContentReaderCallback). */
static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct stream *st = cls;
	size_t n = st->len - st->off;

	(void)pos;
	if (st->dropped)
		return MHD_CONTENT_READER_END_WITH_ERROR;
	if (n == 0) {
		st->off = st->len = 0;
		st->suspended = true;
		MHD_suspend_connection(st->con);
		return 0;
	}
	if (n > max)
		n = max;
	memcpy(buf, st->buf + st->off, n);
	st->off += n;
	return (ssize_t)n;
}

static void stream_free(void *cls)
{
	struct stream *st = cls;
	struct http_service *svc = st->svc;

	for (struct stream **p = &svc->streams; *p; p = &(*p)->next) {
		if (*p == st) {
			*p = st->next;
			break;
		}
	}
	svc->n_streams--;
	free(st->buf);
	free(st);
}

static void stream_wake(struct stream *st)
{
	if (st->suspended) {
		st->suspended = false;
		MHD_resume_connection(st->con);
	}
}

/* Queues text for one stream; a reader that lets STREAM_BACKLOG_MAX pile
 * up is dropped rather than let it grow without bound. */
static void stream_push(struct stream *st, const char *text, size_t n)
{
	char *grown;

	if (st->dropped)
		return;
	if (n > STREAM_BACKLOG_MAX - (st->len - st->off) ||
	    !(grown = realloc(st->buf, st->len + n))) {
		st->dropped = true;
		stream_wake(st);
		return;
	}
	memcpy(grown + st->len, text, n);
	st->buf = grown;
	st->len += n;
	stream_wake(st);
}

bool http_streaming(const struct http_service *svc)
{
	return svc && svc->streams;
}

/* A stream resumed outside MHD_run (the recorder's commits, the ping)
 * is sent by the next run: made at once, through the timer. */
static void run_soon(struct http_service *svc)
{
	const struct itimerspec now = { .it_value.tv_nsec = 1 };

	timerfd_settime(svc->timer_fd, 0, &now, NULL);
}

void http_publish(struct http_service *svc, const char *text, size_t n)
{
	if (!svc || !svc->streams)
		return;
	for (struct stream *st = svc->streams; st; st = st->next)
		stream_push(st, text, n);
	run_soon(svc);
}

static void on_ping(struct loop *loop, int fd, uint32_t events, void *ctx)
{
	static const char ping[] = ": ping\n\n";
	struct http_service *svc = ctx;
	uint64_t expirations;

	(void)loop;
	(void)events;
	if (read(fd, &expirations, sizeof(expirations)) < 0 && errno != EAGAIN)
		log_msg(LOG_WARNING, "http: timerfd: %s", strerror(errno));
	http_publish(svc, ping, sizeof(ping) - 1);
}

/* The stream begins with what the route gave in rsp (the stored events a
 * client missed, for its Last-Event-ID). */
static struct MHD_Response *stream_response(struct http_service *svc,
					    struct MHD_Connection *con,
					    const struct http_response *rsp)
{
	static const char hello[] = ": bsdpd boot events\n\n";
	struct stream *st;
	struct MHD_Response *r;

	if (svc->n_streams >= STREAMS_MAX || !(st = calloc(1, sizeof(*st))))
		return NULL;
	*st = (struct stream){ .svc = svc, .con = con, .next = svc->streams };
	r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, stream_read, st,
					      stream_free);
	if (!r) {
		free(st);
		return NULL;
	}
	svc->streams = st;
	svc->n_streams++;
	stream_push(st, hello, sizeof(hello) - 1);
	if (rsp->body == HTTP_BODY_BUFFER)
		stream_push(st, rsp->buf, rsp->buf_len);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream");
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	if (svc->stream_opened)
		svc->stream_opened(svc->stream_opened_ctx);
	return r;
}

/* At shutdown MHD may not be stopped with connections suspended. */
static void streams_end(struct http_service *svc)
{
	for (struct stream *st = svc->streams; st; st = st->next) {
		st->dropped = true;
		stream_wake(st);
	}
}

/* ---- answering ---------------------------------------------------------------------- */

static void keep_served(struct exchange *ex, const struct http_response *rsp)
{
	if (!rsp->served || !(ex->served_path = strdup(rsp->served_path)))
		return;
	memcpy(ex->served_mac, rsp->served_mac, 6);
	memcpy(ex->served_stage, rsp->served_stage, sizeof(ex->served_stage));
}

static enum MHD_Result queue(struct http_service *svc, struct MHD_Connection *con,
			     struct exchange *ex, bool head, struct http_response *rsp)
{
	struct MHD_Response *r = NULL;
	enum MHD_Result ok;

	if (rsp->event_stream && !(r = stream_response(svc, con, rsp))) {
		http_response_release(rsp); /* STREAMS_MAX are open */
		*rsp = (struct http_response){ .status = 503, .retry_after = STREAM_PING_SECONDS,
					       .no_store = true, .fd = -1 };
	}
	if (!r && !(r = make_body(svc, rsp)))
		return MHD_NO; /* out of memory: MHD closes the connection */
	keep_served(ex, rsp);
	if (ex->served_path)
		sending_begin(svc, con, ex, rsp->length);
	add_headers(r, rsp);
	ex->status = rsp->status;
	/* MHD sends no body for HEAD: log what goes on the wire. */
	ex->bytes = head ? 0 : rsp->body == HTTP_BODY_FILE ? rsp->length : rsp->buf_len;
	ok = MHD_queue_response(con, rsp->status, r);
	MHD_destroy_response(r);
	return ok;
}

/* Only the API reads a body, and only up to HTTP_BODY_MAX: beyond it the
 * rest is read and dropped, and the route answers 413. */
static void keep_body(struct exchange *ex, const char *data, size_t n)
{
	char *grown;

	if (n == 0 || ex->body_too_large)
		return;
	if (n > HTTP_BODY_MAX - ex->body_len || !(grown = realloc(ex->body, ex->body_len + n + 1))) {
		ex->body_too_large = true;
		free(ex->body);
		ex->body = NULL;
		ex->body_len = 0;
		return;
	}
	memcpy(grown + ex->body_len, data, n);
	ex->body_len += n;
	grown[ex->body_len] = '\0';
	ex->body = grown;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *con, const char *url,
				  const char *method, const char *version,
				  const char *upload_data, size_t *upload_data_size,
				  void **req_ctx)
{
	struct http_service *svc = cls;
	struct exchange *ex = *req_ctx;
	struct http_response rsp;
	struct http_request rq;
	enum MHD_Result ok;

	(void)url;
	(void)version;
	if (!ex || !ex->target)
		return MHD_NO;
	/* MHD calls once with the headers, once per piece of body, and once
	 * at the end.  A response queued on the first call makes MHD 0.9.75
	 * stop reading the connection and close it (no keep-alive), so answer
	 * on the last. */
	if (!ex->headers_seen || *upload_data_size > 0) {
		ex->headers_seen = true;
		keep_body(ex, upload_data, *upload_data_size);
		*upload_data_size = 0;
		return MHD_YES;
	}
	log_escape(ex->method, sizeof(ex->method), method, strlen(method));
	rq = make_request(svc, con, ex, method);
	http_route(&svc->routes, &rq, &rsp);
	ok = queue(svc, con, ex, rq.method == HTTP_HEAD, &rsp);
	http_response_release(&rsp);
	return ok;
}

/* ---- the service ------------------------------------------------------------ */

static int fail(char **err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(char **err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(err, fmt, ap) < 0)
		*err = NULL;
	va_end(ap);
	return -1;
}

static int open_root(struct http_service *svc, char **err)
{
	svc->routes.rootfd = open(svc->cfg.root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (svc->routes.rootfd < 0)
		return fail(err, "http: --http-root %s: %s", svc->cfg.root, strerror(errno));
	return 0;
}

static int load_script(struct http_service *svc, char **err)
{
	char msg[256];
	bool builtin;

	if (http_script_load(svc->routes.rootfd, &svc->script, &builtin, msg, sizeof(msg)) < 0)
		return fail(err, "http: %s", msg);
	svc->routes.script = svc->script;
	log_msg(LOG_INFO, "http: /boot.ipxe is %s",
		builtin ? "the built-in menu (no boot.ipxe in the HTTP root)"
			: "rendered from boot.ipxe");
	return 0;
}

static int start_mhd(struct http_service *svc, struct in_addr addr, char **err)
{
	const struct http_config *c = &svc->cfg;
	struct listener *l = &svc->ls[svc->n_ls];
	const union MHD_DaemonInfo *info;
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(c->port),
				  .sin_addr = addr };
	char a[INET_ADDRSTRLEN];
	int r;

	*l = (struct listener){ .svc = svc, .fd = -1 };
	l->mhd = MHD_start_daemon(
		MHD_USE_EPOLL | MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME, c->port, NULL, NULL, on_request, svc,
		MHD_OPTION_SOCK_ADDR, &sa,
		/* First, or MHD logs its own way until it reaches it. */
		MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, svc,
		MHD_OPTION_CONNECTION_LIMIT,
		(unsigned)(c->max_connections + HTTP_OVERFLOW_CONNECTIONS),
		MHD_OPTION_CONNECTION_TIMEOUT, c->idle_timeout,
		MHD_OPTION_NOTIFY_CONNECTION, on_connection, svc,
		MHD_OPTION_NOTIFY_COMPLETED, on_completed, svc,
		MHD_OPTION_URI_LOG_CALLBACK, on_request_line, svc,
		MHD_OPTION_UNESCAPE_CALLBACK, keep_escaped, svc,
		MHD_OPTION_SIGPIPE_HANDLED_BY_APP, 1,
		MHD_OPTION_END);
	if (!l->mhd)
		return fail(err, "http: cannot listen on TCP %s:%u: %s",
			    inet_ntop(AF_INET, &addr, a, sizeof(a)), c->port, strerror(errno));
	svc->n_ls++;
	info = MHD_get_daemon_info(l->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	if (!info)
		return fail(err, "http: libmicrohttpd was built without epoll");
	if ((r = loop_add(svc->loop, info->epoll_fd, EPOLLIN, on_mhd_ready, l)) < 0)
		return fail(err, "http: event loop: %s", strerror(-r));
	l->fd = info->epoll_fd;
	return 0;
}

static int start_listeners(struct http_service *svc, char **err)
{
	const struct http_config *c = &svc->cfg;
	int r = 0;

	if (c->n_listen == 0)
		return start_mhd(svc, (struct in_addr){ INADDR_ANY }, err);
	for (size_t i = 0; i < c->n_listen && r == 0; i++)
		r = start_mhd(svc, c->listen[i], err);
	return r;
}

static int join_loop(struct http_service *svc, char **err)
{
	const struct itimerspec ping = { .it_interval = { STREAM_PING_SECONDS, 0 },
					 .it_value = { STREAM_PING_SECONDS, 0 } };
	int r;

	svc->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (svc->timer_fd < 0)
		return fail(err, "http: timerfd: %s", strerror(errno));
	if ((r = loop_add(svc->loop, svc->timer_fd, EPOLLIN, on_timer, svc)) < 0)
		return fail(err, "http: event loop: %s", strerror(-r));
	timer_arm(svc);
	svc->ping_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (svc->ping_fd < 0)
		return fail(err, "http: timerfd: %s", strerror(errno));
	if ((r = loop_add(svc->loop, svc->ping_fd, EPOLLIN, on_ping, svc)) < 0)
		return fail(err, "http: event loop: %s", strerror(-r));
	timerfd_settime(svc->ping_fd, 0, &ping, NULL);
	return 0;
}

struct http_service *http_service_new(const struct http_config *cfg, struct loop *loop,
				      char **err)
{
	char addr[INET_ADDRSTRLEN];
	struct http_service *svc = calloc(1, sizeof(*svc));

	*err = NULL;
	if (!svc) {
		fail(err, "http: out of memory");
		return NULL;
	}
	svc->cfg = *cfg;
	svc->loop = loop;
	svc->timer_fd = svc->ping_fd = -1;
	svc->routes = (struct http_routes){ .rootfd = -1, .ui = &ui_embedded, .hooks = cfg->hooks,
					    .port = cfg->port, .file_base = cfg->file_base,
					    .metrics = cfg->metrics };
	if (open_root(svc, err) < 0 || load_script(svc, err) < 0 || start_listeners(svc, err) < 0 ||
	    join_loop(svc, err) < 0) {
		http_service_free(svc);
		return NULL;
	}
	for (size_t i = 0; i < cfg->n_listen || (i == 0 && cfg->n_listen == 0); i++)
		log_msg(LOG_INFO, "http: TCP %s:%u, at most %u connections, %u s idle timeout",
			cfg->n_listen ? inet_ntop(AF_INET, &cfg->listen[i], addr, sizeof(addr)) : "*",
			cfg->port, cfg->max_connections, cfg->idle_timeout);
	if (cfg->file_base)
		log_msg(LOG_INFO, "http: scripts point at %s for files (--http-base); next "
			"boots are spent when their script is served", cfg->file_base);
	return svc;
}

const char *http_file_base(const struct http_service *svc)
{
	return svc ? svc->cfg.file_base : NULL;
}

static void close_timer(struct http_service *svc, int fd)
{
	if (fd >= 0) {
		loop_del(svc->loop, fd);
		close(fd);
	}
}

void http_service_free(struct http_service *svc)
{
	if (!svc)
		return;
	close_timer(svc, svc->timer_fd);
	close_timer(svc, svc->ping_fd);
	streams_end(svc);
	for (size_t i = 0; i < svc->n_ls; i++) {
		if (svc->ls[i].fd >= 0)
			loop_del(svc->loop, svc->ls[i].fd);
		MHD_stop_daemon(svc->ls[i].mhd); /* closes its epoll fd and connections */
	}
	if (svc->routes.rootfd >= 0)
		close(svc->routes.rootfd);
	ipxe_template_free(svc->script);
	free(svc);
}

void http_service_set_hooks(struct http_service *svc, const struct http_hooks *hooks)
{
	svc->cfg.hooks = *hooks;
	svc->routes.hooks = *hooks;
}

void http_service_reload(struct http_service *svc)
{
	struct ipxe_template *old = svc->script;
	char *err = NULL;

	/* load_script leaves svc->script alone when it fails. */
	if (load_script(svc, &err) < 0) {
		log_msg(LOG_ERR, "%s; the previous /boot.ipxe keeps serving", err ? err : "http");
		free(err);
		return;
	}
	ipxe_template_free(old);
}
