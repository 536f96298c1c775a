/* SPDX-License-Identifier: MIT */
/*
 * bsdpd: process setup.  Parses options, prints the catalog for --check,
 * starts the services on one event loop, and turns signals into events.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <pwd.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "api.h"
#include "bindings.h"
#include "boot_policy.h"
#include "bsdp.h"
#include "confine.h"
#include "file_cache.h"
#include "http.h"
#include "http_routes.h"
#include "ipxe_template.h"
#include "live.h"
#include "log.h"
#include "loop.h"
#include "metrics.h"
#include "nbimage.h"
#include "net.h"
#include "server.h"
#include "db.h"
#include "store.h"
#include "tftp.h"
#include "tftp_server.h"

#define BSDPD_VERSION "0.1.0"
#define DEFAULT_ROOT "/srv/netboot"
#define DEFAULT_STATE_DIR "/var/lib/bsdpd"
#define MAX_BINDINGS_LIMIT 10000000
#define MAX_EXPIRY_DAYS 36500
#define MAX_EVENTS_LIMIT 100000000
#define STR(x) #x
#define XSTR(x) STR(x)

static const char usage_text[] =
"Usage: bsdpd [OPTION]...\n"
"       bsdpd --check [--root DIR]\n"
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
"  -H, --hostname NAME   server name sent in ACK[SELECT] (default: host name)\n"
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
"  -n, --check           print the catalog as the server sees it, with every\n"
"                        problem, check the boot files, the boot.ipxe\n"
"                        template and the files the boot profiles name, and\n"
"                        exit: 0 when nothing has an error,\n"
"                        1 when something has, 2 when DIR cannot be read\n"
"  -v, --verbose         also log debug messages\n"
"  -q, --quiet           log only warnings and errors\n"
"  -h, --help            show this help and exit\n"
"  -V, --version         show the version and exit\n"
"\n"
"Signals: SIGHUP re-reads the image root and the boot.ipxe template;\n"
"SIGINT and SIGTERM stop.\n"
"\n"
"Examples:\n"
"  bsdpd --check --root /srv/netboot\n"
"  bsdpd --foreground --root /srv/netboot --interface eth1\n"
"  bsdpd --foreground --root /srv/netboot --tftp-single-port --tftp-max-blksize 1400\n"
"  bsdpd --root /srv/netboot --interface eth1 --proxy-dhcp all \\\n"
"        --boot-file efi-x64=iPXE.nbi/i386/booter\n"
"\n"
"Each bundle is DIR/NAME.nbi with an NBImageInfo.plist and the boot file\n"
"at NAME.nbi/<arch>/<BootFile>; build one with nbi(1).  A bundle with an\n"
"error is skipped with one log line naming the file and the reason; the\n"
"others keep serving.\n";

/* Long options without a short form. */
enum {
	OPT_NO_TFTP = 256,
	OPT_TFTP_PORT,
	OPT_TFTP_MAX_BLKSIZE,
	OPT_TFTP_SINGLE_PORT,
	OPT_TFTP_MAX_TRANSFERS,
	OPT_TFTP_MAX_PER_CLIENT,
	OPT_PROXY_DHCP,
	OPT_BOOT_FILE,
	OPT_NO_HTTP,
	OPT_HTTP_PORT,
	OPT_HTTP_ROOT,
	OPT_HTTP_MAX_CONNECTIONS,
	OPT_HTTP_BASE,
	OPT_MAX_BINDINGS,
	OPT_BINDING_EXPIRY,
	OPT_MAX_EVENTS,
	OPT_EVENT_EXPIRY,
	OPT_DATABASE,
};

struct options {
	struct bsdpd_config cfg;
	bool foreground;
	bool check;
	struct http_config http;     /* outlives the HTTP service */
	char http_base[POLICY_HTTP_BASE_MAX]; /* --http-base, normalized; "" none */
	const char *user;
	int log_level;
	char hostname[256];
};

__attribute__((format(printf, 1, 2), noreturn))
static void usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "bsdpd: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'bsdpd --help' for more information.\n");
	exit(2);
}

static uint16_t parse_priority(const char *s)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *s == '\0' || *end != '\0' || v < 0 || v > UINT16_MAX)
		usage_error("--priority must be a number from 0 to 65535, not '%s'", s);
	return (uint16_t)v;
}

static unsigned long parse_number(const char *opt, const char *s, unsigned long min,
				  unsigned long max)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *s < '0' || *s > '9' || *end != '\0' || v < min || v > max)
		usage_error("%s must be a number from %lu to %lu, not '%s'", opt, min, max, s);
	return v;
}

static void add_interface(struct options *o, const char *name)
{
	if (strlen(name) == 0 || strlen(name) >= 16)
		usage_error("'%s' is not an interface name", name);
	if (o->cfg.n_interfaces == BSDPD_MAX_INTERFACES)
		usage_error("at most 32 --interface options, not more: '%s'", name);
	o->cfg.interfaces[o->cfg.n_interfaces++] = name;
}

static void add_boot_file(struct options *o, const char *arg)
{
	struct proxy_boot_file bf;
	char err[256];

	if (proxy_boot_file_parse(arg, &bf, err, sizeof(err)) < 0)
		usage_error("%s", err);
	if (o->cfg.boot_file[bf.arch])
		usage_error("--boot-file %s given twice", proxy_arch_name(bf.arch));
	o->cfg.boot_file[bf.arch] = bf.path;
}

/* Validated and normalized once, here (policy_http_base_parse). */
static void set_http_base(struct options *o, const char *arg)
{
	struct policy_error err;

	if (policy_http_base_parse(arg, o->http_base, &err) < 0)
		usage_error("%s %s: %s", err.field, arg, err.msg);
}

static void parse_options(struct options *o, int argc, char **argv)
{
	static const struct option longs[] = {
		{ "root", required_argument, NULL, 'r' },
		{ "state-dir", required_argument, NULL, 's' },
		{ "interface", required_argument, NULL, 'i' },
		{ "priority", required_argument, NULL, 'p' },
		{ "hostname", required_argument, NULL, 'H' },
		{ "no-tftp", no_argument, NULL, OPT_NO_TFTP },
		{ "tftp-port", required_argument, NULL, OPT_TFTP_PORT },
		{ "tftp-max-blksize", required_argument, NULL, OPT_TFTP_MAX_BLKSIZE },
		{ "tftp-single-port", no_argument, NULL, OPT_TFTP_SINGLE_PORT },
		{ "tftp-max-transfers", required_argument, NULL, OPT_TFTP_MAX_TRANSFERS },
		{ "tftp-max-per-client", required_argument, NULL, OPT_TFTP_MAX_PER_CLIENT },
		{ "proxy-dhcp", required_argument, NULL, OPT_PROXY_DHCP },
		{ "boot-file", required_argument, NULL, OPT_BOOT_FILE },
		{ "no-http", no_argument, NULL, OPT_NO_HTTP },
		{ "http-port", required_argument, NULL, OPT_HTTP_PORT },
		{ "http-root", required_argument, NULL, OPT_HTTP_ROOT },
		{ "http-max-connections", required_argument, NULL, OPT_HTTP_MAX_CONNECTIONS },
		{ "http-base", required_argument, NULL, OPT_HTTP_BASE },
		{ "max-bindings", required_argument, NULL, OPT_MAX_BINDINGS },
		{ "binding-expiry", required_argument, NULL, OPT_BINDING_EXPIRY },
		{ "max-events", required_argument, NULL, OPT_MAX_EVENTS },
		{ "event-expiry", required_argument, NULL, OPT_EVENT_EXPIRY },
		{ "database", required_argument, NULL, OPT_DATABASE },
		{ "user", required_argument, NULL, 'u' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "check", no_argument, NULL, 'n' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "r:s:i:p:H:u:fnvqhV", longs, NULL)) != -1) {
		switch (c) {
		case 'r': o->cfg.root = optarg; break;
		case 's': o->cfg.state_dir = optarg; break;
		case 'i': add_interface(o, optarg); break;
		case 'p': o->cfg.priority = parse_priority(optarg); break;
		case 'H': o->cfg.hostname = optarg; break;
		case OPT_NO_TFTP: o->cfg.tftp_disabled = true; break;
		case OPT_TFTP_PORT:
			o->cfg.tftp_port = (uint16_t)parse_number("--tftp-port", optarg, 1, 65535);
			break;
		case OPT_TFTP_MAX_BLKSIZE:
			o->cfg.tftp_max_blksize = (uint16_t)parse_number(
				"--tftp-max-blksize", optarg, TFTP_SEGSIZE, TFTP_BLKSIZE_MAX);
			break;
		case OPT_TFTP_SINGLE_PORT: o->cfg.tftp_single_port = true; break;
		case OPT_TFTP_MAX_TRANSFERS:
			o->cfg.tftp_max_transfers = (unsigned)parse_number(
				"--tftp-max-transfers", optarg, 1, 65535);
			break;
		case OPT_TFTP_MAX_PER_CLIENT:
			o->cfg.tftp_max_per_client = (unsigned)parse_number(
				"--tftp-max-per-client", optarg, 1, 65535);
			break;
		case OPT_PROXY_DHCP:
			if (proxy_mode_parse(optarg, &o->cfg.proxy_mode) < 0)
				usage_error("--proxy-dhcp must be off, known or all, not '%s'", optarg);
			break;
		case OPT_BOOT_FILE: add_boot_file(o, optarg); break;
		case OPT_NO_HTTP: o->cfg.http_disabled = true; break;
		case OPT_HTTP_PORT:
			o->cfg.http_port = (uint16_t)parse_number("--http-port", optarg, 1, 65535);
			break;
		case OPT_HTTP_ROOT: o->cfg.http_root = optarg; break;
		case OPT_HTTP_MAX_CONNECTIONS:
			o->cfg.http_max_connections = (unsigned)parse_number(
				"--http-max-connections", optarg, 1, 65535);
			break;
		case OPT_HTTP_BASE: set_http_base(o, optarg); break;
		case OPT_MAX_BINDINGS:
			o->cfg.max_bindings = (unsigned)parse_number("--max-bindings", optarg, 1,
								     MAX_BINDINGS_LIMIT);
			break;
		case OPT_BINDING_EXPIRY:
			o->cfg.binding_expiry_days = (unsigned)parse_number(
				"--binding-expiry", optarg, 0, MAX_EXPIRY_DAYS);
			break;
		case OPT_MAX_EVENTS:
			o->cfg.max_events = (unsigned)parse_number("--max-events", optarg, 1,
								   MAX_EVENTS_LIMIT);
			break;
		case OPT_EVENT_EXPIRY:
			o->cfg.event_expiry_days = (unsigned)parse_number(
				"--event-expiry", optarg, 1, MAX_EXPIRY_DAYS);
			break;
		case OPT_DATABASE:
			if (db_url_is_postgres(optarg))
				o->cfg.database = optarg;
			else if (strcmp(optarg, "sqlite:") != 0)
				usage_error("--database must be sqlite: or a postgresql:// URL, "
					    "not '%s'", optarg);
			break;
		case 'u': o->user = optarg; break;
		case 'f': o->foreground = true; break;
		case 'n': o->check = true; break;
		case 'v': o->log_level = LOG_DEBUG; break;
		case 'q': o->log_level = LOG_WARNING; break;
		case 'h': fputs(usage_text, stdout); exit(0);
		case 'V': puts("bsdpd " BSDPD_VERSION); exit(0);
		default: fprintf(stderr, "Try 'bsdpd --help' for more information.\n"); exit(2);
		}
	}
	if (optind < argc)
		usage_error("unexpected argument '%s'", argv[optind]);
	if (o->http_base[0] && o->cfg.http_disabled)
		usage_error("--http-base names where scripts fetch files; with --no-http there "
			    "are no scripts");
}

/* ---- --check ----------------------------------------------------------- */

static void print_archs(const struct nb_image *img, char *buf, size_t cap)
{
	size_t o = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < img->archs.n && o < cap; i++)
		o += (size_t)snprintf(buf + o, cap - o, "%s%s", i ? "," : "", img->archs.v[i]);
}

static void print_image(const struct nb_image *img)
{
	char archs[64], boot[512];

	print_archs(img, archs, sizeof(archs));
	if (nb_image_boot_path(img, img->archs.v[0], boot, sizeof(boot)) < 0)
		snprintf(boot, sizeof(boot), "(too long)");
	printf("0x%08x %5u %4u %-7s %-7s %-7s %-9s %-12s %-30s %s\n", img->id, img->index,
	       img->kind, img->install ? "yes" : "no", img->is_default ? "yes" : "no",
	       img->enabled ? "yes" : "no", archs, nb_type_name(img->type), boot, img->name);
}

/* What the proxyDHCP and HTTP services would refuse at start-up or at
 * boot time: each --boot-file, and the boot.ipxe template.  Returns the
 * number of errors printed. */
static size_t check_chain(const struct options *o)
{
	struct proxy_file_check chk;
	struct ipxe_template *script = NULL;
	char err[512];
	bool builtin;
	size_t errors = 0;
	int fd = open(o->cfg.root, O_PATH | O_DIRECTORY | O_CLOEXEC);

	for (int a = 0; a < PROXY_ARCH_COUNT && fd >= 0; a++) {
		if (!o->cfg.boot_file[a])
			continue;
		if (proxy_boot_file_check_at(fd, (enum proxy_arch)a, o->cfg.boot_file[a], &chk) < 0)
			errors += printf("error: --boot-file: %s\n", chk.message) > 0;
	}
	if (fd >= 0)
		close(fd);
	if (o->cfg.http_disabled)
		return errors;
	fd = open(o->cfg.http_root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		errors += printf("error: --http-root %s: %s\n", o->cfg.http_root,
				 strerror(errno)) > 0;
	else if (http_script_load(fd, &script, &builtin, err, sizeof(err)) < 0)
		errors += printf("error: %s\n", err) > 0;
	else
		printf("boot.ipxe: %s\n", builtin ? "none in the HTTP root; the built-in menu is "
			"served" : "template loads");
	ipxe_template_free(script);
	if (fd >= 0)
		close(fd);
	return errors;
}

/* The policy in the state directory, when there is one: profiles that
 * name files the HTTP root no longer has. */
static size_t check_policy(const struct options *o)
{
	struct bindings *b = NULL;
	struct store *s = NULL;
	char db[PATH_MAX], *err = NULL;
	size_t errors;

	snprintf(db, sizeof(db), "%s/%s", o->cfg.state_dir, bindings_files[0]);
	if (!o->cfg.database && access(db, F_OK) < 0) {
		printf("policy: no database in %s yet\n", o->cfg.state_dir);
		return 0;
	}
	if ((b = bindings_open(o->cfg.database, o->cfg.state_dir, NULL, &err)))
		s = store_open(b, NULL, &err);
	if (!s) {
		printf("error: %s\n", err ? err : "out of memory");
		free(err);
		bindings_close(b);
		return 1;
	}
	errors = o->cfg.http_disabled ? 0 : boot_policy_check(s, o->cfg.http_root);
	printf("policy: %d machine%s\n", store_machines_count(s),
	       store_machines_count(s) == 1 ? "" : "s");
	store_close(s);
	bindings_close(b);
	return errors;
}

static int run_check(const struct options *o)
{
	struct nb_catalog cat;
	int r = nb_catalog_load(o->cfg.root, &cat);
	size_t errors, warnings;

	if (r < 0) {
		fprintf(stderr, "bsdpd: cannot read image root %s: %s\n", o->cfg.root, strerror(-r));
		nb_catalog_clear(&cat);
		return 2;
	}
	printf("root %s\n%-10s %5s %4s %-7s %-7s %-7s %-9s %-12s %-30s %s\n", cat.root, "ID",
	       "INDEX", "KIND", "INSTALL", "DEFAULT", "ENABLED", "ARCH", "TYPE", "BOOT FILE",
	       "NAME");
	for (size_t i = 0; i < cat.n_images; i++)
		print_image(&cat.images[i]);
	for (size_t i = 0; i < cat.problems.n; i++)
		printf("%s: %s: %s\n", cat.problems.v[i].severity == NB_ERROR ? "error" : "warning",
		       cat.problems.v[i].path, cat.problems.v[i].message);
	errors = nb_problems_count(&cat.problems, NB_ERROR) + check_chain(o) + check_policy(o);
	warnings = nb_problems_count(&cat.problems, NB_WARNING);
	printf("%zu image%s, %zu error%s, %zu warning%s\n", cat.n_images,
	       cat.n_images == 1 ? "" : "s", errors, errors == 1 ? "" : "s", warnings,
	       warnings == 1 ? "" : "s");
	nb_catalog_clear(&cat);
	return errors ? 1 : 0;
}

/* ---- running ----------------------------------------------------------- */

/* The running daemon: the loop thread owns all of it.  The DHCP service
 * (server.c) owns the catalog snapshot and the bindings; TFTP and HTTP
 * reach them only through the hooks wired in start_services. */
struct daemon {
	struct loop *loop;
	int signal_fd;
	struct file_cache files;     /* served files, shared by TFTP and HTTP */
	struct bsdp_service *dhcp;   /* ports 67 and 4011: BSDP and proxyDHCP */
	struct tftp_service *tftp;   /* NULL with --no-tftp */
	struct http_service *http;   /* NULL with --no-http */
	struct store *store;         /* the boot policy's records, beside the bindings */
	struct boot_policy *policy;
	struct metrics metrics;      /* every service counts here (metrics.h) */
	struct live *live;           /* the API's view of the services (live.h) */
};

/* SIGHUP only starts the re-read (server.c loads it on another thread),
 * so a root that blocks never keeps SIGTERM from stopping the loop. */
static void on_signal(struct loop *loop, int fd, uint32_t events, void *ctx)
{
	struct daemon *d = ctx;
	struct signalfd_siginfo si;

	(void)events;
	while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			bsdp_service_reload(d->dhcp);
			if (d->http)
				http_service_reload(d->http);
		} else {
			log_msg(LOG_INFO, "signal %u: stopping", si.ssi_signo);
			loop_stop(loop);
		}
	}
}

static int open_signals(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -errno;
	signal(SIGPIPE, SIG_IGN);
	return signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
}

/* ---- the state directory ---------------------------------------------- */

/* The account bsdpd runs as once the sockets are bound (--user). */
struct run_as {
	const char *name;
	uid_t uid;
	gid_t gid;
};

__attribute__((format(printf, 3, 4)))
static int refuse(const char *dir, const char *name, const char *fmt, ...)
{
	char why[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	log_msg(LOG_ERR, "%s%s%s: %s", dir, name ? "/" : "", name ? name : "", why);
	return -EPERM;
}

/* Owned by the user bsdpd runs as now, or by --user; any other owner put
 * it there without being asked. */
static int check_owner(const struct stat *st, const struct run_as *as, const char *dir,
		       const char *name)
{
	if (st->st_uid == geteuid() || (as && st->st_uid == as->uid))
		return 0;
	if (as)
		return refuse(dir, name, "owned by uid %u, not by uid %u or --user %s",
			      (unsigned)st->st_uid, (unsigned)geteuid(), as->name);
	return refuse(dir, name, "owned by uid %u, not by uid %u (give --user for that "
		      "account, or chown it)", (unsigned)st->st_uid, (unsigned)geteuid());
}

/* Only root and --user may add names to the directory bsdpd writes as root. */
static int check_state_dir(int fd, const char *dir, const struct run_as *as)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return refuse(dir, NULL, "%s", strerror(errno));
	if (check_owner(&st, as, dir, NULL) < 0)
		return -EPERM;
	if (st.st_mode & (S_IWGRP | S_IWOTH))
		return refuse(dir, NULL, "the state directory is writable by group or others "
			      "(mode %04o); chmod go-w it", (unsigned)(st.st_mode & 07777));
	if (as && fchown(fd, as->uid, as->gid) < 0)
		return refuse(dir, NULL, "cannot give the state directory to %s: %s", as->name,
			      strerror(errno));
	return 0;
}

/* Opens the directory itself, never a link to one, and gives it to --user. */
static int open_state_dir(const char *dir, const struct run_as *as)
{
	struct stat st;
	int fd;

	if (mkdir(dir, 0750) < 0 && errno != EEXIST)
		return refuse(dir, NULL, "cannot create the state directory: %s", strerror(errno));
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && (errno == ELOOP || errno == ENOTDIR))
		return refuse(dir, NULL, "%s", lstat(dir, &st) == 0 && S_ISLNK(st.st_mode) ?
			      "the state directory is a symbolic link; give its real path" :
			      "the state directory is not a directory");
	if (fd < 0)
		return refuse(dir, NULL, "%s", strerror(errno));
	if (check_state_dir(fd, dir, as) < 0) {
		close(fd);
		return -EPERM;
	}
	return fd;
}

/* What a database file must be for bsdpd to hand it to --user. */
static int check_db_stat(const struct stat *st, const char *dir, const char *name,
			 const struct run_as *as)
{
	if (S_ISLNK(st->st_mode))
		return refuse(dir, name, "is a symbolic link; bsdpd follows no link in its "
			      "state directory (remove it)");
	if (!S_ISREG(st->st_mode))
		return refuse(dir, name, "is not a regular file");
	/* A hard link to a root-owned file would otherwise be given away
	 * (fs.protected_hardlinks stops the user making one, where it is on). */
	if (st->st_nlink != 1)
		return refuse(dir, name, "has %lu hard links, not 1",
			      (unsigned long)st->st_nlink);
	return check_owner(st, as, dir, name);
}

/* One database file: looked at through an O_PATH descriptor of the name
 * itself (a link is seen as a link, and nothing is opened), then given to
 * --user through that descriptor, so what was checked is what changes. */
static int check_db_file(int dfd, const char *dir, const char *name, const struct run_as *as)
{
	struct stat st;
	int fd = openat(dfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	int r;

	if (fd < 0)
		return errno == ENOENT ? 0 : refuse(dir, name, "%s", strerror(errno));
	if (fstat(fd, &st) < 0)
		r = refuse(dir, name, "%s", strerror(errno));
	else
		r = check_db_stat(&st, dir, name, as);
	if (r == 0 && as && fchownat(fd, "", as->uid, as->gid, AT_EMPTY_PATH) < 0)
		r = refuse(dir, name, "cannot give it to %s: %s", as->name, strerror(errno));
	close(fd);
	return r;
}

/* Runs as root, in a directory --user may own: checks the state directory
 * and the database files bindings.c names, and gives them to --user so
 * that SQLite can write them after the switch.  The database itself is
 * opened only after drop_privileges. */
static int prepare_state_dir(const char *dir, const struct run_as *as)
{
	int dfd = open_state_dir(dir, as);
	int r = 0;

	if (dfd < 0)
		return dfd;
	for (size_t i = 0; bindings_files[i] && r == 0; i++)
		r = check_db_file(dfd, dir, bindings_files[i], as);
	/* The API token, made by an earlier start as root, is --user's too. */
	if (r == 0)
		r = check_db_file(dfd, dir, API_TOKEN_FILE, as);
	close(dfd);
	return r;
}

/* ---- privileges -------------------------------------------------------- */

static int look_up_user(const char *user, struct run_as *as)
{
	const struct passwd *pw = getpwnam(user);

	if (!pw) {
		log_msg(LOG_ERR, "--user %s: no such user", user);
		return -ENOENT;
	}
	*as = (struct run_as){ .name = user, .uid = pw->pw_uid, .gid = pw->pw_gid };
	return 0;
}

/* OpenBSD tftpd's order: bind first, then give up root for good, and
 * forbid regaining privileges through exec (PR_SET_NO_NEW_PRIVS).  The
 * capability bounding set goes first, while root still holds CAP_SETPCAP
 * (confine.h); a root whose manager bounded it without CAP_SETPCAP keeps
 * the set it was given, and the "confined:" line does not call it empty. */
static int drop_privileges(const struct run_as *as)
{
	int r = confine_drop_bounding_set();

	if (r < 0 && r != -EPERM) {
		log_msg(LOG_ERR, "cannot empty the capability bounding set: %s", strerror(-r));
		return r;
	}
	if (setgroups(0, NULL) < 0 || setresgid(as->gid, as->gid, as->gid) < 0 ||
	    setresuid(as->uid, as->uid, as->uid) < 0 ||
	    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		log_msg(LOG_ERR, "cannot switch to user %s: %s", as->name, strerror(errno));
		return -errno;
	}
	log_msg(LOG_INFO, "running as user %s", as->name);
	return 0;
}

static int log_failure(char *err)
{
	log_msg(LOG_ERR, "%s", err ? err : "out of memory");
	free(err);
	return -1;
}

/* Binds and opens as root what needs it (TFTP port 69 and the root, BSDP
 * port 67), checks the state directory, gives up root, and only then
 * opens the database. */
/* Binds the HTTP port before privileges are dropped; libmicrohttpd runs
 * on this loop (http.c). */
_Static_assert(BSDPD_MAX_INTERFACES <= HTTP_MAX_LISTEN, "one HTTP socket per --interface");

/* With --interface, HTTP listens on those links' addresses only, like
 * every other service; without, on every address of the host.  A named
 * link with no IPv4 address yet cannot be listened on by address: then
 * every address, and the log says so. */
static void http_listen_addrs(const struct bsdpd_config *cfg, struct http_config *h)
{
	struct net_iface ifc;

	h->n_listen = 0;
	for (size_t i = 0; i < cfg->n_interfaces; i++) {
		int ifindex = (int)if_nametoindex(cfg->interfaces[i]);

		if (ifindex <= 0 || net_iface_get(ifindex, &ifc) < 0 ||
		    ifc.addr.s_addr == INADDR_ANY) {
			log_msg(LOG_WARNING, "http: %s has no IPv4 address yet; listening on "
				"every address", cfg->interfaces[i]);
			h->n_listen = 0;
			return;
		}
		h->listen[h->n_listen++] = ifc.addr;
	}
}

static int start_http(struct options *o, struct loop *loop, struct daemon *d)
{
	char *err = NULL;

	o->http = (struct http_config){
		.root = o->cfg.http_root, .port = o->cfg.http_port,
		.file_base = o->http_base[0] ? o->http_base : NULL,
		.max_connections = o->cfg.http_max_connections,
		.idle_timeout = HTTP_DEFAULT_IDLE_TIMEOUT, .files = &d->files,
		.hooks = { .ctx = d->dhcp, .client_info = bsdp_service_client_info,
			   .gauges = bsdp_service_gauges },
		.metrics = &d->metrics,
	};
	http_listen_addrs(&o->cfg, &o->http);
	d->http = http_service_new(&o->http, loop, &err);
	return d->http ? 0 : log_failure(err);
}

/* After the bindings: the policy tables live in their database. */
static int start_policy(const struct options *o, struct daemon *d)
{
	struct store_options so = {
		.events_max = o->cfg.max_events,
		.events_max_age = (int64_t)o->cfg.event_expiry_days * 86400,
	};
	char *err = NULL;

	int dirfd = open(o->cfg.state_dir, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (dirfd < 0) {
		log_msg(LOG_ERR, "--state-dir %s: %s", o->cfg.state_dir, strerror(errno));
		return -1;
	}
	d->store = store_open(bsdp_service_bindings(d->dhcp), &so, &err);
	if (d->store)
		d->policy = boot_policy_new(d->store, d->loop, dirfd, o->cfg.http_root, &err);
	close(dirfd);
	if (!d->policy)
		return log_failure(err);
	bsdp_service_set_policy(d->dhcp, d->policy);
	if (d->http) {
		struct http_hooks hooks;

		boot_policy_set_http(d->policy, d->http);
		boot_policy_http_hooks(d->policy, d->dhcp, &hooks);
		http_service_set_hooks(d->http, &hooks);
	}
	return 0;
}

/* The transfers and the status the API shows, once every service is up. */
static int start_live(const struct options *o, struct daemon *d)
{
	struct live_config lc = {
		.version = BSDPD_VERSION, .loop = d->loop, .tftp = d->tftp, .http = d->http,
		.metrics = &d->metrics, .proxy = proxy_mode_name(o->cfg.proxy_mode),
		.gauges = boot_policy_gauges, .gauges_ctx = d->policy,
	};

	d->live = live_new(&lc);
	if (!d->live) {
		log_msg(LOG_ERR, "cannot set up the API's view of the services: out of memory");
		return -1;
	}
	boot_policy_set_live(d->policy, live_api(d->live));
	return 0;
}

static int start_services(struct options *o, struct loop *loop, struct daemon *d)
{
	struct run_as as;
	char *err = NULL;

	if (o->user && look_up_user(o->user, &as) < 0)
		return -1;
	o->cfg.metrics = &d->metrics;
	d->dhcp = bsdp_service_new(&o->cfg, loop, &err);
	if (d->dhcp && !o->cfg.tftp_disabled)
		d->tftp = tftp_service_new(&o->cfg, loop, &d->files, &err);
	if (!d->dhcp || (!o->cfg.tftp_disabled && !d->tftp))
		return log_failure(err);
	if (d->tftp)
		tftp_service_on_served(d->tftp, bsdp_service_note_tftp, d->dhcp);
	if (d->tftp)
		d->metrics.tftp = tftp_service_counters(d->tftp);
	if (!o->cfg.http_disabled && start_http(o, loop, d) < 0)
		return -1;
	if (prepare_state_dir(o->cfg.state_dir, o->user ? &as : NULL) < 0 ||
	    (o->user && drop_privileges(&as) < 0))
		return -1;
	if (bsdp_service_open_bindings(d->dhcp, &err) < 0)
		return log_failure(err);
	return start_policy(o, d) < 0 ? -1 : start_live(o, d);
}

/* Start-up errors (a busy port, a bad boot file, a state directory that is
 * not what it should be) go to the terminal: bsdpd detaches only once
 * every service is up, and from then on logs to syslog. */
static int detach(const struct options *o)
{
	if (o->foreground)
		return 0;
	log_open("bsdpd", false, o->log_level);
	if (daemon(0, 0) < 0) {
		log_msg(LOG_ERR, "cannot detach: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* After detach and before "ready": fork keeps no thread, and a signalfd
 * watched by the parent's epoll would not wake the child's, so the
 * checkpointer starts and the signals are watched only here; and both
 * come after confine_apply, whose Landlock binds only threads started
 * after it.  Signals sent meanwhile wait, blocked, in the signalfd. */
static int confine_daemon(const struct options *o, struct daemon *d)
{
	const struct confine_paths paths = {
		.image_root = o->cfg.root, .http_root = o->cfg.http_root,
		.state_dir = o->cfg.state_dir,
		.db_port = db_tcp_port(bindings_db(bsdp_service_bindings(d->dhcp))),
	};
	char msg[256];
	int r;

	if (confine_apply(&paths, msg, sizeof(msg)) < 0) {
		log_msg(LOG_ERR, "cannot confine bsdpd: %s", msg);
		return -1;
	}
	log_msg(LOG_INFO, "confined: %s", msg);
	if ((r = db_start_checkpointer(bindings_db(bsdp_service_bindings(d->dhcp)))) < 0)
		log_msg(LOG_WARNING, "database: no checkpoint thread (%s); commits checkpoint",
			strerror(-r));
	if (loop_add(d->loop, d->signal_fd, EPOLLIN, on_signal, d) < 0) {
		log_msg(LOG_ERR, "cannot watch signals: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static int run_server(struct options *o)
{
	struct loop *loop = loop_new();
	struct daemon d = { .loop = loop, .signal_fd = open_signals() };
	int r = -1;

	/* Before any thread: the catalog loader runs libxml2 on its own. */
	nb_init();
	if (!loop || d.signal_fd < 0)
		log_msg(LOG_ERR, "cannot set up the event loop: %s", strerror(errno));
	else if (start_services(o, loop, &d) == 0 && detach(o) == 0 && confine_daemon(o, &d) == 0) {
		log_msg(LOG_INFO, "bsdpd %s ready, priority %u", BSDPD_VERSION, o->cfg.priority);
		r = loop_run(loop);
	}
	/* TFTP's transfers end after HTTP is gone, and are boot events. */
	if (d.policy) {
		boot_policy_set_http(d.policy, NULL);
		boot_policy_set_live(d.policy, NULL);
	}
	live_free(d.live);
	http_service_free(d.http);
	tftp_service_free(d.tftp);
	boot_policy_free(d.policy);
	store_close(d.store);
	bsdp_service_free(d.dhcp);
	if (d.signal_fd >= 0)
		close(d.signal_fd);
	loop_free(loop);
	return r < 0 ? 1 : 0;
}

/* daemon() moves to /, and the catalog is re-read by path on SIGHUP:
 * make the paths absolute first.  A root that does not exist is reported
 * by the service that opens it. */
static void absolute_paths(struct options *o)
{
	static char root[PATH_MAX], http_root[PATH_MAX], state[PATH_MAX];
	char cwd[PATH_MAX];

	if (realpath(o->cfg.root, root))
		o->cfg.root = root;
	if (!o->cfg.http_root)
		o->cfg.http_root = o->cfg.root;
	else if (realpath(o->cfg.http_root, http_root))
		o->cfg.http_root = http_root;
	if (o->cfg.state_dir[0] != '/' && getcwd(cwd, sizeof(cwd)) &&
	    snprintf(state, sizeof(state), "%s/%s", cwd, o->cfg.state_dir) < (int)sizeof(state))
		o->cfg.state_dir = state;
}

int main(int argc, char **argv)
{
	struct options o = {
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

	parse_options(&o, argc, argv);
	absolute_paths(&o);
	if (o.check)
		return run_check(&o);
	if (!o.cfg.hostname && gethostname(o.hostname, sizeof(o.hostname) - 1) == 0)
		o.cfg.hostname = o.hostname;
	log_open("bsdpd", true, o.log_level);
	return run_server(&o);
}
