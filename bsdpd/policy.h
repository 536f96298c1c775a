/* SPDX-License-Identifier: MIT */
/*
 * Per-machine boot policy (docs/policy.md): profiles, machines, groups and
 * the default, and the pure functions over them — validation, group
 * matching and specificity, resolution, and rendering a profile into an
 * iPXE script.  No I/O and no database here: bsdpd/store.h keeps these
 * records, bsdpd/api.c turns JSON into them.
 *
 * Resolution (policy_resolve): next boot > machine > best group > default.
 * The best group is the most specific matching one, then the one with the
 * higher priority; two groups that are equally specific, of equal
 * priority and could match the same machine are refused when the second
 * is saved (policy_groups_conflict), so the best group is always unique.
 */
#ifndef BSDPD_POLICY_H
#define BSDPD_POLICY_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ipxe_template.h"

#define POLICY_NAME_MAX 64     /* a profile or group name: [A-Za-z0-9._-]{1,63} */
#define POLICY_TEXT_MAX 256    /* description, hostname */
#define POLICY_PATH_MAX 1024   /* a file path under the HTTP root, or a URL */
#define POLICY_CMDLINE_MAX 2048
#define POLICY_INITRDS_MAX 8
#define POLICY_ITEMS_MAX 32    /* menu entries */
#define POLICY_LABELS_MAX 16
#define POLICY_LABEL_KEY_MAX 32   /* [a-z0-9._-]{1,31} */
#define POLICY_LABEL_VALUE_MAX 64 /* [A-Za-z0-9._:/+@-]{0,63} */
#define POLICY_MODEL_MAX 64
#define POLICY_ARCH_MAX 17        /* iPXE ${buildarch} or a BSDP arch: [a-z0-9_]{1,16} */
#define POLICY_UUID_MAX 37
#define POLICY_MENU_TIMEOUT_MAX 3600

enum profile_kind {
	PROFILE_LOCAL,  /* boot the machine's own disk */
	PROFILE_LINUX,  /* kernel, initrds, command line */
	PROFILE_CHAIN,  /* an EFI binary or iPXE script: path under the HTTP root, or URL */
	PROFILE_MENU,   /* other profiles, a default and a timeout */
	PROFILE_SHELL,  /* the iPXE shell */
	PROFILE_SCRIPT, /* the admin's own template (bsdpd/ipxe_template.h) */
	PROFILE_KIND_COUNT
};

/* How "boot the local disk" is done; firmware-specific (docs/policy.md §3). */
enum local_method {
	LOCAL_AUTO,     /* the platform's default: exit on EFI, sanboot on BIOS */
	LOCAL_EXIT,     /* iPXE "exit 1": EFI firmware goes on down its boot order */
	LOCAL_SANBOOT,  /* "sanboot --no-describe --drive 0x80": BIOS */
	LOCAL_REFUSE,   /* no proxyDHCP reply and an exiting script: the firmware moves on */
	LOCAL_REBOOT,   /* "reboot" */
	LOCAL_METHOD_COUNT
};

struct label {
	char key[POLICY_LABEL_KEY_MAX];
	char value[POLICY_LABEL_VALUE_MAX];
};

struct profile {
	char name[POLICY_NAME_MAX];
	char description[POLICY_TEXT_MAX];
	enum profile_kind kind;
	enum local_method local;              /* PROFILE_LOCAL */
	char kernel[POLICY_PATH_MAX];         /* PROFILE_LINUX */
	char initrds[POLICY_INITRDS_MAX][POLICY_PATH_MAX];
	size_t n_initrds;
	char cmdline[POLICY_CMDLINE_MAX];
	char chain[POLICY_PATH_MAX];          /* PROFILE_CHAIN */
	char items[POLICY_ITEMS_MAX][POLICY_NAME_MAX]; /* PROFILE_MENU: profile names */
	size_t n_items;
	char default_item[POLICY_NAME_MAX];   /* "" : the first item */
	unsigned timeout;                     /* seconds; 0: wait for a choice */
	char *template;                       /* PROFILE_SCRIPT: malloc'd text, else NULL */
};

struct selector {
	uint8_t mac_prefix[6];
	size_t mac_prefix_len;                /* bytes of mac_prefix that must match; 0: any */
	char model[POLICY_MODEL_MAX];         /* fnmatch(3) glob; "": any */
	char arch[POLICY_ARCH_MAX];           /* "": any */
	struct label labels[POLICY_LABELS_MAX]; /* all must match */
	size_t n_labels;
};

struct policy_group {
	char name[POLICY_NAME_MAX];
	struct selector selector;
	char profile[POLICY_NAME_MAX];
	int priority;
	enum local_method local;              /* LOCAL_AUTO: the profile's */
	char image[POLICY_NAME_MAX];          /* a Mac's default NetBoot image; "": none */
};

/* What bsdpd knows of a machine: the admin's fields and what it saw. */
struct machine {
	uint8_t mac[6];
	char hostname[POLICY_TEXT_MAX];       /* set by the admin; "" none */
	size_t n_labels;
	char profile[POLICY_NAME_MAX];        /* "" : none */
	char next_boot[POLICY_NAME_MAX];      /* "" : none */
	enum local_method local;              /* LOCAL_AUTO: the group's or profile's */
	char image[POLICY_NAME_MAX];          /* a Mac's default NetBoot image; "" none */
	/* seen on the wire: sanitized before they are stored */
	char model[POLICY_MODEL_MAX];
	char arch[POLICY_ARCH_MAX];
	char uuid[POLICY_UUID_MAX];
	struct in_addr ip;
	int64_t first_seen, last_seen;        /* Unix time */
	/* Last, so that a copy may keep only the n_labels used (snapshot.c). */
	struct label labels[POLICY_LABELS_MAX];
};

/* Where a field is wrong: "kernel", "initrds[1]", "selector.mac_prefix". */
struct policy_error {
	char field[64];
	char msg[160];
};

void profile_free(struct profile *p);   /* frees p->template; p itself is the caller's */

/* ---- validation: 0, or -EINVAL with err naming the field ---------------- */
int policy_name_valid(const char *name, struct policy_error *err);
int profile_validate(const struct profile *p, struct policy_error *err);
int group_validate(const struct policy_group *g, struct policy_error *err);
int machine_validate(const struct machine *m, struct policy_error *err);
int label_validate(const struct label *l, struct policy_error *err);
/* "aa:bb:cc:dd:ee:ff" or with '-': 0 and mac, or -EINVAL.  A prefix takes
 * 1..6 octets ("52:54:00"). */
int policy_mac_parse(const char *s, uint8_t mac[6]);
int policy_mac_prefix_parse(const char *s, uint8_t mac[6], size_t *len);
void policy_mac_format(const uint8_t mac[6], char out[18]);
const char *profile_kind_name(enum profile_kind k);      /* "linux" ... */
int profile_kind_parse(const char *s, enum profile_kind *k);
const char *local_method_name(enum local_method m);      /* "auto", "exit" ... */
int local_method_parse(const char *s, enum local_method *m);

/* ---- groups ----------------------------------------------------------------- */
bool selector_matches(const struct selector *s, const struct machine *m);
unsigned selector_specificity(const struct selector *s);
/* Whether some machine could match both; conservative (a model glob may
 * overlap any other unless both are literal and differ). */
bool selectors_overlap(const struct selector *a, const struct selector *b);
/* Whether saving g beside the others would make the best group ambiguous:
 * the conflicting group (same specificity and priority, overlapping, not
 * g itself by name), or NULL. */
const struct policy_group *policy_groups_conflict(const struct policy_group *g, const struct policy_group *groups,
					   size_t n);

/* ---- resolution ---------------------------------------------------------------- */
enum policy_rule { RULE_NEXT_BOOT, RULE_MACHINE, RULE_GROUP, RULE_DEFAULT, RULE_NONE };

struct resolution {
	enum policy_rule rule;
	char profile[POLICY_NAME_MAX];        /* "" with RULE_NONE */
	char group[POLICY_NAME_MAX];          /* with RULE_GROUP; else "" */
	enum local_method local;              /* machine's, else group's; LOCAL_AUTO: profile's */
	char image[POLICY_NAME_MAX];          /* machine's, else best group's; "" none */
};
const char *policy_rule_name(enum policy_rule r);        /* "next-boot" ... */
/* m may be an unregistered machine (only mac, model, arch filled). */
void policy_resolve(const struct machine *m, const struct policy_group *groups, size_t n_groups,
		    const char *default_profile, struct resolution *out);

/* ---- rendering ------------------------------------------------------------------ */
struct policy_render_ctx {
	bool efi;                    /* iPXE ${platform} is "efi" */
	const char *http_base;       /* "http://192.0.2.1" or with ":port"; no '/' at the end */
	/* http_base is --http-base, a cache or mirror: file URLs carry no
	 * ?mac= (policy_file_url), which would give every machine its own
	 * cache entry for the same file and which bsdpd never sees on a hit. */
	bool via_cache;
	const struct resolution *res;
	/* For PROFILE_MENU: the profiles its items name (NULL for a missing
	 * one), and for PROFILE_SCRIPT the values of the template. */
	const struct profile *const *items;
	const struct ipxe_values *values;
	/* Whether a path names a servable file under the HTTP root; NULL: assume so. */
	bool (*file_exists)(void *ctx, const char *path);
	void *ctx;
	/* What a script falls back to when it cannot boot: required, from
	 * policy_fallback_new, parsed once rather than on every render. */
	const struct ipxe_template *fallback;
};
/* The built-in menu (http_routes.c), parsed: NULL only without memory.
 * Free with ipxe_template_free. */
struct ipxe_template *policy_fallback_new(void);
/* The URL a profile path becomes: a URL stays as it is; a path under the
 * root becomes http_base + "/" + path, each byte outside the unreserved
 * set percent-encoded, and, with tag_mac, "?mac=${mac:hexhyp}" appended
 * so that the file route can tell whose boot finished (next boot,
 * events).  The length, or -ENOSPC. */
int policy_file_url(const char *http_base, bool tag_mac, const char *path, char *out,
		    size_t cap);
/* --http-base (docs/scaling.md, "Caches"): an http:// or https:// URL
 * with a host and perhaps a path, every byte one an iPXE command line
 * takes literally (no blank, quote, '$', '#', ...), no query; the '/'s
 * at its end are dropped, so that base + "/" + path has one.  0 and out,
 * or -EINVAL with err saying why. */
#define POLICY_HTTP_BASE_MAX 256
int policy_http_base_parse(const char *s, char out[POLICY_HTTP_BASE_MAX],
			   struct policy_error *err);
/* Whether a profile path is a URL (http:// or https://) rather than a
 * path under the HTTP root. */
bool policy_is_url(const char *s);
/* What a machine showed of itself (model, arch, UUID) is kept until it
 * shows another: copies seen over dst (cap bytes) unless seen is empty or
 * the same; whether dst changed. */
bool policy_take_seen(char *dst, size_t cap, const char *seen);
/* The last file a profile's boot fetches (the last initrd, else the
 * kernel; the chain target), or NULL for a profile without files: its
 * next boot is consumed when that file has been served in full. */
const char *profile_last_file(const struct profile *p);
/* Whether serving path ends a boot of p, so that a next boot of p is
 * spent: its last file, sent in full.  A download that broke off, or any
 * other file, leaves the next boot for the retry. */
bool profile_boot_done(const struct profile *p, const char *path, bool complete);
/* What path is to a boot of p: "kernel", "initrd" or "chain" (p's
 * files, as relative to the HTTP root), or "" for any other file. */
const char *profile_file_stage(const struct profile *p, const char *path);
/* Renders p as an iPXE script into out (NUL-terminated): "#!ipxe", a
 * comment with the rule that chose it, then the kind's commands.  A
 * missing file gives a script that says so on the console and falls
 * back to the built-in menu.  The length, or -ENOSPC. */
ssize_t policy_render(const struct profile *p, const struct policy_render_ctx *ctx, char *out,
		      size_t cap);

#endif
