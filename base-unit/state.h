/*
 * The base unit's state file: what it learnt and should not forget across a
 * restart. Today that is what each device announced, so after a restart the
 * device list shows every device's kind, sensors and controls at once (and
 * sets can be checked) before the devices re-register.
 *
 * Text, one line per entry; written atomically (a temporary file, fsync,
 * rename, fsync of the directory), so a crash leaves the old file or the new
 * one, never half of one. A missing, unreadable or damaged file is a warning
 * and a clean start, never a crash.
 */
#ifndef BASE_STATE_H
#define BASE_STATE_H

#include "devices.h"

#include <stdbool.h>

/* Loads what it can into the table. Returns the number of devices restored,
 * or -1 when the file was damaged (then nothing was restored). */
int state_load(struct device_table *t, const char *path);
/* 0, or -errno (logged). */
int state_save(const struct device_table *t, const char *path);

#endif
