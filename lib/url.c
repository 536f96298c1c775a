/* SPDX-License-Identifier: MIT */
#include "url.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "wire.h"

int url_path_escape(char *dst, size_t cap, const char *src)
{
	static const char hex[] = "0123456789ABCDEF";
	struct wr w = wr_init(dst, cap);

	for (const unsigned char *s = (const unsigned char *)src; *s; s++) {
		bool plain = (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
			     (*s >= '0' && *s <= '9') || strchr("/-._~", *s);
		uint8_t enc[3] = { '%', (uint8_t)hex[*s >> 4], (uint8_t)hex[*s & 15] };

		if ((plain ? wr_u8(&w, *s) : wr_bytes(&w, enc, 3)) < 0)
			return -ENAMETOOLONG;
	}
	return wr_u8(&w, '\0') < 0 ? -ENAMETOOLONG : 0;
}

int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}
