/* The clocks the programs read. */
#ifndef CLOCK_H
#define CLOCK_H

#include <stdint.h>

uint64_t now_ms(void);			/* monotonic */
uint64_t wall_ms(void);			/* Unix time */
uint64_t wall_us(void);			/* Unix time, microseconds */

/* A condition variable whose timed waits count in now_ms()'s clock, so a
 * change of the wall clock neither cuts a wait short nor stretches it. */
#include <pthread.h>
void cond_init_monotonic(pthread_cond_t *cv);

#endif
