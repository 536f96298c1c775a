/* SPDX-License-Identifier: MIT */
/*
 * Helpers for the nbi tests: a generator of small PE/COFF images built in
 * memory (so that no binary needs to be committed), and small file
 * helpers on top of testlib.h.
 *
 * pe_make() lays an image out as a linker would: MZ header with e_lfanew
 * 0x40, "PE\0\0", the COFF header, an optional header of the PE32 (224
 * bytes) or PE32+ (240 bytes) size, one .text section header, headers
 * padded to 0x200 (SizeOfHeaders), then the section's raw data.
 */
#ifndef BSDPD_NBI_TESTLIB_H
#define BSDPD_NBI_TESTLIB_H

#include "testlib.h"

#include <dirent.h>
#include <fcntl.h>

#include "nbi.h"
#include "pe.h"

#define PE_TEST_HEADERS 0x200

/* snprintf into a path buffer, failing the test rather than cutting it. */
#define PATHF(buf, ...) assert_true(snprintf((buf), sizeof(buf), __VA_ARGS__) < (int)sizeof(buf))

struct pe_spec {
	uint16_t magic;       /* PE_MAGIC_PE32 or PE_MAGIC_PE32_PLUS */
	uint16_t machine;
	uint16_t subsystem;
	uint8_t fill;         /* the .text bytes, so that two images differ */
	size_t text;          /* raw size of .text */
};

static inline void le16_put(uint8_t *b, uint16_t v)
{
	b[0] = (uint8_t)v;
	b[1] = (uint8_t)(v >> 8);
}

static inline void le32_put(uint8_t *b, uint32_t v)
{
	le16_put(b, (uint16_t)v);
	le16_put(b + 2, (uint16_t)(v >> 16));
}

static inline size_t pe_size(const struct pe_spec *s)
{
	return PE_TEST_HEADERS + s->text;
}

/* Writes the image into buf (at least pe_size() bytes); returns its size. */
static inline size_t pe_make(uint8_t *buf, const struct pe_spec *s)
{
	bool plus = s->magic == PE_MAGIC_PE32_PLUS;
	uint16_t opt_len = plus ? 240 : 224;
	uint8_t *coff = buf + 0x44, *opt = buf + 0x58, *sec = opt + opt_len;

	memset(buf, 0, pe_size(s));
	memcpy(buf, "MZ", 2);
	le32_put(buf + 0x3c, 0x40);
	memcpy(buf + 0x40, "PE\0\0", 4);
	le16_put(coff, s->machine);
	le16_put(coff + 2, 1);                 /* one section */
	le16_put(coff + 16, opt_len);
	le16_put(coff + 18, 0x0206);           /* executable image */
	le16_put(opt, s->magic);
	le32_put(opt + 16, 0x1000);            /* AddressOfEntryPoint */
	le32_put(opt + 56, 0x1000 + (uint32_t)s->text); /* SizeOfImage */
	le32_put(opt + 60, PE_TEST_HEADERS);   /* SizeOfHeaders */
	le16_put(opt + 68, s->subsystem);
	le32_put(opt + (plus ? 108 : 92), 16); /* NumberOfRvaAndSizes */
	memcpy(sec, ".text", 5);
	le32_put(sec + 8, (uint32_t)s->text);  /* VirtualSize */
	le32_put(sec + 12, 0x1000);            /* VirtualAddress */
	le32_put(sec + 16, (uint32_t)s->text); /* SizeOfRawData */
	le32_put(sec + 20, PE_TEST_HEADERS);   /* PointerToRawData */
	le32_put(sec + 36, 0x60000020);        /* code, execute, read */
	memset(buf + PE_TEST_HEADERS, s->fill, s->text);
	return pe_size(s);
}

#define PE_X64 { PE_MAGIC_PE32_PLUS, PE_MACHINE_X86_64, PE_SUBSYSTEM_EFI_APPLICATION, 0x64, 0x400 }
#define PE_IA32 { PE_MAGIC_PE32, PE_MACHINE_I386, PE_SUBSYSTEM_EFI_APPLICATION, 0x32, 0x200 }

/* Writes a generated image to dir/name; returns the path (malloc'ed). */
static inline char *write_pe(const char *dir, const char *name, const struct pe_spec *s)
{
	uint8_t *buf = malloc(pe_size(s));
	char *path = NULL;

	assert_non_null(buf);
	assert_true(asprintf(&path, "%s/%s", dir, name) > 0);
	write_file(path, buf, pe_make(buf, s));
	free(buf);
	return path;
}

static inline uint8_t *slurp(const char *path, size_t *len)
{
	uint8_t *data = NULL;

	assert_int_equal(nbi_read_file(path, 1u << 26, &data, len), 0);
	return data;
}

static inline bool path_exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

/* Number of entries in dir whose name starts with '.', besides . and .. */
static inline size_t hidden_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		n += e->d_name[0] == '.' && strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	closedir(d);
	return n;
}

/* The first problem whose message contains part, or NULL. */
static inline const struct nb_problem *find_problem(const struct nb_problems *p,
						    enum nb_severity sev, const char *part)
{
	for (size_t i = 0; i < p->n; i++)
		if (p->v[i].severity == sev && strstr(p->v[i].message, part))
			return &p->v[i];
	return NULL;
}

#define assert_problem(p, sev, part)                                                    \
	do {                                                                            \
		if (!find_problem((p), (sev), (part))) {                                \
			for (size_t i_ = 0; i_ < (p)->n; i_++)                          \
				print_message("  have: %s: %s\n", (p)->v[i_].path,     \
					      (p)->v[i_].message);                      \
			fail_msg("no %s containing '%s'",                               \
				 (sev) == NB_ERROR ? "error" : "warning", (part));      \
		}                                                                       \
	} while (0)

#endif
