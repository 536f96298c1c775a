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
#include "bsdp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <plist/plist.h>

#define NB_PLIST_MAX (4u << 20) /* a real NBImageInfo.plist is a few KiB */

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

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
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
};

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

/* Integer keys: a <string> holding digits gets its own message, since
 * hand-edited plists do that often and BSDPy users hit it (NetSUS#129). */
static bool get_uint(struct reader *r, const char *key, uint64_t *out)
{
	plist_t node = plist_dict_get_item(r->dict, key);
	char *s = NULL;

	if (node && plist_get_node_type(node) == PLIST_STRING) {
		plist_get_string_val(node, &s);
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
	plist_get_string_val(node, &s);
	if (!s)
		abort();
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
		plist_get_string_val(item, &out->v[out->n]);
		if (!out->v[out->n])
			abort();
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

static bool utf8_valid(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	while (i < n) {
		size_t extra = p[i] < 0x80 ? 0 : (p[i] & 0xe0) == 0xc0 ? 1
			     : (p[i] & 0xf0) == 0xe0 ? 2 : (p[i] & 0xf8) == 0xf0 ? 3 : 4;

		if (extra == 4 || extra > n - i - 1)
			return false;
		for (size_t k = 1; k <= extra; k++)
			if ((p[i + k] & 0xc0) != 0x80)
				return false;
		i += extra + 1;
	}
	return true;
}

/* Cuts s to at most max bytes without splitting a UTF-8 sequence. */
static void utf8_truncate(char *s, size_t max)
{
	size_t n = strlen(s);

	if (n <= max)
		return;
	n = max;
	while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	s[n] = '\0';
}

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
		utf8_truncate(img->name, BSDP_IMAGE_NAME_MAX);
	}
}

static void read_type(struct reader *r, struct nb_image *img)
{
	char *type = get_string(r, "Type");

	if (!type) {
		if (!plist_dict_get_item(r->dict, "Type"))
			fail(r, "Type is missing; use NFS, HTTP or BootFileOnly");
		return;
	}
	if (strcmp(type, "NFS") == 0)
		img->type = NB_TYPE_NFS;
	else if (strcmp(type, "HTTP") == 0)
		img->type = NB_TYPE_HTTP;
	else if (strcmp(type, "BootFileOnly") == 0)
		img->type = NB_TYPE_BOOTFILE_ONLY;
	else if (strcmp(type, "Classic") == 0)
		fail(r, "Type Classic (Mac OS 9) is not supported");
	else
		fail(r, "Type \"%s\" is unknown; use NFS, HTTP or BootFileOnly", type);
	free(type);
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
			warn(r, "Kind %llu is out of range 0-127; ignored", (unsigned long long)kind);
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
		fail(r, "Index %llu is out of range 1-65535", (unsigned long long)index);
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

/* Each architecture needs <arch>/<BootFile>; for ppc alone Apple also
 * accepts the boot file at the top of the bundle (Mac OS 9 era layout). */
static void check_boot_files(struct reader *r, struct nb_image *img, const char *dir)
{
	char rel[PATH_MAX];

	for (size_t i = 0; i < img->archs.n; i++) {
		snprintf(rel, sizeof(rel), "%s/%s", img->archs.v[i], img->boot_file);
		if (regular_file_at(dir, rel))
			continue;
		if (strcmp(img->archs.v[i], "ppc") == 0 && regular_file_at(dir, img->boot_file))
			img->ppc_boot_at_top = true;
		else
			fail(r, "BootFile %s is not a regular file in the bundle", rel);
	}
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

static void xml_silence(void *ctx, const char *msg, ...)
{
	(void)ctx;
	(void)msg;
}

/* libxml2 finds where an XML file is broken; libplist would only say "no". */
static bool xml_well_formed(const char *data, size_t len, const char *path,
			    struct nb_problems *problems)
{
	xmlDocPtr doc;
	const xmlError *e;

	xmlSetGenericErrorFunc(NULL, xml_silence);
	xmlResetLastError();
	doc = xmlReadMemory(data, (int)len, path, NULL,
			    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (doc) {
		xmlFreeDoc(doc);
		return true;
	}
	e = xmlGetLastError();
	if (e && e->message)
		nb_problem_add(problems, NB_ERROR, path, "line %d, column %d: %.*s", e->line,
			       e->int2, (int)strcspn(e->message, "\n"), e->message);
	else
		nb_problem_add(problems, NB_ERROR, path, "not well-formed XML");
	return false;
}

static plist_t decode_plist(const char *data, size_t len, const char *path,
			    enum nb_format *format, struct nb_problems *problems)
{
	plist_t root = NULL;

	*format = is_binary_plist(data, len) ? NB_FORMAT_BINARY : NB_FORMAT_XML;
	if (*format == NB_FORMAT_XML && !xml_well_formed(data, len, path, problems))
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
	if (len > NB_PLIST_MAX) {
		nb_problem_add(problems, NB_ERROR, plist_path, "larger than %u bytes",
			       NB_PLIST_MAX);
		return -EINVAL;
	}
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

static char *read_small_file(const char *path, size_t *len, int *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	char *buf = NULL;
	ssize_t n = 0;

	*err = 0;
	if (fd < 0 || fstat(fd, &st) < 0) {
		*err = errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > (off_t)NB_PLIST_MAX) {
		*err = S_ISREG(st.st_mode) ? EFBIG : EISDIR;
		goto out;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf)
		abort();
	n = read(fd, buf, (size_t)st.st_size);
	if (n != st.st_size) {
		*err = n < 0 ? errno : EIO;
		free(buf);
		buf = NULL;
		goto out;
	}
	*len = (size_t)n;
out:
	if (fd >= 0)
		close(fd);
	return buf;
}

int nb_image_load(const char *bundle_dir, struct nb_image *img, struct nb_problems *problems)
{
	char path[PATH_MAX];
	size_t len = 0;
	int err, r;
	char *data;

	*img = (struct nb_image){ 0 };
	if (snprintf(path, sizeof(path), "%s/%s", bundle_dir, NB_INFO_PLIST) >= (int)sizeof(path)) {
		nb_problem_add(problems, NB_ERROR, bundle_dir, "path too long");
		return -EINVAL;
	}
	data = read_small_file(path, &len, &err);
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
