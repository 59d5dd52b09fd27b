#include "controls.h"
#include "gpio.h"
#include "log.h"
#include "process.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool parse_enum_values(struct ic_control *m, const char *text, char *err, size_t errlen)
{
	const char *p = text;

	m->n_values = 0;
	while (*p) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);

		if (m->n_values == IC_ENUM_MAX || n == 0 || n > IC_ENUM_VALUE_MAX) {
			snprintf(err, errlen, "'control %s enum' expects 1 to %d comma-separated values of 1 to %d characters",
				 m->name, IC_ENUM_MAX, IC_ENUM_VALUE_MAX);
			return false;
		}
		memcpy(m->values[m->n_values], p, n);
		m->values[m->n_values][n] = '\0';
		m->n_values++;
		p += n + (end ? 1 : 0);
	}
	return m->n_values > 0;
}

bool control_value_parse(const struct ic_control *m, const char *text, double *out)
{
	char *end;

	switch (m->type) {
	case IC_SWITCH:
		if (!strcmp(text, "ON") || !strcmp(text, "on"))
			*out = 1;
		else if (!strcmp(text, "OFF") || !strcmp(text, "off"))
			*out = 0;
		else
			return false;
		return true;
	case IC_RANGE:
		*out = strtod(text, &end);
		return end != text && !*end && ic_control_value_valid(m, *out);
	case IC_ENUM:
		for (int i = 0; i < m->n_values; i++)
			if (!strcmp(text, m->values[i])) {
				*out = i;
				return true;
			}
		return false;
	}
	return false;
}

void control_value_format(const struct ic_control *m, double v, char *out, size_t cap)
{
	if (m->type == IC_SWITCH)
		snprintf(out, cap, "%s", v != 0 ? "ON" : "OFF");
	else if (m->type == IC_ENUM && v >= 0 && v < m->n_values)
		snprintf(out, cap, "%s", m->values[(int)v]);
	else
		snprintf(out, cap, "%.15g", v);
}

int gpio_level(double value, bool active_low)
{
	int on = value != 0;

	return active_low ? !on : on;
}

/* "VALUE after N ms|s|min|h" */
static bool parse_failsafe(struct ic_control *m, const char *const *a, char *err, size_t errlen)
{
	char *e;
	double n = strtod(a[2], &e);
	double scale = !strcmp(a[3], "ms") ? 1 : !strcmp(a[3], "s") ? 1000 : !strcmp(a[3], "min") ? 60000
		     : !strcmp(a[3], "h") ? 3600000 : 0;

	if (strcmp(a[1], "after") || e == a[2] || *e || !scale || !(n * scale >= 1) ||
	    n * scale > IC_FAILSAFE_MAX_MS) {
		snprintf(err, errlen, "'control %s failsafe' expects VALUE after N ms|s|min|h (1 ms to 1 h), e.g. "
				      "'failsafe 0 after 300 ms'", m->name);
		return false;
	}
	if (!control_value_parse(m, a[0], &m->failsafe)) {
		snprintf(err, errlen, "'control %s' has a failsafe that is not one of its values: '%s'", m->name, a[0]);
		return false;
	}
	m->failsafe_ms = (uint32_t)(n * scale);
	return true;
}

bool control_parse(struct control *c, const struct conf_line *l, char *err, size_t errlen)
{
	struct ic_control *m = &c->meta;
	int i = 3, end = l->argc;
	const char *type;

	memset(c, 0, sizeof(*c));
	if (l->argc < 4) {
		snprintf(err, errlen, "'control' expects: control NAME switch|range MIN MAX STEP|enum VALUES "
				      "simulated|hook PROGRAM|gpio CHIP LINE [active-low] [default VALUE] "
				      "[failsafe VALUE after N ms|s|min|h]");
		return false;
	}
	if (!ic_name_valid(l->argv[1], strlen(l->argv[1]))) {
		snprintf(err, errlen, "'control' expects a name of 1 to %d of a-z 0-9 _, got '%s'", IC_NAME_MAX,
			 l->argv[1]);
		return false;
	}
	memcpy(m->name, l->argv[1], strlen(l->argv[1]) + 1);
	type = l->argv[2];
	if (!strcmp(type, "switch")) {
		m->type = IC_SWITCH;
	} else if (!strcmp(type, "range")) {
		m->type = IC_RANGE;
		if (l->argc < 7 || !conf_double(l, 3, &m->min, err, errlen) ||
		    !conf_double(l, 4, &m->max, err, errlen) || !conf_double(l, 5, &m->step, err, errlen))
			goto bad_range;
		if (!(m->min < m->max && m->step > 0 && m->step <= m->max - m->min))
			goto bad_range;
		i = 6;
	} else if (!strcmp(type, "enum")) {
		m->type = IC_ENUM;
		if (!parse_enum_values(m, l->argv[3], err, errlen))
			return false;
		i = 4;
	} else {
		snprintf(err, errlen, "'control %s' expects a type of switch, range or enum, got '%s'", m->name, type);
		return false;
	}
	/* optional, at the end in either order: "default VALUE", "failsafe VALUE after N ms|s|min|h" */
	c->initial = m->type == IC_RANGE ? m->min : 0;
	for (bool have_default = false;;) {
		if (!have_default && end - 2 > i && !strcmp(l->argv[end - 2], "default")) {
			if (!control_value_parse(m, l->argv[end - 1], &c->initial)) {
				snprintf(err, errlen, "'control %s' has a default that is not one of its values: '%s'",
					 m->name, l->argv[end - 1]);
				return false;
			}
			have_default = true;
			end -= 2;
		} else if (!m->failsafe_ms && end - 5 > i && !strcmp(l->argv[end - 5], "failsafe")) {
			if (!parse_failsafe(m, (const char *const *)l->argv + end - 4, err, errlen))
				return false;
			end -= 5;
		} else {
			break;
		}
	}
	for (int j = i; j < end; j++)
		if (!strcmp(l->argv[j], "failsafe") || !strcmp(l->argv[j], "default")) {
			snprintf(err, errlen, "'control %s %s' expects %s", m->name, l->argv[j],
				 l->argv[j][0] == 'f' ? "VALUE after N ms|s|min|h (1 ms to 1 h), e.g. 'failsafe 0 after 300 ms'"
						      : "VALUE, once");
			return false;
		}
	if (i >= end) {
		snprintf(err, errlen, "'control %s' expects a backend: simulated, hook PROGRAM or gpio CHIP LINE", m->name);
		return false;
	}
	if (!strcmp(l->argv[i], "simulated") && end == i + 1) {
		c->backend = BACKEND_SIMULATED;
	} else if (!strcmp(l->argv[i], "hook") && end == i + 2 && strlen(l->argv[i + 1]) < sizeof(c->hook)) {
		c->backend = BACKEND_HOOK;
		memcpy(c->hook, l->argv[i + 1], strlen(l->argv[i + 1]) + 1);
	} else if (!strcmp(l->argv[i], "gpio") && (end == i + 3 || end == i + 4)) {
		char *e;
		unsigned long line = strtoul(l->argv[i + 2], &e, 10);

		if (m->type != IC_SWITCH) {
			snprintf(err, errlen, "'control %s': a gpio line can only be a switch", m->name);
			return false;
		}
		if (*e || e == l->argv[i + 2] || line > 4095 || strlen(l->argv[i + 1]) >= sizeof(c->chip)) {
			snprintf(err, errlen, "'control %s gpio' expects CHIP LINE (e.g. gpiochip0 17), got '%s %s'",
				 m->name, l->argv[i + 1], l->argv[i + 2]);
			return false;
		}
		if (end == i + 4 && strcmp(l->argv[i + 3], "active-low") != 0) {
			snprintf(err, errlen, "'control %s gpio' expects 'active-low' or nothing after the line, got '%s'",
				 m->name, l->argv[i + 3]);
			return false;
		}
		c->backend = BACKEND_GPIO;
		memcpy(c->chip, l->argv[i + 1], strlen(l->argv[i + 1]) + 1);
		c->line = (unsigned)line;
		c->active_low = end == i + 4;
	} else {
		snprintf(err, errlen, "'control %s' expects a backend of simulated, hook PROGRAM or gpio CHIP LINE "
				      "[active-low], got '%s'", m->name, l->argv[i]);
		return false;
	}
	return true;
bad_range:
	snprintf(err, errlen, "'control %s range' expects MIN MAX STEP with MIN < MAX and 0 < STEP <= MAX - MIN",
		 m->name);
	return false;
}

int control_open(struct control *c, char *err, size_t errlen)
{
	c->value = c->initial;
	if (c->backend == BACKEND_GPIO) {
		char why[160];

		c->gpio = gpio_out_open(c->chip, c->line, gpio_level(c->initial, c->active_low), why, sizeof(why));
		if (!c->gpio) {
			snprintf(err, errlen, "control %s: %s", c->meta.name, why);
			return -1;
		}
		return 0;
	}
	if (c->backend == BACKEND_HOOK) {
		/* bring the outside world to the initial value too */
		if (!control_apply(c, c->initial, err, errlen))
			log_warn("control %s: the hook refused the initial value: %s", c->meta.name, err);
	}
	return 0;
}

bool control_apply(struct control *c, double v, char *err, size_t errlen)
{
	char text[32], out[IC_ERROR_MAX + 1];
	int status;

	switch (c->backend) {
	case BACKEND_SIMULATED:
		break;
	case BACKEND_GPIO:
		if (!gpio_out_set(c->gpio, gpio_level(v, c->active_low))) {
			snprintf(err, errlen, "%s: setting the gpio line failed", c->meta.name);
			return false;
		}
		break;
	case BACKEND_HOOK: {
		char *argv[] = { c->hook, c->meta.name, text, NULL };

		control_value_format(&c->meta, v, text, sizeof(text));
		status = process_run(argv, HOOK_TIMEOUT_MS, out, sizeof(out));
		if (status != 0) {
			/* the hook's first line of output is its reason */
			out[strcspn(out, "\n")] = '\0';
			for (char *p = out; *p; p++)
				if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
					*p = '?';
			if (out[0])
				snprintf(err, errlen, "%s: %s", c->meta.name, out);
			else if (status < 0)
				snprintf(err, errlen, "%s: the hook failed or took longer than %d ms", c->meta.name,
					 HOOK_TIMEOUT_MS);
			else
				snprintf(err, errlen, "%s: the hook exited with status %d", c->meta.name, status);
			return false;
		}
		break;
	}
	}
	c->value = v;
	return true;
}

void control_close(struct control *c)
{
	if (!c || !c->gpio)
		return;
	gpio_out_close(c->gpio);
	c->gpio = NULL;
}
