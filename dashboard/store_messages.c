#include "store_int.h"
#include "log.h"
#include "parse.h"
#include "util.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Messages from the broker, on the MQTT thread: each under the store's lock. */

static void on_bridge(struct store *s, const char *topic, const char *what, const void *payload, size_t len)
{
	cJSON *json, *ev;

	if (!strcmp(what, T_BRIDGE_DEVICES)) {
		json = cJSON_ParseWithLength(payload, len);
		if (cJSON_IsArray(json)) {
			size_t n;
			const char *text;

			model_set_list(&s->model, json);
			s->have_devices = true;
			text = model_devices_text(&s->model, &n);
			ev = cJSON_CreateObject();
			cJSON_AddItemToObject(ev, "devices", text ? cJSON_Parse(text) : cJSON_CreateArray());
			store_event_push(s, "devices", ev);
		} else {
			log_warn("mqtt: %s is not a JSON array; ignored", topic);
		}
		cJSON_Delete(json);
	} else if (!strcmp(what, T_BRIDGE_METRICS)) {
		json = cJSON_ParseWithLength(payload, len);
		if (cJSON_IsObject(json)) {
			cJSON_Delete(s->metrics);
			s->metrics = json;
		} else {
			cJSON_Delete(json);
		}
	} else if (!strcmp(what, T_BRIDGE_STATE)) {
		s->bridge_online = len == sizeof(T_ONLINE) - 1 && !memcmp(payload, T_ONLINE, len);
		store_reachability(s);
		ev = cJSON_CreateObject();
		cJSON_AddBoolToObject(ev, "online", s->bridge_online);
		store_event_push(s, "bridge", ev);
	}
}

static void on_result(struct store *s, const char *device, cJSON *result)
{
	const char *id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(result, "id"));
	cJSON *ev;

	for (struct waiter *w = s->waiters; w && id; w = w->next)
		if (!w->result && !strcmp(w->id, id) && !strcmp(w->device, device)) {
			w->result = cJSON_PrintUnformatted(result);
			pthread_cond_broadcast(&s->results_cv);
			store_wake(s, STORE_WAKE_RESULT, w->id);
		}
	ev = cJSON_CreateObject();
	cJSON_AddStringToObject(ev, "device", device);
	cJSON_AddItemToObject(ev, "result", cJSON_Duplicate(result, true));
	store_event_push(s, "result", ev);
}

static void on_result_message(struct store *s, const char *device, const void *payload, size_t len)
{
	cJSON *json = cJSON_ParseWithLength(payload, len);

	if (cJSON_IsObject(json))
		on_result(s, device, json);
	cJSON_Delete(json);
}

static void on_frame(struct store *s, struct dev *d, bool full, const void *payload, size_t len)
{
	struct jpeg *f;
	char seen[32];

	if (!jpeg_complete(payload, len) || !(f = jpeg_new(payload, len)))
		return;
	if (!full) {
		model_set_thumbnail(&s->model, d, f);
		return;
	}
	iso8601(seen, wall_ms());
	if (model_set_frame(&s->model, d, f, seen)) {	/* at most once a second */
		cJSON *ev = store_id_object(d->id);
		cJSON_AddStringToObject(ev, "last_seen", seen);
		store_event_push(s, "seen", ev);
	}
	pthread_cond_broadcast(&s->frames_cv);
	store_wake(s, STORE_WAKE_FRAME, d->id);
}

static void on_device(struct store *s, const char *topic, struct dev *d, const char *what, const void *payload,
		      size_t len)
{
	cJSON *json, *ev;

	if (!*what) {
		json = cJSON_ParseWithLength(payload, len);
		if (cJSON_IsObject(json)) {
			model_set_state(&s->model, d, json);
			ev = store_id_object(d->id);
			cJSON_AddItemToObject(ev, "state", cJSON_Duplicate(json, true));
			store_event_push(s, "state", ev);
		} else {
			log_warn("mqtt: %s is not a JSON object; ignored", topic);
			cJSON_Delete(json);
		}
	} else if (!strcmp(what, T_AVAILABILITY)) {
		d->online = len == sizeof(T_ONLINE) - 1 && !memcmp(payload, T_ONLINE, len);
		model_changed(&s->model);
		ev = store_id_object(d->id);
		cJSON_AddBoolToObject(ev, "online", d->online);
		store_event_push(s, "availability", ev);
	} else if (!strcmp(what, T_CAMERA) || !strcmp(what, T_THUMBNAIL)) {
		on_frame(s, d, what[0] == 'c', payload, len);
	} else if (!strcmp(what, T_MOTION)) {
		bool on = len == 2 && !memcmp(payload, "ON", 2);

		if (!on && !(len == 3 && !memcmp(payload, "OFF", 3)))
			return;
		model_set_motion(&s->model, d, on);
		ev = store_id_object(d->id);
		cJSON_AddBoolToObject(ev, "motion", on);
		cJSON_AddStringToObject(ev, "since", d->motion_since);
		store_event_push(s, "motion", ev);
	} else if (!strcmp(what, T_EVENT)) {
		json = cJSON_ParseWithLength(payload, len);
		if (!cJSON_IsObject(json) || !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(json, "event"))) {
			log_warn("mqtt: %s is not a motion event; ignored", topic);
			cJSON_Delete(json);
			return;
		}
		ev = store_id_object(d->id);
		cJSON_AddItemToObject(ev, "event", cJSON_Duplicate(json, true));
		model_set_event(&s->model, d, json);
		store_event_push(s, "motion_event", ev);
	}
}

void store_on_message(struct store *s, const char *topic, const void *payload, size_t len)
{
	char id[DEVICE_ID_MAX + 1];
	const char *what;
	struct dev *d;

	if (!topic_split(topic, s->c->prefix, id, &what))
		return;
	pthread_mutex_lock(&s->lock);
	if (!strcmp(id, T_BRIDGE))
		on_bridge(s, topic, what, payload, len);
	else if (!strcmp(what, T_RESULT))
		on_result_message(s, id, payload, len);	/* no device entry: ids nobody listed cost nothing */
	else if (strcmp(what, T_SET) && strcmp(what, T_GET) && (d = model_get(&s->model, id)))
		on_device(s, topic, d, what, payload, len);
	pthread_mutex_unlock(&s->lock);
}
