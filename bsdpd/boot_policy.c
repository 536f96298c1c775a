/* SPDX-License-Identifier: MIT */
/*
 * The daemon's boot policy (see boot_policy.h).
 */
#include "boot_policy.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "api.h"
#include "beneath.h"
#include "clock.h"
#include "http.h"
#include "log.h"
#include "loop.h"
#include "metrics.h"
#include "recorder.h"
#include "server.h"

/* A rendered script: the largest template and its values fit well. */
#define SCRIPT_CAP (IPXE_TEMPLATE_MAX + 64 * 1024)

/* Every render asks whether the profile's files are there (policy.h
 * file_exists): in a boot storm the same few kernels and initrds,
 * thousands of times a second, each answer an openat2(2), fstat(2) and
 * close(2), 15% of a render's CPU.  An answer is kept FILE_CHECK_TTL_MS,
 * so a file added or removed shows within a second. */
#define FILE_CHECKS 64                /* direct-mapped by the path's hash */
#define FILE_CHECK_TTL_MS 1000

struct known_file {
	char path[POLICY_PATH_MAX];
	bool exists;
	int64_t at_ms;                /* CLOCK_MONOTONIC; 0: empty */
};

/* A machine seen again unchanged within STORE_SEEN_EVERY costs the store
 * no write (store_machine_seen); the recorder need not be told either.
 * Each boot is seen at each stage (BSDP or proxyDHCP, then the script),
 * each showing some of model, arch, UUID and address: what was shown is
 * merged here as the store merges it.  Direct-mapped by MAC; a collision
 * only costs a record. */
#define SEEN_SLOTS 4096

struct seen_slot {
	uint8_t mac[6];
	char model[POLICY_MODEL_MAX];
	char arch[POLICY_ARCH_MAX];
	char uuid[POLICY_UUID_MAX];
	struct in_addr ip;
	int64_t at;                   /* Unix time; 0: empty */
};

struct boot_policy {
	struct store *store;
	struct loop *loop;
	bool batch;                    /* a store batch is open for this loop step */
	struct recorder *recorder;     /* NULL: the loop writes sightings and events */
	bool away;                     /* scripts come from the store's last copy */
	struct bsdp_service *dhcp;     /* for what BSDP knows of a Mac */
	struct http_service *http;
	int rootfd;                    /* the HTTP root, O_PATH */
	char image[POLICY_NAME_MAX];   /* what boot_policy_image last returned */
	struct api_ctx api;            /* the token; the catalog is set per request */
	struct ipxe_template *fallback; /* policy_fallback_new */
	struct known_file known[FILE_CHECKS];
	struct seen_slot seen[SEEN_SLOTS];
};

static void end_batch(struct loop *loop, void *ctx);

static struct boot_policy *fail(struct boot_policy *bp, char **err, const char *what,
				int errnum)
{
	if (asprintf(err, "policy: %s: %s", what, strerror(errnum)) < 0)
		*err = NULL;
	boot_policy_free(bp);
	return NULL;
}

struct boot_policy *boot_policy_new(struct store *store, struct loop *loop, int state_dirfd,
				    const char *http_root, char **err)
{
	struct boot_policy *bp = calloc(1, sizeof(*bp));
	char msg[256];

	if (!bp)
		return fail(NULL, err, "out of memory", ENOMEM);
	bp->rootfd = -1;
	bp->store = store;
	bp->loop = loop;
	bp->api.store = store;
	if ((bp->rootfd = open(http_root, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
		return fail(bp, err, http_root, errno);
	if (!(bp->fallback = policy_fallback_new()))
		return fail(bp, err, "the built-in menu", ENOMEM);
	if (api_token_load_or_create(state_dirfd, bp->api.token, sizeof(bp->api.token), msg,
				     sizeof(msg)) < 0) {
		if (asprintf(err, "policy: %s", msg) < 0)
			*err = NULL;
		boot_policy_free(bp);
		return NULL;
	}
	return bp;
}

void boot_policy_free(struct boot_policy *bp)
{
	if (!bp)
		return;
	end_batch(bp->loop, bp);
	if (bp->rootfd >= 0)
		close(bp->rootfd);
	explicit_bzero(bp->api.token, sizeof(bp->api.token));
	ipxe_template_free(bp->fallback);
	free(bp);
}

void boot_policy_set_http(struct boot_policy *bp, struct http_service *http)
{
	bp->http = http;
}

void boot_policy_set_live(struct boot_policy *bp, const struct api_live *live)
{
	bp->api.live = live;
}

void boot_policy_set_recorder(struct boot_policy *bp, struct recorder *r)
{
	bp->recorder = r;
}

/* ---- writes --------------------------------------------------------------------- */

static void end_batch(struct loop *loop, void *ctx)
{
	struct boot_policy *bp = ctx;

	(void)loop;
	if (bp->batch)
		store_batch_end(bp->store);
	bp->batch = false;
}

void boot_policy_commit(struct boot_policy *bp)
{
	if (bp)
		end_batch(bp->loop, bp);
}

/* What the boots of one loop step write (registrations, events, a next
 * boot spent) is committed once, after the step: in a boot storm one
 * commit serves every request MHD handled in it.  Without a loop (tests,
 * --check) each write commits by itself. */
static void begin_writes(struct boot_policy *bp)
{
	if (bp->batch || !bp->loop || loop_defer(bp->loop, end_batch, bp) < 0)
		return;
	bp->batch = store_batch_begin(bp->store) == 0;
}

/* ---- machines and events ----------------------------------------------------- */

/* Wire values are stored only in the inert form a script may carry. */
static void copy_seen(char *dst, size_t cap, const char *src)
{
	if (src && src[0])
		ipxe_value_sanitize(src, dst, cap);
}

/* Whether m shows nothing new within STORE_SEEN_EVERY of the last time
 * it was told; notes it if not. */
static bool seen_lately(struct boot_policy *bp, const struct machine *m, int64_t now)
{
	uint32_t h = 2166136261u; /* FNV-1a */
	struct seen_slot *slot;
	bool changed;

	for (size_t i = 0; i < 6; i++)
		h = (h ^ m->mac[i]) * 16777619u;
	slot = &bp->seen[h % SEEN_SLOTS];
	if (!slot->at || memcmp(slot->mac, m->mac, 6) != 0)
		*slot = (struct seen_slot){ .at = 0 };
	memcpy(slot->mac, m->mac, 6);
	changed = policy_take_seen(slot->model, sizeof(slot->model), m->model);
	changed |= policy_take_seen(slot->arch, sizeof(slot->arch), m->arch);
	changed |= policy_take_seen(slot->uuid, sizeof(slot->uuid), m->uuid);
	if (m->ip.s_addr && m->ip.s_addr != slot->ip.s_addr) {
		slot->ip = m->ip;
		changed = true;
	}
	if (!changed && slot->at && now >= slot->at && now - slot->at < STORE_SEEN_EVERY)
		return true;
	slot->at = now;
	return false;
}

void boot_policy_seen(struct boot_policy *bp, const struct boot_sighting *s)
{
	struct machine m = { .ip = s->ip };
	int64_t now = time(NULL);

	if (!bp)
		return;
	memcpy(m.mac, s->mac, 6);
	copy_seen(m.model, sizeof(m.model), s->model);
	copy_seen(m.arch, sizeof(m.arch), s->arch);
	copy_seen(m.uuid, sizeof(m.uuid), s->uuid);
	if (bp->recorder) {
		if (!seen_lately(bp, &m, now))
			recorder_seen(bp->recorder, &m, now);
		return;
	}
	begin_writes(bp);
	if (store_machine_seen(bp->store, &m, now) < 0)
		log_msg(LOG_WARNING, "policy: cannot register a machine seen booting");
}

/* To the open event streams, in the API's JSON (api_sse_event). */
static void publish_event(struct boot_policy *bp, const struct event *e)
{
	char *text;
	size_t n;

	if (!http_streaming(bp->http) || api_sse_event(e, &text, &n) < 0)
		return;
	http_publish(bp->http, text, n);
	free(text);
}

/* With a recorder, the event reaches the streams once it is committed
 * (boot_policy_event_written), with the id the database gave it. */
void boot_policy_event(struct boot_policy *bp, struct event *e)
{
	if (!bp)
		return;
	e->time_us = clock_us(CLOCK_REALTIME);
	if (bp->recorder) {
		recorder_event(bp->recorder, e);
		return;
	}
	begin_writes(bp);
	if (store_event_add(bp->store, e) < 0)
		log_msg(LOG_WARNING, "policy: cannot record a %s event", event_kind_name(e->kind));
	publish_event(bp, e);
}

void boot_policy_event_written(void *ctx, const struct event *e)
{
	publish_event(ctx, e);
}

/* Next boot is spent: exactly once, whoever asks at the same time, on
 * this bsdpd or another sharing the database.  True when this call spent
 * it and the spending is committed: what it serves may then be the next
 * boot's, and nobody else's will be.  The step's batch is committed here,
 * before the answer leaves, or a failed commit later would let the next
 * request spend it again; committing also frees the machine's row, for
 * which another bsdpd's consume of the same boot waits on PostgreSQL. */
static bool consume_next_boot(struct boot_policy *bp, const uint8_t mac[6], const char *profile)
{
	struct event e = { .kind = EVENT_NEXT_BOOT_CONSUMED, .has_mac = true, .ok = true };
	char m[MAC_STR_LEN];

	begin_writes(bp);
	if (store_next_boot_consume(bp->store, mac, profile) != 1)
		return false;
	if (bp->batch) {
		bp->batch = false;
		if (store_batch_end(bp->store) < 0)
			return false;
	}
	memcpy(e.mac, mac, 6);
	snprintf(e.detail, sizeof(e.detail), "%s", profile);
	log_msg(LOG_INFO, "policy: %s: next boot %s done; back to its usual profile",
		mac_str(mac, m), profile);
	boot_policy_event(bp, &e);
	return true;
}

/* ---- resolution --------------------------------------------------------------------- */

/* The machine as the store knows it, or as this request shows it. */
static void machine_for(struct boot_policy *bp, const uint8_t mac[6], const char *arch,
			struct machine *m)
{
	if (store_machine_get(bp->store, mac, m) == 0)
		return;
	*m = (struct machine){ 0 };
	memcpy(m->mac, mac, 6);
	copy_seen(m->arch, sizeof(m->arch), arch);
}

static void resolve(struct boot_policy *bp, const struct machine *m, struct resolution *res)
{
	size_t n;
	const struct policy_group *groups;

	store_sync(bp->store);
	groups = store_groups(bp->store, &n);
	policy_resolve(m, groups, n, store_default(bp->store), res);
}

bool boot_policy_names(struct boot_policy *bp, const uint8_t mac[6])
{
	struct resolution res;
	struct machine m;

	if (!bp)
		return false;
	machine_for(bp, mac, NULL, &m);
	resolve(bp, &m, &res);
	return res.rule == RULE_NEXT_BOOT || res.rule == RULE_MACHINE || res.rule == RULE_GROUP;
}

bool boot_policy_refuses(struct boot_policy *bp, const uint8_t mac[6])
{
	struct resolution res;
	struct profile p;
	struct machine m;
	bool refuse;

	if (!bp)
		return false;
	machine_for(bp, mac, NULL, &m);
	resolve(bp, &m, &res);
	if (res.rule == RULE_NONE || store_profile_get(bp->store, res.profile, &p) < 0)
		return false;
	refuse = p.kind == PROFILE_LOCAL &&
		 (res.local == LOCAL_REFUSE || (res.local == LOCAL_AUTO && p.local == LOCAL_REFUSE));
	profile_free(&p);
	return refuse;
}

const char *boot_policy_image(struct boot_policy *bp, const uint8_t mac[6], const char *model,
			      const char *arch)
{
	struct resolution res;
	struct machine m;

	if (!bp)
		return NULL;
	machine_for(bp, mac, arch, &m);
	if (!m.model[0])
		copy_seen(m.model, sizeof(m.model), model);
	resolve(bp, &m, &res);
	memcpy(bp->image, res.image, sizeof(bp->image));
	return bp->image[0] ? bp->image : NULL;
}

/* ---- /boot.ipxe -------------------------------------------------------------------- */

static struct known_file *known_file_slot(struct boot_policy *bp, const char *path)
{
	uint32_t h = 2166136261u; /* FNV-1a */

	for (const char *c = path; *c; c++)
		h = (h ^ (unsigned char)*c) * 16777619u;
	return &bp->known[h % FILE_CHECKS];
}

static bool file_exists(void *ctx, const char *path)
{
	struct boot_policy *bp = ctx;
	struct known_file *fc = known_file_slot(bp, path);
	int64_t now = clock_ms(CLOCK_MONOTONIC);
	struct stat st;

	if (fc->at_ms && now - fc->at_ms < FILE_CHECK_TTL_MS && strcmp(fc->path, path) == 0)
		return fc->exists;
	fc->exists = beneath_check_served(bp->rootfd, path, &st) == 0;
	fc->at_ms = now;
	snprintf(fc->path, sizeof(fc->path), "%s", path);
	return fc->exists;
}

/* A menu's entries, each loaded (or NULL: gone since it was saved). */
struct menu_items {
	struct profile p[POLICY_ITEMS_MAX];
	const struct profile *ptr[POLICY_ITEMS_MAX];
	size_t n;
};

/* Only a menu has items: the others render without this (large) table. */
static struct menu_items *load_items(struct boot_policy *bp, const struct profile *menu)
{
	struct menu_items *mi = calloc(1, sizeof(*mi));

	if (!mi)
		return NULL;
	for (mi->n = 0; mi->n < menu->n_items; mi->n++)
		if (store_profile_get(bp->store, menu->items[mi->n], &mi->p[mi->n]) == 0)
			mi->ptr[mi->n] = &mi->p[mi->n];
	return mi;
}

static void free_items(struct menu_items *mi)
{
	for (size_t i = 0; mi && i < mi->n; i++)
		if (mi->ptr[i])
			profile_free(&mi->p[i]);
	free(mi);
}

static ssize_t render(struct boot_policy *bp, const struct profile *p, const struct resolution *res,
		      const struct http_identity *id, const struct ipxe_values *vals, char *out)
{
	struct menu_items *mi = p->kind == PROFILE_MENU ? load_items(bp, p) : NULL;
	struct policy_render_ctx ctx = {
		.efi = strcmp(id->platform, "pcbios") != 0, /* iPXE ${platform} */
		.http_base = vals->v[IPXE_VAR_HTTP], .via_cache = http_file_base(bp->http) != NULL,
		.res = res, .values = vals,
		.items = mi ? mi->ptr : NULL, .file_exists = file_exists, .ctx = bp,
		.fallback = bp->fallback,
	};
	ssize_t n = mi || p->kind != PROFILE_MENU ? policy_render(p, &ctx, out, SCRIPT_CAP)
						 : -ENOMEM;

	free_items(mi);
	return n;
}

static void script_event(struct boot_policy *bp, const struct http_identity *id,
			 const struct resolution *res, bool ok)
{
	struct event e = { .kind = EVENT_SCRIPT, .has_mac = true, .ok = ok };

	memcpy(e.mac, id->mac, 6);
	snprintf(e.detail, sizeof(e.detail), "%s", res->profile);
	snprintf(e.rule, sizeof(e.rule), "%s", policy_rule_name(res->rule));
	boot_policy_event(bp, &e);
}

static void answer_script(struct http_response *rsp, char *text, size_t n)
{
	rsp->status = 200;
	rsp->content_type = "text/plain; charset=us-ascii";
	rsp->no_store = true;
	rsp->body = HTTP_BODY_BUFFER;
	rsp->buf = text;
	rsp->buf_len = n;
}

/* Whether serving the script ends a next boot: when its profile has no
 * file of ours to wait for, and with --http-base, where the files come
 * through a cache: a hit never reaches bsdpd, so waiting for the last
 * file would leave the next boot pending and the machine would boot it
 * again and again (a reinstall loop).  Spent at the script instead, a
 * boot that fails after it needs the next boot set again, which the
 * admin sees in the events (docs/policy.md §5). */
static bool script_ends_next_boot(const struct boot_policy *bp, const struct profile *p)
{
	return !profile_last_file(p) || http_file_base(bp->http);
}

/* Said once when it starts and once when it ends: while the database is
 * away, scripts come from what the store read last (store.h). */
static void note_away(struct boot_policy *bp)
{
	bool away = store_away(bp->store);

	if (away && !bp->away)
		log_msg(LOG_WARNING, "policy: the database is away; boots are answered from the "
			"last copy of their machines and profiles, and next boots wait for it");
	else if (!away && bp->away)
		log_msg(LOG_NOTICE, "policy: the database is back; boots are answered from it");
	bp->away = away;
}

/* The resolved profile, rendered into *out: its length, or -1 (no
 * policy applies: the template answers) or another negative value (the
 * profile cannot be rendered).  *spent: a next boot that this script
 * spends (script_ends_next_boot), left to the caller to consume. */
static ssize_t render_resolved(struct boot_policy *bp, const struct http_identity *id,
			       const struct ipxe_values *vals, struct resolution *res,
			       char **out, bool *spent)
{
	struct profile p;
	struct machine m;
	ssize_t n;

	*out = NULL;
	machine_for(bp, id->mac, id->arch, &m);
	resolve(bp, &m, res);
	if (res->rule == RULE_NONE || store_profile_get(bp->store, res->profile, &p) < 0)
		return -1;
	note_away(bp);
	n = (*out = malloc(SCRIPT_CAP)) ? render(bp, &p, res, id, vals, *out) : -ENOMEM;
	*spent = n >= 0 && res->rule == RULE_NEXT_BOOT && script_ends_next_boot(bp, &p);
	profile_free(&p);
	return n < 0 ? -2 : n;
}

/* Renders the resolved profile; false (the template answers instead)
 * when no policy applies or the profile cannot be rendered.  A next
 * boot that another request spent first (here or on another bsdpd) is
 * not served twice: the machine is read again and resolved without it. */
static bool script_of(struct boot_policy *bp, const struct http_identity *id,
		      const struct ipxe_values *vals, struct http_response *rsp)
{
	struct resolution res;
	bool spent = false;
	char *out;
	ssize_t n = render_resolved(bp, id, vals, &res, &out, &spent);

	if (spent && !consume_next_boot(bp, id->mac, res.profile)) {
		free(out);
		n = render_resolved(bp, id, vals, &res, &out, &spent);
		if (spent && !consume_next_boot(bp, id->mac, res.profile))
			n = -2;
	}
	if (n != -1)
		script_event(bp, id, &res, n >= 0);
	if (n < 0) {
		free(out);
		return false;
	}
	answer_script(rsp, out, (size_t)n);
	return true;
}

bool boot_policy_script(void *ctx, const struct http_request *rq, const struct http_identity *id,
			const struct ipxe_values *vals, struct http_response *rsp)
{
	struct boot_policy *bp = ctx;
	struct boot_sighting s = { .mac = id->mac, .arch = id->arch, .uuid = id->uuid,
				   .ip = rq->client };

	if (!id->has_mac) /* a script URL typed by hand: nobody to look up */
		return false;
	boot_policy_seen(bp, &s);
	return script_of(bp, id, vals, rsp);
}

/* ---- bsdpd --check -------------------------------------------------------------- */

struct file_check {
	struct boot_policy *bp;
	size_t errors;
};

static void check_file(struct file_check *fc, const struct profile *p, const char *path)
{
	if (!path[0] || policy_is_url(path) || file_exists(fc->bp, path))
		return;
	printf("error: profile %s: %s is missing under the HTTP root\n", p->name, path);
	fc->errors++;
}

static int check_profile(void *ctx, const struct profile *p)
{
	struct file_check *fc = ctx;

	check_file(fc, p, p->kernel);
	for (size_t i = 0; i < p->n_initrds; i++)
		check_file(fc, p, p->initrds[i]);
	check_file(fc, p, p->chain);
	return 0;
}

size_t boot_policy_check(struct store *store, const char *http_root)
{
	struct boot_policy bp = { .store = store };
	struct file_check fc = { .bp = &bp };

	bp.rootfd = open(http_root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (bp.rootfd < 0)
		return 0; /* check_chain reports the root itself */
	store_profiles_each(store, check_profile, &fc);
	close(bp.rootfd);
	return fc.errors;
}

/* ---- the HTTP hooks -------------------------------------------------------------- */

static bool client_info(void *ctx, const uint8_t *mac, struct in_addr ip,
			struct http_client_info *out)
{
	struct boot_policy *bp = ctx;

	return bsdp_service_client_info(bp->dhcp, mac, ip, out);
}

static enum api_method api_method_of(enum http_method m)
{
	switch (m) {
	case HTTP_GET: return API_GET;
	case HTTP_HEAD: return API_HEAD;
	case HTTP_PUT: return API_PUT;
	case HTTP_POST: return API_POST;
	case HTTP_DELETE: return API_DELETE;
	default: return API_OTHER;
	}
}

#define EVENT_STREAM_PATH "/api/v1/events/stream"

/* The API is api.c's, but for the event stream, which http.c holds open
 * once the token is right. */
static void api(void *ctx, const struct http_request *rq, const char *path, size_t path_len,
		const char *query, size_t query_len, struct http_response *rsp)
{
	struct boot_policy *bp = ctx;
	char p[HTTP_TARGET_MAX + 1], q[HTTP_TARGET_MAX + 1];
	struct api_request arq = {
		.method = api_method_of(rq->method), .path = p, .query = q,
		.authorization = rq->authorization, .content_type = rq->content_type,
		.body = rq->body, .body_len = rq->body_len, .body_too_large = rq->body_too_large,
		.now = rq->now,
	};

	snprintf(p, sizeof(p), "%.*s", (int)path_len, path);
	snprintf(q, sizeof(q), "%.*s", (int)query_len, query);
	/* An admin's write is answered only once it is on disk, and a read
	 * sees every boot before it: whatever the boots of this step wrote is
	 * committed first, and what the recorder holds (unless the database
	 * is away: the API then reads what is there). */
	end_batch(bp->loop, bp);
	if (bp->recorder)
		recorder_flush(bp->recorder);
	bp->api.catalog = bsdp_service_catalog(bp->dhcp);
	if (strcmp(p, EVENT_STREAM_PATH) == 0 && rq->method == HTTP_GET &&
	    api_authorized(&bp->api, rq->authorization)) {
		api_stream_open(&bp->api, rq->last_event_id, rsp);
		return;
	}
	api_route(&bp->api, &arq, rsp);
}

/* The machines are counted in the database, since the recorder registers
 * them on its own connection, and other bsdpd on theirs. */
void boot_policy_gauges(void *ctx, struct metrics_gauges *out)
{
	struct boot_policy *bp = ctx;
	int n = store_machines_recount(bp->store);
	struct recorder_status rs = { 0 };

	bsdp_service_gauges(bp->dhcp, out);
	out->machines = n > 0 ? (size_t)n : 0;
	if (bp->recorder)
		recorder_status(bp->recorder, &rs);
	out->records_queued = rs.queued;
	out->records_dropped = rs.dropped;
	out->database_up = n >= 0 && !rs.failing;
}

void boot_policy_http_hooks(struct boot_policy *bp, struct bsdp_service *dhcp,
			    struct http_hooks *out)
{
	bp->dhcp = dhcp;
	bp->api.bindings = bsdp_service_bindings(dhcp);
	*out = (struct http_hooks){
		.ctx = bp, .client_info = client_info, .script = boot_policy_script,
		.file_stage = boot_policy_file_stage, .file_served = boot_policy_file_served,
		.api = api, .gauges = boot_policy_gauges,
	};
}

/* ---- a profile's files ---------------------------------------------------------- */

/* Whether serving path (whole or not) ends the machine's next boot. */
static bool ends_next_boot(struct boot_policy *bp, const uint8_t mac[6], const char *path,
			   bool complete, char profile[POLICY_NAME_MAX])
{
	struct machine m;
	struct profile p;
	bool ends;

	if (!complete || store_machine_get(bp->store, mac, &m) < 0 || !m.next_boot[0] ||
	    store_profile_get(bp->store, m.next_boot, &p) < 0)
		return false;
	ends = profile_boot_done(&p, path, complete);
	memcpy(profile, m.next_boot, POLICY_NAME_MAX);
	profile_free(&p);
	return ends;
}

/* The stage is taken when the file is asked for, from the profile the
 * machine resolves to then: a next boot spent by the last file must not
 * make the earlier ones "another file". */
void boot_policy_file_stage(void *ctx, const uint8_t mac[6], const char *path,
			    char out[HTTP_STAGE_MAX])
{
	struct boot_policy *bp = ctx;
	struct resolution res;
	struct profile p;
	struct machine m;

	out[0] = '\0';
	machine_for(bp, mac, NULL, &m);
	resolve(bp, &m, &res);
	if (res.rule == RULE_NONE || store_profile_get(bp->store, res.profile, &p) < 0)
		return;
	snprintf(out, HTTP_STAGE_MAX, "%s", profile_file_stage(&p, path));
	profile_free(&p);
}

void boot_policy_file_served(void *ctx, const uint8_t mac[6], const char *path,
			     const char *stage, struct in_addr client, uint64_t bytes,
			     uint32_t duration_ms, bool complete)
{
	struct boot_policy *bp = ctx;
	struct event e = { .kind = EVENT_HTTP_FILE, .has_mac = true, .bytes = bytes,
			   .duration_ms = duration_ms, .ok = complete };
	char profile[POLICY_NAME_MAX];

	(void)client;
	memcpy(e.mac, mac, 6);
	snprintf(e.detail, sizeof(e.detail), "%s", path);
	snprintf(e.rule, sizeof(e.rule), "%s", stage ? stage : "");
	boot_policy_event(bp, &e);
	if (ends_next_boot(bp, mac, path, complete, profile))
		consume_next_boot(bp, mac, profile);
}
