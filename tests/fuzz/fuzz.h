/* SPDX-License-Identifier: MIT */
/*
 * What the fuzz targets share: an invariant check that aborts (so
 * libFuzzer records the input) with the file, line and expression.
 */
#ifndef BSDPD_FUZZ_H
#define BSDPD_FUZZ_H

#include <stdio.h>
#include <stdlib.h>

#define CHECK(c)                                                                    \
	do {                                                                        \
		if (!(c)) {                                                         \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c); \
			abort();                                                    \
		}                                                                   \
	} while (0)

#endif
