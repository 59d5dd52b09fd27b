/*
 * Controls of an updatable unit and the backends that carry them out: a GPIO
 * line through libgpiod, a hook program, or a simulated value in memory.
 */
#ifndef CONTROLS_H
#define CONTROLS_H

#include "conf.h"
#include "intercom.h"

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

#define HOOK_TIMEOUT_MS 1500	/* a hook must finish well inside the base unit's 2 s deadline */

enum backend { BACKEND_SIMULATED, BACKEND_HOOK, BACKEND_GPIO };

struct gpio_out;

struct control {
	struct ic_control meta;
	enum backend backend;
	char hook[512];			/* BACKEND_HOOK: the program */
	char chip[64];			/* BACKEND_GPIO: chip name, path or number */
	unsigned line;			/* BACKEND_GPIO: line offset */
	bool active_low;
	double value;			/* the current value */
	double initial;			/* at start-up ("default VALUE") */
	uint64_t set_at;		/* monotonic ms a command last set it (the failsafe's clock) */
	struct gpio_out *gpio;		/* BACKEND_GPIO: the line while open */
};

/* control NAME switch|range MIN MAX STEP|enum V1,V2,... BACKEND [ARGS] [default VALUE]
 *         [failsafe VALUE after N ms|s|min|h]
 * BACKEND: simulated | hook PROGRAM | gpio CHIP LINE [active-low] (switch only) */
bool control_parse(struct control *c, const struct conf_line *l, char *err, size_t errlen);

/* Text <-> wire value: "ON"/"OFF", a number, an enum value. */
bool control_value_parse(const struct ic_control *m, const char *text, double *out);
void control_value_format(const struct ic_control *m, double v, char *out, size_t cap);

/* The physical level of a GPIO line for a switch value. */
int gpio_level(double value, bool active_low);

/* Brings the control to its initial value (a GPIO line is requested as an
 * output at that level). 0, or -1 with a message in err. */
int control_open(struct control *c, char *err, size_t errlen);
/* Carries out a new value. False with a reason in err when the backend refused. */
bool control_apply(struct control *c, double v, char *err, size_t errlen);
void control_close(struct control *c);	/* releases a GPIO line; NULL-safe */

#endif
