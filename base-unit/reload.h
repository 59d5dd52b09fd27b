/*
 * SIGHUP: the configuration read again while the base unit runs. Devices
 * added, removed and given a new key take effect at once, without touching
 * the sessions of the others; so do the timing keys. What the sockets and the
 * broker session were made from (listen, mqtt_*, prefix, the state file, Home
 * Assistant, cameras' ports and pull cameras) waits for the next restart, and
 * the log says so for each key that changed. A configuration with errors
 * changes nothing.
 */
#ifndef BASE_RELOAD_H
#define BASE_RELOAD_H

#include "base.h"

/* 0, or -1 when the file has errors (printed) or memory ran out. */
int base_reload(struct base *b, const char *path);

#endif
