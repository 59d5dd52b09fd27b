/*
 * What the dashboard knows, built only from the topic API, behind one lock:
 * the device model (model.c), the event log for the SSE clients (events.c),
 * the base unit's metrics and the dashboard's counters (metrics.c), and the
 * HTTP threads waiting for an event, a frame or a set's result. The MQTT
 * thread writes it; HTTP threads read it and wait on it. Nothing slow is
 * done while holding the lock.
 */
#ifndef DASH_STORE_H
#define DASH_STORE_H

#include "metrics.h"
#include "model.h"
#include "settings.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct store;

struct store *store_new(const struct dash_config *c);
void store_free(struct store *s);
/* Wakes every waiter for good (shutdown). */
void store_stop(struct store *s);
/* Takes the lock and gives it back: returns only while nothing holds it for
 * good (the service watchdog). */
void store_ping(struct store *s);
/* A reload: the display names of nc into c (the configuration the store
 * reads, under its lock), and every stream hears the device list again. */
void store_set_names(struct store *s, struct dash_config *c, const struct dash_config *nc);

/* A message from the broker. topic is the full topic. */
void store_on_message(struct store *s, const char *topic, const void *payload, size_t len);
void store_set_connected(struct store *s, bool up);
bool store_connected(struct store *s);

/* Whether the base unit's device list (P/bridge/devices) has arrived: until
 * it has, a device the store does not know may still exist. */
bool store_has_device_list(struct store *s);
/* Whether the base unit announces this device. */
bool store_device_known(struct store *s, const char *id);

/* JSON documents (free() them). devices: the /api/devices array. device: one
 * device with its history; NULL if unknown. */
char *store_devices_json(struct store *s, size_t *len);
char *store_device_json(struct store *s, const char *id, size_t *len);
/* Prometheus text for /metrics; extra counters from the HTTP side are added by the caller. */
char *store_metrics_text(struct store *s, size_t *len);

/*
 * Events for SSE. store_events_start() returns a snapshot event (the whole
 * device list) and the sequence number to continue from. store_events_wait()
 * blocks up to timeout_ms for events after *seq and returns them as SSE text
 * (several events may come at once); a client that fell behind the log gets a
 * fresh snapshot instead. Returns NULL on timeout (with *stopped false) or
 * when the store stops (*stopped true).
 */
char *store_events_start(struct store *s, uint64_t *seq, size_t *len);
char *store_events_wait(struct store *s, uint64_t *seq, int timeout_ms, size_t *len, bool *stopped);

/* Frames. store_frame_get(): the newest frame of id, or its retained
 * thumbnail when no frame came yet (with thumbnail: the thumbnail first, the
 * frame when there is no thumbnail), with a reference; NULL if none. store_frame_wait(): blocks up to timeout_ms for a frame newer than
 * *gen; returns it with a reference (NULL on timeout, unknown device or stop;
 * *stopped tells which). */
struct jpeg *store_frame_get(struct store *s, const char *id, bool thumbnail);
struct jpeg *store_frame_wait(struct store *s, const char *id, uint64_t *gen, int timeout_ms, bool *stopped);
void store_frame_put(struct store *s, struct jpeg *f);

/* Waiting for the one result of a set: register the id before publishing,
 * then wait. Returns the result JSON (free() it) or NULL on timeout. */
struct waiter;
struct waiter *store_result_expect(struct store *s, const char *device, const char *our_id);
bool store_result_ready(struct store *s, const struct waiter *w);
char *store_result_wait(struct store *s, struct waiter *w, int timeout_ms);

/* Who waits without blocking (the HTTP side's suspended connections) is
 * told here when what it waits for arrives: an event (key NULL), a camera's
 * frame (key: its id), a set's result (key: our id for it), or the store
 * stopping. Called with the store's lock held: it must not call back in. */
enum store_wake { STORE_WAKE_EVENTS, STORE_WAKE_FRAME, STORE_WAKE_RESULT, STORE_WAKE_STOP };
void store_set_wake(struct store *s, void (*wake)(void *ctx, enum store_wake what, const char *key), void *ctx);

/* A recording started or ended (recorder_on_change): the streams hear
 * "recording" with the camera's id, and the UI reads the list again. */
void store_recording_changed(void *store, const char *camera);

/* The HTTP side's counters, kept here so /metrics has them in one place. */
void store_count(struct store *s, enum dash_counter c, int delta);

#endif
