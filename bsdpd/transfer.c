/* SPDX-License-Identifier: MIT */
/* The view of a transfer in flight; see transfer.h. */
#include "transfer.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "policy.h"
#include "policy_json.h"

void transfer_rate_start(struct transfer_rate *r, int64_t now_us)
{
	*r = (struct transfer_rate){ .started_us = now_us, .at_us = now_us };
}

static uint64_t per_second(uint64_t bytes, int64_t us)
{
	return us > 0 ? (uint64_t)((double)bytes * 1e6 / (double)us) : 0;
}

uint64_t transfer_rate_sample(struct transfer_rate *r, uint64_t bytes, int64_t now_us)
{
	/* bytes never shrink for a transfer; a clock step must not wrap. */
	uint64_t moved = bytes >= r->bytes ? bytes - r->bytes : 0;

	if (now_us - r->at_us >= TRANSFER_RATE_WINDOW_US) {
		r->rate = per_second(moved, now_us - r->at_us);
		r->at_us = now_us;
		r->bytes = bytes;
		r->measured = true;
	} else if (!r->measured) {
		r->rate = per_second(bytes, now_us - r->started_us);
	}
	return r->rate;
}

const char *transfer_kind_name(enum transfer_kind k)
{
	return k == TRANSFER_TFTP ? "tftp" : "http-file";
}

static void put_time_us(struct json *j, int64_t us)
{
	char t[32];

	policy_json_time_us(us, t);
	json_string(j, t);
}

void transfer_json_write(struct json *j, const struct transfer *t)
{
	char id[32], mac[18], ip[INET_ADDRSTRLEN];

	snprintf(id, sizeof(id), "%s-%llu", t->kind == TRANSFER_TFTP ? "tftp" : "http",
		 (unsigned long long)t->serial);
	policy_mac_format(t->mac, mac);
	json_begin(j, '{');
	json_key(j, "id");
	json_string(j, id);
	json_key(j, "mac");
	json_string(j, t->has_mac ? mac : NULL);
	json_key(j, "ip");
	json_string(j, inet_ntop(AF_INET, &t->ip, ip, sizeof(ip)));
	json_key(j, "kind");
	json_string(j, transfer_kind_name(t->kind));
	json_key(j, "detail");
	json_string(j, t->detail ? t->detail : "");
	json_key(j, "stage");
	json_string(j, t->stage ? t->stage : "");
	json_key(j, "bytes");
	json_uint(j, t->bytes);
	json_key(j, "size");
	json_uint(j, t->size);
	json_key(j, "rate");
	json_uint(j, t->rate);
	json_key(j, "started");
	put_time_us(j, t->started_us);
	json_key(j, "elapsed_ms");
	json_uint(j, t->elapsed_ms > 0 ? (unsigned long long)t->elapsed_ms : 0);
	json_end(j, '}');
}

int transfer_sse(const struct transfer *t, char **out, size_t *len)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);
	struct json j;
	bool failed;

	if (!f)
		return -ENOMEM;
	json_init(&j, f, JSON_COMPACT);
	/* The writer escapes every control byte: the data stays one line. */
	fputs("event: transfer\ndata: ", f);
	transfer_json_write(&j, t);
	fputs("\n\n", f);
	failed = ferror(f) != 0;
	if (fclose(f) != 0 || failed) {
		free(buf);
		return -ENOMEM;
	}
	*out = buf;
	*len = n;
	return 0;
}

void transfer_list_add(void *list, const struct transfer *t)
{
	struct transfer_list *l = list;
	struct transfer *grown;
	size_t cap;

	if (l->n == l->cap) {
		cap = l->cap ? 2 * l->cap : 64;
		if (!(grown = reallocarray(l->v, cap, sizeof(*grown)))) {
			l->failed = true;
			return;
		}
		l->v = grown;
		l->cap = cap;
	}
	l->v[l->n++] = *t;
}

static int newest_first(const void *pa, const void *pb)
{
	const struct transfer *a = pa, *b = pb;

	if (a->started_us != b->started_us)
		return a->started_us > b->started_us ? -1 : 1;
	if (a->kind != b->kind)
		return a->kind < b->kind ? -1 : 1;
	return a->serial > b->serial ? -1 : a->serial < b->serial;
}

void transfer_list_sort(struct transfer_list *l)
{
	if (l->n > 1)
		qsort(l->v, l->n, sizeof(l->v[0]), newest_first);
}

void transfer_list_free(struct transfer_list *l)
{
	free(l->v);
	*l = (struct transfer_list){ 0 };
}
