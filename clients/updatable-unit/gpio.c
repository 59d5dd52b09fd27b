#include "gpio.h"

#include <errno.h>
#include <gpiod.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONSUMER "updatable-unit"

#ifndef GPIOD_API_V2

struct gpio_out {
	struct gpiod_chip *chip;
	struct gpiod_line *line;
};

struct gpio_out *gpio_out_open(const char *chip, unsigned line, int level, char *err, size_t errlen)
{
	struct gpio_out *g = calloc(1, sizeof(*g));

	if (!g) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	/* open_lookup takes a name, a number, a path or a label. */
	if (!(g->chip = gpiod_chip_open_lookup(chip))) {
		snprintf(err, errlen, "no gpio chip '%s' (%s)", chip, strerror(errno));
		free(g);
		return NULL;
	}
	g->line = gpiod_chip_get_line(g->chip, line);
	if (!g->line || gpiod_line_request_output(g->line, CONSUMER, level) < 0) {
		snprintf(err, errlen, "cannot drive line %u of %s (%s)", line, chip, strerror(errno));
		gpiod_chip_close(g->chip);
		free(g);
		return NULL;
	}
	return g;
}

bool gpio_out_set(struct gpio_out *g, int level)
{
	return gpiod_line_set_value(g->line, level) == 0;
}

void gpio_out_close(struct gpio_out *g)
{
	if (!g)
		return;
	gpiod_line_release(g->line);
	gpiod_chip_close(g->chip);
	free(g);
}

#else /* libgpiod 2 */

#include <dirent.h>

struct gpio_out {
	struct gpiod_chip *chip;
	struct gpiod_line_request *req;
	unsigned offset;
};

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

/* libgpiod 2 opens paths only; this gives the names 1.x looked up. */
static struct gpiod_chip *open_chip(const char *name)
{
	char path[300];
	struct gpiod_chip *c;
	DIR *dir;
	struct dirent *e;

	if (strchr(name, '/'))
		return gpiod_chip_open(name);
	if (all_digits(name))
		snprintf(path, sizeof(path), "/dev/gpiochip%s", name);
	else
		snprintf(path, sizeof(path), "/dev/%s", name);
	if ((c = gpiod_chip_open(path)))
		return c;
	if (!(dir = opendir("/dev")))
		return NULL;
	while ((e = readdir(dir))) {
		struct gpiod_chip_info *info;
		bool match;

		if (strncmp(e->d_name, "gpiochip", 8))
			continue;
		snprintf(path, sizeof(path), "/dev/%s", e->d_name);
		if (!(c = gpiod_chip_open(path)))
			continue;
		info = gpiod_chip_get_info(c);
		match = info && !strcmp(gpiod_chip_info_get_label(info), name);
		gpiod_chip_info_free(info);
		if (match)
			break;
		gpiod_chip_close(c);
		c = NULL;
	}
	closedir(dir);
	if (!c)
		errno = ENOENT;
	return c;
}

struct gpio_out *gpio_out_open(const char *chip, unsigned line, int level, char *err, size_t errlen)
{
	struct gpio_out *g = calloc(1, sizeof(*g));
	struct gpiod_line_settings *s = NULL;
	struct gpiod_line_config *lc = NULL;
	struct gpiod_request_config *rc = NULL;

	if (!g) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	g->offset = line;
	if (!(g->chip = open_chip(chip))) {
		snprintf(err, errlen, "no gpio chip '%s' (%s)", chip, strerror(errno));
		free(g);
		return NULL;
	}
	if ((s = gpiod_line_settings_new()) && (lc = gpiod_line_config_new()) && (rc = gpiod_request_config_new()) &&
	    gpiod_line_settings_set_direction(s, GPIOD_LINE_DIRECTION_OUTPUT) == 0 &&
	    gpiod_line_settings_set_output_value(s, level ? GPIOD_LINE_VALUE_ACTIVE : GPIOD_LINE_VALUE_INACTIVE) == 0 &&
	    gpiod_line_config_add_line_settings(lc, &g->offset, 1, s) == 0) {
		gpiod_request_config_set_consumer(rc, CONSUMER);
		g->req = gpiod_chip_request_lines(g->chip, rc, lc);
	}
	if (!g->req)
		snprintf(err, errlen, "cannot drive line %u of %s (%s)", line, chip, strerror(errno));
	gpiod_request_config_free(rc);
	gpiod_line_config_free(lc);
	gpiod_line_settings_free(s);
	if (!g->req) {
		gpiod_chip_close(g->chip);
		free(g);
		return NULL;
	}
	return g;
}

bool gpio_out_set(struct gpio_out *g, int level)
{
	return gpiod_line_request_set_value(g->req, g->offset,
					    level ? GPIOD_LINE_VALUE_ACTIVE : GPIOD_LINE_VALUE_INACTIVE) == 0;
}

void gpio_out_close(struct gpio_out *g)
{
	if (!g)
		return;
	gpiod_line_request_release(g->req);
	gpiod_chip_close(g->chip);
	free(g);
}

#endif
