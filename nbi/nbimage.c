/* SPDX-License-Identifier: MIT */
/*
 * NBImageInfo.plist under Apple's rules (bootplib/nbimages.c,
 * NBImageEntry_create; docs/bsdp.md §3.1).  The only file that includes
 * libplist and libxml2.
 *
 * libplist decodes both XML and binary plists.  Its XML reader says little
 * about where a file is broken, so an XML file is first read by libxml2,
 * whose error carries the line and column an admin needs.
 */
#include "nbimage.h"
#include "url.h"
#include "beneath.h"
#include "bplist.h"
#include "bsdp.h"
#include "utf8.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <plist/plist.h>

/* ---- problems ---------------------------------------------------------- */

void nb_problem_add(struct nb_problems *p, enum nb_severity sev, const char *path,
		    const char *fmt, ...)
{
	struct nb_problem *v = realloc(p->v, (p->n + 1) * sizeof(*v));
	va_list ap;
	char *msg = NULL;

	if (!v)
		abort();
	p->v = v;
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		abort();
	va_end(ap);
	v[p->n].severity = sev;
	v[p->n].path = strdup(path ? path : "");
	v[p->n].message = msg;
	if (!v[p->n].path)
		abort();
	p->n++;
}

void nb_problems_free(struct nb_problems *p)
{
	for (size_t i = 0; i < p->n; i++) {
		free(p->v[i].path);
		free(p->v[i].message);
	}
	free(p->v);
	p->v = NULL;
	p->n = 0;
}

size_t nb_problems_count(const struct nb_problems *p, enum nb_severity sev)
{
	size_t n = 0;

	for (size_t i = 0; i < p->n; i++)
		n += p->v[i].severity == sev;
	return n;
}

/* ---- small helpers ----------------------------------------------------- */

static char *xstrdup(const char *s)
{
	char *d = strdup(s);

	if (!d)
		abort();
	return d;
}

static void strv_clear(struct nb_strv *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	*s = (struct nb_strv){ 0 };
}

void nb_image_clear(struct nb_image *img)
{
	free(img->bundle);
	free(img->name);
	free(img->description);
	free(img->boot_file);
	free(img->root_path);
	strv_clear(&img->archs);
	strv_clear(&img->enabled_models);
	strv_clear(&img->disabled_models);
	free(img->enabled_macs.v);
	free(img->disabled_macs.v);
	*img = (struct nb_image){ 0 };
}

static const char *plist_type_name(plist_t node)
{
	switch (plist_get_node_type(node)) {
	case PLIST_BOOLEAN: return "<true/>/<false/>";
	case PLIST_UINT: return "<integer>";
	case PLIST_REAL: return "<real>";
	case PLIST_STRING: return "<string>";
	case PLIST_ARRAY: return "<array>";
	case PLIST_DICT: return "<dict>";
	case PLIST_DATE: return "<date>";
	case PLIST_DATA: return "<data>";
	default: return "an unknown type";
	}
}

int nb_parse_mac(const char *s, uint8_t mac[6])
{
	for (int i = 0; i < 6; i++) {
		int v = hex_digit(*s++), lo;

		if (v < 0)
			return -EINVAL;
		lo = hex_digit(*s);
		if (lo >= 0) {
			v = v << 4 | lo;
			s++;
		}
		mac[i] = (uint8_t)v;
		if (i < 5 && *s != ':' && *s != '-')
			return -EINVAL;
		if (i < 5)
			s++;
	}
	return *s == '\0' ? 0 : -EINVAL;
}

/* ---- the plist reader -------------------------------------------------- */

/* One parse of one file: the dict, where problems go, and whether any error was seen. */
struct reader {
	plist_t dict;
	const char *path;
	struct nb_problems *problems;
	bool failed;
	bool type_unknown;   /* Type missing or wrong: nothing follows from it */
};

__attribute__((format(printf, 3, 0)))
static void report(struct reader *r, enum nb_severity sev, const char *fmt, va_list ap)
{
	char *msg;

	if (vasprintf(&msg, fmt, ap) < 0)
		abort();
	nb_problem_add(r->problems, sev, r->path, "%s", msg);
	free(msg);
	r->failed |= sev == NB_ERROR;
}

__attribute__((format(printf, 2, 3)))
static void fail(struct reader *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report(r, NB_ERROR, fmt, ap);
	va_end(ap);
}

__attribute__((format(printf, 2, 3)))
static void warn(struct reader *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report(r, NB_WARNING, fmt, ap);
	va_end(ap);
}

/* The value of key when it has the wanted type; NULL (with an error) when it
 * has another, NULL (silently) when absent. */
static plist_t get_typed(struct reader *r, const char *key, plist_type type)
{
	plist_t node = plist_dict_get_item(r->dict, key);

	if (!node)
		return NULL;
	if (plist_get_node_type(node) != type) {
		plist_t want = NULL;

		switch (type) {
		case PLIST_BOOLEAN: want = plist_new_bool(0); break;
		case PLIST_UINT: want = plist_new_uint(0); break;
		case PLIST_STRING: want = plist_new_string(""); break;
		default: want = plist_new_array(); break;
		}
		fail(r, "%s is %s, must be %s", key, plist_type_name(node), plist_type_name(want));
		plist_free(want);
		return NULL;
	}
	return node;
}

/* Apple's NBImageEntry_create falls back to the default when a flag is not
 * a boolean; so do we, but say so, since <string>false</string> then means
 * the opposite of what its author meant. */
static bool get_bool(struct reader *r, const char *key, bool dflt)
{
	plist_t node = plist_dict_get_item(r->dict, key);
	uint8_t v;

	if (!node)
		return dflt;
	if (plist_get_node_type(node) != PLIST_BOOLEAN) {
		warn(r, "%s is %s, must be <true/> or <false/>; using %s", key,
		     plist_type_name(node), dflt ? "true" : "false");
		return dflt;
	}
	plist_get_bool_val(node, &v);
	return v != 0;
}

/* A copy of a <string>'s value, or NULL when it holds a NUL character.
 * A binary plist's UTF-16 string can decode to U+0000, and libplist 2.2's
 * plist_get_string_val() then fails an assertion and aborts the process
 * (found by fuzz_nbimage); its pointer accessor does not. */
static char *string_copy(plist_t node)
{
	uint64_t len = 0;
	const char *s = plist_get_string_ptr(node, &len);
	char *d;

	if (!s || memchr(s, '\0', len))
		return NULL;
	d = strndup(s, len);
	if (!d)
		abort();
	return d;
}

/* Integer keys: a <string> holding digits gets its own message, since
 * hand-edited plists do that often and BSDPy users hit it (NetSUS#129). */
static bool get_uint(struct reader *r, const char *key, uint64_t *out)
{
	plist_t node = plist_dict_get_item(r->dict, key);
	char *s = NULL;

	if (node && plist_get_node_type(node) == PLIST_STRING) {
		s = string_copy(node);
		fail(r, "%s is the string \"%s\"; write it as <integer>%s</integer>", key,
		     s ? s : "", s ? s : "");
		free(s);
		return false;
	}
	node = get_typed(r, key, PLIST_UINT);
	if (!node)
		return false;
	plist_get_uint_val(node, out);
	return true;
}

static char *get_string(struct reader *r, const char *key)
{
	plist_t node = get_typed(r, key, PLIST_STRING);
	char *s = NULL;

	if (!node)
		return NULL;
	s = string_copy(node);
	if (!s)
		fail(r, "%s holds a NUL character", key);
	return s;
}

static void get_strv(struct reader *r, const char *key, struct nb_strv *out)
{
	plist_t arr = get_typed(r, key, PLIST_ARRAY);
	uint32_t n = arr ? plist_array_get_size(arr) : 0;

	out->v = n ? calloc(n, sizeof(*out->v)) : NULL;
	if (n && !out->v)
		abort();
	for (uint32_t i = 0; i < n; i++) {
		plist_t item = plist_array_get_item(arr, i);

		if (plist_get_node_type(item) != PLIST_STRING) {
			fail(r, "%s item %u is %s, must be <string>", key, i,
			     plist_type_name(item));
			continue;
		}
		out->v[out->n] = string_copy(item);
		if (!out->v[out->n]) {
			fail(r, "%s item %u holds a NUL character", key, i);
			continue;
		}
		out->n++;
	}
}

static void get_macv(struct reader *r, const char *key, struct nb_macv *out)
{
	struct nb_strv sv = { 0 };

	get_strv(r, key, &sv);
	out->v = sv.n ? calloc(sv.n, sizeof(*out->v)) : NULL;
	if (sv.n && !out->v)
		abort();
	for (size_t i = 0; i < sv.n; i++) {
		if (nb_parse_mac(sv.v[i], out->v[out->n].b) < 0)
			fail(r, "%s item \"%s\" is not a MAC address like 00:1b:63:84:45:e6",
			     key, sv.v[i]);
		else
			out->n++;
	}
	strv_clear(&sv);
}

/* ---- Apple's rules ----------------------------------------------------- */

static void read_name(struct reader *r, struct nb_image *img)
{
	img->name = get_string(r, "Name");
	if (!img->name) {
		if (!plist_dict_get_item(r->dict, "Name"))
			fail(r, "Name is missing");
		return;
	}
	if (img->name[0] == '\0')
		fail(r, "Name is empty");
	else if (!utf8_valid(img->name, strlen(img->name)))
		fail(r, "Name is not valid UTF-8");
	else if (strlen(img->name) > BSDP_IMAGE_NAME_MAX) {
		warn(r, "Name is %zu bytes; clients are sent the first %d", strlen(img->name),
		     BSDP_IMAGE_NAME_MAX);
		img->name[utf8_prefix(img->name, strlen(img->name), BSDP_IMAGE_NAME_MAX)] = '\0';
	}
}

static void read_type(struct reader *r, struct nb_image *img)
{
	char *type = get_string(r, "Type");

	r->type_unknown = true;
	if (!type) {
		if (!plist_dict_get_item(r->dict, "Type"))
			fail(r, "Type is missing; use NFS, HTTP or BootFileOnly");
		return;
	}
	r->type_unknown = false;
	if (strcmp(type, "NFS") == 0)
		img->type = NB_TYPE_NFS;
	else if (strcmp(type, "HTTP") == 0)
		img->type = NB_TYPE_HTTP;
	else if (strcmp(type, "BootFileOnly") == 0)
		img->type = NB_TYPE_BOOTFILE_ONLY;
	else
		r->type_unknown = true;
	if (r->type_unknown && strcmp(type, "Classic") == 0)
		fail(r, "Type Classic (Mac OS 9) is not supported");
	else if (r->type_unknown)
		fail(r, "Type \"%s\" is unknown; use NFS, HTTP or BootFileOnly", type);
	free(type);
}

/* libplist 2.2 has one integer type, PLIST_UINT: <integer>-1</integer>
 * reads as 2^64-1.  Messages show such a value as the negative number the
 * admin wrote. */
static long long as_written(uint64_t v)
{
	return v > INT64_MAX ? -(long long)(UINT64_MAX - v) - 1 : (long long)v;
}

/* Kind is optional: Apple ignores a non-integer or out-of-range value and
 * then defaults it from Type (NFS/HTTP: Mac OS X).  BootFileOnly has no
 * default, so without a usable Kind the image is rejected. */
static void read_kind(struct reader *r, struct nb_image *img)
{
	plist_t node = plist_dict_get_item(r->dict, "Kind");
	uint64_t kind = 0;
	bool have = false;

	if (node && plist_get_node_type(node) == PLIST_UINT) {
		plist_get_uint_val(node, &kind);
		have = kind <= BSDP_IMAGE_KIND_MASK;
		if (!have)
			warn(r, "Kind %lld is out of range 0-127; ignored", as_written(kind));
	} else if (node) {
		warn(r, "Kind is %s, must be <integer>; ignored", plist_type_name(node));
	}
	if (!have && img->type == NB_TYPE_BOOTFILE_ONLY)
		fail(r, "Kind is required for Type BootFileOnly (1 = Mac OS X)");
	img->kind = have ? (uint8_t)kind : BSDP_KIND_MACOSX;
}

/* Index 1-65535, Kind and IsInstall build the 32-bit id (SPEC §3.4.2). */
static void read_id(struct reader *r, struct nb_image *img)
{
	uint64_t index = 0;
	bool has_index = get_uint(r, "Index", &index);

	if (!has_index && !plist_dict_get_item(r->dict, "Index"))
		fail(r, "Index is missing; give an <integer> from 1 to 65535");
	else if (has_index && (index < 1 || index > UINT16_MAX))
		fail(r, "Index %lld is out of range 1-65535", as_written(index));
	read_kind(r, img);
	img->install = get_bool(r, "IsInstall", false);
	img->index = (uint16_t)index;
	img->id = bsdp_image_id(img->install, img->kind, img->index);
}

static bool arch_name_ok(const char *a)
{
	size_t n = strlen(a);

	if (n == 0 || n >= BSDP_ARCH_MAX)
		return false;
	return strspn(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") == n;
}

/* Apple's parser assumes ["ppc"] when Architectures is absent. */
static void read_archs(struct reader *r, struct nb_image *img)
{
	if (!plist_dict_get_item(r->dict, "Architectures")) {
		img->archs.v = calloc(1, sizeof(char *));
		if (!img->archs.v)
			abort();
		img->archs.v[0] = xstrdup("ppc");
		img->archs.n = 1;
		warn(r, "Architectures is missing, so it means [\"ppc\"]; Intel Macs need "
			"<array><string>i386</string></array>");
		return;
	}
	get_strv(r, "Architectures", &img->archs);
	if (img->archs.n == 0)
		fail(r, "Architectures is empty");
	for (size_t i = 0; i < img->archs.n; i++)
		if (!arch_name_ok(img->archs.v[i]))
			fail(r, "Architectures item \"%s\" is not an architecture name",
			     img->archs.v[i]);
}

/* A relative path inside the bundle: no absolute path, no ".." component. */
static bool relative_path_ok(const char *p)
{
	const char *s = p;

	if (*p == '\0' || *p == '/')
		return false;
	while (*s) {
		size_t n = strcspn(s, "/");

		if (n == 2 && s[0] == '.' && s[1] == '.')
			return false;
		s += n;
		s += *s == '/';
	}
	return true;
}

static bool regular_file_at(const char *dir, const char *rel)
{
	char path[PATH_MAX];
	struct stat st;

	if (snprintf(path, sizeof(path), "%s/%s", dir, rel) >= (int)sizeof(path))
		return false;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* The TFTP server's view of a bundle: the image root is the bundle's
 * parent (bundles sit directly in it) and every path it serves starts
 * with the bundle's name.  "." and ".." are first made a real name. */
static int open_served_root(const char *dir, char *base, size_t cap)
{
	char buf[PATH_MAX], *slash, *name;
	size_t n = strlen(dir);
	int fd;

	while (n > 1 && dir[n - 1] == '/')
		n--;
	if (n >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, dir, n);
	buf[n] = '\0';
	slash = strrchr(buf, '/');
	name = slash ? slash + 1 : buf;
	if (!strcmp(name, ".") || !strcmp(name, "..") || !*name) {
		if (!realpath(dir, buf))
			return -errno;
		slash = strrchr(buf, '/');
		name = slash + 1;
	}
	if (snprintf(base, cap, "%s", name) >= (int)cap)
		return -ENAMETOOLONG;
	if (slash)
		slash[slash == buf] = '\0';   /* "/x.nbi" keeps its "/" */
	fd = open(slash ? buf : ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/* Whether the TFTP server will serve <bundle>/rel, by its own rule
 * (beneath.h); the error says why not. */
static bool served_at(struct reader *r, int rootfd, const char *base, const char *rel)
{
	char path[PATH_MAX], why[160];
	struct stat st;
	int err;

	if (snprintf(path, sizeof(path), "%s/%s", base, rel) >= (int)sizeof(path))
		err = -ENAMETOOLONG;
	else
		err = beneath_check_served(rootfd, path, &st);
	if (err == 0 || err == -ENOENT || err == -ENOTDIR)
		return err == 0;
	fail(r, "BootFile %s %s", rel, served_refusal(err, &st, why, sizeof(why)));
	return false;
}

/* Each architecture needs <arch>/<BootFile>; for ppc alone Apple also
 * accepts the boot file at the top of the bundle (Mac OS 9 era layout). */
static void check_boot_files(struct reader *r, struct nb_image *img, const char *dir)
{
	char rel[PATH_MAX], base[NAME_MAX + 1];
	int rootfd = open_served_root(dir, base, sizeof(base));

	if (rootfd < 0) {
		fail(r, "cannot open the folder holding %s: %s", dir, strerror(-rootfd));
		return;
	}
	for (size_t i = 0; i < img->archs.n && !r->failed; i++) {
		snprintf(rel, sizeof(rel), "%s/%s", img->archs.v[i], img->boot_file);
		if (served_at(r, rootfd, base, rel) || r->failed)
			continue;
		if (strcmp(img->archs.v[i], "ppc") == 0 &&
		    served_at(r, rootfd, base, img->boot_file))
			img->ppc_boot_at_top = true;
		else if (!r->failed)
			fail(r, "BootFile %s is not a regular file in the bundle", rel);
	}
	close(rootfd);
}

static void read_boot_file(struct reader *r, struct nb_image *img, const char *dir)
{
	img->boot_file = get_string(r, "BootFile");
	if (!img->boot_file) {
		if (!plist_dict_get_item(r->dict, "BootFile"))
			fail(r, "BootFile is missing");
		return;
	}
	if (!relative_path_ok(img->boot_file)) {
		fail(r, "BootFile \"%s\" must be a path inside the architecture folder",
		     img->boot_file);
		return;
	}
	if (dir && !r->failed)
		check_boot_files(r, img, dir);
}

/* Indirect RootPath forms (nbimages.c parse_nfs_path/parse_http_path) name
 * another host.  Firmware does no DNS, so only a literal IPv4 is accepted. */
static bool indirect_host_ok(const char *root_path)
{
	const char *host = root_path, *end;
	char buf[INET_ADDRSTRLEN];
	struct in_addr a;

	if (strncmp(host, "http://", 7) == 0) {
		host += 7;
		if (strchr(host, '@') && strchr(host, '@') < strchr(host, '/'))
			host = strchr(host, '@') + 1;
		end = host + strcspn(host, ":/");
	} else {
		end = strchr(host, ':');
	}
	if (!end || (size_t)(end - host) >= sizeof(buf))
		return false;
	memcpy(buf, host, (size_t)(end - host));
	buf[end - host] = '\0';
	return inet_pton(AF_INET, buf, &a) == 1;
}

static void read_root_path(struct reader *r, struct nb_image *img, const char *dir)
{
	if (r->type_unknown)
		return;   /* which RootPath is needed depends on the Type */
	if (img->type == NB_TYPE_BOOTFILE_ONLY) {
		if (plist_dict_get_item(r->dict, "RootPath"))
			warn(r, "RootPath is ignored for Type BootFileOnly");
		return;
	}
	img->root_path = get_string(r, "RootPath");
	if (!img->root_path) {
		if (!plist_dict_get_item(r->dict, "RootPath"))
			fail(r, "RootPath is required for Type %s", nb_type_name(img->type));
		return;
	}
	if (strchr(img->root_path, ':')) {
		if (!indirect_host_ok(img->root_path))
			fail(r, "RootPath \"%s\" must name its host by IPv4 address "
				"(firmware does no DNS)", img->root_path);
	} else if (!relative_path_ok(img->root_path)) {
		fail(r, "RootPath \"%s\" must be a path inside the bundle", img->root_path);
	} else if (dir && !regular_file_at(dir, img->root_path)) {
		fail(r, "RootPath %s is not a regular file in the bundle", img->root_path);
	}
}

static void read_load_balance(struct reader *r, struct nb_image *img)
{
	char *s = get_string(r, "LoadBalanceServer");

	if (!s)
		return;
	/* Apple ignores a LoadBalanceServer it cannot resolve. */
	if (inet_pton(AF_INET, s, &img->load_balance) == 1)
		img->has_load_balance = true;
	else
		warn(r, "LoadBalanceServer \"%s\" is not an IPv4 address; ignored", s);
	free(s);
}

static void read_filters(struct reader *r, struct nb_image *img)
{
	get_strv(r, "EnabledSystemIdentifiers", &img->enabled_models);
	get_strv(r, "DisabledSystemIdentifiers", &img->disabled_models);
	get_macv(r, "EnabledMACAddresses", &img->enabled_macs);
	get_macv(r, "DisabledMACAddresses", &img->disabled_macs);
	/* Diagnostics (Kind 3) are offered only to clients that ask for them. */
	img->filter_only = get_bool(r, "FilterOnly", img->kind == BSDP_KIND_DIAGNOSTICS);
	if (get_bool(r, "SupportsDiskless", false))
		warn(r, "SupportsDiskless is ignored: bsdpd allocates no AFP shadow files");
}

static void read_image(struct reader *r, struct nb_image *img, const char *dir)
{
	read_name(r, img);
	read_type(r, img);
	read_id(r, img);
	img->enabled = get_bool(r, "IsEnabled", true);
	img->is_default = get_bool(r, "IsDefault", false);
	img->description = get_string(r, "Description");
	read_archs(r, img);
	read_boot_file(r, img, dir);
	read_root_path(r, img, dir);
	read_load_balance(r, img);
	read_filters(r, img);
}

/* ---- decoding the file ------------------------------------------------- */

static bool is_binary_plist(const char *data, size_t len)
{
	return len >= 8 && memcmp(data, "bplist00", 8) == 0;
}

void nb_init(void)
{
	xmlInitParser();
}

/* Always false: the problem says which limit the file passed. */
static bool shape_refused(int r, const char *path, struct nb_problems *problems)
{
	if (r == -ELOOP)
		nb_problem_add(problems, NB_ERROR, path, "nested deeper than %d levels (or a "
			       "reference cycle); refused before decoding", NB_PLIST_DEPTH_MAX);
	else
		nb_problem_add(problems, NB_ERROR, path, "more than %d values; refused before "
			       "decoding", NB_PLIST_NODES_MAX);
	return false;
}

static void xml_silence(void *ctx, const char *msg, ...)
{
	(void)ctx;
	(void)msg;
}

/* The shape limits (nbimage.h) over an XML tree, walked without recursion
 * through the parent and sibling links: the <plist> element is not a
 * level, the top <dict> is 1, as in a binary plist. */
static bool xml_shape_ok(xmlDocPtr doc, const char *path, struct nb_problems *problems)
{
	xmlNodePtr n = xmlDocGetRootElement(doc);
	unsigned depth = 0;
	size_t nodes = 0;

	for (n = n ? n->children : NULL; n;) {
		if (n->type == XML_ELEMENT_NODE && ++nodes > NB_PLIST_NODES_MAX)
			return shape_refused(-E2BIG, path, problems);
		if (n->type == XML_ELEMENT_NODE && depth == NB_PLIST_DEPTH_MAX)
			return shape_refused(-ELOOP, path, problems);
		if (n->type == XML_ELEMENT_NODE && n->children) {
			depth++;
			n = n->children;
			continue;
		}
		while (!n->next && depth > 0) {
			n = n->parent;
			depth--;
		}
		n = n->next;
	}
	return true;
}

/* libxml2 finds where an XML file is broken; libplist would only say "no".
 * libxml2 itself stops at 256 levels (xmlParserMaxDepth); libplist 2.2
 * reads XML with its own parser (xplist.c), which does not recurse, but
 * every later walk of the tree does, so the limits hold for XML too. */
static bool xml_well_formed(const char *data, size_t len, const char *path,
			    struct nb_problems *problems)
{
	xmlDocPtr doc;
	const xmlError *e;
	bool ok;

	xmlSetGenericErrorFunc(NULL, xml_silence);
	xmlResetLastError();
	doc = xmlReadMemory(data, (int)len, path, NULL,
			    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (doc) {
		ok = xml_shape_ok(doc, path, problems);
		xmlFreeDoc(doc);
		return ok;
	}
	e = xmlGetLastError();
	if (e && e->message)
		nb_problem_add(problems, NB_ERROR, path, "line %d, column %d: %.*s", e->line,
			       e->int2, (int)strcspn(e->message, "\n"), e->message);
	else
		nb_problem_add(problems, NB_ERROR, path, "not well-formed XML");
	return false;
}

/* A binary plist is walked by bplist_scan() before libplist, whose
 * decoder recurses once per level and copies an object each time a
 * reference reaches it (nbimage.h, the shape limits). */
static bool binary_shape_ok(const char *data, size_t len, const char *path,
			    struct nb_problems *problems)
{
	struct bplist_shape shape;
	int r = bplist_scan((const uint8_t *)data, len, NB_PLIST_DEPTH_MAX, NB_PLIST_NODES_MAX,
			    &shape);

	if (r == -EBADMSG) {
		nb_problem_add(problems, NB_ERROR, path, "not a property list (corrupt binary "
			       "plist: %s)", shape.why);
		return false;
	}
	return r == 0 || shape_refused(r, path, problems);
}

static plist_t decode_plist(const char *data, size_t len, const char *path,
			    enum nb_format *format, struct nb_problems *problems)
{
	plist_t root = NULL;

	if (len > NB_PLIST_MAX) {
		nb_problem_add(problems, NB_ERROR, path, "larger than %u bytes; refused",
			       NB_PLIST_MAX);
		return NULL;
	}
	*format = is_binary_plist(data, len) ? NB_FORMAT_BINARY : NB_FORMAT_XML;
	if (*format == NB_FORMAT_XML ? !xml_well_formed(data, len, path, problems)
				     : !binary_shape_ok(data, len, path, problems))
		return NULL;
	plist_from_memory(data, (uint32_t)len, &root);
	if (!root) {
		nb_problem_add(problems, NB_ERROR, path, "not a property list (%s)",
			       *format == NB_FORMAT_BINARY ? "corrupt binary plist"
							   : "XML is not a plist");
		return NULL;
	}
	if (plist_get_node_type(root) != PLIST_DICT) {
		nb_problem_add(problems, NB_ERROR, path, "top level is %s, must be <dict>",
			       plist_type_name(root));
		plist_free(root);
		return NULL;
	}
	return root;
}

int nb_image_parse(const char *data, size_t len, const char *plist_path,
		   const char *bundle_dir, struct nb_image *img, struct nb_problems *problems)
{
	struct reader r = { .path = plist_path, .problems = problems };

	*img = (struct nb_image){ 0 };
	r.dict = decode_plist(data, len, plist_path, &img->format, problems);
	if (!r.dict)
		return -EINVAL;
	read_image(&r, img, bundle_dir);
	plist_free(r.dict);
	if (r.failed) {
		nb_image_clear(img);
		return -EINVAL;
	}
	return 0;
}

/* The plist is opened only once it is known to be a regular file, so a
 * FIFO or device put in its place is reported, never waited on. */
static char *read_small_file(const char *path, size_t *len, int *err, struct stat *st)
{
	int fd = open_regular(AT_FDCWD, path, st);
	char *buf = NULL;
	ssize_t n = 0;

	*err = fd < 0 ? -fd : 0;
	if (fd < 0)
		return NULL;
	if (st->st_size > (off_t)NB_PLIST_MAX) {
		*err = EFBIG;
		goto out;
	}
	buf = malloc((size_t)st->st_size + 1);
	if (!buf)
		abort();
	n = read(fd, buf, (size_t)st->st_size);
	if (n != st->st_size) {
		*err = n < 0 ? errno : EIO;
		free(buf);
		buf = NULL;
		goto out;
	}
	*len = (size_t)n;
out:
	close(fd);
	return buf;
}

int nb_image_load(const char *bundle_dir, struct nb_image *img, struct nb_problems *problems)
{
	char path[PATH_MAX];
	struct stat st;
	size_t len = 0;
	int err, r;
	char *data;

	*img = (struct nb_image){ 0 };
	if (snprintf(path, sizeof(path), "%s/%s", bundle_dir, NB_INFO_PLIST) >= (int)sizeof(path)) {
		nb_problem_add(problems, NB_ERROR, bundle_dir, "path too long");
		return -EINVAL;
	}
	data = read_small_file(path, &len, &err, &st);
	if (!data && err == EACCES && !S_ISREG(st.st_mode)) {
		nb_problem_add(problems, NB_ERROR, path, "is %s, not a regular file",
			       file_kind(st.st_mode));
		return -EINVAL;
	}
	if (!data) {
		nb_problem_add(problems, NB_ERROR, path, "cannot read: %s", strerror(err));
		return -EINVAL;
	}
	r = nb_image_parse(data, len, path, bundle_dir, img, problems);
	free(data);
	return r;
}

/* ---- queries ----------------------------------------------------------- */

const char *nb_type_name(enum nb_type type)
{
	switch (type) {
	case NB_TYPE_NFS: return "NFS";
	case NB_TYPE_HTTP: return "HTTP";
	case NB_TYPE_BOOTFILE_ONLY: return "BootFileOnly";
	}
	return "?";
}

bool nb_image_has_arch(const struct nb_image *img, const char *arch)
{
	for (size_t i = 0; i < img->archs.n; i++)
		if (strcmp(img->archs.v[i], arch) == 0)
			return true;
	return false;
}

static bool strv_has(const struct nb_strv *sv, const char *s)
{
	for (size_t i = 0; i < sv->n; i++)
		if (strcmp(sv->v[i], s) == 0)
			return true;
	return false;
}

static bool macv_has(const struct nb_macv *mv, const uint8_t mac[6])
{
	for (size_t i = 0; i < mv->n; i++)
		if (memcmp(mv->v[i].b, mac, 6) == 0)
			return true;
	return false;
}

/* SPEC §3.4.15 and nbimages.c NBImageEntry_attributes_match: exact 16-bit
 * equality; without a filter list only non-FilterOnly images qualify. */
static bool attributes_match(const struct nb_image *img, const struct nb_client *c)
{
	if (!c->has_filter)
		return !img->filter_only;
	for (size_t i = 0; i < c->n_filter; i++)
		if (c->filter[i] == bsdp_image_attributes(img->id))
			return true;
	return false;
}

bool nb_image_suits(const struct nb_image *img, const struct nb_client *c)
{
	if (!img->enabled || !nb_image_has_arch(img, c->arch))
		return false;
	if (img->enabled_models.n && !strv_has(&img->enabled_models, c->model))
		return false;
	/* DisabledMACAddresses wins over EnabledMACAddresses; an empty Enabled
	 * list means "not set", as in Apple's code (the man page says otherwise). */
	if (macv_has(&img->disabled_macs, c->mac))
		return false;
	return !img->enabled_macs.n || macv_has(&img->enabled_macs, c->mac);
}

bool nb_image_allows(const struct nb_image *img, const struct nb_client *c)
{
	return nb_image_suits(img, c) && attributes_match(img, c);
}

int nb_image_boot_path(const struct nb_image *img, const char *arch, char *buf, size_t cap)
{
	int n = img->ppc_boot_at_top && strcmp(arch, "ppc") == 0
			? snprintf(buf, cap, "%s/%s", img->bundle, img->boot_file)
			: snprintf(buf, cap, "%s/%s/%s", img->bundle, arch, img->boot_file);

	return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

/* ==== For nbi: writing, rewriting and inspecting NBImageInfo.plist ======
 * The model and rules above, in the other direction, for the nbi tool.
 * Nothing below changes how a bundle is read or served.
 */

/* ---- strings a plist can carry ----------------------------------------- */

/* XML 1.0 §2.2 allows no C0 control character but tab, LF and CR, nor
 * U+FFFE/U+FFFF, and an XML reader turns CR into LF (§2.11); a string
 * with any of those would not read back as written. */
static bool xml_text_ok(const char *s)
{
	const uint8_t *p = (const uint8_t *)s;
	size_t rem = strlen(s);

	while (rem > 0) {
		uint32_t c;
		size_t n = utf8_decode(p, rem, &c);

		if (n == 0 || (c < 0x20 && c != '\t' && c != '\n') || c == 0xfffe || c == 0xffff)
			return false;
		p += n;
		rem -= n;
	}
	return true;
}

/* ---- rendering a struct nb_image ---------------------------------------- */

struct writer {
	plist_t dict;
	const char *path;
	struct nb_problems *problems;
	bool failed;
};

static bool put_text_ok(struct writer *w, const char *key, const char *s)
{
	if (xml_text_ok(s))
		return true;
	nb_problem_add(w->problems, NB_ERROR, w->path, "%s holds a control character or "
		       "invalid UTF-8, which a plist cannot carry", key);
	w->failed = true;
	return false;
}

static void put_string(struct writer *w, const char *key, const char *s)
{
	if (s && put_text_ok(w, key, s))
		plist_dict_set_item(w->dict, key, plist_new_string(s));
}

static void put_strv(struct writer *w, const char *key, const struct nb_strv *sv)
{
	plist_t arr = plist_new_array();

	for (size_t i = 0; i < sv->n; i++)
		if (put_text_ok(w, key, sv->v[i]))
			plist_array_append_item(arr, plist_new_string(sv->v[i]));
	plist_dict_set_item(w->dict, key, arr);
}

static void format_mac(const struct nb_mac *m, char out[18])
{
	snprintf(out, 18, "%02x:%02x:%02x:%02x:%02x:%02x", m->b[0], m->b[1], m->b[2], m->b[3],
		 m->b[4], m->b[5]);
}

/* Written only when not empty: Apple's code reads an empty
 * EnabledMACAddresses as "not set", but its man page (bootpd.8) says it
 * disables the image, and a server may follow the man page. */
static void put_macv(struct writer *w, const char *key, const struct nb_macv *mv)
{
	plist_t arr;
	char s[18];

	if (mv->n == 0)
		return;
	arr = plist_new_array();
	for (size_t i = 0; i < mv->n; i++) {
		format_mac(&mv->v[i], s);
		plist_array_append_item(arr, plist_new_string(s));
	}
	plist_dict_set_item(w->dict, key, arr);
}

static void put_bool(struct writer *w, const char *key, bool v)
{
	plist_dict_set_item(w->dict, key, plist_new_bool(v));
}

static void put_uint(struct writer *w, const char *key, uint64_t v)
{
	plist_dict_set_item(w->dict, key, plist_new_uint(v));
}

/* Keys in the order CFPropertyList sorts them.  Description and both
 * *SystemIdentifiers are always written: Apple ignores them, but BSDPy
 * and pybsdp stop with a KeyError without Description, and BSDPy (master)
 * without DisabledSystemIdentifiers (docs/bsdp.md §3.1). */
static void put_keys_a_to_f(struct writer *w, const struct nb_image *img)
{
	put_strv(w, "Architectures", &img->archs);
	put_string(w, "BootFile", img->boot_file);
	put_string(w, "Description", img->description ? img->description : img->name);
	put_macv(w, "DisabledMACAddresses", &img->disabled_macs);
	put_strv(w, "DisabledSystemIdentifiers", &img->disabled_models);
	put_macv(w, "EnabledMACAddresses", &img->enabled_macs);
	put_strv(w, "EnabledSystemIdentifiers", &img->enabled_models);
	/* FilterOnly defaults to Kind == 3 (nbimages.c); write it only to differ. */
	if (img->filter_only != (img->kind == BSDP_KIND_DIAGNOSTICS))
		put_bool(w, "FilterOnly", img->filter_only);
}

static void put_keys_i_to_t(struct writer *w, const struct nb_image *img)
{
	char lb[INET_ADDRSTRLEN];

	put_uint(w, "Index", img->index);
	put_bool(w, "IsDefault", img->is_default);
	put_bool(w, "IsEnabled", img->enabled);
	put_bool(w, "IsInstall", img->install);
	put_uint(w, "Kind", img->kind);
	if (img->has_load_balance && inet_ntop(AF_INET, &img->load_balance, lb, sizeof(lb)))
		put_string(w, "LoadBalanceServer", lb);
	put_string(w, "Name", img->name);
	if (img->type != NB_TYPE_BOOTFILE_ONLY)
		put_string(w, "RootPath", img->root_path);
	put_string(w, "Type", nb_type_name(img->type));
}

/* Copies libplist's buffer into one the caller frees with free(). */
static int encode_plist(plist_t root, enum nb_format format, const char *path, char **out,
			size_t *len, struct nb_problems *problems)
{
	char *buf = NULL;
	uint32_t n = 0;

	if (format == NB_FORMAT_BINARY)
		plist_to_bin(root, &buf, &n);
	else
		plist_to_xml(root, &buf, &n);
	if (!buf || n == 0) {
		nb_problem_add(problems, NB_ERROR, path, "libplist could not encode the plist");
		free(buf);
		return -EINVAL;
	}
	*out = malloc(n);
	if (!*out)
		abort();
	memcpy(*out, buf, n);
	*len = n;
	if (format == NB_FORMAT_BINARY)
		plist_to_bin_free(buf);
	else
		plist_to_xml_free(buf);
	return 0;
}

int nb_image_render(const struct nb_image *img, enum nb_format format, const char *path,
		    char **out, size_t *len, struct nb_problems *problems)
{
	struct writer w = { .dict = plist_new_dict(), .path = path, .problems = problems };
	int r = -EINVAL;

	put_keys_a_to_f(&w, img);
	put_keys_i_to_t(&w, img);
	if (!w.failed)
		r = encode_plist(w.dict, format, path, out, len, problems);
	plist_free(w.dict);
	return r;
}

/* ---- peeking at the ID of any bundle ------------------------------------ */

int nb_image_peek(const char *bundle_dir, uint16_t *index, uint32_t *id)
{
	struct nb_problems scratch = { 0 };
	struct nb_image img = { 0 };
	struct reader r = { .problems = &scratch };
	char path[PATH_MAX], *data;
	enum nb_format format;
	struct stat st;
	uint64_t v = 0;
	size_t len = 0;
	int err;

	if (snprintf(path, sizeof(path), "%s/%s", bundle_dir, NB_INFO_PLIST) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	data = read_small_file(path, &len, &err, &st);
	if (!data)
		return -err;
	r.path = path;
	r.dict = decode_plist(data, len, path, &format, &scratch);
	free(data);
	if (r.dict && plist_get_node_type(plist_dict_get_item(r.dict, "Index")) == PLIST_UINT)
		plist_get_uint_val(plist_dict_get_item(r.dict, "Index"), &v);
	err = v >= 1 && v <= UINT16_MAX ? 0 : -EINVAL;
	if (err == 0) {
		/* The same rules that give a loaded image its ID. */
		read_type(&r, &img);
		read_id(&r, &img);
		*index = img.index;
		*id = img.id;
	}
	nb_image_clear(&img);
	plist_free(r.dict);
	nb_problems_free(&scratch);
	return err;
}

/* ---- compatibility with other servers ----------------------------------- */

static plist_t decode_quietly(const char *data, size_t len, const char *path,
			      enum nb_format *format)
{
	struct nb_problems scratch = { 0 };
	plist_t dict = decode_plist(data, len, path, format, &scratch);

	nb_problems_free(&scratch);
	return dict;
}

static uint32_t array_size_of(struct reader *r, const char *key)
{
	plist_t node = plist_dict_get_item(r->dict, key);

	return plist_get_node_type(node) == PLIST_ARRAY ? plist_array_get_size(node) : 0;
}

/* bsdpy/master renders the client MAC with hex(i)[2:], "0" for 0x00. */
static void compat_macs(struct reader *r)
{
	plist_t arr = plist_dict_get_item(r->dict, "EnabledMACAddresses");
	uint32_t n = plist_get_node_type(arr) == PLIST_ARRAY ? plist_array_get_size(arr) : 0;

	for (uint32_t i = 0; i < n; i++) {
		plist_t item = plist_array_get_item(arr, i);
		uint8_t mac[6];
		char *s = NULL;

		if (plist_get_node_type(item) != PLIST_STRING)
			continue;
		s = string_copy(item);
		if (s && nb_parse_mac(s, mac) == 0 &&
		    (mac[0] < 16 || mac[1] < 16 || mac[2] < 16 || mac[3] < 16 || mac[4] < 16 ||
		     mac[5] < 16))
			warn(r, "EnabledMACAddresses item \"%s\" has a byte below 0x10; BSDPy "
				"writes client MACs without zero padding and never matches it", s);
		free(s);
	}
	if (array_size_of(r, "DisabledMACAddresses"))
		warn(r, "DisabledMACAddresses is ignored by BSDPy, which offers the image to "
			"these Macs too");
}

void nb_image_compat(const char *data, size_t len, const char *path,
		     struct nb_problems *problems)
{
	struct reader r = { .path = path, .problems = problems };
	enum nb_format format;
	uint32_t n;

	r.dict = decode_quietly(data, len, path, &format);
	if (!r.dict)
		return;
	if (format == NB_FORMAT_BINARY)
		warn(&r, "a binary plist: BSDPy reads it with Python's plistlib.readPlist, which "
			 "takes only XML (AutoCasperNBI#3); convert it with plistutil -f xml");
	if (!plist_dict_get_item(r.dict, "Description"))
		warn(&r, "Description is missing: Apple ignores it, but BSDPy and pybsdp stop "
			 "with a KeyError without it");
	if (!plist_dict_get_item(r.dict, "DisabledSystemIdentifiers"))
		warn(&r, "DisabledSystemIdentifiers is missing: BSDPy (master) requires the key; "
			 "an empty <array/> will do");
	n = array_size_of(&r, "DisabledSystemIdentifiers");
	if (n)
		warn(&r, "DisabledSystemIdentifiers lists %u model%s: Apple's server ignores it, "
			 "but BSDPy (master) hides the image from %s; System Image Utility and "
			 "AutoNBI fill it with the models the image supports", n, n == 1 ? "" : "s",
		     n == 1 ? "that model" : "all of them");
	compat_macs(&r);
	plist_free(r.dict);
}

/* ---- `nbi set`: one key, type-checked --------------------------------- */

/* Help texts fit `nbi help set`'s 80 columns. */
static const struct nb_key_spec key_specs[] = {
	{ "Architectures", NB_KEY_STRINGS, 0, 0, "i386 for Intel Macs" },
	{ "BackwardCompatible", NB_KEY_BOOL, 0, 0, "not used by Apple's server" },
	{ "BootFile", NB_KEY_STRING, 0, 0, "boot file in each architecture folder" },
	{ "Description", NB_KEY_STRING, 0, 0, "free text; BSDPy and pybsdp need it" },
	{ "DisabledMACAddresses", NB_KEY_MACS, 0, 0, "Macs never offered the image" },
	{ "DisabledSystemIdentifiers", NB_KEY_STRINGS, 0, 0, "ignored by Apple; BSDPy's blacklist" },
	{ "EnabledMACAddresses", NB_KEY_MACS, 0, 0, "only these Macs (none: all)" },
	{ "EnabledSystemIdentifiers", NB_KEY_STRINGS, 0, 0, "only these models (none: all)" },
	{ "FilterOnly", NB_KEY_BOOL, 0, 0, "only for Macs that filter for its kind" },
	{ "Index", NB_KEY_INTEGER, 1, UINT16_MAX, "1-4095 local, 4096-65535 global" },
	{ "IsDefault", NB_KEY_BOOL, 0, 0, "a candidate for the default image" },
	{ "IsEnabled", NB_KEY_BOOL, 0, 0, "false hides the image" },
	{ "IsInstall", NB_KEY_BOOL, 0, 0, "install image (bit 31 of the ID)" },
	{ "Kind", NB_KEY_INTEGER, 0, BSDP_IMAGE_KIND_MASK, "0 OS 9, 1 OS X, 2 OS X Server, 3 diags" },
	{ "Language", NB_KEY_STRING, 0, 0, "not used by Apple's server" },
	{ "LoadBalanceServer", NB_KEY_STRING, 0, 0, "IPv4 address sent instead of ours" },
	{ "Name", NB_KEY_STRING, 0, 0, "the menu name, 1-246 bytes" },
	{ "RootPath", NB_KEY_STRING, 0, 0, "bundle file, IP:/export or http://IP/path" },
	{ "SupportsDiskless", NB_KEY_BOOL, 0, 0, "AFP shadow files; ignored by bsdpd" },
	{ "Type", NB_KEY_STRING, 0, 0, "BootFileOnly, HTTP or NFS" },
	{ "imageType", NB_KEY_STRING, 0, 0, "not used by Apple's server" },
	{ "osVersion", NB_KEY_STRING, 0, 0, "not used by Apple's server" },
};

const struct nb_key_spec *nb_key_specs(size_t *n)
{
	*n = sizeof(key_specs) / sizeof(key_specs[0]);
	return key_specs;
}

const char *nb_key_type_name(enum nb_key_type type)
{
	switch (type) {
	case NB_KEY_STRING: return "string";
	case NB_KEY_INTEGER: return "integer";
	case NB_KEY_BOOL: return "boolean";
	case NB_KEY_STRINGS: return "strings";
	case NB_KEY_MACS: return "MACs";
	}
	return "?";
}

static const struct nb_key_spec *find_key_spec(const char *key)
{
	for (size_t i = 0; i < sizeof(key_specs) / sizeof(key_specs[0]); i++)
		if (strcmp(key_specs[i].key, key) == 0)
			return &key_specs[i];
	return NULL;
}

/* What the reader above would refuse or bend, refused here up front. */
static const char *string_problem(const char *key, const char *v)
{
	struct in_addr a;

	if (!xml_text_ok(v))
		return "holds a control character or invalid UTF-8";
	if (strcmp(key, "Name") == 0 && (v[0] == '\0' || strlen(v) > BSDP_IMAGE_NAME_MAX))
		return "must be 1-246 bytes (BSDP sends no more)";
	if (strcmp(key, "Type") == 0 && strcmp(v, "BootFileOnly") != 0 &&
	    strcmp(v, "HTTP") != 0 && strcmp(v, "NFS") != 0)
		return "must be BootFileOnly, HTTP or NFS";
	if (strcmp(key, "LoadBalanceServer") == 0 && inet_pton(AF_INET, v, &a) != 1)
		return "must be an IPv4 address (firmware does no DNS)";
	return NULL;
}

static bool parse_uint_strict(const char *s, uint64_t *out)
{
	char *end;

	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	*out = strtoull(s, &end, 10);
	return errno == 0 && *end == '\0';
}

static bool parse_bool_word(const char *s, bool *out)
{
	static const char *const yes[] = { "true", "yes", "1" }, *const no[] = { "false", "no", "0" };

	for (size_t i = 0; i < 3; i++) {
		if (strcasecmp(s, yes[i]) == 0 || strcasecmp(s, no[i]) == 0) {
			*out = strcasecmp(s, yes[i]) == 0;
			return true;
		}
	}
	return false;
}

static plist_t scalar_value(const struct nb_key_spec *spec, const char *v, const char *path,
			    struct nb_problems *problems)
{
	const char *why = NULL;
	uint64_t u = 0;
	bool b = false;

	if (spec->type == NB_KEY_STRING && !(why = string_problem(spec->key, v)))
		return plist_new_string(v);
	if (spec->type == NB_KEY_INTEGER && parse_uint_strict(v, &u) && u >= spec->min &&
	    u <= spec->max)
		return plist_new_uint(u);
	if (spec->type == NB_KEY_BOOL && parse_bool_word(v, &b))
		return plist_new_bool(b);
	if (spec->type == NB_KEY_INTEGER)
		nb_problem_add(problems, NB_ERROR, path, "%s must be an integer from %llu to %llu, "
			       "not \"%s\"", spec->key, (unsigned long long)spec->min,
			       (unsigned long long)spec->max, v);
	else if (spec->type == NB_KEY_BOOL)
		nb_problem_add(problems, NB_ERROR, path, "%s must be true or false, not \"%s\"",
			       spec->key, v);
	else
		nb_problem_add(problems, NB_ERROR, path, "%s %s", spec->key, why);
	return NULL;
}

/* One array item, normalised: MACs as Apple writes them, lowercase xx:xx. */
static bool array_item(const struct nb_key_spec *spec, const char *tok, plist_t arr,
		       const char *path, struct nb_problems *problems)
{
	struct nb_mac m;
	char s[18];

	if (spec->type == NB_KEY_MACS) {
		if (nb_parse_mac(tok, m.b) < 0) {
			nb_problem_add(problems, NB_ERROR, path, "%s item \"%s\" is not a MAC "
				       "address like 00:1b:63:84:45:e6", spec->key, tok);
			return false;
		}
		format_mac(&m, s);
		plist_array_append_item(arr, plist_new_string(s));
		return true;
	}
	if (!xml_text_ok(tok) || (strcmp(spec->key, "Architectures") == 0 && !arch_name_ok(tok))) {
		nb_problem_add(problems, NB_ERROR, path, "%s item \"%s\" is not valid here",
			       spec->key, tok);
		return false;
	}
	plist_array_append_item(arr, plist_new_string(tok));
	return true;
}

static plist_t array_value(const struct nb_key_spec *spec, const char *const *values,
			   size_t n, const char *path, struct nb_problems *problems)
{
	plist_t arr = plist_new_array();
	bool ok = true;

	for (size_t i = 0; i < n && ok; i++) {
		char *copy = xstrdup(values[i]), *save = NULL;

		for (char *tok = strtok_r(copy, " \t\n", &save); tok && ok;
		     tok = strtok_r(NULL, " \t\n", &save))
			ok = array_item(spec, tok, arr, path, problems);
		free(copy);
	}
	if (!ok) {
		plist_free(arr);
		return NULL;
	}
	return arr;
}

int nb_plist_set(const char *data, size_t len, const char *path, const char *key,
		 const char *const *values, size_t n_values, char **out, size_t *out_len,
		 struct nb_problems *problems)
{
	const struct nb_key_spec *spec = find_key_spec(key);
	bool array = spec && (spec->type == NB_KEY_STRINGS || spec->type == NB_KEY_MACS);
	enum nb_format format;
	plist_t dict, value;
	int r;

	if (!spec) {
		nb_problem_add(problems, NB_ERROR, path, "%s is not a key nbi can set", key);
		return -ENOENT;
	}
	if (!array && n_values != 1) {
		nb_problem_add(problems, NB_ERROR, path, "%s takes exactly one value", key);
		return -EINVAL;
	}
	value = array ? array_value(spec, values, n_values, path, problems)
		      : scalar_value(spec, values[0], path, problems);
	if (!value)
		return -EINVAL;
	dict = decode_plist(data, len, path, &format, problems);
	if (!dict) {
		plist_free(value);
		return -EINVAL;
	}
	plist_dict_set_item(dict, key, value);
	r = encode_plist(dict, format, path, out, out_len, problems);
	plist_free(dict);
	return r;
}

/* ---- every key, for `nbi info` ----------------------------------------- */

const char *nb_value_type_name(enum nb_value_type type)
{
	static const char *const names[] = { "string", "integer", "boolean", "real", "date",
					     "data", "array", "dict", "other" };

	return type <= NB_VALUE_OTHER ? names[type] : "other";
}

static char *xasprintf_str(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *xasprintf_str(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		abort();
	va_end(ap);
	return s;
}

/* Plist dates count seconds from 2001-01-01 (CFAbsoluteTime). */
static char *date_text(plist_t node)
{
	int32_t sec = 0, usec = 0;
	time_t t;
	struct tm tm;
	char buf[32];

	plist_get_date_val(node, &sec, &usec);
	t = (time_t)sec + 978307200;
	if (!gmtime_r(&t, &tm) || strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		return xstrdup("?");
	return xstrdup(buf);
}

static struct nb_value value_of(plist_t node)
{
	uint64_t u = 0, n = 0;
	uint8_t b = 0;
	double d = 0;
	char *s = NULL;

	switch (plist_get_node_type(node)) {
	case PLIST_STRING:
		s = string_copy(node);
		return (struct nb_value){ NB_VALUE_STRING, s ? s : xstrdup("(holds a NUL)") };
	case PLIST_UINT:
		plist_get_uint_val(node, &u);
		return (struct nb_value){ NB_VALUE_INTEGER, xasprintf_str("%llu",
									   (unsigned long long)u) };
	case PLIST_BOOLEAN:
		plist_get_bool_val(node, &b);
		return (struct nb_value){ NB_VALUE_BOOL, xstrdup(b ? "true" : "false") };
	case PLIST_REAL:
		plist_get_real_val(node, &d);
		return (struct nb_value){ NB_VALUE_REAL, xasprintf_str("%g", d) };
	case PLIST_DATE:
		return (struct nb_value){ NB_VALUE_DATE, date_text(node) };
	case PLIST_DATA:
		plist_get_data_val(node, &s, &n);
		free(s);
		return (struct nb_value){ NB_VALUE_DATA, xasprintf_str("%llu bytes",
									(unsigned long long)n) };
	case PLIST_DICT:
		return (struct nb_value){ NB_VALUE_DICT, xasprintf_str("%u keys",
								       plist_dict_get_size(node)) };
	default:
		return (struct nb_value){ NB_VALUE_OTHER, xstrdup("?") };
	}
}

static void entry_of(plist_t node, struct nb_entry *e)
{
	uint32_t n;

	if (plist_get_node_type(node) != PLIST_ARRAY) {
		e->value = value_of(node);
		return;
	}
	e->value.type = NB_VALUE_ARRAY;
	n = plist_array_get_size(node);
	e->items = n ? calloc(n, sizeof(*e->items)) : NULL;
	if (n && !e->items)
		abort();
	for (uint32_t i = 0; i < n; i++)
		e->items[e->n_items++] = value_of(plist_array_get_item(node, i));
}

/* Reading a key, libplist 2.2 asserts as plist_get_string_val() does (see
 * string_copy()), so a binary plist is first passed through XML: what
 * libxml2 accepts there holds no NUL character. */
static plist_t without_nul_keys(plist_t dict, enum nb_format format)
{
	struct nb_problems scratch = { 0 };
	plist_t copy = NULL;
	char *xml = NULL;
	uint32_t n = 0;

	if (format == NB_FORMAT_XML)
		return dict;
	plist_to_xml(dict, &xml, &n);
	plist_free(dict);
	if (xml && xml_well_formed(xml, n, "", &scratch))
		plist_from_xml(xml, n, &copy);
	if (xml)
		plist_to_xml_free(xml);
	nb_problems_free(&scratch);
	return copy;
}

int nb_plist_entries(const char *data, size_t len, struct nb_entries *out)
{
	plist_dict_iter it = NULL;
	plist_t dict = decode_quietly(data, len, "", &out->format), val;
	uint32_t n;

	out->v = NULL;
	out->n = 0;
	if (dict)
		dict = without_nul_keys(dict, out->format);
	if (!dict)
		return -EINVAL;
	n = plist_dict_get_size(dict);
	out->v = n ? calloc(n, sizeof(*out->v)) : NULL;
	if (n && !out->v)
		abort();
	plist_dict_new_iter(dict, &it);
	while (out->n < n) {
		char *key = NULL;

		val = NULL;
		plist_dict_next_item(dict, it, &key, &val);
		if (!val) {
			free(key);
			break;
		}
		out->v[out->n].key = key ? key : xstrdup("");
		entry_of(val, &out->v[out->n++]);
	}
	free(it);
	plist_free(dict);
	return 0;
}

void nb_entries_clear(struct nb_entries *e)
{
	for (size_t i = 0; i < e->n; i++) {
		free(e->v[i].key);
		free(e->v[i].value.text);
		for (size_t k = 0; k < e->v[i].n_items; k++)
			free(e->v[i].items[k].text);
		free(e->v[i].items);
	}
	free(e->v);
	e->v = NULL;
	e->n = 0;
}
