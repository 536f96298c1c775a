/* SPDX-License-Identifier: MIT */
/*
 * bsdp_load: a closed-loop load generator for bsdpd, and for any DHCP
 * server that answers DHCPINFORM, so the two can be compared.
 *
 * One UDP socket bound to port 68 on the client interface keeps a window
 * of transactions in flight.  Each transaction has its own client MAC,
 * taken in turn from a bounded pool, and every request its own xid:
 *
 *   BSDP mode:    INFORM[LIST] -> ACK[LIST] -> INFORM[SELECT] of the
 *                 default image (sub-option 7) -> ACK[SELECT]
 *   --plain-inform: DHCPINFORM -> DHCPACK -> DHCPINFORM -> DHCPACK
 *
 * A transaction is complete when its second ACK arrives; the slot then
 * starts a new one at once.  A request unanswered after --timeout is
 * abandoned and its slot restarted, so one lost datagram cannot stall the
 * window.  Requests are built and replies accepted by the client codec
 * that tools/bsdpc.c uses (lib/bsdp_client.c, after Apple's BSDPClient.c).
 *
 * With --count N it is a boot storm instead (tools/bench/campus-storm.sh):
 * N Macs, each with a MAC of its own from --first-mac on, each doing LIST
 * and SELECT once, --window of them at a time.  An unanswered request is
 * sent again with a new xid, as a Mac's firmware retries, and the run ends
 * when every Mac has its ACK[SELECT] (or ACK[FAILED]), or after --seconds.
 * Each Mac's latency runs from its first LIST to its ACK[SELECT], retries
 * included, and the median, 99th percentile and maximum are reported.
 *
 * The result is one line of key=value pairs on stdout, for scripts.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bsdp.h"
#include "bsdp_client.h"
#include "dhcp.h"

#define MAC_LEN BSDP_CLIENT_MAC_LEN
#define TX_MAX 576              /* requests are ~300 bytes after BOOTP padding */
#define RX_MAX 8192             /* bsdpd's largest reply (BSDP_REPLY_MAX) */
#define RX_BATCH 32             /* datagrams per recvmmsg */
#define TX_BATCH 64             /* datagrams per sendmmsg */
#define SLOT_BITS 10            /* xid = sequence << SLOT_BITS | slot */
#define WINDOW_MAX (1u << SLOT_BITS)
#define POLL_MS 5
#define NS_PER_S 1000000000ull

#define DEFAULT_WINDOW 32
#define DEFAULT_MACS 1000
#define DEFAULT_SECONDS 10.0
#define DEFAULT_WARMUP 1.0
#define DEFAULT_TIMEOUT_MS 1000
#define MAX_SECONDS 600.0       /* a load run always ends by itself */
#define COUNT_MAX 1000000u      /* --count: the latencies are kept, 8 MB at most */
#define DEFAULT_MODEL "MacBookPro11,3"

struct cfg {
	const char *ifname;
	struct in_addr dest;         /* where requests go; a Mac broadcasts */
	unsigned window;
	unsigned macs;
	double seconds;
	double warmup;
	unsigned timeout_ms;
	bool plain;
	const char *model;
	unsigned count;              /* 0: closed loop for --seconds; else a storm of N Macs */
	unsigned first_mac;
};

enum phase {
	PHASE_FIRST = 1,             /* LIST, or the first plain INFORM */
	PHASE_SECOND,                /* SELECT, or the second plain INFORM */
};

struct txn {
	uint32_t xid;                /* of the request now outstanding */
	uint32_t mac_id;
	enum phase phase;
	uint64_t started_ns;         /* when the first request left */
	uint64_t sent_ns;            /* when the outstanding request left */
	uint32_t image;              /* ACK[LIST] sub-option 7 */
	struct in_addr server;       /* ACK[LIST] option 54, for sub-option 3 */
	bool idle;                   /* --count: every Mac has started */
};

struct counters {
	uint64_t completed;          /* after the warm-up */
	uint64_t completed_warmup;
	uint64_t latency_ns;         /* summed over completed */
	uint64_t sent;
	uint64_t received;
	uint64_t ignored;            /* stale xid, wrong client, not an ACK */
	uint64_t failed;             /* ACK[FAILED] */
	uint64_t timeouts;
	uint64_t send_errors;
};

struct load {
	struct cfg cfg;
	int fd;
	struct in_addr ciaddr;
	char class_id[BSDP_CLIENT_CLASS_MAX + 1];
	size_t class_len;
	struct txn slots[WINDOW_MAX];
	uint32_t next_mac;
	uint32_t seq;
	uint64_t count_from_ns;
	struct counters n;
	uint64_t *latency;           /* --count: one per completed Mac, in ns */
	uint64_t started_ns;         /* the first request */
	uint64_t last_answer_ns;     /* the last ACK[SELECT] or ACK[FAILED] */
	struct bsdp_ack ack;         /* 80 KiB: kept off the stack */
	/* Requests queued for the next sendmmsg. */
	struct sockaddr_in to;
	struct mmsghdr txm[TX_BATCH];
	struct iovec txv[TX_BATCH];
	uint8_t txbuf[TX_BATCH][TX_MAX];
	unsigned n_tx;
	struct mmsghdr rxm[RX_BATCH];
	struct iovec rxv[RX_BATCH];
	uint8_t rxbuf[RX_BATCH][RX_MAX];
};

/* ---- command line ------------------------------------------------------ */

static const char usage_text[] =
"Usage: bsdp_load --interface IF [OPTION]...\n"
"\n"
"Closed-loop BSDP load: keeps --window transactions in flight from one\n"
"socket on port 68 of IF and counts those completed per second.  A BSDP\n"
"transaction is INFORM[LIST], then INFORM[SELECT] of the default image;\n"
"with --plain-inform it is two plain DHCPINFORMs (for dnsmasq).  IF must\n"
"have an IPv4 address: it goes in ciaddr and replies come back to it.\n"
"With --count N, a boot storm: N Macs, each once, --window at a time; an\n"
"unanswered request is sent again; the run ends when all are answered or\n"
"after --seconds.\n"
"\n"
"  -i, --interface IF    client interface (required)\n"
"  -d, --dest IP         send requests to IP (default 255.255.255.255)\n"
"  -w, --window N        transactions in flight, 1-1024 (default 32)\n"
"  -m, --macs N          client MAC pool, at least the window (default 1000;\n"
"                        not with --count)\n"
"  -s, --seconds S       measured duration, at most 600 (default 10)\n"
"  -W, --warmup S        unmeasured run before it (default 1)\n"
"  -t, --timeout MS      abandon a request unanswered this long (default 1000)\n"
"  -M, --model MODEL     model in AAPLBSDPC/i386/MODEL (default " DEFAULT_MODEL ")\n"
"  -p, --plain-inform    plain DHCPINFORMs, no BSDP\n"
"  -n, --count N         a storm of N Macs, each LIST+SELECT once, 1-1000000\n"
"  -f, --first-mac K     the storm's first MAC is pool number K (default 0)\n"
"  -h, --help            show this help and exit\n"
"\n"
"Output: one line of key=value pairs: mode, seconds, completed, tx_per_s,\n"
"total_completed (warm-up included), mean_latency_us, sent, received,\n"
"ignored, failed, timeouts, send_errors, client_cpu_s; with --count also\n"
"p50_latency_us, p99_latency_us, max_latency_us and unfinished (Macs\n"
"without an answer when --seconds ran out); seconds is then the time from\n"
"the first LIST to the last answer.\n";

__attribute__((format(printf, 1, 2), noreturn))
static void usage_error(const char *fmt, ...);

static void usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("bsdp_load: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\nTry 'bsdp_load --help' for more information.\n", stderr);
	exit(2);
}

static unsigned parse_count(const char *opt, const char *s, unsigned long min,
			    unsigned long max)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *s == '\0' || *end != '\0' || v < min || v > max)
		usage_error("%s must be a number from %lu to %lu, not '%s'", opt, min, max, s);
	return (unsigned)v;
}

static double parse_seconds(const char *opt, const char *s, double min)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end != '\0' || !(v >= min && v <= MAX_SECONDS))
		usage_error("%s must be seconds from %g to %g, not '%s'", opt, min, MAX_SECONDS, s);
	return v;
}

static void check_args(const struct cfg *c)
{
	if (!c->ifname || c->ifname[0] == '\0' || strlen(c->ifname) >= IF_NAMESIZE)
		usage_error("--interface IF is required");
	/* Two transactions in flight with one MAC would look like one
	 * confused Mac to the server. */
	if (!c->count && c->macs < c->window)
		usage_error("--macs (%u) must be at least --window (%u)", c->macs, c->window);
	if (c->count && c->first_mac > (1u << 24) - c->count)
		usage_error("--first-mac plus --count must be at most %u", 1u << 24);
	if (strlen(c->model) >= BSDP_MODEL_MAX)
		usage_error("--model must be shorter than %d bytes", BSDP_MODEL_MAX);
}

static void parse_args(struct cfg *c, int argc, char **argv)
{
	static const struct option longs[] = {
		{ "interface", required_argument, NULL, 'i' },
		{ "dest", required_argument, NULL, 'd' },
		{ "window", required_argument, NULL, 'w' },
		{ "macs", required_argument, NULL, 'm' },
		{ "seconds", required_argument, NULL, 's' },
		{ "warmup", required_argument, NULL, 'W' },
		{ "timeout", required_argument, NULL, 't' },
		{ "model", required_argument, NULL, 'M' },
		{ "plain-inform", no_argument, NULL, 'p' },
		{ "count", required_argument, NULL, 'n' },
		{ "first-mac", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int o;

	*c = (struct cfg){ .dest.s_addr = htonl(INADDR_BROADCAST), .window = DEFAULT_WINDOW,
			   .macs = DEFAULT_MACS, .seconds = DEFAULT_SECONDS,
			   .warmup = DEFAULT_WARMUP, .timeout_ms = DEFAULT_TIMEOUT_MS,
			   .model = DEFAULT_MODEL };
	while ((o = getopt_long(argc, argv, "i:d:w:m:s:W:t:M:pn:f:h", longs, NULL)) != -1) {
		switch (o) {
		case 'i': c->ifname = optarg; break;
		case 'd':
			if (inet_pton(AF_INET, optarg, &c->dest) != 1)
				usage_error("--dest '%s' is not an IPv4 address", optarg);
			break;
		case 'w': c->window = parse_count("--window", optarg, 1, WINDOW_MAX); break;
		case 'm': c->macs = parse_count("--macs", optarg, 1, 1u << 24); break;
		case 's': c->seconds = parse_seconds("--seconds", optarg, 0.1); break;
		case 'W': c->warmup = parse_seconds("--warmup", optarg, 0); break;
		case 't': c->timeout_ms = parse_count("--timeout", optarg, 1, 60000); break;
		case 'M': c->model = optarg; break;
		case 'p': c->plain = true; break;
		case 'n': c->count = parse_count("--count", optarg, 1, COUNT_MAX); break;
		case 'f': c->first_mac = parse_count("--first-mac", optarg, 0, (1u << 24) - 1); break;
		case 'h': fputs(usage_text, stdout); exit(0);
		default: fputs("Try 'bsdp_load --help' for more information.\n", stderr); exit(2);
		}
	}
	if (optind < argc)
		usage_error("unexpected argument '%s'", argv[optind]);
	check_args(c);
}

/* ---- socket -------------------------------------------------------------- */

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

static void die(const char *what)
{
	fprintf(stderr, "bsdp_load: %s: %s\n", what, strerror(errno));
	exit(2);
}

static void set_int(int fd, int level, int opt, int v, const char *what)
{
	if (setsockopt(fd, level, opt, &v, sizeof(v)) < 0)
		die(what);
}

/* BSDP needs the client's own address in ciaddr: replies go there. */
static struct in_addr interface_addr(int fd, const char *ifname)
{
	struct ifreq ifr;
	struct sockaddr_in sin;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	ifr.ifr_addr.sa_family = AF_INET;
	if (ioctl(fd, SIOCGIFADDR, &ifr) < 0)
		die("no IPv4 address on the interface (SIOCGIFADDR)");
	memcpy(&sin, &ifr.ifr_addr, sizeof(sin));
	return sin.sin_addr;
}

/* Bound to the device so the limited broadcast leaves through it; on
 * INADDR_ANY:68 so both unicast and broadcast replies arrive.  Large
 * buffers so that a window of replies is never dropped by the kernel. */
static void open_socket(struct load *ld)
{
	struct sockaddr_in me = { .sin_family = AF_INET, .sin_port = htons(DHCP_CLIENT_PORT) };
	const char *ifname = ld->cfg.ifname;

	ld->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (ld->fd < 0)
		die("socket");
	set_int(ld->fd, SOL_SOCKET, SO_BROADCAST, 1, "SO_BROADCAST");
	set_int(ld->fd, SOL_SOCKET, SO_REUSEADDR, 1, "SO_REUSEADDR");
	set_int(ld->fd, SOL_SOCKET, SO_RCVBUF, 4 << 20, "SO_RCVBUF");
	set_int(ld->fd, SOL_SOCKET, SO_SNDBUF, 4 << 20, "SO_SNDBUF");
	if (setsockopt(ld->fd, SOL_SOCKET, SO_BINDTODEVICE, ifname, (socklen_t)strlen(ifname)) < 0)
		die("SO_BINDTODEVICE");
	if (bind(ld->fd, (const struct sockaddr *)&me, sizeof(me)) < 0)
		die("bind 0.0.0.0:68");
	ld->ciaddr = interface_addr(ld->fd, ifname);
}

/* ---- requests ------------------------------------------------------------ */

/* Locally administered, so never a real Mac's: 02:62:62:xx:xx:xx. */
static void pool_mac(uint32_t id, uint8_t mac[MAC_LEN])
{
	mac[0] = 0x02;
	mac[1] = 'b';
	mac[2] = 'b';
	mac[3] = (uint8_t)(id >> 16);
	mac[4] = (uint8_t)(id >> 8);
	mac[5] = (uint8_t)id;
}

/* The LIST is SPEC Table 5 (§4.5), the SELECT §4.6: sub-options 1, 2
 * for LIST; 1, 2, 3, 8 for SELECT, with 3 = option 54 of the ACK[LIST]. */
static struct bsdp_client_request request_of(const struct txn *t)
{
	if (t->phase == PHASE_FIRST)
		return (struct bsdp_client_request){ .message = BSDP_LIST,
						     .version = BSDP_VERSION_1_1 };
	return (struct bsdp_client_request){ .message = BSDP_SELECT, .version = BSDP_VERSION_1_1,
					     .server = t->server, .image = t->image };
}

/* make_bsdp_request: 53, 55, 57, 60, 43.  A plain INFORM keeps 53, 55
 * and 57 so the two servers parse requests of the same shape. */
static int build_request(const struct load *ld, const struct txn *t, uint8_t *buf)
{
	struct bsdp_client_id id = { .ip = ld->ciaddr, .xid = t->xid, .class_id = ld->class_id,
				     .class_len = ld->class_len,
				     .dhcp_max_size = BSDP_CLIENT_DHCP_MAX };
	struct bsdp_client_request rq = request_of(t);

	pool_mac(t->mac_id, id.mac);
	return bsdp_client_build(buf, TX_MAX, &id, ld->cfg.plain ? NULL : &rq);
}

static void flush_requests(struct load *ld)
{
	unsigned done = 0;

	while (done < ld->n_tx) {
		int n = sendmmsg(ld->fd, ld->txm + done, ld->n_tx - done, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			/* Their slots time out and restart; nothing else to do. */
			ld->n.send_errors += ld->n_tx - done;
			break;
		}
		done += (unsigned)n;
		ld->n.sent += (unsigned)n;
	}
	ld->n_tx = 0;
}

/* Gives the outstanding request of slot a new xid and queues it. */
static void queue_request(struct load *ld, unsigned slot, uint64_t now)
{
	struct txn *t = &ld->slots[slot];
	int len;

	if (ld->n_tx == TX_BATCH)
		flush_requests(ld);
	t->xid = ++ld->seq << SLOT_BITS | slot;
	t->sent_ns = now;
	len = build_request(ld, t, ld->txbuf[ld->n_tx]);
	if (len < 0) {
		fputs("bsdp_load: request does not fit in its buffer\n", stderr);
		exit(2);
	}
	ld->txv[ld->n_tx].iov_len = (size_t)len;
	ld->n_tx++;
}

/* The next MAC's transaction in this slot; in a storm, none once every
 * Mac has started. */
static void start_txn(struct load *ld, unsigned slot, uint64_t now)
{
	struct txn *t = &ld->slots[slot];
	uint32_t mac_id;

	if (ld->cfg.count && ld->next_mac == ld->cfg.count) {
		*t = (struct txn){ .idle = true };
		return;
	}
	mac_id = ld->cfg.count ? ld->cfg.first_mac + ld->next_mac++ : ld->next_mac++ % ld->cfg.macs;
	*t = (struct txn){ .mac_id = mac_id, .phase = PHASE_FIRST, .started_ns = now };
	queue_request(ld, slot, now);
}

/* ---- replies ------------------------------------------------------------- */

/* The slot a reply answers, or NULL when it is stale or not for us. */
static struct txn *match_reply(struct load *ld)
{
	const struct dhcp_header *h = &ld->ack.view.hdr;
	unsigned slot = h->xid & (WINDOW_MAX - 1);
	struct txn *t = &ld->slots[slot];
	uint8_t mac[MAC_LEN];

	if (h->op != BOOTREPLY || ld->ack.view.message_type != DHCP_ACK ||
	    slot >= ld->cfg.window || t->idle || t->xid != h->xid)
		return NULL;
	pool_mac(t->mac_id, mac);
	return memcmp(h->chaddr, mac, MAC_LEN) == 0 ? t : NULL;
}

static void complete_txn(struct load *ld, unsigned slot, uint64_t now)
{
	struct txn *t = &ld->slots[slot];

	ld->last_answer_ns = now;
	if (now >= ld->count_from_ns) {
		if (ld->latency)
			ld->latency[ld->n.completed] = now - t->started_ns;
		ld->n.completed++;
		ld->n.latency_ns += now - t->started_ns;
	} else {
		ld->n.completed_warmup++;
	}
	start_txn(ld, slot, now);
}

static void on_bsdp_reply(struct load *ld, struct txn *t, uint64_t now)
{
	unsigned slot = (unsigned)(t - ld->slots);
	struct bsdp_ack *a = &ld->ack;
	uint32_t image;

	if (bsdp_ack_check(a) != NULL) {
		ld->n.ignored++;
	} else if (a->message == BSDP_FAILED) {
		ld->n.failed++;
		ld->last_answer_ns = now;
		start_txn(ld, slot, now);
	} else if (t->phase == PHASE_FIRST && a->message == BSDP_LIST &&
		   bsdp_ack_u32(a, BSDP_TAG_DEFAULT_IMAGE, &image)) {
		/* SPEC §4.6: SELECT names the server from the ACK's option 54. */
		t->phase = PHASE_SECOND;
		t->image = image;
		t->server = a->server;
		queue_request(ld, slot, now);
	} else if (t->phase == PHASE_SECOND && a->message == BSDP_SELECT) {
		complete_txn(ld, slot, now);
	} else {
		ld->n.ignored++;
	}
}

static void on_plain_reply(struct load *ld, struct txn *t, uint64_t now)
{
	unsigned slot = (unsigned)(t - ld->slots);

	if (t->phase == PHASE_SECOND) {
		complete_txn(ld, slot, now);
		return;
	}
	t->phase = PHASE_SECOND;
	queue_request(ld, slot, now);
}

static void on_datagram(struct load *ld, const uint8_t *pkt, size_t len, uint64_t now)
{
	struct txn *t;

	ld->n.received++;
	if (dhcp_parse(&ld->ack.view, pkt, len) < 0 || !(t = match_reply(ld))) {
		ld->n.ignored++;
		return;
	}
	if (ld->cfg.plain)
		on_plain_reply(ld, t, now);
	else
		on_bsdp_reply(ld, t, now);
}

/* Drains what is waiting, RX_BATCH datagrams per system call. */
static void receive_replies(struct load *ld)
{
	for (;;) {
		int n = recvmmsg(ld->fd, ld->rxm, RX_BATCH, MSG_DONTWAIT, NULL);
		uint64_t now = now_ns();

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n < 0)
			die("recvmmsg");
		for (int i = 0; i < n; i++)
			on_datagram(ld, ld->rxbuf[i], ld->rxm[i].msg_len, now);
		if (n < RX_BATCH)
			return;
	}
}

/* A lost request or reply must not shrink the window for good: the
 * closed loop moves on to a new MAC, a Mac in a storm asks again. */
static void expire(struct load *ld, uint64_t now)
{
	uint64_t limit = (uint64_t)ld->cfg.timeout_ms * 1000000u;

	for (unsigned i = 0; i < ld->cfg.window; i++) {
		if (ld->slots[i].idle || now - ld->slots[i].sent_ns < limit)
			continue;
		ld->n.timeouts++;
		if (ld->cfg.count)
			queue_request(ld, i, now);
		else
			start_txn(ld, i, now);
	}
}

/* ---- run ----------------------------------------------------------------- */

static void init_batches(struct load *ld)
{
	ld->to = (struct sockaddr_in){ .sin_family = AF_INET,
				       .sin_port = htons(DHCP_SERVER_PORT),
				       .sin_addr = ld->cfg.dest };
	for (unsigned i = 0; i < TX_BATCH; i++) {
		ld->txv[i].iov_base = ld->txbuf[i];
		ld->txm[i].msg_hdr = (struct msghdr){ .msg_name = &ld->to,
						      .msg_namelen = sizeof(ld->to),
						      .msg_iov = &ld->txv[i], .msg_iovlen = 1 };
	}
	for (unsigned i = 0; i < RX_BATCH; i++) {
		ld->rxv[i] = (struct iovec){ .iov_base = ld->rxbuf[i], .iov_len = RX_MAX };
		ld->rxm[i].msg_hdr = (struct msghdr){ .msg_iov = &ld->rxv[i], .msg_iovlen = 1 };
	}
}

static bool storm_over(const struct load *ld)
{
	return ld->cfg.count && ld->n.completed + ld->n.failed == ld->cfg.count;
}

/* A storm has no warm-up: every Mac counts. */
static void run(struct load *ld)
{
	uint64_t start = now_ns();
	uint64_t end;
	struct pollfd pfd = { .fd = ld->fd, .events = POLLIN };

	ld->started_ns = start;
	ld->count_from_ns = start;
	if (!ld->cfg.count)
		ld->count_from_ns += (uint64_t)(ld->cfg.warmup * (double)NS_PER_S);
	end = ld->count_from_ns + (uint64_t)(ld->cfg.seconds * (double)NS_PER_S);
	for (unsigned i = 0; i < ld->cfg.window; i++)
		start_txn(ld, i, start);
	flush_requests(ld);
	while (now_ns() < end && !storm_over(ld)) {
		if (poll(&pfd, 1, POLL_MS) < 0 && errno != EINTR)
			die("poll");
		receive_replies(ld);
		expire(ld, now_ns());
		flush_requests(ld);
	}
}

static double cpu_seconds(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Nearest rank of the sorted latencies, in microseconds. */
static double percentile_us(const uint64_t *sorted, uint64_t n, unsigned pct)
{
	return n ? (double)sorted[(n * pct + 99) / 100 - 1] / 1e3 : 0;
}

static void report_storm(const struct load *ld)
{
	uint64_t n = ld->n.completed;

	qsort(ld->latency, n, sizeof(*ld->latency), cmp_u64);
	printf(" p50_latency_us=%.1f p99_latency_us=%.1f max_latency_us=%.1f unfinished=%llu",
	       percentile_us(ld->latency, n, 50), percentile_us(ld->latency, n, 99),
	       percentile_us(ld->latency, n, 100),
	       (unsigned long long)(ld->cfg.count - n - ld->n.failed));
}

static void report(const struct load *ld)
{
	const struct counters *n = &ld->n;
	double mean_us = n->completed ? (double)n->latency_ns / (double)n->completed / 1e3 : 0;
	double seconds = ld->cfg.seconds;

	if (ld->cfg.count && ld->last_answer_ns > ld->started_ns)
		seconds = (double)(ld->last_answer_ns - ld->started_ns) / (double)NS_PER_S;
	printf("mode=%s seconds=%.4f completed=%llu tx_per_s=%.1f total_completed=%llu "
	       "mean_latency_us=%.1f sent=%llu received=%llu ignored=%llu failed=%llu "
	       "timeouts=%llu send_errors=%llu client_cpu_s=%.2f",
	       ld->cfg.plain ? "plain-inform" : "bsdp", seconds,
	       (unsigned long long)n->completed, (double)n->completed / seconds,
	       (unsigned long long)(n->completed + n->completed_warmup), mean_us,
	       (unsigned long long)n->sent, (unsigned long long)n->received,
	       (unsigned long long)n->ignored, (unsigned long long)n->failed,
	       (unsigned long long)n->timeouts, (unsigned long long)n->send_errors,
	       cpu_seconds());
	if (ld->cfg.count)
		report_storm(ld);
	putchar('\n');
}

int main(int argc, char **argv)
{
	struct load *ld = calloc(1, sizeof(*ld));

	if (!ld)
		die("calloc");
	parse_args(&ld->cfg, argc, argv);
	if (ld->cfg.count && !(ld->latency = calloc(ld->cfg.count, sizeof(*ld->latency))))
		die("calloc");
	/* check_args keeps the model short enough for option 60. */
	ld->class_len = (size_t)bsdp_client_class_id(ld->class_id, sizeof(ld->class_id), "i386",
						     ld->cfg.model);
	open_socket(ld);
	init_batches(ld);
	run(ld);
	report(ld);
	close(ld->fd);
	free(ld->latency);
	free(ld);
	return fflush(stdout) == 0 ? 0 : 2;
}
