/* SPDX-License-Identifier: MIT */
/*
 * bsdpd: process setup.  Builds the options (options.h), prints the
 * catalog for --check, starts the services on one event loop, tells
 * systemd when they are ready (notify.h), and turns signals into events.
 */
#include <errno.h>
#include <fcntl.h>
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
#include "notify.h"
#include "options.h"
#include "recorder.h"
#include "server.h"
#include "db.h"
#include "store.h"
#include "tftp_server.h"

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
	int r;
	size_t errors, warnings;

	/* A file with an error stopped options_build already. */
	if (o->conf)
		printf("conf %s: %zu option%s\n", o->conf, o->file.n, o->file.n == 1 ? "" : "s");
	else
		printf("conf: none (no --conf, and no " DEFAULT_CONF ")\n");
	options_print(o, stdout);
	r = nb_catalog_load(o->cfg.root, &cat);
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
	struct recorder *recorder;   /* writes the boots' sightings and events */
	struct metrics metrics;      /* every service counts here (metrics.h) */
	struct live *live;           /* the API's view of the services (live.h) */
	struct http_config http_cfg; /* outlives the HTTP service */
	struct options *opts;        /* what runs; SIGHUP changes its live part */
	const struct cmdline *cmdline; /* applied over the file at each SIGHUP */
	struct notifier notify;      /* systemd's $NOTIFY_SOCKET */
};

/* The catalog re-read of a SIGHUP is over (server.c). */
static void reload_done(void *ctx)
{
	struct daemon *d = ctx;

	notify_send(&d->notify, "READY=1");
}

/* The next options, checked as far as the running services can: the file
 * parses, and every --boot-file is a booter under the image root. */
static int build_next(struct daemon *d, struct options *next)
{
	char err[1024], *why = NULL;

	if (options_build(next, d->cmdline, err, sizeof(err)) < 0) {
		log_msg(LOG_ERR, "SIGHUP: %s; nothing changed", err);
		return -1;
	}
	if (bsdp_service_check_boot_files(d->dhcp, &next->cfg, &why) < 0) {
		log_msg(LOG_ERR, "SIGHUP: %s; nothing changed", why ? why : "out of memory");
		free(why);
		return -1;
	}
	return 0;
}

/* SIGHUP: the options are built aside and, when they are sound, their
 * live part taken; then the catalog and the template are re-read, each
 * keeping the old one when the new one fails (server.c, http.c).  The
 * re-read of the catalog runs on another thread, so a root that blocks
 * never keeps SIGTERM from stopping the loop. */
static void reload(struct daemon *d)
{
	struct options next;
	char names[512];

	notify_reloading(&d->notify);
	if (build_next(d, &next) < 0) {
		options_free(&next);
		notify_send(&d->notify, "READY=1");
		return;
	}
	if (options_needing_restart(d->opts, &next, names, sizeof(names)))
		log_msg(LOG_WARNING, "SIGHUP: %s changed; that needs a restart, the running "
			"values stay", names);
	options_take_live(d->opts, &next);
	log_set_max(d->opts->log_level);
	bsdp_service_config_changed(d->dhcp);
	if (d->http)
		http_service_reload(d->http);
	bsdp_service_reload(d->dhcp);
}

static void on_signal(struct loop *loop, int fd, uint32_t events, void *ctx)
{
	struct daemon *d = ctx;
	struct signalfd_siginfo si;

	(void)events;
	while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			reload(d);
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

static int start_http(const struct options *o, struct loop *loop, struct daemon *d)
{
	char *err = NULL;

	d->http_cfg = (struct http_config){
		.root = o->cfg.http_root, .port = o->cfg.http_port,
		.file_base = o->http_base[0] ? o->http_base : NULL,
		.max_connections = o->cfg.http_max_connections,
		.idle_timeout = HTTP_DEFAULT_IDLE_TIMEOUT, .files = &d->files,
		.hooks = { .ctx = d->dhcp, .client_info = bsdp_service_client_info,
			   .gauges = bsdp_service_gauges },
		.metrics = &d->metrics,
	};
	http_listen_addrs(&o->cfg, &d->http_cfg);
	d->http = http_service_new(&d->http_cfg, loop, &err);
	return d->http ? 0 : log_failure(err);
}

/* The recorder committed events: to the event streams. */
static void on_recorded(struct loop *loop, int fd, uint32_t events, void *ctx)
{
	struct daemon *d = ctx;

	(void)loop;
	(void)fd;
	(void)events;
	recorder_deliver(d->recorder);
}

/* Its own connection to the policy's database; the thread starts after
 * confinement (confine_daemon). */
static int start_recorder(const struct options *o, const struct store_options *so,
			  struct daemon *d)
{
	const struct recorder_config rc = {
		.database = o->cfg.database, .state_dir = o->cfg.state_dir, .store = so,
		.written = boot_policy_event_written, .ctx = d->policy,
	};
	char *err = NULL;
	int r;

	if (!(d->recorder = recorder_open(&rc, &err)))
		return log_failure(err);
	if ((r = loop_add(d->loop, recorder_fd(d->recorder), EPOLLIN, on_recorded, d)) < 0) {
		log_msg(LOG_ERR, "cannot watch the boot recorder: %s", strerror(-r));
		return -1;
	}
	boot_policy_set_recorder(d->policy, d->recorder);
	return 0;
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
	if (start_recorder(o, &so, d) < 0)
		return -1;
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
	bsdp_service_on_reloaded(d->dhcp, reload_done, d);
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

/* Without --foreground bsdpd forks before it opens anything, not after
 * (daemon(3)): SQLite's locks belong to the process that took them, and
 * a database opened before the fork is unlocked in the child, so the
 * next other connection to close (an admin's sqlite3) would take itself
 * for the last, checkpoint and delete the log the daemon still writes.
 * The parent waits for the child's word that every service is up, and
 * exits 0 with it, or 1 (start-up errors went to the terminal, on the
 * stderr the child still shares). */
struct detach {
	int status_fd;                 /* the child's end of the pipe; -1: foreground */
	int null_fd;                   /* /dev/null, opened while it still may be */
};

static int detach_begin(const struct options *o, struct detach *dt)
{
	int p[2];
	char ok;
	pid_t pid;

	*dt = (struct detach){ .status_fd = -1, .null_fd = -1 };
	if (o->foreground)
		return 0;
	if (pipe2(p, O_CLOEXEC) < 0 || (pid = fork()) < 0) {
		log_msg(LOG_ERR, "cannot detach: %s", strerror(errno));
		return -1;
	}
	if (pid > 0) {
		close(p[1]);
		_exit(read(p[0], &ok, 1) == 1 ? 0 : 1);
	}
	close(p[0]);
	dt->status_fd = p[1];
	dt->null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (setsid() < 0 || dt->null_fd < 0) {
		log_msg(LOG_ERR, "cannot detach: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* Every service is up: from here on, syslog, and the parent may go. */
static void detach_finish(const struct options *o, struct detach *dt)
{
	if (dt->status_fd < 0)
		return;
	log_open("bsdpd", false, o->log_level);
	if (chdir("/") < 0 || dup2(dt->null_fd, STDIN_FILENO) < 0 ||
	    dup2(dt->null_fd, STDOUT_FILENO) < 0 || dup2(dt->null_fd, STDERR_FILENO) < 0)
		log_msg(LOG_WARNING, "detaching from the terminal: %s", strerror(errno));
	close(dt->null_fd);
	if (write(dt->status_fd, "", 1) != 1)
		log_msg(LOG_WARNING, "telling the starting process: %s", strerror(errno));
	close(dt->status_fd);
	*dt = (struct detach){ .status_fd = -1, .null_fd = -1 };
}

/* Before "ready": the checkpointer starts and the signals are watched only
 * here, after confine_apply, whose Landlock binds only the threads
 * started after it.  Signals sent meanwhile wait, blocked, in the
 * signalfd. */
static int confine_daemon(const struct options *o, struct daemon *d)
{
	const struct confine_paths paths = {
		.image_root = o->cfg.root, .http_root = o->cfg.http_root,
		.state_dir = o->cfg.state_dir, .conf_file = o->conf,
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
	if ((r = recorder_start(d->recorder)) < 0) {
		log_msg(LOG_ERR, "cannot start the boot recorder: %s", strerror(-r));
		return -1;
	}
	if (loop_add(d->loop, d->signal_fd, EPOLLIN, on_signal, d) < 0) {
		log_msg(LOG_ERR, "cannot watch signals: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* $NOTIFY_SOCKET, read before anything else can be started. */
static int open_notify(struct notifier *n)
{
	int r = notify_open(n);

	if (r < 0)
		log_msg(LOG_ERR, "NOTIFY_SOCKET: %s", strerror(-r));
	return r;
}

static int run_server(struct options *o, const struct cmdline *cl)
{
	struct detach dt;
	struct loop *loop;
	struct daemon d = { .opts = o, .cmdline = cl, .signal_fd = -1 };
	int r = -1;

	if (detach_begin(o, &dt) < 0)
		return 1;
	/* While bsdpd may: confinement drops CAP_SYS_RESOURCE (recorder.h). */
	if ((r = recorder_allow_renice()) < 0)
		log_msg(LOG_DEBUG, "RLIMIT_NICE: %s; the recorder keeps the loop's priority",
			strerror(-r));
	d.loop = loop = loop_new();
	d.signal_fd = open_signals();
	/* Before any thread: the catalog loader runs libxml2 on its own. */
	nb_init();
	if (!loop || d.signal_fd < 0)
		log_msg(LOG_ERR, "cannot set up the event loop: %s", strerror(errno));
	else if (open_notify(&d.notify) == 0 && start_services(o, loop, &d) == 0 &&
		 confine_daemon(o, &d) == 0) {
		detach_finish(o, &dt);
		log_msg(LOG_INFO, "bsdpd %s ready, priority %u", BSDPD_VERSION, o->cfg.priority);
		/* Every socket is bound and the catalog loaded (server.c). */
		notify_send(&d.notify, "READY=1");
		r = loop_run(loop);
		notify_send(&d.notify, "STOPPING=1");
	}
	/* TFTP's transfers end after HTTP is gone, and are boot events. */
	if (d.policy) {
		boot_policy_set_http(d.policy, NULL);
		boot_policy_set_live(d.policy, NULL);
	}
	live_free(d.live);
	http_service_free(d.http);
	tftp_service_free(d.tftp);
	if (d.policy)
		boot_policy_set_recorder(d.policy, NULL);
	if (d.recorder)
		loop_del(loop, recorder_fd(d.recorder));
	recorder_close(d.recorder);
	boot_policy_free(d.policy);
	store_close(d.store);
	bsdp_service_free(d.dhcp);
	if (d.signal_fd >= 0)
		close(d.signal_fd);
	notify_close(&d.notify);
	loop_free(loop);
	return r < 0 ? 1 : 0;
}

/* Detaching moves to /, and the catalog is re-read by path on SIGHUP:
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

/* The file is re-read on SIGHUP, after detaching moved to /. */
static void absolute_conf(struct cmdline *cl)
{
	static char conf[PATH_MAX];

	if (cl->conf && realpath(cl->conf, conf))
		cl->conf = conf;
}

int main(int argc, char **argv)
{
	struct cmdline cl;
	struct options o;
	char err[1024];
	int r;

	switch (cmdline_parse(&cl, argc, argv, err, sizeof(err))) {
	case OPTIONS_HELP:
		fputs(options_usage, stdout);
		cmdline_free(&cl);
		return 0;
	case OPTIONS_VERSION:
		puts("bsdpd " BSDPD_VERSION);
		cmdline_free(&cl);
		return 0;
	case OPTIONS_ERROR:
		if (err[0])
			usage_error("%s", err);
		fprintf(stderr, "Try 'bsdpd --help' for more information.\n");
		cmdline_free(&cl);
		return 2;
	case OPTIONS_OK:
		break;
	}
	absolute_conf(&cl);
	if (options_build(&o, &cl, err, sizeof(err)) < 0)
		usage_error("%s", err);
	absolute_paths(&o);
	if (o.check) {
		r = run_check(&o);
	} else {
		log_open("bsdpd", true, o.log_level);
		r = run_server(&o, &cl);
	}
	options_free(&o);
	cmdline_free(&cl);
	return r;
}
