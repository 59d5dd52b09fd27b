#include "store.h"
#include "idindex.h"
#include "log.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdarg.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define EVENTS_MAX 1024		/* SSE log; a client further behind gets a snapshot */
#define DEVICES_MAX 100000
#define HIST_MAX 32		/* sensors with a history, per device */

struct point {
	int64_t t_ms;
	double v;
};

struct hist {
	char name[33];
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
	struct frame *frame, *thumb;
	uint64_t frame_gen;
	char frame_seen[32];		/* when the newest frame came (cameras publish no state) */
};

struct event {
	uint64_t seq;
	char *text;
	size_t len;
};

struct waiter {
	struct waiter *next;
	char device[DEVICE_ID_MAX + 1];
	char id[80];
	char *result;
};

struct store {
	const struct dash_config *c;
	char prefix[PREFIX_MAX + 2];	/* with the trailing '/' */
	size_t prefix_len;
	pthread_mutex_t lock;
	pthread_cond_t events_cv, frames_cv, results_cv;
	bool stopped, connected, bridge_online;
	bool have_devices;		/* P/bridge/devices has arrived at least once */

	struct dev **devs;		/* in arrival order (the order of /api/devices) */
	int n_devs, cap_devs;
	struct id_index index;		/* id -> position in devs */
	char *devices_cache;		/* /api/devices, rebuilt after a change */
	size_t devices_cache_len;

	struct event events[EVENTS_MAX];
	uint64_t seq;			/* of the newest event */

	cJSON *metrics;			/* P/bridge/metrics */
	struct waiter *waiters;
	struct dash_counters counters;
};

static void cond_init_monotonic(pthread_cond_t *cv)
{
	pthread_condattr_t a;

	pthread_condattr_init(&a);
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	pthread_cond_init(cv, &a);
	pthread_condattr_destroy(&a);
}

/* Waits on cv until signalled or deadline_ms (now_ms() clock) passes. */
static int cond_wait_until(pthread_cond_t *cv, pthread_mutex_t *m, uint64_t deadline_ms)
{
	struct timespec ts = { .tv_sec = (time_t)(deadline_ms / 1000), .tv_nsec = (long)(deadline_ms % 1000) * 1000000L };
	return pthread_cond_timedwait(cv, m, &ts);
}

struct store *store_new(const struct dash_config *c)
{
	struct store *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->c = c;
	s->prefix_len = (size_t)snprintf(s->prefix, sizeof(s->prefix), "%s/", c->prefix);
	pthread_mutex_init(&s->lock, NULL);
	cond_init_monotonic(&s->events_cv);
	cond_init_monotonic(&s->frames_cv);
	cond_init_monotonic(&s->results_cv);
	return s;
}

static void frame_unref(struct frame *f)
{
	if (f && --f->refs == 0)
		free(f);
}

void store_free(struct store *s)
{
	if (!s)
		return;
	for (int i = 0; i < s->n_devs; i++) {
		struct dev *d = s->devs[i];
		cJSON_Delete(d->info);
		cJSON_Delete(d->state);
		for (int h = 0; h < d->n_hist; h++)
			free(d->hist[h].p);
		frame_unref(d->frame);
		frame_unref(d->thumb);
		free(d);
	}
	free(s->devs);
	id_index_free(&s->index);
	for (int i = 0; i < EVENTS_MAX; i++)
		free(s->events[i].text);
	free(s->devices_cache);
	cJSON_Delete(s->metrics);
	pthread_cond_destroy(&s->events_cv);
	pthread_cond_destroy(&s->frames_cv);
	pthread_cond_destroy(&s->results_cv);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

void store_stop(struct store *s)
{
	pthread_mutex_lock(&s->lock);
	s->stopped = true;
	pthread_cond_broadcast(&s->events_cv);
	pthread_cond_broadcast(&s->frames_cv);
	pthread_cond_broadcast(&s->results_cv);
	pthread_mutex_unlock(&s->lock);
}

/* --- devices (lock held) --- */

static const char *dev_id_at(const void *devs, int k)
{
	return (*((struct dev *const *)devs + k))->id;
}

static struct dev *dev_find(struct store *s, const char *id)
{
	int k = id_index_find(&s->index, id, dev_id_at, s->devs);

	return k < 0 ? NULL : s->devs[k];
}

/* Rebuilds the index with room for cap devices. */
static bool index_grow(struct store *s, int cap)
{
	if (id_index_init(&s->index, cap) < 0)
		return false;
	for (int k = 0; k < s->n_devs; k++)
		id_index_add(&s->index, s->devs[k]->id, k);
	return true;
}

static struct dev *dev_get(struct store *s, const char *id)
{
	struct dev *d = dev_find(s, id);

	if (d || !device_id_valid(id, strlen(id)) || s->n_devs >= DEVICES_MAX)
		return d;
	if (s->n_devs == s->cap_devs) {
		int cap = s->cap_devs ? 2 * s->cap_devs : 16;
		void *p = realloc(s->devs, (size_t)cap * sizeof(*s->devs));
		if (!p)
			return NULL;
		s->devs = p;
		s->cap_devs = cap;
		if (!index_grow(s, cap))
			return NULL;
	}
	if (!(d = calloc(1, sizeof(*d))))
		return NULL;
	snprintf(d->id, sizeof(d->id), "%s", id);
	id_index_add(&s->index, d->id, s->n_devs);
	s->devs[s->n_devs++] = d;
	return d;
}

static const char *display_name(const struct store *s, const char *id)
{
	for (int i = 0; i < s->c->n_names; i++)
		if (!strcmp(s->c->names[i].id, id))
			return s->c->names[i].name;
	return id;
}

static cJSON *dev_json(struct store *s, const struct dev *d, bool with_history)
{
	cJSON *o = cJSON_CreateObject(), *last_seen;
	const char *kind = NULL;

	cJSON_AddStringToObject(o, "id", d->id);
	cJSON_AddStringToObject(o, "name", display_name(s, d->id));
	if (d->info)
		kind = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(d->info, "kind"));
	if (kind)
		cJSON_AddStringToObject(o, "kind", kind);
	else
		cJSON_AddNullToObject(o, "kind");
	cJSON_AddBoolToObject(o, "online", d->online);
	last_seen = d->state ? cJSON_GetObjectItemCaseSensitive(d->state, "last_seen") : NULL;
	if (!last_seen && d->info)
		last_seen = cJSON_GetObjectItemCaseSensitive(d->info, "last_seen");
	if (d->frame_seen[0] && (!cJSON_IsString(last_seen) || strcmp(d->frame_seen, last_seen->valuestring) > 0))
		cJSON_AddStringToObject(o, "last_seen", d->frame_seen);
	else if (cJSON_IsString(last_seen))
		cJSON_AddStringToObject(o, "last_seen", last_seen->valuestring);
	else
		cJSON_AddNullToObject(o, "last_seen");
	for (int k = 0; k < 2; k++) {
		const char *key = k ? "controls" : "sensors";
		cJSON *a = d->info ? cJSON_GetObjectItemCaseSensitive(d->info, key) : NULL;
		cJSON_AddItemToObject(o, key, cJSON_IsArray(a) ? cJSON_Duplicate(a, true) : cJSON_CreateArray());
	}
	cJSON_AddItemToObject(o, "state", d->state ? cJSON_Duplicate(d->state, true) : cJSON_CreateObject());
	cJSON_AddBoolToObject(o, "camera", (kind && !strcmp(kind, "camera")) || d->frame || d->thumb);
	if (with_history) {
		cJSON *h = cJSON_AddObjectToObject(o, "history");
		for (int i = 0; i < d->n_hist; i++) {
			const struct hist *hs = &d->hist[i];
			cJSON *arr = cJSON_AddArrayToObject(h, hs->name);
			int cap = s->c->history;
			for (int j = 0; j < hs->n; j++) {
				const struct point *p = &hs->p[(hs->head - hs->n + j + cap) % cap];
				cJSON *pt = cJSON_CreateArray();
				cJSON_AddItemToArray(pt, cJSON_CreateNumber((double)p->t_ms));
				cJSON_AddItemToArray(pt, cJSON_CreateNumber(p->v));
				cJSON_AddItemToArray(arr, pt);
			}
		}
	}
	return o;
}

static char *devices_text(struct store *s, size_t *len)
{
	cJSON *a;
	char *text;

	if (s->devices_cache) {
		*len = s->devices_cache_len;
		return s->devices_cache;
	}
	a = cJSON_CreateArray();
	for (int i = 0; i < s->n_devs; i++)
		if (s->devs[i]->listed)
			cJSON_AddItemToArray(a, dev_json(s, s->devs[i], false));
	text = cJSON_PrintUnformatted(a);
	cJSON_Delete(a);
	s->devices_cache = text;
	s->devices_cache_len = text ? strlen(text) : 0;
	*len = s->devices_cache_len;
	return text;
}

static void changed(struct store *s)
{
	free(s->devices_cache);
	s->devices_cache = NULL;
}

/* --- events (lock held) --- */

static void event_push(struct store *s, const char *type, cJSON *data)
{
	char *json = cJSON_PrintUnformatted(data);
	struct event *e;
	size_t need;

	cJSON_Delete(data);
	if (!json)
		return;
	need = strlen(type) + strlen(json) + 32;
	e = &s->events[(s->seq + 1) % EVENTS_MAX];
	free(e->text);
	e->text = malloc(need);
	if (!e->text) {
		free(json);
		return;
	}
	e->len = (size_t)snprintf(e->text, need, "event: %s\ndata: %s\n\n", type, json);
	e->seq = ++s->seq;
	free(json);
	pthread_cond_broadcast(&s->events_cv);
}

static cJSON *id_object(const char *id)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "id", id);
	return o;
}

static char *snapshot_text(struct store *s, size_t *len)
{
	size_t n;
	const char *devices = devices_text(s, &n);
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
	*seq = s->seq;
	pthread_mutex_unlock(&s->lock);
	return text;
}

char *store_events_wait(struct store *s, uint64_t *seq, int timeout_ms, size_t *len, bool *stopped)
{
	uint64_t deadline = now_ms() + (uint64_t)timeout_ms;
	char *text = NULL;

	pthread_mutex_lock(&s->lock);
	while (!s->stopped && s->seq == *seq)
		if (cond_wait_until(&s->events_cv, &s->lock, deadline) == ETIMEDOUT)
			break;
	*stopped = s->stopped;
	if (s->stopped || s->seq == *seq) {
		pthread_mutex_unlock(&s->lock);
		return NULL;
	}
	if (s->seq - *seq > EVENTS_MAX - 1) {
		text = snapshot_text(s, len);	/* too far behind: start over */
	} else {
		size_t total = 0, off = 0;
		for (uint64_t q = *seq + 1; q <= s->seq; q++)
			total += s->events[q % EVENTS_MAX].len;
		if ((text = malloc(total + 1))) {
			for (uint64_t q = *seq + 1; q <= s->seq; q++) {
				const struct event *e = &s->events[q % EVENTS_MAX];
				memcpy(text + off, e->text, e->len);
				off += e->len;
			}
			text[off] = '\0';
			*len = off;
		}
	}
	*seq = s->seq;
	pthread_mutex_unlock(&s->lock);
	return text;
}

/* --- messages from the broker (MQTT thread) --- */

static void on_devices(struct store *s, cJSON *list)
{
	cJSON *item;
	cJSON *ev;
	size_t n;
	const char *text;

	for (int i = 0; i < s->n_devs; i++)
		s->devs[i]->listed = false;
	cJSON_ArrayForEach(item, list) {
		const char *id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(item, "id"));
		cJSON *online = cJSON_GetObjectItemCaseSensitive(item, "online");
		struct dev *d;
		if (!id || !cJSON_IsObject(item) || !(d = dev_get(s, id)))
			continue;
		if (!d->listed && !d->info && cJSON_IsBool(online))
			d->online = cJSON_IsTrue(online);	/* until availability says more */
		d->listed = true;
		cJSON_Delete(d->info);
		d->info = cJSON_Duplicate(item, true);
	}
	changed(s);
	text = devices_text(s, &n);
	ev = cJSON_CreateObject();
	cJSON_AddItemToObject(ev, "devices", text ? cJSON_Parse(text) : cJSON_CreateArray());
	event_push(s, "devices", ev);
}

static void hist_push(struct store *s, struct dev *d, const char *name, double v)
{
	struct hist *h = NULL;
	int cap = s->c->history;

	for (int i = 0; i < d->n_hist; i++)
		if (!strcmp(d->hist[i].name, name))
			h = &d->hist[i];
	if (!h) {
		if (d->n_hist == HIST_MAX || strlen(name) >= sizeof(h->name))
			return;
		h = &d->hist[d->n_hist];
		if (!(h->p = calloc((size_t)cap, sizeof(*h->p))))
			return;
		snprintf(h->name, sizeof(h->name), "%s", name);
		d->n_hist++;
	}
	h->p[h->head] = (struct point){ (int64_t)wall_ms(), v };
	h->head = (h->head + 1) % cap;
	if (h->n < cap)
		h->n++;
}

static bool is_sensor(const struct dev *d, const char *name)
{
	cJSON *sensors = d->info ? cJSON_GetObjectItemCaseSensitive(d->info, "sensors") : NULL, *it;

	cJSON_ArrayForEach(it, sensors) {
		const char *n = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, "name"));
		if (n && !strcmp(n, name))
			return true;
	}
	return false;
}

static void on_state(struct store *s, struct dev *d, cJSON *state)
{
	cJSON *it, *ev;

	cJSON_ArrayForEach(it, state)
		if (cJSON_IsNumber(it) && isfinite(it->valuedouble) && is_sensor(d, it->string))
			hist_push(s, d, it->string, it->valuedouble);
	cJSON_Delete(d->state);
	d->state = state;
	changed(s);
	ev = id_object(d->id);
	cJSON_AddItemToObject(ev, "state", cJSON_Duplicate(state, true));
	event_push(s, "state", ev);
}

static void on_result(struct store *s, const char *device, cJSON *result)
{
	const char *id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(result, "id"));
	cJSON *ev;

	for (struct waiter *w = s->waiters; w && id; w = w->next)
		if (!w->result && !strcmp(w->id, id) && !strcmp(w->device, device)) {
			w->result = cJSON_PrintUnformatted(result);
			pthread_cond_broadcast(&s->results_cv);
		}
	ev = cJSON_CreateObject();
	cJSON_AddStringToObject(ev, "device", device);
	cJSON_AddItemToObject(ev, "result", cJSON_Duplicate(result, true));
	event_push(s, "result", ev);
}

static struct frame *frame_new(const void *data, size_t len)
{
	struct frame *f = malloc(sizeof(*f) + len);

	if (!f)
		return NULL;
	f->refs = 1;
	f->len = len;
	memcpy(f->data, data, len);
	return f;
}

static bool looks_like_jpeg(const unsigned char *p, size_t len)
{
	return len >= 4 && p[0] == 0xFF && p[1] == 0xD8 && p[len - 2] == 0xFF && p[len - 1] == 0xD9;
}

void store_on_message(struct store *s, const char *topic, const void *payload, size_t len)
{
	char id[DEVICE_ID_MAX + 1];
	const char *rest, *slash;
	cJSON *json = NULL;
	struct dev *d;
	size_t idlen;

	if (strncmp(topic, s->prefix, s->prefix_len))
		return;
	rest = topic + s->prefix_len;
	slash = strchr(rest, '/');
	idlen = slash ? (size_t)(slash - rest) : strlen(rest);
	if (idlen == 0 || idlen > DEVICE_ID_MAX)
		return;
	memcpy(id, rest, idlen);
	id[idlen] = '\0';
	rest = slash ? slash + 1 : "";

	pthread_mutex_lock(&s->lock);
	if (!strcmp(id, "bridge")) {
		if (!strcmp(rest, "devices")) {
			json = cJSON_ParseWithLength(payload, len);
			if (cJSON_IsArray(json)) {
				on_devices(s, json);
				s->have_devices = true;
			}
			else
				log_warn("mqtt: %s is not a JSON array; ignored", topic);
		} else if (!strcmp(rest, "metrics")) {
			json = cJSON_ParseWithLength(payload, len);
			if (cJSON_IsObject(json)) {
				cJSON_Delete(s->metrics);
				s->metrics = json;
				json = NULL;
			}
		} else if (!strcmp(rest, "state")) {
			cJSON *ev = cJSON_CreateObject();
			s->bridge_online = len == 6 && !memcmp(payload, "online", 6);
			cJSON_AddBoolToObject(ev, "online", s->bridge_online);
			event_push(s, "bridge", ev);
		}
		goto out;
	}
	if (!strcmp(rest, "set") || !strcmp(rest, "get") || !(d = dev_get(s, id)))
		goto out;
	if (!*rest) {
		json = cJSON_ParseWithLength(payload, len);
		if (cJSON_IsObject(json)) {
			on_state(s, d, json);
			json = NULL;
		} else {
			log_warn("mqtt: %s is not a JSON object; ignored", topic);
		}
	} else if (!strcmp(rest, "availability")) {
		bool online = len == 6 && !memcmp(payload, "online", 6);
		cJSON *ev = id_object(d->id);
		d->online = online;
		changed(s);
		cJSON_AddBoolToObject(ev, "online", online);
		event_push(s, "availability", ev);
	} else if (!strcmp(rest, "result")) {
		json = cJSON_ParseWithLength(payload, len);
		if (cJSON_IsObject(json))
			on_result(s, d->id, json);
	} else if (!strcmp(rest, "camera") || !strcmp(rest, "thumbnail")) {
		struct frame *f;
		bool full = rest[0] == 'c';
		if (!looks_like_jpeg(payload, len) || !(f = frame_new(payload, len)))
			goto out;
		if (full) {
			char seen[32];
			frame_unref(d->frame);
			d->frame = f;
			d->frame_gen++;
			iso8601(seen, wall_ms());
			if (strcmp(seen, d->frame_seen)) {	/* at most once a second */
				cJSON *ev = id_object(d->id);
				memcpy(d->frame_seen, seen, sizeof(seen));
				changed(s);
				cJSON_AddStringToObject(ev, "last_seen", seen);
				event_push(s, "seen", ev);
			}
			pthread_cond_broadcast(&s->frames_cv);
		} else {
			frame_unref(d->thumb);
			d->thumb = f;
			if (!d->frame)
				changed(s);
		}
	}
out:
	pthread_mutex_unlock(&s->lock);
	cJSON_Delete(json);
}

void store_set_connected(struct store *s, bool up)
{
	cJSON *ev = cJSON_CreateObject();

	pthread_mutex_lock(&s->lock);
	s->connected = up;
	cJSON_AddBoolToObject(ev, "connected", up);
	event_push(s, "broker", ev);
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
	d = dev_find(s, id);
	known = d && d->listed;
	pthread_mutex_unlock(&s->lock);
	return known;
}

char *store_devices_json(struct store *s, size_t *len)
{
	char *copy = NULL;
	const char *text;

	pthread_mutex_lock(&s->lock);
	text = devices_text(s, len);
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
	d = dev_find(s, id);
	if (d && d->listed) {
		cJSON *o = dev_json(s, d, true);
		text = cJSON_PrintUnformatted(o);
		cJSON_Delete(o);
		*len = text ? strlen(text) : 0;
	}
	pthread_mutex_unlock(&s->lock);
	return text;
}

/* --- metrics --- */

struct buf {
	char *p;
	size_t len, cap;
};

static void __attribute__((format(printf, 2, 3))) put(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0)
			return;
		if (b->p && b->len + (size_t)n < b->cap) {
			b->len += (size_t)n;
			return;
		}
		size_t cap = (b->cap ? 2 * b->cap : 4096) + (size_t)n;
		char *p = realloc(b->p, cap);
		if (!p)
			return;
		b->p = p;
		b->cap = cap;
	}
}

/* Counters of the base unit that are gauges, not totals. */
static bool is_gauge(const char *name)
{
	static const char *const gauges[] = { "uptime_s", "devices", "devices_online", "udp_rcvbuf",
					      "camera_clients", "outage_buffered" };
	for (size_t i = 0; i < sizeof(gauges) / sizeof(gauges[0]); i++)
		if (!strcmp(name, gauges[i]))
			return true;
	return false;
}

char *store_metrics_text(struct store *s, size_t *len)
{
	struct buf b = { 0 };
	cJSON *it;
	int online = 0, listed = 0;

	pthread_mutex_lock(&s->lock);
	for (int i = 0; i < s->n_devs; i++)
		if (s->devs[i]->listed) {
			listed++;
			online += s->devs[i]->online;
		}
	put(&b, "# HELP intercom_dashboard_broker_connected Whether the dashboard is connected to the broker.\n"
		"# TYPE intercom_dashboard_broker_connected gauge\nintercom_dashboard_broker_connected %d\n",
	    s->connected);
	put(&b, "# HELP intercom_bridge_online Whether the base unit is online (P/bridge/state).\n"
		"# TYPE intercom_bridge_online gauge\nintercom_bridge_online %d\n", s->bridge_online);
	put(&b, "# HELP intercom_dashboard_devices Devices the base unit announces, as the dashboard sees them.\n"
		"# TYPE intercom_dashboard_devices gauge\nintercom_dashboard_devices{state=\"online\"} %d\n"
		"intercom_dashboard_devices{state=\"offline\"} %d\n", online, listed - online);
	put(&b, "# HELP intercom_dashboard_sse_clients Open /api/events streams.\n"
		"# TYPE intercom_dashboard_sse_clients gauge\nintercom_dashboard_sse_clients %d\n"
		"# HELP intercom_dashboard_mjpeg_viewers Open MJPEG streams.\n"
		"# TYPE intercom_dashboard_mjpeg_viewers gauge\nintercom_dashboard_mjpeg_viewers %d\n"
		"# TYPE intercom_dashboard_requests_total counter\nintercom_dashboard_requests_total %d\n"
		"# TYPE intercom_dashboard_sets_total counter\nintercom_dashboard_sets_total %d\n"
		"# TYPE intercom_dashboard_logins_failed_total counter\nintercom_dashboard_logins_failed_total %d\n"
		"# TYPE intercom_dashboard_csrf_refused_total counter\nintercom_dashboard_csrf_refused_total %d\n",
	    s->counters.sse_clients, s->counters.mjpeg_viewers, s->counters.requests, s->counters.sets,
	    s->counters.logins_failed, s->counters.csrf_refused);
	/* The base unit's own counters (P/bridge/metrics), one family per key. */
	cJSON_ArrayForEach(it, s->metrics) {
		if (cJSON_IsNumber(it)) {
			bool gauge = is_gauge(it->string);
			put(&b, "# TYPE intercom_%s%s %s\nintercom_%s%s %.15g\n", it->string, gauge ? "" : "_total",
			    gauge ? "gauge" : "counter", it->string, gauge ? "" : "_total", it->valuedouble);
		} else if (cJSON_IsObject(it)) {
			const char *label = !strcmp(it->string, "results") ? "result"
					    : !strcmp(it->string, "dropped") ? "reason" : "kind";
			const char *family = !strcmp(it->string, "results") ? "commands" : it->string;
			cJSON *sub;
			put(&b, "# TYPE intercom_%s_total counter\n", family);
			cJSON_ArrayForEach(sub, it)
				if (cJSON_IsNumber(sub))
					put(&b, "intercom_%s_total{%s=\"%s\"} %.15g\n", family, label, sub->string,
					    sub->valuedouble);
		}
	}
	pthread_mutex_unlock(&s->lock);
	*len = b.len;
	return b.p;
}

/* --- frames --- */

struct frame *store_frame_get(struct store *s, const char *id, bool thumbnail_ok)
{
	struct frame *f = NULL;
	struct dev *d;

	pthread_mutex_lock(&s->lock);
	if ((d = dev_find(s, id))) {
		f = d->frame ? d->frame : thumbnail_ok ? d->thumb : NULL;
		if (f)
			f->refs++;
	}
	pthread_mutex_unlock(&s->lock);
	return f;
}

struct frame *store_frame_wait(struct store *s, const char *id, uint64_t *gen, int timeout_ms, bool *stopped)
{
	uint64_t deadline = now_ms() + (uint64_t)timeout_ms;
	struct frame *f = NULL;
	struct dev *d;

	pthread_mutex_lock(&s->lock);
	for (;;) {
		d = dev_find(s, id);
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

void store_frame_put(struct store *s, struct frame *f)
{
	if (!f)
		return;
	pthread_mutex_lock(&s->lock);
	frame_unref(f);
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

void store_count(struct store *s, int *counter, int delta)
{
	pthread_mutex_lock(&s->lock);
	*counter += delta;
	pthread_mutex_unlock(&s->lock);
}

struct dash_counters *store_counters(struct store *s)
{
	return &s->counters;
}
