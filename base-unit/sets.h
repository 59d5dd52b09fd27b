/*
 * Sets out: a set or get from the broker, parsed once against what the
 * device announced, queued (commands.c), sent as a COMMAND, retransmitted
 * until acknowledged or out of time, and answered with one result per set
 * on P/<device>/result.
 */
#ifndef BASE_SETS_H
#define BASE_SETS_H

#include "base.h"

int sets_init(struct base *b);		/* 0 or -ENOMEM */
void sets_free(struct base *b);

/* A message on P/+/set or P/+/get. */
void sets_message(struct base *b, const char *topic, const void *payload, size_t len, bool retained);
/* Whether an acknowledgement with this id answers the device's command in flight. */
bool sets_awaits(const struct device *d, uint64_t wire_id);
/* The acknowledgement (sets_awaits() was true): the sets it answers get their result. */
void sets_acked(struct base *b, struct device *d, const struct ic_ack *a);
/* The device went away: everything in flight or waiting ends "offline". */
void sets_offline(struct base *b, struct device *d, const char *why);
/* Retransmissions and deadlines due at now; the next one (monotonic ms, or UINT64_MAX). */
void sets_timers(struct base *b, uint64_t now);
uint64_t sets_next_due(const struct base *b);

#endif
