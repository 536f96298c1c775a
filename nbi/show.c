/* SPDX-License-Identifier: MIT */
/*
 * What `nbi info` and `nbi list` print, as text for people and as JSON for
 * scripts.  Everything comes from inspect.c's reports and the catalog
 * bsdpd loads; nothing here judges a bundle.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nbi.h"

void nbi_print_problems(FILE *f, const struct nb_problems *p, const char *only_in)
{
	for (size_t i = 0; i < p->n; i++)
		if (!only_in || nbi_path_in(p->v[i].path, only_in))
			fprintf(f, "%s: %s: %s\n", p->v[i].severity == NB_ERROR ? "error" : "warning",
				p->v[i].path, p->v[i].message);
}

/* ---- info ------------------------------------------------------------------ */

static const char *id_scope(uint16_t index)
{
	return index <= BSDP_INDEX_LOCAL_MAX ? "server-local" : "global";
}

static void info_booter_text(const struct nbi_booter *b)
{
	if (!b->present) {
		printf("  %-22s missing\n", b->rel);
		return;
	}
	printf("  %-22s %zu bytes, %s\n", b->rel, b->size,
	       !b->inspected ? "not inspected (not an Intel boot file)" : b->info.what);
	for (uint32_t i = 0; b->info.fat && i < b->info.n_members; i++) {
		const struct booter_member *m = &b->info.member[i];

		printf("    member %u: %-7s cputype 0x%08x subtype %u offset %u size %u align %u: %s\n",
		       i, fat_cpu_name(m->fat.cputype), m->fat.cputype, m->fat.cpusubtype,
		       m->fat.offset, m->fat.size, m->fat.align, m->pe.what);
	}
}

static void info_keys_text(const struct nb_entries *e)
{
	for (size_t i = 0; i < e->n; i++) {
		const struct nb_entry *x = &e->v[i];

		printf("  %-26s %-8s ", x->key, nb_value_type_name(x->value.type));
		if (x->value.type != NB_VALUE_ARRAY)
			printf("%s\n", x->value.text);
		for (size_t k = 0; x->value.type == NB_VALUE_ARRAY && k < x->n_items; k++)
			printf("%s%s", k ? ", " : "", x->items[k].text);
		if (x->value.type == NB_VALUE_ARRAY)
			printf("%s\n", x->n_items ? "" : "(empty)");
	}
}

static void info_text(const struct nbi_report *r)
{
	printf("bundle      %s\n", r->dir);
	if (r->plist_read)
		printf("plist       %s, %s, %zu bytes\n", NB_INFO_PLIST,
		       r->entries.format == NB_FORMAT_BINARY ? "binary" : "XML", r->plist_size);
	if (r->has_id)
		printf("image ID    0x%08x: %s, Kind %u (%s), Index %u (%s)\n", r->id,
		       r->id & BSDP_IMAGE_INSTALL ? "install" : "not install", bsdp_image_kind(r->id),
		       nbi_kind_name(bsdp_image_kind(r->id)), r->index, id_scope(r->index));
	printf("served      %s\n", r->valid ? "yes" : "no: bsdpd's loader reports errors");
	if (r->n_booters)
		printf("boot files\n");
	for (size_t i = 0; i < r->n_booters; i++)
		info_booter_text(&r->booters[i]);
	if (r->has_entries) {
		printf("keys\n");
		info_keys_text(&r->entries);
	}
	if (r->load.n || r->extra.n)
		printf("problems\n");
	nbi_print_problems(stdout, &r->load, NULL);
	nbi_print_problems(stdout, &r->extra, NULL);
}

static void json_value(struct json *j, const struct nb_value *v)
{
	unsigned long long u;

	if (v->type == NB_VALUE_INTEGER && sscanf(v->text, "%llu", &u) == 1)
		json_uint(j, u);
	else if (v->type == NB_VALUE_BOOL)
		json_bool(j, strcmp(v->text, "true") == 0);
	else
		json_string(j, v->text);
}

static void json_keys(struct json *j, const struct nb_entries *e)
{
	json_key(j, "keys");
	json_begin(j, '{');
	for (size_t i = 0; i < e->n; i++) {
		json_key(j, e->v[i].key);
		if (e->v[i].value.type != NB_VALUE_ARRAY) {
			json_value(j, &e->v[i].value);
			continue;
		}
		json_begin(j, '[');
		for (size_t k = 0; k < e->v[i].n_items; k++)
			json_value(j, &e->v[i].items[k]);
		json_end(j, ']');
	}
	json_end(j, '}');
	json_key(j, "key_types");
	json_begin(j, '{');
	for (size_t i = 0; i < e->n; i++) {
		json_key(j, e->v[i].key);
		json_string(j, nb_value_type_name(e->v[i].value.type));
	}
	json_end(j, '}');
}

static void json_id(struct json *j, const struct nbi_report *r)
{
	char hex[16];

	snprintf(hex, sizeof(hex), "0x%08x", r->id);
	json_key(j, "id");
	json_string(j, r->has_id ? hex : NULL);
	json_key(j, "id_decoded");
	if (!r->has_id) {
		json_null(j);
		return;
	}
	json_begin(j, '{');
	json_key(j, "install");
	json_bool(j, r->id & BSDP_IMAGE_INSTALL);
	json_key(j, "kind");
	json_uint(j, bsdp_image_kind(r->id));
	json_key(j, "kind_name");
	json_string(j, nbi_kind_name(bsdp_image_kind(r->id)));
	json_key(j, "index");
	json_uint(j, r->index);
	json_key(j, "scope");
	json_string(j, id_scope(r->index));
	json_end(j, '}');
}

static void json_member(struct json *j, const struct booter_member *m)
{
	json_begin(j, '{');
	json_key(j, "arch");
	json_string(j, fat_cpu_name(m->fat.cputype));
	json_key(j, "cputype");
	json_uint(j, m->fat.cputype);
	json_key(j, "cpusubtype");
	json_uint(j, m->fat.cpusubtype);
	json_key(j, "offset");
	json_uint(j, m->fat.offset);
	json_key(j, "size");
	json_uint(j, m->fat.size);
	json_key(j, "align");
	json_uint(j, m->fat.align);
	json_key(j, "what");
	json_string(j, m->pe.what);
	json_end(j, '}');
}

static void json_booter(struct json *j, const struct nbi_booter *b)
{
	json_begin(j, '{');
	json_key(j, "arch");
	json_string(j, b->arch);
	json_key(j, "path");
	json_string(j, b->rel);
	json_key(j, "present");
	json_bool(j, b->present);
	json_key(j, "size");
	json_uint(j, b->size);
	json_key(j, "what");
	json_string(j, b->inspected ? b->info.what : NULL);
	json_key(j, "efi_ok");
	if (b->inspected)
		json_bool(j, b->verdict == 0);
	else
		json_null(j);
	json_key(j, "fat");
	json_bool(j, b->info.fat);
	json_key(j, "fat_members");
	json_begin(j, '[');
	for (uint32_t i = 0; b->info.fat && i < b->info.n_members; i++)
		json_member(j, &b->info.member[i]);
	json_end(j, ']');
	json_end(j, '}');
}

static void json_problems(struct json *j, const char *key, enum nb_severity sev,
			  const struct nb_problems *a, const struct nb_problems *b)
{
	json_key(j, key);
	json_begin(j, '[');
	for (const struct nb_problems *p = a; p; p = p == a ? b : NULL)
		for (size_t i = 0; i < p->n; i++)
			if (p->v[i].severity == sev) {
				json_begin(j, '{');
				json_key(j, "path");
				json_string(j, p->v[i].path);
				json_key(j, "message");
				json_string(j, p->v[i].message);
				json_end(j, '}');
			}
	json_end(j, ']');
}

static void info_json(const struct nbi_report *r)
{
	struct json j;

	json_init(&j, stdout, JSON_PRETTY);
	json_begin(&j, '{');
	json_key(&j, "bundle");
	json_string(&j, r->dir);
	json_key(&j, "plist_format");
	json_string(&j, !r->plist_read ? NULL
			: r->entries.format == NB_FORMAT_BINARY ? "binary" : "xml");
	json_key(&j, "plist_size");
	json_uint(&j, r->plist_size);
	json_id(&j, r);
	json_key(&j, "served");
	json_bool(&j, r->valid);
	json_key(&j, "booters");
	json_begin(&j, '[');
	for (size_t i = 0; i < r->n_booters; i++)
		json_booter(&j, &r->booters[i]);
	json_end(&j, ']');
	json_keys(&j, &r->entries);
	json_problems(&j, "errors", NB_ERROR, &r->load, &r->extra);
	json_problems(&j, "warnings", NB_WARNING, &r->load, &r->extra);
	json_end(&j, '}');
	json_finish(&j);
}

int nbi_print_info(const char *bundle, bool json)
{
	struct nbi_report r;
	int rc;

	nbi_inspect_bundle(bundle, &r);
	nbi_check_siblings(&r);
	if (json)
		info_json(&r);
	else
		info_text(&r);
	rc = r.plist_read ? 0 : -ENOENT;
	nbi_report_clear(&r);
	return rc;
}

/* ---- list ---------------------------------------------------------------------- */

struct row {
	struct nbi_report rep;
	bool served;              /* in the catalog bsdpd loads */
	const char *first_error;
	size_t errors, warnings;
	char booter[64];
	char archs[64];
	char name[64];
};

static void row_booter(struct row *w)
{
	const struct nbi_booter *b = w->rep.n_booters ? &w->rep.booters[0] : NULL;

	for (size_t i = 0; i < w->rep.n_booters; i++)
		if (strcmp(w->rep.booters[i].arch, NBI_ARCH) == 0)
			b = &w->rep.booters[i];
	if (!b)
		snprintf(w->booter, sizeof(w->booter), "-");
	else if (!b->present)
		snprintf(w->booter, sizeof(w->booter), "%s missing", b->rel);
	else if (!b->inspected || b->verdict < 0)
		snprintf(w->booter, sizeof(w->booter), "%s %s", b->rel,
			 b->inspected ? "not EFI" : "");
	else if (b->info.fat)
		snprintf(w->booter, sizeof(w->booter), "%s fat(%u)", b->rel, b->info.n_members);
	else
		snprintf(w->booter, sizeof(w->booter), "%s %s", b->rel,
			 pe_machine_name(b->info.pe.machine));
}

static void row_fill(struct row *w, const struct nb_catalog *cat, const char *dir)
{
	const struct nb_image *img = &w->rep.img;
	size_t o = 0;

	for (size_t i = 0; i < cat->n_images; i++)
		w->served |= strcmp(cat->images[i].bundle, w->rep.name) == 0;
	for (size_t i = 0; i < cat->problems.n; i++) {
		const struct nb_problem *p = &cat->problems.v[i];

		if (!nbi_path_in(p->path, dir))
			continue;
		if (p->severity == NB_ERROR && !w->errors++)
			w->first_error = p->message;
		w->warnings += p->severity == NB_WARNING;
	}
	w->errors += nb_problems_count(&w->rep.extra, NB_ERROR);
	w->warnings += nb_problems_count(&w->rep.extra, NB_WARNING);
	if (!w->first_error && w->errors)
		for (size_t i = 0; i < w->rep.extra.n && !w->first_error; i++)
			if (w->rep.extra.v[i].severity == NB_ERROR)
				w->first_error = w->rep.extra.v[i].message;
	snprintf(w->name, sizeof(w->name), "%s", w->rep.valid ? img->name : "-");
	for (size_t i = 0; w->rep.valid && i < img->archs.n && o < sizeof(w->archs); i++)
		o += (size_t)snprintf(w->archs + o, sizeof(w->archs) - o, "%s%s", i ? "," : "",
				      img->archs.v[i]);
	if (!w->rep.valid)
		snprintf(w->archs, sizeof(w->archs), "-");
	row_booter(w);
}

static const char *yes_no(const struct row *w, bool v)
{
	return !w->rep.valid ? "-" : v ? "yes" : "no";
}

static void list_text_row(const struct row *w)
{
	char id[16] = "-", index[8] = "-", kind[8] = "-", status[48];

	if (w->rep.has_id) {
		snprintf(id, sizeof(id), "0x%08x", w->rep.id);
		snprintf(index, sizeof(index), "%u", w->rep.index);
		snprintf(kind, sizeof(kind), "%u", bsdp_image_kind(w->rep.id));
	}
	if (w->errors)
		snprintf(status, sizeof(status), "error:");
	else if (w->warnings)
		snprintf(status, sizeof(status), "ok, %zu warning%s", w->warnings,
			 w->warnings == 1 ? "" : "s");
	else
		snprintf(status, sizeof(status), "ok");
	printf("%-5s %-10s %-24s %-4s %-7s %-7s %-7s %-9s %-24s %s%s%s\n", index, id, w->name,
	       kind, w->rep.valid ? yes_no(w, w->rep.img.install) : "-",
	       yes_no(w, w->rep.img.is_default), yes_no(w, w->rep.img.enabled), w->archs,
	       w->booter, status, w->errors ? " " : "", w->errors ? w->first_error : "");
}

static void list_json_row(struct json *j, const struct row *w)
{
	const struct nb_image *img = &w->rep.img;
	char id[16];

	snprintf(id, sizeof(id), "0x%08x", w->rep.id);
	json_begin(j, '{');
	json_key(j, "bundle");
	json_string(j, w->rep.name);
	json_key(j, "index");
	if (w->rep.has_id)
		json_uint(j, w->rep.index);
	else
		json_null(j);
	json_key(j, "id");
	json_string(j, w->rep.has_id ? id : NULL);
	json_key(j, "name");
	json_string(j, w->rep.valid ? img->name : NULL);
	json_key(j, "kind");
	if (w->rep.has_id)
		json_uint(j, bsdp_image_kind(w->rep.id));
	else
		json_null(j);
	json_key(j, "install");
	json_bool(j, w->rep.has_id && (w->rep.id & BSDP_IMAGE_INSTALL));
	json_key(j, "default");
	json_bool(j, w->rep.valid && img->is_default);
	json_key(j, "enabled");
	json_bool(j, w->rep.valid && img->enabled);
	json_key(j, "architectures");
	json_begin(j, '[');
	for (size_t i = 0; w->rep.valid && i < img->archs.n; i++)
		json_string(j, img->archs.v[i]);
	json_end(j, ']');
	json_key(j, "booter");
	json_string(j, w->booter);
	json_key(j, "status");
	json_string(j, w->errors ? "error" : w->warnings ? "warning" : "ok");
	json_key(j, "served");
	json_bool(j, w->served);
	json_key(j, "first_error");
	json_string(j, w->first_error);
	json_key(j, "warnings");
	json_uint(j, w->warnings);
	json_end(j, '}');
}

static void list_rest_json(struct json *j, const struct nb_catalog *cat, const struct nbi_dir *d,
			   const char *root)
{
	json_key(j, "problems");
	json_begin(j, '[');
	for (size_t i = 0; i < cat->problems.n; i++) {
		const struct nb_problem *p = &cat->problems.v[i];

		if (nbi_problem_owned(p, d, root))
			continue;
		json_begin(j, '{');
		json_key(j, "severity");
		json_string(j, p->severity == NB_ERROR ? "error" : "warning");
		json_key(j, "path");
		json_string(j, p->path);
		json_key(j, "message");
		json_string(j, p->message);
		json_end(j, '}');
	}
	json_end(j, ']');
}

static void list_rows(const char *root, const struct nb_catalog *cat, const struct nbi_dir *d,
		      bool as_json)
{
	struct json j;

	json_init(&j, stdout, JSON_PRETTY);
	if (as_json) {
		json_begin(&j, '{');
		json_key(&j, "root");
		json_string(&j, root);
		json_key(&j, "bundles");
		json_begin(&j, '[');
	} else {
		printf("%-5s %-10s %-24s %-4s %-7s %-7s %-7s %-9s %-24s %s\n", "INDEX", "ID", "NAME",
		       "KIND", "INSTALL", "DEFAULT", "ENABLED", "ARCHS", "BOOTER", "STATUS");
	}
	for (size_t i = 0; i < d->n; i++) {
		struct row w = { 0 };
		char dir[PATH_MAX];

		if (snprintf(dir, sizeof(dir), "%s/%s", root, d->v[i].name) >= (int)sizeof(dir))
			continue;
		nbi_inspect_bundle(dir, &w.rep);
		row_fill(&w, cat, dir);
		if (as_json)
			list_json_row(&j, &w);
		else
			list_text_row(&w);
		nbi_report_clear(&w.rep);
	}
	if (as_json) {
		json_end(&j, ']');
		list_rest_json(&j, cat, d, root);
		json_end(&j, '}');
		json_finish(&j);
	}
}

static void list_rest_text(const struct nb_catalog *cat, const struct nbi_dir *d,
			   const char *root)
{
	for (size_t i = 0; i < cat->problems.n; i++)
		if (!nbi_problem_owned(&cat->problems.v[i], d, root))
			printf("%s: %s: %s\n", cat->problems.v[i].severity == NB_ERROR ? "error"
			       : "warning", cat->problems.v[i].path, cat->problems.v[i].message);
}

int nbi_print_list(const char *root, bool json)
{
	struct nb_catalog cat;
	struct nbi_dir d = { 0 };
	int r = nb_catalog_load(root, &cat);

	if (r == 0)
		r = nbi_scan_dir(root, &d);
	if (r == 0)
		list_rows(root, &cat, &d, json);
	if (r == 0 && !json)
		list_rest_text(&cat, &d, root);
	nbi_dir_clear(&d);
	nb_catalog_clear(&cat);
	return r;
}
