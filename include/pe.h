/* SPDX-License-Identifier: MIT */
/*
 * Boot files for Mac firmware: PE/COFF images (Microsoft PE/COFF
 * specification, "MS-DOS Stub", "COFF File Header", "Optional Header") and
 * Apple's fat EFI binary, which wraps an IA-32 and an x86-64 image so that
 * 32-bit-EFI Macs (2006-2007) and 64-bit ones boot the same file.
 *
 * Mac firmware runs only an EFI application (subsystem 10) for its own
 * processor.  pe_inspect() says what a file is in words an admin can act
 * on ("a BIOS PXE boot program", "an EFI boot service driver", "truncated:
 * section .data ends at byte N"), because the wrong iPXE file is the most
 * common way to build a .nbi that lists fine and then never boots.
 *
 * Everything here works on bytes in memory and does no I/O.  Every
 * multi-byte field is little-endian and read through bounds-checked
 * helpers; no header is ever cast onto the input.
 */
#ifndef BSDPD_PE_H
#define BSDPD_PE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire.h"

#define PE_MACHINE_I386 0x014c
#define PE_MACHINE_X86_64 0x8664
#define PE_MACHINE_ARM64 0xaa64

#define PE_MAGIC_PE32 0x010b
#define PE_MAGIC_PE32_PLUS 0x020b

#define PE_SUBSYSTEM_EFI_APPLICATION 10
#define PE_SUBSYSTEM_EFI_BOOT_DRIVER 11
#define PE_SUBSYSTEM_EFI_RUNTIME_DRIVER 12

/* What a candidate boot file turned out to be. */
enum pe_verdict {
	PE_OK,              /* PE32 IA-32 or PE32+ x86-64 EFI application */
	PE_EMPTY,
	PE_TEXT,            /* a script, a plist, an HTML error page... */
	PE_BIOS_PXE,        /* iPXE .pxe/.kpxe/.kkpxe: 16-bit PXE code, no header */
	PE_LINUX_KERNEL,    /* bzImage, iPXE .lkrn */
	PE_PCI_ROM,         /* PCI option ROM, iPXE .rom */
	PE_ISO,
	PE_ELF,
	PE_FAT,             /* an Apple fat EFI binary: see booter_inspect() */
	PE_DOS,             /* "MZ" but no PE header */
	PE_TRUNCATED,
	PE_MALFORMED,       /* headers that contradict themselves */
	PE_WRONG_MACHINE,   /* e.g. ARM64 */
	PE_WRONG_SUBSYSTEM, /* e.g. an EFI driver */
	PE_UNKNOWN,
};

struct pe_info {
	enum pe_verdict verdict;
	uint16_t machine;    /* valid once the COFF header was read */
	uint16_t magic;      /* PE_MAGIC_PE32 or PE_MAGIC_PE32_PLUS */
	uint16_t subsystem;
	uint16_t n_sections;
	char what[160];      /* one phrase naming what was found, for messages */
};

/* Classifies one file.  Returns 0 for PE_OK, -EINVAL for anything else;
 * out->what then says what the file is instead, e.g. "an ARM64 EFI
 * application (machine 0xaa64)". */
int pe_inspect(const uint8_t *data, size_t len, struct pe_info *out);

const char *pe_machine_name(uint16_t machine);

/* ---- Apple fat EFI binary ------------------------------------------------
 * All little-endian (wiki.awkwardtv.org "Boot.efi Information"; rEFIt
 * "EFI Fat Binaries"): magic, member count, then per member {cputype,
 * cpusubtype, offset, size, alignment}, then the member images.  Apple's
 * boot.efi puts IA-32 first, packs the images back to back right after the
 * header and writes alignment 0; fat_build() does the same.
 */
#define FAT_EFI_MAGIC 0x0ef1fab9u
#define FAT_CPU_X86 7u                  /* Mach-O CPU_TYPE_X86 */
#define FAT_CPU_X86_64 0x01000007u      /* CPU_TYPE_X86 | CPU_ARCH_ABI64 */
#define FAT_CPU_SUBTYPE_I386_ALL 3u
#define FAT_HEADER_LEN 8u
#define FAT_MEMBER_LEN 20u
#define FAT_MAX_MEMBERS 8u              /* Apple ships 2; anything past 8 is garbage */

struct fat_member {
	uint32_t cputype;
	uint32_t cpusubtype;
	uint32_t offset;
	uint32_t size;
	uint32_t align;
};

struct fat_view {
	uint32_t n;
	struct fat_member m[FAT_MAX_MEMBERS];
};

/* One input of fat_build(). */
struct fat_part {
	uint32_t cputype;
	const uint8_t *data;
	size_t len;
};

/* Decodes the header and checks that every member lies inside the file,
 * after the header, without overlapping another.  Returns -ENOENT when the
 * magic is absent, -EINVAL (with why filled in) when it is present but the
 * header is unusable, 0 otherwise. */
int fat_parse(const uint8_t *data, size_t len, struct fat_view *out, char *why, size_t why_cap);

/* Bytes fat_build() needs for these parts, or 0 when they would not fit
 * the format's 32-bit offsets. */
size_t fat_size(const struct fat_part *parts, size_t n);

/* Writes the fat binary into w; -ENOSPC when w is too small, -EINVAL for
 * no parts, too many, or a size past 32 bits. */
int fat_build(struct wr *w, const struct fat_part *parts, size_t n);

const char *fat_cpu_name(uint32_t cputype);     /* "i386", "x86_64" or "unknown" */

/* ---- a boot file as a whole --------------------------------------------- */

struct booter_member {
	struct fat_member fat;
	struct pe_info pe;
};

struct booter_info {
	bool fat;
	struct pe_info pe;          /* the file itself when not fat */
	uint32_t n_members;
	struct booter_member member[FAT_MAX_MEMBERS];
	char what[200];             /* summary, e.g. "PE32+ x86-64 EFI application" */
};

/* A boot file Mac firmware can run: one EFI application for x86-64 or
 * IA-32, or a fat binary whose every member is one and matches its
 * cputype.  Returns 0 or -EINVAL; out->what describes the file either way. */
int booter_inspect(const uint8_t *data, size_t len, struct booter_info *out);

#endif
