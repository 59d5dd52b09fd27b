/*
 * Availability: when a device is online, when it goes offline (it said bye,
 * or missed its keepalives), and the grace after a restart during which a
 * device restored from the state file keeps what the broker holds.
 */
#ifndef BASE_PRESENCE_H
#define BASE_PRESENCE_H

#include "base.h"

/* A new session: online, and announced again when what it exposes changed. */
void presence_established(struct base *b, struct device *d, bool changed);
/* A datagram on a running session from a device marked offline. */
void presence_back(struct base *b, struct device *d);
/* Offline; whatever it was asked to do is answered "offline". */
void presence_offline(struct base *b, struct device *d, const char *why);
/* A pull camera's frames started or stopped coming. */
void presence_pulled(struct base *b, struct device *d, bool ok);
/* Once a second: missed keepalives, the end of the restart's grace. */
void presence_tick(struct base *b, uint64_t now);

#endif
