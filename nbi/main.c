/* SPDX-License-Identifier: MIT */
/*
 * nbi: build, validate and inspect the .nbi bundles bsdpd serves.
 *
 * This file is only the command line: option parsing, help, and printing.
 * Bundles are built and changed by bundle.c, read by inspect.c, and judged
 * by the shared NBImageInfo model (nbimage.c, catalog.c), the same code
 * bsdpd serves from, so `nbi validate` and `bsdpd --check` never disagree.
 *
 * Exit status: 0 success, 1 the bundle has errors or the change was
 * refused, 2 bad usage.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nbi.h"

#define NBI_VERSION "0.1.0"
#define EXIT_ERRORS 1
#define EXIT_USAGE 2

static const char usage_main[] =
"Usage: nbi COMMAND [OPTION]... [ARG]...\n"
"\n"
"Build, check and inspect the .nbi bundles that Apple NetBoot (BSDP) servers\n"
"such as bsdpd(8) offer to Macs.  A bundle is a directory NAME.nbi holding\n"
"NBImageInfo.plist and a boot file per architecture, i386/booter for Intel\n"
"Macs.  nbi wraps an EFI program, typically iPXE's snponly.efi, so that a Mac\n"
"started with the N key, the Option boot picker or Startup Disk boots it.\n"
"\n"
"Commands:\n"
"  create    build a bundle around an EFI boot file\n"
"  validate  check bundles (or image roots) against Apple's rules and say what\n"
"            other NetBoot servers would trip over\n"
"  info      show everything about one bundle\n"
"  list      one line per bundle of an image root\n"
"  set       change one NBImageInfo.plist key, type-checked\n"
"  help      show the help of a command\n"
"\n"
"Options:\n"
"  -h, --help     show this help (with a COMMAND: that command's help)\n"
"  -V, --version  show the version\n"
"\n"
"Examples:\n"
"  nbi create --booter /usr/lib/ipxe/snponly.efi -o /srv/netboot/iPXE.nbi \\\n"
"      --name \"iPXE\" --default\n"
"  nbi validate /srv/netboot\n"
"  nbi list /srv/netboot\n"
"  nbi info /srv/netboot/iPXE.nbi --json\n"
"  nbi set /srv/netboot/iPXE.nbi IsEnabled false\n"
"\n"
"Exit status: 0 success, 1 errors found or change refused, 2 bad usage.\n"
"See nbi(1) for the details and bsdpd(8) for serving the bundles.\n";

static const char usage_create[] =
"Usage: nbi create --booter FILE -o DIR/NAME.nbi [OPTION]...\n"
"\n"
"Build DIR/NAME.nbi around an EFI boot file.  The boot file must be an EFI\n"
"application (PE subsystem 10) for x86-64 or IA-32; a text file, a BIOS\n"
"PXE program (.kpxe), an ARM64 binary, an EFI driver or a truncated file is\n"
"refused with a message naming what it is.  With --booter-ia32 as well, both\n"
"go into one Apple fat EFI binary, so that 32-bit-EFI Macs (2006-2007) and\n"
"64-bit ones boot the same image.\n"
"\n"
"The bundle gets i386/booter and an XML NBImageInfo.plist with Apple's key\n"
"names and types: Architectures [i386] (every Intel Mac asks as i386),\n"
"BootFile booter, Type BootFileOnly, Kind 1, IsEnabled true, and the\n"
"Description and DisabledSystemIdentifiers keys other servers require.  It\n"
"is built in a hidden directory beside the target, checked by the loader\n"
"bsdpd serves from, and renamed into place: a failed create leaves nothing\n"
"behind, and --force swaps a bundle in without the old one going missing.\n"
"\n"
"Options:\n"
"  -b, --booter FILE        the EFI boot file: x86-64 (or IA-32) EFI\n"
"                           application, or an Apple fat binary of them\n"
"      --booter-ia32 FILE   an IA-32 EFI application to pair with an x86-64\n"
"                           --booter in a fat binary\n"
"  -o, --output DIR/NAME.nbi  the bundle to create; DIR must exist and should\n"
"                           be the image root itself (a bundle nested one\n"
"                           folder deeper is never served)\n"
"  -n, --name NAME          menu name, at most 246 bytes (default: NAME)\n"
"      --index N            image index 1-65535: 1-4095 server-local,\n"
"                           4096-65535 global (default: the index of the\n"
"                           bundle --force replaces, else the lowest index\n"
"                           1-4095 no bundle in DIR uses); refused when the\n"
"                           32-bit image ID is taken in DIR\n"
"      --kind K             0 Mac OS 9, 1 Mac OS X (default), 2 Mac OS X\n"
"                           Server, 3 Hardware Diagnostics (offered only to\n"
"                           Macs that ask for diagnostics)\n"
"      --install            mark as an install image (bit 31 of the ID)\n"
"      --default            make it a candidate default image\n"
"      --disabled           write IsEnabled false: no server offers it\n"
"      --description TEXT   free text (default: the name); Apple ignores it,\n"
"                           BSDPy and pybsdp require it\n"
"      --enable-model M     offer only to these models, e.g. MacPro6,1\n"
"                           (repeatable)\n"
"      --disable-model M    list M in DisabledSystemIdentifiers: Apple and\n"
"                           bsdpd ignore it, BSDPy hides the image from M\n"
"                           (repeatable)\n"
"      --enable-mac MAC     offer only to these Macs (repeatable)\n"
"      --disable-mac MAC    never offer to these Macs (repeatable)\n"
"      --type TYPE          BootFileOnly (default): the Mac loads the boot\n"
"                           file and nothing else, right for iPXE; HTTP or\n"
"                           NFS: also send a root image path\n"
"      --root-path P        with --type HTTP/NFS: a local file copied into\n"
"                           the bundle (RootPath is its name), or another\n"
"                           host's image as IP:/export[:image] or\n"
"                           http://IP/path (firmware does no DNS)\n"
"  -f, --force              replace an existing bundle at the target\n"
"  -h, --help               show this help\n"
"\n"
"Examples:\n"
"  # iPXE for every Intel Mac, offered as the default image:\n"
"  nbi create --booter /usr/lib/ipxe/snponly.efi -o /srv/netboot/iPXE.nbi \\\n"
"      --name \"iPXE\" --default\n"
"\n"
"  # One image for 32-bit and 64-bit EFI Macs (i386-snponly.efi built from\n"
"  # iPXE's source with: make bin-i386-efi/snponly.efi):\n"
"  nbi create -b snponly.efi --booter-ia32 i386-snponly.efi \\\n"
"      -o /srv/netboot/iPXE.nbi\n"
"\n"
"  # Only for Mac Pros of 2013, as global index 4242:\n"
"  nbi create -b snponly.efi -o /srv/netboot/MacPro.nbi --index 4242 \\\n"
"      --enable-model MacPro6,1\n";

static const char usage_validate[] =
"Usage: nbi validate PATH...\n"
"\n"
"Check each PATH, a bundle (NAME.nbi) or an image root holding bundles,\n"
"with every rule bsdpd applies when it loads them (Apple's rules: Name,\n"
"Index 1-65535 and an <integer>, Kind, Type, RootPath, Architectures,\n"
"BootFile present under each architecture, MAC syntax, and for a root, no\n"
"two bundles with one 32-bit image ID and no bundle nested one folder too\n"
"deep).  Malformed XML is reported with its line and column.\n"
"\n"
"It also checks that i386 boot files are EFI applications Mac firmware can\n"
"run, and warns about what other servers cannot handle: BSDPy reads only\n"
"XML plists, requires Description and DisabledSystemIdentifiers, treats\n"
"DisabledSystemIdentifiers (which System Image Utility and AutoNBI fill\n"
"with the supported models) as a blacklist, ignores DisabledMACAddresses\n"
"and misreads MAC addresses with a byte below 0x10.  A single bundle is\n"
"also compared with the bundles beside it for a shared image ID.\n"
"\n"
"Exit status: 0 when there are no errors (warnings alone still give 0),\n"
"1 when there is an error, 2 for bad usage.\n"
"\n"
"Examples:\n"
"  nbi validate /srv/netboot\n"
"  nbi validate ~/Downloads/NetInstall.nbi /srv/netboot/iPXE.nbi\n";

static const char usage_info[] =
"Usage: nbi info BUNDLE [--json]\n"
"\n"
"Show one bundle: its plist (format, every key with its type and value), the\n"
"32-bit image ID in hex and decoded (install bit, Kind, Index, server-local\n"
"or global), each boot file with its size and what it is (for an Apple fat\n"
"binary, every member with its offset and size), and every problem\n"
"validate would report.\n"
"\n"
"Options:\n"
"      --json     print one JSON object instead\n"
"  -h, --help     show this help\n"
"\n"
"Exit status: 0 when the plist could be read, 1 when it could not.\n"
"\n"
"Examples:\n"
"  nbi info /srv/netboot/iPXE.nbi\n"
"  nbi info /srv/netboot/iPXE.nbi --json | jq -r .id\n";

static const char usage_list[] =
"Usage: nbi list DIR [--json]\n"
"\n"
"One line per bundle directly in DIR: index, image ID, name, kind, install,\n"
"default, enabled, architectures, boot file, and status: \"ok\", \"ok\" with\n"
"a warning count, or the first error (a bundle with an error is not served;\n"
"of two with one image ID only the first by name is).  Problems that belong\n"
"to no bundle, such as a bundle nested one folder too deep, follow the table.\n"
"\n"
"Options:\n"
"      --json     print one JSON object with a \"bundles\" array instead\n"
"  -h, --help     show this help\n"
"\n"
"Exit status: 0 when DIR could be read, 1 when not.\n"
"\n"
"Examples:\n"
"  nbi list /srv/netboot\n"
"  nbi list /srv/netboot --json | jq '.bundles[] | select(.served | not)'\n";

static const char usage_set_head[] =
"Usage: nbi set BUNDLE KEY VALUE...\n"
"\n"
"Change one key of BUNDLE/NBImageInfo.plist.  The value is checked against\n"
"the key's type (integers in range, booleans as true/false/yes/no/1/0,\n"
"MAC addresses normalised to 00:1b:63:84:45:e6 form) and the result against\n"
"Apple's rules: a change that would stop bsdpd from serving the bundle, or\n"
"give it the image ID of a bundle beside it, is refused.  A bundle that had\n"
"errors is written, with what is still wrong.  The file keeps its format\n"
"(XML or binary) and is replaced atomically; comments and formatting of an\n"
"XML file are not kept.\n"
"\n"
"Array keys (strings, MACs) take every VALUE split at white space; one\n"
"empty VALUE (\"\") makes an empty array.\n"
"\n"
"Keys:\n";

static const char usage_set_tail[] =
"\n"
"Examples:\n"
"  nbi set /srv/netboot/iPXE.nbi Name \"iPXE (lab)\"\n"
"  nbi set /srv/netboot/iPXE.nbi Index 4242\n"
"  nbi set /srv/netboot/iPXE.nbi EnabledSystemIdentifiers MacPro6,1 iMac14,2\n"
"  nbi set /srv/netboot/NetInstall.nbi DisabledSystemIdentifiers \"\"\n";

__attribute__((format(printf, 2, 3)))
static int usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "nbi%s%s: ", cmd ? " " : "", cmd ? cmd : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'nbi %s%s--help' for more information.\n", cmd ? cmd : "",
		cmd ? " " : "");
	return EXIT_USAGE;
}

static bool parse_number(const char *s, unsigned long max, unsigned long *out)
{
	char *end;

	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	*out = strtoul(s, &end, 10);
	return errno == 0 && *end == '\0' && *out <= max;
}

/* ---- create ----------------------------------------------------------------- */

static void strv_push(struct nb_strv *sv, char *s)
{
	char **v = realloc(sv->v, (sv->n + 1) * sizeof(*v));

	if (!v)
		abort();
	v[sv->n++] = s;
	sv->v = v;
}

enum {
	OPT_BOOTER_IA32 = 256, OPT_INDEX, OPT_KIND, OPT_INSTALL, OPT_DEFAULT, OPT_DISABLED,
	OPT_DESCRIPTION, OPT_ENABLE_MODEL, OPT_DISABLE_MODEL, OPT_ENABLE_MAC, OPT_DISABLE_MAC,
	OPT_TYPE, OPT_ROOT_PATH, OPT_JSON,
};

static const struct option create_options[] = {
	{ "booter", required_argument, NULL, 'b' },
	{ "booter-ia32", required_argument, NULL, OPT_BOOTER_IA32 },
	{ "output", required_argument, NULL, 'o' },
	{ "name", required_argument, NULL, 'n' },
	{ "index", required_argument, NULL, OPT_INDEX },
	{ "kind", required_argument, NULL, OPT_KIND },
	{ "install", no_argument, NULL, OPT_INSTALL },
	{ "default", no_argument, NULL, OPT_DEFAULT },
	{ "disabled", no_argument, NULL, OPT_DISABLED },
	{ "description", required_argument, NULL, OPT_DESCRIPTION },
	{ "enable-model", required_argument, NULL, OPT_ENABLE_MODEL },
	{ "disable-model", required_argument, NULL, OPT_DISABLE_MODEL },
	{ "enable-mac", required_argument, NULL, OPT_ENABLE_MAC },
	{ "disable-mac", required_argument, NULL, OPT_DISABLE_MAC },
	{ "type", required_argument, NULL, OPT_TYPE },
	{ "root-path", required_argument, NULL, OPT_ROOT_PATH },
	{ "force", no_argument, NULL, 'f' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static int parse_type(const char *s, enum nb_type *out)
{
	if (strcmp(s, "BootFileOnly") == 0)
		*out = NB_TYPE_BOOTFILE_ONLY;
	else if (strcmp(s, "HTTP") == 0)
		*out = NB_TYPE_HTTP;
	else if (strcmp(s, "NFS") == 0)
		*out = NB_TYPE_NFS;
	else
		return -EINVAL;
	return 0;
}

/* Options with a value to check; 0, or the exit status of a usage error. */
static int create_value_option(int opt, const char *arg, struct nbi_create *c)
{
	unsigned long v;

	switch (opt) {
	case OPT_INDEX:
		if (!parse_number(arg, UINT16_MAX, &v) || v == 0)
			return usage_error("create", "--index must be 1-65535, not '%s'", arg);
		c->index = (uint32_t)v;
		return 0;
	case OPT_KIND:
		if (!parse_number(arg, BSDP_IMAGE_KIND_MASK, &v))
			return usage_error("create", "--kind must be 0-127, not '%s'", arg);
		c->kind = (int)v;
		return 0;
	case OPT_TYPE:
		if (parse_type(arg, &c->type) < 0)
			return usage_error("create", "--type must be BootFileOnly, HTTP or NFS, "
					   "not '%s'", arg);
		return 0;
	}
	return usage_error("create", "unknown option");
}

static int create_option(int opt, char *arg, struct nbi_create *c)
{
	switch (opt) {
	case 'b': c->booter = arg; break;
	case OPT_BOOTER_IA32: c->booter_ia32 = arg; break;
	case 'o': c->output = arg; break;
	case 'n': c->name = arg; break;
	case OPT_INSTALL: c->install = true; break;
	case OPT_DEFAULT: c->is_default = true; break;
	case OPT_DISABLED: c->disabled = true; break;
	case OPT_DESCRIPTION: c->description = arg; break;
	case OPT_ENABLE_MODEL: strv_push(&c->enable_models, arg); break;
	case OPT_DISABLE_MODEL: strv_push(&c->disable_models, arg); break;
	case OPT_ENABLE_MAC: strv_push(&c->enable_macs, arg); break;
	case OPT_DISABLE_MAC: strv_push(&c->disable_macs, arg); break;
	case OPT_ROOT_PATH: c->root_path = arg; break;
	case 'f': c->force = true; break;
	default: return create_value_option(opt, arg, c);
	}
	return 0;
}

static void create_free(struct nbi_create *c)
{
	free(c->enable_models.v);
	free(c->disable_models.v);
	free(c->enable_macs.v);
	free(c->disable_macs.v);
}

static void print_created(const struct nb_image *img, const char *output)
{
	char root[PATH_MAX], boot[PATH_MAX];

	nbi_parent_dir(output, root, sizeof(root));
	if (nb_image_boot_path(img, NBI_ARCH, boot, sizeof(boot)) < 0)
		snprintf(boot, sizeof(boot), "(too long)");
	printf("created %s\n", output);
	printf("  name       %s\n", img->name);
	printf("  image ID   0x%08x (Index %u, Kind %u %s, %s%s)\n", img->id, img->index,
	       img->kind, nbi_kind_name(img->kind), img->index <= BSDP_INDEX_LOCAL_MAX
	       ? "server-local" : "global", img->install ? ", install" : "");
	printf("  boot file  %s\n", boot);
	printf("serve it with: bsdpd --root %s\n", root);
}

static int run_create_opts(struct nbi_create *c)
{
	struct nb_problems problems = { 0 };
	struct nb_image made;
	int r;

	if (!c->booter || !c->output) {
		create_free(c);
		return usage_error("create", "--booter and --output are required");
	}
	r = nbi_create_bundle(c, &made, &problems);
	nbi_print_problems(stderr, &problems, NULL);
	if (r == 0)
		print_created(&made, c->output);
	nb_image_clear(&made);
	nb_problems_free(&problems);
	create_free(c);
	return r == 0 ? 0 : EXIT_ERRORS;
}

static int run_create(int argc, char **argv)
{
	struct nbi_create c = { .kind = -1, .type = NB_TYPE_BOOTFILE_ONLY };
	int opt, r;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":b:o:n:fh", create_options, NULL)) != -1) {
		if (opt == 'h') {
			fputs(usage_create, stdout);
			create_free(&c);
			return 0;
		}
		if (opt == '?' || opt == ':')
			r = usage_error("create", opt == '?' ? "unknown option '%s'"
					: "option '%s' needs a value", argv[optind - 1]);
		else
			r = create_option(opt, optarg, &c);
		if (r) {
			create_free(&c);
			return r;
		}
	}
	if (optind < argc) {
		create_free(&c);
		return usage_error("create", "unexpected argument '%s'", argv[optind]);
	}
	return run_create_opts(&c);
}

/* ---- validate -------------------------------------------------------------- */

struct tally {
	size_t bundles, errors, warnings;
};

static void count(struct tally *t, const struct nb_problems *p, const char *only_in)
{
	for (size_t i = 0; i < p->n; i++) {
		if (only_in && !nbi_path_in(p->v[i].path, only_in))
			continue;
		if (p->v[i].severity == NB_ERROR)
			t->errors++;
		else
			t->warnings++;
	}
}

/* A bundle on its own: the loader, the boot file, other servers, neighbours. */
static void validate_bundle(const char *path, struct tally *t)
{
	struct nbi_report r;

	nbi_inspect_bundle(path, &r);
	nbi_check_siblings(&r);
	nbi_print_problems(stdout, &r.load, NULL);
	nbi_print_problems(stdout, &r.extra, NULL);
	count(t, &r.load, NULL);
	count(t, &r.extra, NULL);
	t->bundles++;
	nbi_report_clear(&r);
}

/* Problems of the catalog that concern none of the bundles. */
static void validate_rest(const struct nb_catalog *cat, const struct nbi_dir *d,
			  const char *root, struct tally *t)
{
	for (size_t i = 0; i < cat->problems.n; i++) {
		const struct nb_problem *p = &cat->problems.v[i];

		if (nbi_problem_owned(p, d, root))
			continue;
		printf("%s: %s: %s\n", p->severity == NB_ERROR ? "error" : "warning", p->path,
		       p->message);
		if (p->severity == NB_ERROR)
			t->errors++;
		else
			t->warnings++;
	}
}

/* An image root: the catalog as bsdpd loads it (duplicates, nesting), then
 * each bundle's boot file and compatibility findings. */
static int validate_root(const char *root, struct tally *t)
{
	struct nb_catalog cat;
	struct nbi_dir d = { 0 };
	int r = nb_catalog_load(root, &cat);

	if (r == 0)
		r = nbi_scan_dir(root, &d);
	if (r < 0) {
		printf("error: %s: cannot read: %s\n", root, strerror(-r));
		t->errors++;
		nb_catalog_clear(&cat);
		return r;
	}
	for (size_t i = 0; i < d.n; i++) {
		char dir[PATH_MAX];
		struct nbi_report rep;

		if (snprintf(dir, sizeof(dir), "%s/%s", root, d.v[i].name) >= (int)sizeof(dir))
			continue;
		nbi_inspect_bundle(dir, &rep);
		nbi_print_problems(stdout, &cat.problems, dir);
		nbi_print_problems(stdout, &rep.extra, NULL);
		count(t, &cat.problems, dir);
		count(t, &rep.extra, NULL);
		t->bundles++;
		nbi_report_clear(&rep);
	}
	validate_rest(&cat, &d, root, t);
	nbi_dir_clear(&d);
	nb_catalog_clear(&cat);
	return 0;
}

static bool is_bundle_path(const char *path)
{
	char plist[PATH_MAX];
	size_t n = strlen(path);

	while (n > 1 && path[n - 1] == '/')
		n--;
	if (n > 4 && strncmp(path + n - 4, NB_BUNDLE_SUFFIX, 4) == 0)
		return true;
	return snprintf(plist, sizeof(plist), "%s/%s", path, NB_INFO_PLIST) < (int)sizeof(plist) &&
	       access(plist, F_OK) == 0;
}

static int run_validate(int argc, char **argv)
{
	struct tally t = { 0 };
	int first = 1;

	if (argc > 1 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		fputs(usage_validate, stdout);
		return 0;
	}
	if (argc > 1 && strcmp(argv[1], "--") == 0)
		first = 2;
	if (argc <= first)
		return usage_error("validate", "give at least one bundle or image root");
	for (int i = first; i < argc; i++) {
		struct stat st;

		if (stat(argv[i], &st) < 0 || !S_ISDIR(st.st_mode)) {
			printf("error: %s: not a directory\n", argv[i]);
			t.errors++;
		} else if (is_bundle_path(argv[i])) {
			validate_bundle(argv[i], &t);
		} else {
			validate_root(argv[i], &t);
		}
	}
	printf("%zu bundle%s, %zu error%s, %zu warning%s\n", t.bundles, t.bundles == 1 ? "" : "s",
	       t.errors, t.errors == 1 ? "" : "s", t.warnings, t.warnings == 1 ? "" : "s");
	return t.errors ? EXIT_ERRORS : 0;
}

/* ---- info and list (printed by show.c) ----------------------------------- */

/* Parses "PATH [--json]" in either order. */
static int path_and_json(int argc, char **argv, const char *cmd, const char *usage,
			 const char **path, bool *json)
{
	*path = NULL;
	*json = false;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			fputs(usage, stdout);
			return -1;
		}
		if (!strcmp(argv[i], "--json"))
			*json = true;
		else if (argv[i][0] == '-' || *path)
			return usage_error(cmd, "unexpected argument '%s'", argv[i]);
		else
			*path = argv[i];
	}
	return *path ? 0 : usage_error(cmd, "give a %s", strcmp(cmd, "info") ? "directory"
								    : "bundle");
}

static int run_info(int argc, char **argv)
{
	const char *path;
	bool json;
	int rc = path_and_json(argc, argv, "info", usage_info, &path, &json);

	if (rc)
		return rc < 0 ? 0 : rc;
	return nbi_print_info(path, json) < 0 ? EXIT_ERRORS : 0;
}

static int run_list(int argc, char **argv)
{
	const char *root;
	bool json;
	int rc = path_and_json(argc, argv, "list", usage_list, &root, &json);

	if (rc)
		return rc < 0 ? 0 : rc;
	rc = nbi_print_list(root, json);
	if (rc < 0)
		fprintf(stderr, "nbi list: %s: %s\n", root, strerror(-rc));
	return rc < 0 ? EXIT_ERRORS : 0;
}

/* ---- set ------------------------------------------------------------------------ */

static void usage_set(FILE *f)
{
	size_t n;
	const struct nb_key_spec *k = nb_key_specs(&n);

	fputs(usage_set_head, f);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "  %-26s %-8s %s\n", k[i].key, nb_key_type_name(k[i].type), k[i].help);
	fputs(usage_set_tail, f);
}

static int run_set(int argc, char **argv)
{
	struct nb_problems problems = { 0 };
	struct nbi_change chg;
	int r;

	if (argc > 1 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		usage_set(stdout);
		return 0;
	}
	if (argc < 3)
		return usage_error("set", "give a bundle, a key and its value");
	r = nbi_set_key(argv[1], argv[2], (const char *const *)(argv + 3), (size_t)(argc - 3),
			&chg, &problems);
	nbi_print_problems(stderr, &problems, NULL);
	if (r == 0)
		printf("%s: %s: %s -> %s (%s plist)\n", argv[1], argv[2],
		       chg.before ? chg.before : "(absent)", chg.after ? chg.after : "",
		       chg.format == NB_FORMAT_BINARY ? "binary" : "XML");
	nbi_change_clear(&chg);
	nb_problems_free(&problems);
	if (r == -ENOENT)
		fprintf(stderr, "Try 'nbi help set' for the keys.\n");
	return r == 0 ? 0 : EXIT_ERRORS;
}

/* ---- dispatch ----------------------------------------------------------------- */

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
};

static const struct command commands[] = {
	{ "create", run_create },
	{ "validate", run_validate },
	{ "info", run_info },
	{ "list", run_list },
	{ "set", run_set },
};

static int run_help(const char *cmd)
{
	static char arg0[] = "nbi", arg1[] = "--help";
	char *argv[] = { arg0, arg1, NULL };

	if (!cmd) {
		fputs(usage_main, stdout);
		return 0;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(commands[i].name, cmd) == 0)
			return commands[i].run(2, argv);
	return usage_error(NULL, "no command '%s'", cmd);
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : NULL;

	if (!cmd)
		return usage_error(NULL, "give a command");
	if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help"))
		return run_help(argc > 2 ? argv[2] : NULL);
	if (!strcmp(cmd, "-V") || !strcmp(cmd, "--version")) {
		printf("nbi " NBI_VERSION "\n");
		return 0;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(commands[i].name, cmd) == 0)
			return commands[i].run(argc - 1, argv + 1);
	return usage_error(NULL, "no command '%s'", cmd);
}
