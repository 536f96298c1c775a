/* SPDX-License-Identifier: MIT */
/*
 * The image catalog as the daemon serves it: an immutable, reference-
 * counted snapshot, and a loader that builds the next snapshot on a thread
 * of its own, so that a slow or blocking root (NFS, a huge tree, a FIFO
 * where a plist should be) never stops the event loop: BSDP, TFTP and
 * signals go on while it loads, and the old catalog serves until the new
 * one is swapped in whole.
 *
 * Who owns what:
 * - A published snapshot never changes.  Each holder owns one reference:
 *   the event loop one for the snapshot it serves; a thread that reads a
 *   snapshot beyond the loop's next swap takes its own with
 *   catalog_snap_ref(), from the loop's while the loop holds it, and drops
 *   it with catalog_snap_unref() on any thread.  The last one frees it.
 * - The loader thread owns the snapshot it builds until it hands it over
 *   under the loader's mutex; catalog_loader_collect() gives it to the loop.
 * - The loader itself is shared by the loop and at most one loader thread;
 *   whichever lets go last frees it.  catalog_loader_free() never waits for
 *   a load: a thread blocked in open() must not hold up exit.
 * Every catalog_loader_* call is made from the event loop's thread.
 */
#ifndef BSDPD_CATALOG_LOADER_H
#define BSDPD_CATALOG_LOADER_H

#include <stdatomic.h>
#include <stdbool.h>

#include "nbimage.h"

struct catalog_snap {
	atomic_uint refs;
	struct nb_catalog cat;
};

/* Loads root on the calling thread into a snapshot holding one reference;
 * an image ID held in previous (may be NULL) stays with its bundle.
 * 0, or -errno when the root cannot be read. */
int catalog_snap_load(const char *root, const struct catalog_snap *previous,
		      struct catalog_snap **out);
struct catalog_snap *catalog_snap_ref(struct catalog_snap *snap);
void catalog_snap_unref(struct catalog_snap *snap);

struct catalog_loader;

/* NULL when out of memory or file descriptors. */
struct catalog_loader *catalog_loader_new(const char *root);
void catalog_loader_free(struct catalog_loader *ld);
/* Readable once a load has finished: then call catalog_loader_collect(). */
int catalog_loader_fd(const struct catalog_loader *ld);

enum catalog_request {
	CATALOG_LOAD_STARTED,
	CATALOG_LOAD_QUEUED,         /* one load runs after the current one */
};

/* Starts a load on a new thread, or, while one is running or not yet
 * collected, queues one more: any number of requests during a load queue
 * exactly one.  The thread takes its own reference to current, the
 * catalog being served, for the rule that an image ID stays with the
 * bundle that held it.  -errno when no thread can be started. */
int catalog_loader_request(struct catalog_loader *ld, struct catalog_snap *current,
			   enum catalog_request *how);

/* The finished load: 0 with a new snapshot in *out (the caller owns its
 * reference), -errno when the root could not be read, -EAGAIN when no load
 * has finished.  *queued tells whether a request came during that load;
 * the caller then starts the next one. */
int catalog_loader_collect(struct catalog_loader *ld, struct catalog_snap **out, bool *queued);

#endif
