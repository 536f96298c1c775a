/* SPDX-License-Identifier: MIT */
/*
 * bsdpd/transfer.c: the rate meter (the average until a window has
 * passed, then the last window), the JSON object and the SSE event of a
 * transfer (one line, no id, every string escaped), and the order the
 * caps apply to (the most recently started first).
 */
#include "testlib.h"

#include "json.h"
#include "transfer.h"

static void rate_is_the_average_then_the_last_window(void **state)
{
	struct transfer_rate r;
	const int64_t t0 = 1000000000;

	(void)state;
	transfer_rate_start(&r, t0);
	assert_int_equal(transfer_rate_sample(&r, 0, t0), 0);
	/* 0.5 s, 500 000 bytes: the average so far */
	assert_int_equal(transfer_rate_sample(&r, 500000, t0 + 500000), 1000000);
	/* 1 s: the first window, from the start */
	assert_int_equal(transfer_rate_sample(&r, 1000000, t0 + 1000000), 1000000);
	/* within the next window: the last one's rate, whatever moved */
	assert_int_equal(transfer_rate_sample(&r, 1100000, t0 + 1500000), 1000000);
	/* 2 s: the window from 1 s to 2 s */
	assert_int_equal(transfer_rate_sample(&r, 1250000, t0 + 2000000), 250000);
	/* a stall is a rate of 0 */
	assert_int_equal(transfer_rate_sample(&r, 1250000, t0 + 3000000), 0);
	/* bytes that go backwards (never for one transfer) do not wrap */
	assert_int_equal(transfer_rate_sample(&r, 10, t0 + 4000000), 0);
}

static const struct transfer sample = {
	.kind = TRANSFER_HTTP_FILE, .serial = 42, .has_mac = true,
	.mac = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 }, .ip = { 0x020012c6 },
	.detail = "linux/vm\"linuz\n", .stage = "kernel", .bytes = 1, .size = 2, .rate = 3,
	.started_us = 1764626400000001LL, .elapsed_ms = 4,
};

static void json_and_sse_shapes(void **state)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	struct json j;
	struct transfer t = sample;
	static const char obj[] =
		"{\"id\":\"http-42\",\"mac\":\"52:54:00:12:34:56\",\"ip\":\"198.18.0.2\","
		"\"kind\":\"http-file\",\"detail\":\"linux/vm\\\"linuz\\n\",\"stage\":\"kernel\","
		"\"bytes\":1,\"size\":2,\"rate\":3,\"started\":\"2025-12-01T22:00:00.000001Z\","
		"\"elapsed_ms\":4}";

	(void)state;
	assert_non_null(f);
	json_init(&j, f, JSON_COMPACT);
	transfer_json_write(&j, &t);
	assert_int_equal(fclose(f), 0);
	assert_string_equal(out, obj);
	free(out);

	assert_int_equal(transfer_sse(&t, &out, &len), 0);
	assert_int_equal(strlen(out), len);
	assert_true(strncmp(out, "event: transfer\ndata: {", 23) == 0);
	assert_string_equal(out + 22 + strlen(obj), "\n\n");
	assert_null(strstr(out, "id: "));
	free(out);

	t = (struct transfer){ .kind = TRANSFER_TFTP, .serial = 7, .stage = "booter" };
	assert_int_equal(transfer_sse(&t, &out, &len), 0);
	assert_non_null(strstr(out, "\"id\":\"tftp-7\",\"mac\":null,\"ip\":\"0.0.0.0\","
				    "\"kind\":\"tftp\",\"detail\":\"\",\"stage\":\"booter\""));
	free(out);
}

static void lists_sort_the_newest_first(void **state)
{
	struct transfer_list l = { 0 };
	struct transfer t = { 0 };

	(void)state;
	transfer_list_sort(&l); /* empty */
	for (int i = 0; i < 200; i++) {
		t.kind = i % 2 ? TRANSFER_TFTP : TRANSFER_HTTP_FILE;
		t.serial = (uint64_t)i;
		t.started_us = (i * 37) % 100; /* ties, in no order */
		transfer_list_add(&l, &t);
	}
	assert_false(l.failed);
	assert_int_equal(l.n, 200);
	transfer_list_sort(&l);
	for (size_t i = 1; i < l.n; i++) {
		const struct transfer *a = &l.v[i - 1], *b = &l.v[i];

		assert_true(a->started_us >= b->started_us);
		if (a->started_us == b->started_us && a->kind == b->kind)
			assert_true(a->serial > b->serial);
	}
	assert_int_equal(l.v[0].started_us, 99);
	transfer_list_free(&l);
	assert_null(l.v);
	assert_int_equal(l.n, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(rate_is_the_average_then_the_last_window),
		cmocka_unit_test(json_and_sse_shapes),
		cmocka_unit_test(lists_sort_the_newest_first),
	};

	return cmocka_run_group_tests_name("transfer", tests, NULL, NULL);
}
