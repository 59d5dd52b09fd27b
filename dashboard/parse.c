#include "parse.h"
#include "util.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SET_BODY_MAX 4096

static bool copy_span(const char *s, size_t n, char *out, size_t cap)
{
	if (n == 0 || n >= cap)
		return false;
	memcpy(out, s, n);
	out[n] = '\0';
	return true;
}

bool cookie_get(const char *header, const char *name, char *out, size_t cap)
{
	size_t nlen = strlen(name);
	const char *p = header;

	if (!header || !nlen)
		return false;
	while (*p) {
		const char *end, *eq;

		while (*p == ' ' || *p == '\t' || *p == ';')
			p++;
		end = strchr(p, ';');
		if (!end)
			end = p + strlen(p);
		eq = memchr(p, '=', (size_t)(end - p));
		if (eq && (size_t)(eq - p) == nlen && !memcmp(p, name, nlen)) {
			const char *v = eq + 1, *ve = end;
			while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
				ve--;
			if (ve - v >= 2 && *v == '"' && ve[-1] == '"') {
				v++;
				ve--;
			}
			return copy_span(v, (size_t)(ve - v), out, cap);
		}
		p = end;
	}
	return false;
}

bool bearer_get(const char *header, char *out, size_t cap)
{
	const char *p;

	if (!header || strncasecmp(header, "Bearer ", 7))
		return false;
	p = header + 7;
	while (*p == ' ')
		p++;
	for (const char *q = p; *q; q++)
		if (*q <= ' ' || *q > '~')
			return false;
	return copy_span(p, strlen(p), out, cap);
}

/* Decodes s[0..n) into out; false on a bad escape, an encoded NUL or overflow. */
static bool form_decode(const char *s, size_t n, char *out, size_t cap)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '+') {
			c = ' ';
		} else if (c == '%') {
			int hi, lo;
			if (i + 2 >= n)
				return false;
			hi = hex_digit(s[i + 1]);
			lo = hex_digit(s[i + 2]);
			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
				return false;
			c = (char)(hi << 4 | lo);
			i += 2;
		} else if (c == '\0') {
			return false;
		}
		if (o + 1 >= cap)
			return false;
		out[o++] = c;
	}
	out[o] = '\0';
	return true;
}

bool form_get(const char *body, size_t len, const char *name, char *out, size_t cap)
{
	size_t nlen = strlen(name), i = 0;

	if (!body || !nlen || cap == 0)
		return false;
	while (i < len) {
		size_t start = i, end, eq;
		while (i < len && body[i] != '&')
			i++;
		end = i++;
		for (eq = start; eq < end && body[eq] != '='; eq++)
			;
		if (eq - start == nlen && !memcmp(body + start, name, nlen)) {
			if (eq == end)
				return false;
			return form_decode(body + eq + 1, end - eq - 1, out, cap);
		}
	}
	return false;
}

bool origin_matches(const char *origin, const char *host, bool tls)
{
	const char *scheme = tls ? "https://" : "http://";
	size_t sl = strlen(scheme);

	if (!origin || !host || !*host)
		return false;
	if (strncasecmp(origin, scheme, sl))
		return false;
	return !strcasecmp(origin + sl, host);
}

static bool static_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
	       c == '_' || c == '-';
}

bool static_path_ok(const char *path)
{
	int segments = 0;
	const char *p = path;

	if (!path || path[0] != '/' || strlen(path) > 255)
		return false;
	while (*p == '/') {
		const char *s = ++p;
		while (*p && *p != '/') {
			if (!static_char(*p))
				return false;
			p++;
		}
		size_t n = (size_t)(p - s);
		if (n == 0 || n > 64 || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
			return false;
		if (++segments > 8)
			return false;
	}
	return *p == '\0';
}

bool api_device_path(const char *path, char id[DEVICE_ID_MAX + 1], const char **rest)
{
	static const char pre[] = "/api/devices/";
	const char *p, *slash;
	size_t n;

	if (strncmp(path, pre, sizeof(pre) - 1))
		return false;
	p = path + sizeof(pre) - 1;
	slash = strchr(p, '/');
	n = slash ? (size_t)(slash - p) : strlen(p);
	if (n == 0 || n > DEVICE_ID_MAX)
		return false;
	memcpy(id, p, n);
	id[n] = '\0';
	if (!device_id_valid(id, strlen(id)))
		return false;
	*rest = slash ? slash + 1 : "";
	return true;
}

bool set_body_prepare(const char *body, size_t len, const char *our_id, double expires, char **out,
		      char user_id[SET_ID_MAX + 1], char *err, size_t errlen)
{
	cJSON *root, *id, *exp;
	bool ok = false;

	*out = NULL;
	user_id[0] = '\0';
	if (len == 0 || len > SET_BODY_MAX) {
		snprintf(err, errlen, len ? "the set is longer than %d bytes" : "the body is empty",
			 SET_BODY_MAX);
		return false;
	}
	root = cJSON_ParseWithLength(body, len);
	if (!cJSON_IsObject(root)) {
		snprintf(err, errlen, "the body is not a JSON object");
		goto out;
	}
	id = cJSON_GetObjectItemCaseSensitive(root, "id");
	if (id) {
		const char *s = cJSON_GetStringValue(id);
		size_t n = s ? strlen(s) : 0;
		if (!s || n > SET_ID_MAX) {
			snprintf(err, errlen, "\"id\" must be a string of at most %d characters", SET_ID_MAX);
			goto out;
		}
		for (size_t i = 0; i < n; i++)
			if (s[i] < ' ' || s[i] > '~') {
				snprintf(err, errlen, "\"id\" must be printable ASCII");
				goto out;
			}
		memcpy(user_id, s, n + 1);
		cJSON_DeleteItemFromObjectCaseSensitive(root, "id");
		if (cJSON_GetObjectItemCaseSensitive(root, "id")) {
			snprintf(err, errlen, "\"id\" is given twice");
			goto out;
		}
	}
	/* Our own wait ends: the set must not be carried out after it (the
	 * caller's "expires" stays if it is earlier). */
	exp = cJSON_GetObjectItemCaseSensitive(root, "expires");
	if (expires > 0 && exp && cJSON_IsNumber(exp) && exp->valuedouble > expires)
		cJSON_DeleteItemFromObjectCaseSensitive(root, "expires");
	if (expires > 0 && !cJSON_GetObjectItemCaseSensitive(root, "expires") &&
	    !cJSON_AddNumberToObject(root, "expires", expires)) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (!root->child) {
		snprintf(err, errlen, "the set names no control");
		goto out;
	}
	if (!cJSON_AddStringToObject(root, "id", our_id) || !(*out = cJSON_PrintUnformatted(root))) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	ok = true;
out:
	cJSON_Delete(root);
	return ok;
}

bool secret_equal(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned char d = la != lb;

	for (size_t i = 0; i < la && i < lb; i++)
		d |= (unsigned char)(a[i] ^ b[i]);
	return d == 0;
}

bool jpeg_complete(const void *data, size_t len)
{
	const unsigned char *p = data;

	return len >= 4 && p[0] == 0xFF && p[1] == 0xD8 && p[len - 2] == 0xFF && p[len - 1] == 0xD9;
}
