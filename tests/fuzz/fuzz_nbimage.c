/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the NBImageInfo.plist loader and its nbi-side
 * companions (nbi/nbimage.c): any bytes in, and besides the sanitizers it
 * checks that whatever nb_image_parse() accepts, nb_image_render() writes
 * back in a form nb_image_parse() reads as the same image, in XML and in
 * binary (a parse -> build -> parse round trip, as systemd's DHCP fuzzers do).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nbimage.h"

static bool same_strv(const struct nb_strv *a, const struct nb_strv *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->v[i], b->v[i]) != 0)
			return false;
	return true;
}

static bool same_str(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static bool same_macs(const struct nb_macv *a, const struct nb_macv *b)
{
	return a->n == b->n && (a->n == 0 || memcmp(a->v, b->v, a->n * sizeof(*a->v)) == 0);
}

static bool same_image(const struct nb_image *a, const struct nb_image *b)
{
	return a->id == b->id && a->enabled == b->enabled && a->is_default == b->is_default &&
	       a->filter_only == b->filter_only && a->type == b->type &&
	       same_str(a->name, b->name) && same_str(a->boot_file, b->boot_file) &&
	       same_str(a->root_path, b->root_path) && same_strv(&a->archs, &b->archs) &&
	       same_strv(&a->enabled_models, &b->enabled_models) &&
	       same_strv(&a->disabled_models, &b->disabled_models) &&
	       same_macs(&a->enabled_macs, &b->enabled_macs) &&
	       same_macs(&a->disabled_macs, &b->disabled_macs) &&
	       a->has_load_balance == b->has_load_balance &&
	       a->load_balance.s_addr == b->load_balance.s_addr;
}

static void round_trip(const struct nb_image *img, enum nb_format format)
{
	struct nb_problems p = { 0 };
	struct nb_image back;
	char *out = NULL;
	size_t len = 0;

	/* Refusing a string XML cannot carry is fine; writing a wrong file is not. */
	if (nb_image_render(img, format, "rt", &out, &len, &p) == 0) {
		if (nb_image_parse(out, len, "rt", NULL, &back, &p) < 0) {
			fprintf(stderr, "%.*s\n", (int)len, out);
			for (size_t i = 0; i < p.n; i++)
				fprintf(stderr, "%s\n", p.v[i].message);
			abort();
		}
		if (!same_image(img, &back) || !same_str(back.description,
							 img->description ? img->description
									  : img->name))
			abort();
		nb_image_clear(&back);
	}
	free(out);
	nb_problems_free(&p);
}

static void try_set(const char *data, size_t size, const char *key, const char *value)
{
	struct nb_problems p = { 0 };
	struct nb_image img;
	char *out = NULL;
	size_t len = 0;

	if (nb_plist_set(data, size, "set", key, &value, 1, &out, &len, &p) == 0 &&
	    nb_image_parse(out, len, "set", NULL, &img, &p) == 0)
		nb_image_clear(&img);
	free(out);
	nb_problems_free(&p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	struct nb_problems p = { 0 };
	struct nb_entries e;
	struct nb_image img;

	if (nb_image_parse(text, size, "fuzz.plist", NULL, &img, &p) == 0) {
		round_trip(&img, NB_FORMAT_XML);
		round_trip(&img, NB_FORMAT_BINARY);
		nb_image_clear(&img);
	}
	nb_image_compat(text, size, "fuzz.plist", &p);
	if (nb_plist_entries(text, size, &e) == 0)
		nb_entries_clear(&e);
	try_set(text, size, "Index", "4242");
	try_set(text, size, "EnabledMACAddresses", "00:1b:63:84:45:e6 0:1:2:3:4:5");
	nb_problems_free(&p);
	return 0;
}
