/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the boot-file parsers (nbi/pe.c): PE/COFF
 * headers, Apple's fat EFI binary, and the builder.  Besides the
 * sanitizers it checks that every fat member fat_parse() accepts lies
 * inside the input, and that fat_build() of any two pieces reads back as
 * exactly those pieces.
 */
#include <stdlib.h>
#include <string.h>

#include "pe.h"

static void check_members(const uint8_t *data, size_t size)
{
	struct fat_view v;
	char why[120];

	if (fat_parse(data, size, &v, why, sizeof(why)) != 0)
		return;
	for (uint32_t i = 0; i < v.n; i++)
		if (v.m[i].offset > size || v.m[i].size > size - v.m[i].offset)
			abort();
}

/* Splits the input in two and wraps the halves; they must come back whole. */
static void check_build(const uint8_t *data, size_t size)
{
	size_t half = size / 2;
	struct fat_part parts[2] = { { FAT_CPU_X86, data, half },
				     { FAT_CPU_X86_64, data + half, size - half } };
	size_t n = fat_size(parts, 2);
	uint8_t *buf = malloc(n ? n : 1);
	struct fat_view v;
	struct wr w;
	char why[120];

	if (!buf || n != 48 + size)
		abort();
	w = wr_init(buf, n);
	if (fat_build(&w, parts, 2) != 0 || w.len != n)
		abort();
	if (fat_parse(buf, n, &v, why, sizeof(why)) == 0) {
		if (half == 0 || v.n != 2 || v.m[0].size != half || v.m[1].size != size - half ||
		    memcmp(buf + v.m[0].offset, data, half) != 0 ||
		    memcmp(buf + v.m[1].offset, data + half, size - half) != 0)
			abort();
	} else if (half != 0) {
		abort();
	}
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct booter_info bi;

	if (booter_inspect(data, size, &bi) == 0 && !bi.fat && bi.pe.verdict != PE_OK)
		abort();
	check_members(data, size);
	if (size < (1u << 16))
		check_build(data, size);
	return 0;
}
