/*
 * One GPIO output line, through libgpiod: the 1.x API (Debian 12, libgpiod
 * 1.6) or the 2.x API (Debian 13 and today's Raspberry Pi OS, libgpiod 2.2),
 * chosen at build time from pkg-config's version (GPIOD_API_V2).
 */
#ifndef UPD_GPIO_H
#define UPD_GPIO_H

#include <stdbool.h>
#include <stddef.h>

struct gpio_out;

/* chip: a name ("gpiochip0"), a number ("0"), a path ("/dev/gpiochip0") or a
 * chip's label ("pinctrl-bcm2711"). The line is requested as an output at
 * level (0 or 1, physical). NULL with a reason in err. */
struct gpio_out *gpio_out_open(const char *chip, unsigned line, int level, char *err, size_t errlen);
bool gpio_out_set(struct gpio_out *g, int level);
void gpio_out_close(struct gpio_out *g);	/* releases the line; NULL-safe */

#endif
