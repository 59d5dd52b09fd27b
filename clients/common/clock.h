/* The clocks the programs read. */
#ifndef CLOCK_H
#define CLOCK_H

#include <stdint.h>

uint64_t now_ms(void);			/* monotonic */
uint64_t wall_ms(void);			/* Unix time */
uint64_t wall_us(void);			/* Unix time, microseconds */

#endif
