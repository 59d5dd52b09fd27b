/*
 * Sensor sources for the read unit: a file or sysfs path, the output of a
 * command, or a simulated random walk for demos and tests.
 */
#ifndef SENSORS_H
#define SENSORS_H

#include "conf.h"
#include "intercom.h"

#include <stdbool.h>

enum sensor_source { SRC_SIMULATED, SRC_FILE, SRC_COMMAND };

struct sensor {
	struct ic_sensor meta;		/* name and unit, as announced */
	enum sensor_source source;
	char arg[512];			/* path or command */
	double scale, offset;		/* value = raw * scale + offset */
	double value, step, min, max;	/* random walk state */
	unsigned long failing;		/* readings failed in a row */
};

/* "sensor NAME UNIT SOURCE ARGS..." (UNIT "-" for none). */
bool sensor_parse(struct sensor *s, const struct conf_line *l, char *err, size_t errlen);

/* Takes a measurement. False when the source failed: logged the first time,
 * then at the 10th, 100th... failure in a row, and when it reads again (a
 * sensor that is gone does not fill the journal every few seconds). */
bool sensor_read(struct sensor *s, double *out);

#endif
