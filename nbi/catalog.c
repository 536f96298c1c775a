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

static const struct nb_image *find_enabled_id(const struct nb_catalog *cat, uint32_t id)
{
	for (size_t i = 0; i < cat->n_images; i++)
		if (cat->images[i].enabled && cat->images[i].id == id)
			return &cat->images[i];
	return NULL;
}

/* Apple's NBImageList_add_entry refuses a second image with an identical
 * 32-bit id; the first bundle by name keeps it.  Apple never loads a
 * disabled image, so a disabled one conflicts with nothing. */
static void add_bundle(struct nb_catalog *cat, const char *name)
{
	char dir[PATH_MAX];
	struct nb_image img;
	const struct nb_image *dup;

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
	dup = img.enabled ? find_enabled_id(cat, img.id) : NULL;
	if (dup) {
		nb_problem_add(&cat->problems, NB_ERROR, dir,
			       "image ID 0x%08x (Index %u) is already used by %s; skipped",
			       img.id, img.index, dup->bundle);
		nb_image_clear(&img);
		return;
	}
	img.bundle = strdup(name);
	if (!img.bundle)
		abort();
	cat->images[cat->n_images++] = img;
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

static void add_entries(struct nb_catalog *cat, int rootfd, const struct nb_strv *names)
{
	for (size_t i = 0; i < names->n; i++) {
		if (has_suffix(names->v[i], NB_BUNDLE_SUFFIX)) {
			if (bundle_dir_ok(cat, rootfd, names->v[i]))
				add_bundle(cat, names->v[i]);
		} else if (is_dir(cat->root, names->v[i])) {
			report_nested(cat, names->v[i]);
		}
	}
}

int nb_catalog_load(const char *root, struct nb_catalog *cat)
{
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
	if (!cat->images)
		abort();
	add_entries(cat, rootfd, &names);
	close(rootfd);
	free_strv(&names);
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
	return find_enabled_id(cat, id);
}
