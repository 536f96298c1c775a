/* SPDX-License-Identifier: MIT */
/*
 * The nbi tool's library: building a .nbi bundle atomically (bundle.c),
 * changing one key of one (bundle.c), and reporting on bundles and image
 * roots (inspect.c).  Apple's rules come from the shared NBImageInfo model
 * in nbimage.h, so nbi validates exactly what bsdpd serves; boot files are
 * judged by pe.h.  Nothing here prints: findings go into struct
 * nb_problems and main.c decides how to show them.
 */
#ifndef BSDPD_NBI_H
#define BSDPD_NBI_H

#include <stdio.h>

#include "bsdp.h"
#include "json.h"
#include "nbimage.h"
#include "pe.h"

#define NBI_ARCH "i386"                /* what Intel Macs send, 32- and 64-bit alike */
#define NBI_BOOT_FILE "booter"         /* the name System Image Utility uses */
#define NBI_BOOTER_MAX (64u << 20)     /* snponly.efi is ~170 KiB; 64 MiB is a mistake */
#define NBI_PLIST_MAX NB_PLIST_MAX     /* as nbimage.c reads it */
#define NBI_AUTO_INDEX_MAX BSDP_INDEX_LOCAL_MAX

/* ---- files (bundle.c) ---------------------------------------------------- */

/* Reads a whole regular file of at most max bytes into *data (malloc'ed).
 * Returns 0 or -errno (-EFBIG past max, -EISDIR/-EINVAL for a non-file). */
int nbi_read_file(const char *path, size_t max, uint8_t **data, size_t *len);

/* One "*.nbi" directory of an image root, with the ID its plist claims. */
struct nbi_entry {
	char *name;                /* "iPXE.nbi" */
	bool has_id;               /* nb_image_peek() found an Index */
	uint16_t index;
	uint32_t id;
};

struct nbi_dir {
	struct nbi_entry *v;
	size_t n;
};

/* Every "*.nbi" directory directly under dir, sorted by name, skipping
 * hidden names as the catalog does.  Returns 0 or -errno. */
int nbi_scan_dir(const char *dir, struct nbi_dir *out);
void nbi_dir_clear(struct nbi_dir *d);

/* The directory part of path ("." when it has none), without trailing slashes. */
void nbi_parent_dir(const char *path, char *out, size_t cap);

/* ---- create (bundle.c) ---------------------------------------------------- */

/* The points at which a test can make create fail, in order. */
enum nbi_step {
	NBI_STEP_TEMP_DIR,         /* the temporary bundle directory exists */
	NBI_STEP_BOOTER,           /* <arch>/booter is written */
	NBI_STEP_ROOT_FILE,        /* the RootPath file is copied (or there is none) */
	NBI_STEP_PLIST,            /* NBImageInfo.plist is written */
	NBI_STEP_CHECKED,          /* the shared loader accepted the temporary bundle */
	NBI_STEP_COUNT,
};

const char *nbi_step_name(enum nbi_step step);

struct nbi_create {
	const char *booter;        /* EFI application (x86-64 or IA-32) or fat binary */
	const char *booter_ia32;   /* given too: both go into one fat binary */
	const char *output;        /* DIR/NAME.nbi */
	const char *name;          /* NULL: NAME */
	const char *description;   /* NULL: the name */
	uint32_t index;            /* 0: a free index, or the replaced bundle's */
	int kind;                  /* -1: 1 (Mac OS X) */
	bool install;
	bool is_default;
	bool disabled;
	bool force;
	enum nb_type type;
	const char *root_path;     /* NFS/HTTP: local file to copy, or IP:/path, http://IP/path */
	struct nb_strv enable_models;
	struct nb_strv disable_models;
	struct nb_strv enable_macs;
	struct nb_strv disable_macs;
	/* Test seam: called after each step; nonzero fails that step as an
	 * I/O error would, so a test can prove that nothing is left behind. */
	int (*after_step)(enum nbi_step step, void *ctx);
	void *step_ctx;
};

/* Builds the bundle beside its target, checks it with the shared loader
 * and renames it into place.  On success *made is the bundle as bsdpd
 * would load it; on failure neither the target (nor a changed one) nor
 * the temporary directory remains.  Returns 0 or -errno; problems say why,
 * and may hold warnings on success. */
int nbi_create_bundle(const struct nbi_create *c, struct nb_image *made,
		      struct nb_problems *problems);

/* ---- set (bundle.c) --------------------------------------------------------- */

struct nbi_change {
	enum nb_format format;
	char *before;              /* the old value as text; NULL when the key was absent */
	char *after;
};

/* Changes one key of <bundle>/NBImageInfo.plist, type-checked, keeping its
 * format, through a temporary file renamed over the old one.  Refuses a
 * change that makes a loadable bundle fail Apple's rules, or gives it the
 * ID of another bundle beside it.  Returns 0, -ENOENT for an unknown key,
 * -EINVAL for a refused change, or -errno. */
int nbi_set_key(const char *bundle, const char *key, const char *const *values, size_t n,
		struct nbi_change *change, struct nb_problems *problems);
void nbi_change_clear(struct nbi_change *c);

/* ---- reports (inspect.c) ------------------------------------------------------ */

struct nbi_booter {
	char *arch;
	char *rel;                 /* "i386/booter", relative to the bundle */
	bool present;
	size_t size;
	bool inspected;            /* ppc boot files are not judged */
	int verdict;               /* booter_inspect(): 0 or -EINVAL */
	struct booter_info info;
};

struct nbi_report {
	char *dir;                 /* the bundle as given */
	char *name;                /* its last component, "iPXE.nbi" */
	char *plist_path;
	bool plist_read;
	size_t plist_size;
	bool has_entries;
	struct nb_entries entries; /* every key, for info */
	bool valid;                /* bsdpd's loader accepts it */
	struct nb_image img;       /* when valid */
	bool has_id;
	uint16_t index;
	uint32_t id;
	struct nbi_booter *booters;
	size_t n_booters;
	struct nb_problems load;   /* what bsdpd's loader says (nb_image_load) */
	struct nb_problems extra;  /* boot file and compatibility findings */
};

/* Reads everything about one bundle.  Never fails: what cannot be read is
 * a problem in the report. */
void nbi_inspect_bundle(const char *dir, struct nbi_report *r);
void nbi_report_clear(struct nbi_report *r);

/* Whether problem path p concerns the bundle at dir (dir itself or below). */
bool nbi_path_in(const char *p, const char *dir);

/* Adds a warning to r->extra for each bundle beside r's (in its parent
 * directory) that claims the same 32-bit image ID. */
void nbi_check_siblings(struct nbi_report *r);

const char *nbi_kind_name(unsigned kind);

/* Whether catalog problem p concerns one of the bundles of d under root;
 * the others (a bundle nested too deep, an unreadable root) stand alone. */
bool nbi_problem_owned(const struct nb_problem *p, const struct nbi_dir *d, const char *root);

/* ---- output (show.c) -------------------------------------------------------------- */

/* "severity: path: message" lines; only those under only_in when not NULL. */
void nbi_print_problems(FILE *f, const struct nb_problems *p, const char *only_in);

/* `nbi info`: 0, or -ENOENT when the plist could not be read. */
int nbi_print_info(const char *bundle, bool json);

/* `nbi list`: 0, or -errno when root cannot be read. */
int nbi_print_list(const char *root, bool json);

#endif
