/* SPDX-License-Identifier: MIT */
/*
 * The time, in the units bsdpd keeps it: microseconds or milliseconds of
 * CLOCK_MONOTONIC (timeouts, durations) or CLOCK_REALTIME (what is
 * recorded, e.g. an event's time).
 */
#ifndef BSDPD_CLOCK_H
#define BSDPD_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline int64_t clock_us(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static inline int64_t clock_ms(clockid_t id)
{
	return clock_us(id) / 1000;
}

#endif
