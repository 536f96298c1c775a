/* SPDX-License-Identifier: MIT */
/*
 * Small text helpers for URLs and hex, shared by the BSDP responder (the
 * http:// root path of option 17), proxyDHCP (the UEFI HTTP Boot URL), the
 * HTTP routes and the plist reader.
 */
#ifndef BSDPD_URL_H
#define BSDPD_URL_H

#include <stddef.h>

/* Percent-encodes src into dst, leaving '/' and the RFC 3986 unreserved
 * characters alone.  0, or -ENAMETOOLONG when dst (cap bytes, with the
 * NUL) is too small. */
int url_path_escape(char *dst, size_t cap, const char *src);

/* The value of one hex digit, or -1. */
int hex_digit(char c);

#endif
