#include "conf.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool conf_split(char *line, int *argc, char **argv, int max, char *err, size_t errlen)
{
	char *r = line, *w;
	int n = 0;

	for (;;) {
		while (*r == ' ' || *r == '\t' || *r == '\r' || *r == '\n')
			r++;
		if (*r == '\0' || *r == '#')
			break;
		if (n == max) {
			snprintf(err, errlen, "too many words (at most %d)", max);
			return false;
		}
		argv[n++] = w = r;
		if (*r == '"') {
			r++;
			while (*r != '"') {
				if (*r == '\0') {
					snprintf(err, errlen, "unclosed quote");
					return false;
				}
				if (*r == '\\' && (r[1] == '"' || r[1] == '\\'))
					r++;
				*w++ = *r++;
			}
			r++;
			if (*r != '\0' && *r != ' ' && *r != '\t' && *r != '\r' && *r != '\n') {
				snprintf(err, errlen, "expected a space after a closing quote");
				return false;
			}
		} else {
			while (*r && *r != ' ' && *r != '\t' && *r != '\r' && *r != '\n')
				*w++ = *r++;
		}
		if (*r)
			r++;
		*w = '\0';
	}
	*argc = n;
	return true;
}

int conf_load(const char *path, conf_handler fn, void *ctx)
{
	char buf[CONF_LINE_MAX + 2], err[256];
	struct conf_line l = { .file = path };
	int errors = 0;
	FILE *f = fopen(path, "r");

	if (!f) {
		int e = errno;
		conf_error("%s: cannot open: %s\n", path, strerror(e));
		return -e;
	}
	while (fgets(buf, sizeof(buf), f)) {
		size_t len = strlen(buf);

		l.line++;
		if (len > CONF_LINE_MAX && buf[len - 1] != '\n') {
			conf_error("%s:%d: line longer than %d bytes\n", path, l.line, CONF_LINE_MAX);
			errors++;
			while (len && buf[len - 1] != '\n' && fgets(buf, sizeof(buf), f))
				len = strlen(buf);
			continue;
		}
		err[0] = '\0';
		if (!conf_split(buf, &l.argc, l.argv, CONF_MAX_ARGS, err, sizeof(err)) ||
		    (l.argc > 0 && !fn(ctx, &l, err, sizeof(err)))) {
			conf_error("%s:%d: %s\n", path, l.line, err);
			errors++;
		}
	}
	if (ferror(f)) {
		conf_error("%s: read error\n", path);
		errors++;
	}
	fclose(f);
	return errors;
}

bool conf_want_args(const struct conf_line *l, int min, int max, const char *usage,
		    char *err, size_t errlen)
{
	int n = l->argc - 1;

	if (n >= min && n <= max)
		return true;
	snprintf(err, errlen, "'%s' expects: %s %s", l->argv[0], l->argv[0], usage);
	return false;
}

bool conf_long(const struct conf_line *l, int i, long min, long max, long *out,
	       char *err, size_t errlen)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(l->argv[i], &end, 10);
	if (errno || end == l->argv[i] || *end || v < min || v > max) {
		snprintf(err, errlen, "'%s' expects a whole number from %ld to %ld, got '%s'",
			 l->argv[0], min, max, l->argv[i]);
		return false;
	}
	*out = v;
	return true;
}

bool conf_double(const struct conf_line *l, int i, double *out, char *err, size_t errlen)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(l->argv[i], &end);
	if (errno || end == l->argv[i] || *end || !isfinite(v)) {
		snprintf(err, errlen, "'%s' expects a number, got '%s'", l->argv[0], l->argv[i]);
		return false;
	}
	*out = v;
	return true;
}

bool conf_bool(const struct conf_line *l, int i, bool *out, char *err, size_t errlen)
{
	const char *s = l->argv[i];

	if (!strcmp(s, "true") || !strcmp(s, "yes") || !strcmp(s, "on")) {
		*out = true;
		return true;
	}
	if (!strcmp(s, "false") || !strcmp(s, "no") || !strcmp(s, "off")) {
		*out = false;
		return true;
	}
	snprintf(err, errlen, "'%s' expects true or false, got '%s'", l->argv[0], s);
	return false;
}

bool conf_read_secret(const struct conf_line *l, int i, char *dst, size_t cap, char *err, size_t errlen)
{
	const char *path = l->argv[i];
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f) {
		snprintf(err, errlen, "'%s' cannot open '%s': %s", l->argv[0], path, strerror(errno));
		return false;
	}
	n = fread(dst, 1, cap - 1, f);
	fclose(f);
	dst[n] = '\0';
	while (n && (dst[n - 1] == '\n' || dst[n - 1] == '\r'))
		dst[--n] = '\0';
	if (n == 0) {
		snprintf(err, errlen, "'%s' '%s' is empty", l->argv[0], path);
		return false;
	}
	return true;
}

bool conf_log_level(const struct conf_line *l, int *out, char *err, size_t errlen)
{
	static const char *const names[] = { "error", "warning", "info", "debug" };

	if (!conf_want_args(l, 1, 1, "error|warning|info|debug", err, errlen))
		return false;
	for (int i = 0; i < 4; i++)
		if (!strcmp(l->argv[1], names[i])) {
			*out = i;
			return true;
		}
	snprintf(err, errlen, "'%s' expects error, warning, info or debug, got '%s'", l->argv[0], l->argv[1]);
	return false;
}

bool conf_prefix(const struct conf_line *l, char *out, size_t cap, char *err, size_t errlen)
{
	if (!conf_want_args(l, 1, 1, "PREFIX", err, errlen))
		return false;
	if (!prefix_valid(l->argv[1]) || strlen(l->argv[1]) >= cap) {
		snprintf(err, errlen, "'%s' expects topic levels of A-Z a-z 0-9 _ - separated by '/', got '%s'",
			 l->argv[0], l->argv[1]);
		return false;
	}
	memcpy(out, l->argv[1], strlen(l->argv[1]) + 1);
	return true;
}

bool conf_string(const struct conf_line *l, int i, char *out, size_t cap, char *err, size_t errlen)
{
	size_t n = strlen(l->argv[i]);

	if (n >= cap) {
		snprintf(err, errlen, "'%s' value is longer than %zu bytes", l->argv[0], cap - 1);
		return false;
	}
	memcpy(out, l->argv[i], n + 1);
	return true;
}

bool conf_check_listen(const char *path, const char *listen)
{
	struct sockaddr_storage ss;
	socklen_t sl;

	if (addr_parse(&ss, &sl, listen, true) < 0) {
		conf_error("%s: 'listen' expects HOST:PORT, got '%s'\n", path, listen);
		return false;
	}
	return true;
}
