/* SPDX-License-Identifier: MIT */
/*
 * The event loop: one epoll set that owns every socket of the daemon
 * (DHCP/BSDP on 67, and later TFTP and its transfers).  Callbacks run one
 * at a time, so handlers need no locks.
 */
#ifndef BSDPD_LOOP_H
#define BSDPD_LOOP_H

#include <stdbool.h>
#include <stdint.h>

struct loop;
typedef void (*loop_fn)(struct loop *loop, int fd, uint32_t events, void *ctx);

struct loop *loop_new(void);
void loop_free(struct loop *loop);
int loop_add(struct loop *loop, int fd, uint32_t events, loop_fn fn, void *ctx);
int loop_del(struct loop *loop, int fd);
/* Calls fn(loop, ctx) once, after the callbacks of the current step (one
 * epoll_wait's events) have run: for work that many callbacks share, such
 * as committing their writes together.  The same fn and ctx twice in a
 * step is one call; -ENOSPC beyond LOOP_DEFER_MAX different ones. */
#define LOOP_DEFER_MAX 8
typedef void (*loop_defer_fn)(struct loop *loop, void *ctx);
int loop_defer(struct loop *loop, loop_defer_fn fn, void *ctx);
/* A periodic timer (a timerfd in the loop's epoll set): fn(loop, ctx)
 * every ms milliseconds while armed; an unarmed one costs no wake-up. */
struct loop_timer;
typedef void (*loop_timer_fn)(struct loop *loop, void *ctx);
struct loop_timer *loop_timer_new(struct loop *loop, loop_timer_fn fn, void *ctx);
void loop_timer_free(struct loop_timer *t);
/* Fires first ms from now, then every ms; 0 disarms.  0 or -errno. */
int loop_timer_every(struct loop_timer *t, unsigned ms);
bool loop_timer_armed(const struct loop_timer *t);

/* Runs until loop_stop(); returns 0, or -errno if epoll fails.  Deferred
 * calls still pending when it stops are made before it returns. */
int loop_run(struct loop *loop);
void loop_stop(struct loop *loop);

#endif
