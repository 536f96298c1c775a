/* SPDX-License-Identifier: MIT */
/*
 * The project's one UTF-8 decoder, strict as RFC 3629 §4 (Unicode 15
 * Table 3-7): no overlong form, no surrogate (U+D800-U+DFFF), nothing past
 * U+10FFFF, no truncated sequence.  Whatever else holds text (the plist
 * reader, the JSON writers, bsdpc) asks here instead of judging bytes
 * itself, so that what one accepts the others can carry.
 */
#ifndef BSDPD_UTF8_H
#define BSDPD_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Length (1-4) of the well-formed sequence at the start of p, reading at
 * most n bytes, with its code point in *cp (may be NULL); 0 when the bytes
 * are ill-formed or n is 0. */
size_t utf8_decode(const uint8_t *p, size_t n, uint32_t *cp);

/* Whether all n bytes of s are well-formed UTF-8. */
bool utf8_valid(const char *s, size_t n);

/* The longest prefix of the n bytes of s, at most max bytes long, that
 * does not split a sequence (s is assumed valid). */
size_t utf8_prefix(const char *s, size_t n, size_t max);

#endif
