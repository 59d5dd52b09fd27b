/*
 * Configuration files in the style of mosquitto.conf: one "key value..." per
 * line, '#' starts a comment, double quotes group words ("a b", with \" and
 * \\ inside). Shared by the base unit, the agents and the dashboard.
 *
 * The parser does no I/O of its own beyond reading the file, so tests and the
 * fuzzer call the same conf_split() the programs use.
 */
#ifndef CONF_H
#define CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONF_MAX_ARGS 16
#define CONF_LINE_MAX 1024

struct conf_line {
	const char *file;
	int line;
	int argc;			/* argv[0] is the key */
	char *argv[CONF_MAX_ARGS];
};

/* Called once per non-empty line. Return false and write what was expected to
 * err; conf_load() prefixes it with "file:line: ". */
typedef bool (*conf_handler)(void *ctx, const struct conf_line *l, char *err, size_t errlen);

/* Splits line in place. False (and err) on an unclosed quote or too many words. */
bool conf_split(char *line, int *argc, char **argv, int max, char *err, size_t errlen);

/* Reads path and feeds every line to fn. Errors go to stderr as
 * "file:line: message". Returns the number of errors, or -errno if the file
 * cannot be read. */
int conf_load(const char *path, conf_handler fn, void *ctx);

/* Helpers for handlers; each writes an error naming the key on failure. */
bool conf_want_args(const struct conf_line *l, int min, int max, const char *usage,
		    char *err, size_t errlen);
bool conf_long(const struct conf_line *l, int i, long min, long max, long *out,
	       char *err, size_t errlen);
bool conf_double(const struct conf_line *l, int i, double *out, char *err, size_t errlen);
bool conf_bool(const struct conf_line *l, int i, bool *out, char *err, size_t errlen);
/* argv[i] into out (cap bytes with its NUL), or an error naming the key. */
bool conf_string(const struct conf_line *l, int i, char *out, size_t cap, char *err, size_t errlen);
/* Reads the first line of the file named by argv[i] (a password file) into dst,
 * without its line ending. An empty or unreadable file is an error. */
bool conf_read_secret(const struct conf_line *l, int i, char *dst, size_t cap, char *err, size_t errlen);
/* log_level: error|warning|info|debug -> 0..3 (enum log_level). */
bool conf_log_level(const struct conf_line *l, int *out, char *err, size_t errlen);
/* A topic prefix (prefix_valid()) copied to out. */
bool conf_prefix(const struct conf_line *l, char *out, size_t cap, char *err, size_t errlen);
/* A listen address that parses, checked once the whole file is read; the
 * error goes to stderr as "path: ...". */
bool conf_check_listen(const char *path, const char *listen);

#endif
