/*
 * The event log behind /api/events: a ring of the newest EVENTS_MAX events,
 * each already in SSE form ("event: T\ndata: JSON\n\n") and numbered from 1.
 * A reader keeps the number of the last event it has and asks for what came
 * after it. No locks: the store holds its lock around every call.
 */
#ifndef DASH_EVENTS_H
#define DASH_EVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EVENTS_MAX 1024		/* a reader further behind starts over from a snapshot */

struct event_log {
	struct event {
		uint64_t seq;
		char *text;
		size_t len;
	} e[EVENTS_MAX];
	uint64_t seq;			/* of the newest event; 0: none yet */
};

void event_log_free(struct event_log *l);
/* Adds an event of type with data (JSON text). False on OOM (nothing added). */
bool event_log_push(struct event_log *l, const char *type, const char *json);
/* Every event after since, as one text (the caller's to free()), in order.
 * NULL when there is none, on OOM, or with *behind when some of them have
 * left the ring already (the reader needs a snapshot). */
char *event_log_since(const struct event_log *l, uint64_t since, size_t *len, bool *behind);

#endif
