/* SPDX-License-Identifier: MIT */
/*
 * TFTP codec: requests as real clients send them (byte fixtures), every
 * truncation, option ranges, the Apple OpenFirmware and PXE ROM quirks,
 * builders that fail instead of overrunning, the path cleaner and option
 * negotiation.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "tftp.h"

#define FIX(s) (const uint8_t *)(s), sizeof(s) - 1

/* ---- requests -------------------------------------------------------------- */

static void rrq_without_options_is_rfc1350(void **state)
{
	struct tftp_request rq;

	(void)state;
	assert_int_equal(tftp_parse_request(FIX("\0\1snponly.efi\0octet\0"), &rq), 0);
	assert_int_equal(rq.opcode, TFTP_RRQ);
	assert_int_equal(rq.filename_len, 11);
	assert_memory_equal(rq.filename, "snponly.efi", 11);
	assert_int_equal(rq.mode, TFTP_MODE_OCTET);
	assert_int_equal(rq.opt.present, 0);
	assert_false(rq.quirk_trailing);
}

/* iPXE net/udp/tftp.c tftp_send_rrq: blksize min(MTU, 1432) and tsize 0. */
static void ipxe_rrq_has_blksize_and_tsize(void **state)
{
	struct tftp_request rq;

	(void)state;
	assert_int_equal(tftp_parse_request(FIX("\0\1/boot/snponly.efi\0octet\0"
						"blksize\0" "1432\0tsize\0" "0\0"), &rq), 0);
	assert_int_equal(rq.opt.present, TFTP_OPT_BLKSIZE | TFTP_OPT_TSIZE);
	assert_int_equal(rq.opt.blksize, 1432);
	assert_int_equal(rq.opt.tsize, 0);
	assert_int_equal(rq.opt.ignored, 0);
}

/* tftp-hpa sends "netascii" by default; modes and names are case-blind. */
static void mode_and_option_names_ignore_case(void **state)
{
	struct tftp_request rq;

	(void)state;
	assert_int_equal(tftp_parse_request(FIX("\0\1a\0NetASCII\0BLKSIZE\0" "1024\0"
						"WindowSize\0" "8\0TimeOut\0" "3\0"), &rq), 0);
	assert_int_equal(rq.mode, TFTP_MODE_NETASCII);
	assert_int_equal(rq.opt.present,
			 TFTP_OPT_BLKSIZE | TFTP_OPT_WINDOWSIZE | TFTP_OPT_TIMEOUT);
	assert_int_equal(rq.opt.blksize, 1024);
	assert_int_equal(rq.opt.windowsize, 8);
	assert_int_equal(rq.opt.timeout, 3);
}

static void write_request_parses_as_wrq(void **state)
{
	struct tftp_request rq;

	(void)state;
	assert_int_equal(tftp_parse_request(FIX("\0\2up.bin\0octet\0"), &rq), 0);
	assert_int_equal(rq.opcode, TFTP_WRQ);
}

static void every_truncation_is_rejected(void **state)
{
	static const uint8_t full[] = "\0\1booter\0octet\0";
	struct tftp_request rq;

	(void)state;
	for (size_t n = 0; n < sizeof(full) - 1; n++)
		assert_int_equal(tftp_parse_request(full, n, &rq), -EBADMSG);
	assert_int_equal(tftp_parse_request(full, sizeof(full) - 1, &rq), 0);
}

static void other_opcodes_and_modes_are_told_apart(void **state)
{
	struct tftp_request rq;

	(void)state;
	assert_int_equal(tftp_parse_request(FIX("\0\4\0\1"), &rq), -EOPNOTSUPP);
	assert_int_equal(tftp_parse_request(FIX("\0\7x\0octet\0"), &rq), -EOPNOTSUPP);
	assert_int_equal(tftp_parse_request(FIX("\0\1x\0mail\0"), &rq), -EPROTONOSUPPORT);
	assert_int_equal(tftp_parse_request(FIX("\0\1x\0\0"), &rq), -EPROTONOSUPPORT);
	assert_int_equal(tftp_parse_request(FIX("\0\1x\0octet"), &rq), -EBADMSG);
}

/* OpenBSD tftpd parse_options: Apple OpenFirmware sends trailing garbage. */
static void apple_openfirmware_trailing_garbage_is_ignored(void **state)
{
	struct tftp_request rq;

	(void)state;
	assert_int_equal(tftp_parse_request(FIX("\0\1mach_kernel\0octet\0\0\0\0"), &rq), 0);
	assert_int_equal(rq.opt.present, 0);
	assert_true(rq.quirk_trailing);
	assert_int_equal(tftp_parse_request(FIX("\0\1mach_kernel\0octet\0\xff\xff\xff\xff"),
					    &rq), 0);
	assert_true(rq.quirk_trailing);
	assert_int_equal(tftp_parse_request(FIX("\0\1k\0octet\0blksize\0" "1024\0\xff"), &rq), 0);
	assert_int_equal(rq.opt.blksize, 1024);
	assert_true(rq.quirk_trailing);
	/* An even number of NULs pairs up as empty options: no garbage left. */
	assert_int_equal(tftp_parse_request(FIX("\0\1k\0octet\0\0\0"), &rq), 0);
	assert_int_equal(rq.opt.present, 0);
}

/* netboot.xyz kb tftp-filename-issues: option 67 copied with a 0xFF. */
static void pxe_rom_trailing_ff_in_name_is_cut(void **state)
{
	struct tftp_request rq;

	(void)state;
	assert_int_equal(tftp_parse_request(FIX("\0\1undionly.kpxe\xff\0octet\0"), &rq), 0);
	assert_int_equal(rq.filename_len, 13);
	assert_memory_equal(rq.filename, "undionly.kpxe", 13);
	assert_true(rq.quirk_name_ff);
}

static void option_values_out_of_range_are_ignored(void **state)
{
	static const struct {
		const char *name;
		const uint8_t *pkt;
		size_t len;
		unsigned present;
		uint16_t blksize;
	} cases[] = {
		{ "blksize 7", FIX("\0\1f\0octet\0blksize\0" "7\0"), 0, 0 },
		{ "blksize 8", FIX("\0\1f\0octet\0blksize\0" "8\0"), TFTP_OPT_BLKSIZE, 8 },
		{ "blksize huge", FIX("\0\1f\0octet\0blksize\0" "99999\0"), TFTP_OPT_BLKSIZE, 65464 },
		{ "blksize sign", FIX("\0\1f\0octet\0blksize\0+512\0"), 0, 0 },
		{ "blksize hex", FIX("\0\1f\0octet\0blksize\0" "0x200\0"), 0, 0 },
		{ "blksize empty", FIX("\0\1f\0octet\0blksize\0\0"), 0, 0 },
		{ "blksize space", FIX("\0\1f\0octet\0blksize\0 512\0"), 0, 0 },
		{ "windowsize 0", FIX("\0\1f\0octet\0windowsize\0" "0\0"), 0, 0 },
		{ "windowsize 65536", FIX("\0\1f\0octet\0windowsize\0" "65536\0"), 0, 0 },
		{ "timeout 0", FIX("\0\1f\0octet\0timeout\0" "0\0"), 0, 0 },
		{ "timeout 256", FIX("\0\1f\0octet\0timeout\0" "256\0"), 0, 0 },
		{ "tsize 2^64", FIX("\0\1f\0octet\0tsize\0" "18446744073709551616\0"), 0, 0 },
		{ "unknown", FIX("\0\1f\0octet\0multicast\0\0"), 0, 0 },
		{ "first wins", FIX("\0\1f\0octet\0blksize\0" "600\0blksize\0" "700\0"),
		  TFTP_OPT_BLKSIZE, 600 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct tftp_request rq;

		assert_int_equal(tftp_parse_request(cases[i].pkt, cases[i].len, &rq), 0);
		if (rq.opt.present != cases[i].present || rq.opt.blksize != cases[i].blksize)
			fail_msg("%s: present %#x blksize %u", cases[i].name, rq.opt.present,
				 rq.opt.blksize);
	}
}

/* ---- other messages ---------------------------------------------------------- */

static void messages_parse_and_short_ones_fail(void **state)
{
	struct tftp_msg m;

	(void)state;
	assert_int_equal(tftp_parse_msg(FIX("\0\4\xff\xfe"), &m), 0);
	assert_int_equal(m.opcode, TFTP_ACK);
	assert_int_equal(m.block, 0xfffe);
	assert_int_equal(tftp_parse_msg(FIX("\0\3\0\7abc"), &m), 0);
	assert_int_equal(m.block, 7);
	assert_int_equal(m.data_len, 3);
	assert_int_equal(tftp_parse_msg(FIX("\0\5\0\1File not found"), &m), 0);
	assert_int_equal(m.error_code, 1);
	assert_int_equal(m.error_msg_len, 14); /* no NUL: taken to the end */
	assert_int_equal(tftp_parse_msg(FIX("\0\6blksize\0" "1400\0windowsize\0" "4\0"), &m), 0);
	assert_int_equal(m.opt.blksize, 1400);
	assert_int_equal(m.opt.windowsize, 4);
	for (size_t n = 0; n < 4; n++)
		assert_int_equal(tftp_parse_msg((const uint8_t *)"\0\4\0\1", n, &m), -EBADMSG);
	assert_int_equal(tftp_parse_msg(FIX("\0\5\0"), &m), -EBADMSG);
	assert_int_equal(tftp_parse_msg(FIX("\0\1f\0octet\0"), &m), -EOPNOTSUPP);
}

/* ---- builders ------------------------------------------------------------------ */

static void builders_write_exact_bytes(void **state)
{
	uint8_t buf[128];
	struct wr w = wr_init(buf, sizeof(buf));
	struct tftp_options o = { .present = TFTP_OPT_BLKSIZE | TFTP_OPT_TSIZE |
					     TFTP_OPT_WINDOWSIZE,
				  .blksize = 1432, .tsize = 173792, .windowsize = 16 };

	(void)state;
	assert_int_equal(tftp_build_oack(&w, &o), 0);
	assert_int_equal(w.len, sizeof("\0\6blksize\0" "1432\0tsize\0" "173792\0windowsize\0"
				       "16\0") - 1);
	assert_memory_equal(buf, "\0\6blksize\0" "1432\0tsize\0" "173792\0windowsize\0" "16\0",
			    w.len);
	w = wr_init(buf, sizeof(buf));
	assert_int_equal(tftp_build_error(&w, TFTP_ENOTFOUND, "File not found"), 0);
	assert_memory_equal(buf, "\0\5\0\1File not found\0", w.len);
	w = wr_init(buf, sizeof(buf));
	assert_int_equal(tftp_build_data_header(&w, 0xffff), 0);
	assert_int_equal(tftp_build_ack(&w, 0), 0);
	assert_memory_equal(buf, "\0\3\xff\xff\0\4\0\0", 8);
}

static void builders_fail_at_every_short_capacity(void **state)
{
	uint8_t buf[128];
	struct tftp_options o = { .present = TFTP_OPT_BLKSIZE | TFTP_OPT_TSIZE,
				  .blksize = 512, .tsize = 0 };
	struct wr w = wr_init(buf, sizeof(buf));
	size_t need;

	(void)state;
	assert_int_equal(tftp_build_rrq(&w, "pxelinux.0", TFTP_MODE_OCTET, &o), 0);
	need = w.len;
	for (size_t cap = 0; cap < need; cap++) {
		w = wr_init(buf, cap);
		assert_int_equal(tftp_build_rrq(&w, "pxelinux.0", TFTP_MODE_OCTET, &o), -ENOSPC);
		assert_true(w.len <= cap);
	}
	for (size_t cap = 0; cap < 8; cap++) {
		w = wr_init(buf, cap);
		assert_int_equal(tftp_build_error(&w, 2, "abc"), -ENOSPC);
	}
}

static void rrq_round_trips(void **state)
{
	uint8_t buf[128];
	struct wr w = wr_init(buf, sizeof(buf));
	struct tftp_options o = { .present = TFTP_OPT_BLKSIZE | TFTP_OPT_WINDOWSIZE,
				  .blksize = 1468, .windowsize = 64 };
	struct tftp_request rq;

	(void)state;
	assert_int_equal(tftp_build_rrq(&w, "A.nbi/i386/booter", TFTP_MODE_OCTET, &o), 0);
	assert_int_equal(tftp_parse_request(buf, w.len, &rq), 0);
	assert_int_equal(rq.filename_len, 17);
	assert_int_equal(rq.opt.present, o.present);
	assert_int_equal(rq.opt.blksize, 1468);
	assert_int_equal(rq.opt.windowsize, 64);
}

/* ---- paths ------------------------------------------------------------------------ */

static void paths_are_cleaned_or_refused(void **state)
{
	static const struct {
		const char *in;
		const char *out;  /* NULL: refused with err */
		int err;
	} cases[] = {
		{ "snponly.efi", "snponly.efi", 0 },
		{ "/snponly.efi", "snponly.efi", 0 },
		{ "//a//b/./c/", "a/b/c", 0 },
		{ "\\boot\\pxelinux.0", "boot/pxelinux.0", 0 },
		{ "/srv/netboot/A.nbi/i386/booter", "A.nbi/i386/booter", 0 },
		{ "/srv/netbootX/y", "srv/netbootX/y", 0 },
		{ "/etc/passwd", "etc/passwd", 0 },
		{ "%2e%2e/etc/passwd", "%2e%2e/etc/passwd", 0 },
		{ "...", "...", 0 },
		{ "..", NULL, -EACCES },
		{ "../etc/passwd", NULL, -EACCES },
		{ "/../etc/passwd", NULL, -EACCES },
		{ "a/../../etc", NULL, -EACCES },
		{ "a\\..\\..\\etc", NULL, -EACCES },
		{ "/srv/netboot/../etc", NULL, -EACCES },
		{ "", NULL, -EACCES },
		{ "/", NULL, -EACCES },
		{ "./.", NULL, -EACCES },
		{ "a\nb", NULL, -EACCES },
		{ "a\x7f", NULL, -EACCES },
	};
	char out[TFTP_PATH_MAX + 1];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ssize_t r = tftp_path_clean(cases[i].in, strlen(cases[i].in), "/srv/netboot/", out,
					    sizeof(out));

		if (cases[i].out && (r < 0 || strcmp(out, cases[i].out) != 0))
			fail_msg("'%s': got %zd '%s'", cases[i].in, r, r >= 0 ? out : "");
		if (!cases[i].out && r != cases[i].err)
			fail_msg("'%s': got %zd, want %d", cases[i].in, r, cases[i].err);
	}
}

static void long_paths_are_refused(void **state)
{
	char in[2048], out[TFTP_PATH_MAX + 1];

	(void)state;
	memset(in, 'a', sizeof(in));
	assert_int_equal(tftp_path_clean(in, TFTP_PATH_MAX, NULL, out, sizeof(out)),
			 TFTP_PATH_MAX);
	assert_int_equal(tftp_path_clean(in, TFTP_PATH_MAX + 1, NULL, out, sizeof(out)),
			 -ENAMETOOLONG);
	assert_int_equal(tftp_path_clean(in, sizeof(in), NULL, out, sizeof(out)), -ENAMETOOLONG);
	assert_int_equal(tftp_path_clean("abc", 3, NULL, out, 3), -ENAMETOOLONG);
	assert_int_equal(tftp_path_clean("abc", 3, NULL, out, 4), 3);
}

/* ---- negotiation ------------------------------------------------------------------ */

static void negotiate(const uint8_t *pkt, size_t len, uint16_t max_blksize,
		      struct tftp_xfer_params *p)
{
	struct tftp_request rq;
	struct tftp_limits lim = { .max_blksize = max_blksize, .max_windowsize = TFTP_WINDOW_CAP };

	assert_int_equal(tftp_parse_request(pkt, len, &rq), 0);
	tftp_negotiate(&rq, &lim, 173792, p);
}

static void negotiation_caps_and_echoes(void **state)
{
	struct tftp_xfer_params p;

	(void)state;
	negotiate(FIX("\0\1f\0octet\0"), 1468, &p);
	assert_false(p.oack);
	assert_int_equal(p.blksize, 512);
	assert_int_equal(p.windowsize, 1);

	negotiate(FIX("\0\1f\0octet\0blksize\0" "1432\0tsize\0" "0\0"), 1468, &p);
	assert_true(p.oack);
	assert_int_equal(p.blksize, 1432);
	assert_int_equal(p.reply.tsize, 173792);

	/* MTU 1432 link: 1400 granted (RFC 2348 allows a smaller answer). */
	negotiate(FIX("\0\1f\0octet\0blksize\0" "65464\0"), 1400, &p);
	assert_int_equal(p.blksize, 1400);
	assert_int_equal(p.reply.blksize, 1400);

	negotiate(FIX("\0\1f\0octet\0windowsize\0" "1000\0timeout\0" "2\0"), 1468, &p);
	assert_int_equal(p.windowsize, TFTP_WINDOW_CAP);
	assert_int_equal(p.timeout_us, 2000000);
	assert_int_equal(p.reply.present, TFTP_OPT_WINDOWSIZE | TFTP_OPT_TIMEOUT);

	/* netascii: no tsize (unknown on the wire), windowsize 1. */
	negotiate(FIX("\0\1f\0netascii\0tsize\0" "0\0windowsize\0" "8\0"), 1468, &p);
	assert_int_equal(p.reply.present, TFTP_OPT_WINDOWSIZE);
	assert_int_equal(p.windowsize, 1);

	/* Only options we do not know: RFC 1350 behaviour, no OACK. */
	negotiate(FIX("\0\1f\0octet\0multicast\0\0"), 1468, &p);
	assert_false(p.oack);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(rrq_without_options_is_rfc1350),
		cmocka_unit_test(ipxe_rrq_has_blksize_and_tsize),
		cmocka_unit_test(mode_and_option_names_ignore_case),
		cmocka_unit_test(write_request_parses_as_wrq),
		cmocka_unit_test(every_truncation_is_rejected),
		cmocka_unit_test(other_opcodes_and_modes_are_told_apart),
		cmocka_unit_test(apple_openfirmware_trailing_garbage_is_ignored),
		cmocka_unit_test(pxe_rom_trailing_ff_in_name_is_cut),
		cmocka_unit_test(option_values_out_of_range_are_ignored),
		cmocka_unit_test(messages_parse_and_short_ones_fail),
		cmocka_unit_test(builders_write_exact_bytes),
		cmocka_unit_test(builders_fail_at_every_short_capacity),
		cmocka_unit_test(rrq_round_trips),
		cmocka_unit_test(paths_are_cleaned_or_refused),
		cmocka_unit_test(long_paths_are_refused),
		cmocka_unit_test(negotiation_caps_and_echoes),
	};

	return cmocka_run_group_tests_name("tftp codec", tests, NULL, NULL);
}
