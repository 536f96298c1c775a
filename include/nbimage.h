/* SPDX-License-Identifier: MIT */
/*
 * The .nbi bundle model: NBImageInfo.plist parsed under Apple's rules
 * (bootplib/nbimages.c, see docs/bsdp.md §3), and the catalog of every
 * bundle directly under a root directory.
 *
 * This is the one implementation of those rules; bsdpd serves from it and
 * the nbi tool validates with it.  Loading never logs: every finding is a
 * struct nb_problem naming the file and the reason, so that a daemon can
 * log one line per bad bundle and `--check` can print them all.
 */
#ifndef BSDPD_NBIMAGE_H
#define BSDPD_NBIMAGE_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NB_INFO_PLIST "NBImageInfo.plist"
#define NB_BUNDLE_SUFFIX ".nbi"
#define NB_MAX_IMAGES 4096

/* The shape limits of an NBImageInfo.plist, checked before libplist
 * decodes it (libplist 2.2 recurses per level and copies shared objects:
 * a deep or self-referencing file overflows its stack or never ends).  A
 * real one is a few KiB, 3 levels deep (dict > array > string) and holds
 * at most some thousand MAC addresses; the limits leave room for that. */
#define NB_PLIST_MAX (1u << 20)       /* bytes */
#define NB_PLIST_DEPTH_MAX 32         /* levels; the top <dict> is 1 */
#define NB_PLIST_NODES_MAX 65536      /* values, counting each reference */

enum nb_type {
	NB_TYPE_NFS,
	NB_TYPE_HTTP,
	NB_TYPE_BOOTFILE_ONLY,
};

enum nb_format {
	NB_FORMAT_XML,
	NB_FORMAT_BINARY,
};

enum nb_severity {
	NB_WARNING,
	NB_ERROR,
};

struct nb_problem {
	enum nb_severity severity;
	char *path;     /* the file or directory concerned */
	char *message;
};

struct nb_problems {
	struct nb_problem *v;
	size_t n;
};

struct nb_strv {
	char **v;
	size_t n;
};

struct nb_mac {
	uint8_t b[6];
};

struct nb_macv {
	struct nb_mac *v;
	size_t n;
};

struct nb_image {
	char *bundle;          /* directory name under the root, e.g. "iPXE.nbi" */
	enum nb_format format;
	char *name;            /* UTF-8, at most BSDP_IMAGE_NAME_MAX bytes */
	char *description;     /* NULL when absent */
	uint32_t id;           /* IsInstall<<31 | Kind<<24 | Index */
	uint16_t index;
	uint8_t kind;
	bool install;
	bool enabled;
	bool is_default;
	bool filter_only;
	enum nb_type type;
	char *boot_file;
	bool ppc_boot_at_top;  /* ppc's boot file is <bundle>/<BootFile> */
	struct nb_strv archs;
	char *root_path;       /* NULL for BootFileOnly */
	struct nb_strv enabled_models;
	struct nb_strv disabled_models; /* not used by Apple's server; kept for nbi */
	struct nb_macv enabled_macs;
	struct nb_macv disabled_macs;
	bool has_load_balance;
	struct in_addr load_balance;
};

/* What a request says about the client, for image filtering. */
struct nb_client {
	const char *arch;
	const char *model;
	uint8_t mac[6];
	bool has_filter;
	const uint16_t *filter;
	size_t n_filter;
};

struct nb_catalog {
	char *root;
	struct nb_image *images;   /* Apple's list order, see catalog.c */
	size_t n_images;
	struct nb_problems problems;
};

void nb_problem_add(struct nb_problems *p, enum nb_severity sev, const char *path,
		    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void nb_problems_free(struct nb_problems *p);
size_t nb_problems_count(const struct nb_problems *p, enum nb_severity sev);

/* Parses an NBImageInfo.plist held in memory.  bundle_dir, when not NULL,
 * is where the files it names (BootFile per arch, RootPath) must exist.
 * Returns 0 and fills img, or -EINVAL after adding at least one NB_ERROR.
 * plist_path only names the file in problems. */
int nb_image_parse(const char *data, size_t len, const char *plist_path,
		   const char *bundle_dir, struct nb_image *img, struct nb_problems *problems);

/* Reads <bundle_dir>/NBImageInfo.plist and parses it as above. */
int nb_image_load(const char *bundle_dir, struct nb_image *img, struct nb_problems *problems);

void nb_image_clear(struct nb_image *img);

bool nb_image_has_arch(const struct nb_image *img, const char *arch);
/* Apple's NBImageEntry_supported_sysid: enabled, arch, model and MAC. */
bool nb_image_suits(const struct nb_image *img, const struct nb_client *client);
/* nb_image_suits() and the attribute filter: what LIST and OFFER* offer. */
bool nb_image_allows(const struct nb_image *img, const struct nb_client *client);

/* Writes "<bundle>/<arch>/<BootFile>", the TFTP path relative to the root. */
int nb_image_boot_path(const struct nb_image *img, const char *arch, char *buf, size_t cap);

const char *nb_type_name(enum nb_type type);

/* Sets up the plist libraries; call once from the main thread before any
 * other thread loads a catalog (libxml2's rule for threaded programs). */
void nb_init(void);

/* Loads every "*.nbi" directory directly under root.  A bad bundle is left
 * out with its problems recorded; the others are kept.  Returns 0, or
 * -errno when the root itself cannot be read. */
int nb_catalog_load(const char *root, struct nb_catalog *cat);
/* The same, for a reload: two enabled bundles with one image ID (Apple
 * serves one), and the one that held it in previous keeps it, so a Mac
 * bound to an image keeps getting that image.  Without previous (NULL,
 * as nb_catalog_load), the bundle made first keeps it: the birth time of
 * its directory (statx), else its ctime, then its name.  The other is
 * left out with an error naming it and the holder. */
int nb_catalog_reload(const char *root, const struct nb_catalog *previous,
		      struct nb_catalog *cat);
void nb_catalog_clear(struct nb_catalog *cat);
const struct nb_image *nb_catalog_find(const struct nb_catalog *cat, uint32_t id);

/* Parses "xx:xx:xx:xx:xx:xx" (1 or 2 hex digits per byte, either case, ':' or '-'). */
int nb_parse_mac(const char *s, uint8_t mac[6]);

/* ==== For nbi: writing, rewriting and inspecting NBImageInfo.plist ========
 * The same model and rules as above, in the other direction: nbi writes
 * bundles that the reader above accepts, and says where a bundle will
 * trouble other NetBoot servers.  All plist bytes still go through
 * nbimage.c, the only file that includes libplist and libxml2.
 */

/* Writes img as an NBImageInfo.plist with Apple's key names and types, keys
 * sorted as CFPropertyList writes them.  Keys other servers require are
 * always written (Description, DisabledSystemIdentifiers; docs/bsdp.md
 * §3.1).  *out is malloc'ed.  Returns -EINVAL, with a problem naming the
 * key, when a string cannot be carried (XML allows no control characters). */
int nb_image_render(const struct nb_image *img, enum nb_format format, const char *path,
		    char **out, size_t *len, struct nb_problems *problems);

/* Index and 32-bit ID of <bundle_dir>/NBImageInfo.plist, read even when
 * the bundle has other errors, so that an index in use is never handed
 * out twice.  Returns 0, or -errno when the file cannot be read or holds
 * no Index of 1-65535. */
int nb_image_peek(const char *bundle_dir, uint16_t *index, uint32_t *id);

/* Warnings for servers other than Apple's (docs/bsdp.md §3.1, §3.3, §5):
 * BSDPy cannot read binary plists, needs Description and
 * DisabledSystemIdentifiers, treats DisabledSystemIdentifiers as a
 * blacklist, ignores DisabledMACAddresses and misreads MACs with a byte
 * below 0x10.  Silent when the file does not decode (nb_image_parse says why). */
void nb_image_compat(const char *data, size_t len, const char *path,
		     struct nb_problems *problems);

/* The keys `nbi set` may change, with their plist type. */
enum nb_key_type {
	NB_KEY_STRING,
	NB_KEY_INTEGER,
	NB_KEY_BOOL,
	NB_KEY_STRINGS,   /* <array> of <string> */
	NB_KEY_MACS,      /* <array> of MAC address <string>s */
};

struct nb_key_spec {
	const char *key;
	enum nb_key_type type;
	uint64_t min, max;        /* NB_KEY_INTEGER */
	const char *help;
};

const struct nb_key_spec *nb_key_specs(size_t *n);
const char *nb_key_type_name(enum nb_key_type type);   /* "string", "strings", "MACs"... */

/* Sets key to values in the plist held in data (XML or binary) and writes
 * the result, in the same format, to *out (malloc'ed).  Scalars take one
 * value; arrays take each value split at white space, so no value, or "",
 * makes an empty array.  Returns 0, -ENOENT for a key not in
 * nb_key_specs(), -EINVAL for a value of the wrong type or range or a file
 * that does not decode; each failure adds a problem.  The result is not
 * checked against Apple's rules here: parse it with nb_image_parse(). */
int nb_plist_set(const char *data, size_t len, const char *path, const char *key,
		 const char *const *values, size_t n_values, char **out, size_t *out_len,
		 struct nb_problems *problems);

/* Every top-level key of a plist, in file order, for `nbi info`. */
enum nb_value_type {
	NB_VALUE_STRING,
	NB_VALUE_INTEGER,
	NB_VALUE_BOOL,
	NB_VALUE_REAL,
	NB_VALUE_DATE,
	NB_VALUE_DATA,
	NB_VALUE_ARRAY,
	NB_VALUE_DICT,
	NB_VALUE_OTHER,
};

struct nb_value {
	enum nb_value_type type;
	char *text;               /* rendered: "101", "true", "2013-10-22T09:00:00Z" */
};

struct nb_entry {
	char *key;
	struct nb_value value;    /* for an array, text is NULL and items hold it */
	struct nb_value *items;
	size_t n_items;
};

struct nb_entries {
	enum nb_format format;
	struct nb_entry *v;
	size_t n;
};

/* Returns 0, or -EINVAL when data is not a plist with a <dict> at the top. */
int nb_plist_entries(const char *data, size_t len, struct nb_entries *out);
void nb_entries_clear(struct nb_entries *e);
const char *nb_value_type_name(enum nb_value_type type);   /* "string", "integer"... */

#endif
