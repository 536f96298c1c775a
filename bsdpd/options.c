/* SPDX-License-Identifier: MIT */
#include "options.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "bindings.h"
#include "db.h"
#include "bsdp.h"
#include "http.h"
#include "log.h"
#include "policy.h"
#include "proxydhcp.h"
#include "store.h"
#include "tftp.h"
#include "tftp_server.h"

#define MAX_BINDINGS_LIMIT 10000000
#define MAX_EXPIRY_DAYS 36500
#define MAX_EVENTS_LIMIT 100000000
#define STR(x) #x
#define XSTR(x) STR(x)

const char options_usage[] =
"Usage: bsdpd [--conf FILE] [OPTION]...\n"
"       bsdpd --check [--conf FILE] [OPTION]...\n"
"\n"
"Answer Apple NetBoot (BSDP) requests from Macs with the .nbi images found\n"
"directly under DIR.  bsdpd answers exactly as Apple's bootpd did: an\n"
"INFORM[LIST] gets the list of images that suit the Mac's architecture,\n"
"model and MAC address; an INFORM[SELECT] gets the boot file, and the\n"
"choice is remembered so that later boots (N key, Startup Disk) find it.\n"
"bsdpd never hands out IP addresses and never answers a client that did\n"
"not ask for BSDP, so it can share a LAN with the site's DHCP server.\n"
"It also serves the boot files by TFTP from the same DIR, so the path it\n"
"announces is the path it serves.\n"
"\n"
"For PCs, and for the iPXE a Mac boots into, bsdpd is a proxyDHCP server\n"
"beside the site's DHCP server: PXE firmware gets a booter by TFTP, iPXE\n"
"gets the URL of its script, http://ADDRESS/boot.ipxe, from bsdpd's own\n"
"HTTP server.  A proxy reply never carries an address.\n"
"\n"
"What each machine boots is its policy, kept with the bindings and set\n"
"through the JSON API at http://ADDRESS/api/v1/ (bsdpctl(1) is its\n"
"command line): profiles (local disk, Linux, chain, menu, shell, script),\n"
"machines, groups and a default; a machine's next boot only, then back\n"
"to normal.  The API wants the token in STATE-DIR/api-token, made at the\n"
"first start.  Every stage of every boot is an event, read back through\n"
"the API or live; /metrics has counters for Prometheus.\n"
"\n"
"Options:\n"
"      --conf FILE       read options from FILE, one long option a line\n"
"                        without its \"--\" (root=/srv/netboot, no-tftp);\n"
"                        '#' starts a comment; options given here override\n"
"                        the file's (default " DEFAULT_CONF " when it exists)\n"
"  -r, --root DIR        directory holding NAME.nbi bundles (default " DEFAULT_ROOT ")\n"
"  -s, --state-dir DIR   where client bindings, the boot policy and its\n"
"                        events are kept, in bindings.sqlite, and the API\n"
"                        token, in api-token\n"
"                        (default " DEFAULT_STATE_DIR "); DIR must be a real\n"
"                        directory, owned by root or USER, not writable by\n"
"                        group or others\n"
"      --database URL    keep the bindings, the boot policy and its events in\n"
"                        the PostgreSQL database of URL (postgresql://...),\n"
"                        which several bsdpd may share, instead of the\n"
"                        SQLite file in the state directory (sqlite:, the\n"
"                        default)\n"
"      --max-bindings N  keep at most N bindings, 1-" XSTR(MAX_BINDINGS_LIMIT) " (default\n"
"                        " XSTR(BINDINGS_DEFAULT_MAX) "); a new client beyond them evicts the one\n"
"                        seen least recently\n"
"      --binding-expiry DAYS\n"
"                        forget a client not seen (SELECT, LIST, DISCOVER)\n"
"                        for DAYS days, 0 for never (default " XSTR(BINDINGS_DEFAULT_EXPIRY_DAYS) ")\n"
"      --max-events N    keep at most N boot events, 1-" XSTR(MAX_EVENTS_LIMIT) "\n"
"                        (default " XSTR(STORE_EVENTS_DEFAULT_MAX) "); the oldest go first\n"
"      --event-expiry DAYS\n"
"                        drop boot events older than DAYS days, 1-" XSTR(MAX_EXPIRY_DAYS) "\n"
"                        (default " XSTR(STORE_EVENTS_DEFAULT_AGE_DAYS) ")\n"
"  -i, --interface IF    serve only this interface; repeat for several\n"
"                        (default: every up, broadcast-capable interface)\n"
"  -p, --priority N      BSDP server priority 0-65535 (default 32768); like\n"
"                        Apple's, it drops by one per bound client, so Macs\n"
"                        spread across several servers\n"
"  -H, --hostname NAME   server name sent in ACK[SELECT], 1-" XSTR(HOSTNAME_MAX) " bytes\n"
"                        (default: host name)\n"
"      --no-tftp         do not serve TFTP\n"
"      --tftp-port N     UDP port for TFTP requests (default 69)\n"
"      --tftp-max-blksize N\n"
"                        largest TFTP block size granted, 512-65464 (default\n"
"                        1468); the receiving link's MTU - 32 caps it too\n"
"      --tftp-single-port\n"
"                        keep every TFTP transfer on the TFTP port instead of\n"
"                        one port per transfer (for NAT and firewalls)\n"
"      --tftp-max-transfers N\n"
"                        concurrent TFTP transfers, 1-65535 (default 1000);\n"
"                        a request beyond them gets an error at once, unless\n"
"                        it can replace one not yet acknowledged by its client\n"
"      --tftp-max-per-client N\n"
"                        concurrent TFTP transfers to one IP address, 1-65535\n"
"                        (default 8; firmware fetches one file at a time); a\n"
"                        request beyond them gets an error at once\n"
"      --proxy-dhcp off|known|all\n"
"                        which PXE and iPXE clients get proxy offers on ports\n"
"                        67 and 4011 (default known: only machines bsdpd has\n"
"                        seen boot through it, by a BSDP binding or a TFTP\n"
"                        download in the last 10 minutes; all: every one)\n"
"      --boot-file ARCH=PATH\n"
"                        the booter PXE firmware of ARCH gets, PATH under DIR;\n"
"                        ARCH is bios, efi-ia32, efi-x64, efi-arm64, http-x64\n"
"                        or its option-93 number; repeat for several (default\n"
"                        for EFI: the default NetBoot image's booter when it\n"
"                        is a plain EFI application of that type)\n"
"      --no-http         do not serve HTTP (iPXE then gets no script URL)\n"
"      --http-port N     TCP port of the HTTP server (default 80)\n"
"      --http-root DIR   where HTTP files and the boot.ipxe template live\n"
"                        (default: the --root DIR)\n"
"      --http-base URL   where rendered scripts fetch kernels, initrds and EFI\n"
"                        binaries: an HTTP cache or mirror of the HTTP root,\n"
"                        http:// or https:// (default: bsdpd itself); the\n"
"                        script still comes from bsdpd, and a next boot is\n"
"                        spent when its script is served\n"
"      --http-max-connections N\n"
"                        concurrent HTTP connections, 1-65535 (default 256);\n"
"                        beyond them a request gets 503 with Retry-After,\n"
"                        which iPXE honours, so a boot storm is paced\n"
"  -u, --user USER       once the sockets are bound, run as USER; the state\n"
"                        directory is given to USER and the database opened\n"
"                        as USER (default: keep running as the user that\n"
"                        started bsdpd)\n"
"  -f, --foreground      stay in the foreground and log to standard error\n"
"                        (default: detach and log to syslog)\n"
"  -n, --check           check the options and the configuration file, print\n"
"                        the catalog as the server sees it, with every\n"
"                        problem, check the boot files, the boot.ipxe\n"
"                        template and the files the boot profiles name, and\n"
"                        exit: 0 when nothing has an error, 1 when something\n"
"                        has, 2 when an option is wrong or DIR cannot be read\n"
"  -v, --verbose         also log debug messages\n"
"  -q, --quiet           log only warnings and errors\n"
"  -h, --help            show this help and exit\n"
"  -V, --version         show the version and exit\n"
"\n"
"Every option but --conf, --check, --help and --version can be a line of\n"
"the configuration file.\n"
"\n"
"Signals: SIGHUP re-reads the configuration file, the image root and the\n"
"boot.ipxe template; when the file has an error nothing changes.  Of the\n"
"options, --verbose, --quiet, --priority, --hostname, --proxy-dhcp (but not\n"
"to or from off), --boot-file, --tftp-max-blksize and --tftp-max-per-client\n"
"change at once; a change to any other is logged as needing a restart.\n"
"SIGINT and SIGTERM stop.\n"
"\n"
"Examples:\n"
"  bsdpd --check --root /srv/netboot\n"
"  bsdpd --check --conf /etc/bsdpd.conf\n"
"  bsdpd --foreground --root /srv/netboot --interface eth1\n"
"  bsdpd --foreground --root /srv/netboot --tftp-single-port --tftp-max-blksize 1400\n"
"  bsdpd --root /srv/netboot --interface eth1 --proxy-dhcp all \\\n"
"        --boot-file efi-x64=iPXE.nbi/i386/booter\n"
"\n"
"Each bundle is DIR/NAME.nbi with an NBImageInfo.plist and the boot file\n"
"at NAME.nbi/<arch>/<BootFile>; build one with nbi(1).  A bundle with an\n"
"error is skipped with one log line naming the file and the reason; the\n"
"others keep serving.\n";


/* ---- the table ----------------------------------------------------------- */

/* LIVE: SIGHUP applies it.  RESTART: it shaped sockets, the user or the
 * directories opened at start-up.  CMDLINE: not a key of the file (it
 * names the file, or is a command, not a setting). */
enum option_scope { LIVE, RESTART, CMDLINE };

struct option_def;
typedef int (*option_set_fn)(struct options *o, const struct option_def *d, const char *v,
			     char *err, size_t cap);

struct option_def {
	const char *name;
	char letter;                 /* short option; 0: none */
	bool takes_value;
	bool repeats;                /* may be given more than once, each adding */
	enum option_scope scope;
	option_set_fn set;           /* NULL: cmdline_parse handles it */
	size_t field;                /* offsetof(struct options, ...) for the generic setters */
	unsigned long min, max;      /* set_u16 and set_uint; set_level: the level in min */
};

/* The generic setters' target: the member of o at d->field. */
#define FIELD(o, d, type) ((type *)(void *)((char *)(o) + (d)->field))

static int set_string(struct options *o, const struct option_def *d, const char *v, char *err,
		      size_t cap)
{
	if (v[0] == '\0') {
		snprintf(err, cap, "needs a value");
		return -1;
	}
	*FIELD(o, d, const char *) = v;
	return 0;
}

static int set_flag(struct options *o, const struct option_def *d, const char *v, char *err,
		    size_t cap)
{
	(void)v;
	(void)err;
	(void)cap;
	*FIELD(o, d, bool) = true;
	return 0;
}

static int parse_number(const struct option_def *d, const char *s, unsigned long *out,
			char *err, size_t cap)
{
	char *end, shown[64];
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *s < '0' || *s > '9' || *end != '\0' || v < d->min || v > d->max) {
		snprintf(err, cap, "must be a number from %lu to %lu, not '%s'", d->min, d->max,
			 log_escape(shown, sizeof(shown), s, strlen(s)));
		return -1;
	}
	*out = v;
	return 0;
}

static int set_u16(struct options *o, const struct option_def *d, const char *v, char *err,
		   size_t cap)
{
	unsigned long n;

	if (parse_number(d, v, &n, err, cap) < 0)
		return -1;
	*FIELD(o, d, uint16_t) = (uint16_t)n;
	return 0;
}

static int set_uint(struct options *o, const struct option_def *d, const char *v, char *err,
		    size_t cap)
{
	unsigned long n;

	if (parse_number(d, v, &n, err, cap) < 0)
		return -1;
	*FIELD(o, d, unsigned) = (unsigned)n;
	return 0;
}

static int set_level(struct options *o, const struct option_def *d, const char *v, char *err,
		     size_t cap)
{
	(void)v;
	(void)err;
	(void)cap;
	o->log_level = (int)d->min;
	return 0;
}

static int set_hostname(struct options *o, const struct option_def *d, const char *v,
			char *err, size_t cap)
{
	(void)d;
	if (v[0] == '\0' || strlen(v) > HOSTNAME_MAX) {
		snprintf(err, cap, "must be 1-%d bytes (the DHCP sname field)", HOSTNAME_MAX);
		return -1;
	}
	snprintf(o->hostname, sizeof(o->hostname), "%s", v);
	o->cfg.hostname = o->hostname;
	return 0;
}

static int set_interface(struct options *o, const struct option_def *d, const char *v,
			 char *err, size_t cap)
{
	char shown[64];

	(void)d;
	if (strlen(v) == 0 || strlen(v) >= 16) {
		snprintf(err, cap, "'%s' is not an interface name",
			 log_escape(shown, sizeof(shown), v, strlen(v)));
		return -1;
	}
	if (o->cfg.n_interfaces == BSDPD_MAX_INTERFACES) {
		snprintf(err, cap, "at most %d interfaces, not more: '%s'", BSDPD_MAX_INTERFACES, v);
		return -1;
	}
	o->cfg.interfaces[o->cfg.n_interfaces++] = v;
	return 0;
}

static int set_boot_file(struct options *o, const struct option_def *d, const char *v,
			 char *err, size_t cap)
{
	struct proxy_boot_file bf;

	(void)d;
	if (proxy_boot_file_parse(v, &bf, err, cap) < 0)
		return -1;
	if (o->cfg.boot_file[bf.arch]) {
		snprintf(err, cap, "%s given twice", proxy_arch_name(bf.arch));
		return -1;
	}
	o->cfg.boot_file[bf.arch] = bf.path;
	return 0;
}

static int set_proxy(struct options *o, const struct option_def *d, const char *v, char *err,
		     size_t cap)
{
	char shown[64];

	(void)d;
	if (proxy_mode_parse(v, &o->cfg.proxy_mode) == 0)
		return 0;
	snprintf(err, cap, "must be off, known or all, not '%s'",
		 log_escape(shown, sizeof(shown), v, strlen(v)));
	return -1;
}

static int set_database(struct options *o, const struct option_def *d, const char *v,
			char *err, size_t cap)
{
	char shown[64];

	(void)d;
	if (db_url_is_postgres(v)) {
		o->cfg.database = v;
		return 0;
	}
	if (strcmp(v, "sqlite:") == 0) {
		o->cfg.database = NULL;
		return 0;
	}
	snprintf(err, cap, "must be sqlite: or a postgresql:// URL, not '%s'",
		 log_escape(shown, sizeof(shown), v, strlen(v)));
	return -1;
}

/* Validated and normalized once, here (policy_http_base_parse). */
static int set_http_base(struct options *o, const struct option_def *d, const char *v,
			 char *err, size_t cap)
{
	struct policy_error pe;

	(void)d;
	if (policy_http_base_parse(v, o->http_base, &pe) == 0)
		return 0;
	snprintf(err, cap, "%s", pe.msg);
	return -1;
}

#define AT(member) offsetof(struct options, member)

/* In --help's order.  The scope says what SIGHUP does with a change. */
static const struct option_def table[] = {
	{ "conf", 0, true, false, CMDLINE, NULL, 0, 0, 0 },
	{ "root", 'r', true, false, RESTART, set_string, AT(cfg.root), 0, 0 },
	{ "state-dir", 's', true, false, RESTART, set_string, AT(cfg.state_dir), 0, 0 },
	{ "database", 0, true, false, RESTART, set_database, 0, 0, 0 },
	{ "max-bindings", 0, true, false, RESTART, set_uint, AT(cfg.max_bindings), 1,
	  MAX_BINDINGS_LIMIT },
	{ "binding-expiry", 0, true, false, RESTART, set_uint, AT(cfg.binding_expiry_days), 0,
	  MAX_EXPIRY_DAYS },
	{ "max-events", 0, true, false, RESTART, set_uint, AT(cfg.max_events), 1,
	  MAX_EVENTS_LIMIT },
	{ "event-expiry", 0, true, false, RESTART, set_uint, AT(cfg.event_expiry_days), 1,
	  MAX_EXPIRY_DAYS },
	{ "interface", 'i', true, true, RESTART, set_interface, 0, 0, 0 },
	{ "priority", 'p', true, false, LIVE, set_u16, AT(cfg.priority), 0, UINT16_MAX },
	{ "hostname", 'H', true, false, LIVE, set_hostname, 0, 0, 0 },
	{ "no-tftp", 0, false, false, RESTART, set_flag, AT(cfg.tftp_disabled), 0, 0 },
	{ "tftp-port", 0, true, false, RESTART, set_u16, AT(cfg.tftp_port), 1, UINT16_MAX },
	{ "tftp-max-blksize", 0, true, false, LIVE, set_u16, AT(cfg.tftp_max_blksize),
	  TFTP_SEGSIZE, TFTP_BLKSIZE_MAX },
	{ "tftp-single-port", 0, false, false, RESTART, set_flag, AT(cfg.tftp_single_port), 0, 0 },
	{ "tftp-max-transfers", 0, true, false, RESTART, set_uint, AT(cfg.tftp_max_transfers), 1,
	  UINT16_MAX },
	{ "tftp-max-per-client", 0, true, false, LIVE, set_uint, AT(cfg.tftp_max_per_client), 1,
	  UINT16_MAX },
	{ "proxy-dhcp", 0, true, false, LIVE, set_proxy, 0, 0, 0 },
	{ "boot-file", 0, true, true, LIVE, set_boot_file, 0, 0, 0 },
	{ "no-http", 0, false, false, RESTART, set_flag, AT(cfg.http_disabled), 0, 0 },
	{ "http-port", 0, true, false, RESTART, set_u16, AT(cfg.http_port), 1, UINT16_MAX },
	{ "http-root", 0, true, false, RESTART, set_string, AT(cfg.http_root), 0, 0 },
	{ "http-base", 0, true, false, RESTART, set_http_base, 0, 0, 0 },
	{ "http-max-connections", 0, true, false, RESTART, set_uint,
	  AT(cfg.http_max_connections), 1, UINT16_MAX },
	{ "user", 'u', true, false, RESTART, set_string, AT(user), 0, 0 },
	{ "foreground", 'f', false, false, RESTART, set_flag, AT(foreground), 0, 0 },
	{ "check", 'n', false, false, CMDLINE, set_flag, AT(check), 0, 0 },
	{ "verbose", 'v', false, false, LIVE, set_level, 0, LOG_DEBUG, 0 },
	{ "quiet", 'q', false, false, LIVE, set_level, 0, LOG_WARNING, 0 },
	{ "help", 'h', false, false, CMDLINE, NULL, 0, 0, 0 },
	{ "version", 'V', false, false, CMDLINE, NULL, 0, 0, 0 },
};

#define N_OPTIONS (sizeof(table) / sizeof(table[0]))

static const struct option_def *find_option(const char *name)
{
	for (size_t i = 0; i < N_OPTIONS; i++)
		if (strcmp(table[i].name, name) == 0)
			return &table[i];
	return NULL;
}

static unsigned id_of(const struct option_def *d)
{
	return (unsigned)(d - table);
}

/* ---- the command line -------------------------------------------------- */

/* getopt_long's view of the table: a long option's val is its row + 256,
 * a short one's its letter. */
static void getopt_tables(struct option *longs, char *shorts)
{
	for (size_t i = 0; i < N_OPTIONS; i++) {
		longs[i] = (struct option){ table[i].name,
					    table[i].takes_value ? required_argument : no_argument,
					    NULL, 256 + (int)i };
		if (table[i].letter) {
			*shorts++ = table[i].letter;
			if (table[i].takes_value)
				*shorts++ = ':';
		}
	}
	longs[N_OPTIONS] = (struct option){ 0 };
	*shorts = '\0';
}

static const struct option_def *option_of(int c)
{
	if (c >= 256 && (size_t)(c - 256) < N_OPTIONS)
		return &table[c - 256];
	for (size_t i = 0; i < N_OPTIONS; i++)
		if (table[i].letter && table[i].letter == c)
			return &table[i];
	return NULL;
}

enum options_result cmdline_parse(struct cmdline *cl, int argc, char **argv, char *err,
				  size_t cap)
{
	struct option longs[N_OPTIONS + 1];
	char shorts[2 * N_OPTIONS + 1];
	const struct option_def *d;
	int c;

	*cl = (struct cmdline){ .v = calloc((size_t)argc + 1, sizeof(*cl->v)) };
	err[0] = '\0';
	if (!cl->v) {
		snprintf(err, cap, "out of memory");
		return OPTIONS_ERROR;
	}
	getopt_tables(longs, shorts);
	while ((c = getopt_long(argc, argv, shorts, longs, NULL)) != -1) {
		if (!(d = option_of(c)))
			return OPTIONS_ERROR;  /* getopt said why */
		if (strcmp(d->name, "help") == 0)
			return OPTIONS_HELP;
		if (strcmp(d->name, "version") == 0)
			return OPTIONS_VERSION;
		if (strcmp(d->name, "conf") == 0)
			cl->conf = optarg;
		else
			cl->v[cl->n++] = (struct option_use){ .id = id_of(d), .value = optarg };
	}
	if (optind < argc) {
		snprintf(err, cap, "unexpected argument '%s'", argv[optind]);
		return OPTIONS_ERROR;
	}
	return OPTIONS_OK;
}

void cmdline_free(struct cmdline *cl)
{
	free(cl->v);
	*cl = (struct cmdline){ 0 };
}

/* ---- building a set ------------------------------------------------------ */

static void options_init(struct options *o)
{
	*o = (struct options){
		.cfg = { .root = DEFAULT_ROOT, .state_dir = DEFAULT_STATE_DIR,
			 .priority = BSDP_PRIORITY_BASE, .tftp_port = TFTP_PORT,
			 .tftp_max_blksize = TFTP_DEFAULT_MAX_BLKSIZE,
			 .tftp_max_transfers = TFTP_DEFAULT_MAX_TRANSFERS,
			 .tftp_max_per_client = TFTP_DEFAULT_MAX_PER_CLIENT,
			 .max_bindings = BINDINGS_DEFAULT_MAX,
			 .binding_expiry_days = BINDINGS_DEFAULT_EXPIRY_DAYS,
			 .max_events = STORE_EVENTS_DEFAULT_MAX,
			 .event_expiry_days = STORE_EVENTS_DEFAULT_AGE_DAYS,
			 .proxy_mode = PROXY_MODE_KNOWN, .http_port = HTTP_DEFAULT_PORT,
			 .http_max_connections = HTTP_DEFAULT_MAX_CONNECTIONS },
		.log_level = LOG_INFO,
	};
}

static bool on_cmdline(const struct cmdline *cl, unsigned id)
{
	for (size_t i = 0; i < cl->n; i++)
		if (cl->v[i].id == id)
			return true;
	return false;
}

/* Where a use was given, for its error: "FILE:LINE: NAME" or "--NAME". */
static void where(const struct option_use *u, char *buf, size_t cap)
{
	if (u->file)
		snprintf(buf, cap, "%s:%u: %s", u->file, u->line, table[u->id].name);
	else
		snprintf(buf, cap, "--%s", table[u->id].name);
}

static int apply(struct options *o, const struct option_use *u, char *err, size_t cap)
{
	const struct option_def *d = &table[u->id];
	char why[384], at[512];

	if (d->set(o, d, u->value, why, sizeof(why)) < 0) {
		where(u, at, sizeof(at));
		snprintf(err, cap, "%s: %s", at, why);
		return -1;
	}
	o->used[o->n_used++] = *u;
	return 0;
}

/* What a line of the file must be besides a valid value. */
static const char *misuse(const struct options *o, const struct option_def *d,
			  const struct conf_entry *e, unsigned *first)
{
	if (d->scope == CMDLINE)
		return "is an option of the command line only";
	if (d->takes_value && !e->value)
		return "needs a value: NAME=VALUE";
	if (!d->takes_value && e->value)
		return "takes no value";
	for (size_t i = 0; i < o->n_used && !d->repeats; i++)
		if (o->used[i].id == id_of(d) && o->used[i].file) {
			*first = o->used[i].line;
			return "given twice";
		}
	return NULL;
}

static int apply_line(struct options *o, const struct cmdline *cl, const struct conf_entry *e,
		      char *err, size_t cap)
{
	const struct option_def *d = find_option(e->name);
	struct option_use u = { .value = e->value, .file = o->conf, .line = e->line };
	unsigned first = 0;
	const char *why;

	if (!d) {
		snprintf(err, cap, "%s:%u: unknown option '%s'", o->conf, e->line, e->name);
		return -1;
	}
	if ((why = misuse(o, d, e, &first))) {
		snprintf(err, cap, "%s:%u: %s %s", o->conf, e->line, d->name, why);
		if (first)
			snprintf(err + strlen(err), cap - strlen(err), " (first on line %u)", first);
		return -1;
	}
	u.id = id_of(d);
	return on_cmdline(cl, u.id) ? 0 : apply(o, &u, err, cap);
}

/* --conf FILE, else DEFAULT_CONF when there is one. */
static int read_conf(struct options *o, const struct cmdline *cl, char *err, size_t cap)
{
	struct conf_error ce;

	o->conf = cl->conf;
	if (!o->conf && access(DEFAULT_CONF, F_OK) == 0)
		o->conf = DEFAULT_CONF;
	if (!o->conf)
		return 0;
	if (conf_read(o->conf, &o->file, &ce) == 0)
		return 0;
	if (ce.line)
		snprintf(err, cap, "%s:%u: %s", o->conf, ce.line, ce.msg);
	else
		snprintf(err, cap, "%s: %s", o->conf, ce.msg);
	return -1;
}

int options_build(struct options *o, const struct cmdline *cl, char *err, size_t cap)
{
	options_init(o);
	if (read_conf(o, cl, err, cap) < 0)
		return -1;
	o->used = calloc(o->file.n + cl->n + 1, sizeof(*o->used));
	if (!o->used) {
		snprintf(err, cap, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < o->file.n; i++)
		if (apply_line(o, cl, &o->file.v[i], err, cap) < 0)
			return -1;
	for (size_t i = 0; i < cl->n; i++)
		if (apply(o, &cl->v[i], err, cap) < 0)
			return -1;
	if (o->http_base[0] && o->cfg.http_disabled) {
		snprintf(err, cap, "--http-base names where scripts fetch files; with --no-http "
			 "there are no scripts");
		return -1;
	}
	if (!o->cfg.hostname && gethostname(o->hostname, sizeof(o->hostname) - 1) == 0)
		o->cfg.hostname = o->hostname;
	return 0;
}

void options_free(struct options *o)
{
	conf_free(&o->file);
	conf_free(&o->live);
	free(o->used);
	o->used = NULL;
	o->n_used = 0;
}

/* A database URL's password (postgresql://USER:PASSWORD@HOST/...) is
 * not for --check's output: it becomes "***". */
static void hide_password(char *url, size_t cap)
{
	char *user = strstr(url, "://"), *at, *colon;
	size_t tail;

	if (!user || !(at = strchr(user += 3, '@')) ||
	    !(colon = memchr(user, ':', (size_t)(at - user))))
		return;
	tail = strlen(at) + 1;
	if ((size_t)(colon + 4 - url) > cap - tail)
		return;
	memmove(colon + 4, at, strlen(at) + 1);
	memcpy(colon + 1, "***", 3);
}

void options_print(const struct options *o, FILE *out)
{
	char value[256];

	for (size_t i = 0; i < o->n_used; i++) {
		const struct option_use *u = &o->used[i];

		if (u->value)
			log_escape(value, sizeof(value), u->value, strlen(u->value));
		if (u->value && strcmp(table[u->id].name, "database") == 0)
			hide_password(value, sizeof(value));
		fprintf(out, "  %s%s%s", table[u->id].name, u->value ? "=" : "",
			u->value ? value : "");
		if (u->file)
			fprintf(out, "  (%s:%u)\n", u->file, u->line);
		else
			fprintf(out, "  (command line)\n");
	}
}

/* ---- SIGHUP -------------------------------------------------------------- */

static bool same_value(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

/* Whether option id was given the same values, in the same order, in both. */
static bool same_uses(const struct options *a, const struct options *b, unsigned id)
{
	size_t i = 0, k = 0;

	for (;;) {
		while (i < a->n_used && a->used[i].id != id)
			i++;
		while (k < b->n_used && b->used[k].id != id)
			k++;
		if (i == a->n_used || k == b->n_used)
			return i == a->n_used && k == b->n_used;
		if (!same_value(a->used[i++].value, b->used[k++].value))
			return false;
	}
}

static void add_name(char *names, size_t cap, size_t n, const char *name)
{
	size_t len = strlen(names);

	if (len < cap)
		snprintf(names + len, cap - len, "%s%s", n ? ", " : "", name);
}

/* Port 4011 is bound only when proxyDHCP is on. */
static bool proxy_needs_restart(const struct options *a, const struct options *b)
{
	return (a->cfg.proxy_mode == PROXY_MODE_OFF) != (b->cfg.proxy_mode == PROXY_MODE_OFF);
}

size_t options_needing_restart(const struct options *running, const struct options *next,
			       char *names, size_t cap)
{
	size_t n = 0;

	names[0] = '\0';
	for (size_t i = 0; i < N_OPTIONS; i++) {
		bool restart = table[i].scope == RESTART && !same_uses(running, next, (unsigned)i);

		if (table[i].set == set_proxy)
			restart = proxy_needs_restart(running, next);
		if (restart)
			add_name(names, cap, n++, table[i].name);
	}
	return n;
}

void options_take_live(struct options *running, struct options *next)
{
	struct bsdpd_config *r = &running->cfg;
	const struct bsdpd_config *x = &next->cfg;

	running->log_level = next->log_level;
	r->priority = x->priority;
	memcpy(running->hostname, next->hostname, sizeof(running->hostname));
	r->hostname = x->hostname ? running->hostname : NULL;
	if (!proxy_needs_restart(running, next))
		r->proxy_mode = x->proxy_mode;
	memcpy(r->boot_file, x->boot_file, sizeof(r->boot_file));
	r->tftp_max_blksize = x->tftp_max_blksize;
	r->tftp_max_per_client = x->tftp_max_per_client;
	/* The boot files point into next's text (or argv): it stays, and the
	 * text of the reload before goes, nothing pointing into it now. */
	conf_free(&running->live);
	running->live = next->file;
	next->file = (struct conf){ 0 };
	options_free(next);
}
