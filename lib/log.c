/* SPDX-License-Identifier: MIT */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static bool log_stderr = true;
static int log_max = LOG_INFO;
static const char *log_ident = "bsdpd";

void log_open(const char *ident, bool to_stderr, int max_priority)
{
	log_ident = ident;
	log_stderr = to_stderr;
	log_max = max_priority;
	if (!to_stderr)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void log_set_max(int max_priority)
{
	log_max = max_priority;
}

/* One write(2) per line: stderr is unbuffered, and a line split over
 * several writes costs syscalls on the hot path and can interleave. */
__attribute__((format(printf, 1, 0)))
static void log_line(const char *fmt, va_list ap)
{
	char line[2048];
	int n = snprintf(line, sizeof(line), "%s: ", log_ident);
	size_t len;

	if (n < 0)
		return;
	len = (size_t)n;
	n = vsnprintf(line + len, sizeof(line) - len - 1, fmt, ap);
	if (n < 0)
		return;
	len += (size_t)n < sizeof(line) - len - 1 ? (size_t)n : sizeof(line) - len - 2;
	line[len++] = '\n';
	fwrite(line, 1, len, stderr);
}

void log_msg(int priority, const char *fmt, ...)
{
	va_list ap;

	if (priority > log_max)
		return;
	va_start(ap, fmt);
	if (log_stderr)
		log_line(fmt, ap);
	else
		vsyslog(priority, fmt, ap);
	va_end(ap);
}

char *log_escape(char *dst, size_t cap, const void *src, size_t n)
{
	const unsigned char *s = src;
	size_t o = 0;

	if (cap == 0)
		return dst;
	for (size_t i = 0; i < n && o + 1 < cap; i++) {
		if (s[i] >= 0x20 && s[i] < 0x7f && s[i] != '\\') {
			dst[o++] = (char)s[i];
		} else if (cap - o > 4) {
			snprintf(dst + o, 5, "\\x%02x", s[i]);
			o += 4;
		} else {
			break;
		}
	}
	dst[o] = '\0';
	return dst;
}

char *mac_str(const uint8_t mac[6], char buf[MAC_STR_LEN])
{
	snprintf(buf, MAC_STR_LEN, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2],
		 mac[3], mac[4], mac[5]);
	return buf;
}
