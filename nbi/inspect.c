/* SPDX-License-Identifier: MIT */
/*
 * Reading a bundle for `nbi validate`, `info` and `list`: what bsdpd's
 * loader says (nb_image_load, the very code the daemon serves from), every
 * key of the plist, whether each boot file is something Mac firmware can
 * run, and what other NetBoot servers would stumble on (nb_image_compat).
 */
#include "nbi.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static char *xstrdup(const char *s)
{
	char *d = strdup(s);

	if (!d)
		abort();
	return d;
}

const char *nbi_kind_name(unsigned kind)
{
	switch (kind) {
	case BSDP_KIND_MACOS9: return "Mac OS 9";
	case BSDP_KIND_MACOSX: return "Mac OS X";
	case BSDP_KIND_MACOSX_SERVER: return "Mac OS X Server";
	case BSDP_KIND_DIAGNOSTICS: return "Hardware Diagnostics";
	default: return "reserved";
	}
}

/* Length of dir without its trailing slashes (but "/" stays "/"). */
static size_t trimmed_len(const char *dir)
{
	size_t n = strlen(dir);

	while (n > 1 && dir[n - 1] == '/')
		n--;
	return n;
}

bool nbi_path_in(const char *p, const char *dir)
{
	size_t n = trimmed_len(dir);

	return strncmp(p, dir, n) == 0 && (p[n] == '\0' || p[n] == '/');
}

static char *last_component(const char *dir)
{
	size_t n = trimmed_len(dir), start = n;

	while (start > 0 && dir[start - 1] != '/')
		start--;
	return strndup(dir + start, n - start);
}

/* ---- the plist ------------------------------------------------------------ */

static void read_plist(struct nbi_report *r)
{
	uint8_t *data;
	size_t len = 0;

	if (nbi_read_file(r->plist_path, NBI_PLIST_MAX, &data, &len) < 0)
		return;      /* nb_image_load() already said why */
	r->plist_read = true;
	r->plist_size = len;
	nb_image_compat((const char *)data, len, r->plist_path, &r->extra);
	r->has_entries = nb_plist_entries((const char *)data, len, &r->entries) == 0;
	free(data);
}

static const struct nb_entry *find_entry(const struct nbi_report *r, const char *key)
{
	for (size_t i = 0; r->has_entries && i < r->entries.n; i++)
		if (strcmp(r->entries.v[i].key, key) == 0)
			return &r->entries.v[i];
	return NULL;
}

/* ---- boot files ----------------------------------------------------------------- */

/* Only Intel boot files are judged: "i386" is what every Intel Mac sends
 * (BSDPClient.c), and ppc boot files are Open Firmware's business. */
static void judge_booter(struct nbi_report *r, struct nbi_booter *b, const char *path)
{
	uint8_t *data;
	size_t len = 0;
	int err = nbi_read_file(path, NBI_BOOTER_MAX, &data, &len);

	b->inspected = true;
	if (err < 0) {
		b->verdict = err;
		snprintf(b->info.what, sizeof(b->info.what), "unreadable: %s", strerror(-err));
		nb_problem_add(&r->extra, NB_ERROR, path, "cannot read the boot file: %s",
			       strerror(-err));
		return;
	}
	b->verdict = booter_inspect(data, len, &b->info);
	if (b->verdict < 0)
		nb_problem_add(&r->extra, NB_ERROR, path, "the boot file is %s; Mac firmware runs "
			       "only x86-64 or IA-32 EFI applications, or Apple fat binaries of "
			       "them", b->info.what);
	free(data);
}

static void add_booter(struct nbi_report *r, const char *arch, const char *boot_file)
{
	struct nbi_booter *b = &r->booters[r->n_booters++];
	bool top = r->valid && r->img.ppc_boot_at_top && strcmp(arch, "ppc") == 0;
	char path[PATH_MAX];
	struct stat st;

	b->arch = xstrdup(arch);
	if ((top ? asprintf(&b->rel, "%s", boot_file)
		 : asprintf(&b->rel, "%s/%s", arch, boot_file)) < 0)
		abort();
	if (snprintf(path, sizeof(path), "%s/%s", r->dir, b->rel) >= (int)sizeof(path))
		return;
	b->present = stat(path, &st) == 0 && S_ISREG(st.st_mode);
	b->size = b->present ? (size_t)st.st_size : 0;
	if (b->present && strcmp(arch, NBI_ARCH) == 0)
		judge_booter(r, b, path);
}

/* From the image when it loads; else from whatever the plist holds, so
 * that a bundle with a broken key still gets its boot file checked. */
static void inspect_booters(struct nbi_report *r)
{
	const struct nb_entry *bf = find_entry(r, "BootFile"), *ar = find_entry(r, "Architectures");
	const char *boot_file = r->valid ? r->img.boot_file
			      : bf && bf->value.type == NB_VALUE_STRING ? bf->value.text : NULL;
	size_t n = r->valid ? r->img.archs.n : ar ? ar->n_items : 1;

	if (!boot_file || n == 0)
		return;
	r->booters = calloc(n, sizeof(*r->booters));
	if (!r->booters)
		abort();
	for (size_t i = 0; i < n; i++) {
		const char *arch = r->valid ? r->img.archs.v[i] : ar ? ar->items[i].text : "ppc";

		if (r->valid || !ar || ar->items[i].type == NB_VALUE_STRING)
			add_booter(r, arch, boot_file);
	}
}

/* ---- the report ------------------------------------------------------------------ */

void nbi_inspect_bundle(const char *dir, struct nbi_report *r)
{
	*r = (struct nbi_report){ 0 };
	r->dir = xstrdup(dir);
	r->name = last_component(dir);
	if (!r->name || asprintf(&r->plist_path, "%s/%s", dir, NB_INFO_PLIST) < 0)
		abort();
	r->valid = nb_image_load(dir, &r->img, &r->load) == 0;
	if (r->valid) {
		r->img.bundle = xstrdup(r->name);
		r->has_id = true;
		r->index = r->img.index;
		r->id = r->img.id;
	} else {
		r->has_id = nb_image_peek(dir, &r->index, &r->id) == 0;
	}
	read_plist(r);
	inspect_booters(r);
}

void nbi_report_clear(struct nbi_report *r)
{
	free(r->dir);
	free(r->name);
	free(r->plist_path);
	nb_entries_clear(&r->entries);
	nb_image_clear(&r->img);
	for (size_t i = 0; i < r->n_booters; i++) {
		free(r->booters[i].arch);
		free(r->booters[i].rel);
	}
	free(r->booters);
	nb_problems_free(&r->load);
	nb_problems_free(&r->extra);
	*r = (struct nbi_report){ 0 };
}

/* Apple's server keeps the first bundle by name and refuses the next with
 * the same 32-bit ID (nbimages.c NBImageList_add_entry). */
void nbi_check_siblings(struct nbi_report *r)
{
	char parent[PATH_MAX];
	struct nbi_dir d;

	if (!r->has_id)
		return;
	nbi_parent_dir(r->dir, parent, sizeof(parent));
	if (nbi_scan_dir(parent, &d) < 0)
		return;
	for (size_t i = 0; i < d.n; i++)
		if (d.v[i].has_id && d.v[i].id == r->id && strcmp(d.v[i].name, r->name) != 0)
			nb_problem_add(&r->extra, NB_WARNING, r->plist_path, "image ID 0x%08x is "
				       "also claimed by %s/%s; a server serves only the first of "
				       "them by name", r->id, parent, d.v[i].name);
	nbi_dir_clear(&d);
}

bool nbi_problem_owned(const struct nb_problem *p, const struct nbi_dir *d, const char *root)
{
	char dir[PATH_MAX];

	for (size_t k = 0; k < d->n; k++)
		if (snprintf(dir, sizeof(dir), "%s/%s", root, d->v[k].name) < (int)sizeof(dir) &&
		    nbi_path_in(p->path, dir))
			return true;
	return false;
}
