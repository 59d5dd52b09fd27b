/* Running a helper program with a bound on its time and its output. */
#ifndef PROCESS_H
#define PROCESS_H

#include <stddef.h>

/* Runs argv[0] (searched in PATH) with argv, stdout captured into out (at
 * most cap - 1 bytes, NUL-terminated; the rest is discarded), stdin from
 * /dev/null. Kills it after timeout_ms. Returns its exit status (0..255), or
 * -1 when it could not run, was killed by a signal or timed out. */
int process_run(char *const argv[], int timeout_ms, char *out, size_t cap);

#endif
