#include "sensors.h"
#include "agent.h"
#include "log.h"
#include "process.h"
#include "util.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COMMAND_TIMEOUT_MS 2000	/* a sensor command must answer within this */
#define COMMAND_OUTPUT_MAX 256

bool sensor_parse(struct sensor *s, const struct conf_line *l, char *err, size_t errlen)
{
	const char *src;
	size_t nl;

	memset(s, 0, sizeof(*s));
	s->scale = 1;
	if (l->argc < 4) {
		snprintf(err, errlen, "'sensor' expects: sensor NAME UNIT simulated|file|command ARGS");
		return false;
	}
	nl = strlen(l->argv[1]);
	if (!ic_name_valid(l->argv[1], nl)) {
		snprintf(err, errlen, "'sensor' expects a name of 1 to %d of a-z 0-9 _, got '%s'",
			 IC_NAME_MAX, l->argv[1]);
		return false;
	}
	memcpy(s->meta.name, l->argv[1], nl + 1);
	if (strcmp(l->argv[2], "-") != 0) {
		if (strlen(l->argv[2]) > IC_UNIT_MAX || strpbrk(l->argv[2], "\"\\")) {
			snprintf(err, errlen, "'sensor %s' expects a unit of at most %d bytes without quotes, got '%s'",
				 s->meta.name, IC_UNIT_MAX, l->argv[2]);
			return false;
		}
		memcpy(s->meta.unit, l->argv[2], strlen(l->argv[2]) + 1);
	}
	src = l->argv[3];
	if (!strcmp(src, "simulated")) {
		/* simulated START [STEP [MIN MAX]] */
		s->source = SRC_SIMULATED;
		s->step = 0.1;
		s->min = -1e9;
		s->max = 1e9;
		if (l->argc != 5 && l->argc != 6 && l->argc != 8) {
			snprintf(err, errlen, "'sensor %s simulated' expects START [STEP [MIN MAX]]", s->meta.name);
			return false;
		}
		if (!conf_double(l, 4, &s->value, err, errlen) ||
		    (l->argc >= 6 && !conf_double(l, 5, &s->step, err, errlen)) ||
		    (l->argc == 8 && (!conf_double(l, 6, &s->min, err, errlen) ||
				      !conf_double(l, 7, &s->max, err, errlen))))
			return false;
		return true;
	}
	if (!strcmp(src, "file") || !strcmp(src, "command")) {
		s->source = src[0] == 'f' ? SRC_FILE : SRC_COMMAND;
		if (l->argc < 5 || l->argc > 7) {
			snprintf(err, errlen, "'sensor %s %s' expects %s [SCALE [OFFSET]]", s->meta.name, src,
				 s->source == SRC_FILE ? "PATH" : "\"COMMAND\"");
			return false;
		}
		if (strlen(l->argv[4]) >= sizeof(s->arg)) {
			snprintf(err, errlen, "'sensor %s' %s is too long", s->meta.name, src);
			return false;
		}
		memcpy(s->arg, l->argv[4], strlen(l->argv[4]) + 1);
		if ((l->argc >= 6 && !conf_double(l, 5, &s->scale, err, errlen)) ||
		    (l->argc == 7 && !conf_double(l, 6, &s->offset, err, errlen)))
			return false;
		return true;
	}
	snprintf(err, errlen, "'sensor %s' expects a source of simulated, file or command, got '%s'",
		 s->meta.name, src);
	return false;
}

static bool parse_number(const char *text, double *out)
{
	char *end;
	double v;

	while (*text == ' ' || *text == '\t' || *text == '\n')
		text++;
	errno = 0;
	v = strtod(text, &end);
	if (end == text || errno || !isfinite(v))
		return false;
	*out = v;
	return true;
}

static bool read_file(const struct sensor *s, char *buf, size_t cap, char *why, size_t whylen)
{
	FILE *f = fopen(s->arg, "r");
	size_t n;

	if (!f) {
		snprintf(why, whylen, "cannot open %s: %s", s->arg, strerror(errno));
		return false;
	}
	n = fread(buf, 1, cap - 1, f);
	buf[n] = '\0';
	fclose(f);
	return true;
}

static bool run_command(const struct sensor *s, char *buf, size_t cap, char *why, size_t whylen)
{
	char *argv[] = { "/bin/sh", "-c", (char *)s->arg, NULL };
	int status = process_run(argv, COMMAND_TIMEOUT_MS, buf, cap);

	if (status != 0) {
		snprintf(why, whylen, "command %s", status < 0 ? "failed or timed out" : "exited non-zero");
		return false;
	}
	return true;
}

static bool sensor_failed(struct sensor *s, const char *why)
{
	unsigned long n = ++s->failing, p = 1;

	/* Stopping: systemd's SIGTERM reaches a sensor's command too (its
	 * cgroup), and a command cut short then is no fault of the sensor. */
	if (agent_stopping()) {
		log_debug("sensor %s: %s (stopping)", s->meta.name, why);
		return false;
	}
	while (p < n && p <= ULONG_MAX / 10)
		p *= 10;
	if (p == n && n == 1)
		log_warn("sensor %s: %s", s->meta.name, why);
	else if (p == n)
		log_warn("sensor %s: %s (%lu times in a row)", s->meta.name, why, n);
	return false;
}

bool sensor_read(struct sensor *s, double *out)
{
	char buf[COMMAND_OUTPUT_MAX + 1], why[600];
	double v;

	switch (s->source) {
	case SRC_SIMULATED:
		/* A random walk in steps of up to one step, kept inside [min, max]. */
		s->value += s->step * ((double)random_between(0, 2000) / 1000.0 - 1.0);
		if (s->value < s->min)
			s->value = s->min;
		if (s->value > s->max)
			s->value = s->max;
		*out = round(s->value * 100) / 100;
		return true;
	case SRC_FILE:
		if (!read_file(s, buf, sizeof(buf), why, sizeof(why)))
			return sensor_failed(s, why);
		break;
	case SRC_COMMAND:
		if (!run_command(s, buf, sizeof(buf), why, sizeof(why)))
			return sensor_failed(s, why);
		break;
	}
	if (!parse_number(buf, &v)) {
		snprintf(why, sizeof(why), "no number in the output of %s", s->arg);
		return sensor_failed(s, why);
	}
	if (s->failing)
		log_info("sensor %s: read again after %lu failures", s->meta.name, s->failing);
	s->failing = 0;
	*out = v * s->scale + s->offset;
	return true;
}
