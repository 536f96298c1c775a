/* SPDX-License-Identifier: MIT */
/*
 * bsdpd's HTTP routes (see http_routes.h): request in, response out, no
 * sockets.  Static files follow RFC 9110 (conditional GET, single ranges)
 * and what iPXE needs (ipxe.md X6): Content-Length always, HEAD, 206 for
 * its sanboot block reads, 503 + Retry-After to pace a boot storm.
 */
#include "http_routes.h"
#include "ui.h"
#include "url.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "beneath.h"
#include "policy.h"
#include "tftp.h"

#define SCRIPT_FILE "boot.ipxe"
#define METRICS_PATH "metrics"      /* as cleaned: relative to the root */
#define API_PREFIX "/api/"          /* raw, before decoding: api.c parses its own paths */
#define TEXT_PLAIN "text/plain; charset=us-ascii"

/* ---- the request-target ------------------------------------------------------ */

/* RFC 9112 §3.2.2: a server must accept the absolute-form as well
 * ("http://host/path"); its authority is skipped (there is one site). */
static size_t authority_len(const char *t, size_t n)
{
	size_t i = 7;

	if (n < 7 || strncasecmp(t, "http://", 7) != 0)
		return 0;
	while (i < n && t[i] != '/' && t[i] != '?')
		i++;
	return i;
}

int http_target_split(const char *target, size_t n, const char **path, size_t *path_len,
		      const char **query, size_t *query_len)
{
	size_t skip = authority_len(target, n);
	const char *q;

	target += skip;
	n -= skip;
	q = memchr(target, '?', n);
	if (skip > 0 && (n == 0 || target[0] == '?')) {
		*path = "/";
		*path_len = 1;
	} else if (n == 0 || target[0] != '/') {
		return -EINVAL;
	} else {
		*path = target;
		*path_len = q ? (size_t)(q - target) : n;
	}
	*query = q ? q + 1 : target + n;
	*query_len = q ? n - (size_t)(q - target) - 1 : 0;
	return 0;
}

/* Decodes the escape at s[0] ('%'), n bytes available; -1 if malformed. */
static int unescape(const char *s, size_t n)
{
	int hi, lo;

	if (n < 3 || (hi = hex_digit(s[1])) < 0 || (lo = hex_digit(s[2])) < 0)
		return -1;
	return hi << 4 | lo;
}

ssize_t http_path_decode(const char *raw, size_t n, char *out, size_t cap)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)raw[i];

		if (c == '%') {
			c = unescape(raw + i, n - i);
			/* An escaped separator would smuggle a second meaning
			 * past the component checks: refuse it outright. */
			if (c < 0 || c == '/' || c == '\\')
				return -EINVAL;
			i += 2;
		}
		if (c < 0x20 || c == 0x7f)
			return -EINVAL;
		if (o + 1 >= cap)
			return -ENAMETOOLONG;
		out[o++] = (char)c;
	}
	if (cap == 0)
		return -ENAMETOOLONG;
	out[o] = '\0';
	return (ssize_t)o;
}

/* ---- the identity in the query ------------------------------------------------ */

/* Query values are percent-decoded into buf; false if malformed. */
static bool query_value(const char *s, size_t n, char *buf, size_t cap)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)s[i];

		if (c == '%' && (c = unescape(s + i, n - i)) >= 0)
			i += 2;
		if (c <= 0x20 || c >= 0x7f || o + 1 >= cap)
			return false;
		buf[o++] = (char)c;
	}
	buf[o] = '\0';
	return o > 0;
}

/* aa-bb-cc-dd-ee-ff (${mac:hexhyp}) or aa:bb:cc:dd:ee:ff (${mac}). */
static bool parse_mac(const char *s, uint8_t mac[6])
{
	if (strlen(s) != 17)
		return false;
	for (int i = 0; i < 6; i++) {
		int hi = hex_digit(s[3 * i]), lo = hex_digit(s[3 * i + 1]);

		if (hi < 0 || lo < 0 || (i < 5 && s[3 * i + 2] != s[2]))
			return false;
		mac[i] = (uint8_t)(hi << 4 | lo);
	}
	return s[2] == '-' || s[2] == ':';
}

/* 8-4-4-4-12 hex digits, as iPXE prints ${uuid}. */
static bool parse_uuid(const char *s, char out[37])
{
	if (strlen(s) != 36)
		return false;
	for (int i = 0; i < 36; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;

		if (dash ? s[i] != '-' : hex_digit(s[i]) < 0)
			return false;
		out[i] = (char)(s[i] >= 'A' && s[i] <= 'F' ? s[i] - 'A' + 'a' : s[i]);
	}
	out[36] = '\0';
	return true;
}

/* iPXE's ${buildarch} and ${platform} are short lower-case words. */
static bool parse_word(const char *s, char out[17])
{
	size_t n = strlen(s);

	if (n > 16)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return false;
	memcpy(out, s, n + 1);
	return true;
}

enum { Q_MAC, Q_UUID, Q_ARCH, Q_PLATFORM, Q_COUNT };

static int query_key(const char *s, size_t n)
{
	static const char *const keys[Q_COUNT] = { "mac", "uuid", "arch", "platform" };

	for (int k = 0; k < Q_COUNT; k++)
		if (strlen(keys[k]) == n && memcmp(keys[k], s, n) == 0)
			return k;
	return -1;
}

static bool accept_value(struct http_identity *id, int key, const char *v)
{
	switch (key) {
	case Q_MAC:
		return (id->has_mac = parse_mac(v, id->mac));
	case Q_UUID:
		return parse_uuid(v, id->uuid);
	case Q_ARCH:
		return parse_word(v, id->arch);
	default:
		return parse_word(v, id->platform);
	}
}

/* Clears the value of key: a repeated key is as good as absent. */
static void drop_value(struct http_identity *id, int key)
{
	char *fields[Q_COUNT] = { id->mac_str, id->uuid, id->arch, id->platform };

	fields[key][0] = '\0';
	if (key == Q_MAC)
		id->has_mac = false;
}

void http_query_identity(const char *q, size_t n, struct http_identity *id)
{
	unsigned seen = 0, bad = 0;
	char v[64];

	*id = (struct http_identity){ 0 };
	while (n > 0) {
		const char *amp = memchr(q, '&', n), *eq;
		size_t len = amp ? (size_t)(amp - q) : n;
		int key;

		eq = memchr(q, '=', len);
		key = eq ? query_key(q, (size_t)(eq - q)) : -1;
		if (key >= 0) {
			bool ok = query_value(eq + 1, len - (size_t)(eq + 1 - q), v, sizeof(v)) &&
				  !(seen & 1u << key) && accept_value(id, key, v);

			bad |= ok ? 0 : 1u << key;
			seen |= 1u << key;
		}
		q += len;
		n -= len;
		if (n > 0) {
			q++;
			n--;
		}
	}
	for (int k = 0; k < Q_COUNT; k++)
		if (bad & 1u << k)
			drop_value(id, k);
	if (id->has_mac)
		snprintf(id->mac_str, sizeof(id->mac_str), "%02x:%02x:%02x:%02x:%02x:%02x",
			 id->mac[0], id->mac[1], id->mac[2], id->mac[3], id->mac[4], id->mac[5]);
}

/* ---- ranges, validators, types ----------------------------------------------- */

/* Decimal digits at *s; advances it.  False without a digit or on overflow. */
static bool parse_u64(const char **s, uint64_t *out)
{
	uint64_t v = 0;
	const char *p = *s;

	if (*p < '0' || *p > '9')
		return false;
	for (; *p >= '0' && *p <= '9'; p++) {
		unsigned d = (unsigned)(*p - '0');

		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*s = p;
	*out = v;
	return true;
}

static const char *skip_ows(const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

int http_range_parse(const char *range, uint64_t size, uint64_t *first, uint64_t *last)
{
	const char *s;
	uint64_t a, b;

	if (!range || strncasecmp(range, "bytes=", 6) != 0)
		return 0;
	s = skip_ows(range + 6);
	if (*s == '-') { /* suffix: the last b bytes */
		s++;
		if (!parse_u64(&s, &b) || *skip_ows(s) != '\0')
			return 0;
		if (b == 0 || size == 0)
			return -ERANGE;
		*first = b < size ? size - b : 0;
		*last = size - 1;
		return 1;
	}
	if (!parse_u64(&s, &a) || *s++ != '-')
		return 0;
	b = UINT64_MAX;
	if (*s >= '0' && *s <= '9' && (!parse_u64(&s, &b) || b < a))
		return 0;
	if (*skip_ows(s) != '\0')
		return 0; /* several ranges, or junk: ignore Range */
	if (a >= size)
		return -ERANGE;
	*first = a;
	*last = b < size - 1 ? b : size - 1;
	return 1;
}

static const struct {
	const char *ext, *type;
} content_types[] = {
	/* application/efi: IANA-registered for EFI executables (2020);
	 * firmware and iPXE ignore the type, browsers then offer a download. */
	{ ".efi", "application/efi" },
	/* iPXE scripts are text; text/plain lets a browser show them. */
	{ ".ipxe", TEXT_PLAIN },
	{ ".iso", "application/x-iso9660-image" },
	{ ".txt", "text/plain; charset=utf-8" },
	{ ".html", "text/html; charset=utf-8" },
	{ ".css", "text/css; charset=utf-8" },
	{ ".js", "text/javascript; charset=utf-8" }, /* RFC 9239 */
	{ ".json", "application/json" },
	{ ".svg", "image/svg+xml" },
	{ ".png", "image/png" },
};

/* Kernels, initrds, .img, booters and anything unknown are plain bytes. */
const char *http_content_type(const char *path)
{
	size_t n = strlen(path);

	for (size_t i = 0; i < sizeof(content_types) / sizeof(content_types[0]); i++) {
		size_t e = strlen(content_types[i].ext);

		if (n > e && strcasecmp(path + n - e, content_types[i].ext) == 0)
			return content_types[i].type;
	}
	/* A bundle's booter (NAME.nbi/i386/booter) has no extension, and
	 * OVMF's HTTP Boot refuses an NBP served as anything but
	 * application/efi ("Could not retrieve NBP file size"). */
	if (strstr(path, ".nbi/i386/"))
		return "application/efi";
	return "application/octet-stream";
}

static const char *const wday[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
static const char *const month[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
				     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

/* IMF-fixdate (RFC 9110 §5.6.7), without the locale strftime would use. */
static void http_date(time_t t, char *out, size_t cap)
{
	struct tm tm;

	if (!gmtime_r(&t, &tm)) {
		out[0] = '\0';
		return;
	}
	snprintf(out, cap, "%s, %02d %s %04d %02d:%02d:%02d GMT", wday[tm.tm_wday], tm.tm_mday,
		 month[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* Parses an IMF-fixdate; the obsolete forms are ignored (the header then
 * does not apply), which RFC 9110 §13.1.3 allows. */
static bool parse_http_date(const char *s, time_t *out)
{
	char wd[4], mon[4], gmt[4];
	int d, y, h, mi, sec, used = 0;
	struct tm tm = { 0 };

	if (sscanf(s, "%3[A-Za-z], %2d %3[A-Za-z] %4d %2d:%2d:%2d %3s%n", wd, &d, mon, &y, &h,
		   &mi, &sec, gmt, &used) != 8 || s[used] != '\0' || strcmp(gmt, "GMT") != 0)
		return false;
	for (tm.tm_mon = 0; tm.tm_mon < 12 && strcmp(month[tm.tm_mon], mon) != 0; tm.tm_mon++)
		;
	if (tm.tm_mon == 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60 || y < 1970)
		return false;
	tm.tm_mday = d;
	tm.tm_year = y - 1900;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	*out = timegm(&tm);
	return *out != (time_t)-1;
}

/* A strong validator (RFC 9110 §8.8.3): the size and the modification
 * time to the nanosecond, which change whenever the file's bytes do.
 * Not the device or the inode: device numbers may change across a
 * reboot, and an inode differs between servers holding copies of the
 * same file, while `rsync -a` or `cp -p` keep size and mtime — so the
 * servers behind one cache give a file one ETag, and the cache
 * revalidates it against any of them (Apache 2.4 dropped the inode from
 * its default FileETag for the same reason).  rsync's own quick check
 * compares the same two values. */
static void make_etag(const struct stat *st, char *out, size_t cap)
{
	snprintf(out, cap, "\"%llx-%llx.%08lx\"", (unsigned long long)st->st_size,
		 (unsigned long long)st->st_mtim.tv_sec, (unsigned long)st->st_mtim.tv_nsec);
}

/* If-None-Match: "*" or a list of entity-tags, compared weakly
 * (RFC 9110 §13.1.2): a W/ prefix is ignored. */
bool http_etag_matches(const char *inm, const char *etag)
{
	size_t el = strlen(etag);

	for (const char *s = skip_ows(inm); *s; s = skip_ows(s)) {
		const char *end;

		if (*s == '*')
			return true;
		if (strncmp(s, "W/", 2) == 0)
			s += 2;
		if (*s != '"' || !(end = strchr(s + 1, '"')))
			return false;
		if ((size_t)(end + 1 - s) == el && memcmp(s, etag, el) == 0)
			return true;
		s = skip_ows(end + 1);
		if (*s != ',')
			return false;
		s++;
	}
	return false;
}

/* If-Range (RFC 9110 §13.1.5): the Range applies only to the version
 * the client already holds part of.  An entity-tag is compared
 * strongly (a W/ tag never matches); a date must equal Last-Modified
 * exactly, and that date is a strong validator only when the file is at
 * least a second older than now (§8.8.2.2).  Anything else: the whole
 * file, which a resuming client then starts over with. */
static bool if_range_holds(const struct http_request *rq, const char *etag,
			   const struct stat *st)
{
	const char *v = rq->if_range;
	time_t t;

	if (!v)
		return true;
	v = skip_ows(v);
	if (*v == '"')
		return strcmp(v, etag) == 0;
	return parse_http_date(v, &t) && t == st->st_mtim.tv_sec && t < rq->now;
}

/* RFC 9110 §13.2.2: If-None-Match decides when present; otherwise
 * If-Modified-Since, at one-second resolution. */
static bool not_modified(const struct http_request *rq, const char *etag, time_t mtime)
{
	time_t ims;

	if (rq->if_none_match)
		return http_etag_matches(rq->if_none_match, etag);
	return rq->if_modified_since && parse_http_date(rq->if_modified_since, &ims) &&
	       mtime <= ims;
}

/* ---- responses --------------------------------------------------------------- */

/* Text answers are errors, or a script's failure for one machine:
 * never kept by a cache (a 404 is heuristically cacheable, RFC 9111
 * §4.2.2, and would outlive the file the admin adds next). */
static void set_text(struct http_response *rsp, unsigned status, const char *text)
{
	rsp->status = status;
	rsp->content_type = TEXT_PLAIN;
	rsp->no_store = true;
	rsp->body = HTTP_BODY_BUFFER;
	rsp->buf = strdup(text);
	rsp->buf_len = rsp->buf ? strlen(text) : 0;
	if (!rsp->buf)
		rsp->body = HTTP_BODY_NONE;
}

static void set_error(struct http_response *rsp, unsigned status)
{
	switch (status) {
	case 400: set_text(rsp, status, "400 Bad Request\n"); break;
	case 403: set_text(rsp, status, "403 Forbidden\n"); break;
	case 404: set_text(rsp, status, "404 Not Found\n"); break;
	case 405: set_text(rsp, status, "405 Method Not Allowed\n"); break;
	case 414: set_text(rsp, status, "414 URI Too Long\n"); break;
	case 503: set_text(rsp, status, "503 Service Unavailable\n"); break;
	default: set_text(rsp, 500, "500 Internal Server Error\n"); break;
	}
}

/* What an open error means to the client.  EXDEV and ELOOP are openat2's
 * answers for a path or symlink leading out of the root. */
static unsigned open_status(int err)
{
	switch (err) {
	case -ENOENT:
	case -ENOTDIR:
		return 404;
	case -EACCES:
	case -EPERM:
	case -EXDEV:
	case -ELOOP:
		return 403;
	case -ENAMETOOLONG:
		return 414;
	case -EMFILE:
	case -ENFILE:
	case -ENOMEM:
		return 503; /* out of descriptors: a retry will do */
	default:
		return 500;
	}
}

void http_response_release(struct http_response *rsp)
{
	free(rsp->buf);
	rsp->buf = NULL;
	if (rsp->fd >= 0)
		close(rsp->fd);
	rsp->fd = -1;
}

/* 206 for a satisfiable single range, 416 for one that is not, else 200. */
static void file_body(const struct http_request *rq, const struct stat *st, int fd,
		      struct http_response *rsp)
{
	uint64_t size = (uint64_t)st->st_size, first = 0, last = 0;
	const char *range = if_range_holds(rq, rsp->etag, st) ? rq->range : NULL;
	int r = http_range_parse(range, size, &first, &last);

	if (r < 0) {
		close(fd);
		set_text(rsp, 416, "416 Range Not Satisfiable\n");
		rsp->max_age = 0;
		snprintf(rsp->content_range, sizeof(rsp->content_range), "bytes */%llu",
			 (unsigned long long)size);
		return;
	}
	rsp->status = r ? 206 : 200;
	rsp->body = HTTP_BODY_FILE;
	rsp->fd = fd;
	rsp->offset = first;
	rsp->length = r ? last - first + 1 : size;
	if (r)
		snprintf(rsp->content_range, sizeof(rsp->content_range), "bytes %llu-%llu/%llu",
			 (unsigned long long)first, (unsigned long long)last,
			 (unsigned long long)size);
}

static void serve_file(const struct http_routes *rt, const struct http_request *rq,
		       const char *path, struct http_response *rsp)
{
	struct stat st;
	int fd = beneath_open_served(rt->rootfd, path, &st);

	if (fd < 0) {
		set_error(rsp, open_status(fd));
		return;
	}
	make_etag(&st, rsp->etag, sizeof(rsp->etag));
	http_date(st.st_mtim.tv_sec, rsp->last_modified, sizeof(rsp->last_modified));
	rsp->accept_ranges = true;
	rsp->max_age = HTTP_FILE_MAX_AGE; /* on a 304 too: it renews the cache's copy */
	rsp->content_type = http_content_type(path);
	if (not_modified(rq, rsp->etag, st.st_mtim.tv_sec)) {
		close(fd);
		rsp->status = 304;
		return;
	}
	file_body(rq, &st, fd, rsp);
}

/* Whose boot a whole file belongs to, for hooks.file_served: the query
 * policy_file_url puts on a profile's files. */
static void note_served(const struct http_routes *rt, const struct http_request *rq,
			const char *path, const char *query, size_t query_len,
			struct http_response *rsp)
{
	struct http_identity id;

	if (rq->method != HTTP_GET || rsp->status != 200 || rsp->body != HTTP_BODY_FILE)
		return;
	http_query_identity(query, query_len, &id);
	if (!id.has_mac)
		return;
	rsp->served = true;
	memcpy(rsp->served_mac, id.mac, 6);
	snprintf(rsp->served_path, sizeof(rsp->served_path), "%s", path);
	if (rt->hooks.file_stage)
		rt->hooks.file_stage(rt->hooks.ctx, id.mac, rsp->served_path, rsp->served_stage);
}

/* ---- /boot.ipxe ----------------------------------------------------------------- */

/* Without a boot.ipxe in the root: show who the machine is, then a menu
 * that boots the local disk after 10 s.  Local boot per platform
 * (docs/policy.md §3): BIOS sanboot of drive 0x80; on EFI `exit 1`,
 * which returns to the firmware's boot order (Debian 12's iPXE cannot
 * sanboot a local EFI disk).  A platform without a label exits too. */
#define BUILTIN_MENU \
	"menu bsdpd {{http}}\n" \
	"item local Boot from the local disk\n" \
	"item shell iPXE shell\n" \
	"choose --default local --timeout 10000 target || goto shell\n" \
	"goto ${target}\n" \
	":shell\n" \
	"shell\n" \
	":local\n" \
	"goto local-${platform} || exit 1\n" \
	":local-pcbios\n" \
	"sanboot --no-describe --drive 0x80 || exit 1\n" \
	":local-efi\n" \
	"exit 1\n"

static const char builtin_script[] =
	"#!ipxe\n"
	"# bsdpd's built-in script: the HTTP root holds no boot.ipxe.\n"
	"echo bsdpd at {{server}}: no boot.ipxe in the HTTP root. This machine:\n"
	"echo   mac {{mac}}  ip {{ip}}  hostname {{hostname}}\n"
	"echo   uuid {{uuid}}  arch {{arch}}  platform {{platform}}\n"
	"echo   model {{model}}  image {{image}}\n"
	BUILTIN_MENU;

const char http_builtin_menu[] = "#!ipxe\n" BUILTIN_MENU;

/* The reason is ours, never the client's; sanitized all the same. */
static void script_failure(const char *reason, struct http_response *rsp)
{
	char clean[IPXE_VALUE_MAX + 1], text[512];

	ipxe_value_sanitize(reason, clean, sizeof(clean));
	snprintf(text, sizeof(text),
		 "#!ipxe\necho bsdpd: cannot render boot.ipxe for this machine: %s\nshell\n",
		 clean);
	set_text(rsp, 200, text);
}

static void fill_values(const struct http_routes *rt, const struct http_request *rq,
			const struct http_identity *id, struct http_client_info *info,
			char addr[2][INET_ADDRSTRLEN], char *http, size_t cap,
			struct ipxe_values *vals)
{
	inet_ntop(AF_INET, &rq->client, addr[0], INET_ADDRSTRLEN);
	inet_ntop(AF_INET, &rq->local, addr[1], INET_ADDRSTRLEN);
	/* {{http}} is where files come from: a template's "kernel
	 * {{http}}/vmlinuz" goes through the cache as a profile's does;
	 * {{server}} still names bsdpd. */
	if (rt->file_base)
		snprintf(http, cap, "%s", rt->file_base);
	else if (rt->port == 80)
		snprintf(http, cap, "http://%s", addr[1]);
	else
		snprintf(http, cap, "http://%s:%u", addr[1], rt->port);
	*info = (struct http_client_info){ 0 };
	if (rt->hooks.client_info)
		rt->hooks.client_info(rt->hooks.ctx, id->has_mac ? id->mac : NULL, rq->client,
				      info);
	*vals = (struct ipxe_values){ .v = {
		[IPXE_VAR_MAC] = id->mac_str, [IPXE_VAR_IP] = addr[0],
		[IPXE_VAR_UUID] = id->uuid, [IPXE_VAR_ARCH] = id->arch,
		[IPXE_VAR_PLATFORM] = id->platform, [IPXE_VAR_HOSTNAME] = info->hostname,
		[IPXE_VAR_SERVER] = addr[1], [IPXE_VAR_HTTP] = http,
		[IPXE_VAR_MODEL] = info->model, [IPXE_VAR_IMAGE] = info->image,
	} };
}

static void serve_script(const struct http_routes *rt, const struct http_request *rq,
			 const char *query, size_t query_len, struct http_response *rsp)
{
	char addr[2][INET_ADDRSTRLEN], http[POLICY_HTTP_BASE_MAX];
	struct http_client_info info;
	struct http_identity id;
	struct ipxe_values vals;
	size_t cap = ipxe_template_render_max(rt->script);
	char *out = malloc(cap);
	int64_t t0;
	ssize_t n;

	if (!out) {
		script_failure("out of memory", rsp);
		return;
	}
	http_query_identity(query, query_len, &id);
	fill_values(rt, rq, &id, &info, addr, http, sizeof(http), &vals);
	t0 = metrics_now_ns();
	if (rt->hooks.script && rt->hooks.script(rt->hooks.ctx, rq, &id, &vals, rsp)) {
		metrics_observe_render(rt->metrics, metrics_now_ns() - t0);
		free(out);
		return;
	}
	n = ipxe_template_render(rt->script, &vals, out, cap);
	metrics_observe_render(rt->metrics, metrics_now_ns() - t0);
	if (n < 0) {
		metrics_error(rt->metrics, METRICS_ERR_SCRIPT_RENDER);
		free(out);
		script_failure("the rendered script does not fit", rsp);
		return;
	}
	rsp->status = 200;
	rsp->content_type = TEXT_PLAIN;
	rsp->no_store = true; /* per machine and per request: never cached */
	rsp->body = HTTP_BODY_BUFFER;
	rsp->buf = out;
	rsp->buf_len = (size_t)n;
}

/* ---- dispatch ------------------------------------------------------------------- */

ssize_t http_path_resolve(const char *raw, size_t n, char *out, size_t cap)
{
	char decoded[HTTP_TARGET_MAX + 1];
	ssize_t len = http_path_decode(raw, n, decoded, sizeof(decoded));

	if (len < 0)
		return len;
	/* The TFTP server's cleaning: "..", backslashes, empty names. */
	len = tftp_path_clean(decoded, (size_t)len, NULL, out, cap);
	if (len == -EACCES && decoded[strspn(decoded, "/.")] == '\0' &&
	    !strstr(decoded, ".."))
		return -ENOENT;
	return len;
}

static unsigned resolve_status(ssize_t err)
{
	switch (err) {
	case -EINVAL: return 400;
	case -ENOENT: return 404;
	case -ENAMETOOLONG: return 414;
	default: return 403;
	}
}

/* GET /metrics: the Prometheus page, read fresh each time. */
void http_metrics(const struct http_routes *rt, struct http_response *rsp)
{
	struct metrics_gauges g = { 0 };
	char *page;
	ssize_t n;

	if (!rt->metrics) {
		set_error(rsp, 404);
		return;
	}
	if (rt->hooks.gauges)
		rt->hooks.gauges(rt->hooks.ctx, &g);
	page = malloc(METRICS_PAGE_MAX);
	n = page ? metrics_render(rt->metrics, &g, page, METRICS_PAGE_MAX) : -ENOMEM;
	if (n < 0) {
		free(page);
		set_error(rsp, 500);
		return;
	}
	rsp->status = 200;
	rsp->content_type = METRICS_CONTENT_TYPE;
	rsp->no_store = true;
	rsp->body = HTTP_BODY_BUFFER;
	rsp->buf = page;
	rsp->buf_len = (size_t)n;
}

static enum metrics_route route_path(const struct http_routes *rt,
				     const struct http_request *rq, const char *raw,
				     size_t raw_len, const char *query, size_t query_len,
				     struct http_response *rsp)
{
	char path[TFTP_PATH_MAX + 1];
	ssize_t n = http_path_resolve(raw, raw_len, path, sizeof(path));

	if (n < 0) {
		set_error(rsp, resolve_status(n));
		return METRICS_ROUTE_FILE;
	}
	if (strcmp(path, SCRIPT_FILE) == 0) { /* the template is never sent raw */
		serve_script(rt, rq, query, query_len, rsp);
		return METRICS_ROUTE_SCRIPT;
	}
	if (strcmp(path, METRICS_PATH) == 0) {
		http_metrics(rt, rsp);
		return METRICS_ROUTE_METRICS;
	}
	serve_file(rt, rq, path, rsp);
	note_served(rt, rq, path, query, query_len, rsp);
	return METRICS_ROUTE_FILE;
}

static uint64_t body_bytes(const struct http_request *rq, const struct http_response *rsp)
{
	if (rq->method == HTTP_HEAD)
		return 0;
	if (rsp->body == HTTP_BODY_BUFFER || rsp->body == HTTP_BODY_STATIC)
		return rsp->buf_len;
	return rsp->body == HTTP_BODY_FILE ? rsp->length : 0;
}

static bool is_api(const char *path, size_t n)
{
	return n >= sizeof(API_PREFIX) - 1 && memcmp(path, API_PREFIX, sizeof(API_PREFIX) - 1) == 0;
}

/* The API takes every method; everything else is GET and HEAD only. */
static enum metrics_route route_target(const struct http_routes *rt,
				       const struct http_request *rq, const char *path,
				       size_t path_len, const char *query, size_t query_len,
				       struct http_response *rsp)
{
	if (is_api(path, path_len) && rt->hooks.api) {
		rt->hooks.api(rt->hooks.ctx, rq, path, path_len, query, query_len, rsp);
		/* JSON is never a document to frame or sniff: the dashboard's
		 * headers cost nothing here. */
		rsp->security_headers = true;
		return METRICS_ROUTE_API;
	}
	if (rq->method != HTTP_GET && rq->method != HTTP_HEAD) {
		set_error(rsp, 405);
		rsp->allow = true;
		return METRICS_ROUTE_OTHER;
	}
	if (ui_path(path, path_len)) {
		if (rt->ui)
			ui_serve(rt->ui, rq, path, path_len, rsp);
		else
			set_error(rsp, 404);
		return METRICS_ROUTE_UI;
	}
	return route_path(rt, rq, path, path_len, query, query_len, rsp);
}

void http_route(const struct http_routes *rt, const struct http_request *rq,
		struct http_response *rsp)
{
	const char *path, *query;
	size_t path_len, query_len, n = strnlen(rq->target, HTTP_TARGET_MAX + 1);
	enum metrics_route route = METRICS_ROUTE_OTHER;

	*rsp = (struct http_response){ .fd = -1 };
	if (rq->over_capacity) {
		set_error(rsp, 503);
		rsp->retry_after = HTTP_RETRY_AFTER_SECONDS;
	} else if (n > HTTP_TARGET_MAX) {
		set_error(rsp, 414);
	} else if (http_target_split(rq->target, n, &path, &path_len, &query, &query_len) < 0) {
		set_error(rsp, 400);
	} else {
		route = route_target(rt, rq, path, path_len, query, query_len, rsp);
	}
	metrics_http(rt->metrics, route, rsp->status, body_bytes(rq, rsp));
}

/* ---- loading the script --------------------------------------------------------- */

static int read_all(int fd, const struct stat *st, char **text, size_t *n)
{
	size_t size = (size_t)st->st_size, got = 0;

	if (st->st_size > IPXE_TEMPLATE_MAX)
		return -EFBIG;
	*text = malloc(size + 1);
	if (!*text)
		return -ENOMEM;
	while (got < size) {
		ssize_t r = pread(fd, *text + got, size - got, (off_t)got);

		if (r <= 0) {
			free(*text);
			return r < 0 ? -errno : -EIO;
		}
		got += (size_t)r;
	}
	*n = size;
	return 0;
}

static int parse_script(const char *text, size_t n, const char *name,
			struct ipxe_template **out, char *err, size_t cap)
{
	struct ipxe_template_error e;
	int r = ipxe_template_parse(text, n, out, &e);

	if (r == -EINVAL)
		snprintf(err, cap, "%s:%u:%u: %s", name, e.line, e.column, e.msg);
	else if (r < 0)
		snprintf(err, cap, "%s: %s", name, strerror(-r));
	return r;
}

int http_script_load(int rootfd, struct ipxe_template **out, bool *builtin, char *err,
		     size_t cap)
{
	struct stat st;
	int fd = beneath_open_served(rootfd, SCRIPT_FILE, &st), r;
	char *text = NULL;
	size_t n = 0;

	*builtin = fd == -ENOENT;
	if (*builtin)
		return parse_script(builtin_script, sizeof(builtin_script) - 1,
				    "built-in boot.ipxe", out, err, cap);
	if (fd < 0) {
		snprintf(err, cap, "%s in the HTTP root: %s", SCRIPT_FILE, strerror(-fd));
		return fd;
	}
	r = read_all(fd, &st, &text, &n);
	close(fd);
	if (r < 0) {
		snprintf(err, cap, "%s in the HTTP root: %s", SCRIPT_FILE,
			 r == -EFBIG ? "larger than 64 KiB" : strerror(-r));
		return r;
	}
	r = parse_script(text, n, SCRIPT_FILE, out, err, cap);
	free(text);
	return r;
}
