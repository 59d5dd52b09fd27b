/*
 * Recordings: what each camera showed while it saw motion, kept by the
 * dashboard (docs/dashboard.md, "Recordings"). The frames come from the
 * topic API (P/<camera>/camera, faster while P/<camera>/motion is ON); a few
 * seconds before the motion are held in memory, then every frame until a few
 * seconds after it ends is written, one event per motion, to a SQLite
 * database (frames, times, a thumbnail, the peak score). Its total size and
 * age are bounded, the oldest going first; a write that fails (a full disk)
 * is counted and logged and the frame is dropped, nothing else stops.
 *
 * One thread writes (ours, fed by a queue: the MQTT thread only copies);
 * the HTTP side reads through connections of its own (SQLite's WAL mode lets
 * readers and the writer go on together). Ids from a request are numbers
 * looked up in the database: no part of a request ever names a file.
 */
#ifndef DASH_RECORDER_H
#define DASH_RECORDER_H

#include "settings.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct recorder;

/* NULL with a logged reason when the database cannot be opened or made. */
struct recorder *recorder_new(const struct dash_config *c);
void recorder_free(struct recorder *r);	/* NULL-safe; ends open events */
/* Told when an event starts or ends, from the recorder's thread. */
void recorder_on_change(struct recorder *r, void (*fn)(void *ctx, const char *camera), void *ctx);

/* A message from the broker (the MQTT thread): copies what it needs. */
void recorder_on_message(struct recorder *r, const char *topic, const void *payload, size_t len);

/* The HTTP side. JSON documents are free()d by the caller; NULL: not found
 * (or out of memory). list: newest first, at most limit, ids below before
 * (0: from the newest), of one camera or (camera NULL) all. */
char *recorder_list_json(struct recorder *r, const char *camera, int64_t before, int limit, size_t *len);
char *recorder_event_json(struct recorder *r, int64_t id, size_t *len);
/* A JPEG: frame index of event id, or (index < 0) its thumbnail. malloc()ed. */
void *recorder_jpeg(struct recorder *r, int64_t id, int index, size_t *len);
/* 0 deleted; -1 no such event; -2 still recording; -3 the database failed. */
int recorder_delete(struct recorder *r, int64_t id);

/* A whole clip as multipart/x-mixed-replace (RECORDER_BOUNDARY; each part
 * with Content-Type, Content-Length and X-Timestamp in ms since the epoch):
 * what ffmpeg, ffplay and VLC read as MJPEG. open: NULL if unknown or still
 * recording; read: bytes into buf, 0 at the end, -1 on error. */
#define RECORDER_BOUNDARY "intercomclip"
struct clip;
struct clip *recorder_clip_open(struct recorder *r, int64_t id, char *name, size_t name_cap);
ssize_t recorder_clip_read(struct clip *c, char *buf, size_t max);
void recorder_clip_close(struct clip *c);

/* Prometheus text (appended to /metrics); free() it. */
char *recorder_metrics_text(struct recorder *r, size_t *len);

#endif
