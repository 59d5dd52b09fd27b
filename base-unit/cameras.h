/*
 * The base unit's cameras as a set (each one is a struct camera, camera.c):
 * the pull cameras and raw TCP ports the configuration names, the cameras
 * that announce themselves, their sockets in the poll, their timers, and
 * their newest frames and thumbnails published on P/<camera>/camera and
 * /thumbnail at the camera's rate.
 */
#ifndef BASE_CAMERAS_H
#define BASE_CAMERAS_H

#include "base.h"

#include <poll.h>

int cameras_init(struct base *b);	/* from the configuration; 0 or -errno (logged) */
void cameras_free(struct base *b);
/* The device's camera, made when it first needs one; NULL on OOM. */
struct camera *cameras_of(struct base *b, struct device *d);
void cameras_fragment(struct base *b, struct device *d, const struct ic_fragment *f);
/* Once a second: timers, and frames that waited for the rate limit. */
void cameras_tick(struct base *b, uint64_t now);
/* After a (re)connection to the broker: each motion camera's state again. */
void cameras_mqtt_up(struct base *b);
/* Timers that are due now (reassembly, slow clients, pulls). */
void cameras_timers(struct base *b, uint64_t now);
uint64_t cameras_next_due(const struct base *b, uint64_t now);	/* monotonic ms, or UINT64_MAX */
/* Cameras' sockets: fills up to max entries; cameras_handle gets them back. */
int cameras_pollfds(struct base *b, struct pollfd *p, int max);
void cameras_handle(struct base *b, const struct pollfd *p, int n);

#endif
