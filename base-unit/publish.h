/*
 * What the base unit tells the broker: each device's state (kept in the
 * outage ring while the broker is away, delivered in order when it is back),
 * its availability, the device list (at most once a tick) and the metrics.
 */
#ifndef BASE_PUBLISH_H
#define BASE_PUBLISH_H

#include "base.h"

/* Publishes json (and frees it) on P/<suffix>; NULL-safe. */
void publish_json(struct base *b, const char *suffix, char *json, bool retain);
void publish_state(struct base *b, struct device *d);
void publish_availability(struct base *b, const struct device *d);
/* The device list is due: bridge_tick publishes it once for many changes. */
void publish_devices_soon(struct base *b);
void publish_devices(struct base *b);
void publish_metrics(struct base *b);
/* Delivers the outage ring, oldest first. */
void publish_outage(struct base *b);

#endif
