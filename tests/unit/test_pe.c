/* SPDX-License-Identifier: MIT */
/*
 * What a boot file is (nbi/pe.c): every kind of file people hand over
 * instead of an EFI application gets its own verdict and words, every
 * truncation of a good image is caught, and Apple's fat EFI binary is
 * built and read back byte by byte.
 */
#include "nbi_testlib.h"

static uint8_t *make(const struct pe_spec *s, size_t *len)
{
	uint8_t *buf = malloc(pe_size(s));

	assert_non_null(buf);
	*len = pe_make(buf, s);
	return buf;
}

static void expect(const uint8_t *data, size_t len, enum pe_verdict v, const char *what_part)
{
	struct pe_info pi;
	int r = pe_inspect(data, len, &pi);

	if (pi.verdict != v || !strstr(pi.what, what_part))
		fail_msg("verdict %d '%s', wanted %d with '%s'", pi.verdict, pi.what, v, what_part);
	assert_int_equal(r, v == PE_OK ? 0 : -EINVAL);
}

static void efi_applications_pass(void **state)
{
	struct pe_spec x64 = PE_X64, ia32 = PE_IA32;
	struct pe_info pi;
	size_t n;
	uint8_t *p = make(&x64, &n);

	(void)state;
	assert_int_equal(pe_inspect(p, n, &pi), 0);
	assert_int_equal(pi.machine, PE_MACHINE_X86_64);
	assert_int_equal(pi.magic, PE_MAGIC_PE32_PLUS);
	assert_int_equal(pi.subsystem, 10);
	assert_string_equal(pi.what, "a PE32+ EFI application for x86-64");
	free(p);
	p = make(&ia32, &n);
	expect(p, n, PE_OK, "a PE32 EFI application for IA-32");
	free(p);
}

static void text_files_are_named(void **state)
{
	static const char script[] = "#!ipxe\ndhcp\nchain http://boot/menu.ipxe\n";
	static const char html[] = "<html><head><title>404 Not Found</title></head><body>";

	(void)state;
	expect((const uint8_t *)script, strlen(script), PE_TEXT, "a text file (first line \"#!ipxe\")");
	expect((const uint8_t *)html, strlen(html), PE_TEXT,
	       "(first line \"<html><head><title>404 Not Found</title></he...\")");
}

/* iPXE's undionly.kpxe starts with a far jump to 07c0:0005 and carries
 * the PXE API signatures it searches memory for. */
static void bios_pxe_is_named(void **state)
{
	uint8_t kpxe[4096] = { 0xea, 0x05, 0x00, 0xc0, 0x07 };

	(void)state;
	memcpy(kpxe + 1000, "PXENV+", 6);
	expect(kpxe, sizeof(kpxe), PE_BIOS_PXE, "BIOS PXE boot program (.pxe/.kpxe)");
	memset(kpxe + 1000, 0, 6);
	memcpy(kpxe + 2000, "!PXE", 4);
	expect(kpxe, sizeof(kpxe), PE_BIOS_PXE, ".kpxe");
}

static void arm64_is_named(void **state)
{
	struct pe_spec s = PE_X64;
	size_t n;
	uint8_t *p;

	(void)state;
	s.machine = PE_MACHINE_ARM64;
	p = make(&s, &n);
	expect(p, n, PE_WRONG_MACHINE, "an EFI application for ARM64 (machine 0xaa64)");
	free(p);
}

static void efi_drivers_are_named(void **state)
{
	struct pe_spec s = PE_X64;
	size_t n;
	uint8_t *p;

	(void)state;
	s.subsystem = PE_SUBSYSTEM_EFI_BOOT_DRIVER;
	p = make(&s, &n);
	expect(p, n, PE_WRONG_SUBSYSTEM, "an EFI boot service driver (subsystem 11) for x86-64");
	free(p);
	s.subsystem = PE_SUBSYSTEM_EFI_RUNTIME_DRIVER;
	p = make(&s, &n);
	expect(p, n, PE_WRONG_SUBSYSTEM, "an EFI runtime driver (subsystem 12)");
	free(p);
	s.subsystem = 3;
	p = make(&s, &n);
	expect(p, n, PE_WRONG_SUBSYSTEM, "a Windows console program (subsystem 3)");
	free(p);
}

/* Every cut of a good image, from 2 bytes ("MZ") on, is a truncated PE. */
static void every_truncation_is_caught(void **state)
{
	struct pe_spec s = PE_X64;
	struct pe_info pi;
	size_t n;
	uint8_t *p = make(&s, &n);

	(void)state;
	for (size_t len = 2; len < n; len++) {
		uint8_t *cut = malloc(len);   /* its own buffer, so ASan sees any overrun */

		assert_non_null(cut);
		memcpy(cut, p, len);
		assert_int_equal(pe_inspect(cut, len, &pi), -EINVAL);
		if (pi.verdict != PE_TRUNCATED)
			fail_msg("cut at %zu: %s", len, pi.what);
		free(cut);
	}
	expect(p, 0x300, PE_TRUNCATED, "section .text ends at byte 1536 but the file has 768 bytes");
	expect(p, 0x100, PE_TRUNCATED, "the 240-byte optional header does not fit");
	expect(p, 0x30, PE_TRUNCATED, "shorter than the 64-byte MZ header");
	free(p);
}

static void contradictions_are_malformed(void **state)
{
	struct pe_spec s = PE_X64;
	size_t n;
	uint8_t *p;

	(void)state;
	s.magic = PE_MAGIC_PE32;     /* x86-64 code behind a PE32 header */
	p = make(&s, &n);
	expect(p, n, PE_MALFORMED, "a PE32 header around x86-64 code");
	le16_put(p + 0x58, 0x0107);
	expect(p, n, PE_MALFORMED, "optional header magic 0x0107");
	le16_put(p + 0x44 + 16, 20); /* optional header too short to hold a subsystem */
	expect(p, n, PE_MALFORMED, "optional header is 20 bytes");
	memcpy(p + 0x40, "NE\0\0", 4);
	expect(p, n, PE_DOS, "an MZ (DOS) program without a PE header");
	free(p);
}

static void other_formats_are_named(void **state)
{
	static uint8_t iso[0x9000], lkrn[0x400], rom[512] = { 0x55, 0xaa, 0x40 };
	static const uint8_t elf[] = { 0x7f, 'E', 'L', 'F', 2, 1, 1, 0 };
	static const uint8_t junk[] = { 0x01, 0x02, 0x00, 0xff };
	static const uint8_t zeros[64];

	(void)state;
	memcpy(iso + 0x8001, "CD001", 5);
	memcpy(lkrn + 0x202, "HdrS", 4);
	expect(iso, sizeof(iso), PE_ISO, "ISO 9660");
	expect(lkrn, sizeof(lkrn), PE_LINUX_KERNEL, ".lkrn");
	expect(rom, sizeof(rom), PE_PCI_ROM, "PCI option ROM");
	expect(elf, sizeof(elf), PE_ELF, "an ELF file");
	expect(junk, sizeof(junk), PE_UNKNOWN, "starts with 01 02 00 ff");
	expect(junk, 0, PE_EMPTY, "an empty file");
	expect(zeros, sizeof(zeros), PE_UNKNOWN, "starts with 00 00 00 00");
}

/* ---- Apple fat EFI binary ------------------------------------------------ */

struct two {
	uint8_t *ia32, *x64;
	size_t n_ia32, n_x64;
};

static struct two two_images(void)
{
	struct pe_spec a = PE_IA32, b = PE_X64;
	struct two t;

	t.ia32 = make(&a, &t.n_ia32);
	t.x64 = make(&b, &t.n_x64);
	return t;
}

static uint8_t *build_fat(const struct two *t, size_t *len)
{
	struct fat_part parts[] = { { FAT_CPU_X86, t->ia32, t->n_ia32 },
				    { FAT_CPU_X86_64, t->x64, t->n_x64 } };
	uint8_t *buf;
	struct wr w;

	*len = fat_size(parts, 2);
	assert_int_equal(*len, 8 + 2 * 20 + t->n_ia32 + t->n_x64);
	buf = malloc(*len);
	assert_non_null(buf);
	w = wr_init(buf, *len);
	assert_int_equal(fat_build(&w, parts, 2), 0);
	assert_int_equal(w.len, *len);
	return buf;
}

static uint32_t le32(const uint8_t *b)
{
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

/* Header, members, offsets, and members identical to their inputs, laid out
 * as Apple's boot.efi is (IA-32 first, back to back, alignment 0). */
static void fat_binary_byte_by_byte(void **state)
{
	static const uint8_t magic[] = { 0xb9, 0xfa, 0xf1, 0x0e };
	struct two t = two_images();
	size_t len;
	uint8_t *fat = build_fat(&t, &len);
	uint32_t second = 48 + (uint32_t)t.n_ia32;

	(void)state;
	assert_memory_equal(fat, magic, 4);
	assert_int_equal(le32(fat + 4), 2);
	assert_int_equal(le32(fat + 8), 7);
	assert_int_equal(le32(fat + 12), 3);
	assert_int_equal(le32(fat + 16), 48);
	assert_int_equal(le32(fat + 20), t.n_ia32);
	assert_int_equal(le32(fat + 24), 0);
	assert_int_equal(le32(fat + 28), 0x01000007);
	assert_int_equal(le32(fat + 32), 3);
	assert_int_equal(le32(fat + 36), second);
	assert_int_equal(le32(fat + 40), t.n_x64);
	assert_int_equal(le32(fat + 44), 0);
	assert_memory_equal(fat + 48, t.ia32, t.n_ia32);
	assert_memory_equal(fat + second, t.x64, t.n_x64);
	assert_int_equal(second + t.n_x64, len);
	free(fat);
	free(t.ia32);
	free(t.x64);
}

static void fat_binary_reads_back(void **state)
{
	struct two t = two_images();
	struct booter_info bi;
	struct fat_view v;
	char why[120];
	size_t len;
	uint8_t *fat = build_fat(&t, &len);

	(void)state;
	assert_int_equal(fat_parse(fat, len, &v, why, sizeof(why)), 0);
	assert_int_equal(v.n, 2);
	assert_int_equal(v.m[1].cputype, FAT_CPU_X86_64);
	assert_int_equal(booter_inspect(fat, len, &bi), 0);
	assert_true(bi.fat);
	assert_int_equal(bi.n_members, 2);
	assert_int_equal(bi.member[0].pe.machine, PE_MACHINE_I386);
	assert_int_equal(bi.member[1].pe.machine, PE_MACHINE_X86_64);
	assert_string_equal(bi.what, "an Apple fat EFI binary (i386 + x86_64)");
	assert_int_equal(booter_inspect(t.x64, t.n_x64, &bi), 0);
	assert_false(bi.fat);
	free(fat);
	free(t.ia32);
	free(t.x64);
}

static void expect_fat_error(uint8_t *fat, size_t len, const char *part)
{
	struct booter_info bi;

	assert_int_equal(booter_inspect(fat, len, &bi), -EINVAL);
	if (!strstr(bi.what, part))
		fail_msg("'%s' does not say '%s'", bi.what, part);
}

static void damaged_fat_binaries(void **state)
{
	struct two t = two_images();
	struct fat_view v;
	char why[120];
	size_t len;
	uint8_t *fat = build_fat(&t, &len);

	(void)state;
	assert_int_equal(fat_parse(t.x64, t.n_x64, &v, why, sizeof(why)), -ENOENT);
	expect_fat_error(fat, 6, "cut off after the magic");
	expect_fat_error(fat, 30, "needs 48 bytes but the file has 30");
	expect_fat_error(fat, len - 1, "member 1 ends at byte");
	le32_put(fat + 4, 0);
	expect_fat_error(fat, len, "claims 0 members");
	le32_put(fat + 4, 9);
	expect_fat_error(fat, len, "claims 9 members");
	le32_put(fat + 4, 2);
	le32_put(fat + 36, 100);                     /* x86_64 starts inside the IA-32 image */
	expect_fat_error(fat, len, "members 0 and 1 overlap");
	le32_put(fat + 36, 40);
	expect_fat_error(fat, len, "inside the 48-byte header");
	le32_put(fat + 36, 48 + (uint32_t)t.n_ia32);
	le32_put(fat + 28, FAT_CPU_X86);
	expect_fat_error(fat, len, "both for cputype 0x7");
	le32_put(fat + 28, FAT_CPU_X86_64);
	le32_put(fat + 8, FAT_CPU_X86_64);
	le32_put(fat + 28, FAT_CPU_X86);             /* members under each other's cputype */
	expect_fat_error(fat, len, "whose x86_64 member is an EFI application for IA-32");
	free(fat);
	free(t.ia32);
	free(t.x64);
}

static void fat_member_must_be_efi(void **state)
{
	struct two t = two_images();
	size_t len;
	uint8_t *fat;

	(void)state;
	memcpy(t.x64, "#!ipxe\nshell\n", 13);
	memset(t.x64 + 13, '\n', t.n_x64 - 13);
	fat = build_fat(&t, &len);
	expect_fat_error(fat, len, "whose x86_64 member is a text file");
	free(fat);
	free(t.ia32);
	free(t.x64);
}

static void fat_build_bounds(void **state)
{
	uint8_t small[40], data[16] = { 0 };
	struct fat_part part = { FAT_CPU_X86_64, data, sizeof(data) };
	struct wr w = wr_init(small, sizeof(small));

	(void)state;
	assert_int_equal(fat_size(&part, 0), 0);
	assert_int_equal(fat_size(&part, FAT_MAX_MEMBERS + 1), 0);
	assert_int_equal(fat_build(&w, &part, 1), -ENOSPC);
	assert_int_equal(w.len, 0);
	part.len = (size_t)UINT32_MAX;
	assert_int_equal(fat_size(&part, 1), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(efi_applications_pass),
		cmocka_unit_test(text_files_are_named),
		cmocka_unit_test(bios_pxe_is_named),
		cmocka_unit_test(arm64_is_named),
		cmocka_unit_test(efi_drivers_are_named),
		cmocka_unit_test(every_truncation_is_caught),
		cmocka_unit_test(contradictions_are_malformed),
		cmocka_unit_test(other_formats_are_named),
		cmocka_unit_test(fat_binary_byte_by_byte),
		cmocka_unit_test(fat_binary_reads_back),
		cmocka_unit_test(damaged_fat_binaries),
		cmocka_unit_test(fat_member_must_be_efi),
		cmocka_unit_test(fat_build_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
