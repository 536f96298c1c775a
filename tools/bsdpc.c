/* SPDX-License-Identifier: MIT */
/*
 * bsdpc: a BSDP client that asks the way a Mac does.
 *
 * "list" broadcasts one INFORM[LIST] and prints every ACK[LIST] that
 * arrives before the timeout; "select" sends one INFORM[SELECT] (after a
 * LIST when no server is named) and prints the ACK[SELECT] or ACK[FAILED].
 *
 * Requests are laid out as Apple's BSDPClient.c builds them
 * (make_bsdp_request, BSDPClientSendListRequest/SelectRequest) with the
 * Intel firmware parameter list 1,3,67,43,60 (docs/bsdp.md §1.2, §2.1).
 * Replies are accepted by the rules of BSDPClientProcess and image lists
 * read as BSDPClientCreateImageList does (§1.5, §2.6).  Every packet byte
 * goes through the client codec in lib/bsdp_client.c; this file only adds
 * sockets, the choice of server and the output.
 *
 * Nothing received is trusted: names and paths are escaped with
 * log_escape() in text output and by the JSON writer (lib/json.c) in JSON output.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <ifaddrs.h>
#include <math.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bsdp.h"
#include "bsdp_client.h"
#include "dhcp.h"
#include "json.h"
#include "log.h"
#include "tftp_fetch.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define MAC_LEN BSDP_CLIENT_MAC_LEN
#define BSDPC_TX_MAX 1024         /* header + cookie + at most ~600 option bytes */
#define BSDPC_MAX_SERVERS 64
#define BSDPC_TIMEOUT_MAX 3600.0

#define DEFAULT_MODEL "MacBookPro11,3"
#define DEFAULT_ARCH "i386"       /* BSDPClient.c: BSDP_ARCHITECTURE on Intel */
#define DEFAULT_TIMEOUT 2.0       /* BSDPCLIENT_INITIAL_TIMEOUT_SECS; SPEC §4.6 suggests 2-4 s */
#define DEFAULT_DHCP_MAX_SIZE BSDP_CLIENT_DHCP_MAX /* make_bsdp_request, SPEC §3.4.16 */

enum exit_status {
	EXIT_ANSWERED = 0,
	EXIT_NO_ANSWER = 1, /* also ACK[FAILED] */
	EXIT_USAGE = 2,     /* and system errors */
};

/* What the command line asked for. */
struct cli {
	const char *command;
	const char *ifname;
	const char *model;
	const char *arch;
	uint16_t version;
	bool has_reply_port;
	uint16_t reply_port;
	bool has_max_size;
	uint16_t max_size;
	uint16_t dhcp_max_size;
	size_t n_filter;
	uint16_t filter[BSDP_MAX_FILTERS];
	bool has_mac;
	uint8_t mac[MAC_LEN];
	double timeout;
	bool json;
	bool verbose;
	bool help;
	bool has_image;
	uint32_t image;
	bool has_server;
	struct in_addr server;
	const char *fetch;              /* select --fetch FILE */
};

struct client {
	const struct cli *cli;
	char ifname[IF_NAMESIZE];
	int ifindex;
	int fd;
	uint16_t port;
	struct bsdp_client_id id;       /* MAC, ciaddr, xid, option 60 of every request */
	char class_id[BSDP_CLIENT_CLASS_MAX + 1];
	uint8_t rx[BSDP_ACK_MAX];
	struct bsdp_ack reply;          /* the last accepted reply; data points into rx */
};

struct image {
	uint32_t id;
	uint8_t name_len;
	const uint8_t *name;            /* into server.list */
};

struct server {
	struct in_addr addr;
	uint16_t priority;
	bool has_default;
	uint32_t default_id;
	bool has_selected;
	uint32_t selected_id;
	uint8_t *list;
	size_t n_images;
	struct image *images;
};

struct server_set {
	size_t n;
	struct server s[BSDPC_MAX_SERVERS];
};

/* Returns > 0 to stop collecting, 0 to go on, < 0 on error. */
typedef int (*reply_fn)(struct client *c, struct bsdp_ack *r, void *ctx);

/* ---- usage ---------------------------------------------------------------- */

static const char *const help_text[] = {
	"NAME",
	"    bsdpc - ask BSDP (Apple NetBoot) servers for boot images, as a Mac does",
	"",
	"SYNOPSIS",
	"    bsdpc list [-i IFACE] [OPTIONS]",
	"    bsdpc select --image ID [--server IP] [-i IFACE] [OPTIONS]",
	"    bsdpc --help",
	"",
	"DESCRIPTION",
	"    bsdpc speaks the client side of Apple's Boot Server Discovery Protocol",
	"    (NetBoot 2.0) the way Mac firmware and Apple's BSDPClient (Startup Disk)",
	"    do.  The interface must already have an IPv4 address: requests carry it",
	"    in ciaddr and servers answer by unicast to it.  bsdpc needs root (or",
	"    CAP_NET_BIND_SERVICE and CAP_NET_RAW) to bind port 68 and the interface.",
	"",
	"    list    Broadcast one DHCP INFORM[LIST] to 255.255.255.255:67 and print",
	"            every BSDP server that answers before the timeout: its address,",
	"            priority, default and selected image, and the images it offers.",
	"",
	"    select  Send one DHCP INFORM[SELECT] for image ID and print the server's",
	"            ACK[SELECT] (boot file, TFTP server, sname, root path, machine",
	"            name) or FAILED.  Without --server a LIST runs first, and the",
	"            server with the highest priority among those offering ID is",
	"            chosen; when none lists ID, the highest-priority server is asked",
	"            anyway (expect FAILED).  Like Startup Disk, a successful SELECT",
	"            records the choice on the server.",
	"",
	"    Replies are accepted only as Apple's client accepts them: a BOOTREPLY",
	"    DHCP ACK with our xid, chaddr and ciaddr, option 60 exactly \"AAPLBSDPC\",",
	"    option 54 and BSDP sub-option 1.  Anything else is ignored (see -v).",
	"",
	"OPTIONS",
	"    -i, --interface IFACE  interface to use; may be left out only when exactly",
	"                           one interface is up, broadcast-capable and has",
	"                           IPv4 (otherwise bsdpc lists them and stops)",
	"    -m, --model MODEL      model in the class id AAPLBSDPC/ARCH/MODEL",
	"                           (default: " DEFAULT_MODEL ")",
	"    -a, --arch ARCH        architecture in the class id (default: " DEFAULT_ARCH ")",
	"        --version 1.0|1.1  BSDP version sub-option; 1.0 servers omit the",
	"                           image list (default: 1.1)",
	"    -p, --reply-port N     bind port N (1-1023) instead of 68 and send it as",
	"                           BSDP sub-option 5, as Startup Disk does",
	"        --max-size N       send BSDP sub-option 12 (max message size), e.g. 8192",
	"        --dhcp-max-size N  DHCP option 57, 576-65535 (default: 1500)",
	"    -f, --filter WORD      attribute filter word (sub-option 11), hex or",
	"                           decimal, e.g. 0x0100; repeatable.  Images that do",
	"                           not match are also dropped from the output",
	"        --mac MAC          chaddr xx:xx:xx:xx:xx:xx (default: interface MAC)",
	"    -t, --timeout SECONDS  how long to gather replies, fractions allowed",
	"                           (default: 2); select waits this long per step",
	"        --image ID         select: image id, hex (0x81000001) or decimal",
	"    -s, --server IP        select: the server to ask (default: found by LIST)",
	"        --fetch FILE       select: then fetch the boot file by TFTP from siaddr,",
	"                           as the firmware does (blksize 1432, tsize), into",
	"                           FILE, with progress and the rate on stderr",
	"    -j, --json             print one JSON object instead of text",
	"    -v, --verbose          report sent requests and ignored packets on stderr",
	"    -h, --help             print this help and exit",
	"",
	"OUTPUT",
	"    Text output escapes bytes outside printable ASCII as \\xNN.  JSON output:",
	"      list:   {\"interface\":S,\"servers\":[{\"server\":IP,\"priority\":N,",
	"               \"default\":ID|null,\"selected\":ID|null,\"images\":[{\"id\":ID,",
	"               \"index\":N,\"kind\":N,\"install\":BOOL,\"name\":S}]}]}",
	"      select: {\"server\":IP,\"result\":\"ACK\"|\"FAILED\",\"image\":ID,",
	"               \"boot_file\":S,\"tftp_server\":IP,\"sname\":S,",
	"               \"root_path\":S|null,\"machine_name\":S|null}",
	"    IDs are strings \"0x%08x\".  After FAILED, boot_file, tftp_server and",
	"    sname are null; image is sub-option 8 when sent, else the requested id.",
	"",
	"EXIT STATUS",
	"    0  at least one server answered (list) or the server sent ACK[SELECT]",
	"    1  no server answered in time, or the server answered FAILED",
	"    2  bad usage or a system error",
	"",
	"EXAMPLES",
	"    bsdpc list -i eth1",
	"    bsdpc list -i eth1 --model Macmini7,1 --filter 0x0300 --json",
	"    bsdpc list -i eth1 --reply-port 900 --max-size 8192 --timeout 0.5",
	"    bsdpc select -i eth1 --image 0x01000001",
	"    bsdpc select -i eth1 --image 16777217 --server 192.0.2.10 --json",
};

static void print_help(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(help_text); i++)
		printf("%s\n", help_text[i]);
}

static void usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("bsdpc: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\nTry 'bsdpc --help' for more information.\n", stderr);
}

/* ---- argument values ------------------------------------------------------ */

/* Hex with a 0x prefix, else decimal; no sign, spaces or trailing bytes. */
static bool parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	int base = 10;
	char *end;
	unsigned long v;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	if (base == 16 ? !isxdigit((unsigned char)s[0]) : !isdigit((unsigned char)s[0]))
		return false;
	errno = 0;
	v = strtoul(s, &end, base);
	if (errno != 0 || *end != '\0' || v > max)
		return false;
	*out = v;
	return true;
}

static bool parse_u16(const char *s, unsigned long min, unsigned long max, uint16_t *out)
{
	unsigned long v;

	if (!parse_uint(s, max, &v) || v < min)
		return false;
	*out = (uint16_t)v;
	return true;
}

static int hex_nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)tolower((unsigned char)c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Exactly xx:xx:xx:xx:xx:xx. */
static bool parse_mac(const char *s, uint8_t mac[MAC_LEN])
{
	for (int i = 0; i < MAC_LEN; i++) {
		int hi = hex_nibble(s[0]), lo = hi < 0 ? -1 : hex_nibble(s[1]);

		if (lo < 0)
			return false;
		mac[i] = (uint8_t)(hi << 4 | lo);
		s += 2;
		if (*s != (i == MAC_LEN - 1 ? '\0' : ':'))
			return false;
		s++;
	}
	return true;
}

/* ---- option handlers: each returns 0 or prints why and returns -1 -------- */

static int set_interface(struct cli *cli, const char *arg)
{
	if (arg[0] == '\0' || strlen(arg) >= IF_NAMESIZE || strchr(arg, '/')) {
		usage_error("'%s' is not an interface name", arg);
		return -1;
	}
	cli->ifname = arg;
	return 0;
}

static int set_model(struct cli *cli, const char *arg)
{
	cli->model = arg;
	return 0;
}

static int set_arch(struct cli *cli, const char *arg)
{
	/* Apple's bsdp_parse_class_id ends the arch at the first '/'. */
	if (arg[0] == '\0' || strchr(arg, '/')) {
		usage_error("--arch '%s': must be non-empty and without '/'", arg);
		return -1;
	}
	cli->arch = arg;
	return 0;
}

static int set_version(struct cli *cli, const char *arg)
{
	if (strcmp(arg, "1.1") == 0) {
		cli->version = BSDP_VERSION_1_1;
	} else if (strcmp(arg, "1.0") == 0) {
		cli->version = BSDP_VERSION_1_0;
	} else {
		usage_error("--version '%s': must be 1.0 or 1.1", arg);
		return -1;
	}
	return 0;
}

static int set_reply_port(struct cli *cli, const char *arg)
{
	/* SPEC §3.4.9: privileged only; Apple's server drops >= 1024. */
	if (!parse_u16(arg, 1, 1023, &cli->reply_port)) {
		usage_error("--reply-port '%s': must be a port from 1 to 1023", arg);
		return -1;
	}
	cli->has_reply_port = true;
	return 0;
}

static int set_max_size(struct cli *cli, const char *arg)
{
	/* Any 16-bit value, so that a server's "only above 548" rule can be probed. */
	if (!parse_u16(arg, 0, UINT16_MAX, &cli->max_size)) {
		usage_error("--max-size '%s': must be 0-65535", arg);
		return -1;
	}
	cli->has_max_size = true;
	return 0;
}

static int set_dhcp_max_size(struct cli *cli, const char *arg)
{
	if (!parse_u16(arg, DHCP_MIN_MAX_MSG, UINT16_MAX, &cli->dhcp_max_size)) {
		usage_error("--dhcp-max-size '%s': must be %d-65535", arg, DHCP_MIN_MAX_MSG);
		return -1;
	}
	return 0;
}

static int set_filter(struct cli *cli, const char *arg)
{
	uint16_t word;

	if (!parse_u16(arg, 0, UINT16_MAX, &word)) {
		usage_error("--filter '%s': must be a 16-bit word, e.g. 0x0100", arg);
		return -1;
	}
	if (cli->n_filter == BSDP_MAX_FILTERS) {
		usage_error("at most %d --filter words", BSDP_MAX_FILTERS);
		return -1;
	}
	cli->filter[cli->n_filter++] = word;
	return 0;
}

static int set_mac(struct cli *cli, const char *arg)
{
	if (!parse_mac(arg, cli->mac)) {
		usage_error("--mac '%s': must be xx:xx:xx:xx:xx:xx", arg);
		return -1;
	}
	cli->has_mac = true;
	return 0;
}

static int set_timeout(struct cli *cli, const char *arg)
{
	char *end;
	double t;

	errno = 0;
	t = strtod(arg, &end);
	if (errno != 0 || end == arg || *end != '\0' || !isfinite(t) || t <= 0 ||
	    t > BSDPC_TIMEOUT_MAX) {
		usage_error("--timeout '%s': must be seconds, above 0 and at most %g", arg,
			    BSDPC_TIMEOUT_MAX);
		return -1;
	}
	cli->timeout = t;
	return 0;
}

static int set_image(struct cli *cli, const char *arg)
{
	unsigned long v;

	/* Index 0 is the null image, which no server offers (SPEC §3.4.2). */
	if (!parse_uint(arg, UINT32_MAX, &v) || v == 0) {
		usage_error("--image '%s': must be a non-zero 32-bit id, hex or decimal", arg);
		return -1;
	}
	cli->image = (uint32_t)v;
	cli->has_image = true;
	return 0;
}

static int set_server(struct cli *cli, const char *arg)
{
	if (inet_pton(AF_INET, arg, &cli->server) != 1) {
		usage_error("--server '%s': must be an IPv4 address", arg);
		return -1;
	}
	cli->has_server = true;
	return 0;
}

static int set_fetch(struct cli *cli, const char *arg)
{
	cli->fetch = arg;
	return 0;
}

static int set_json(struct cli *cli, const char *arg)
{
	(void)arg;
	cli->json = true;
	return 0;
}

static int set_verbose(struct cli *cli, const char *arg)
{
	(void)arg;
	cli->verbose = true;
	return 0;
}

static int set_help(struct cli *cli, const char *arg)
{
	(void)arg;
	cli->help = true;
	return 0;
}

/* ---- command line --------------------------------------------------------- */

enum {
	OPT_VERSION = 256,
	OPT_MAX_SIZE,
	OPT_DHCP_MAX_SIZE,
	OPT_MAC,
	OPT_IMAGE,
	OPT_FETCH,
};

struct cli_option {
	struct option lo;
	int (*set)(struct cli *cli, const char *arg);
};

/* One table drives getopt_long and the handlers, so they cannot drift. */
static const struct cli_option cli_options[] = {
	{ { "interface", required_argument, NULL, 'i' }, set_interface },
	{ { "model", required_argument, NULL, 'm' }, set_model },
	{ { "arch", required_argument, NULL, 'a' }, set_arch },
	{ { "version", required_argument, NULL, OPT_VERSION }, set_version },
	{ { "reply-port", required_argument, NULL, 'p' }, set_reply_port },
	{ { "max-size", required_argument, NULL, OPT_MAX_SIZE }, set_max_size },
	{ { "dhcp-max-size", required_argument, NULL, OPT_DHCP_MAX_SIZE }, set_dhcp_max_size },
	{ { "filter", required_argument, NULL, 'f' }, set_filter },
	{ { "mac", required_argument, NULL, OPT_MAC }, set_mac },
	{ { "timeout", required_argument, NULL, 't' }, set_timeout },
	{ { "image", required_argument, NULL, OPT_IMAGE }, set_image },
	{ { "server", required_argument, NULL, 's' }, set_server },
	{ { "fetch", required_argument, NULL, OPT_FETCH }, set_fetch },
	{ { "json", no_argument, NULL, 'j' }, set_json },
	{ { "verbose", no_argument, NULL, 'v' }, set_verbose },
	{ { "help", no_argument, NULL, 'h' }, set_help },
};

static void cli_defaults(struct cli *cli)
{
	memset(cli, 0, sizeof(*cli));
	cli->model = DEFAULT_MODEL;
	cli->arch = DEFAULT_ARCH;
	cli->version = BSDP_VERSION_1_1; /* BSDPClient.c: client_version */
	cli->dhcp_max_size = DEFAULT_DHCP_MAX_SIZE;
	cli->timeout = DEFAULT_TIMEOUT;
}

/* Fills the getopt_long table and an optstring starting with ':' so that a
 * missing argument is told apart from an unknown option. */
static void getopt_tables(struct option *lo, char *optstring)
{
	size_t n = 0;

	optstring[n++] = ':';
	for (size_t i = 0; i < ARRAY_SIZE(cli_options); i++) {
		lo[i] = cli_options[i].lo;
		if (lo[i].val >= 256)
			continue;
		optstring[n++] = (char)lo[i].val;
		if (lo[i].has_arg == required_argument)
			optstring[n++] = ':';
	}
	optstring[n] = '\0';
	lo[ARRAY_SIZE(cli_options)] = (struct option){ 0 };
}

static int apply_option(struct cli *cli, int val, const char *arg)
{
	for (size_t i = 0; i < ARRAY_SIZE(cli_options); i++)
		if (cli_options[i].lo.val == val)
			return cli_options[i].set(cli, arg);
	return -1;
}

static void getopt_error(int ret, char *const argv[])
{
	const char *what = argv[optind - 1];

	if (ret == ':')
		usage_error("option '%s' needs an argument", what);
	else if (optopt != 0)
		usage_error("unknown option '-%c'", optopt);
	else
		usage_error("unknown option '%s'", what);
}

static int parse_options(struct cli *cli, int argc, char *argv[])
{
	struct option lo[ARRAY_SIZE(cli_options) + 1];
	char optstring[2 * ARRAY_SIZE(cli_options) + 2];
	int ret;

	getopt_tables(lo, optstring);
	opterr = 0;
	while ((ret = getopt_long(argc, argv, optstring, lo, NULL)) != -1) {
		if (ret == '?' || ret == ':') {
			getopt_error(ret, argv);
			return -1;
		}
		if (apply_option(cli, ret, optarg) < 0)
			return -1;
	}
	return 0;
}

static int check_command(struct cli *cli, int argc, char *argv[])
{
	if (optind >= argc) {
		usage_error("missing command: 'list' or 'select'");
		return -1;
	}
	cli->command = argv[optind];
	if (optind + 1 < argc) {
		usage_error("unexpected argument '%s'", argv[optind + 1]);
		return -1;
	}
	if (strcmp(cli->command, "select") == 0) {
		if (!cli->has_image)
			usage_error("'select' needs --image ID");
		return cli->has_image ? 0 : -1;
	}
	if (strcmp(cli->command, "list") != 0) {
		usage_error("unknown command '%s': 'list' or 'select'", cli->command);
		return -1;
	}
	if (cli->has_image || cli->has_server)
		usage_error("--image and --server belong to 'select'");
	return cli->has_image || cli->has_server ? -1 : 0;
}

/* 0 to run a command, or an exit status. */
static int parse_cli(struct cli *cli, int argc, char *argv[])
{
	cli_defaults(cli);
	if (parse_options(cli, argc, argv) < 0)
		return EXIT_USAGE;
	if (cli->help) {
		print_help();
		return fflush(stdout) == 0 ? EXIT_ANSWERED : EXIT_USAGE;
	}
	return check_command(cli, argc, argv) < 0 ? EXIT_USAGE : -1;
}

/* ---- interface and socket ------------------------------------------------- */

static bool usable_default(const struct ifaddrs *ifa)
{
	unsigned flags = ifa->ifa_flags;

	return (flags & IFF_UP) && (flags & IFF_BROADCAST) && !(flags & IFF_LOOPBACK);
}

/* Interfaces a request may go out on when --interface is not given: each
 * up, non-loopback, broadcast-capable one that has an IPv4 address. */
struct candidates {
	char names[8][IF_NAMESIZE];
	struct in_addr ip[8];
	size_t n;              /* may exceed 8: only the first 8 are kept */
};

static void add_candidate(struct candidates *cs, const char *name, struct in_addr ip)
{
	for (size_t i = 0; i < cs->n && i < 8; i++)
		if (strcmp(cs->names[i], name) == 0)
			return;
	if (cs->n < 8) {
		snprintf(cs->names[cs->n], IF_NAMESIZE, "%s", name);
		cs->ip[cs->n] = ip;
	}
	cs->n++;
}

/* The first IPv4 address of want, or, when want is NULL, every candidate. */
static int scan_ipv4(const char *want, struct candidates *cs)
{
	struct ifaddrs *all, *ifa;

	cs->n = 0;
	if (getifaddrs(&all) < 0)
		return -errno;
	for (ifa = all; ifa; ifa = ifa->ifa_next) {
		if (!ifa->ifa_addr || ifa->ifa_addr->sa_family != AF_INET)
			continue;
		if (want ? strcmp(ifa->ifa_name, want) != 0 : !usable_default(ifa))
			continue;
		add_candidate(cs, ifa->ifa_name,
			      ((const struct sockaddr_in *)(const void *)ifa->ifa_addr)->sin_addr);
		if (want)
			break;
	}
	freeifaddrs(all);
	return 0;
}

/* A diagnostic must not broadcast on a network the admin did not name, so
 * without --interface it goes ahead only when the choice is obvious. */
static void log_ambiguous(const struct candidates *cs)
{
	char list[8 * (IF_NAMESIZE + 2)];
	size_t o = 0;

	list[0] = '\0';
	for (size_t i = 0; i < cs->n && i < 8; i++)
		o += (size_t)snprintf(list + o, sizeof(list) - o, "%s%s", i ? ", " : "",
				      cs->names[i]);
	log_msg(LOG_ERR, "%zu interfaces could carry BSDP (%s%s); name one with --interface",
		cs->n, list, cs->n > 8 ? ", ..." : "");
}

static int pick_interface(struct client *c)
{
	const char *want = c->cli->ifname;
	struct candidates cs;
	int r = scan_ipv4(want, &cs);

	if (r < 0)
		log_msg(LOG_ERR, "getifaddrs: %s", strerror(-r));
	else if (cs.n == 0 && !want)
		log_msg(LOG_ERR, "no up, broadcast interface with an IPv4 address; use --interface");
	else if (cs.n == 0 && if_nametoindex(want) == 0)
		log_msg(LOG_ERR, "no such interface '%s'", want);
	else if (cs.n == 0)
		log_msg(LOG_ERR, "interface %s has no IPv4 address (BSDP needs one in ciaddr)",
			want);
	else if (cs.n > 1)
		log_ambiguous(&cs);
	if (r < 0 || cs.n != 1)
		return -1;
	snprintf(c->ifname, sizeof(c->ifname), "%s", cs.names[0]);
	c->id.ip = cs.ip[0];
	c->ifindex = (int)if_nametoindex(c->ifname);
	return 0;
}

/* Apple's client refuses anything but Ethernet (IFT_ETHER): chaddr is a MAC. */
static int interface_mac(struct client *c)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", c->ifname);
	if (ioctl(c->fd, SIOCGIFHWADDR, &ifr) < 0) {
		log_msg(LOG_ERR, "SIOCGIFHWADDR %s: %s", c->ifname, strerror(errno));
		return -1;
	}
	if (ifr.ifr_hwaddr.sa_family != ARPHRD_ETHER) {
		log_msg(LOG_ERR, "%s is not Ethernet; give the chaddr with --mac", c->ifname);
		return -1;
	}
	memcpy(c->id.mac, ifr.ifr_hwaddr.sa_data, MAC_LEN);
	return 0;
}

static int sockopt_on(int fd, int level, int name, const char *what)
{
	int on = 1;

	if (setsockopt(fd, level, name, &on, sizeof(on)) == 0)
		return 0;
	log_msg(LOG_ERR, "setsockopt %s: %s", what, strerror(errno));
	return -1;
}

/* Bound to the device so that the limited broadcast leaves through it and
 * only its replies come back; INADDR_ANY so the unicast to ciaddr and any
 * broadcast reply are both received. */
static int open_socket(struct client *c)
{
	struct sockaddr_in me = { .sin_family = AF_INET, .sin_port = htons(c->port),
				  .sin_addr.s_addr = htonl(INADDR_ANY) };

	c->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		log_msg(LOG_ERR, "socket: %s", strerror(errno));
		return -1;
	}
	if (sockopt_on(c->fd, SOL_SOCKET, SO_BROADCAST, "SO_BROADCAST") < 0 ||
	    sockopt_on(c->fd, SOL_SOCKET, SO_REUSEADDR, "SO_REUSEADDR") < 0)
		return -1;
	if (setsockopt(c->fd, SOL_SOCKET, SO_BINDTODEVICE, c->ifname,
		       (socklen_t)strlen(c->ifname)) < 0) {
		log_msg(LOG_ERR, "SO_BINDTODEVICE %s: %s", c->ifname, strerror(errno));
		return -1;
	}
	if (bind(c->fd, (const struct sockaddr *)&me, sizeof(me)) < 0) {
		log_msg(LOG_ERR, "bind 0.0.0.0:%u: %s", c->port, strerror(errno));
		return -1;
	}
	return 0;
}

/* BSDPClient.c draws the xid at random once and increments it per request. */
static uint32_t random_xid(void)
{
	uint32_t xid;

	if (getrandom(&xid, sizeof(xid), GRND_NONBLOCK) == (ssize_t)sizeof(xid))
		return xid;
	return (uint32_t)time(NULL) ^ (uint32_t)getpid() << 16;
}

/* Option 60 as make_bsdp_request writes it: "AAPLBSDPC/<arch>/<model>". */
static int make_class_id(struct client *c)
{
	int n = bsdp_client_class_id(c->class_id, sizeof(c->class_id), c->cli->arch,
				     c->cli->model);

	if (n < 0) {
		usage_error("class id " BSDP_CLASS "/ARCH/MODEL exceeds %d bytes",
			    BSDP_CLIENT_CLASS_MAX);
		return -1;
	}
	c->id.class_id = c->class_id;
	c->id.class_len = (size_t)n;
	return 0;
}

static int client_open(struct client *c, const struct cli *cli)
{
	c->cli = cli;
	c->fd = -1;
	c->port = cli->has_reply_port ? cli->reply_port : DHCP_CLIENT_PORT;
	c->id.xid = random_xid();
	c->id.dhcp_max_size = cli->dhcp_max_size;
	if (make_class_id(c) < 0 || pick_interface(c) < 0 || open_socket(c) < 0)
		return -1;
	if (cli->has_mac)
		memcpy(c->id.mac, cli->mac, MAC_LEN);
	else if (interface_mac(c) < 0)
		return -1;
	return 0;
}

/* ---- requests ------------------------------------------------------------- */

/* What the command line puts in an INFORM[LIST] or INFORM[SELECT]. */
static struct bsdp_client_request request_of(const struct client *c, uint8_t message,
					     struct in_addr server)
{
	const struct cli *cli = c->cli;

	return (struct bsdp_client_request){
		.message = message, .version = cli->version,
		.has_reply_port = cli->has_reply_port, .reply_port = c->port,
		.has_max_size = cli->has_max_size, .max_size = cli->max_size,
		.n_filter = cli->n_filter, .filter = cli->filter,
		.server = server, .image = cli->image,
	};
}

/* To 255.255.255.255:67 with IP_PKTINFO, so that the source address is the
 * interface's (bootp_transmit in BSDPClient.c sends from our_ip). */
static int send_datagram(const struct client *c, uint8_t *pkt, size_t len)
{
	struct sockaddr_in dst = { .sin_family = AF_INET, .sin_port = htons(DHCP_SERVER_PORT),
				   .sin_addr.s_addr = htonl(INADDR_BROADCAST) };
	struct in_pktinfo pi = { .ipi_ifindex = c->ifindex, .ipi_spec_dst = c->id.ip };
	union {
		uint8_t buf[CMSG_SPACE(sizeof(struct in_pktinfo))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { .iov_base = pkt, .iov_len = len };
	struct msghdr msg = { .msg_name = &dst, .msg_namelen = sizeof(dst), .msg_iov = &iov,
			      .msg_iovlen = 1, .msg_control = ctl.buf,
			      .msg_controllen = sizeof(ctl.buf) };
	struct cmsghdr *cm;

	memset(&ctl, 0, sizeof(ctl));
	cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = IPPROTO_IP;
	cm->cmsg_type = IP_PKTINFO;
	cm->cmsg_len = CMSG_LEN(sizeof(pi));
	memcpy(CMSG_DATA(cm), &pi, sizeof(pi));
	return sendmsg(c->fd, &msg, 0) < 0 ? -errno : 0;
}

static int send_inform(const struct client *c, const struct bsdp_client_request *rq,
		       const char *what)
{
	uint8_t pkt[BSDPC_TX_MAX];
	char ip[INET_ADDRSTRLEN];
	int len = bsdp_client_build(pkt, sizeof(pkt), &c->id, rq);
	int r;

	if (len == -EMSGSIZE) {
		log_msg(LOG_ERR, "option 43 of INFORM[%s] exceeds 255 bytes", what);
		return -1;
	}
	if (len < 0) {
		log_msg(LOG_ERR, "INFORM[%s] does not fit in %zu bytes", what, sizeof(pkt));
		return -1;
	}
	r = send_datagram(c, pkt, (size_t)len);
	if (r < 0) {
		log_msg(LOG_ERR, "send INFORM[%s] on %s: %s", what, c->ifname, strerror(-r));
		return -1;
	}
	log_msg(LOG_DEBUG, "sent INFORM[%s] xid 0x%08x from %s:%u on %s, %d bytes", what,
		c->id.xid, inet_ntop(AF_INET, &c->id.ip, ip, sizeof(ip)), c->port, c->ifname, len);
	return 0;
}

/* ---- replies -------------------------------------------------------------- */

static void log_ignored(const struct sockaddr_in *from, ssize_t n, const char *why)
{
	char ip[INET_ADDRSTRLEN];

	log_msg(LOG_DEBUG, "ignoring %zd bytes from %s:%u: %s", n,
		inet_ntop(AF_INET, &from->sin_addr, ip, sizeof(ip)), ntohs(from->sin_port), why);
}

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Milliseconds to the deadline for poll(), rounded up so it never spins. */
static int ms_until(double deadline)
{
	double left = deadline - now_seconds();

	return left <= 0 ? 0 : (int)(left * 1000.0) + 1;
}

/* One datagram: -1 on a socket error, else whether fn wants to stop. */
static int receive_one(struct client *c, reply_fn fn, void *ctx)
{
	struct sockaddr_in from = { .sin_family = AF_UNSPEC };
	socklen_t fromlen = sizeof(from);
	ssize_t n = recvfrom(c->fd, c->rx, sizeof(c->rx), 0, (struct sockaddr *)&from, &fromlen);
	const char *why;

	if (n < 0) {
		if (errno == EINTR || errno == EAGAIN)
			return 0;
		log_msg(LOG_ERR, "recvfrom: %s", strerror(errno));
		return -1;
	}
	why = bsdp_ack_parse(&c->reply, c->rx, (size_t)n, &c->id);
	if (why) {
		log_ignored(&from, n, why); /* Apple prints nothing for these */
		return 0;
	}
	return fn(c, &c->reply, ctx);
}

/* Feeds accepted replies to fn until it stops or the timeout passes.
 * 1 if fn stopped, 0 at the deadline, -1 on error. */
static int collect(struct client *c, reply_fn fn, void *ctx)
{
	double deadline = now_seconds() + c->cli->timeout;
	struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
	int r, ms;

	while ((ms = ms_until(deadline)) > 0) {
		r = poll(&pfd, 1, ms);
		if (r < 0 && errno != EINTR) {
			log_msg(LOG_ERR, "poll: %s", strerror(errno));
			return -1;
		}
		if (r <= 0)
			continue;
		r = receive_one(c, fn, ctx);
		if (r != 0)
			return r < 0 ? -1 : 1;
	}
	return 0;
}

/* ---- ACK[LIST] ------------------------------------------------------------ */

/* BSDPClientCreateImageList over the concatenated sub-option 9 payloads. */
static int read_images(const struct cli *cli, struct server *s, size_t len)
{
	struct bsdp_image_iter it;
	struct bsdp_image_desc d;
	int r;

	bsdp_image_iter_init(&it, s->list, len, cli->filter, cli->n_filter);
	while ((r = bsdp_image_iter_next(&it, &d)) > 0)
		s->images[s->n_images++] = (struct image){ d.id, d.name_len, d.name };
	return r;
}

static void server_free(struct server *s)
{
	free(s->list);
	free(s->images);
	s->list = NULL;
	s->images = NULL;
}

/* Apple's client drops an ACK[LIST] without images; firmware does not (it
 * boots the default image, and 1.0 servers send no list), so such a server
 * is kept here with an empty list. */
static int server_from_reply(const struct cli *cli, const struct bsdp_ack *r, struct server *s)
{
	size_t len = r->list_len;

	memset(s, 0, sizeof(*s));
	s->addr = r->server;
	(void)bsdp_ack_u16(r, BSDP_TAG_SERVER_PRIORITY, &s->priority); /* absent: 0, as Apple */
	s->has_default = bsdp_ack_u32(r, BSDP_TAG_DEFAULT_IMAGE, &s->default_id);
	s->has_selected = bsdp_ack_u32(r, BSDP_TAG_SELECTED_IMAGE, &s->selected_id);
	s->list = malloc(len + 1);
	s->images = calloc(len / bsdp_image_desc_len(0) + 1, sizeof(*s->images));
	if (!s->list || !s->images) {
		server_free(s);
		return -ENOMEM;
	}
	memcpy(s->list, r->list, len);
	if (read_images(cli, s, len) < 0) {
		server_free(s);
		return -EBADMSG;
	}
	return 0;
}

static bool server_known(const struct server_set *set, struct in_addr addr)
{
	for (size_t i = 0; i < set->n; i++)
		if (set->s[i].addr.s_addr == addr.s_addr)
			return true;
	return false;
}

static int on_list_reply(struct client *c, struct bsdp_ack *r, void *ctx)
{
	struct server_set *set = ctx;
	char ip[INET_ADDRSTRLEN];
	int err;

	inet_ntop(AF_INET, &r->server, ip, sizeof(ip));
	if (r->message != BSDP_LIST) {
		log_msg(LOG_DEBUG, "ignoring ACK[%s] from %s while listing", bsdp_message_name(r->message), ip);
		return 0;
	}
	if (server_known(set, r->server) || set->n == BSDPC_MAX_SERVERS) {
		log_msg(LOG_DEBUG, "ignoring another ACK[LIST] from %s", ip);
		return 0;
	}
	err = server_from_reply(c->cli, r, &set->s[set->n]);
	if (err == -ENOMEM) {
		log_msg(LOG_ERR, "out of memory");
		return -1;
	}
	if (err < 0)
		log_msg(LOG_DEBUG, "ignoring ACK[LIST] from %s: short image list", ip);
	else
		set->n++;
	return 0;
}

static int run_list_exchange(struct client *c, struct server_set *set)
{
	struct bsdp_client_request rq = request_of(c, BSDP_LIST, (struct in_addr){ 0 });

	set->n = 0;
	c->id.xid++; /* BSDPClientList: a new xid per run */
	if (send_inform(c, &rq, "LIST") < 0)
		return -1;
	return collect(c, on_list_reply, set) < 0 ? -1 : 0;
}

static void servers_free(struct server_set *set)
{
	for (size_t i = 0; i < set->n; i++)
		server_free(&set->s[i]);
	set->n = 0;
}

/* ---- JSON ----------------------------------------------------------------- */

/* One compact object per command (lib/json.c): received names pass
 * through the writer, which escapes them and turns each byte of an
 * invalid UTF-8 sequence into U+FFFD, so the output always parses. */

static void json_addr(struct json *j, struct in_addr a)
{
	char ip[INET_ADDRSTRLEN];

	json_string(j, inet_ntop(AF_INET, &a, ip, sizeof(ip)));
}

static void json_id(struct json *j, bool present, uint32_t id)
{
	char hex[11];

	snprintf(hex, sizeof(hex), "0x%08x", id);
	json_string(j, present ? hex : NULL);
}

static void json_image(struct json *j, const struct image *img)
{
	json_begin(j, '{');
	json_key(j, "id");
	json_id(j, true, img->id);
	json_key(j, "index");
	json_uint(j, bsdp_image_index(img->id));
	json_key(j, "kind");
	json_uint(j, bsdp_image_kind(img->id));
	json_key(j, "install");
	json_bool(j, img->id & BSDP_IMAGE_INSTALL);
	json_key(j, "name");
	json_string_n(j, img->name, img->name_len);
	json_end(j, '}');
}

static void json_server(struct json *j, const struct server *s)
{
	json_begin(j, '{');
	json_key(j, "server");
	json_addr(j, s->addr);
	json_key(j, "priority");
	json_uint(j, s->priority);
	json_key(j, "default");
	json_id(j, s->has_default, s->default_id);
	json_key(j, "selected");
	json_id(j, s->has_selected, s->selected_id);
	json_key(j, "images");
	json_begin(j, '[');
	for (size_t i = 0; i < s->n_images; i++)
		json_image(j, &s->images[i]);
	json_end(j, ']');
	json_end(j, '}');
}

static void json_list(FILE *f, const struct client *c, const struct server_set *set)
{
	struct json j;

	json_init(&j, f, JSON_COMPACT);
	json_begin(&j, '{');
	json_key(&j, "interface");
	json_string(&j, c->ifname);
	json_key(&j, "servers");
	json_begin(&j, '[');
	for (size_t i = 0; i < set->n; i++)
		json_server(&j, &set->s[i]);
	json_end(&j, ']');
	json_end(&j, '}');
	json_finish(&j);
}

/* ---- text ----------------------------------------------------------------- */

/* log_escape turns each untrusted byte into at most 4 characters. */
#define ESCAPED_MAX (4 * 255 + 1)

static const char *escaped(char buf[ESCAPED_MAX], const void *data, size_t n)
{
	return log_escape(buf, ESCAPED_MAX, data, n > 255 ? 255 : n);
}

static void text_id(FILE *f, const char *label, bool present, uint32_t id)
{
	if (present)
		fprintf(f, " %s 0x%08x", label, id);
	else
		fprintf(f, " %s none", label);
}

static void text_server(FILE *f, const struct server *s)
{
	char ip[INET_ADDRSTRLEN], name[ESCAPED_MAX];

	fprintf(f, "server %s priority %u", inet_ntop(AF_INET, &s->addr, ip, sizeof(ip)),
		s->priority);
	text_id(f, "default", s->has_default, s->default_id);
	text_id(f, "selected", s->has_selected, s->selected_id);
	fprintf(f, " images %zu\n", s->n_images);
	for (size_t i = 0; i < s->n_images; i++) {
		const struct image *img = &s->images[i];

		fprintf(f, "  image 0x%08x index %u kind %u install %s name %s\n", img->id,
			bsdp_image_index(img->id), bsdp_image_kind(img->id),
			img->id & BSDP_IMAGE_INSTALL ? "yes" : "no",
			escaped(name, img->name, img->name_len));
	}
}

static void text_list(FILE *f, const struct server_set *set)
{
	for (size_t i = 0; i < set->n; i++)
		text_server(f, &set->s[i]);
}

/* ---- list command --------------------------------------------------------- */

static int finish_output(void)
{
	if (fflush(stdout) != 0 || ferror(stdout)) {
		log_msg(LOG_ERR, "writing output: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static void report_silence(const struct client *c)
{
	log_msg(LOG_ERR, "no BSDP server answered on %s within %g s", c->ifname,
		c->cli->timeout);
}

static int run_list(struct client *c)
{
	struct server_set *set = calloc(1, sizeof(*set));
	int status = EXIT_USAGE;

	if (!set) {
		log_msg(LOG_ERR, "out of memory");
		return EXIT_USAGE;
	}
	if (run_list_exchange(c, set) == 0) {
		if (c->cli->json)
			json_list(stdout, c, set);
		else
			text_list(stdout, set);
		status = set->n > 0 ? EXIT_ANSWERED : EXIT_NO_ANSWER;
		if (set->n == 0)
			report_silence(c);
		if (finish_output() < 0)
			status = EXIT_USAGE;
	}
	servers_free(set);
	free(set);
	return status;
}

/* ---- select command ------------------------------------------------------- */

static bool server_offers(const struct server *s, uint32_t id)
{
	/* A 1.0 server sends no list; its default or binding still names an image. */
	if ((s->has_default && s->default_id == id) || (s->has_selected && s->selected_id == id))
		return true;
	for (size_t i = 0; i < s->n_images; i++)
		if (s->images[i].id == id)
			return true;
	return false;
}

/* SPEC §4.6: the highest Server Priority wins.  §4.6 gives no tie-break;
 * keeping the first to answer is bsdpc's own choice (docs/bsdp.md §1.4).
 * With offered_only false every server that answered is a candidate. */
static const struct server *best_server(const struct server_set *set, uint32_t id,
					bool offered_only)
{
	const struct server *best = NULL;

	for (size_t i = 0; i < set->n; i++) {
		const struct server *s = &set->s[i];

		if (offered_only && !server_offers(s, id))
			continue;
		if (!best || s->priority > best->priority)
			best = s;
	}
	return best;
}

/* When no server lists the image, the best server is still asked: its
 * ACK[FAILED] is the answer a Mac with a stale choice would get, and
 * testing that path is part of what this tool is for. */
static const struct server *choose_server(const struct client *c,
					  const struct server_set *set)
{
	const struct server *best = best_server(set, c->cli->image, true);
	char ip[INET_ADDRSTRLEN];

	if (!best && set->n > 0) {
		best = best_server(set, c->cli->image, false);
		log_msg(LOG_NOTICE, "no BSDP server on %s lists image 0x%08x; asking %s anyway",
			c->ifname, c->cli->image, inet_ntop(AF_INET, &best->addr, ip, sizeof(ip)));
	} else if (best) {
		log_msg(LOG_DEBUG, "chose server %s (priority %u) for image 0x%08x",
			inet_ntop(AF_INET, &best->addr, ip, sizeof(ip)), best->priority,
			c->cli->image);
	}
	return best;
}

/* Runs a LIST to find who offers the image: EXIT_ANSWERED with *server
 * set, or the exit status to stop with (no server answered at all). */
static int find_server(struct client *c, struct in_addr *server)
{
	struct server_set *set = calloc(1, sizeof(*set));
	const struct server *best;
	int status = EXIT_USAGE;

	if (!set) {
		log_msg(LOG_ERR, "out of memory");
		return EXIT_USAGE;
	}
	if (run_list_exchange(c, set) == 0) {
		best = choose_server(c, set);
		status = best ? EXIT_ANSWERED : EXIT_NO_ANSWER;
		if (best)
			*server = best->addr;
		else
			report_silence(c);
	}
	servers_free(set);
	free(set);
	return status;
}

struct select_wait {
	struct in_addr server;
};

/* BSDPClientProcessSelect: ACK[SELECT] or ACK[FAILED] ends the wait; this
 * client also insists that the answer comes from the server it asked. */
static int on_select_reply(struct client *c, struct bsdp_ack *r, void *ctx)
{
	const struct select_wait *w = ctx;
	char ip[INET_ADDRSTRLEN];

	(void)c;
	inet_ntop(AF_INET, &r->server, ip, sizeof(ip));
	if (r->server.s_addr != w->server.s_addr) {
		log_msg(LOG_DEBUG, "ignoring ACK[%s] from %s: not the server asked",
			bsdp_message_name(r->message), ip);
		return 0;
	}
	if (r->message != BSDP_SELECT && r->message != BSDP_FAILED) {
		log_msg(LOG_DEBUG, "ignoring ACK[%s] from %s while selecting",
			bsdp_message_name(r->message), ip);
		return 0;
	}
	return 1;
}

/* The image the server confirmed (sub-option 8), else the one asked for. */
static uint32_t reply_image(const struct client *c, const struct bsdp_ack *r)
{
	uint32_t id;

	return bsdp_ack_u32(r, BSDP_TAG_SELECTED_IMAGE, &id) ? id : c->cli->image;
}

static void json_opt_string(struct json *j, const char *key, const void *data, size_t n,
			    bool present)
{
	json_key(j, key);
	if (present)
		json_string_n(j, data, n);
	else
		json_null(j);
}

static void json_select(FILE *f, const struct client *c, const struct bsdp_ack *r)
{
	const struct dhcp_option *root = dhcp_option_get(&r->view, DHCP_OPT_ROOT_PATH);
	const struct bsdp_sub *machine = &r->sub[BSDP_TAG_MACHINE_NAME];
	const struct dhcp_header *h = &r->view.hdr;
	bool ack = r->message == BSDP_SELECT;
	struct json j;

	json_init(&j, f, JSON_COMPACT);
	json_begin(&j, '{');
	json_key(&j, "server");
	json_addr(&j, r->server);
	json_key(&j, "result");
	json_string(&j, ack ? "ACK" : "FAILED");
	json_key(&j, "image");
	json_id(&j, true, reply_image(c, r));
	json_opt_string(&j, "boot_file", h->file, strnlen(h->file, sizeof(h->file)), ack);
	json_key(&j, "tftp_server");
	if (ack)
		json_addr(&j, h->siaddr);
	else
		json_null(&j);
	json_opt_string(&j, "sname", h->sname, strnlen(h->sname, sizeof(h->sname)), ack);
	json_opt_string(&j, "root_path", root ? root->data : NULL, root ? root->len : 0, root);
	json_opt_string(&j, "machine_name", machine->data, machine->len, machine->present);
	json_end(&j, '}');
	json_finish(&j);
}

static void text_field(FILE *f, const char *label, const void *data, size_t n, bool present)
{
	char buf[ESCAPED_MAX];

	fprintf(f, "  %-14s %s\n", label, present ? escaped(buf, data, n) : "(none)");
}

static void text_select(FILE *f, const struct client *c, const struct bsdp_ack *r)
{
	const struct dhcp_option *root = dhcp_option_get(&r->view, DHCP_OPT_ROOT_PATH);
	const struct bsdp_sub *machine = &r->sub[BSDP_TAG_MACHINE_NAME];
	const struct dhcp_header *h = &r->view.hdr;
	char ip[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &r->server, ip, sizeof(ip));
	if (r->message != BSDP_SELECT) {
		fprintf(f, "server %s: FAILED image 0x%08x\n", ip, reply_image(c, r));
		return;
	}
	fprintf(f, "server %s: ACK[SELECT]\n", ip);
	fprintf(f, "  %-14s 0x%08x\n", "selected image", reply_image(c, r));
	text_field(f, "boot file", h->file, strlen(h->file), true);
	fprintf(f, "  %-14s %s\n", "tftp server", inet_ntop(AF_INET, &h->siaddr, ip, sizeof(ip)));
	text_field(f, "sname", h->sname, strlen(h->sname), true);
	text_field(f, "root path", root ? root->data : NULL, root ? root->len : 0, root);
	text_field(f, "machine name", machine->data, machine->len, machine->present);
}

static int select_exchange(struct client *c, struct in_addr server)
{
	struct select_wait w = { .server = server };
	struct bsdp_client_request rq = request_of(c, BSDP_SELECT, server);
	char ip[INET_ADDRSTRLEN];
	int r;

	c->id.xid++; /* BSDPClientSelect: a new xid */
	if (send_inform(c, &rq, "SELECT") < 0 || (r = collect(c, on_select_reply, &w)) < 0)
		return EXIT_USAGE;
	if (r == 0) {
		log_msg(LOG_ERR, "BSDP server %s did not answer SELECT on %s within %g s",
			inet_ntop(AF_INET, &server, ip, sizeof(ip)), c->ifname, c->cli->timeout);
		return EXIT_NO_ANSWER;
	}
	if (c->cli->json)
		json_select(stdout, c, &c->reply);
	else
		text_select(stdout, c, &c->reply);
	if (finish_output() < 0)
		return EXIT_USAGE;
	return c->reply.message == BSDP_SELECT ? EXIT_ANSWERED : EXIT_NO_ANSWER;
}

/* What the firmware does after ACK[SELECT] (SPEC §3.2 steps 8-9): TFTP the
 * file named in the reply from siaddr.  blksize 1432 is what iPXE asks
 * for and what USB-C Macs needed (jamf/NetSUS#86 set 1460). */
static int fetch_boot_file(const struct client *c)
{
	const struct dhcp_header *h = &c->reply.view.hdr;
	struct tftp_fetch_opts o = { .server = h->siaddr, .remote = h->file,
				     .local = c->cli->fetch, .blksize = 1432, .tsize = true,
				     .ifname = c->ifname, .progress = stderr };
	struct tftp_fetch_result res;

	if (h->file[0] == '\0' || h->siaddr.s_addr == INADDR_ANY) {
		log_msg(LOG_ERR, "--fetch: ACK[SELECT] names no boot file or TFTP server");
		return EXIT_NO_ANSWER;
	}
	if (tftp_fetch(&o, &res) < 0) {
		log_msg(LOG_ERR, "--fetch %s: %s", h->file, res.error);
		return EXIT_NO_ANSWER;
	}
	return EXIT_ANSWERED;
}

static int run_select(struct client *c)
{
	struct in_addr server = c->cli->server;
	int status;

	if (!c->cli->has_server) {
		status = find_server(c, &server);
		if (status != EXIT_ANSWERED)
			return status;
	}
	status = select_exchange(c, server);
	if (status == EXIT_ANSWERED && c->cli->fetch)
		status = fetch_boot_file(c);
	return status;
}

/* ---- main ----------------------------------------------------------------- */

int main(int argc, char *argv[])
{
	struct cli cli;
	struct client *c;
	int status = parse_cli(&cli, argc, argv);

	if (status >= 0)
		return status;
	log_open("bsdpc", true, cli.verbose ? LOG_DEBUG : LOG_INFO);
	c = calloc(1, sizeof(*c));
	if (!c) {
		log_msg(LOG_ERR, "out of memory");
		return EXIT_USAGE;
	}
	if (client_open(c, &cli) < 0)
		status = EXIT_USAGE;
	else if (strcmp(cli.command, "list") == 0)
		status = run_list(c);
	else
		status = run_select(c);
	if (c->fd >= 0)
		close(c->fd);
	free(c);
	return status;
}
