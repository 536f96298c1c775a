/* SPDX-License-Identifier: MIT */
/* JSON <-> boot-policy records; see policy_json.h. */
#include "policy_json.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A body being read: the parsed tree and where errors go. */
struct reader {
	struct json_doc doc;
	struct policy_error *err;
};

__attribute__((format(printf, 3, 4)))
static int fail(struct reader *r, const char *field, const char *fmt, ...)
{
	va_list ap;

	snprintf(r->err->field, sizeof(r->err->field), "%s", field);
	va_start(ap, fmt);
	vsnprintf(r->err->msg, sizeof(r->err->msg), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* Parses the body; its root must be an object. */
static int reader_open(struct reader *r, const char *body, size_t n, struct policy_error *err)
{
	struct json_parse_error pe;
	int rc;

	r->err = err;
	*err = (struct policy_error){ 0 };
	rc = json_parse(body, n, &r->doc, &pe);
	if (rc < 0) {
		snprintf(err->msg, sizeof(err->msg), "the body is not JSON: %s at byte %zu", pe.msg,
			 pe.offset);
		return rc;
	}
	if (json_root(&r->doc)->type != JSON_OBJECT)
		return fail(r, "", "the body must be a JSON object");
	return 0;
}

/* Every member of obj must be one of the NULL-terminated names; the
 * error names the one that is not ("selector.vendor"). */
static int known_fields(struct reader *r, const struct json_node *obj, const char *prefix,
			const char *const *names)
{
	char field[sizeof(r->err->field)];

	for (const struct json_node *c = json_first(&r->doc, obj); c; c = json_next(&r->doc, c)) {
		size_t i = 0;

		while (names[i] && (strlen(names[i]) != c->key_len ||
				    memcmp(names[i], c->key, c->key_len) != 0))
			i++;
		if (names[i])
			continue;
		snprintf(field, sizeof(field), "%s%s%s", prefix, prefix[0] ? "." : "", c->key);
		return fail(r, field, "unknown field");
	}
	return 0;
}

/* A string member into a fixed field; absent leaves dst as it is.  Its
 * content is the validators' (policy.c); here only type and length. */
static int get_text_at(struct reader *r, const struct json_node *v, const char *field,
		       char *dst, size_t cap)
{
	const char *s;
	size_t len;

	if (!v)
		return 0;
	if (json_string_get(v, &s, &len) < 0)
		return fail(r, field, "must be a string, not %s", json_type_name(v->type));
	if (strlen(s) != len)
		return fail(r, field, "holds a NUL character");
	if (len >= cap)
		return fail(r, field, "longer than %zu bytes", cap - 1);
	memcpy(dst, s, len + 1);
	return 0;
}

static int get_text(struct reader *r, const struct json_node *obj, const char *key,
		    const char *field, char *dst, size_t cap)
{
	return get_text_at(r, json_get(&r->doc, obj, key), field, dst, cap);
}

/* An array of strings into rows of a fixed table: "initrds[2]". */
static int get_strings(struct reader *r, const struct json_node *obj, const char *key,
		       char *rows, size_t row_cap, size_t max, size_t *n)
{
	const struct json_node *a = json_get(&r->doc, obj, key);
	char field[32];
	size_t i = 0;
	int rc;

	if (!a)
		return 0;
	if (a->type != JSON_ARRAY)
		return fail(r, key, "must be an array of strings, not %s", json_type_name(a->type));
	if (a->count > max)
		return fail(r, key, "more than %zu entries", max);
	for (const struct json_node *c = json_first(&r->doc, a); c; c = json_next(&r->doc, c), i++) {
		snprintf(field, sizeof(field), "%s[%zu]", key, i);
		if ((rc = get_text_at(r, c, field, rows + i * row_cap, row_cap)) < 0)
			return rc;
	}
	*n = i;
	return 0;
}

/* An integer member in [lo, hi]; absent leaves *out. */
static int get_int(struct reader *r, const struct json_node *obj, const char *key, int64_t lo,
		   int64_t hi, int64_t *out)
{
	const struct json_node *v = json_get(&r->doc, obj, key);
	int64_t x;

	if (!v)
		return 0;
	if (v->type != JSON_NUMBER)
		return fail(r, key, "must be an integer, not %s", json_type_name(v->type));
	if (json_int64(v, &x) < 0 || x < lo || x > hi)
		return fail(r, key, "must be an integer from %lld to %lld", (long long)lo,
			    (long long)hi);
	*out = x;
	return 0;
}

static int get_local(struct reader *r, const struct json_node *obj, const char *field,
		     enum local_method *m)
{
	char s[16] = "";
	int rc = get_text(r, obj, "local", field, s, sizeof(s));

	if (rc < 0 || !json_get(&r->doc, obj, "local"))
		return rc;
	if (local_method_parse(s, m) < 0)
		return fail(r, field, "not one of auto, exit, sanboot, refuse, reboot");
	return 0;
}

/* {"key":"value",...} into labels. */
static int get_labels(struct reader *r, const struct json_node *obj, const char *field,
		      struct label *l, size_t *n)
{
	const struct json_node *o = json_get(&r->doc, obj, "labels");
	size_t i = 0;
	int rc;

	if (!o)
		return 0;
	if (o->type != JSON_OBJECT)
		return fail(r, field, "must be an object of strings, not %s", json_type_name(o->type));
	if (o->count > POLICY_LABELS_MAX)
		return fail(r, field, "more than %d labels", POLICY_LABELS_MAX);
	for (const struct json_node *c = json_first(&r->doc, o); c; c = json_next(&r->doc, c), i++) {
		if (strlen(c->key) != c->key_len || c->key_len >= POLICY_LABEL_KEY_MAX)
			return fail(r, field, "a key is longer than %d bytes or holds a NUL",
				    POLICY_LABEL_KEY_MAX - 1);
		memcpy(l[i].key, c->key, c->key_len + 1);
		if ((rc = get_text_at(r, c, field, l[i].value, sizeof(l[i].value))) < 0)
			return rc;
	}
	*n = i;
	return 0;
}

/* The record's name from the path; a "name" in the body must agree. */
static int get_name(struct reader *r, const struct json_node *obj, const char *name,
		    char dst[POLICY_NAME_MAX])
{
	char body_name[POLICY_NAME_MAX] = "";
	int rc;

	snprintf(dst, POLICY_NAME_MAX, "%s", name);
	if (strlen(name) >= POLICY_NAME_MAX)
		return fail(r, "name", "longer than %d bytes", POLICY_NAME_MAX - 1);
	rc = get_text(r, obj, "name", "name", body_name, sizeof(body_name));
	if (rc == 0 && json_get(&r->doc, obj, "name") && strcmp(body_name, name) != 0)
		return fail(r, "name", "\"%s\" is not the name in the path", body_name);
	return rc;
}

/* ---- profiles -------------------------------------------------------------------- */

static const char *const profile_fields[] = {
	"name", "kind", "description", "local", "kernel", "initrds", "cmdline", "chain",
	"items", "default", "timeout", "template", NULL,
};

static int get_kind(struct reader *r, const struct json_node *obj, enum profile_kind *k)
{
	char s[16] = "";
	int rc = get_text(r, obj, "kind", "kind", s, sizeof(s));

	if (rc < 0)
		return rc;
	if (!json_get(&r->doc, obj, "kind"))
		return fail(r, "kind", "a profile needs a kind");
	if (profile_kind_parse(s, k) < 0)
		return fail(r, "kind", "not one of local, linux, chain, menu, shell, script");
	return 0;
}

static int get_template(struct reader *r, const struct json_node *obj, struct profile *p)
{
	const struct json_node *v = json_get(&r->doc, obj, "template");
	const char *s;
	size_t len;

	if (!v)
		return 0;
	if (json_string_get(v, &s, &len) < 0)
		return fail(r, "template", "must be a string, not %s", json_type_name(v->type));
	if (strlen(s) != len)
		return fail(r, "template", "holds a NUL character");
	p->template = strdup(s);
	return p->template ? 0 : -ENOMEM;
}

static int profile_fields_read(struct reader *r, const struct json_node *o, struct profile *p)
{
	int64_t timeout = 0;
	int rc;

	if ((rc = known_fields(r, o, "", profile_fields)) < 0 || (rc = get_kind(r, o, &p->kind)) < 0 ||
	    (rc = get_text(r, o, "description", "description", p->description,
			   sizeof(p->description))) < 0 ||
	    (rc = get_local(r, o, "local", &p->local)) < 0 ||
	    (rc = get_text(r, o, "kernel", "kernel", p->kernel, sizeof(p->kernel))) < 0 ||
	    (rc = get_strings(r, o, "initrds", p->initrds[0], sizeof(p->initrds[0]),
			      POLICY_INITRDS_MAX, &p->n_initrds)) < 0 ||
	    (rc = get_text(r, o, "cmdline", "cmdline", p->cmdline, sizeof(p->cmdline))) < 0 ||
	    (rc = get_text(r, o, "chain", "chain", p->chain, sizeof(p->chain))) < 0 ||
	    (rc = get_strings(r, o, "items", p->items[0], sizeof(p->items[0]), POLICY_ITEMS_MAX,
			      &p->n_items)) < 0 ||
	    (rc = get_text(r, o, "default", "default", p->default_item,
			   sizeof(p->default_item))) < 0 ||
	    (rc = get_int(r, o, "timeout", 0, POLICY_MENU_TIMEOUT_MAX, &timeout)) < 0)
		return rc;
	p->timeout = (unsigned)timeout;
	return get_template(r, o, p);
}

int policy_json_profile(const char *body, size_t n, const char *name, struct profile *out,
			struct policy_error *err)
{
	struct reader r;
	int rc;

	*out = (struct profile){ 0 };
	rc = reader_open(&r, body, n, err);
	if (rc == 0)
		rc = get_name(&r, json_root(&r.doc), name, out->name);
	if (rc == 0)
		rc = profile_fields_read(&r, json_root(&r.doc), out);
	if (rc == 0)
		rc = profile_validate(out, err);
	json_doc_free(&r.doc);
	return rc;
}

/* ---- machines -------------------------------------------------------------------- */

static const char *const machine_fields[] = {
	"mac", "profile", "hostname", "labels", "local", "image", NULL,
};

static int get_mac(struct reader *r, const struct json_node *o, const uint8_t mac[6])
{
	char s[32] = "";
	uint8_t body_mac[6];
	int rc = get_text(r, o, "mac", "mac", s, sizeof(s));

	if (rc < 0 || !json_get(&r->doc, o, "mac"))
		return rc;
	if (policy_mac_parse(s, body_mac) < 0)
		return fail(r, "mac", "not a MAC address (aa:bb:cc:dd:ee:ff)");
	if (memcmp(body_mac, mac, 6) != 0)
		return fail(r, "mac", "not the MAC address in the path");
	return 0;
}

int policy_json_machine(const char *body, size_t n, const uint8_t mac[6], struct machine *out,
			struct policy_error *err)
{
	struct reader r;
	const struct json_node *o;
	int rc;

	*out = (struct machine){ 0 };
	memcpy(out->mac, mac, 6);
	if ((rc = reader_open(&r, body, n, err)) < 0)
		goto done;
	o = json_root(&r.doc);
	if ((rc = known_fields(&r, o, "", machine_fields)) < 0 || (rc = get_mac(&r, o, mac)) < 0 ||
	    (rc = get_text(&r, o, "profile", "profile", out->profile, sizeof(out->profile))) < 0 ||
	    (rc = get_text(&r, o, "hostname", "hostname", out->hostname,
			   sizeof(out->hostname))) < 0 ||
	    (rc = get_labels(&r, o, "labels", out->labels, &out->n_labels)) < 0 ||
	    (rc = get_local(&r, o, "local", &out->local)) < 0 ||
	    (rc = get_text(&r, o, "image", "image", out->image, sizeof(out->image))) < 0)
		goto done;
	rc = machine_validate(out, err);
done:
	json_doc_free(&r.doc);
	return rc;
}

/* ---- groups ---------------------------------------------------------------------- */

static const char *const group_fields[] = {
	"name", "selector", "profile", "priority", "local", "image", NULL,
};
static const char *const selector_fields[] = { "mac_prefix", "model", "arch", "labels", NULL };

static int get_selector(struct reader *r, const struct json_node *g, struct selector *s)
{
	const struct json_node *o = json_get(&r->doc, g, "selector");
	char prefix[32] = "";
	int rc;

	if (!o)
		return 0;
	if (o->type != JSON_OBJECT)
		return fail(r, "selector", "must be an object, not %s", json_type_name(o->type));
	if ((rc = known_fields(r, o, "selector", selector_fields)) < 0 ||
	    (rc = get_text(r, o, "mac_prefix", "selector.mac_prefix", prefix, sizeof(prefix))) < 0 ||
	    (rc = get_text(r, o, "model", "selector.model", s->model, sizeof(s->model))) < 0 ||
	    (rc = get_text(r, o, "arch", "selector.arch", s->arch, sizeof(s->arch))) < 0 ||
	    (rc = get_labels(r, o, "selector.labels", s->labels, &s->n_labels)) < 0)
		return rc;
	if (prefix[0] && policy_mac_prefix_parse(prefix, s->mac_prefix, &s->mac_prefix_len) < 0)
		return fail(r, "selector.mac_prefix", "not 1 to 6 octets (52:54:00)");
	return 0;
}

int policy_json_group(const char *body, size_t n, const char *name, struct policy_group *out,
		      struct policy_error *err)
{
	struct reader r;
	const struct json_node *o;
	int64_t priority = 0;
	int rc;

	*out = (struct policy_group){ 0 };
	if ((rc = reader_open(&r, body, n, err)) < 0)
		goto done;
	o = json_root(&r.doc);
	if ((rc = known_fields(&r, o, "", group_fields)) < 0 ||
	    (rc = get_name(&r, o, name, out->name)) < 0 ||
	    (rc = get_selector(&r, o, &out->selector)) < 0 ||
	    (rc = get_text(&r, o, "profile", "profile", out->profile, sizeof(out->profile))) < 0 ||
	    (rc = get_int(&r, o, "priority", -1000000, 1000000, &priority)) < 0 ||
	    (rc = get_local(&r, o, "local", &out->local)) < 0 ||
	    (rc = get_text(&r, o, "image", "image", out->image, sizeof(out->image))) < 0)
		goto done;
	out->priority = (int)priority;
	rc = group_validate(out, err);
done:
	json_doc_free(&r.doc);
	return rc;
}

int policy_json_profile_ref(const char *body, size_t n, char out[POLICY_NAME_MAX],
			    struct policy_error *err)
{
	static const char *const fields[] = { "profile", NULL };
	struct reader r;
	const struct json_node *o;
	int rc;

	out[0] = '\0';
	if ((rc = reader_open(&r, body, n, err)) < 0)
		goto done;
	o = json_root(&r.doc);
	if ((rc = known_fields(&r, o, "", fields)) < 0 ||
	    (rc = get_text(&r, o, "profile", "profile", out, POLICY_NAME_MAX)) < 0)
		goto done;
	if (!json_get(&r.doc, o, "profile"))
		rc = fail(&r, "profile", "a profile name is required");
	else if ((rc = policy_name_valid(out, err)) < 0)
		snprintf(err->field, sizeof(err->field), "profile");
done:
	json_doc_free(&r.doc);
	return rc;
}

/* ---- writing ---------------------------------------------------------------------- */

void policy_json_time(int64_t unix_seconds, int micros, char out[32])
{
	time_t t = (time_t)unix_seconds;
	struct tm tm;
	size_t n;

	if (!gmtime_r(&t, &tm)) {
		snprintf(out, 32, "1970-01-01T00:00:00Z");
		return;
	}
	n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + n, 32 - n, micros >= 0 ? ".%06dZ" : "Z", micros);
}

static void put_str(struct json *j, const char *key, const char *v)
{
	json_key(j, key);
	json_string(j, v);
}

static void put_labels(struct json *j, const struct label *l, size_t n)
{
	json_key(j, "labels");
	json_begin(j, '{');
	for (size_t i = 0; i < n; i++)
		put_str(j, l[i].key, l[i].value);
	json_end(j, '}');
}

static void put_names(struct json *j, const char *key, const char *rows, size_t row_cap,
		      size_t n)
{
	json_key(j, key);
	json_begin(j, '[');
	for (size_t i = 0; i < n; i++)
		json_string(j, rows + i * row_cap);
	json_end(j, ']');
}

/* Only the fields of the profile's kind: what a PUT of it takes back. */
static void put_kind_fields(struct json *j, const struct profile *p)
{
	switch (p->kind) {
	case PROFILE_LOCAL: put_str(j, "local", local_method_name(p->local)); break;
	case PROFILE_LINUX:
		put_str(j, "kernel", p->kernel);
		put_names(j, "initrds", p->initrds[0], sizeof(p->initrds[0]), p->n_initrds);
		put_str(j, "cmdline", p->cmdline);
		break;
	case PROFILE_CHAIN: put_str(j, "chain", p->chain); break;
	case PROFILE_MENU:
		put_names(j, "items", p->items[0], sizeof(p->items[0]), p->n_items);
		put_str(j, "default", p->default_item);
		json_key(j, "timeout");
		json_uint(j, p->timeout);
		break;
	case PROFILE_SCRIPT: put_str(j, "template", p->template ? p->template : ""); break;
	default: break;
	}
}

void policy_json_write_profile(struct json *j, const struct profile *p)
{
	json_begin(j, '{');
	put_str(j, "name", p->name);
	put_str(j, "kind", profile_kind_name(p->kind));
	put_str(j, "description", p->description);
	put_kind_fields(j, p);
	json_end(j, '}');
}

static void put_time(struct json *j, const char *key, int64_t t)
{
	char s[32];

	json_key(j, key);
	if (t <= 0) {
		json_null(j);
		return;
	}
	policy_json_time(t, -1, s);
	json_string(j, s);
}

static void put_opt(struct json *j, const char *key, const char *v)
{
	put_str(j, key, v[0] ? v : NULL);
}

void policy_json_time_us(int64_t unix_us, char out[32])
{
	int64_t sec = unix_us / 1000000, us = unix_us % 1000000;

	if (us < 0) /* C division truncates toward zero */
		sec--, us += 1000000;
	policy_json_time(sec, (int)us, out);
}

static void put_event_time(struct json *j, const char *key, int64_t time_us)
{
	char t[32];

	policy_json_time_us(time_us, t);
	put_str(j, key, t);
}

static void put_last_event(struct json *j, const struct event *e)
{
	json_key(j, "last_event");
	if (!e) {
		json_null(j);
		return;
	}
	json_begin(j, '{');
	put_str(j, "kind", event_kind_name(e->kind));
	put_event_time(j, "time", e->time_us);
	json_key(j, "ok");
	json_bool(j, e->ok);
	put_str(j, "detail", e->detail);
	put_str(j, "rule", e->rule);
	json_end(j, '}');
}

void policy_json_write_machine(struct json *j, const struct machine *m,
			       const struct event *last)
{
	char mac[18], ip[INET_ADDRSTRLEN];

	policy_mac_format(m->mac, mac);
	json_begin(j, '{');
	put_str(j, "mac", mac);
	put_str(j, "profile", m->profile);
	put_str(j, "hostname", m->hostname);
	put_labels(j, m->labels, m->n_labels);
	put_str(j, "local", local_method_name(m->local));
	put_str(j, "image", m->image);
	put_opt(j, "next_boot", m->next_boot);
	put_opt(j, "model", m->model);
	put_opt(j, "arch", m->arch);
	put_opt(j, "uuid", m->uuid);
	put_str(j, "ip", m->ip.s_addr ? inet_ntop(AF_INET, &m->ip, ip, sizeof(ip)) : NULL);
	put_time(j, "first_seen", m->first_seen);
	put_time(j, "last_seen", m->last_seen);
	put_last_event(j, last);
	json_end(j, '}');
}

static void put_mac_prefix(struct json *j, const struct selector *s)
{
	char out[18] = "";
	size_t n = s->mac_prefix_len > 6 ? 6 : s->mac_prefix_len, len = 0;

	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(out + len, sizeof(out) - len, i ? ":%02x" : "%02x",
					s->mac_prefix[i]);
	put_str(j, "mac_prefix", out);
}

void policy_json_write_group(struct json *j, const struct policy_group *g)
{
	json_begin(j, '{');
	put_str(j, "name", g->name);
	json_key(j, "selector");
	json_begin(j, '{');
	put_mac_prefix(j, &g->selector);
	put_str(j, "model", g->selector.model);
	put_str(j, "arch", g->selector.arch);
	put_labels(j, g->selector.labels, g->selector.n_labels);
	json_end(j, '}');
	put_str(j, "profile", g->profile);
	json_key(j, "priority");
	json_int(j, g->priority);
	put_str(j, "local", local_method_name(g->local));
	put_str(j, "image", g->image);
	json_end(j, '}');
}

void policy_json_write_event(struct json *j, const struct event *e)
{
	char mac[18];

	policy_mac_format(e->mac, mac);
	json_begin(j, '{');
	json_key(j, "id");
	json_int(j, e->id);
	put_event_time(j, "time", e->time_us);
	put_str(j, "mac", e->has_mac ? mac : NULL);
	put_str(j, "kind", event_kind_name(e->kind));
	put_str(j, "detail", e->detail);
	put_str(j, "rule", e->rule);
	json_key(j, "bytes");
	json_uint(j, e->bytes);
	json_key(j, "duration_ms");
	json_uint(j, e->duration_ms);
	json_key(j, "ok");
	json_bool(j, e->ok);
	json_end(j, '}');
}
