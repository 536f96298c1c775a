/* SPDX-License-Identifier: MIT */
/*
 * TFTP wire codec: request and message parsers, packet builders and the
 * path cleaner (see include/tftp.h).  Every read goes through struct rd;
 * strings are found with a bounded memchr, never by trusting a NUL.
 */
#include "tftp.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* ---- strings and numbers ------------------------------------------------- */

/* Takes one NUL-terminated string off r.  False when no NUL is left. */
static bool rd_cstr(struct rd *r, const char **s, size_t *n)
{
	const uint8_t *nul = memchr(r->p, 0, r->rem);
	const uint8_t *b;

	if (!nul)
		return false;
	*n = (size_t)(nul - r->p);
	*s = (const char *)r->p;
	return rd_bytes(r, *n + 1, &b);
}

/* Decimal digits only: no sign, no spaces, no hex (unlike strtoull). */
static bool parse_u64(const char *s, size_t n, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (n == 0 || n > 20)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned d = (unsigned char)s[i] - '0';

		if (d > 9 || v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	if (v > max)
		return false;
	*out = v;
	return true;
}

static bool name_is(const char *s, size_t n, const char *lit)
{
	return strlen(lit) == n && strncasecmp(s, lit, n) == 0;
}

/* ---- options (RFC 2347) -------------------------------------------------- */

/* Applies one name/value pair.  Unknown names and out-of-range values are
 * ignored, as RFC 2347 lets a server do; the first instance of a name wins. */
static void apply_option(struct tftp_options *o, const char *name, size_t nlen,
			 const char *val, size_t vlen)
{
	uint64_t v;

	if (name_is(name, nlen, "blksize") && !(o->present & TFTP_OPT_BLKSIZE)) {
		/* RFC 2348: 8..65464; a larger request may be answered smaller. */
		if (parse_u64(val, vlen, UINT64_MAX, &v) && v >= TFTP_BLKSIZE_MIN) {
			o->blksize = (uint16_t)(v > TFTP_BLKSIZE_MAX ? TFTP_BLKSIZE_MAX : v);
			o->present |= TFTP_OPT_BLKSIZE;
			return;
		}
	} else if (name_is(name, nlen, "tsize") && !(o->present & TFTP_OPT_TSIZE)) {
		if (parse_u64(val, vlen, UINT64_MAX, &v)) {
			o->tsize = v;
			o->present |= TFTP_OPT_TSIZE;
			return;
		}
	} else if (name_is(name, nlen, "timeout") && !(o->present & TFTP_OPT_TIMEOUT)) {
		if (parse_u64(val, vlen, TFTP_TIMEOUT_MAX, &v) && v >= TFTP_TIMEOUT_MIN) {
			o->timeout = (uint8_t)v;
			o->present |= TFTP_OPT_TIMEOUT;
			return;
		}
	} else if (name_is(name, nlen, "windowsize") && !(o->present & TFTP_OPT_WINDOWSIZE)) {
		if (parse_u64(val, vlen, TFTP_WINDOW_MAX, &v) && v >= TFTP_WINDOW_MIN) {
			o->windowsize = (uint16_t)v;
			o->present |= TFTP_OPT_WINDOWSIZE;
			return;
		}
	}
	o->ignored++;
}

/* Walks name\0value\0 pairs to the end of r.  Returns true when bytes that
 * do not form a complete pair were left over and ignored.
 *
 * Quirk: some Apple OpenFirmware versions put trailing garbage (NUL or 0xFF
 * bytes) after an otherwise valid request.  OpenBSD tftpd (parse_options)
 * stops parsing at an incomplete option instead of rejecting the request;
 * so do we. */
static bool parse_options(struct rd *r, struct tftp_options *o)
{
	while (r->rem > 0) {
		struct rd save = *r;
		const char *name, *val;
		size_t nlen, vlen;

		if (!rd_cstr(r, &name, &nlen) || !rd_cstr(r, &val, &vlen)) {
			*r = save;
			return true;
		}
		if (nlen == 0)
			continue; /* a stray NUL, e.g. padding: skip it */
		apply_option(o, name, nlen, val, vlen);
	}
	return false;
}

/* ---- parsers ------------------------------------------------------------- */

static int parse_mode(const char *s, size_t n, enum tftp_mode *mode)
{
	if (name_is(s, n, "octet"))
		*mode = TFTP_MODE_OCTET;
	else if (name_is(s, n, "netascii"))
		*mode = TFTP_MODE_NETASCII;
	else
		return -EPROTONOSUPPORT;
	return 0;
}

int tftp_parse_request(const uint8_t *pkt, size_t len, struct tftp_request *rq)
{
	struct rd r = rd_init(pkt, len);
	const char *mode;
	size_t mode_len;

	memset(rq, 0, sizeof(*rq));
	if (!rd_be16(&r, &rq->opcode))
		return -EBADMSG;
	if (rq->opcode != TFTP_RRQ && rq->opcode != TFTP_WRQ)
		return -EOPNOTSUPP;
	if (!rd_cstr(&r, &rq->filename, &rq->filename_len) || !rd_cstr(&r, &mode, &mode_len))
		return -EBADMSG;
	/* Quirk: old PXE ROMs copy DHCP option 67 with a trailing 0xFF into
	 * the file name (netboot.xyz-docs kb/networking/tftp-filename-issues). */
	while (rq->filename_len > 0 && (uint8_t)rq->filename[rq->filename_len - 1] == 0xff) {
		rq->filename_len--;
		rq->quirk_name_ff = true;
	}
	if (parse_mode(mode, mode_len, &rq->mode) < 0)
		return -EPROTONOSUPPORT;
	rq->quirk_trailing = parse_options(&r, &rq->opt);
	return 0;
}

static int parse_error(struct rd *r, struct tftp_msg *m)
{
	const uint8_t *nul;

	if (!rd_be16(r, &m->error_code))
		return -EBADMSG;
	/* Take the text up to a NUL or the end: a missing NUL is common enough
	 * in the wild that rejecting the ERROR would keep a dead transfer. */
	nul = memchr(r->p, 0, r->rem);
	m->error_msg = (const char *)r->p;
	m->error_msg_len = nul ? (size_t)(nul - r->p) : r->rem;
	return 0;
}

int tftp_parse_msg(const uint8_t *pkt, size_t len, struct tftp_msg *m)
{
	struct rd r = rd_init(pkt, len);

	memset(m, 0, sizeof(*m));
	if (!rd_be16(&r, &m->opcode))
		return -EBADMSG;
	switch (m->opcode) {
	case TFTP_DATA:
		if (!rd_be16(&r, &m->block))
			return -EBADMSG;
		m->data = r.p;
		m->data_len = r.rem;
		return 0;
	case TFTP_ACK:
		/* Bytes after the block number are ignored (RFC 1350 sizes
		 * nothing beyond it; some stacks pad to 60-byte frames). */
		return rd_be16(&r, &m->block) ? 0 : -EBADMSG;
	case TFTP_ERROR:
		return parse_error(&r, m);
	case TFTP_OACK:
		/* Quirk: IBM Tivoli sends OACKs with trailing garbage (iPXE
		 * tftp_rx_oack); an incomplete last option is ignored. */
		(void)parse_options(&r, &m->opt);
		return 0;
	default:
		return -EOPNOTSUPP;
	}
}

/* ---- builders ------------------------------------------------------------ */

static int wr_cstr(struct wr *w, const char *s)
{
	return wr_bytes(w, s, strlen(s) + 1);
}

static int wr_option(struct wr *w, const char *name, uint64_t v)
{
	char num[24];
	int r;

	snprintf(num, sizeof(num), "%llu", (unsigned long long)v);
	if ((r = wr_cstr(w, name)) < 0)
		return r;
	return wr_cstr(w, num);
}

static int wr_options(struct wr *w, const struct tftp_options *o)
{
	int r = 0;

	if (o->present & TFTP_OPT_BLKSIZE)
		r = wr_option(w, "blksize", o->blksize);
	if (r == 0 && (o->present & TFTP_OPT_TSIZE))
		r = wr_option(w, "tsize", o->tsize);
	if (r == 0 && (o->present & TFTP_OPT_TIMEOUT))
		r = wr_option(w, "timeout", o->timeout);
	if (r == 0 && (o->present & TFTP_OPT_WINDOWSIZE))
		r = wr_option(w, "windowsize", o->windowsize);
	return r;
}

int tftp_build_rrq(struct wr *w, const char *filename, enum tftp_mode mode,
		   const struct tftp_options *opt)
{
	int r;

	if ((r = wr_be16(w, TFTP_RRQ)) < 0 || (r = wr_cstr(w, filename)) < 0 ||
	    (r = wr_cstr(w, tftp_mode_name(mode))) < 0)
		return r;
	return opt ? wr_options(w, opt) : 0;
}

int tftp_build_data_header(struct wr *w, uint16_t block)
{
	int r = wr_be16(w, TFTP_DATA);

	return r < 0 ? r : wr_be16(w, block);
}

int tftp_build_ack(struct wr *w, uint16_t block)
{
	int r = wr_be16(w, TFTP_ACK);

	return r < 0 ? r : wr_be16(w, block);
}

int tftp_build_oack(struct wr *w, const struct tftp_options *opt)
{
	int r = wr_be16(w, TFTP_OACK);

	return r < 0 ? r : wr_options(w, opt);
}

int tftp_build_error(struct wr *w, uint16_t code, const char *msg)
{
	size_t n = strnlen(msg, TFTP_ERRMSG_MAX);
	int r;

	if ((r = wr_be16(w, TFTP_ERROR)) < 0 || (r = wr_be16(w, code)) < 0 ||
	    (r = wr_bytes(w, msg, n)) < 0)
		return r;
	return wr_u8(w, 0);
}

const char *tftp_mode_name(enum tftp_mode mode)
{
	return mode == TFTP_MODE_NETASCII ? "netascii" : "octet";
}

const char *tftp_error_text(uint16_t code)
{
	static const char *const text[] = {
		[TFTP_EUNDEF] = "Undefined error",
		[TFTP_ENOTFOUND] = "File not found",
		[TFTP_EACCESS] = "Access violation",
		[TFTP_ENOSPACE] = "Disk full or allocation exceeded",
		[TFTP_EBADOP] = "Illegal TFTP operation",
		[TFTP_EBADID] = "Unknown transfer ID",
		[TFTP_EEXISTS] = "File already exists",
		[TFTP_ENOUSER] = "No such user",
		[TFTP_EOPTNEG] = "Option negotiation failed",
	};

	return code < sizeof(text) / sizeof(text[0]) ? text[code] : "Unknown error";
}

/* ---- path cleaning ------------------------------------------------------- */

/* Appends component c (n bytes) to out at *o, with a separating slash. */
static int put_component(char *out, size_t cap, size_t *o, const char *c, size_t n)
{
	size_t need = n + (*o ? 1 : 0);

	if (need >= cap - *o)
		return -ENAMETOOLONG;
	if (*o)
		out[(*o)++] = '/';
	memcpy(out + *o, c, n);
	*o += n;
	return 0;
}

/* Removes a leading copy of root_abs ("/srv/netboot") from s, so that an
 * absolute path inside the root names the same file as a relative one. */
static size_t skip_root(const char *s, size_t n, const char *root_abs)
{
	size_t rl = root_abs ? strlen(root_abs) : 0;

	while (rl > 1 && root_abs[rl - 1] == '/')
		rl--;
	if (rl <= 1 || n <= rl || memcmp(s, root_abs, rl) != 0 || (s[rl] != '/' && s[rl] != '\\'))
		return 0;
	return rl;
}

static bool has_control(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return true;
	return false;
}

ssize_t tftp_path_clean(const char *name, size_t n, const char *root_abs, char *out,
			size_t cap)
{
	char buf[TFTP_PATH_MAX + 1];
	size_t o = 0, i;

	if (cap == 0)
		return -ENAMETOOLONG;
	if (cap > sizeof(buf))
		cap = sizeof(buf);
	if (has_control(name, n))
		return -EACCES;
	i = skip_root(name, n, root_abs);
	while (i < n) {
		size_t start, len;
		int r;

		/* Quirk: Windows-built clients and some PXE menus send
		 * backslashes (pxelinux treats them as slashes, so do we). */
		while (i < n && (name[i] == '/' || name[i] == '\\'))
			i++;
		for (start = i; i < n && name[i] != '/' && name[i] != '\\'; i++)
			;
		len = i - start;
		if (len == 0 || (len == 1 && name[start] == '.'))
			continue;
		if (len == 2 && name[start] == '.' && name[start + 1] == '.')
			return -EACCES;
		if ((r = put_component(buf, cap, &o, name + start, len)) < 0)
			return r;
	}
	if (o == 0)
		return -EACCES;
	memcpy(out, buf, o);
	out[o] = '\0';
	return (ssize_t)o;
}
