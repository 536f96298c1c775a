/* SPDX-License-Identifier: MIT */
/*
 * What a boot file is: a PE/COFF EFI application Mac firmware can run, an
 * Apple fat EFI binary of them, or one of the files people mistake for
 * one.  See include/pe.h for the formats and their sources.
 *
 * PE fields are read at offsets the file itself supplies (e_lfanew, the
 * optional header size, section pointers), so every read goes through
 * le16_at()/le32_at(), which compare in subtraction form and fail rather
 * than overrun.  Offsets and sizes from the file are never added to each
 * other before they have been checked against the length.
 */
#include "pe.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Offsets from the PE/COFF specification. */
#define DOS_HEADER_LEN 0x40
#define DOS_LFANEW 0x3c
#define PE_SIGNATURE_LEN 4
#define COFF_HEADER_LEN 20
#define COFF_MACHINE 0
#define COFF_N_SECTIONS 2
#define COFF_OPT_SIZE 16
#define OPT_SIZE_OF_HEADERS 60      /* same place in PE32 and PE32+ */
#define OPT_SUBSYSTEM 68            /* likewise */
#define OPT_MIN_LEN (OPT_SUBSYSTEM + 2)
#define SECTION_LEN 40
#define SECTION_RAW_SIZE 16
#define SECTION_RAW_PTR 20
#define TEXT_SNIFF_LEN 4096

/* ---- bounded little-endian reads -------------------------------------- */

static bool le16_at(const uint8_t *p, size_t len, size_t off, uint16_t *v)
{
	if (off > len || 2 > len - off)
		return false;
	*v = (uint16_t)(p[off] | (unsigned)p[off + 1] << 8);
	return true;
}

static bool le32_at(const uint8_t *p, size_t len, size_t off, uint32_t *v)
{
	if (off > len || 4 > len - off)
		return false;
	*v = (uint32_t)p[off] | (uint32_t)p[off + 1] << 8 | (uint32_t)p[off + 2] << 16 |
	     (uint32_t)p[off + 3] << 24;
	return true;
}

static bool bytes_at(const uint8_t *p, size_t len, size_t off, const void *want, size_t n)
{
	return off <= len && n <= len - off && memcmp(p + off, want, n) == 0;
}

/* Records what the file is; true only for PE_OK, so that a check can
 * end with "return found(...)". */
			  __attribute__((format(printf, 3, 4)))
			  static bool found(struct pe_info *pi, enum pe_verdict v, const char *fmt, ...)
			  {
			  va_list ap;

	pi->verdict = v;
	va_start(ap, fmt);
	vsnprintf(pi->what, sizeof(pi->what), fmt, ap);
	va_end(ap);
	return v == PE_OK;
}

/* ---- names --------------------------------------------------------------- */

const char *pe_machine_name(uint16_t machine)
{
	switch (machine) {
	case PE_MACHINE_I386: return "IA-32";
	case PE_MACHINE_X86_64: return "x86-64";
	case PE_MACHINE_ARM64: return "ARM64";
	case 0x01c0: return "ARM";
	case 0x01c2: return "ARM Thumb";
	case 0x01c4: return "ARMv7";
	case 0x0200: return "Itanium";
	case 0x0ebc: return "EFI byte code";
	case 0x5032: return "RISC-V 32";
	case 0x5064: return "RISC-V 64";
	case 0x6264: return "LoongArch64";
	default: return "an unknown machine";
	}
}

/* With its article, since it starts the phrase in messages. */
static const char *subsystem_phrase(uint16_t subsystem)
{
	switch (subsystem) {
	case 1: return "a native Windows driver";
	case 2: return "a Windows GUI program";
	case 3: return "a Windows console program";
	case PE_SUBSYSTEM_EFI_APPLICATION: return "an EFI application";
	case PE_SUBSYSTEM_EFI_BOOT_DRIVER: return "an EFI boot service driver";
	case PE_SUBSYSTEM_EFI_RUNTIME_DRIVER: return "an EFI runtime driver";
	case 13: return "an EFI ROM image";
	default: return "a PE image of an unknown subsystem";
	}
}

/* ---- PE images ------------------------------------------------------------ */

/* Where the parts of a PE image start, once their bounds are checked. */
struct pe_layout {
	size_t coff;
	size_t opt;
	uint16_t opt_len;
	size_t sections;
};

static bool read_coff(const uint8_t *p, size_t len, struct pe_info *pi, struct pe_layout *l)
{
	uint32_t lfanew;

	if (!le32_at(p, len, DOS_LFANEW, &lfanew))
		return found(pi, PE_TRUNCATED, "a truncated PE: %zu bytes, shorter than the "
			     "64-byte MZ header", len);
	if (lfanew > len || PE_SIGNATURE_LEN > len - lfanew)
		return found(pi, PE_TRUNCATED, "a truncated PE: the PE header at offset %u "
			     "lies past the end of the %zu-byte file", lfanew, len);
	if (!bytes_at(p, len, lfanew, "PE\0\0", PE_SIGNATURE_LEN))
		return found(pi, PE_DOS, "an MZ (DOS) program without a PE header");
	if (PE_SIGNATURE_LEN + COFF_HEADER_LEN > len - lfanew)
		return found(pi, PE_TRUNCATED, "a truncated PE: the COFF header at offset %u "
			     "does not fit in the %zu-byte file", lfanew + PE_SIGNATURE_LEN, len);
	l->coff = lfanew + PE_SIGNATURE_LEN;
	le16_at(p, len, l->coff + COFF_MACHINE, &pi->machine);
	le16_at(p, len, l->coff + COFF_N_SECTIONS, &pi->n_sections);
	le16_at(p, len, l->coff + COFF_OPT_SIZE, &l->opt_len);
	l->opt = l->coff + COFF_HEADER_LEN;
	return true;
}

static bool read_optional(const uint8_t *p, size_t len, struct pe_info *pi, struct pe_layout *l)
{
	if (l->opt_len < OPT_MIN_LEN)
		return found(pi, PE_MALFORMED, "a PE file whose optional header is %u bytes, "
			     "too short to name a subsystem", l->opt_len);
	if (l->opt_len > len - l->opt)
		return found(pi, PE_TRUNCATED, "a truncated PE: the %u-byte optional header "
			     "does not fit in the %zu-byte file", l->opt_len, len);
	le16_at(p, len, l->opt, &pi->magic);
	le16_at(p, len, l->opt + OPT_SUBSYSTEM, &pi->subsystem);
	if (pi->magic != PE_MAGIC_PE32 && pi->magic != PE_MAGIC_PE32_PLUS)
		return found(pi, PE_MALFORMED, "a PE file with optional header magic 0x%04x, "
			     "neither PE32 (0x10b) nor PE32+ (0x20b)", pi->magic);
	l->sections = l->opt + l->opt_len;
	return true;
}

/* Mac firmware loads only its own processor's code: x86-64 on every Mac
 * since 2008, IA-32 on the 2006-2007 models with 32-bit EFI. */
static bool check_kind(struct pe_info *pi)
{
	const char *what = subsystem_phrase(pi->subsystem);

	if (pi->machine != PE_MACHINE_X86_64 && pi->machine != PE_MACHINE_I386)
		return found(pi, PE_WRONG_MACHINE, "%s for %s (machine 0x%04x), not for x86-64 "
			     "(0x8664) or IA-32 (0x14c)", what, pe_machine_name(pi->machine),
			     pi->machine);
	if (pi->subsystem != PE_SUBSYSTEM_EFI_APPLICATION)
		return found(pi, PE_WRONG_SUBSYSTEM, "%s (subsystem %u) for %s, not an EFI "
			     "application (subsystem 10)", what, pi->subsystem,
			     pe_machine_name(pi->machine));
	if ((pi->machine == PE_MACHINE_X86_64) != (pi->magic == PE_MAGIC_PE32_PLUS))
		return found(pi, PE_MALFORMED, "a %s header around %s code: the headers "
			     "contradict each other", pi->magic == PE_MAGIC_PE32 ? "PE32" : "PE32+",
			     pe_machine_name(pi->machine));
	return true;
}

static void section_name(const uint8_t *raw, char out[9])
{
	size_t i;

	for (i = 0; i < 8 && raw[i]; i++)
		out[i] = raw[i] >= 0x20 && raw[i] < 0x7f ? (char)raw[i] : '?';
	out[i] = '\0';
}

/* A file cut short in transfer keeps intact headers; its sections say
 * where the bytes should have been. */
static bool check_extent(const uint8_t *p, size_t len, struct pe_info *pi,
			 const struct pe_layout *l)
{
	uint32_t headers = 0;

	if (l->sections > len || (size_t)pi->n_sections * SECTION_LEN > len - l->sections)
		return found(pi, PE_TRUNCATED, "a truncated PE: its %u section headers do not "
			     "fit in the %zu-byte file", pi->n_sections, len);
	for (uint16_t i = 0; i < pi->n_sections; i++) {
		size_t s = l->sections + (size_t)i * SECTION_LEN;
		uint32_t size = 0, ptr = 0;
		char name[9];

		le32_at(p, len, s + SECTION_RAW_SIZE, &size);
		le32_at(p, len, s + SECTION_RAW_PTR, &ptr);
		if (size == 0 || (ptr <= len && size <= len - ptr))
			continue;
		section_name(p + s, name);
		return found(pi, PE_TRUNCATED, "a truncated PE: section %s ends at byte %llu "
			     "but the file has %zu bytes", name,
			     (unsigned long long)ptr + size, len);
	}
	le32_at(p, len, l->opt + OPT_SIZE_OF_HEADERS, &headers);
	if (headers > len)
		return found(pi, PE_TRUNCATED, "a truncated PE: its headers take %u bytes but "
			     "the file has %zu", headers, len);
	return true;
}

static void inspect_mz(const uint8_t *p, size_t len, struct pe_info *pi)
{
	struct pe_layout l = { 0 };

	if (!read_coff(p, len, pi, &l) || !read_optional(p, len, pi, &l) || !check_kind(pi) ||
	    !check_extent(p, len, pi, &l))
		return;
	found(pi, PE_OK, "a %s EFI application for %s",
	      pi->magic == PE_MAGIC_PE32 ? "PE32" : "PE32+", pe_machine_name(pi->machine));
}

/* ---- everything that is not "MZ" ------------------------------------------ */

static bool looks_like_text(const uint8_t *p, size_t len)
{
	size_t n = len < TEXT_SNIFF_LEN ? len : TEXT_SNIFF_LEN;

	for (size_t i = 0; i < n; i++)
		if (p[i] < 0x20 && !memchr("\t\n\v\f\r", p[i], 5))
			return false;
	return true;
}

static const char *first_line(const uint8_t *p, size_t len, char *out, size_t cap)
{
	size_t o = 0;

	for (size_t i = 0; i < len && o + 4 < cap && p[i] != '\n' && p[i] != '\r'; i++)
		out[o++] = p[i] >= 0x20 && p[i] < 0x7f ? (char)p[i] : '?';
	out[o] = '\0';
	if (o + 4 >= cap)
		strcpy(out + o, "...");
	return out;
}

static bool contains(const uint8_t *p, size_t len, const char *needle)
{
	return memmem(p, len, needle, strlen(needle)) != NULL;
}

/* Magic numbers of the files people hand over instead of an EFI booter. */
static void sniff_other(const uint8_t *p, size_t len, struct pe_info *pi)
{
	uint32_t magic = 0;
	char line[48];

	le32_at(p, len, 0, &magic);
	if (len == 0)
		found(pi, PE_EMPTY, "an empty file");
	else if (magic == FAT_EFI_MAGIC)
		found(pi, PE_FAT, "an Apple fat EFI binary");
	else if (bytes_at(p, len, 0, "\x55\xaa", 2))
		found(pi, PE_PCI_ROM, "a PCI option ROM (.rom), not an EFI application");
	else if (bytes_at(p, len, 0, "\x7f" "ELF", 4))
		found(pi, PE_ELF, "an ELF file, not an EFI application");
	else if (bytes_at(p, len, 0x8001, "CD001", 5))
		found(pi, PE_ISO, "an ISO 9660 image, not an EFI application");
	else if (bytes_at(p, len, 0x202, "HdrS", 4))
		found(pi, PE_LINUX_KERNEL, "a Linux kernel image (bzImage or iPXE .lkrn) without "
		      "an EFI stub");
	else if (looks_like_text(p, len))
		found(pi, PE_TEXT, "a text file (first line \"%s\"), not an EFI application",
		      first_line(p, len, line, sizeof(line)));
	/* A PXE program finds the BIOS PXE stack by these signatures, so it
	 * carries them; nothing marks its start (it is raw 16-bit code). */
	else if (contains(p, len, "PXENV+") || contains(p, len, "!PXE"))
		found(pi, PE_BIOS_PXE, "a BIOS PXE boot program (.pxe/.kpxe), not an EFI "
		      "application");
	else
		found(pi, PE_UNKNOWN, "not a PE image (it starts with %02x %02x %02x %02x)",
		      p[0], len > 1 ? p[1] : 0, len > 2 ? p[2] : 0, len > 3 ? p[3] : 0);
}

int pe_inspect(const uint8_t *data, size_t len, struct pe_info *out)
{
	*out = (struct pe_info){ .verdict = PE_UNKNOWN };
	if (bytes_at(data, len, 0, "MZ", 2))
		inspect_mz(data, len, out);
	else
		sniff_other(data, len, out);
	return out->verdict == PE_OK ? 0 : -EINVAL;
}

/* ---- Apple fat EFI binary ---------------------------------------------- */

const char *fat_cpu_name(uint32_t cputype)
{
	switch (cputype) {
	case FAT_CPU_X86: return "i386";
	case FAT_CPU_X86_64: return "x86_64";
	default: return "unknown";
	}
}

static bool overlaps(const struct fat_member *a, const struct fat_member *b)
{
	uint64_t a_end = (uint64_t)a->offset + a->size, b_end = (uint64_t)b->offset + b->size;

	return a->offset < b_end && b->offset < a_end;
}

__attribute__((format(printf, 3, 4)))
static int fat_fail(char *why, size_t cap, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, cap, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int read_member(const uint8_t *p, size_t len, uint32_t i, struct fat_member *m)
{
	size_t at = FAT_HEADER_LEN + (size_t)i * FAT_MEMBER_LEN;

	return le32_at(p, len, at, &m->cputype) && le32_at(p, len, at + 4, &m->cpusubtype) &&
	       le32_at(p, len, at + 8, &m->offset) && le32_at(p, len, at + 12, &m->size) &&
	       le32_at(p, len, at + 16, &m->align) ? 0 : -EINVAL;
}

/* Each member must lie after the header, inside the file, apart from the others. */
static int check_member(const struct fat_view *v, uint32_t i, size_t header_end, size_t len,
			char *why, size_t cap)
{
	const struct fat_member *m = &v->m[i];

	if (m->size == 0)
		return fat_fail(why, cap, "member %u is empty", i);
	if (m->offset < header_end)
		return fat_fail(why, cap, "member %u starts at %u, inside the %zu-byte header", i,
				m->offset, header_end);
	if (m->offset > len || m->size > len - m->offset)
		return fat_fail(why, cap, "member %u ends at byte %llu but the file has %zu bytes",
				i, (unsigned long long)m->offset + m->size, len);
	for (uint32_t k = 0; k < i; k++) {
		if (overlaps(&v->m[k], m))
			return fat_fail(why, cap, "members %u and %u overlap", k, i);
		if (v->m[k].cputype == m->cputype)
			return fat_fail(why, cap, "members %u and %u are both for cputype 0x%x", k,
					i, m->cputype);
	}
	return 0;
}

int fat_parse(const uint8_t *data, size_t len, struct fat_view *out, char *why, size_t why_cap)
{
	uint32_t magic = 0, n = 0;
	size_t header_end;

	*out = (struct fat_view){ 0 };
	if (!le32_at(data, len, 0, &magic) || magic != FAT_EFI_MAGIC)
		return -ENOENT;
	if (!le32_at(data, len, 4, &n))
		return fat_fail(why, why_cap, "the header is cut off after the magic");
	if (n == 0 || n > FAT_MAX_MEMBERS)
		return fat_fail(why, why_cap, "it claims %u members (1-%u make sense)", n,
				FAT_MAX_MEMBERS);
	header_end = FAT_HEADER_LEN + (size_t)n * FAT_MEMBER_LEN;
	if (header_end > len)
		return fat_fail(why, why_cap, "the header for %u members needs %zu bytes but the "
				"file has %zu", n, header_end, len);
	for (uint32_t i = 0; i < n; i++) {
		int r = read_member(data, len, i, &out->m[i]);

		if (r == 0)
			r = check_member(out, i, header_end, len, why, why_cap);
		if (r < 0)
			return r;
		out->n = i + 1;
	}
	return 0;
}

size_t fat_size(const struct fat_part *parts, size_t n)
{
	uint64_t total = FAT_HEADER_LEN + (uint64_t)n * FAT_MEMBER_LEN;

	if (n == 0 || n > FAT_MAX_MEMBERS)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (parts[i].len > UINT32_MAX || parts[i].len > UINT32_MAX - total)
			return 0;
		total += parts[i].len;
	}
	return (size_t)total;
}

static int wr_le32(struct wr *w, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };

	return wr_bytes(w, b, sizeof(b));
}

int fat_build(struct wr *w, const struct fat_part *parts, size_t n)
{
	size_t total = fat_size(parts, n);
	uint32_t offset = FAT_HEADER_LEN + (uint32_t)n * FAT_MEMBER_LEN;
	int r;

	if (total == 0)
		return -EINVAL;
	if (total > wr_room(w))
		return -ENOSPC;
	r = wr_le32(w, FAT_EFI_MAGIC) | wr_le32(w, (uint32_t)n);
	for (size_t i = 0; i < n; i++) {
		r |= wr_le32(w, parts[i].cputype) | wr_le32(w, FAT_CPU_SUBTYPE_I386_ALL);
		r |= wr_le32(w, offset) | wr_le32(w, (uint32_t)parts[i].len) | wr_le32(w, 0);
		offset += (uint32_t)parts[i].len;
	}
	for (size_t i = 0; i < n; i++)
		r |= wr_bytes(w, parts[i].data, parts[i].len);
	return r ? -ENOSPC : 0;
}

/* ---- a boot file as a whole ---------------------------------------------- */

static uint16_t machine_for(uint32_t cputype)
{
	return cputype == FAT_CPU_X86 ? PE_MACHINE_I386
	       : cputype == FAT_CPU_X86_64 ? PE_MACHINE_X86_64 : 0;
}

/* Appends "name (what)" for each member, and names the first bad one. */
static int inspect_members(const uint8_t *data, struct booter_info *out)
{
	char list[120] = "";
	const char *bad = NULL;
	size_t o = 0;

	for (uint32_t i = 0; i < out->n_members; i++) {
		struct booter_member *m = &out->member[i];
		const char *cpu = fat_cpu_name(m->fat.cputype);

		pe_inspect(data + m->fat.offset, m->fat.size, &m->pe);
		if (m->pe.verdict == PE_OK && m->pe.machine != machine_for(m->fat.cputype))
			found(&m->pe, PE_MALFORMED, "an EFI application for %s under cputype "
			      "0x%x (%s)", pe_machine_name(m->pe.machine), m->fat.cputype, cpu);
		if (m->pe.verdict != PE_OK && !bad) {
			bad = cpu;
			snprintf(out->what, sizeof(out->what), "an Apple fat EFI binary whose %s "
				 "member is %s", cpu, m->pe.what);
		}
		if (o < sizeof(list))
			o += (size_t)snprintf(list + o, sizeof(list) - o, "%s%s", i ? " + " : "", cpu);
	}
	if (!bad)
		snprintf(out->what, sizeof(out->what), "an Apple fat EFI binary (%s)", list);
	return bad ? -EINVAL : 0;
}

int booter_inspect(const uint8_t *data, size_t len, struct booter_info *out)
{
	struct fat_view v;
	char why[120];
	int r;

	*out = (struct booter_info){ 0 };
	r = fat_parse(data, len, &v, why, sizeof(why));
	if (r == -ENOENT) {
		r = pe_inspect(data, len, &out->pe);
		snprintf(out->what, sizeof(out->what), "%s", out->pe.what);
		return r;
	}
	out->fat = true;
	out->pe.verdict = PE_FAT;
	if (r < 0) {
		snprintf(out->what, sizeof(out->what), "a damaged Apple fat EFI binary: %s", why);
		return r;
	}
	out->n_members = v.n;
	for (uint32_t i = 0; i < v.n; i++)
		out->member[i].fat = v.m[i];
	return inspect_members(data, out);
}
