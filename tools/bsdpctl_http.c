// SPDX-License-Identifier: MIT
/*
 * libcurl behind bsdpctl_http.h.  Redirects are not followed (the token
 * would go with them), and only http and https are allowed, so a --server
 * URL cannot make curl speak file:// or another protocol.
 */
#include "bsdpctl_http.h"

#include <curl/curl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sink {
	struct ctl_reply *out;
	ctl_bytes_fn on_bytes;          /* streaming, once the status is 200 */
	void *ctx;
	CURL *curl;
	bool too_big;
};

static bool streaming(struct sink *s)
{
	long status = 0;

	if (!s->on_bytes)
		return false;
	curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &status);
	return status == 200;
}

static size_t on_data(char *p, size_t size, size_t nmemb, void *userdata)
{
	struct sink *s = userdata;
	size_t n = size * nmemb;
	char *grown;

	if (streaming(s))
		return s->on_bytes(s->ctx, p, n) == 0 ? n : 0;
	if (n > CTL_BODY_MAX - s->out->len) {
		s->too_big = true;
		return 0;
	}
	grown = realloc(s->out->body, s->out->len + n + 1);
	if (!grown)
		return 0;
	memcpy(grown + s->out->len, p, n);
	s->out->body = grown;
	s->out->len += n;
	grown[s->out->len] = '\0';
	return n;
}

static struct curl_slist *headers(const struct ctl_http *h, const char *body)
{
	char auth[512];
	struct curl_slist *l = NULL;

	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", h->token);
	l = curl_slist_append(l, auth);
	if (body)
		l = curl_slist_append(l, "Content-Type: application/json");
	return curl_slist_append(l, "Accept: application/json, text/event-stream");
}

static CURL *prepare(const struct ctl_http *h, const char *method, const char *path,
		     const char *body, struct sink *s, char *url, size_t cap)
{
	CURL *c = curl_easy_init();

	if (!c)
		return NULL;
	snprintf(url, cap, "%s%s", h->server, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, s);
	if (body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	}
	s->curl = c;
	return c;
}

static int perform(const struct ctl_http *h, const char *method, const char *path,
		   const char *body, struct sink *s, char *err, size_t cap)
{
	char url[4096];
	struct curl_slist *hdr = headers(h, body);
	CURL *c = prepare(h, method, path, body, s, url, sizeof(url));
	CURLcode rc;
	bool stopped;

	*s->out = (struct ctl_reply){ 0 };
	if (!c || !hdr) {
		snprintf(err, cap, "cannot set up the HTTP client");
		curl_slist_free_all(hdr);
		curl_easy_cleanup(c);
		return -1;
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
	if (!s->on_bytes)
		curl_easy_setopt(c, CURLOPT_TIMEOUT, h->timeout_s);
	rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &s->out->status);
	/* on_bytes asked to stop: curl calls that a write error. */
	stopped = rc == CURLE_WRITE_ERROR && !s->too_big && streaming(s);
	if (rc != CURLE_OK && !stopped)
		snprintf(err, cap, "%s: %s", url,
			 s->too_big ? "reply larger than 16 MiB" : curl_easy_strerror(rc));
	curl_slist_free_all(hdr);
	curl_easy_cleanup(c);
	if (rc == CURLE_OK || stopped)
		return 0;
	ctl_reply_free(s->out);
	return -1;
}

int ctl_request(const struct ctl_http *h, const char *method, const char *path,
		const char *body, struct ctl_reply *out, char *err, size_t cap)
{
	struct sink s = { .out = out };

	return perform(h, method, path, body, &s, err, cap);
}

int ctl_stream(const struct ctl_http *h, const char *path, ctl_bytes_fn on_bytes, void *ctx,
	       struct ctl_reply *out, char *err, size_t cap)
{
	struct sink s = { .out = out, .on_bytes = on_bytes, .ctx = ctx };

	return perform(h, "GET", path, NULL, &s, err, cap);
}

int ctl_http_init(void)
{
	return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

void ctl_http_done(void)
{
	curl_global_cleanup();
}

void ctl_reply_free(struct ctl_reply *r)
{
	free(r->body);
	*r = (struct ctl_reply){ 0 };
}
