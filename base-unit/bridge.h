/*
 * The bridge as main.c's loop sees it: started and stopped, told when the
 * broker comes up and what it sends, ticked once a second, and asked for its
 * timers and sockets. base.h says which file does what below it.
 */
#ifndef BASE_BRIDGE_H
#define BASE_BRIDGE_H

#include "base.h"

#include <poll.h>

int bridge_init(struct base *b);	/* after cfg and table; 0 or -errno */
void bridge_free(struct base *b);

void bridge_mqtt_up(void *ctx);
void bridge_mqtt_message(void *ctx, const char *topic, const void *payload, size_t len, bool retained);
void bridge_tick(struct base *b, uint64_t now);		/* once a second */
void bridge_timers(struct base *b, uint64_t now);	/* command retransmits and deadlines, cameras */
uint64_t bridge_next_timer(const struct base *b, uint64_t now);	/* ms until bridge_timers */
/* Cameras' sockets: fills up to max entries after the daemon's own. */
int bridge_pollfds(struct base *b, struct pollfd *p, int max);
void bridge_poll_handle(struct base *b, const struct pollfd *p, int n);

#endif
