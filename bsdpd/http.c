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

#include "file_cache.h"
#include "log.h"

#define HTTP_RUNS_PER_WAKEUP 8

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
	unsigned active;               /* open connections */
	struct ipxe_template *script;
	struct http_routes routes;
};

/* One request, from its request line to its completion. */
struct exchange {
	char *target;                  /* raw, as sent */
	char method[16];
	struct in_addr client;
	int64_t start_us;
	bool headers_seen;             /* the first call of on_request is over */
	unsigned status;
	uint64_t bytes;
};

static int64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
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
static void on_completed(void *cls, struct MHD_Connection *con, void **req_ctx,
			 enum MHD_RequestTerminationCode toe)
{
	struct exchange *ex = *req_ctx;
	char client[INET_ADDRSTRLEN], target[256], status[12] = "-";

	(void)cls;
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
	if (strcmp(m, MHD_HTTP_METHOD_GET) == 0)
		return HTTP_GET;
	if (strcmp(m, MHD_HTTP_METHOD_HEAD) == 0)
		return HTTP_HEAD;
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

static struct http_request make_request(const struct http_service *svc,
					struct MHD_Connection *con, const struct exchange *ex,
					const char *method)
{
	return (struct http_request){
		.method = method_of(method),
		.target = ex->target,
		.range = MHD_lookup_connection_value(con, MHD_HEADER_KIND, MHD_HTTP_HEADER_RANGE),
		.if_none_match = MHD_lookup_connection_value(con, MHD_HEADER_KIND,
							     MHD_HTTP_HEADER_IF_NONE_MATCH),
		.if_modified_since = MHD_lookup_connection_value(
			con, MHD_HEADER_KIND, MHD_HTTP_HEADER_IF_MODIFIED_SINCE),
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

static void add_headers(struct MHD_Response *r, const struct http_response *rsp)
{
	char retry[16];

	add_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, rsp->content_type);
	add_header(r, MHD_HTTP_HEADER_ETAG, rsp->etag);
	add_header(r, MHD_HTTP_HEADER_LAST_MODIFIED, rsp->last_modified);
	add_header(r, MHD_HTTP_HEADER_CONTENT_RANGE, rsp->content_range);
	if (rsp->accept_ranges)
		add_header(r, MHD_HTTP_HEADER_ACCEPT_RANGES, "bytes");
	if (rsp->allow)
		add_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	if (rsp->no_store)
		add_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	if (rsp->retry_after) {
		snprintf(retry, sizeof(retry), "%u", rsp->retry_after);
		add_header(r, MHD_HTTP_HEADER_RETRY_AFTER, retry);
		/* Frees the slot for the retry instead of keeping it idle. */
		add_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
	}
}

static enum MHD_Result queue(struct http_service *svc, struct MHD_Connection *con,
			     struct exchange *ex, bool head, struct http_response *rsp)
{
	struct MHD_Response *r = make_body(svc, rsp);
	enum MHD_Result ok;

	if (!r)
		return MHD_NO; /* out of memory: MHD closes the connection */
	add_headers(r, rsp);
	ex->status = rsp->status;
	/* MHD sends no body for HEAD: log what goes on the wire. */
	ex->bytes = head ? 0 : rsp->body == HTTP_BODY_FILE ? rsp->length : rsp->buf_len;
	ok = MHD_queue_response(con, rsp->status, r);
	MHD_destroy_response(r);
	return ok;
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
	(void)upload_data;
	if (!ex || !ex->target)
		return MHD_NO;
	/* MHD calls once with the headers, once per piece of body, and once
	 * at the end.  A response queued on the first call makes MHD 0.9.75
	 * stop reading the connection and close it (no keep-alive), so answer
	 * on the last; a body (no route takes one) is dropped. */
	if (!ex->headers_seen || *upload_data_size > 0) {
		ex->headers_seen = true;
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
		MHD_USE_EPOLL | MHD_USE_ERROR_LOG, c->port, NULL, NULL, on_request, svc,
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
	int r;

	svc->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (svc->timer_fd < 0)
		return fail(err, "http: timerfd: %s", strerror(errno));
	if ((r = loop_add(svc->loop, svc->timer_fd, EPOLLIN, on_timer, svc)) < 0)
		return fail(err, "http: event loop: %s", strerror(-r));
	timer_arm(svc);
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
	svc->timer_fd = -1;
	svc->routes = (struct http_routes){ .rootfd = -1, .hooks = cfg->hooks,
					    .port = cfg->port, .metrics = cfg->metrics };
	if (open_root(svc, err) < 0 || load_script(svc, err) < 0 || start_listeners(svc, err) < 0 ||
	    join_loop(svc, err) < 0) {
		http_service_free(svc);
		return NULL;
	}
	for (size_t i = 0; i < cfg->n_listen || (i == 0 && cfg->n_listen == 0); i++)
		log_msg(LOG_INFO, "http: TCP %s:%u, at most %u connections, %u s idle timeout",
			cfg->n_listen ? inet_ntop(AF_INET, &cfg->listen[i], addr, sizeof(addr)) : "*",
			cfg->port, cfg->max_connections, cfg->idle_timeout);
	return svc;
}

void http_service_free(struct http_service *svc)
{
	if (!svc)
		return;
	if (svc->timer_fd >= 0) {
		loop_del(svc->loop, svc->timer_fd);
		close(svc->timer_fd);
	}
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
