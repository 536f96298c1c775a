/* SPDX-License-Identifier: MIT */
/* Strict UTF-8 (RFC 3629 §4); see include/utf8.h. */
#include "utf8.h"

/* The lead byte fixes the length and the range of the second byte
 * (Unicode Table 3-7): E0 needs A0-BF (else overlong), ED needs 80-9F
 * (else a surrogate), F0 needs 90-BF (overlong), F4 needs 80-8F (past
 * U+10FFFF).  C0, C1 and F5-FF never start a sequence. */
static size_t lead(uint8_t b, uint8_t *lo, uint8_t *hi)
{
	*lo = 0x80;
	*hi = 0xbf;
	if (b >= 0xc2 && b <= 0xdf)
		return 2;
	if (b >= 0xe0 && b <= 0xef) {
		*lo = b == 0xe0 ? 0xa0 : 0x80;
		*hi = b == 0xed ? 0x9f : 0xbf;
		return 3;
	}
	if (b >= 0xf0 && b <= 0xf4) {
		*lo = b == 0xf0 ? 0x90 : 0x80;
		*hi = b == 0xf4 ? 0x8f : 0xbf;
		return 4;
	}
	return 0;
}

size_t utf8_decode(const uint8_t *p, size_t n, uint32_t *cp)
{
	uint8_t lo, hi;
	size_t len;
	uint32_t c;

	if (n == 0)
		return 0;
	if (p[0] < 0x80) {
		if (cp)
			*cp = p[0];
		return 1;
	}
	len = lead(p[0], &lo, &hi);
	if (len == 0 || len > n || p[1] < lo || p[1] > hi)
		return 0;
	c = p[0] & (0x7fu >> len);
	for (size_t i = 1; i < len; i++) {
		if (i > 1 && (p[i] < 0x80 || p[i] > 0xbf))
			return 0;
		c = c << 6 | (p[i] & 0x3fu);
	}
	if (cp)
		*cp = c;
	return len;
}

bool utf8_valid(const char *s, size_t n)
{
	const uint8_t *p = (const uint8_t *)s;

	while (n > 0) {
		size_t k = utf8_decode(p, n, NULL);

		if (k == 0)
			return false;
		p += k;
		n -= k;
	}
	return true;
}

size_t utf8_prefix(const char *s, size_t n, size_t max)
{
	const uint8_t *p = (const uint8_t *)s;

	if (n <= max)
		return n;
	n = max;
	while (n > 0 && (p[n] & 0xc0) == 0x80)
		n--;
	return n;
}
