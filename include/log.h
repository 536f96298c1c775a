/* SPDX-License-Identifier: MIT */
/*
 * Logging at the edges: to stderr in the foreground, to syslog otherwise.
 * Client-supplied bytes (class ids, names, paths) never reach a log raw:
 * they go through log_escape first.
 */
#ifndef BSDPD_LOG_H
#define BSDPD_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <syslog.h>

void log_open(const char *ident, bool to_stderr, int max_priority);
/* The least urgent priority logged from now on (SIGHUP's --verbose/--quiet). */
void log_set_max(int max_priority);
void log_msg(int priority, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Copies n bytes of src into dst as printable ASCII, writing \xNN for the
 * rest; always NUL-terminates; returns dst. */
char *log_escape(char *dst, size_t cap, const void *src, size_t n);

#define MAC_STR_LEN 18
char *mac_str(const uint8_t mac[6], char buf[MAC_STR_LEN]);

#endif
