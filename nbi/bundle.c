/* SPDX-License-Identifier: MIT */
/*
 * Writing bundles: `nbi create` and `nbi set`.
 *
 * create plans everything in memory first (boot file judged, fat binary
 * built, index chosen, plist rendered), so that most mistakes stop before
 * the disk is touched.  It then writes the bundle into a hidden directory
 * beside the target (".NAME.nbi.tmp-XXXXXX": the same file system, so the
 * final rename is atomic, and hidden, so a server scanning the root
 * meanwhile skips it), has the shared loader accept it, and renames it
 * into place: renameat2(RENAME_NOREPLACE) for a new bundle,
 * RENAME_EXCHANGE to replace one, so the target path never holds half a
 * bundle and never goes missing.  Any failure removes the temporary
 * directory.
 *
 * set rewrites NBImageInfo.plist the same way: a temporary file in the
 * bundle, fsync, rename over the old file.
 */
#include "nbi.h"
#include "beneath.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define COPY_CHUNK (64u << 10)

/* ---- files ------------------------------------------------------------------ */

static int read_fd(int fd, size_t size, uint8_t *buf)
{
	size_t got = 0;

	while (got < size) {
		ssize_t n = read(fd, buf + got, size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		got += (size_t)n;
	}
	return 0;
}

int nbi_read_file(const char *path, size_t max, uint8_t **data, size_t *len)
{
	struct stat st;
	int fd = open_regular(AT_FDCWD, path, &st), r = 0;

	*data = NULL;
	if (fd == -EACCES && !S_ISREG(st.st_mode))
		return S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
	if (fd < 0)
		return fd;
	if ((uint64_t)st.st_size > max)
		r = -EFBIG;
	if (r == 0) {
		*data = malloc(st.st_size ? (size_t)st.st_size : 1);
		if (!*data)
			abort();
		*len = (size_t)st.st_size;
		r = read_fd(fd, *len, *data);
	}
	close(fd);
	if (r < 0) {
		free(*data);
		*data = NULL;
	}
	return r;
}

static int write_all(int fd, const void *data, size_t len)
{
	const uint8_t *p = data;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* A new file holding data, flushed to disk before it is called written. */
static int write_new_file(const char *path, const void *data, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode), r;

	if (fd < 0)
		return -errno;
	r = write_all(fd, data, len);
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	return r;
}

static int copy_fd(int in, int out)
{
	uint8_t *buf = malloc(COPY_CHUNK);
	ssize_t n;
	int r = 0;

	if (!buf)
		abort();
	while (r == 0 && (n = read(in, buf, COPY_CHUNK)) != 0) {
		if (n < 0)
			r = errno == EINTR ? 0 : -errno;
		else
			r = write_all(out, buf, (size_t)n);
	}
	free(buf);
	return r;
}

/* Root images (NetBoot.dmg) can be gigabytes, so they are streamed. */
static int copy_file(const char *from, const char *to)
{
	int in = open(from, O_RDONLY | O_CLOEXEC), out, r;

	if (in < 0)
		return -errno;
	out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (out < 0) {
		r = -errno;
		close(in);
		return r;
	}
	r = copy_fd(in, out);
	if (r == 0 && fsync(out) < 0)
		r = -errno;
	if (close(out) < 0 && r == 0)
		r = -errno;
	close(in);
	return r;
}

static int sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), r = 0;

	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		r = -errno;
	close(fd);
	return r;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path) < 0 ? -1 : 0;
}

/* Only ever called on a directory this process created or swapped out. */
static int remove_tree(const char *path)
{
	return nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) < 0 ? -errno : 0;
}

/* a/b into out (PATH_MAX bytes); -ENAMETOOLONG rather than a cut path. */
static int join(char *out, const char *a, const char *b)
{
	int n = snprintf(out, PATH_MAX, "%s/%s", a, b);

	return n < 0 || n >= PATH_MAX ? -ENAMETOOLONG : 0;
}

static bool has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n > m && strcmp(s + n - m, suffix) == 0;
}

void nbi_parent_dir(const char *path, char *out, size_t cap)
{
	size_t n = strlen(path);

	while (n > 1 && path[n - 1] == '/')
		n--;
	while (n > 0 && path[n - 1] != '/')
		n--;
	while (n > 1 && path[n - 1] == '/')
		n--;
	if (n == 0)
		snprintf(out, cap, ".");
	else
		snprintf(out, cap, "%.*s", (int)n, path);
}

/* ---- the bundles of a directory ---------------------------------------------- */

static bool is_bundle_dir(const char *dir, const char *name)
{
	char path[PATH_MAX];
	struct stat st;

	if (name[0] == '.' || !has_suffix(name, NB_BUNDLE_SUFFIX))
		return false;
	if (join(path, dir, name) < 0)
		return false;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int cmp_entries(const void *a, const void *b)
{
	return strcmp(((const struct nbi_entry *)a)->name, ((const struct nbi_entry *)b)->name);
}

static void peek_entry(const char *dir, struct nbi_entry *e)
{
	char path[PATH_MAX];

	if (join(path, dir, e->name) == 0)
		e->has_id = nb_image_peek(path, &e->index, &e->id) == 0;
}

int nbi_scan_dir(const char *dir, struct nbi_dir *out)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	*out = (struct nbi_dir){ 0 };
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		struct nbi_entry *v;

		if (!is_bundle_dir(dir, de->d_name))
			continue;
		v = realloc(out->v, (out->n + 1) * sizeof(*v));
		if (!v)
			abort();
		out->v = v;
		v[out->n] = (struct nbi_entry){ .name = strdup(de->d_name) };
		if (!v[out->n].name)
			abort();
		peek_entry(dir, &v[out->n++]);
	}
	closedir(d);
	if (out->n)
		qsort(out->v, out->n, sizeof(*out->v), cmp_entries);
	return 0;
}

void nbi_dir_clear(struct nbi_dir *d)
{
	for (size_t i = 0; i < d->n; i++)
		free(d->v[i].name);
	free(d->v);
	*d = (struct nbi_dir){ 0 };
}

/* The bundle other than `self` in d that holds id, or NULL. */
static const struct nbi_entry *id_holder(const struct nbi_dir *d, uint32_t id, const char *self)
{
	for (size_t i = 0; i < d->n; i++)
		if (d->v[i].has_id && d->v[i].id == id && (!self || strcmp(d->v[i].name, self)))
			return &d->v[i];
	return NULL;
}

static bool index_used(const struct nbi_dir *d, uint16_t index, const char *self)
{
	for (size_t i = 0; i < d->n; i++)
		if (d->v[i].has_id && d->v[i].index == index && (!self || strcmp(d->v[i].name, self)))
			return true;
	return false;
}

/* ---- create: the plan ---------------------------------------------------------- */

const char *nbi_step_name(enum nbi_step step)
{
	static const char *const names[] = { "temp-dir", "booter", "root-file", "plist",
					     "checked" };

	return step < NBI_STEP_COUNT ? names[step] : "?";
}

/* Everything create will write, decided before anything is written. */
struct plan {
	char dir[PATH_MAX];        /* holds the target */
	char base[NAME_MAX + 1];   /* "NAME.nbi" */
	char target[PATH_MAX];
	char temp[PATH_MAX];       /* set once the temporary directory exists */
	bool replacing;
	uint8_t *booter;
	size_t booter_len;
	const char *root_src;      /* local RootPath file to copy, or NULL */
	struct nb_image img;
	char *plist;
	size_t plist_len;
};

static void plan_clear(struct plan *p)
{
	free(p->booter);
	free(p->plist);
	nb_image_clear(&p->img);
}

__attribute__((format(printf, 3, 4)))
static int refuse(struct nb_problems *pr, const char *path, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		abort();
	va_end(ap);
	nb_problem_add(pr, NB_ERROR, path, "%s", msg);
	free(msg);
	return -EINVAL;
}

/* DIR/NAME.nbi: DIR must exist, and must not itself be a bundle (a bundle
 * nested in another is never served: AutoCasperNBI#91). */
static int plan_target(const struct nbi_create *c, struct plan *p, struct nb_problems *pr)
{
	size_t end = strlen(c->output), start;
	struct stat st;

	while (end > 1 && c->output[end - 1] == '/')
		end--;
	for (start = end; start > 0 && c->output[start - 1] != '/'; start--)
		;
	nbi_parent_dir(c->output, p->dir, sizeof(p->dir));
	if (end - start >= sizeof(p->base))
		return refuse(pr, c->output, "the bundle name is too long");
	memcpy(p->base, c->output + start, end - start);
	p->base[end - start] = '\0';
	if (!has_suffix(p->base, NB_BUNDLE_SUFFIX) || p->base[0] == '.')
		return refuse(pr, c->output, "the bundle must be named NAME.nbi");
	if (stat(p->dir, &st) < 0 || !S_ISDIR(st.st_mode))
		return refuse(pr, p->dir, "is not a directory; create it first");
	if (has_suffix(p->dir, NB_BUNDLE_SUFFIX) || has_suffix(p->dir, NB_BUNDLE_SUFFIX "/"))
		return refuse(pr, c->output, "would sit inside another bundle, where no server "
			      "finds it; bundles go directly in the image root");
	if (join(p->target, p->dir, p->base) < 0)
		return refuse(pr, c->output, "path too long");
	return 0;
}

/* An existing target is replaced only with --force, and only when it is
 * a bundle (or empty), so that --force never deletes anything else. */
static int plan_replace(const struct nbi_create *c, struct plan *p, struct nb_problems *pr)
{
	char plist[PATH_MAX];
	struct stat st;
	DIR *d;

	if (lstat(p->target, &st) < 0)
		return errno == ENOENT ? 0 : refuse(pr, p->target, "%s", strerror(errno));
	if (!c->force)
		return refuse(pr, p->target, "exists; give --force to replace it");
	if (!S_ISDIR(st.st_mode))
		return refuse(pr, p->target, "exists and is not a directory; not replacing it");
	p->replacing = true;
	if (join(plist, p->target, NB_INFO_PLIST) == 0 && access(plist, F_OK) == 0)
		return 0;
	d = opendir(p->target);
	for (struct dirent *e; d && (e = readdir(d));)
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			p->replacing = false;
	if (d)
		closedir(d);
	return p->replacing ? 0 : refuse(pr, p->target, "exists, is not empty and holds no %s; "
					 "not replacing it", NB_INFO_PLIST);
}

static int read_booter(const char *path, const char *option, uint8_t **data, size_t *len,
		       struct booter_info *info, struct nb_problems *pr)
{
	int r = nbi_read_file(path, NBI_BOOTER_MAX, data, len);

	if (r == -EFBIG)
		return refuse(pr, path, "%s: larger than %u MiB; not a boot file", option,
			      NBI_BOOTER_MAX >> 20);
	if (r < 0)
		return refuse(pr, path, "%s: cannot read: %s", option,
			      r == -EINVAL ? "not a regular file" : strerror(-r));
	if (booter_inspect(*data, *len, info) < 0)
		return refuse(pr, path, "%s: %s; Macs need an x86-64 or IA-32 EFI application "
			      "such as iPXE's snponly.efi", option, info->what);
	return 0;
}

static bool is_single(const struct booter_info *b, uint16_t machine)
{
	return !b->fat && b->pe.machine == machine;
}

/* Apple's boot.efi puts IA-32 first; so does this. */
static int plan_fat(const struct nbi_create *c, struct plan *p, const struct booter_info *x64,
		    struct nb_problems *pr)
{
	struct fat_part parts[2] = { { .cputype = FAT_CPU_X86 },
				     { FAT_CPU_X86_64, p->booter, p->booter_len } };
	struct booter_info ia32;
	uint8_t *data = NULL, *x64_data = p->booter, *fat;
	size_t fat_len;
	struct wr w;
	int r;

	if (!is_single(x64, PE_MACHINE_X86_64))
		return refuse(pr, c->booter, "--booter: %s; with --booter-ia32 it must be an "
			      "x86-64 EFI application", x64->what);
	r = read_booter(c->booter_ia32, "--booter-ia32", &data, &parts[0].len, &ia32, pr);
	if (r == 0 && !is_single(&ia32, PE_MACHINE_I386))
		r = refuse(pr, c->booter_ia32, "--booter-ia32: %s; it must be an IA-32 EFI "
			   "application", ia32.what);
	parts[0].data = data;
	fat_len = r == 0 ? fat_size(parts, 2) : 0;
	if (r == 0 && fat_len == 0)
		r = refuse(pr, c->output, "the two boot files are too large for a fat binary");
	if (r == 0) {
		fat = malloc(fat_len);
		if (!fat)
			abort();
		w = wr_init(fat, fat_len);
		r = fat_build(&w, parts, 2);
		p->booter = fat;
		p->booter_len = fat_len;
		free(x64_data);
	}
	free(data);
	return r;
}

static int plan_booter(const struct nbi_create *c, struct plan *p, struct nb_problems *pr)
{
	struct booter_info info;
	int r = read_booter(c->booter, "--booter", &p->booter, &p->booter_len, &info, pr);

	if (r < 0 || !c->booter_ia32)
		return r;
	if (info.fat)
		return refuse(pr, c->booter, "--booter is already a fat binary; give "
			      "--booter-ia32 only with an x86-64 EFI application");
	return plan_fat(c, p, &info, pr);
}

static int copy_strv(const struct nb_strv *from, struct nb_strv *to)
{
	to->v = from->n ? calloc(from->n, sizeof(*to->v)) : NULL;
	if (from->n && !to->v)
		abort();
	for (size_t i = 0; i < from->n; i++) {
		to->v[i] = strdup(from->v[i]);
		if (!to->v[i])
			abort();
		to->n++;
	}
	return 0;
}

static int parse_macs(const struct nb_strv *from, struct nb_macv *to, const char *option,
		      struct nb_problems *pr)
{
	to->v = from->n ? calloc(from->n, sizeof(*to->v)) : NULL;
	if (from->n && !to->v)
		abort();
	for (size_t i = 0; i < from->n; i++) {
		if (nb_parse_mac(from->v[i], to->v[i].b) < 0)
			return refuse(pr, from->v[i], "%s: not a MAC address like "
				      "00:1b:63:84:45:e6", option);
		to->n++;
	}
	return 0;
}

static char *xstrdup_or_null(const char *s)
{
	char *d = s ? strdup(s) : NULL;

	if (s && !d)
		abort();
	return d;
}

/* Name defaults to NAME of NAME.nbi; BSDP carries at most 246 bytes. */
static int plan_names(const struct nbi_create *c, struct plan *p, struct nb_problems *pr)
{
	size_t n = strlen(p->base) - strlen(NB_BUNDLE_SUFFIX);

	p->img.name = c->name ? xstrdup_or_null(c->name) : strndup(p->base, n);
	if (!p->img.name)
		abort();
	if (p->img.name[0] == '\0' || strlen(p->img.name) > BSDP_IMAGE_NAME_MAX)
		return refuse(pr, c->output, "--name must be 1-%d bytes: BSDP sends no more",
			      BSDP_IMAGE_NAME_MAX);
	p->img.description = xstrdup_or_null(c->description ? c->description : p->img.name);
	p->img.boot_file = xstrdup_or_null(NBI_BOOT_FILE);
	p->img.archs.v = calloc(1, sizeof(char *));
	if (!p->img.archs.v)
		abort();
	p->img.archs.v[p->img.archs.n++] = xstrdup_or_null(NBI_ARCH);
	return 0;
}

/* A RootPath with a colon names another host (Apple's indirect forms);
 * anything else is a local file, copied into the bundle under its name. */
static int plan_root(const struct nbi_create *c, struct plan *p, struct nb_problems *pr)
{
	const char *slash;
	struct stat st;

	if (c->type == NB_TYPE_BOOTFILE_ONLY)
		return c->root_path ? refuse(pr, c->output, "--root-path needs --type HTTP or "
					     "NFS; BootFileOnly images have no root") : 0;
	if (!c->root_path)
		return refuse(pr, c->output, "--type %s needs --root-path", nb_type_name(c->type));
	if (strchr(c->root_path, ':')) {
		p->img.root_path = xstrdup_or_null(c->root_path);
		return 0;
	}
	if (stat(c->root_path, &st) < 0 || !S_ISREG(st.st_mode))
		return refuse(pr, c->root_path, "--root-path: not a regular file to copy into the "
			      "bundle (or give IP:/export[:image] or http://IP/path)");
	slash = strrchr(c->root_path, '/');
	p->root_src = c->root_path;
	p->img.root_path = xstrdup_or_null(slash ? slash + 1 : c->root_path);
	return 0;
}

static int plan_image(const struct nbi_create *c, struct plan *p, struct nb_problems *pr)
{
	int r = plan_names(c, p, pr);

	if (r == 0 && (c->kind < -1 || c->kind > (int)BSDP_IMAGE_KIND_MASK))
		r = refuse(pr, c->output, "--kind must be 0-127");
	if (r < 0)
		return r;
	p->img.kind = c->kind < 0 ? BSDP_KIND_MACOSX : (uint8_t)c->kind;
	p->img.install = c->install;
	p->img.is_default = c->is_default;
	p->img.enabled = !c->disabled;
	p->img.filter_only = p->img.kind == BSDP_KIND_DIAGNOSTICS;
	p->img.type = c->type;
	copy_strv(&c->enable_models, &p->img.enabled_models);
	copy_strv(&c->disable_models, &p->img.disabled_models);
	r = parse_macs(&c->enable_macs, &p->img.enabled_macs, "--enable-mac", pr);
	if (r == 0)
		r = parse_macs(&c->disable_macs, &p->img.disabled_macs, "--disable-mac", pr);
	return r == 0 ? plan_root(c, p, pr) : r;
}

static uint32_t replaced_index(const struct plan *p, const struct nbi_dir *d)
{
	for (size_t i = 0; p->replacing && i < d->n; i++)
		if (strcmp(d->v[i].name, p->base) == 0 && d->v[i].has_id)
			return d->v[i].index;
	return 0;
}

static uint32_t free_index(const struct nbi_dir *d, const char *self)
{
	for (uint32_t i = 1; i <= NBI_AUTO_INDEX_MAX; i++)
		if (!index_used(d, (uint16_t)i, self))
			return i;
	return 0;
}

/* Without --index: the replaced bundle's index (Macs that selected it keep
 * their binding), else the lowest server-local index no bundle beside it
 * uses, whatever its Kind.  An explicit index must not give an ID that a
 * bundle beside it already has (Apple serves only one: nbimages.c). */
static int plan_index(const struct nbi_create *c, struct plan *p, const struct nbi_dir *d,
		      struct nb_problems *pr)
{
	const char *self = p->replacing ? p->base : NULL;
	const struct nbi_entry *holder;
	uint32_t index = c->index;

	if (index == 0)
		index = replaced_index(p, d);
	if (index == 0)
		index = free_index(d, self);
	if (index == 0)
		return refuse(pr, p->dir, "no free index in 1-%d; give --index", NBI_AUTO_INDEX_MAX);
	if (index > UINT16_MAX)
		return refuse(pr, c->output, "--index must be 1-65535");
	p->img.index = (uint16_t)index;
	p->img.id = bsdp_image_id(p->img.install, p->img.kind, p->img.index);
	holder = id_holder(d, p->img.id, self);
	if (holder)
		return refuse(pr, c->output, "image ID 0x%08x (Index %u) is already used by %s/%s",
			      p->img.id, p->img.index, p->dir, holder->name);
	return 0;
}

static int plan_bundle(const struct nbi_create *c, struct plan *p, struct nb_problems *pr)
{
	struct nbi_dir d;
	int r = plan_target(c, p, pr);

	if (r == 0)
		r = plan_replace(c, p, pr);
	if (r == 0)
		r = plan_booter(c, p, pr);
	if (r == 0)
		r = plan_image(c, p, pr);
	if (r < 0)
		return r;
	r = nbi_scan_dir(p->dir, &d);
	if (r < 0)
		return refuse(pr, p->dir, "cannot list: %s", strerror(-r));
	r = plan_index(c, p, &d, pr);
	nbi_dir_clear(&d);
	if (r == 0)
		r = nb_image_render(&p->img, NB_FORMAT_XML, c->output, &p->plist, &p->plist_len, pr);
	return r;
}

/* ---- create: writing ----------------------------------------------------------- */

static int step_done(const struct nbi_create *c, const struct plan *p, enum nbi_step step,
		     struct nb_problems *pr)
{
	if (!c->after_step || c->after_step(step, c->step_ctx) == 0)
		return 0;
	nb_problem_add(pr, NB_ERROR, p->temp, "failure injected after step %s",
		       nbi_step_name(step));
	return -EIO;
}

static int io_failed(struct nb_problems *pr, const char *path, const char *what, int r)
{
	nb_problem_add(pr, NB_ERROR, path, "%s: %s", what, strerror(-r));
	return r;
}

static int write_booter(const struct nbi_create *c, struct plan *p, struct nb_problems *pr)
{
	char path[PATH_MAX];
	int r;

	r = join(path, p->temp, NBI_ARCH);
	if (r == 0 && mkdir(path, 0755) < 0)
		r = -errno;
	if (r < 0)
		return io_failed(pr, p->temp, "cannot create " NBI_ARCH, r);
	r = join(path, p->temp, NBI_ARCH "/" NBI_BOOT_FILE);
	if (r == 0)
		r = write_new_file(path, p->booter, p->booter_len, 0644);
	if (r < 0)
		return io_failed(pr, path, "cannot write", r);
	return step_done(c, p, NBI_STEP_BOOTER, pr);
}

static int write_rest(const struct nbi_create *c, struct plan *p, struct nb_problems *pr)
{
	char path[PATH_MAX];
	int r = 0;

	if (p->root_src) {
		r = join(path, p->temp, p->img.root_path);
		if (r == 0)
			r = copy_file(p->root_src, path);
		if (r < 0)
			return io_failed(pr, p->root_src, "cannot copy into the bundle", r);
	}
	r = step_done(c, p, NBI_STEP_ROOT_FILE, pr);
	if (r < 0)
		return r;
	r = join(path, p->temp, NB_INFO_PLIST);
	if (r == 0)
		r = write_new_file(path, p->plist, p->plist_len, 0644);
	if (r < 0)
		return io_failed(pr, path, "cannot write", r);
	return step_done(c, p, NBI_STEP_PLIST, pr);
}

/* The bundle must pass the very loader bsdpd serves from. */
static int check_temp(const struct nbi_create *c, struct plan *p, struct nb_problems *pr)
{
	struct nb_problems found = { 0 };
	struct nb_image img;
	int r = nb_image_load(p->temp, &img, &found);

	for (size_t i = 0; i < found.n; i++)
		nb_problem_add(pr, found.v[i].severity, c->output, "%s", found.v[i].message);
	nb_problems_free(&found);
	nb_image_clear(&img);
	if (r < 0)
		return r;
	r = sync_dir(p->temp);
	if (r < 0)
		return io_failed(pr, p->temp, "cannot sync", r);
	return step_done(c, p, NBI_STEP_CHECKED, pr);
}

static int build_temp(const struct nbi_create *c, struct plan *p, struct nb_problems *pr)
{
	char temp[PATH_MAX];
	int r;

	if (snprintf(temp, sizeof(temp), "%s/.%s.tmp-XXXXXX", p->dir, p->base) >=
	    (int)sizeof(temp))
		return refuse(pr, c->output, "path too long");
	if (!mkdtemp(temp))
		return io_failed(pr, p->dir, "cannot create a temporary directory", -errno);
	memcpy(p->temp, temp, sizeof(temp));
	if (chmod(p->temp, 0755) < 0)
		return io_failed(pr, p->temp, "cannot chmod", -errno);
	r = step_done(c, p, NBI_STEP_TEMP_DIR, pr);
	if (r == 0)
		r = write_booter(c, p, pr);
	if (r == 0)
		r = write_rest(c, p, pr);
	if (r == 0)
		r = check_temp(c, p, pr);
	return r;
}

/* renameat2 flags may be unsupported by the file system (EINVAL) or the
 * kernel (ENOSYS); the fallbacks below are correct, only not atomic. */
static bool no_renameat2(int err)
{
	return err == EINVAL || err == ENOSYS || err == ENOTSUP;
}

static int rename_new(struct plan *p, struct nb_problems *pr)
{
	struct stat st;

	if (renameat2(AT_FDCWD, p->temp, AT_FDCWD, p->target, RENAME_NOREPLACE) == 0)
		return 0;
	if (!no_renameat2(errno))
		return io_failed(pr, p->target, "cannot rename into place", -errno);
	if (lstat(p->target, &st) == 0)
		return io_failed(pr, p->target, "cannot rename into place", -EEXIST);
	if (rename(p->temp, p->target) < 0)
		return io_failed(pr, p->target, "cannot rename into place", -errno);
	return 0;
}

/* After the swap the old bundle sits at the temporary path, and the
 * caller's cleanup removes it like any temporary directory. */
static int rename_replace(struct plan *p, struct nb_problems *pr)
{
	char old[PATH_MAX];

	if (renameat2(AT_FDCWD, p->temp, AT_FDCWD, p->target, RENAME_EXCHANGE) == 0)
		return 0;
	if (!no_renameat2(errno))
		return io_failed(pr, p->target, "cannot swap into place", -errno);
	if (snprintf(old, sizeof(old), "%s/.%s.old-XXXXXX", p->dir, p->base) >= (int)sizeof(old))
		return io_failed(pr, p->target, "cannot move aside", -ENAMETOOLONG);
	if (!mkdtemp(old) || rename(p->target, old) < 0)
		return io_failed(pr, p->target, "cannot move aside", -errno);
	if (rename(p->temp, p->target) < 0) {
		int r = -errno;

		rename(old, p->target);
		return io_failed(pr, p->target, "cannot rename into place", r);
	}
	memcpy(p->temp, old, sizeof(old));
	return 0;
}

static int commit(struct plan *p, struct nb_problems *pr)
{
	int r = p->replacing ? rename_replace(p, pr) : rename_new(p, pr);

	if (r == 0 && !p->replacing)
		p->temp[0] = '\0';
	if (r == 0)
		sync_dir(p->dir);
	return r;
}

static void load_made(const struct plan *p, struct nb_image *made, struct nb_problems *pr)
{
	if (nb_image_load(p->target, made, pr) == 0) {
		made->bundle = strdup(p->base);
		if (!made->bundle)
			abort();
	}
}

int nbi_create_bundle(const struct nbi_create *c, struct nb_image *made,
		      struct nb_problems *problems)
{
	struct plan p = { 0 };
	int r = plan_bundle(c, &p, problems);

	*made = (struct nb_image){ 0 };
	if (r == 0)
		r = build_temp(c, &p, problems);
	if (r == 0)
		r = commit(&p, problems);
	if (p.temp[0] && remove_tree(p.temp) < 0 && r == 0)
		nb_problem_add(problems, NB_WARNING, p.temp, "could not remove the replaced "
			       "bundle; delete it by hand");
	if (r == 0)
		load_made(&p, made, problems);
	plan_clear(&p);
	return r;
}

/* ---- set ------------------------------------------------------------------------- */

static char *entry_text(const struct nb_entry *e)
{
	char *out = NULL;
	size_t n = 0;
	FILE *f;

	if (e->value.type != NB_VALUE_ARRAY)
		return xstrdup_or_null(e->value.text);
	f = open_memstream(&out, &n);
	if (!f)
		abort();
	for (size_t k = 0; k < e->n_items; k++)
		fprintf(f, "%s%s", k ? ", " : "", e->items[k].text);
	if (fclose(f) != 0)
		abort();
	return out;
}

/* The key's value as text, for showing what changed; NULL when absent. */
static char *value_text(const char *data, size_t len, const char *key)
{
	struct nb_entries e;
	char *out = NULL;

	if (nb_plist_entries(data, len, &e) < 0)
		return NULL;
	for (size_t i = 0; i < e.n && !out; i++)
		if (strcmp(e.v[i].key, key) == 0)
			out = entry_text(&e.v[i]);
	nb_entries_clear(&e);
	return out;
}

/* Replaces path through a temporary file beside it, keeping its mode. */
static int replace_file(const char *path, const char *data, size_t len, mode_t mode)
{
	char temp[PATH_MAX], dir[PATH_MAX];
	int fd, r;

	nbi_parent_dir(path, dir, sizeof(dir));
	if (join(temp, dir, "." NB_INFO_PLIST ".tmp-XXXXXX") < 0)
		return -ENAMETOOLONG;
	fd = mkstemp(temp);
	if (fd < 0)
		return -errno;
	r = fchmod(fd, mode) < 0 ? -errno : write_all(fd, data, len);
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(temp, path) < 0)
		r = -errno;
	if (r < 0)
		unlink(temp);
	else
		sync_dir(dir);
	return r;
}

/* A bundle that had errors may be fixed one key at a time: say what is
 * still wrong, but write. */
static void still_wrong(const struct nb_problems *found, const char *path,
			struct nb_problems *pr)
{
	for (size_t i = 0; i < found->n; i++)
		if (found->v[i].severity == NB_ERROR)
			nb_problem_add(pr, NB_WARNING, path, "still: %s", found->v[i].message);
}

static int id_taken(const char *bundle, const char *path, uint32_t id, struct nb_problems *pr)
{
	const char *slash = strrchr(bundle, '/');
	const struct nbi_entry *holder;
	char parent[PATH_MAX];
	struct nbi_dir d;

	nbi_parent_dir(bundle, parent, sizeof(parent));
	if (nbi_scan_dir(parent, &d) < 0)
		return 0;
	holder = id_holder(&d, id, slash && slash[1] ? slash + 1 : bundle);
	if (holder)
		nb_problem_add(pr, NB_ERROR, path, "image ID 0x%08x is already used by %s/%s; "
			       "not changed", id, parent, holder->name);
	nbi_dir_clear(&d);
	return holder ? -EINVAL : 0;
}

/* The edited bytes must still load if the old ones did, and must not take
 * the ID of a bundle beside this one. */
static int check_edit(const char *bundle, const char *path, const char *data, size_t len,
		      bool was_valid, struct nb_problems *pr)
{
	struct nb_problems found = { 0 };
	struct nb_image img;
	int r = nb_image_parse(data, len, path, bundle, &img, &found);

	if (r < 0 && !was_valid)
		still_wrong(&found, path, pr);
	for (size_t i = 0; r < 0 && was_valid && i < found.n; i++)
		if (found.v[i].severity == NB_ERROR)
			nb_problem_add(pr, NB_ERROR, path, "%s; not changed", found.v[i].message);
	nb_problems_free(&found);
	if (r < 0)
		return was_valid ? -EINVAL : 0;
	r = img.enabled ? id_taken(bundle, path, img.id, pr) : 0;
	nb_image_clear(&img);
	return r;
}

static int edit_plist(const char *bundle, const char *path, const char *key,
		      const char *const *values, size_t n, struct nbi_change *chg,
		      struct nb_problems *pr)
{
	struct nb_problems scratch = { 0 };
	struct nb_image before;
	struct stat st;
	uint8_t *data = NULL;
	char *out = NULL;
	size_t len = 0, out_len = 0;
	bool was_valid;
	int r = nbi_read_file(path, NBI_PLIST_MAX, &data, &len);

	if (r < 0)
		return io_failed(pr, path, "cannot read", r);
	was_valid = nb_image_parse((const char *)data, len, path, bundle, &before, &scratch) == 0;
	chg->format = before.format;
	nb_image_clear(&before);
	nb_problems_free(&scratch);
	r = nb_plist_set((const char *)data, len, path, key, values, n, &out, &out_len, pr);
	if (r == 0)
		r = check_edit(bundle, path, out, out_len, was_valid, pr);
	if (r == 0)
		r = stat(path, &st) < 0 ? -errno : replace_file(path, out, out_len, st.st_mode & 07777);
	if (r == 0) {
		chg->before = value_text((const char *)data, len, key);
		chg->after = value_text(out, out_len, key);
	} else if (r != -EINVAL && r != -ENOENT) {
		io_failed(pr, path, "cannot replace", r);
	}
	free(data);
	free(out);
	return r;
}

int nbi_set_key(const char *bundle, const char *key, const char *const *values, size_t n,
		struct nbi_change *change, struct nb_problems *problems)
{
	char path[PATH_MAX];

	*change = (struct nbi_change){ 0 };
	if (join(path, bundle, NB_INFO_PLIST) < 0)
		return refuse(problems, bundle, "path too long");
	return edit_plist(bundle, path, key, values, n, change, problems);
}

void nbi_change_clear(struct nbi_change *c)
{
	free(c->before);
	free(c->after);
	*c = (struct nbi_change){ 0 };
}
