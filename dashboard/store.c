#include "store_int.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Waits on cv until signalled or deadline_ms (now_ms() clock) passes. A
 * deadline already passed (the HTTP side's look without waiting) costs no
 * system call: a timed wait into the past still enters the kernel, and at 200
 * event streams that was a quarter of the dashboard's time. */
static int cond_wait_until(pthread_cond_t *cv, pthread_mutex_t *m, uint64_t deadline_ms)
{
	if (now_ms() >= deadline_ms)
		return ETIMEDOUT;
	struct timespec ts = { .tv_sec = (time_t)(deadline_ms / 1000), .tv_nsec = (long)(deadline_ms % 1000) * 1000000L };
	return pthread_cond_timedwait(cv, m, &ts);
}

struct store *store_new(const struct dash_config *c)
{
	struct store *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->c = c;
	s->model.c = c;
	pthread_mutex_init(&s->lock, NULL);
	cond_init_monotonic(&s->events_cv);
	cond_init_monotonic(&s->frames_cv);
	cond_init_monotonic(&s->results_cv);
	return s;
}

void store_free(struct store *s)
{
	if (!s)
		return;
	model_free(&s->model);
	event_log_free(&s->events);
	cJSON_Delete(s->metrics);
	pthread_cond_destroy(&s->events_cv);
	pthread_cond_destroy(&s->frames_cv);
	pthread_cond_destroy(&s->results_cv);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

void store_set_wake(struct store *s, void (*wake)(void *ctx, enum store_wake what, const char *key), void *ctx)
{
	pthread_mutex_lock(&s->lock);
	s->wake = wake;
	s->wake_ctx = ctx;
	pthread_mutex_unlock(&s->lock);
}

void store_wake(struct store *s, enum store_wake what, const char *key)
{
	if (s->wake)
		s->wake(s->wake_ctx, what, key);
}

void store_stop(struct store *s)
{
	pthread_mutex_lock(&s->lock);
	s->stopped = true;
	store_wake(s, STORE_WAKE_STOP, NULL);
	pthread_cond_broadcast(&s->events_cv);
	pthread_cond_broadcast(&s->frames_cv);
	pthread_cond_broadcast(&s->results_cv);
	pthread_mutex_unlock(&s->lock);
}

void store_set_names(struct store *s, struct dash_config *c, const struct dash_config *nc)
{
	size_t n;
	const char *text;
	cJSON *ev;

	pthread_mutex_lock(&s->lock);
	memcpy(c->names, nc->names, sizeof(c->names));
	c->n_names = nc->n_names;
	model_changed(&s->model);
	if (s->have_devices && (ev = cJSON_CreateObject())) {
		text = model_devices_text(&s->model, &n);
		cJSON_AddItemToObject(ev, "devices", text ? cJSON_Parse(text) : cJSON_CreateArray());
		store_event_push(s, "devices", ev);
	}
	pthread_mutex_unlock(&s->lock);
}

void store_ping(struct store *s)
{
	pthread_mutex_lock(&s->lock);
	pthread_mutex_unlock(&s->lock);
}

/* --- events (lock held) --- */

void store_event_push(struct store *s, const char *type, cJSON *data)
{
	char *json = cJSON_PrintUnformatted(data);

	cJSON_Delete(data);
	if (json && event_log_push(&s->events, type, json)) {
		pthread_cond_broadcast(&s->events_cv);
		store_wake(s, STORE_WAKE_EVENTS, NULL);
	}
	free(json);
}

cJSON *store_id_object(const char *id)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "id", id);
	return o;
}

static char *snapshot_text(struct store *s, size_t *len)
{
	size_t n;
	const char *devices = model_devices_text(&s->model, &n);
	size_t need = n + 128;
	char *text = malloc(need);

	if (!text)
		return NULL;
	*len = (size_t)snprintf(text, need, "retry: 2000\nevent: snapshot\ndata: {\"broker\":%s,\"bridge\":%s,\"devices\":%s}\n\n",
				s->connected ? "true" : "false", s->bridge_online ? "true" : "false",
				devices ? devices : "[]");
	return text;
}

char *store_events_start(struct store *s, uint64_t *seq, size_t *len)
{
	char *text;

	pthread_mutex_lock(&s->lock);
	text = snapshot_text(s, len);
	*seq = s->events.seq;
	pthread_mutex_unlock(&s->lock);
	return text;
}

char *store_events_wait(struct store *s, uint64_t *seq, int timeout_ms, size_t *len, bool *stopped)
{
	uint64_t deadline = now_ms() + (uint64_t)timeout_ms;
	char *text = NULL;
	bool behind;

	pthread_mutex_lock(&s->lock);
	while (!s->stopped && s->events.seq == *seq)
		if (cond_wait_until(&s->events_cv, &s->lock, deadline) == ETIMEDOUT)
			break;
	*stopped = s->stopped;
	if (!s->stopped && s->events.seq != *seq) {
		text = event_log_since(&s->events, *seq, len, &behind);
		if (behind)
			text = snapshot_text(s, len);	/* too far behind: start over */
		*seq = s->events.seq;
	}
	pthread_mutex_unlock(&s->lock);
	return text;
}

/* Whether a device's retained availability means anything now. */
void store_reachability(struct store *s)
{
	bool r = s->connected && s->bridge_online;

	if (r != s->model.reachable) {
		s->model.reachable = r;
		model_changed(&s->model);
	}
}

/* --- what the HTTP side asks --- */

void store_set_connected(struct store *s, bool up)
{
	cJSON *ev = cJSON_CreateObject();

	pthread_mutex_lock(&s->lock);
	s->connected = up;
	store_reachability(s);
	cJSON_AddBoolToObject(ev, "connected", up);
	store_event_push(s, "broker", ev);
	pthread_mutex_unlock(&s->lock);
}

bool store_connected(struct store *s)
{
	bool up;

	pthread_mutex_lock(&s->lock);
	up = s->connected;
	pthread_mutex_unlock(&s->lock);
	return up;
}

bool store_has_device_list(struct store *s)
{
	bool have;

	pthread_mutex_lock(&s->lock);
	have = s->have_devices;
	pthread_mutex_unlock(&s->lock);
	return have;
}

bool store_device_known(struct store *s, const char *id)
{
	struct dev *d;
	bool known;

	pthread_mutex_lock(&s->lock);
	d = model_find(&s->model, id);
	known = d && d->listed;
	pthread_mutex_unlock(&s->lock);
	return known;
}

char *store_devices_json(struct store *s, size_t *len)
{
	char *copy = NULL;
	const char *text;

	pthread_mutex_lock(&s->lock);
	text = model_devices_text(&s->model, len);
	if (text && (copy = malloc(*len + 1)))
		memcpy(copy, text, *len + 1);
	pthread_mutex_unlock(&s->lock);
	return copy;
}

char *store_device_json(struct store *s, const char *id, size_t *len)
{
	struct dev *d;
	char *text = NULL;

	pthread_mutex_lock(&s->lock);
	d = model_find(&s->model, id);
	if (d && d->listed) {
		cJSON *o = model_dev_json(&s->model, d, true);
		text = cJSON_PrintUnformatted(o);
		cJSON_Delete(o);
		*len = text ? strlen(text) : 0;
	}
	pthread_mutex_unlock(&s->lock);
	return text;
}

char *store_metrics_text(struct store *s, size_t *len)
{
	struct metrics_view v = { .counters = s->counters };
	char *text;

	pthread_mutex_lock(&s->lock);
	v.connected = s->connected;
	v.bridge_online = s->bridge_online;
	v.bridge = s->metrics;
	model_count(&s->model, &v.listed, &v.online);
	v.tracked = s->model.n;
	text = metrics_text(&v, len);
	pthread_mutex_unlock(&s->lock);
	return text;
}

void store_count(struct store *s, enum dash_counter c, int delta)
{
	pthread_mutex_lock(&s->lock);
	s->counters[c] += delta;
	pthread_mutex_unlock(&s->lock);
}

/* --- frames --- */

struct jpeg *store_frame_get(struct store *s, const char *id, bool thumbnail)
{
	struct jpeg *f = NULL;
	struct dev *d;

	pthread_mutex_lock(&s->lock);
	if ((d = model_find(&s->model, id))) {
		f = thumbnail ? (d->thumb ? d->thumb : d->frame) : (d->frame ? d->frame : d->thumb);
		if (f)
			f->refs++;
	}
	pthread_mutex_unlock(&s->lock);
	return f;
}

struct jpeg *store_frame_wait(struct store *s, const char *id, uint64_t *gen, int timeout_ms, bool *stopped)
{
	uint64_t deadline = now_ms() + (uint64_t)timeout_ms;
	struct jpeg *f = NULL;
	struct dev *d;

	pthread_mutex_lock(&s->lock);
	for (;;) {
		d = model_find(&s->model, id);
		if (s->stopped || !d)
			break;
		if (d->frame && d->frame_gen != *gen) {
			f = d->frame;
			f->refs++;
			*gen = d->frame_gen;
			break;
		}
		if (cond_wait_until(&s->frames_cv, &s->lock, deadline) == ETIMEDOUT)
			break;
	}
	*stopped = s->stopped;
	pthread_mutex_unlock(&s->lock);
	return f;
}

void store_frame_put(struct store *s, struct jpeg *f)
{
	if (!f)
		return;
	pthread_mutex_lock(&s->lock);
	jpeg_unref(f);
	pthread_mutex_unlock(&s->lock);
}

/* --- results --- */

struct waiter *store_result_expect(struct store *s, const char *device, const char *our_id)
{
	struct waiter *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	snprintf(w->device, sizeof(w->device), "%s", device);
	snprintf(w->id, sizeof(w->id), "%s", our_id);
	pthread_mutex_lock(&s->lock);
	w->next = s->waiters;
	s->waiters = w;
	pthread_mutex_unlock(&s->lock);
	return w;
}

bool store_result_ready(struct store *s, const struct waiter *w)
{
	bool ready;

	pthread_mutex_lock(&s->lock);
	ready = w->result || s->stopped;
	pthread_mutex_unlock(&s->lock);
	return ready;
}

char *store_result_wait(struct store *s, struct waiter *w, int timeout_ms)
{
	uint64_t deadline = now_ms() + (uint64_t)timeout_ms;
	char *result;

	pthread_mutex_lock(&s->lock);
	while (!w->result && !s->stopped)
		if (cond_wait_until(&s->results_cv, &s->lock, deadline) == ETIMEDOUT)
			break;
	for (struct waiter **p = &s->waiters; *p; p = &(*p)->next)
		if (*p == w) {
			*p = w->next;
			break;
		}
	pthread_mutex_unlock(&s->lock);
	result = w->result;
	free(w);
	return result;
}

void store_recording_changed(void *store, const char *camera)
{
	struct store *s = store;

	pthread_mutex_lock(&s->lock);
	store_event_push(s, "recording", store_id_object(camera));
	pthread_mutex_unlock(&s->lock);
}
