/*
 * The outage ring: device states published while the broker was away,
 * oldest first, delivered in order when it is back. Bounded: when full, the
 * oldest goes (and is counted). No I/O.
 */
#ifndef BASE_OUTAGE_H
#define BASE_OUTAGE_H

#include <stdbool.h>
#include <stdint.h>

struct outage {
	struct outage_entry { char *topic, *payload; } *e;
	int cap, head, len;
	uint64_t dropped, delivered;
};

void outage_init(struct outage *o, int cap);	/* cap 0: keeps nothing */
void outage_free(struct outage *o);
/* Keeps a copy of topic and takes payload (malloc'd) whatever happens. */
void outage_keep(struct outage *o, const char *topic, char *payload);
/* The oldest entry, or false when empty; outage_pop() removes it. */
bool outage_peek(const struct outage *o, const char **topic, const char **payload);
void outage_pop(struct outage *o, bool delivered);

#endif
