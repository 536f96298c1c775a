/* SPDX-License-Identifier: MIT */
/*
 * The image catalog: every "*.nbi" directory directly under the root, as
 * Apple's NBImageList_add_images scans a NetBoot sharepoint.  A bundle one
 * folder too deep is not served (Apple does not find it either,
 * AutoCasperNBI#91) but is reported, because it is a common mistake.
 */
#include "nbimage.h"
#include "beneath.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static bool has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n > m && strcmp(s + n - m, suffix) == 0;
}

static bool is_dir(const char *root, const char *name)
{
	char path[PATH_MAX];
	struct stat st;

	if (snprintf(path, sizeof(path), "%s/%s", root, name) >= (int)sizeof(path))
		return false;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Directory entry names under root, sorted so the catalog is reproducible. */
static int list_dir(const char *root, struct nb_strv *out)
{
	DIR *d = opendir(root);
	struct dirent *e;

	*out = (struct nb_strv){ 0 };
	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		char **v;

		if (e->d_name[0] == '.')
			continue;
		v = realloc(out->v, (out->n + 1) * sizeof(*v));
		if (!v || !(v[out->n] = strdup(e->d_name)))
			abort();
		out->v = v;
		out->n++;
	}
	closedir(d);
	if (out->n)
		qsort(out->v, out->n, sizeof(*out->v), cmp_names);
	return 0;
}

static void free_strv(struct nb_strv *sv)
{
	for (size_t i = 0; i < sv->n; i++)
		free(sv->v[i]);
	free(sv->v);
}

/* Reports "*.nbi" folders one level below root that will not be served. */
static void report_nested(struct nb_catalog *cat, const char *dir)
{
	char path[PATH_MAX];
	struct nb_strv sub;

	if (snprintf(path, sizeof(path), "%s/%s", cat->root, dir) >= (int)sizeof(path) ||
	    list_dir(path, &sub) < 0)
		return;
	for (size_t i = 0; i < sub.n; i++)
		if (has_suffix(sub.v[i], NB_BUNDLE_SUFFIX) && is_dir(path, sub.v[i]))
			nb_problem_add(&cat->problems, NB_WARNING, path,
				       "contains %s, which is not served: bundles must sit "
				       "directly in %s", sub.v[i], cat->root);
	free_strv(&sub);
}

/* When a bundle directory was made: its birth time where the file system
 * keeps one (statx STATX_BTIME), else its ctime.  nbi set replaces the
 * plist, never the directory, so this survives edits. */
static struct timespec born_at(int rootfd, const char *name)
{
	struct statx stx;

	if (statx(rootfd, name, AT_STATX_SYNC_AS_STAT, STATX_BTIME | STATX_CTIME, &stx) < 0)
		return (struct timespec){ 0 };
	if (stx.stx_mask & STATX_BTIME)
		return (struct timespec){ stx.stx_btime.tv_sec, stx.stx_btime.tv_nsec };
	return (struct timespec){ stx.stx_ctime.tv_sec, stx.stx_ctime.tv_nsec };
}

static void add_bundle(struct nb_catalog *cat, int rootfd, const char *name,
		       struct timespec *born)
{
	char dir[PATH_MAX];
	struct nb_image img;

	if (cat->n_images == NB_MAX_IMAGES) {
		nb_problem_add(&cat->problems, NB_ERROR, name, "more than %d images; skipped",
			       NB_MAX_IMAGES);
		return;
	}
	if (snprintf(dir, sizeof(dir), "%s/%s", cat->root, name) >= (int)sizeof(dir)) {
		nb_problem_add(&cat->problems, NB_ERROR, name, "path too long");
		return;
	}
	if (nb_image_load(dir, &img, &cat->problems) < 0)
		return;
	img.bundle = strdup(name);
	if (!img.bundle)
		abort();
	born[cat->n_images] = born_at(rootfd, name);
	cat->images[cat->n_images++] = img;
}

/* ---- duplicate IDs ------------------------------------------------------------ */

/* Who has the better claim to an ID: the bundle that held it in the
 * previous catalog, then the one made first, then the first by name. */
struct claim {
	size_t i;
	bool held;
	struct timespec born;
	const char *name;
};

static int cmp_claims(const void *a, const void *b)
{
	const struct claim *x = a, *y = b;

	if (x->held != y->held)
		return x->held ? -1 : 1;
	if (x->born.tv_sec != y->born.tv_sec)
		return x->born.tv_sec < y->born.tv_sec ? -1 : 1;
	if (x->born.tv_nsec != y->born.tv_nsec)
		return x->born.tv_nsec < y->born.tv_nsec ? -1 : 1;
	return strcmp(x->name, y->name);
}

static bool held_before(const struct nb_catalog *previous, const struct nb_image *img)
{
	const struct nb_image *was = previous ? nb_catalog_find(previous, img->id) : NULL;

	return was && strcmp(was->bundle, img->bundle) == 0;
}

/* The kept image with img's ID among claims[0..n), or NULL. */
static const struct nb_image *kept_with_id(const struct nb_catalog *cat,
					   const struct claim *claims, size_t n,
					   const bool *drop, uint32_t id)
{
	for (size_t k = 0; k < n; k++) {
		const struct nb_image *o = &cat->images[claims[k].i];

		if (!drop[claims[k].i] && o->enabled && o->id == id)
			return o;
	}
	return NULL;
}

/* Marks in drop[] each enabled image whose ID a better claim holds. */
static void judge_claims(struct nb_catalog *cat, const struct claim *claims, bool *drop)
{
	for (size_t k = 0; k < cat->n_images; k++) {
		const struct nb_image *img = &cat->images[claims[k].i];
		const struct nb_image *owner;
		char dir[PATH_MAX];

		owner = img->enabled ? kept_with_id(cat, claims, k, drop, img->id) : NULL;
		if (!owner)
			continue;
		drop[claims[k].i] = true;
		snprintf(dir, sizeof(dir), "%s/%s", cat->root, img->bundle);
		nb_problem_add(&cat->problems, NB_ERROR, dir, "image ID 0x%08x (Index %u) is "
			       "already used by %s, which %s; skipped", img->id, img->index,
			       owner->bundle, claims[k].held ? "also served it"
			       : "was there first");
	}
}

/* Apple's NBImageList_add_entry refuses a second image with an identical
 * 32-bit id, keeping the one it read first (readdir order).  Here the
 * bundle that was there first keeps it, so that adding a bundle never
 * takes an ID from one that clients already use.  Apple never loads a
 * disabled image, so a disabled one conflicts with nothing. */
static void drop_duplicates(struct nb_catalog *cat, const struct nb_catalog *previous,
			    const struct timespec *born)
{
	struct claim *claims = calloc(cat->n_images ? cat->n_images : 1, sizeof(*claims));
	bool *drop = calloc(cat->n_images ? cat->n_images : 1, sizeof(*drop));
	size_t n = 0;

	if (!claims || !drop)
		abort();
	for (size_t i = 0; i < cat->n_images; i++)
		claims[i] = (struct claim){ i, held_before(previous, &cat->images[i]), born[i],
					    cat->images[i].bundle };
	qsort(claims, cat->n_images, sizeof(*claims), cmp_claims);
	judge_claims(cat, claims, drop);
	for (size_t i = 0; i < cat->n_images; i++) {
		if (drop[i])
			nb_image_clear(&cat->images[i]);
		else
			cat->images[n++] = cat->images[i];
	}
	cat->n_images = n;
	free(claims);
	free(drop);
}

/* Apple's list order (nbimages.c): IsDefault images for every model, then
 * IsDefault images restricted by EnabledSystemIdentifiers, then the rest.
 * Apple keeps readdir order within each group; we use the name, so that
 * the order is reproducible.  The default image is the first that applies. */
static int list_rank(const struct nb_image *img)
{
	if (!img->is_default)
		return 2;
	return img->enabled_models.n ? 1 : 0;
}

static int cmp_images(const void *a, const void *b)
{
	const struct nb_image *x = a, *y = b;

	if (list_rank(x) != list_rank(y))
		return list_rank(x) - list_rank(y);
	return strcmp(x->bundle, y->bundle);
}

/* A "*.nbi" entry is a bundle only if the TFTP server can reach into it:
 * a directory beneath the root (beneath.h), not a symlink out of it.
 * Anything else is said, not skipped silently. */
static bool bundle_dir_ok(struct nb_catalog *cat, int rootfd, const char *name)
{
	char path[PATH_MAX], why[160];
	struct stat st;
	int r = beneath_check_dir(rootfd, name, &st);

	if (r == 0)
		return true;
	snprintf(path, sizeof(path), "%s/%s", cat->root, name);
	if (r == -EACCES)
		nb_problem_add(&cat->problems, NB_WARNING, path, "is %s, not a bundle folder; "
			       "not served", file_kind(st.st_mode));
	else
		nb_problem_add(&cat->problems, NB_ERROR, path, "%s; skipped",
			       served_refusal(r, &st, why, sizeof(why)));
	return false;
}

static void add_entries(struct nb_catalog *cat, int rootfd, const struct nb_strv *names,
			struct timespec *born)
{
	for (size_t i = 0; i < names->n; i++) {
		if (has_suffix(names->v[i], NB_BUNDLE_SUFFIX)) {
			if (bundle_dir_ok(cat, rootfd, names->v[i]))
				add_bundle(cat, rootfd, names->v[i], born);
		} else if (is_dir(cat->root, names->v[i])) {
			report_nested(cat, names->v[i]);
		}
	}
}

int nb_catalog_load(const char *root, struct nb_catalog *cat)
{
	return nb_catalog_reload(root, NULL, cat);
}

int nb_catalog_reload(const char *root, const struct nb_catalog *previous,
		      struct nb_catalog *cat)
{
	struct timespec *born;
	struct nb_strv names;
	int r, rootfd;

	*cat = (struct nb_catalog){ 0 };
	cat->root = strdup(root);
	if (!cat->root)
		abort();
	rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return -errno;
	r = list_dir(root, &names);
	if (r < 0) {
		close(rootfd);
		return r;
	}
	cat->images = calloc(names.n ? names.n : 1, sizeof(*cat->images));
	born = calloc(names.n ? names.n : 1, sizeof(*born));
	if (!cat->images || !born)
		abort();
	add_entries(cat, rootfd, &names, born);
	close(rootfd);
	free_strv(&names);
	drop_duplicates(cat, previous, born);
	free(born);
	if (cat->n_images)
		qsort(cat->images, cat->n_images, sizeof(*cat->images), cmp_images);
	return 0;
}

void nb_catalog_clear(struct nb_catalog *cat)
{
	for (size_t i = 0; i < cat->n_images; i++)
		nb_image_clear(&cat->images[i]);
	free(cat->images);
	free(cat->root);
	nb_problems_free(&cat->problems);
	*cat = (struct nb_catalog){ 0 };
}

const struct nb_image *nb_catalog_find(const struct nb_catalog *cat, uint32_t id)
{
	for (size_t i = 0; i < cat->n_images; i++)
		if (cat->images[i].enabled && cat->images[i].id == id)
			return &cat->images[i];
	return NULL;
}
