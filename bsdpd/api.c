/* SPDX-License-Identifier: MIT */
/* The /api/v1 routes and the API token; see api.h. */
#include "api.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bindings.h"
#include "policy_json.h"
#include "url.h"

#define API_PREFIX "/api/v1/"

/* ---- responses ------------------------------------------------------------------- */

/* A response body being written: a memstream and the writer on it. */
struct out {
	FILE *f;
	char *buf;
	size_t len;
	struct json j;
};

static bool out_open(struct out *o)
{
	o->buf = NULL;
	o->len = 0;
	o->f = open_memstream(&o->buf, &o->len);
	if (o->f)
		json_init(&o->j, o->f, JSON_COMPACT);
	return o->f != NULL;
}

static void respond_empty(struct http_response *rsp, unsigned status)
{
	rsp->status = status;
	rsp->content_type = NULL;
	rsp->body = HTTP_BODY_NONE;
}

/* Hands the body to rsp; a memstream that failed is a 500 without one. */
static void out_close(struct out *o, struct http_response *rsp, unsigned status)
{
	bool failed;

	json_finish(&o->j);
	failed = ferror(o->f) != 0;
	if (fclose(o->f) != 0 || failed) {
		free(o->buf);
		respond_empty(rsp, 500);
		return;
	}
	free(rsp->buf);
	rsp->status = status;
	rsp->content_type = "application/json";
	rsp->body = HTTP_BODY_BUFFER;
	rsp->buf = o->buf;
	rsp->buf_len = o->len;
}

static void respond_error(struct http_response *rsp, unsigned status, const char *field,
			  const char *msg)
{
	struct out o;

	if (!out_open(&o)) {
		respond_empty(rsp, 500);
		return;
	}
	json_begin(&o.j, '{');
	json_key(&o.j, "error");
	json_string(&o.j, msg);
	if (field && field[0]) {
		json_key(&o.j, "field");
		json_string(&o.j, field);
	}
	json_end(&o.j, '}');
	out_close(&o, rsp, status);
}

/* What the store's errors mean to a client (store.h). */
static unsigned store_status(int rc)
{
	switch (rc) {
	case -ENOENT: return 404;
	case -ESRCH: return 422;
	case -EBUSY:
	case -EEXIST: return 409;
	case -EINVAL: return 400;
	default: return 500;
	}
}

static void respond_store_error(struct http_response *rsp, int rc, const struct policy_error *err)
{
	static const struct policy_error none;
	unsigned status = store_status(rc);

	if (!err)
		err = &none;
	if (status == 500)
		respond_error(rsp, 500, NULL, "the database failed; see bsdpd's log");
	else if (status == 404)
		respond_error(rsp, 404, NULL, "no such record");
	else
		respond_error(rsp, status, err->field, err->msg[0] ? err->msg : "refused");
}

static void respond_not_found(struct http_response *rsp)
{
	respond_error(rsp, 404, NULL, "no such record");
}

static void respond_method(struct http_response *rsp, const char *allow)
{
	respond_error(rsp, 405, NULL, "method not allowed here");
	rsp->allow_methods = allow;
}

/* ---- the token ------------------------------------------------------------------- */

bool api_authorized(const struct api_ctx *ctx, const char *authorization)
{
	const char *t;
	unsigned char diff = 0;

	if (!authorization || strncasecmp(authorization, "Bearer ", 7) != 0)
		return false;
	t = authorization + 7;
	while (*t == ' ')
		t++;
	/* The length is public (API_TOKEN_LEN); the bytes are compared all
	 * the way, so the time says nothing of how many matched. */
	if (strlen(t) != API_TOKEN_LEN || strlen(ctx->token) != API_TOKEN_LEN)
		return false;
	for (size_t i = 0; i < API_TOKEN_LEN; i++)
		diff |= (unsigned char)(t[i] ^ ctx->token[i]);
	return diff == 0;
}

static bool is_base64url(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '_'))
			return false;
	return true;
}

/* RFC 4648 §5 without padding: 32 bytes give 43 characters. */
static void base64url(const uint8_t *in, size_t n, char *out)
{
	static const char abc[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	uint32_t acc = 0;
	int bits = 0;

	for (size_t i = 0; i < n; i++) {
		acc = acc << 8 | in[i];
		for (bits += 8; bits >= 6; bits -= 6)
			*out++ = abc[acc >> (bits - 6) & 0x3f];
	}
	if (bits > 0)
		*out++ = abc[acc << (6 - bits) & 0x3f];
	*out = '\0';
}

/* The checks that keep someone else's file from becoming our token. */
static int token_file_check(int fd, char *err, size_t err_cap)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return snprintf(err, err_cap, API_TOKEN_FILE ": %s", strerror(errno)), -errno;
	if (!S_ISREG(st.st_mode))
		return snprintf(err, err_cap, API_TOKEN_FILE ": not a regular file"), -EPERM;
	if (st.st_uid != geteuid())
		return snprintf(err, err_cap, API_TOKEN_FILE ": owned by uid %u, not by bsdpd's %u",
				(unsigned)st.st_uid, (unsigned)geteuid()), -EPERM;
	if (st.st_mode & 077)
		return snprintf(err, err_cap, API_TOKEN_FILE ": mode %04o lets group or others "
				"read it; chmod 600 it", (unsigned)(st.st_mode & 07777)), -EPERM;
	return 0;
}

static int token_read(int fd, char *out, char *err, size_t err_cap)
{
	char buf[API_TOKEN_LEN + 2];
	ssize_t n = read(fd, buf, sizeof(buf));

	if (n < 0)
		return snprintf(err, err_cap, API_TOKEN_FILE ": %s", strerror(errno)), -errno;
	if (n == API_TOKEN_LEN + 1 && buf[API_TOKEN_LEN] == '\n')
		n--;
	if (n != API_TOKEN_LEN || !is_base64url(buf, API_TOKEN_LEN))
		return snprintf(err, err_cap, API_TOKEN_FILE ": not one token of %d base64url "
				"characters; remove it to have a new one made", API_TOKEN_LEN),
		       -EINVAL;
	memcpy(out, buf, API_TOKEN_LEN);
	out[API_TOKEN_LEN] = '\0';
	return 0;
}

static int token_load(int dirfd, char *out, char *err, size_t err_cap)
{
	int fd = openat(dirfd, API_TOKEN_FILE, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	int rc;

	if (fd < 0 && errno == ELOOP)
		return snprintf(err, err_cap, API_TOKEN_FILE ": a symbolic link; refused"), -ELOOP;
	if (fd < 0) {
		rc = -errno;
		snprintf(err, err_cap, API_TOKEN_FILE ": %s", strerror(errno));
		return rc;
	}
	rc = token_file_check(fd, err, err_cap);
	if (rc == 0)
		rc = token_read(fd, out, err, err_cap);
	close(fd);
	return rc;
}

static int token_create(int dirfd, char *out, char *err, size_t err_cap)
{
	uint8_t raw[32];
	char line[API_TOKEN_LEN + 2];
	int fd, rc = 0;

	if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
		return snprintf(err, err_cap, "getrandom: %s", strerror(errno)), -EIO;
	fd = openat(dirfd, API_TOKEN_FILE, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		    0600);
	if (fd < 0)
		return errno == EEXIST ? -EEXIST
				       : (snprintf(err, err_cap, API_TOKEN_FILE ": %s",
						   strerror(errno)), -errno);
	base64url(raw, sizeof(raw), line);
	line[API_TOKEN_LEN] = '\n';
	if (write(fd, line, API_TOKEN_LEN + 1) != API_TOKEN_LEN + 1 || fsync(fd) < 0)
		rc = -EIO;
	close(fd);
	if (rc < 0) {
		unlinkat(dirfd, API_TOKEN_FILE, 0);
		return snprintf(err, err_cap, API_TOKEN_FILE ": could not be written"), rc;
	}
	memcpy(out, line, API_TOKEN_LEN);
	out[API_TOKEN_LEN] = '\0';
	return 0;
}

int api_token_load_or_create(int dirfd, char *out, size_t cap, char *err, size_t err_cap)
{
	int rc;

	if (cap <= API_TOKEN_LEN)
		return snprintf(err, err_cap, "no room for the token"), -ENOSPC;
	rc = token_load(dirfd, out, err, err_cap);
	if (rc != -ENOENT)
		return rc;
	rc = token_create(dirfd, out, err, err_cap);
	/* Another process made it between the two calls: read theirs. */
	return rc == -EEXIST ? token_load(dirfd, out, err, err_cap) : rc;
}

/* ---- requests -------------------------------------------------------------------- */

/* Percent-decodes n bytes of a path segment or a query value into out
 * (RFC 3986 §2.1; a client may escape the ':' of a MAC or a time);
 * -EINVAL for a bad escape, a NUL or more than cap - 1 bytes. */
static int percent_decode(const char *s, size_t n, char *out, size_t cap)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (c == '%') {
			int hi = 2 > n - i - 1 ? -1 : hex_digit(s[i + 1]);
			int lo = hi < 0 ? -1 : hex_digit(s[i + 2]);

			if (lo < 0)
				return -EINVAL;
			c = (char)(hi << 4 | lo);
			i += 2;
		}
		if (c == '\0' || o + 1 >= cap)
			return -EINVAL;
		out[o++] = c;
	}
	out[o] = '\0';
	return 0;
}


static bool is_read(const struct api_request *rq)
{
	return rq->method == API_GET || rq->method == API_HEAD;
}

/* RFC 8259 §11: application/json, parameters allowed ("; charset=utf-8"). */
static bool is_json_type(const char *ct)
{
	size_t n = strlen("application/json");

	return ct && strncasecmp(ct, "application/json", n) == 0 &&
	       (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

/* Whether the body may be read: 413 and 415 otherwise. */
static bool body_acceptable(const struct api_request *rq, struct http_response *rsp)
{
	if (rq->body_too_large || rq->body_len > API_BODY_MAX) {
		respond_error(rsp, 413, NULL, "the body is larger than 64 KiB");
		return false;
	}
	if (!is_json_type(rq->content_type)) {
		respond_error(rsp, 415, NULL, "the body must be application/json");
		return false;
	}
	return true;
}

static const char *body_of(const struct api_request *rq)
{
	return rq->body ? rq->body : "";
}

/* A body the JSON reader refused: 413 for its size, else 400 with the field. */
static void respond_bad_body(struct http_response *rsp, int rc, const struct policy_error *err)
{
	if (rc == -E2BIG)
		respond_error(rsp, 413, err->field, err->msg);
	else if (rc == -ENOMEM)
		respond_empty(rsp, 500);
	else
		respond_error(rsp, 400, err->field, err->msg);
}

/* ---- profiles -------------------------------------------------------------------- */

static int write_profile_cb(void *ctx, const struct profile *p)
{
	policy_json_write_profile(ctx, p);
	return 0;
}

/* {"KEY":[...]}: every record that each writes into the list. */
static void respond_list(const struct api_ctx *ctx, const char *key,
			 int (*each)(struct store *s, struct json *j), struct http_response *rsp)
{
	struct out o;
	int rc;

	if (!out_open(&o)) {
		respond_empty(rsp, 500);
		return;
	}
	json_begin(&o.j, '{');
	json_key(&o.j, key);
	json_begin(&o.j, '[');
	rc = each(ctx->store, &o.j);
	json_end(&o.j, ']');
	json_end(&o.j, '}');
	out_close(&o, rsp, 200);
	if (rc < 0)
		respond_store_error(rsp, rc, NULL);
}

static int each_profile(struct store *s, struct json *j)
{
	return store_profiles_each(s, write_profile_cb, j);
}

static void profiles_list(const struct api_ctx *ctx, struct http_response *rsp)
{
	respond_list(ctx, "profiles", each_profile, rsp);
}

static void profile_get(const struct api_ctx *ctx, const char *name, struct http_response *rsp)
{
	struct profile p;
	struct out o;
	int rc = store_profile_get(ctx->store, name, &p);

	if (rc < 0) {
		respond_store_error(rsp, rc, NULL);
		return;
	}
	if (out_open(&o)) {
		policy_json_write_profile(&o.j, &p);
		out_close(&o, rsp, 200);
	} else {
		respond_empty(rsp, 500);
	}
	profile_free(&p);
}

static void profile_put(const struct api_ctx *ctx, const struct api_request *rq,
			const char *name, struct http_response *rsp)
{
	struct profile p;
	struct policy_error err = { 0 };
	bool created = false;
	int rc;

	if (!body_acceptable(rq, rsp))
		return;
	rc = policy_json_profile(body_of(rq), rq->body_len, name, &p, &err);
	if (rc < 0) {
		respond_bad_body(rsp, rc, &err);
	} else if ((rc = store_profile_put(ctx->store, &p, &created, &err)) < 0) {
		respond_store_error(rsp, rc, &err);
	} else {
		profile_get(ctx, name, rsp);
		if (rsp->status == 200 && created)
			rsp->status = 201;
	}
	profile_free(&p);
}

static void profile_delete(const struct api_ctx *ctx, const char *name,
			   struct http_response *rsp)
{
	struct policy_error err = { 0 };
	int rc = store_profile_delete(ctx->store, name, &err);

	if (rc < 0)
		respond_store_error(rsp, rc, &err);
	else
		respond_empty(rsp, 204);
}

static void profiles_route(const struct api_ctx *ctx, const struct api_request *rq,
			   const char *name, struct http_response *rsp)
{
	if (!name) {
		if (is_read(rq))
			profiles_list(ctx, rsp);
		else
			respond_method(rsp, "GET, HEAD");
	} else if (is_read(rq)) {
		profile_get(ctx, name, rsp);
	} else if (rq->method == API_PUT) {
		profile_put(ctx, rq, name, rsp);
	} else if (rq->method == API_DELETE) {
		profile_delete(ctx, name, rsp);
	} else {
		respond_method(rsp, "GET, HEAD, PUT, DELETE");
	}
}

/* ---- machines -------------------------------------------------------------------- */

static int write_machine_cb(void *ctx, const struct machine *m, const struct event *last)
{
	policy_json_write_machine(ctx, m, last);
	return 0;
}

static int each_machine(struct store *s, struct json *j)
{
	return store_machines_each(s, write_machine_cb, j);
}

static void machines_list(const struct api_ctx *ctx, struct http_response *rsp)
{
	respond_list(ctx, "machines", each_machine, rsp);
}

static void machine_get(const struct api_ctx *ctx, const uint8_t mac[6], unsigned status,
			struct http_response *rsp)
{
	struct machine m;
	struct event last;
	struct out o;
	int rc = store_machine_get(ctx->store, mac, &m), has_last = -ENOENT;

	if (rc == 0 && (has_last = store_event_last(ctx->store, mac, &last)) == -EIO)
		rc = -EIO;
	if (rc < 0) {
		respond_store_error(rsp, rc, NULL);
	} else if (out_open(&o)) {
		policy_json_write_machine(&o.j, &m, has_last == 0 ? &last : NULL);
		out_close(&o, rsp, status);
	} else {
		respond_empty(rsp, 500);
	}
}

/* A PUT replaces the admin's fields but keeps the next boot, which has
 * its own route (docs/api.md). */
static void machine_put(const struct api_ctx *ctx, const struct api_request *rq,
			const uint8_t mac[6], struct http_response *rsp)
{
	struct machine m, old;
	struct policy_error err = { 0 };
	bool created = false;
	int rc;

	if (!body_acceptable(rq, rsp))
		return;
	rc = policy_json_machine(body_of(rq), rq->body_len, mac, &m, &err);
	if (rc < 0) {
		respond_bad_body(rsp, rc, &err);
		return;
	}
	if (store_machine_get(ctx->store, mac, &old) == 0)
		memcpy(m.next_boot, old.next_boot, sizeof(m.next_boot));
	rc = store_machine_put(ctx->store, &m, &created, &err);
	if (rc < 0)
		respond_store_error(rsp, rc, &err);
	else
		machine_get(ctx, mac, created ? 201 : 200, rsp);
}

static void machine_delete(const struct api_ctx *ctx, const uint8_t mac[6],
			   struct http_response *rsp)
{
	int rc = store_machine_delete(ctx->store, mac);

	if (rc < 0)
		respond_store_error(rsp, rc, NULL);
	else
		respond_empty(rsp, 204);
}

static void next_boot_put(const struct api_ctx *ctx, const struct api_request *rq,
			  const uint8_t mac[6], struct http_response *rsp)
{
	char profile[POLICY_NAME_MAX];
	struct policy_error err = { 0 };
	int rc;

	if (!body_acceptable(rq, rsp))
		return;
	rc = policy_json_profile_ref(body_of(rq), rq->body_len, profile, &err);
	if (rc < 0) {
		respond_bad_body(rsp, rc, &err);
		return;
	}
	rc = store_next_boot_set(ctx->store, mac, profile, &err);
	if (rc < 0)
		respond_store_error(rsp, rc, &err);
	else
		machine_get(ctx, mac, 200, rsp);
}

static void next_boot_route(const struct api_ctx *ctx, const struct api_request *rq,
			    const uint8_t mac[6], struct http_response *rsp)
{
	int rc;

	if (is_read(rq)) {
		machine_get(ctx, mac, 200, rsp);
	} else if (rq->method == API_PUT) {
		next_boot_put(ctx, rq, mac, rsp);
	} else if (rq->method == API_DELETE) {
		rc = store_next_boot_clear(ctx->store, mac);
		if (rc < 0)
			respond_store_error(rsp, rc, NULL);
		else
			respond_empty(rsp, 204);
	} else {
		respond_method(rsp, "GET, HEAD, PUT, DELETE");
	}
}

static void machines_route(const struct api_ctx *ctx, const struct api_request *rq,
			   const char *id, const char *sub, struct http_response *rsp)
{
	uint8_t mac[6];

	if (!id) {
		if (is_read(rq))
			machines_list(ctx, rsp);
		else
			respond_method(rsp, "GET, HEAD");
		return;
	}
	if (policy_mac_parse(id, mac) < 0) {
		respond_error(rsp, rq->method == API_PUT ? 400 : 404, "mac",
			      "not a MAC address (aa:bb:cc:dd:ee:ff or aa-bb-cc-dd-ee-ff)");
		return;
	}
	if (sub && strcmp(sub, "next-boot") == 0)
		next_boot_route(ctx, rq, mac, rsp);
	else if (sub)
		respond_not_found(rsp);
	else if (is_read(rq))
		machine_get(ctx, mac, 200, rsp);
	else if (rq->method == API_PUT)
		machine_put(ctx, rq, mac, rsp);
	else if (rq->method == API_DELETE)
		machine_delete(ctx, mac, rsp);
	else
		respond_method(rsp, "GET, HEAD, PUT, DELETE");
}

/* ---- groups and the default ------------------------------------------------------ */

/* Groups are in memory (store_groups): the listing cannot fail. */
static int each_group(struct store *s, struct json *j)
{
	size_t n;
	const struct policy_group *g = store_groups(s, &n);

	for (size_t i = 0; i < n; i++)
		policy_json_write_group(j, &g[i]);
	return 0;
}

static void groups_list(const struct api_ctx *ctx, struct http_response *rsp)
{
	respond_list(ctx, "groups", each_group, rsp);
}

static void group_get(const struct api_ctx *ctx, const char *name, unsigned status,
		      struct http_response *rsp)
{
	struct policy_group g;
	struct out o;
	int rc = store_group_get(ctx->store, name, &g);

	if (rc < 0) {
		respond_store_error(rsp, rc, NULL);
	} else if (out_open(&o)) {
		policy_json_write_group(&o.j, &g);
		out_close(&o, rsp, status);
	} else {
		respond_empty(rsp, 500);
	}
}

static void group_put(const struct api_ctx *ctx, const struct api_request *rq, const char *name,
		      struct http_response *rsp)
{
	struct policy_group g;
	struct policy_error err = { 0 };
	bool created = false;
	int rc;

	if (!body_acceptable(rq, rsp))
		return;
	rc = policy_json_group(body_of(rq), rq->body_len, name, &g, &err);
	if (rc < 0)
		respond_bad_body(rsp, rc, &err);
	else if ((rc = store_group_put(ctx->store, &g, &created, &err)) < 0)
		respond_store_error(rsp, rc, &err);
	else
		group_get(ctx, name, created ? 201 : 200, rsp);
}

static void groups_route(const struct api_ctx *ctx, const struct api_request *rq,
			 const char *name, struct http_response *rsp)
{
	int rc;

	if (!name) {
		if (is_read(rq))
			groups_list(ctx, rsp);
		else
			respond_method(rsp, "GET, HEAD");
	} else if (is_read(rq)) {
		group_get(ctx, name, 200, rsp);
	} else if (rq->method == API_PUT) {
		group_put(ctx, rq, name, rsp);
	} else if (rq->method == API_DELETE) {
		rc = store_group_delete(ctx->store, name);
		if (rc < 0)
			respond_store_error(rsp, rc, NULL);
		else
			respond_empty(rsp, 204);
	} else {
		respond_method(rsp, "GET, HEAD, PUT, DELETE");
	}
}

static void default_get(const struct api_ctx *ctx, struct http_response *rsp)
{
	const char *name = store_default(ctx->store);
	struct out o;

	if (!out_open(&o)) {
		respond_empty(rsp, 500);
		return;
	}
	json_begin(&o.j, '{');
	json_key(&o.j, "profile");
	json_string(&o.j, name && name[0] ? name : NULL);
	json_end(&o.j, '}');
	out_close(&o, rsp, 200);
}

static void default_route(const struct api_ctx *ctx, const struct api_request *rq,
			  struct http_response *rsp)
{
	char profile[POLICY_NAME_MAX];
	struct policy_error err = { 0 };
	int rc;

	if (is_read(rq)) {
		default_get(ctx, rsp);
		return;
	}
	if (rq->method == API_DELETE) { /* no default: the template serves */
		if ((rc = store_default_set(ctx->store, "", &err)) < 0)
			respond_store_error(rsp, rc, &err);
		else
			respond_empty(rsp, 204);
		return;
	}
	if (rq->method != API_PUT) {
		respond_method(rsp, "GET, HEAD, PUT, DELETE");
		return;
	}
	if (!body_acceptable(rq, rsp))
		return;
	rc = policy_json_profile_ref(body_of(rq), rq->body_len, profile, &err);
	if (rc < 0)
		respond_bad_body(rsp, rc, &err);
	else if ((rc = store_default_set(ctx->store, profile, &err)) < 0)
		respond_store_error(rsp, rc, &err);
	else
		default_get(ctx, rsp);
}

/* ---- the catalog ----------------------------------------------------------------- */

static void catalog_image(struct json *j, const struct nb_image *img)
{
	json_begin(j, '{');
	json_key(j, "id");
	json_uint(j, img->id);
	json_key(j, "name");
	json_string(j, img->name);
	json_key(j, "bundle");
	json_string(j, img->bundle);
	json_key(j, "kind");
	json_uint(j, img->kind);
	json_key(j, "type");
	json_string(j, nb_type_name(img->type));
	json_key(j, "arch");
	json_begin(j, '[');
	for (size_t i = 0; i < img->archs.n; i++)
		json_string(j, img->archs.v[i]);
	json_end(j, ']');
	json_key(j, "default");
	json_bool(j, img->is_default);
	json_key(j, "enabled");
	json_bool(j, img->enabled);
	json_key(j, "booter");
	json_string(j, img->boot_file);
	json_end(j, '}');
}

/* A bundle left out of the catalog, or a warning about one (nbimage.h). */
static void catalog_problem(struct json *j, const struct nb_problem *p)
{
	json_begin(j, '{');
	json_key(j, "bundle");
	json_string(j, p->path);
	json_key(j, "severity");
	json_string(j, p->severity == NB_ERROR ? "error" : "warning");
	json_key(j, "error");
	json_string(j, p->message);
	json_end(j, '}');
}

/* The image BSDP offers as the default to a Mac every image applies to
 * (responder.c default_image: the first enabled one in catalog order,
 * which puts IsDefault images first). */
static void catalog_default(struct json *j, const struct nb_catalog *cat)
{
	json_key(j, "default");
	for (size_t i = 0; cat && i < cat->n_images; i++) {
		if (cat->images[i].enabled) {
			json_uint(j, cat->images[i].id);
			return;
		}
	}
	json_null(j);
}

static const char *image_name(const struct nb_catalog *cat, uint32_t id)
{
	for (size_t i = 0; cat && i < cat->n_images; i++)
		if (cat->images[i].id == id)
			return cat->images[i].name;
	return NULL;
}

struct selections {
	struct json *j;
	const struct nb_catalog *cat;
};

static int write_selection(void *ctx, const struct binding *bd)
{
	struct selections *sel = ctx;
	char mac[18], t[32];

	policy_mac_format(bd->mac, mac);
	policy_json_time(bd->updated, -1, t);
	json_begin(sel->j, '{');
	json_key(sel->j, "mac");
	json_string(sel->j, mac);
	json_key(sel->j, "image_id");
	json_uint(sel->j, bd->image_id);
	json_key(sel->j, "image");
	json_string(sel->j, image_name(sel->cat, bd->image_id));
	json_key(sel->j, "number");
	json_uint(sel->j, bd->number);
	json_key(sel->j, "time");
	json_string(sel->j, t);
	json_end(sel->j, '}');
	return 0;
}

/* Who SELECTed which image (bindings.h), the newest first. */
static int catalog_selections(const struct api_ctx *ctx, struct json *j)
{
	struct selections sel = { .j = j, .cat = ctx->catalog };
	int rc = 0;

	json_key(j, "selections");
	json_begin(j, '[');
	if (ctx->bindings)
		rc = bindings_newest(ctx->bindings, API_SELECTIONS_MAX, write_selection, &sel);
	json_end(j, ']');
	return rc;
}

static void catalog_get(const struct api_ctx *ctx, struct http_response *rsp)
{
	const struct nb_catalog *cat = ctx->catalog;
	size_t n_images = cat ? cat->n_images : 0, n_problems = cat ? cat->problems.n : 0;
	struct out o;
	int rc;

	if (!out_open(&o)) {
		respond_empty(rsp, 500);
		return;
	}
	json_begin(&o.j, '{');
	json_key(&o.j, "images");
	json_begin(&o.j, '[');
	for (size_t i = 0; i < n_images; i++)
		catalog_image(&o.j, &cat->images[i]);
	json_end(&o.j, ']');
	json_key(&o.j, "problems");
	json_begin(&o.j, '[');
	for (size_t i = 0; i < n_problems; i++)
		catalog_problem(&o.j, &cat->problems.v[i]);
	json_end(&o.j, ']');
	catalog_default(&o.j, cat);
	rc = catalog_selections(ctx, &o.j);
	json_end(&o.j, '}');
	out_close(&o, rsp, 200);
	if (rc < 0)
		respond_store_error(rsp, -EIO, NULL);
}

/* ---- the running daemon: transfers and the server ---------------------------------- */

static void transfers_get(const struct api_ctx *ctx, struct http_response *rsp)
{
	struct transfer_list l = { 0 };
	struct out o;

	if (ctx->live && ctx->live->transfers)
		ctx->live->transfers(ctx->live->ctx, transfer_list_add, &l);
	transfer_list_sort(&l);
	if (l.failed || !out_open(&o)) {
		transfer_list_free(&l);
		respond_empty(rsp, 500);
		return;
	}
	json_begin(&o.j, '{');
	json_key(&o.j, "transfers");
	json_begin(&o.j, '[');
	for (size_t i = 0; i < l.n && i < TRANSFER_LIST_MAX; i++)
		transfer_json_write(&o.j, &l.v[i]);
	json_end(&o.j, ']');
	json_end(&o.j, '}');
	out_close(&o, rsp, 200);
	transfer_list_free(&l);
}

static void put_count(struct json *j, const char *key, uint64_t v)
{
	json_key(j, key);
	json_uint(j, v);
}

static uint64_t sum(const uint64_t *v, size_t n)
{
	uint64_t total = 0;

	for (size_t i = 0; i < n; i++)
		total += v[i];
	return total;
}

static void server_bsdp_proxy(struct json *j, const struct metrics *m)
{
	json_key(j, "bsdp");
	json_begin(j, '{');
	put_count(j, "list", m->bsdp[METRICS_BSDP_LIST]);
	put_count(j, "select", m->bsdp[METRICS_BSDP_SELECT]);
	put_count(j, "failed", m->bsdp[METRICS_BSDP_FAILED]);
	put_count(j, "offer", m->bsdp[METRICS_BSDP_OFFER]);
	put_count(j, "ignored", m->bsdp[METRICS_BSDP_IGNORED]);
	json_end(j, '}');
	json_key(j, "proxy");
	json_begin(j, '{');
	put_count(j, "pxe", m->proxy[METRICS_PROXY_PXE]);
	put_count(j, "ipxe", m->proxy[METRICS_PROXY_IPXE]);
	put_count(j, "http_boot", m->proxy[METRICS_PROXY_HTTP_BOOT]);
	put_count(j, "ignored", m->proxy[METRICS_PROXY_IGNORED]);
	json_end(j, '}');
}

static void server_tftp(struct json *j, const struct api_server *sv)
{
	static const struct tftp_counters none;
	const struct tftp_counters *t = sv->metrics && sv->metrics->tftp ? sv->metrics->tftp : &none;

	json_key(j, "tftp");
	json_begin(j, '{');
	put_count(j, "started", t->started);
	put_count(j, "completed", t->completed);
	/* Every way a transfer ends badly but by the client's silence. */
	put_count(j, "failed", t->failed + t->client_errors);
	put_count(j, "timed_out", t->timed_out);
	put_count(j, "bytes_sent", sv->tftp_bytes_sent);
	put_count(j, "active", t->active);
	json_end(j, '}');
}

static void server_http(struct json *j, const struct api_server *sv)
{
	const struct metrics *m = sv->metrics;
	uint64_t requests = 0, errors = 0;

	for (size_t r = 0; r < METRICS_ROUTE_COUNT; r++) {
		requests += sum(m->http[r], METRICS_STATUS_CLASSES);
		errors += m->http[r][4];
	}
	json_key(j, "http");
	json_begin(j, '{');
	put_count(j, "requests", requests);
	put_count(j, "bytes_sent", sum(m->http_bytes, METRICS_ROUTE_COUNT));
	put_count(j, "script", sum(m->http[METRICS_ROUTE_SCRIPT], METRICS_STATUS_CLASSES));
	put_count(j, "file", sum(m->http[METRICS_ROUTE_FILE], METRICS_STATUS_CLASSES));
	put_count(j, "api", sum(m->http[METRICS_ROUTE_API], METRICS_STATUS_CLASSES));
	put_count(j, "errors_5xx", errors);
	put_count(j, "connections", sv->http_connections);
	json_end(j, '}');
}

static void server_services(struct json *j, const struct api_server *sv)
{
	json_key(j, "services");
	json_begin(j, '{');
	json_key(j, "bsdp");
	json_bool(j, sv->bsdp);
	json_key(j, "proxy");
	json_string(j, sv->proxy ? sv->proxy : "off");
	json_key(j, "tftp");
	json_bool(j, sv->tftp);
	json_key(j, "http");
	json_bool(j, sv->http);
	json_end(j, '}');
}

static void server_gauges(struct json *j, const struct metrics_gauges *g)
{
	json_key(j, "gauges");
	json_begin(j, '{');
	put_count(j, "catalog_images", g->catalog_images);
	put_count(j, "catalog_problems", g->catalog_problems);
	put_count(j, "machines", g->machines);
	put_count(j, "bindings", g->bindings);
	put_count(j, "boot_records_queued", g->records_queued);
	json_key(j, "database_up");
	json_bool(j, g->database_up);
	json_end(j, '}');
}

static void put_time_s(struct json *j, const char *key, int64_t t)
{
	char s[32];

	policy_json_time(t, -1, s);
	json_key(j, key);
	json_string(j, s);
}

static void server_get(const struct api_ctx *ctx, const struct api_request *rq,
		       struct http_response *rsp)
{
	static const struct metrics zero;
	struct api_server sv = { .started = rq->now, .now = rq->now };
	struct out o;

	if (ctx->live && ctx->live->server)
		ctx->live->server(ctx->live->ctx, &sv);
	if (!sv.metrics)
		sv.metrics = &zero;
	if (!out_open(&o)) {
		respond_empty(rsp, 500);
		return;
	}
	json_begin(&o.j, '{');
	json_key(&o.j, "version");
	json_string(&o.j, sv.version ? sv.version : "");
	put_time_s(&o.j, "started", sv.started);
	put_time_s(&o.j, "now", sv.now);
	put_count(&o.j, "uptime_s", sv.now > sv.started ? (uint64_t)(sv.now - sv.started) : 0);
	server_services(&o.j, &sv);
	json_key(&o.j, "counters");
	json_begin(&o.j, '{');
	server_bsdp_proxy(&o.j, sv.metrics);
	server_tftp(&o.j, &sv);
	server_http(&o.j, &sv);
	put_count(&o.j, "events_streams", sv.events_streams);
	json_end(&o.j, '}');
	server_gauges(&o.j, &sv.gauges);
	json_end(&o.j, '}');
	out_close(&o, rsp, 200);
}

/* ---- events ---------------------------------------------------------------------- */

struct events_query {
	bool has_mac;
	uint8_t mac[6];
	int64_t since_us;
	unsigned limit;
};

static int digits_at(const char *s, size_t n, int *out)
{
	*out = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		*out = *out * 10 + (s[i] - '0');
	}
	return 0;
}

/* The fraction after the seconds, as microseconds (digits past the
 * sixth are dropped); its length in *len. */
static int fraction_us(const char *s, size_t *len, int64_t *us)
{
	int64_t scale = 100000;

	*len = 0;
	*us = 0;
	if (s[0] != '.')
		return 0;
	for (*len = 1; s[*len] >= '0' && s[*len] <= '9'; (*len)++, scale /= 10)
		*us += scale * (s[*len] - '0');
	return *len > 1 ? 0 : -EINVAL;
}

/* The zone: "Z" or "+HH:MM" / "-HH:MM", as seconds east of UTC. */
static int zone_offset(const char *s, int64_t *east)
{
	int h, m;

	*east = 0;
	if ((s[0] == 'Z' || s[0] == 'z') && s[1] == '\0')
		return 0;
	if ((s[0] != '+' && s[0] != '-') || strlen(s) != 6 || s[3] != ':' ||
	    digits_at(s + 1, 2, &h) < 0 || digits_at(s + 4, 2, &m) < 0 || h > 23 || m > 59)
		return -EINVAL;
	*east = (s[0] == '-' ? -1 : 1) * (h * 3600 + m * 60);
	return 0;
}

/* RFC 3339 §5.6 date-time, e.g. "2026-12-01T22:00:00.123456Z". */
static int rfc3339_parse(const char *s, int64_t *us)
{
	struct tm tm = { 0 };
	int f[6];
	size_t flen;
	int64_t frac, east;
	static const size_t at[6] = { 0, 5, 8, 11, 14, 17 }, len[6] = { 4, 2, 2, 2, 2, 2 };

	if (strlen(s) < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') ||
	    s[13] != ':' || s[16] != ':')
		return -EINVAL;
	for (int i = 0; i < 6; i++)
		if (digits_at(s + at[i], len[i], &f[i]) < 0)
			return -EINVAL;
	if (f[1] < 1 || f[1] > 12 || f[2] < 1 || f[2] > 31 || f[3] > 23 || f[4] > 59 || f[5] > 60)
		return -EINVAL;
	if (fraction_us(s + 19, &flen, &frac) < 0 || zone_offset(s + 19 + flen, &east) < 0)
		return -EINVAL;
	tm = (struct tm){ .tm_year = f[0] - 1900, .tm_mon = f[1] - 1, .tm_mday = f[2],
			  .tm_hour = f[3], .tm_min = f[4], .tm_sec = f[5] };
	*us = ((int64_t)timegm(&tm) - east) * 1000000 + frac;
	return 0;
}

static int query_param(struct events_query *q, const char *key, size_t key_len,
		       const char *val, struct policy_error *err)
{
	char *end;
	unsigned long v;

	if (key_len == 3 && memcmp(key, "mac", 3) == 0) {
		q->has_mac = policy_mac_parse(val, q->mac) == 0;
		if (!q->has_mac)
			return snprintf(err->msg, sizeof(err->msg), "not a MAC address"), -EINVAL;
	} else if (key_len == 5 && memcmp(key, "since", 5) == 0) {
		if (rfc3339_parse(val, &q->since_us) < 0)
			return snprintf(err->msg, sizeof(err->msg),
					"not an RFC 3339 time (2026-12-01T22:00:00Z)"), -EINVAL;
	} else if (key_len == 5 && memcmp(key, "limit", 5) == 0) {
		v = strtoul(val, &end, 10);
		if (!val[0] || *end || val[0] == '-' || v == 0 || v > API_EVENTS_LIMIT_MAX)
			return snprintf(err->msg, sizeof(err->msg), "an integer from 1 to %d",
					API_EVENTS_LIMIT_MAX), -EINVAL;
		q->limit = (unsigned)v;
	} else {
		return snprintf(err->msg, sizeof(err->msg), "unknown parameter"), -EINVAL;
	}
	return 0;
}

/* ?mac=MAC&since=RFC3339&limit=N; err->field names a bad parameter. */
static int events_query_parse(const char *query, struct events_query *q,
			      struct policy_error *err)
{
	*q = (struct events_query){ .limit = API_EVENTS_LIMIT_DEFAULT };
	for (const char *p = query ? query : ""; *p;) {
		size_t n = strcspn(p, "&"), k = strcspn(p, "=");
		char val[64];

		if (k >= n)
			k = n;
		snprintf(err->field, sizeof(err->field), "%.*s", (int)(k > 32 ? 32 : k), p);
		if (n > 0 && (k == n || percent_decode(p + k + 1, n - k - 1, val, sizeof(val)) < 0))
			return snprintf(err->msg, sizeof(err->msg), "not name=value"), -EINVAL;
		if (n > 0 && query_param(q, p, k, val, err) < 0)
			return -EINVAL;
		p += n + (p[n] == '&');
	}
	return 0;
}

static int write_event_cb(void *ctx, const struct event *e)
{
	policy_json_write_event(ctx, e);
	return 0;
}

static void events_get(const struct api_ctx *ctx, const struct api_request *rq,
		       struct http_response *rsp)
{
	struct events_query q;
	struct policy_error err = { 0 };
	struct out o;
	int rc;

	if (events_query_parse(rq->query, &q, &err) < 0) {
		respond_error(rsp, 400, err.field, err.msg);
		return;
	}
	if (!out_open(&o)) {
		respond_empty(rsp, 500);
		return;
	}
	json_begin(&o.j, '{');
	json_key(&o.j, "events");
	json_begin(&o.j, '[');
	rc = store_events_each(ctx->store, q.has_mac ? q.mac : NULL, q.since_us, q.limit,
			       write_event_cb, &o.j);
	json_end(&o.j, ']');
	json_end(&o.j, '}');
	out_close(&o, rsp, 200);
	if (rc < 0)
		respond_store_error(rsp, rc, NULL);
}

int api_sse_event(const struct event *e, char **out, size_t *len)
{
	struct out o;
	bool failed;

	if (!out_open(&o))
		return -ENOMEM;
	/* The writer escapes every control byte, so the data line holds no
	 * newline that would end the event early. */
	fprintf(o.f, "id: %lld\nevent: %s\ndata: ", (long long)e->id, event_kind_name(e->kind));
	policy_json_write_event(&o.j, e);
	fputs("\n\n", o.f);
	failed = ferror(o.f) != 0;
	if (fclose(o.f) != 0 || failed) {
		free(o.buf);
		return -ENOMEM;
	}
	*out = o.buf;
	*len = o.len;
	return 0;
}

/* The replay of a stream: events as api_sse_event writes them, up to
 * API_REPLAY_BYTES. */
struct replay {
	FILE *f;
	size_t *len;
};

static int replay_event(void *ctx, const struct event *e)
{
	struct replay *r = ctx;
	char *text;
	size_t n;

	if (api_sse_event(e, &text, &n) < 0)
		return -ENOMEM;
	fflush(r->f);
	if (n > API_REPLAY_BYTES - *r->len) {
		free(text);
		return 1; /* the rest is GET /api/v1/events's */
	}
	fwrite(text, 1, n, r->f);
	free(text);
	return 0;
}

/* Last-Event-ID is what we sent as id: a decimal event id. */
static bool event_id_parse(const char *s, int64_t *id)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n > 18 || strspn(s, "0123456789") != n)
		return false;
	*id = strtoll(s, NULL, 10);
	return true;
}

void api_stream_open(const struct api_ctx *ctx, const char *last_event_id,
		     struct http_response *rsp)
{
	struct out o;
	struct replay r = { .len = &o.len };
	int64_t after;
	int rc;

	*rsp = (struct http_response){ .status = 200, .event_stream = true, .fd = -1 };
	if (!event_id_parse(last_event_id, &after) || !out_open(&o))
		return;
	r.f = o.f;
	rc = store_events_after(ctx->store, after, API_REPLAY_MAX, replay_event, &r);
	if (fclose(o.f) != 0 || rc < 0 || o.len == 0) {
		free(o.buf); /* a stream without its replay beats none */
		return;
	}
	rsp->body = HTTP_BODY_BUFFER;
	rsp->buf = o.buf;
	rsp->buf_len = o.len;
}

/* ---- the router ------------------------------------------------------------------ */

#define SEGMENT_MAX 128

/* Splits the path after /api/v1/ into at most three segments, each
 * percent-decoded; false for more, an empty one, one too long or a bad
 * escape (all 404). */
static bool path_segments(const char *path, char seg[3][SEGMENT_MAX], size_t *n)
{
	const char *p = path + strlen(API_PREFIX);

	for (*n = 0; *p; (*n)++) {
		size_t len = strcspn(p, "/");

		if (*n == 3 || len == 0 || percent_decode(p, len, seg[*n], SEGMENT_MAX) < 0 ||
		    strchr(seg[*n], '/'))
			return false;
		p += len;
		if (*p == '/' && *++p == '\0')
			return false;
	}
	return *n > 0;
}

static bool is_read_only(const char *what)
{
	static const char *const names[] = { "catalog", "events", "transfers", "server" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(what, names[i]) == 0)
			return true;
	return false;
}

static void read_only_route(const struct api_ctx *ctx, const struct api_request *rq,
			    const char *what, struct http_response *rsp)
{
	if (!is_read(rq))
		respond_method(rsp, "GET, HEAD");
	else if (strcmp(what, "catalog") == 0)
		catalog_get(ctx, rsp);
	else if (strcmp(what, "transfers") == 0)
		transfers_get(ctx, rsp);
	else if (strcmp(what, "server") == 0)
		server_get(ctx, rq, rsp);
	else
		events_get(ctx, rq, rsp);
}

static void dispatch(const struct api_ctx *ctx, const struct api_request *rq,
		     char seg[3][SEGMENT_MAX], size_t n, struct http_response *rsp)
{
	const char *id = n > 1 ? seg[1] : NULL, *sub = n > 2 ? seg[2] : NULL;

	if (strcmp(seg[0], "machines") == 0)
		machines_route(ctx, rq, id, sub, rsp);
	else if (sub)
		respond_not_found(rsp);
	else if (strcmp(seg[0], "profiles") == 0)
		profiles_route(ctx, rq, id, rsp);
	else if (strcmp(seg[0], "groups") == 0)
		groups_route(ctx, rq, id, rsp);
	else if (id)
		respond_not_found(rsp);
	else if (strcmp(seg[0], "default") == 0)
		default_route(ctx, rq, rsp);
	else if (is_read_only(seg[0]))
		read_only_route(ctx, rq, seg[0], rsp);
	else
		respond_not_found(rsp);
}

void api_route(const struct api_ctx *ctx, const struct api_request *rq,
	       struct http_response *rsp)
{
	char seg[3][SEGMENT_MAX];
	size_t n;

	*rsp = (struct http_response){ .fd = -1, .no_store = true };
	if (!api_authorized(ctx, rq->authorization)) {
		respond_error(rsp, 401, NULL, "an Authorization: Bearer token is required");
		rsp->www_authenticate = true;
		return;
	}
	if (strncmp(rq->path, API_PREFIX, strlen(API_PREFIX)) != 0 ||
	    !path_segments(rq->path, seg, &n)) {
		respond_not_found(rsp);
		return;
	}
	store_sync(ctx->store);
	dispatch(ctx, rq, seg, n, rsp);
}
