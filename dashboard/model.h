/*
 * The dashboard's device model, built from the topic API: the devices the
 * base unit announces (in arrival order), their availability and latest
 * state, a bounded history per sensor, the newest camera frame and
 * thumbnail, and the /api/devices document built from them (cached until
 * something changes). No locks: the store holds its lock around every call.
 */
#ifndef DASH_MODEL_H
#define DASH_MODEL_H

#include "idindex.h"
#include "settings.h"
#include "topics.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DEVICES_MAX 100000
#define HIST_MAX    32		/* sensors with a history, per device */

/* A JPEG shared by every viewer; freed with the last reference. */
struct jpeg {
	int refs;			/* under the store's lock */
	uint64_t gen;			/* counts up per device and kind: an ETag */
	uint64_t at_ms;			/* monotonic ms it reached the dashboard */
	size_t len;
	unsigned char data[];
};

struct jpeg *jpeg_new(const void *data, size_t len);	/* refs = 1; NULL on OOM */
void jpeg_unref(struct jpeg *j);			/* NULL-safe */

struct point {
	int64_t t_ms;
	double v;
};

struct hist {
	char name[IC_NAME_MAX + 1];
	int head, n;
	struct point *p;
};

struct dev {
	char id[DEVICE_ID_MAX + 1];
	bool listed;			/* in P/bridge/devices */
	bool online;
	cJSON *info;			/* that entry of P/bridge/devices */
	cJSON *state;			/* P/<id>, or NULL */
	struct hist hist[HIST_MAX];
	int n_hist;
	struct jpeg *frame, *thumb;
	uint64_t frame_gen, thumb_gen;
	char frame_seen[32];		/* when the newest frame came (cameras publish no state) */
	int motion;			/* P/<id>/motion: 1 ON, 0 OFF, -1 never said */
	char motion_since[32];		/* when it last changed, as this dashboard saw it */
	cJSON *last_event;		/* the newest of P/<id>/event, or NULL */
};

struct model {
	const struct dash_config *c;	/* display names, history length */
	struct dev **devs;		/* in arrival order (the order of /api/devices) */
	int n, cap;
	struct id_index index;		/* id -> position in devs */
	char *cache;			/* /api/devices, rebuilt after a change */
	size_t cache_len;
	/* The dashboard has the broker and the base unit is online: only then
	 * does a device's retained availability say anything (the store sets it). */
	bool reachable;
};

void model_free(struct model *m);
struct dev *model_find(const struct model *m, const char *id);
/* Finds or adds a device (a valid id, within DEVICES_MAX); NULL otherwise. */
struct dev *model_get(struct model *m, const char *id);
/* Something shown in /api/devices changed: the cached document goes. */
void model_changed(struct model *m);
/* P/bridge/devices: which devices are listed, and what they announce. */
void model_set_list(struct model *m, const cJSON *list);
/* P/<id>: the new state (taken), and its sensors' values into their history. */
void model_set_state(struct model *m, struct dev *d, cJSON *state);
/* A new frame (taken): its generation counts up; true when "seen" moved (at
 * most once a second). */
bool model_set_frame(struct model *m, struct dev *d, struct jpeg *f, const char seen[32]);
void model_set_thumbnail(struct model *m, struct dev *d, struct jpeg *f);
/* P/<id>/motion and P/<id>/event; the event is taken (NULL: not an event). */
void model_set_motion(struct model *m, struct dev *d, bool on);
void model_set_event(struct model *m, struct dev *d, cJSON *event);
void model_count(const struct model *m, int *listed, int *online);

/* One device as /api/devices/<id> shows it (the caller's to cJSON_Delete). */
cJSON *model_dev_json(const struct model *m, const struct dev *d, bool with_history);
/* The /api/devices array (the model's: valid until the next change). */
const char *model_devices_text(struct model *m, size_t *len);

#endif
