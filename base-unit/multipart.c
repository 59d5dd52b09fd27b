#include "multipart.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define STREAM_TYPE "multipart/x-mixed-replace"

/* The boundary parameter of a Content-Type, unquoted, into out. */
static bool boundary_of(const char *ct, char *out, size_t cap)
{
	const char *p;
	size_t n;

	if (!ct || strncasecmp(ct, STREAM_TYPE, strlen(STREAM_TYPE)))
		return false;
	for (p = ct + strlen(STREAM_TYPE); *p; p++)
		if (!strncasecmp(p, "boundary=", 9))
			break;
	if (!*p)
		return false;
	p += 9;
	if (*p == '"') {
		const char *end = strchr(++p, '"');
		n = end ? (size_t)(end - p) : 0;
	} else {
		n = strcspn(p, "; \t\r\n");
	}
	if (n == 0 || n > MULTIPART_BOUNDARY_MAX || n >= cap)
		return false;
	memcpy(out, p, n);
	out[n] = '\0';
	return true;
}

bool multipart_is_stream(const char *content_type)
{
	char b[MULTIPART_BOUNDARY_MAX + 1];

	return boundary_of(content_type, b, sizeof(b));
}

bool multipart_init(struct multipart *m, const char *content_type, size_t max)
{
	char b[MULTIPART_BOUNDARY_MAX + 1];

	memset(m, 0, sizeof(*m));
	if (!boundary_of(content_type, b, sizeof(b)))
		return false;
	/* "--" and the boundary; a server that put the dashes into the boundary
	 * itself (some cameras do) is taken at its word. */
	m->delim_len = (size_t)snprintf(m->delim, sizeof(m->delim), "%s%s", strncmp(b, "--", 2) ? "--" : "", b);
	m->max = max;
	m->cap = max + MULTIPART_HEADERS_MAX + sizeof(m->delim) + 4;
	m->want = -1;
	return (m->buf = malloc(m->cap)) != NULL;
}

void multipart_free(struct multipart *m)
{
	free(m->buf);
	m->buf = NULL;
	m->len = 0;
}

static void consume(struct multipart *m, size_t n)
{
	memmove(m->buf, m->buf + n, m->len - n);
	m->len -= n;
}

static const uint8_t *find(const uint8_t *hay, size_t n, const char *needle, size_t k)
{
	return k <= n ? memmem(hay, n, needle, k) : NULL;
}

/* Back to looking for a delimiter in what is buffered. */
static void seek(struct multipart *m)
{
	m->state = MP_SEEK;
	m->want = -1;
	m->scanned = 0;
}

/* The headers of a part, up to its empty line: its Content-Length, or -1. */
static bool headers(struct multipart *m, size_t *used)
{
	size_t off = 0;

	m->want = -1;
	for (;;) {
		const uint8_t *nl = memchr(m->buf + off, '\n', m->len - off);
		size_t line, end;

		if (!nl)
			return false;
		end = (size_t)(nl - m->buf);
		line = end - off - (end > off && m->buf[end - 1] == '\r');
		if (line == 0) {
			*used = end + 1;
			return true;
		}
		if (line > 15 && !strncasecmp((const char *)m->buf + off, "content-length:", 15)) {
			char num[24];
			size_t k = line - 15 < sizeof(num) - 1 ? line - 15 : sizeof(num) - 1;
			char *e;
			long long v;

			memcpy(num, m->buf + off + 15, k);
			num[k] = '\0';
			v = strtoll(num, &e, 10);
			while (*e == ' ' || *e == '\t')
				e++;
			m->want = (*e || v < 0) ? -2 : v;	/* -2: not a number */
		}
		off = end + 1;
	}
}

/* Runs the state machine over what is buffered; false when it needs more. */
static bool step(struct multipart *m, void (*part)(void *, const uint8_t *, size_t), void *ctx)
{
	const uint8_t *at;
	size_t used;

	switch (m->state) {
	case MP_SEEK:
		if (!(at = find(m->buf, m->len, m->delim, m->delim_len))) {
			/* keep only what could be the start of one */
			if (m->len >= m->delim_len)
				consume(m, m->len - (m->delim_len - 1));
			return false;
		}
		consume(m, (size_t)(at - m->buf) + m->delim_len);
		m->state = MP_LINE;
		return true;
	case MP_LINE:	/* the rest of the delimiter's line ("--" after it: the end) */
		if (!(at = memchr(m->buf, '\n', m->len))) {
			if (m->len > 256) {
				m->stats.bad++;
				seek(m);
				return true;
			}
			return false;
		}
		if (m->len >= 2 && !memcmp(m->buf, "--", 2)) {
			consume(m, (size_t)(at - m->buf) + 1);
			m->state = MP_SEEK;
			return true;
		}
		consume(m, (size_t)(at - m->buf) + 1);
		m->state = MP_HEADERS;
		return true;
	case MP_HEADERS:
		if (!headers(m, &used)) {
			if (m->len > MULTIPART_HEADERS_MAX) {
				m->stats.bad++;
				seek(m);
				return true;
			}
			return false;
		}
		consume(m, used);
		if (m->want == -2) {
			m->stats.bad++;
			seek(m);
			return true;
		}
		if (m->want > (long long)m->max) {
			m->stats.too_big++;
			seek(m);
			return true;
		}
		m->state = MP_BODY;
		m->scanned = 0;
		return true;
	case MP_BODY: {
		/* The next delimiter ends a part without a length; inside one
		 * with a length, it means the length was a lie. */
		size_t from = m->scanned > m->delim_len + 2 ? m->scanned - m->delim_len - 2 : 0;
		size_t limit = m->want >= 0 && (size_t)m->want < m->len ? (size_t)m->want : m->len;
		size_t end;

		at = find(m->buf + from, limit - from, m->delim, m->delim_len);
		if (at && m->want >= 0) {
			m->stats.bad++;
			consume(m, (size_t)(at - m->buf));
			m->state = MP_SEEK;
			return true;
		}
		if (at) {
			end = (size_t)(at - m->buf);
			used = end + m->delim_len;
			if (end >= 2 && m->buf[end - 2] == '\r' && m->buf[end - 1] == '\n')
				end -= 2;
			else if (end >= 1 && m->buf[end - 1] == '\n')
				end -= 1;
		} else if (m->want >= 0 && m->len >= (size_t)m->want) {
			end = used = (size_t)m->want;
		} else {
			m->scanned = limit;
			if (m->want < 0 && m->len > m->max) {
				m->stats.too_big++;
				seek(m);
				return true;
			}
			return false;
		}
		if (end > m->max) {	/* found its end, but too late */
			m->stats.too_big++;
			consume(m, used);
			m->state = MP_LINE;
			return true;
		}
		m->stats.parts++;
		part(ctx, m->buf, end);
		consume(m, used);
		m->scanned = 0;
		/* a part without a length ended at a delimiter: its line follows */
		m->state = at ? MP_LINE : MP_SEEK;
		return true;
	}
	}
	return false;
}

void multipart_feed(struct multipart *m, const uint8_t *p, size_t n,
		    void (*part)(void *ctx, const uint8_t *data, size_t len), void *ctx)
{
	while (n > 0) {
		size_t k = m->cap - m->len < n ? m->cap - m->len : n;

		memcpy(m->buf + m->len, p, k);
		m->len += k;
		p += k;
		n -= k;
		while (step(m, part, ctx))
			;
		if (m->len == m->cap) {	/* nothing could be taken from a full buffer */
			m->stats.too_big++;
			seek(m);
		}
	}
}
