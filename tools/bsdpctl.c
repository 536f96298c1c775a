/* SPDX-License-Identifier: MIT */
/*
 * bsdpctl: the lab admin's command line over bsdpd's JSON API (/api/v1,
 * docs: tools/bsdpctl.1).  Each command is one or two HTTP requests
 * (bsdpctl_http.c, the only user of libcurl); request bodies are written
 * and replies parsed by the project's JSON code (lib/json.c), and replies
 * are shown as aligned tables, or passed through as the server wrote them
 * with --json.
 *
 * Everything the server sends is a client's data at heart (hostnames,
 * models, labels a Mac or an admin typed), so every string goes through
 * log_escape before it reaches the terminal.  What goes into a URL (names,
 * MACs) is checked here first, so that it cannot change the path.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bsdpctl_http.h"
#include "json.h"
#include "log.h"
#include "utf8.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define DEFAULT_SERVER "http://127.0.0.1"
#define DEFAULT_TOKEN_FILE "/var/lib/bsdpd/api-token" /* bsdpd's --state-dir default */
#define TOKEN_MAX 256
#define NAME_MAX_LEN 63               /* docs/api.md: [A-Za-z0-9._-]{1,63} */
#define BODY_MAX (64u << 10)          /* the server refuses bigger bodies (413) */
#define LIST_MAX 64                   /* --label, --initrd, --item */
#define REQUEST_TIMEOUT_S 30L

/* Replies are lists that grow with the lab (store.h lets 100000 machines
 * register): bounded by the reply size bsdpctl_http.c accepts, not by the
 * 64 KiB of a request body.  A value takes at least two bytes of text, so
 * an eighth of that is room for a reply of real records. */
static const struct json_limits reply_limits = {
	.size_max = CTL_BODY_MAX, .values_max = CTL_BODY_MAX / 8,
};

enum exit_code {
	EXIT_OK = 0,
	EXIT_REFUSED = 1,      /* the server answered 4xx or 5xx */
	EXIT_USAGE = 2,
	EXIT_UNREACHABLE = 3,  /* no answer, or one that is not the API's */
	EXIT_AUTH = 4,         /* no token, or the server refused it (401) */
};

/* Options that only some commands take: a bit each in cli.given. */
enum opt {
	OPT_TOKEN_FILE = 256, OPT_PROFILE, OPT_HOSTNAME, OPT_LABEL, OPT_LOCAL, OPT_IMAGE,
	OPT_CLEAR, OPT_KIND, OPT_KERNEL, OPT_INITRD, OPT_CMDLINE, OPT_CHAIN, OPT_ITEM,
	OPT_DEFAULT, OPT_TIMEOUT, OPT_TEMPLATE_FILE, OPT_DESCRIPTION, OPT_MAC_PREFIX,
	OPT_MODEL, OPT_ARCH, OPT_PRIORITY, OPT_MAC, OPT_SINCE, OPT_LIMIT, OPT_FOLLOW,
	OPT_END
};
#define BIT(o) (1u << ((o) - OPT_PROFILE))

struct strv {
	const char *v[LIST_MAX];
	size_t n;
};

struct cli {
	const char *server, *token_file;
	bool json, help;
	const char *args[8];
	size_t n_args;
	uint32_t given;                    /* BIT(OPT_...) of the options seen */
	const char *val[OPT_END - OPT_PROFILE]; /* the string options, by BIT index */
	unsigned long timeout, priority, limit;
	struct strv labels, initrds, items;
};

/* The token is read at the first request, so that every usage error is
 * reported as one (exit 2) before the token file is looked at. */
struct ctx {
	const struct cli *cli;
	struct ctl_http http;
	char token[TOKEN_MAX];             /* "" until read */
	const char *token_from;            /* for messages: the file or the variable */
	bool json;
};

static const char *const help_text[] = {
"NAME",
"    bsdpctl - manage bsdpd's boot policy: machines, profiles, groups, events",
"",
"SYNOPSIS",
"    bsdpctl [OPTIONS] COMMAND [ARGUMENTS]",
"    bsdpctl --help",
"",
"DESCRIPTION",
"    bsdpctl talks to bsdpd's JSON API (/api/v1) over HTTP.  It reads the",
"    API token that bsdpd wrote into its state directory, so on the bsdpd",
"    host it needs no setup beyond read access to that file.  Results are",
"    shown as aligned tables; with --json the server's JSON is printed",
"    as it came.  Every string from the server is escaped for the terminal",
"    (non-printable bytes as \\xNN).",
"",
"COMMANDS",
"    machines [list]          list the machines bsdpd knows",
"    machine show MAC         one machine: policy fields and what bsdpd saw",
"    machine set MAC [--profile P] [--hostname H] [--label K=V]...",
"                [--local METHOD] [--image NAME]",
"                             replace the machine's policy fields: a field",
"                             not given is cleared (its next boot is kept)",
"    machine delete MAC       forget a machine",
"    next-boot MAC PROFILE    boot PROFILE once, then the usual policy again",
"    next-boot MAC --clear    cancel a pending next boot",
"    profiles                 list the profiles",
"    profile show NAME        one profile",
"    profile set NAME --kind KIND [PROFILE OPTIONS]",
"                             create or replace a profile from options",
"    profile put NAME FILE    create or replace a profile from a JSON file",
"                             (- for standard input)",
"    profile delete NAME      delete a profile",
"    groups                   list the groups",
"    group set NAME [--mac-prefix P] [--model GLOB] [--arch A] [--label K=V]...",
"                --profile P [--priority N] [--local METHOD] [--image NAME]",
"                             create or replace a group",
"    group delete NAME        delete a group",
"    default [PROFILE]        show, or set, the default profile",
"    catalog                  the NetBoot images bsdpd serves, and the",
"                             bundles it skipped with the reason",
"    events [--mac MAC] [--since TIME] [--limit N] [--follow]",
"                             boot events, oldest first",
"",
"    MAC is six hex pairs separated by colons or hyphens, in any case.",
"    Names of profiles and groups are 1-63 of A-Z a-z 0-9 . _ -.",
"",
"OPTIONS",
"    -s, --server URL       bsdpd's HTTP server (default: $BSDPCTL_SERVER, or",
"                           " DEFAULT_SERVER ")",
"        --token-file FILE  the API token (default: $BSDPCTL_TOKEN as the token",
"                           itself, or " DEFAULT_TOKEN_FILE ")",
"    -j, --json             print the server's JSON instead of a table",
"    -h, --help             print this help and exit",
"",
"  machine set and group set:",
"        --profile NAME     the profile (group set: required)",
"        --hostname NAME    machine set: the {{hostname}} of its scripts",
"        --label KEY=VALUE  a label (machine) or a label to match (group);",
"                           repeatable",
"        --local METHOD     how \"local\" boots: auto, exit, sanboot, refuse",
"                           or reboot",
"        --image NAME       the NetBoot image a Mac is offered as default",
"        --mac-prefix P     group set: match MACs starting with P (52:54:00)",
"        --model GLOB       group set: match the model, e.g. 'MacPro*'",
"        --arch ARCH        group set: match the architecture, e.g. x86_64",
"        --priority N       group set: the higher wins among equally specific",
"                           groups (default 0)",
"",
"  profile set:",
"        --kind KIND        local, linux, chain, menu, shell or script",
"        --description TEXT a line for people",
"        --kernel PATH      linux: the kernel, under bsdpd's HTTP root",
"        --initrd PATH      linux: an initrd; repeatable, in order",
"        --cmdline TEXT     linux: the kernel command line",
"        --chain PATH|URL   chain: the EFI binary or script to chain",
"        --item PROFILE     menu: an entry; repeatable, in order",
"        --default PROFILE  menu: the entry chosen when the timeout ends",
"        --timeout SECONDS  menu: how long the menu waits",
"        --template-file FILE",
"                           script: the iPXE template (UTF-8, up to 64 KiB)",
"        --local METHOD     local: as above",
"",
"  next-boot:",
"        --clear            cancel the pending next boot",
"",
"  events:",
"        --mac MAC          only this machine's events",
"        --since TIME       only events at or after TIME (RFC 3339, e.g.",
"                           2026-12-01T22:00:00Z)",
"        --limit N          at most N events",
"        --follow           after the past events, print new ones as they",
"                           happen, until interrupted",
"",
"EXIT STATUS",
"    0  success",
"    1  the server refused the request (4xx) or failed it (5xx); its",
"       message is printed, e.g.",
"       bsdpctl: 422: profile \"x\" does not exist (field profile)",
"    2  usage error: unknown command or option, bad MAC or name",
"    3  the server cannot be reached, or its answer is not the API's",
"    4  no API token could be read, or the server refused it (401)",
"",
"ENVIRONMENT",
"    BSDPCTL_SERVER  the default for --server",
"    BSDPCTL_TOKEN   the token itself, used when --token-file is not given",
"",
"EXAMPLES",
"    bsdpctl profile set install --kind linux --kernel debian/vmlinuz \\",
"        --initrd debian/initrd.gz --cmdline 'auto=true priority=critical'",
"    bsdpctl group set lab101 --label room=101 --profile local --priority 10",
"    bsdpctl next-boot 52:54:00:12:34:56 install",
"    bsdpctl events --mac 52:54:00:12:34:56 --follow",
"",
"SEE ALSO",
"    bsdpd(8), bsdpc(1)",
};

/* ---- messages ---------------------------------------------------------------- */

static void help(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(help_text); i++)
		printf("%s\n", help_text[i]);
}

__attribute__((format(printf, 1, 2)))
static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("bsdpctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs(" (try bsdpctl --help)\n", stderr);
	return EXIT_USAGE;
}

/* A server string as printable ASCII (log_escape), in buf. */
static const char *esc(const char *s, char *buf, size_t cap)
{
	return log_escape(buf, cap, s, strlen(s));
}

/* ---- checking what goes into a URL ---------------------------------------- */

static bool valid_name(const char *s)
{
	size_t n = strlen(s);

	return n >= 1 && n <= NAME_MAX_LEN &&
	       strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") == n;
}

/* Lower case with colons, as the server writes MACs. */
static bool normalize_mac(const char *s, char out[MAC_STR_LEN])
{
	static const char hex[] = "0123456789abcdef";

	if (strlen(s) != 17 || (s[2] != ':' && s[2] != '-'))
		return false;
	for (size_t i = 0; i < 17; i++) {
		char c = s[i] >= 'A' && s[i] <= 'F' ? (char)(s[i] - 'A' + 'a') : s[i];
		bool separator = i % 3 == 2;

		if (separator && c != s[2]) /* one kind of separator throughout */
			return false;
		if (!separator && !strchr(hex, c))
			return false;
		out[i] = separator ? ':' : c;
	}
	out[17] = '\0';
	return true;
}

/* RFC 3986 §2.3: everything but the unreserved characters is %XX. */
static void pct_encode(const char *s, char *out, size_t cap)
{
	size_t len = 0;

	for (; *s && cap - len > 3; s++) {
		unsigned char c = (unsigned char)*s;

		if (strchr("-._~", c) || (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z'))
			out[len++] = (char)c;
		else
			len += (size_t)snprintf(out + len, cap - len, "%%%02X", c);
	}
	out[len] = '\0';
}

/* ---- the token ---------------------------------------------------------------- */

/* RFC 6750 §2.1 allows more, but bsdpd writes base64url; anything else in
 * the file (a space, a CR) would only end up in the header. */
static bool valid_token(const char *t)
{
	size_t n = strlen(t);

	return n > 0 && strspn(t, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
				  "0123456789-_") == n;
}

static int read_token_file(const char *path, char *tok, size_t cap)
{
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f) {
		fprintf(stderr, "bsdpctl: cannot read the API token from %s: %s (give "
			"--token-file, or run bsdpctl as a user who can read bsdpd's state "
			"directory)\n", path, strerror(errno));
		return -1;
	}
	n = fread(tok, 1, cap - 1, f);
	fclose(f);
	tok[n] = '\0';
	while (n > 0 && (tok[n - 1] == '\n' || tok[n - 1] == '\r'))
		tok[--n] = '\0';
	if (!valid_token(tok)) {
		fprintf(stderr, "bsdpctl: %s does not hold an API token (one line of "
			"A-Z a-z 0-9 - _)\n", path);
		return -1;
	}
	return 0;
}

/* --token-file, else $BSDPCTL_TOKEN, else the default file. */
static int load_token(const struct cli *cli, struct ctx *c, char *tok, size_t cap)
{
	const char *env = getenv("BSDPCTL_TOKEN");

	if (!cli->token_file && env && *env) {
		if (!valid_token(env) || strlen(env) >= cap) {
			fprintf(stderr, "bsdpctl: BSDPCTL_TOKEN is not an API token (one line "
				"of A-Z a-z 0-9 - _)\n");
			return -1;
		}
		snprintf(tok, cap, "%s", env);
		c->token_from = "BSDPCTL_TOKEN";
		return 0;
	}
	c->token_from = cli->token_file ? cli->token_file : DEFAULT_TOKEN_FILE;
	return read_token_file(c->token_from, tok, cap);
}

/* ---- requests ------------------------------------------------------------------- */

/* The API's {"error":..,"field":..} as "bsdpctl: 422: profile "x" does
 * not exist (field profile)"; false for a body of another shape. */
static bool print_api_error(long status, const struct ctl_reply *r)
{
	char msg[1024], field[256];
	struct json_parse_error perr;
	struct json_doc d;
	int rc = json_parse(r->body ? r->body : "", r->len, &d, &perr);
	const struct json_node *root = rc == 0 ? json_root(&d) : NULL;
	const char *s;
	size_t n;
	bool ok = json_string_get(json_get(&d, root, "error"), &s, &n) == 0;

	if (ok) {
		fprintf(stderr, "bsdpctl: %ld: %s", status, log_escape(msg, sizeof(msg), s, n));
		if (json_string_get(json_get(&d, root, "field"), &s, &n) == 0)
			fprintf(stderr, " (field %s)", log_escape(field, sizeof(field), s, n));
		fputc('\n', stderr);
	}
	json_doc_free(&d);
	return ok;
}

static void print_refusal(long status, const struct ctl_reply *r)
{
	char msg[1024], raw[128];

	if (print_api_error(status, r))
		return;
	/* Not the API's error shape: the start of the body, if any. */
	snprintf(raw, sizeof(raw), "%.*s", (int)strcspn(r->body ? r->body : "", "\r\n"),
		 r->body ? r->body : "");
	fprintf(stderr, "bsdpctl: %ld: %s\n", status, raw[0] ? esc(raw, msg, sizeof(msg))
							      : "the server refused the request");
}

static int answer_status(struct ctx *c, const struct ctl_reply *r)
{
	if (r->status == 401) {
		fprintf(stderr, "bsdpctl: 401: the server refused the API token from %s\n",
			c->token_from);
		return EXIT_AUTH;
	}
	if (r->status < 200 || r->status > 299) {
		print_refusal(r->status, r);
		return EXIT_REFUSED;
	}
	return EXIT_OK;
}

/* The reply's JSON into out: 0, or -1 said (the answer is not the API's). */
static int parse_reply(struct ctx *c, const char *method, const char *path,
		       const struct ctl_reply *r, struct json_doc *out)
{
	struct json_parse_error perr;

	if (json_parse_limited(r->body, r->len, &reply_limits, out, &perr) == 0)
		return 0;
	json_doc_free(out);
	fprintf(stderr, "bsdpctl: %s %s: the reply (%ld) is not JSON (%s, byte %zu): is %s "
		"bsdpd?\n", method, path, r->status, perr.msg, perr.offset, c->http.server);
	return -1;
}

/* A reply kept with its JSON: the tree's numbers point into the body. */
struct reply {
	struct ctl_reply http;
	struct json_doc doc;     /* empty (json_root() NULL) without a body */
};

static void reply_free(struct reply *rp)
{
	json_doc_free(&rp->doc);
	ctl_reply_free(&rp->http);
}

/* One request; on 2xx the reply's JSON in out->doc, and with --json the
 * body printed as it came.  out needs reply_free afterwards either way. */
static int call(struct ctx *c, const char *method, const char *path, const char *body,
		struct reply *out)
{
	const struct ctl_reply *r = &out->http;
	char err[512], e[1024];
	int code;

	*out = (struct reply){ 0 };
	if (!c->token[0] && load_token(c->cli, c, c->token, sizeof(c->token)) < 0)
		return EXIT_AUTH;
	if (ctl_request(&c->http, method, path, body, &out->http, err, sizeof(err)) < 0) {
		fprintf(stderr, "bsdpctl: cannot reach bsdpd: %s\n", esc(err, e, sizeof(e)));
		return EXIT_UNREACHABLE;
	}
	code = answer_status(c, r);
	if (code == EXIT_OK && r->len > 0 && parse_reply(c, method, path, r, &out->doc) < 0)
		code = EXIT_UNREACHABLE;
	if (code == EXIT_OK && c->json && r->len > 0)
		printf("%s%s", r->body, r->body[r->len - 1] == '\n' ? "" : "\n");
	return code;
}

/* ---- tables --------------------------------------------------------------------- */

struct column {
	const char *title;
	const char *key;
};

#define CELL_MAX 256              /* bytes of a value shown: --json has them whole */
#define CELL_CAP (4 * CELL_MAX)   /* escaped, every byte can become \xNN */

/* A cell being written: the escaped text, and the value's bytes it may
 * still show.  Counting the bytes before escaping cuts a long value
 * between two of them, never inside an escape. */
struct cell {
	char *out;                /* CELL_CAP bytes */
	size_t len, left;
};

static void cell_add(struct cell *cl, const char *s, size_t n)
{
	if (n > cl->left)
		n = cl->left;
	log_escape(cl->out + cl->len, CELL_CAP - cl->len, s, n);
	cl->len += strlen(cl->out + cl->len);
	cl->left -= n;
}

static void cell_value(struct cell *cl, const struct json_doc *d, const struct json_node *v);

/* Arrays joined with ",", objects as k=v joined with ","; empty: "-". */
static void cell_container(struct cell *cl, const struct json_doc *d, const struct json_node *v)
{
	if (v->count == 0)
		cell_add(cl, "-", 1);
	for (const struct json_node *m = json_first(d, v); m; m = json_next(d, m)) {
		if (m != json_first(d, v))
			cell_add(cl, ",", 1);
		if (v->type == JSON_OBJECT) {
			cell_add(cl, m->key, m->key_len);
			cell_add(cl, "=", 1);
		}
		cell_value(cl, d, m);
	}
}

/* Strings (a "\u0000" in one included) and numbers as they are; null,
 * absent and "" as "-"; booleans as yes and no. */
static void cell_value(struct cell *cl, const struct json_doc *d, const struct json_node *v)
{
	if (!v || v->type == JSON_NULL || (v->type == JSON_STRING && v->len == 0))
		cell_add(cl, "-", 1);
	else if (v->type == JSON_TRUE || v->type == JSON_FALSE)
		cell_add(cl, v->type == JSON_TRUE ? "yes" : "no", v->type == JSON_TRUE ? 3 : 2);
	else if (v->type == JSON_STRING || v->type == JSON_NUMBER)
		cell_add(cl, v->str, v->len);
	else
		cell_container(cl, d, v);
}

/* One cell: the value's text, escaped for the terminal, in out. */
static const char *cell_text(const struct json_doc *d, const struct json_node *v,
			     char out[CELL_CAP])
{
	struct cell cl = { .out = out, .left = CELL_MAX };

	out[0] = '\0';
	cell_value(&cl, d, v);
	return out;
}

static const char *cell(const struct json_doc *d, const struct json_node *row, const char *key,
			char out[CELL_CAP])
{
	return cell_text(d, json_get(d, row, key), out);
}

static void widths(const struct json_doc *d, const struct json_node *rows,
		   const struct column *cols, size_t n, size_t *w)
{
	char buf[CELL_CAP];

	for (size_t k = 0; k < n; k++)
		w[k] = strlen(cols[k].title);
	for (const struct json_node *r = json_first(d, rows); r; r = json_next(d, r))
		for (size_t k = 0; k < n; k++) {
			cell(d, r, cols[k].key, buf);
			if (strlen(buf) > w[k])
				w[k] = strlen(buf);
		}
}

/* Columns two spaces apart; the last one is not padded. */
static void print_row(const char *const *cells, const size_t *w, size_t n)
{
	for (size_t k = 0; k + 1 < n; k++)
		printf("%-*s  ", (int)w[k], cells[k]);
	printf("%s\n", cells[n - 1]);
}

static void print_table(const struct json_doc *d, const struct json_node *rows,
			const struct column *cols, size_t n)
{
	static char buf[8][CELL_CAP];
	const char *cells[8];
	size_t w[8];

	if (!rows || rows->type != JSON_ARRAY || n > 8)
		return;
	widths(d, rows, cols, n, w);
	for (size_t k = 0; k < n; k++)
		cells[k] = cols[k].title;
	print_row(cells, w, n);
	for (const struct json_node *r = json_first(d, rows); r; r = json_next(d, r)) {
		for (size_t k = 0; k < n; k++)
			cells[k] = cell(d, r, cols[k].key, buf[k]);
		print_row(cells, w, n);
	}
}

/* An object as "key: value" lines, keys aligned. */
static void print_object(const struct json_doc *d, const struct json_node *obj)
{
	char key[CELL_CAP], val[CELL_CAP];
	size_t w = 0;

	if (!obj || obj->type != JSON_OBJECT)
		return;
	for (const struct json_node *m = json_first(d, obj); m; m = json_next(d, m))
		if (strlen(log_escape(key, sizeof(key), m->key, m->key_len)) > w)
			w = strlen(key);
	for (const struct json_node *m = json_first(d, obj); m; m = json_next(d, m)) {
		log_escape(key, sizeof(key), m->key, m->key_len);
		printf("%s:%*s %s\n", key, (int)(w - strlen(key)), "", cell_text(d, m, val));
	}
}

/* GET a list and show it as a table of cols. */
static int list(struct ctx *c, const char *path, const char *member,
		const struct column *cols, size_t n)
{
	struct reply rp;
	int code = call(c, "GET", path, NULL, &rp);

	if (code == EXIT_OK && !c->json)
		print_table(&rp.doc, json_get(&rp.doc, json_root(&rp.doc), member), cols, n);
	reply_free(&rp);
	return code;
}

static int show(struct ctx *c, const char *path)
{
	struct reply rp;
	int code = call(c, "GET", path, NULL, &rp);

	if (code == EXIT_OK && !c->json)
		print_object(&rp.doc, json_root(&rp.doc));
	reply_free(&rp);
	return code;
}

/* PUT or DELETE: quiet on success, unless --json has something to print. */
static int change(struct ctx *c, const char *method, const char *path, const char *body)
{
	struct reply rp;
	int code = call(c, method, path, body, &rp);

	reply_free(&rp);
	return code;
}

/* ---- request bodies ---------------------------------------------------------------- */

struct body {
	struct json j;
	FILE *f;
	char *text;
	size_t len;
};

static int body_open(struct body *b)
{
	*b = (struct body){ 0 };
	b->f = open_memstream(&b->text, &b->len);
	if (!b->f) {
		fprintf(stderr, "bsdpctl: out of memory\n");
		return -1;
	}
	json_init(&b->j, b->f, JSON_COMPACT);
	json_begin(&b->j, '{');
	return 0;
}

/* The text, or NULL when memory ran out. */
static char *body_close(struct body *b)
{
	json_end(&b->j, '}');
	json_finish(&b->j);
	if (fclose(b->f) != 0) {
		free(b->text);
		return NULL;
	}
	return b->text;
}

static void put_str(struct body *b, const char *key, const char *v)
{
	if (!v)
		return;
	json_key(&b->j, key);
	json_string(&b->j, v);
}

static void put_strv(struct body *b, const char *key, const struct strv *sv)
{
	if (sv->n == 0)
		return;
	json_key(&b->j, key);
	json_begin(&b->j, '[');
	for (size_t i = 0; i < sv->n; i++)
		json_string(&b->j, sv->v[i]);
	json_end(&b->j, ']');
}

/* --label KEY=VALUE..., checked when parsed. */
static void put_labels(struct body *b, const struct strv *labels)
{
	char key[NAME_MAX_LEN + 1];

	if (labels->n == 0)
		return;
	json_key(&b->j, "labels");
	json_begin(&b->j, '{');
	for (size_t i = 0; i < labels->n; i++) {
		const char *eq = strchr(labels->v[i], '=');

		snprintf(key, sizeof(key), "%.*s", (int)(eq - labels->v[i]), labels->v[i]);
		json_key(&b->j, key);
		json_string(&b->j, eq + 1);
	}
	json_end(&b->j, '}');
}

/* ---- reading an admin's file ----------------------------------------------------- */

static int utf8_check(const char *path, const char *text, size_t n)
{
	const uint8_t *p = (const uint8_t *)text;
	size_t at = 0, len;

	while (at < n) {
		len = p[at] ? utf8_decode(p + at, n - at, NULL) : 0;
		if (len == 0) {
			fprintf(stderr, "bsdpctl: %s: not UTF-8 text (byte %zu)\n", path, at);
			return -1;
		}
		at += len;
	}
	return 0;
}

/* The whole file ("-": standard input), at most BODY_MAX bytes, as text. */
static char *read_text_file(const char *path)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	char *buf = f ? malloc(BODY_MAX + 1) : NULL;
	size_t n = buf ? fread(buf, 1, BODY_MAX + 1, f) : 0;
	bool bad = !buf || ferror(f);

	if (!f || bad)
		fprintf(stderr, "bsdpctl: cannot read %s: %s\n", path, strerror(errno));
	else if (n > BODY_MAX)
		fprintf(stderr, "bsdpctl: %s: larger than %u KiB, bsdpd's limit\n", path,
			BODY_MAX >> 10);
	if (f && f != stdin)
		fclose(f);
	if (!f || bad || n > BODY_MAX || utf8_check(path, buf, n) < 0) {
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	return buf;
}

/* ---- commands ------------------------------------------------------------------------ */

#define API "/api/v1"
#define PATH_MAX_LEN 512

typedef int (*command_fn)(struct ctx *c, const struct cli *cli, const char *const *a);

#define STR(cli, o) ((cli)->val[(o) - OPT_PROFILE])
#define GIVEN(cli, o) (((cli)->given & BIT(o)) != 0)

/* API/what/MAC into path, or a usage error. */
static int mac_path(const char *what, const char *mac, const char *tail, char *path)
{
	char m[MAC_STR_LEN];

	if (!normalize_mac(mac, m))
		return usage_error("'%s' is not a MAC address (aa:bb:cc:dd:ee:ff)", mac);
	snprintf(path, PATH_MAX_LEN, API "/%s/%s%s", what, m, tail);
	return EXIT_OK;
}

static int name_path(const char *what, const char *name, char *path)
{
	if (!valid_name(name))
		return usage_error("'%s' is not a name: 1-%d of A-Z a-z 0-9 . _ -", name,
				   NAME_MAX_LEN);
	snprintf(path, PATH_MAX_LEN, API "/%s/%s", what, name);
	return EXIT_OK;
}

/* Sends the body, or says that it could not be built. */
static int send_body(struct ctx *c, const char *method, const char *path, struct body *b)
{
	char *text = body_close(b);
	int code;

	if (!text) {
		fprintf(stderr, "bsdpctl: out of memory\n");
		return EXIT_USAGE;
	}
	code = change(c, method, path, text);
	free(text);
	return code;
}

static const struct column machine_cols[] = {
	{ "MAC", "mac" }, { "HOSTNAME", "hostname" }, { "PROFILE", "profile" },
	{ "NEXT-BOOT", "next_boot" }, { "MODEL", "model" }, { "ARCH", "arch" },
	{ "IP", "ip" }, { "LAST-SEEN", "last_seen" },
};

static int cmd_machines(struct ctx *c, const struct cli *cli, const char *const *a)
{
	(void)cli;
	(void)a;
	return list(c, API "/machines", "machines", machine_cols, ARRAY_SIZE(machine_cols));
}

static int cmd_machine_show(struct ctx *c, const struct cli *cli, const char *const *a)
{
	char path[PATH_MAX_LEN];
	int code = mac_path("machines", a[0], "", path);

	(void)cli;
	return code != EXIT_OK ? code : show(c, path);
}

static int cmd_machine_set(struct ctx *c, const struct cli *cli, const char *const *a)
{
	char path[PATH_MAX_LEN];
	struct body b;
	int code = mac_path("machines", a[0], "", path);

	if (code != EXIT_OK)
		return code;
	if (body_open(&b) < 0)
		return EXIT_USAGE;
	put_str(&b, "profile", STR(cli, OPT_PROFILE));
	put_str(&b, "hostname", STR(cli, OPT_HOSTNAME));
	put_labels(&b, &cli->labels);
	put_str(&b, "local", STR(cli, OPT_LOCAL));
	put_str(&b, "image", STR(cli, OPT_IMAGE));
	return send_body(c, "PUT", path, &b);
}

static int cmd_machine_delete(struct ctx *c, const struct cli *cli, const char *const *a)
{
	char path[PATH_MAX_LEN];
	int code = mac_path("machines", a[0], "", path);

	(void)cli;
	return code != EXIT_OK ? code : change(c, "DELETE", path, NULL);
}

/* next-boot MAC PROFILE | next-boot MAC --clear */
static int cmd_next_boot(struct ctx *c, const struct cli *cli, const char *const *a)
{
	char path[PATH_MAX_LEN];
	struct body b;
	int code = mac_path("machines", a[0], "/next-boot", path);

	if (code != EXIT_OK)
		return code;
	if (GIVEN(cli, OPT_CLEAR) == (a[1] != NULL))
		return usage_error("next-boot takes a PROFILE or --clear (one of them)");
	if (GIVEN(cli, OPT_CLEAR))
		return change(c, "DELETE", path, NULL);
	if (!valid_name(a[1]))
		return usage_error("'%s' is not a profile name", a[1]);
	if (body_open(&b) < 0)
		return EXIT_USAGE;
	put_str(&b, "profile", a[1]);
	return send_body(c, "PUT", path, &b);
}

static const struct column profile_cols[] = {
	{ "NAME", "name" }, { "KIND", "kind" }, { "DESCRIPTION", "description" },
};

static int cmd_profiles(struct ctx *c, const struct cli *cli, const char *const *a)
{
	(void)cli;
	(void)a;
	return list(c, API "/profiles", "profiles", profile_cols, ARRAY_SIZE(profile_cols));
}

static int cmd_profile_show(struct ctx *c, const struct cli *cli, const char *const *a)
{
	char path[PATH_MAX_LEN];
	int code = name_path("profiles", a[0], path);

	(void)cli;
	return code != EXIT_OK ? code : show(c, path);
}

static void put_profile_fields(struct body *b, const struct cli *cli, const char *tmpl)
{
	put_str(b, "kind", STR(cli, OPT_KIND));
	put_str(b, "description", STR(cli, OPT_DESCRIPTION));
	put_str(b, "kernel", STR(cli, OPT_KERNEL));
	put_strv(b, "initrds", &cli->initrds);
	put_str(b, "cmdline", STR(cli, OPT_CMDLINE));
	put_str(b, "chain", STR(cli, OPT_CHAIN));
	put_strv(b, "items", &cli->items);
	put_str(b, "default", STR(cli, OPT_DEFAULT));
	if (GIVEN(cli, OPT_TIMEOUT)) {
		json_key(&b->j, "timeout");
		json_uint(&b->j, cli->timeout);
	}
	put_str(b, "template", tmpl);
	put_str(b, "local", STR(cli, OPT_LOCAL));
}

static int cmd_profile_set(struct ctx *c, const struct cli *cli, const char *const *a)
{
	char path[PATH_MAX_LEN], *tmpl = NULL;
	struct body b;
	int code = name_path("profiles", a[0], path);

	if (code != EXIT_OK)
		return code;
	if (!GIVEN(cli, OPT_KIND))
		return usage_error("profile set needs --kind");
	if (GIVEN(cli, OPT_TEMPLATE_FILE) && !(tmpl = read_text_file(STR(cli, OPT_TEMPLATE_FILE))))
		return EXIT_USAGE;
	if (body_open(&b) < 0) {
		free(tmpl);
		return EXIT_USAGE;
	}
	put_profile_fields(&b, cli, tmpl);
	free(tmpl);
	return send_body(c, "PUT", path, &b);
}

static int cmd_profile_put(struct ctx *c, const struct cli *cli, const char *const *a)
{
	char path[PATH_MAX_LEN], *text;
	int code = name_path("profiles", a[0], path);

	(void)cli;
	if (code != EXIT_OK)
		return code;
	if (!(text = read_text_file(a[1])))
		return EXIT_USAGE;
	code = change(c, "PUT", path, text);
	free(text);
	return code;
}

static int cmd_profile_delete(struct ctx *c, const struct cli *cli, const char *const *a)
{
	char path[PATH_MAX_LEN];
	int code = name_path("profiles", a[0], path);

	(void)cli;
	return code != EXIT_OK ? code : change(c, "DELETE", path, NULL);
}

static const struct column group_cols[] = {
	{ "NAME", "name" }, { "PRIORITY", "priority" }, { "PROFILE", "profile" },
	{ "LOCAL", "local" }, { "SELECTOR", "selector" },
};

static int cmd_groups(struct ctx *c, const struct cli *cli, const char *const *a)
{
	(void)cli;
	(void)a;
	return list(c, API "/groups", "groups", group_cols, ARRAY_SIZE(group_cols));
}

static void put_selector(struct body *b, const struct cli *cli)
{
	json_key(&b->j, "selector");
	json_begin(&b->j, '{');
	put_str(b, "mac_prefix", STR(cli, OPT_MAC_PREFIX));
	put_str(b, "model", STR(cli, OPT_MODEL));
	put_str(b, "arch", STR(cli, OPT_ARCH));
	put_labels(b, &cli->labels);
	json_end(&b->j, '}');
}

static int cmd_group_set(struct ctx *c, const struct cli *cli, const char *const *a)
{
	char path[PATH_MAX_LEN];
	struct body b;
	int code = name_path("groups", a[0], path);

	if (code != EXIT_OK)
		return code;
	if (!GIVEN(cli, OPT_PROFILE))
		return usage_error("group set needs --profile");
	if (body_open(&b) < 0)
		return EXIT_USAGE;
	put_selector(&b, cli);
	put_str(&b, "profile", STR(cli, OPT_PROFILE));
	if (GIVEN(cli, OPT_PRIORITY)) {
		json_key(&b.j, "priority");
		json_uint(&b.j, cli->priority);
	}
	put_str(&b, "local", STR(cli, OPT_LOCAL));
	put_str(&b, "image", STR(cli, OPT_IMAGE));
	return send_body(c, "PUT", path, &b);
}

static int cmd_group_delete(struct ctx *c, const struct cli *cli, const char *const *a)
{
	char path[PATH_MAX_LEN];
	int code = name_path("groups", a[0], path);

	(void)cli;
	return code != EXIT_OK ? code : change(c, "DELETE", path, NULL);
}

static int cmd_default(struct ctx *c, const struct cli *cli, const char *const *a)
{
	struct body b;

	(void)cli;
	if (!a[0])
		return show(c, API "/default");
	if (!valid_name(a[0]))
		return usage_error("'%s' is not a profile name", a[0]);
	if (body_open(&b) < 0)
		return EXIT_USAGE;
	put_str(&b, "profile", a[0]);
	return send_body(c, "PUT", API "/default", &b);
}

static const struct column image_cols[] = {
	{ "ID", "id" }, { "NAME", "name" }, { "KIND", "kind" }, { "ARCH", "arch" },
	{ "DEFAULT", "default" }, { "BOOTER", "booter" },
};
static const struct column problem_cols[] = { { "BUNDLE", "bundle" }, { "ERROR", "error" } };

static int cmd_catalog(struct ctx *c, const struct cli *cli, const char *const *a)
{
	const struct json_node *problems;
	struct reply rp;
	int code = call(c, "GET", API "/catalog", NULL, &rp);
	const struct json_doc *d = &rp.doc;

	(void)cli;
	(void)a;
	if (code == EXIT_OK && !c->json) {
		print_table(d, json_get(d, json_root(d), "images"), image_cols,
			    ARRAY_SIZE(image_cols));
		problems = json_get(d, json_root(d), "problems");
		if (problems && problems->type == JSON_ARRAY && problems->count > 0) {
			printf("\n");
			print_table(d, problems, problem_cols, ARRAY_SIZE(problem_cols));
		}
	}
	reply_free(&rp);
	return code;
}

/* ---- events ------------------------------------------------------------------------ */

static const struct column event_cols[] = {
	{ "TIME", "time" }, { "MAC", "mac" }, { "KIND", "kind" }, { "OK", "ok" },
	{ "BYTES", "bytes" }, { "MS", "duration_ms" }, { "RULE", "rule" },
	{ "DETAIL", "detail" },
};
/* With --follow rows arrive one by one: fixed widths instead of measured. */
static const size_t event_widths[] = { 27, 17, 12, 3, 10, 6, 12, 0 };

struct follow {
	struct ctx *c;
	char mac[MAC_STR_LEN];          /* "" for every machine */
	int64_t last_id;                /* the newest printed: the stream may overlap */
	char line[BODY_MAX];
	size_t line_len;
	char data[BODY_MAX];
	size_t data_len;
	bool overflow;                  /* this event is too big: dropped */
};

/* The event's id, 0 when it has none the stream could repeat. */
static int64_t event_id(const struct json_doc *d, const struct json_node *ev)
{
	int64_t id;

	return json_int64(json_get(d, ev, "id"), &id) == 0 && id > 0 ? id : 0;
}

static bool event_wanted(const struct follow *fw, const struct json_doc *d,
			 const struct json_node *ev)
{
	const char *mac;
	size_t n;

	if (event_id(d, ev) != 0 && event_id(d, ev) <= fw->last_id)
		return false;
	return !fw->mac[0] || (json_string_get(json_get(d, ev, "mac"), &mac, &n) == 0 &&
			       n == strlen(fw->mac) && memcmp(mac, fw->mac, n) == 0);
}

static void print_event_row(const struct json_doc *d, const struct json_node *ev)
{
	static char buf[ARRAY_SIZE(event_cols)][CELL_CAP];
	const char *cells[ARRAY_SIZE(event_cols)];

	for (size_t k = 0; k < ARRAY_SIZE(event_cols); k++)
		cells[k] = cell(d, ev, event_cols[k].key, buf[k]);
	print_row(cells, event_widths, ARRAY_SIZE(event_cols));
}

static void print_event(struct follow *fw, const struct json_doc *d, const char *json)
{
	const struct json_node *ev = json_root(d);

	if (!event_wanted(fw, d, ev))
		return;
	if (event_id(d, ev) > fw->last_id)
		fw->last_id = event_id(d, ev);
	if (fw->c->json)
		printf("%s\n", json);
	else
		print_event_row(d, ev);
	fflush(stdout);
}

/* A blank line ends an event (the HTML Living Standard's event-stream
 * interpretation): its data lines, joined, are one JSON event. */
static void dispatch_event(struct follow *fw)
{
	struct json_parse_error perr;
	struct json_doc d;

	if (!fw->overflow && fw->data_len > 0) {
		fw->data[fw->data_len] = '\0';
		if (json_parse(fw->data, fw->data_len, &d, &perr) == 0)
			print_event(fw, &d, fw->data);
		json_doc_free(&d);
	}
	fw->data_len = 0;
	fw->overflow = false;
}

static void sse_line(struct follow *fw, char *line, size_t n)
{
	if (n > 0 && line[n - 1] == '\r')
		line[--n] = '\0';
	if (n == 0) {
		dispatch_event(fw);
		return;
	}
	if (strncmp(line, "data:", 5) != 0)
		return; /* id:, event:, retry: and comments: the JSON has it all */
	line += line[5] == ' ' ? 6 : 5;
	n = strlen(line);
	if (n + 1 > sizeof(fw->data) - 1 - fw->data_len) {
		fw->overflow = true;
		return;
	}
	if (fw->data_len > 0)
		fw->data[fw->data_len++] = '\n';
	memcpy(fw->data + fw->data_len, line, n);
	fw->data_len += n;
}

static int on_stream_bytes(void *ctx, const char *p, size_t n)
{
	struct follow *fw = ctx;

	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\n') {
			fw->line[fw->line_len] = '\0';
			sse_line(fw, fw->line, fw->line_len);
			fw->line_len = 0;
		} else if (fw->line_len < sizeof(fw->line) - 1) {
			fw->line[fw->line_len++] = p[i];
		} else {
			fw->overflow = true;
		}
	}
	return 0;
}

/* GET /api/v1/events?mac=..&since=..&limit=.. */
static void events_path(const struct cli *cli, const char *mac, char *path)
{
	char since[256];
	size_t len = (size_t)snprintf(path, PATH_MAX_LEN, API "/events");
	const char *sep = "?";

	if (mac[0]) {
		len += (size_t)snprintf(path + len, PATH_MAX_LEN - len, "%smac=%s", sep, mac);
		sep = "&";
	}
	if (GIVEN(cli, OPT_SINCE)) {
		pct_encode(STR(cli, OPT_SINCE), since, sizeof(since));
		len += (size_t)snprintf(path + len, PATH_MAX_LEN - len, "%ssince=%s", sep, since);
		sep = "&";
	}
	if (GIVEN(cli, OPT_LIMIT))
		snprintf(path + len, PATH_MAX_LEN - len, "%slimit=%lu", sep, cli->limit);
}

static int past_events(struct ctx *c, const struct cli *cli, struct follow *fw)
{
	char path[PATH_MAX_LEN];
	const struct json_node *evs;
	const struct json_doc *d;
	struct reply rp;
	int code;

	events_path(cli, fw->mac, path);
	code = call(c, "GET", path, NULL, &rp);
	d = &rp.doc;
	evs = json_get(d, json_root(d), "events");
	if (code == EXIT_OK && !c->json && !GIVEN(cli, OPT_FOLLOW))
		print_table(d, evs, event_cols, ARRAY_SIZE(event_cols));
	else if (code == EXIT_OK && !c->json)
		print_row((const char *[]){ "TIME", "MAC", "KIND", "OK", "BYTES", "MS", "RULE",
					    "DETAIL" }, event_widths, ARRAY_SIZE(event_cols));
	for (const struct json_node *ev = json_first(d, evs); code == EXIT_OK && ev;
	     ev = json_next(d, ev)) {
		if (event_id(d, ev) > fw->last_id)
			fw->last_id = event_id(d, ev);
		if (GIVEN(cli, OPT_FOLLOW) && !c->json)
			print_event_row(d, ev);
	}
	reply_free(&rp);
	return code;
}

static int follow_stream(struct ctx *c, struct follow *fw)
{
	char err[512], e[1024];
	struct ctl_reply r;
	int code;

	fflush(stdout);
	if (ctl_stream(&c->http, API "/events/stream", on_stream_bytes, fw, &r, err,
		       sizeof(err)) < 0) {
		fprintf(stderr, "bsdpctl: cannot reach bsdpd: %s\n", esc(err, e, sizeof(e)));
		return EXIT_UNREACHABLE;
	}
	code = answer_status(c, &r);
	ctl_reply_free(&r);
	if (code == EXIT_OK)
		fprintf(stderr, "bsdpctl: bsdpd closed the event stream\n");
	return code == EXIT_OK ? EXIT_UNREACHABLE : code;
}

static int cmd_events(struct ctx *c, const struct cli *cli, const char *const *a)
{
	struct follow *fw = calloc(1, sizeof(*fw));
	int code = EXIT_OK;

	(void)a;
	if (!fw)
		return EXIT_USAGE;
	fw->c = c;
	if (GIVEN(cli, OPT_MAC) && !normalize_mac(STR(cli, OPT_MAC), fw->mac))
		code = usage_error("'%s' is not a MAC address (aa:bb:cc:dd:ee:ff)",
				   STR(cli, OPT_MAC));
	if (code == EXIT_OK)
		code = past_events(c, cli, fw);
	if (code == EXIT_OK && GIVEN(cli, OPT_FOLLOW))
		code = follow_stream(c, fw);
	free(fw);
	return code;
}

/* ---- the command line ------------------------------------------------------------- */

#define MACHINE_OPTS (BIT(OPT_PROFILE) | BIT(OPT_HOSTNAME) | BIT(OPT_LABEL) | \
		      BIT(OPT_LOCAL) | BIT(OPT_IMAGE))
#define PROFILE_OPTS (BIT(OPT_KIND) | BIT(OPT_DESCRIPTION) | BIT(OPT_KERNEL) | \
		      BIT(OPT_INITRD) | BIT(OPT_CMDLINE) | BIT(OPT_CHAIN) | BIT(OPT_ITEM) | \
		      BIT(OPT_DEFAULT) | BIT(OPT_TIMEOUT) | BIT(OPT_TEMPLATE_FILE) | \
		      BIT(OPT_LOCAL))
#define GROUP_OPTS (BIT(OPT_MAC_PREFIX) | BIT(OPT_MODEL) | BIT(OPT_ARCH) | BIT(OPT_LABEL) | \
		    BIT(OPT_PROFILE) | BIT(OPT_PRIORITY) | BIT(OPT_LOCAL) | BIT(OPT_IMAGE))
#define EVENT_OPTS (BIT(OPT_MAC) | BIT(OPT_SINCE) | BIT(OPT_LIMIT) | BIT(OPT_FOLLOW))

struct command {
	const char *name, *sub;         /* sub NULL: none */
	unsigned min_args, max_args;    /* after name and sub */
	uint32_t opts;                  /* BIT()s it accepts */
	command_fn run;
	const char *usage;
};

static const struct command commands[] = {
	{ "machines", NULL, 0, 0, 0, cmd_machines, "machines [list]" },
	{ "machines", "list", 0, 0, 0, cmd_machines, "machines [list]" },
	{ "machine", "show", 1, 1, 0, cmd_machine_show, "machine show MAC" },
	{ "machine", "set", 1, 1, MACHINE_OPTS, cmd_machine_set, "machine set MAC [OPTIONS]" },
	{ "machine", "delete", 1, 1, 0, cmd_machine_delete, "machine delete MAC" },
	{ "next-boot", NULL, 1, 2, BIT(OPT_CLEAR), cmd_next_boot,
	  "next-boot MAC PROFILE | next-boot MAC --clear" },
	{ "profiles", NULL, 0, 0, 0, cmd_profiles, "profiles" },
	{ "profile", "show", 1, 1, 0, cmd_profile_show, "profile show NAME" },
	{ "profile", "set", 1, 1, PROFILE_OPTS, cmd_profile_set,
	  "profile set NAME --kind KIND [OPTIONS]" },
	{ "profile", "put", 2, 2, 0, cmd_profile_put, "profile put NAME FILE" },
	{ "profile", "delete", 1, 1, 0, cmd_profile_delete, "profile delete NAME" },
	{ "groups", NULL, 0, 0, 0, cmd_groups, "groups" },
	{ "group", "set", 1, 1, GROUP_OPTS, cmd_group_set, "group set NAME --profile P [OPTIONS]" },
	{ "group", "delete", 1, 1, 0, cmd_group_delete, "group delete NAME" },
	{ "default", NULL, 0, 1, 0, cmd_default, "default [PROFILE]" },
	{ "catalog", NULL, 0, 0, 0, cmd_catalog, "catalog" },
	{ "events", NULL, 0, 0, EVENT_OPTS, cmd_events,
	  "events [--mac MAC] [--since TIME] [--limit N] [--follow]" },
};

static const struct option long_opts[] = {
	{ "server", required_argument, NULL, 's' },
	{ "token-file", required_argument, NULL, OPT_TOKEN_FILE },
	{ "json", no_argument, NULL, 'j' },
	{ "help", no_argument, NULL, 'h' },
	{ "profile", required_argument, NULL, OPT_PROFILE },
	{ "hostname", required_argument, NULL, OPT_HOSTNAME },
	{ "label", required_argument, NULL, OPT_LABEL },
	{ "local", required_argument, NULL, OPT_LOCAL },
	{ "image", required_argument, NULL, OPT_IMAGE },
	{ "clear", no_argument, NULL, OPT_CLEAR },
	{ "kind", required_argument, NULL, OPT_KIND },
	{ "kernel", required_argument, NULL, OPT_KERNEL },
	{ "initrd", required_argument, NULL, OPT_INITRD },
	{ "cmdline", required_argument, NULL, OPT_CMDLINE },
	{ "chain", required_argument, NULL, OPT_CHAIN },
	{ "item", required_argument, NULL, OPT_ITEM },
	{ "default", required_argument, NULL, OPT_DEFAULT },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "template-file", required_argument, NULL, OPT_TEMPLATE_FILE },
	{ "description", required_argument, NULL, OPT_DESCRIPTION },
	{ "mac-prefix", required_argument, NULL, OPT_MAC_PREFIX },
	{ "model", required_argument, NULL, OPT_MODEL },
	{ "arch", required_argument, NULL, OPT_ARCH },
	{ "priority", required_argument, NULL, OPT_PRIORITY },
	{ "mac", required_argument, NULL, OPT_MAC },
	{ "since", required_argument, NULL, OPT_SINCE },
	{ "limit", required_argument, NULL, OPT_LIMIT },
	{ "follow", no_argument, NULL, OPT_FOLLOW },
	{ NULL, 0, NULL, 0 },
};

static const char *option_name(int opt)
{
	for (size_t i = 0; long_opts[i].name; i++)
		if (long_opts[i].val == opt)
			return long_opts[i].name;
	return "?";
}

/* A decimal number, 0 to max, all of it. */
static int parse_number(int opt, const char *s, unsigned long max, unsigned long *out)
{
	char *end;

	errno = 0;
	*out = strtoul(s, &end, 10);
	if (!*s || *end || errno || *s == '-' || *s == '+' || *out > max)
		return usage_error("--%s: '%s' is not a number from 0 to %lu", option_name(opt),
				   s, max);
	return EXIT_OK;
}

static int add_item(int opt, struct strv *sv, const char *v)
{
	if (sv->n == LIST_MAX)
		return usage_error("--%s: at most %d", option_name(opt), LIST_MAX);
	if (opt == OPT_LABEL && (!strchr(v, '=') || v[0] == '=' ||
				 (size_t)(strchr(v, '=') - v) > NAME_MAX_LEN))
		return usage_error("--label: '%s' is not KEY=VALUE", v);
	sv->v[sv->n++] = v;
	return EXIT_OK;
}

static int command_option(struct cli *cli, int opt, const char *arg)
{
	if (cli->given & BIT(opt) && opt != OPT_LABEL && opt != OPT_INITRD && opt != OPT_ITEM)
		return usage_error("--%s given twice", option_name(opt));
	cli->given |= BIT(opt);
	switch (opt) {
	case OPT_LABEL: return add_item(opt, &cli->labels, arg);
	case OPT_INITRD: return add_item(opt, &cli->initrds, arg);
	case OPT_ITEM: return add_item(opt, &cli->items, arg);
	case OPT_TIMEOUT: return parse_number(opt, arg, 3600, &cli->timeout);
	case OPT_PRIORITY: return parse_number(opt, arg, 1000000, &cli->priority);
	case OPT_LIMIT: return parse_number(opt, arg, 1000000, &cli->limit);
	default:
		cli->val[opt - OPT_PROFILE] = arg;
		return EXIT_OK;
	}
}

static int parse_option(struct cli *cli, int opt, const char *arg)
{
	switch (opt) {
	case 's': cli->server = arg; return EXIT_OK;
	case OPT_TOKEN_FILE: cli->token_file = arg; return EXIT_OK;
	case 'j': cli->json = true; return EXIT_OK;
	case 'h': cli->help = true; return EXIT_OK;
	case '?': /* getopt said why */
		fputs("bsdpctl: try bsdpctl --help\n", stderr);
		return EXIT_USAGE;
	default: return command_option(cli, opt, arg);
	}
}

static int parse_args(int argc, char **argv, struct cli *cli)
{
	int opt, code;

	opterr = 1;
	while ((opt = getopt_long(argc, argv, "s:jh", long_opts, NULL)) != -1)
		if ((code = parse_option(cli, opt, optarg)) != EXIT_OK)
			return code;
	for (; optind < argc; optind++) {
		if (cli->n_args == ARRAY_SIZE(cli->args))
			return usage_error("too many arguments");
		cli->args[cli->n_args++] = argv[optind];
	}
	return EXIT_OK;
}

static const struct command *find_command(const struct cli *cli)
{
	const char *name = cli->args[0], *sub = cli->n_args > 1 ? cli->args[1] : NULL;

	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		if (strcmp(commands[i].name, name) == 0 && commands[i].sub && sub &&
		    strcmp(commands[i].sub, sub) == 0)
			return &commands[i];
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		if (strcmp(commands[i].name, name) == 0 && !commands[i].sub)
			return &commands[i];
	return NULL;
}

/* Names the sub-commands of name, for "machine" alone or "machine frob". */
static int unknown_command(const struct cli *cli)
{
	char subs[128] = "";
	size_t len = 0;

	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		if (strcmp(commands[i].name, cli->args[0]) == 0 && commands[i].sub)
			len += (size_t)snprintf(subs + len, sizeof(subs) - len, "%s%s",
						len ? ", " : "", commands[i].sub);
	if (!subs[0])
		return usage_error("unknown command '%s'", cli->args[0]);
	if (cli->n_args < 2)
		return usage_error("'%s' needs one of: %s", cli->args[0], subs);
	return usage_error("unknown command '%s %s' (%s takes: %s)", cli->args[0], cli->args[1],
			   cli->args[0], subs);
}

static int check_usage(const struct command *cmd, const struct cli *cli)
{
	size_t skip = cmd->sub ? 2 : 1, n = cli->n_args - skip;

	if (n < cmd->min_args || n > cmd->max_args)
		return usage_error("usage: bsdpctl %s", cmd->usage);
	for (int o = OPT_PROFILE; o < OPT_END; o++)
		if ((cli->given & BIT(o)) && !(cmd->opts & BIT(o)))
			return usage_error("--%s does not apply to '%s%s%s'", option_name(o),
					   cmd->name, cmd->sub ? " " : "", cmd->sub ? cmd->sub : "");
	return EXIT_OK;
}

/* http:// or https://, host and optional port, no path (the API's paths
 * are added to it); a trailing '/' is dropped. */
static int server_url(const struct cli *cli, char *out, size_t cap)
{
	const char *env = getenv("BSDPCTL_SERVER");
	const char *s = cli->server ? cli->server : env && *env ? env : DEFAULT_SERVER;
	const char *rest = strncmp(s, "http://", 7) == 0 ? s + 7
			 : strncmp(s, "https://", 8) == 0 ? s + 8 : NULL;
	size_t n = strlen(s);

	while (n > 0 && s[n - 1] == '/')
		n--;
	if (!rest || (size_t)(rest - s) >= n || n >= cap || memchr(rest, '/', n - (size_t)(rest - s)) ||
	    strpbrk(s, " \t\r\n?#@"))
		return usage_error("%s '%s' is not http://HOST[:PORT] or https://HOST[:PORT]",
				   cli->server ? "--server" : env && *env ? "BSDPCTL_SERVER" :
				   "the default server", s);
	snprintf(out, cap, "%.*s", (int)n, s);
	return EXIT_OK;
}

static int run(const struct cli *cli, const struct command *cmd)
{
	struct ctx c = { .cli = cli, .json = cli->json };
	char server[256];
	int code = server_url(cli, server, sizeof(server));

	if (code != EXIT_OK)
		return code;
	c.http = (struct ctl_http){ .server = server, .token = c.token,
				    .timeout_s = REQUEST_TIMEOUT_S };
	if (ctl_http_init() < 0) {
		fprintf(stderr, "bsdpctl: cannot start the HTTP client\n");
		return EXIT_UNREACHABLE;
	}
	code = cmd->run(&c, cli, cli->args + (cmd->sub ? 2 : 1));
	ctl_http_done();
	return code;
}

int main(int argc, char **argv)
{
	static struct cli cli;
	const struct command *cmd;
	int code = parse_args(argc, argv, &cli);

	if (code != EXIT_OK)
		return code;
	if (cli.help) {
		help();
		return EXIT_OK;
	}
	if (cli.n_args == 0)
		return usage_error("no command given");
	if (!(cmd = find_command(&cli)))
		return unknown_command(&cli);
	code = check_usage(cmd, &cli);
	return code != EXIT_OK ? code : run(&cli, cmd);
}
