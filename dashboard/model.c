#include "model.h"
#include "util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct jpeg *jpeg_new(const void *data, size_t len)
{
	struct jpeg *j = malloc(sizeof(*j) + len);

	if (!j)
		return NULL;
	j->refs = 1;
	j->gen = 0;
	j->at_ms = now_ms();
	j->len = len;
	memcpy(j->data, data, len);
	return j;
}

void jpeg_unref(struct jpeg *j)
{
	if (j && --j->refs == 0)
		free(j);
}

void model_free(struct model *m)
{
	for (int i = 0; i < m->n; i++) {
		struct dev *d = m->devs[i];
		cJSON_Delete(d->info);
		cJSON_Delete(d->state);
		cJSON_Delete(d->last_event);
		for (int h = 0; h < d->n_hist; h++)
			free(d->hist[h].p);
		jpeg_unref(d->frame);
		jpeg_unref(d->thumb);
		free(d);
	}
	free(m->devs);
	id_index_free(&m->index);
	free(m->cache);
	m->devs = NULL;
	m->cache = NULL;
	m->n = m->cap = 0;
}

static const char *dev_id_at(const void *devs, int k)
{
	return (*((struct dev *const *)devs + k))->id;
}

struct dev *model_find(const struct model *m, const char *id)
{
	int k = id_index_find(&m->index, id, dev_id_at, m->devs);

	return k < 0 ? NULL : m->devs[k];
}

/* Rebuilds the index with room for cap devices. */
static bool index_grow(struct model *m, int cap)
{
	if (id_index_init(&m->index, cap) < 0)
		return false;
	for (int k = 0; k < m->n; k++)
		id_index_add(&m->index, m->devs[k]->id, k);
	return true;
}

struct dev *model_get(struct model *m, const char *id)
{
	struct dev *d = model_find(m, id);

	if (d || !device_id_valid(id, strlen(id)) || m->n >= DEVICES_MAX)
		return d;
	if (m->n == m->cap) {
		int cap = m->cap ? 2 * m->cap : 16;
		void *p = realloc(m->devs, (size_t)cap * sizeof(*m->devs));
		if (!p)
			return NULL;
		m->devs = p;
		m->cap = cap;
		if (!index_grow(m, cap))
			return NULL;
	}
	if (!(d = calloc(1, sizeof(*d))))
		return NULL;
	snprintf(d->id, sizeof(d->id), "%s", id);
	d->motion = -1;
	id_index_add(&m->index, d->id, m->n);
	m->devs[m->n++] = d;
	return d;
}

static const char *display_name(const struct model *m, const char *id)
{
	for (int i = 0; i < m->c->n_names; i++)
		if (!strcmp(m->c->names[i].id, id))
			return m->c->names[i].name;
	return id;
}

cJSON *model_dev_json(const struct model *m, const struct dev *d, bool with_history)
{
	cJSON *o = cJSON_CreateObject(), *last_seen;
	const char *kind = NULL;

	cJSON_AddStringToObject(o, "id", d->id);
	cJSON_AddStringToObject(o, "name", display_name(m, d->id));
	if (d->info)
		kind = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(d->info, "kind"));
	if (kind)
		cJSON_AddStringToObject(o, "kind", kind);
	else
		cJSON_AddNullToObject(o, "kind");
	/* "unknown" while the base unit (or the broker) is out of reach: the
	 * device's own availability is then only what it was */
	cJSON_AddBoolToObject(o, "online", m->reachable && d->online);
	cJSON_AddStringToObject(o, "availability", !m->reachable ? "unknown" : d->online ? "online" : "offline");
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
	if (d->motion < 0)
		cJSON_AddNullToObject(o, "motion");	/* no motion detection for it */
	else
		cJSON_AddBoolToObject(o, "motion", d->motion == 1);
	if (d->motion_since[0])
		cJSON_AddStringToObject(o, "motion_since", d->motion_since);
	if (d->last_event)
		cJSON_AddItemToObject(o, "last_event", cJSON_Duplicate(d->last_event, true));
	if (with_history) {
		cJSON *h = cJSON_AddObjectToObject(o, "history");
		for (int i = 0; i < d->n_hist; i++) {
			const struct hist *hs = &d->hist[i];
			cJSON *arr = cJSON_AddArrayToObject(h, hs->name);
			int cap = m->c->history;
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

const char *model_devices_text(struct model *m, size_t *len)
{
	cJSON *a;
	char *text;

	if (m->cache) {
		*len = m->cache_len;
		return m->cache;
	}
	a = cJSON_CreateArray();
	for (int i = 0; i < m->n; i++)
		if (m->devs[i]->listed)
			cJSON_AddItemToArray(a, model_dev_json(m, m->devs[i], false));
	text = cJSON_PrintUnformatted(a);
	cJSON_Delete(a);
	m->cache = text;
	m->cache_len = text ? strlen(text) : 0;
	*len = m->cache_len;
	return text;
}

void model_changed(struct model *m)
{
	free(m->cache);
	m->cache = NULL;
}

void model_set_list(struct model *m, const cJSON *list)
{
	const cJSON *item;

	for (int i = 0; i < m->n; i++)
		m->devs[i]->listed = false;
	cJSON_ArrayForEach(item, list) {
		const char *id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(item, "id"));
		cJSON *online = cJSON_GetObjectItemCaseSensitive(item, "online");
		struct dev *d;
		if (!id || !cJSON_IsObject(item) || !(d = model_get(m, id)))
			continue;
		if (!d->listed && !d->info && cJSON_IsBool(online))
			d->online = cJSON_IsTrue(online);	/* until availability says more */
		d->listed = true;
		cJSON_Delete(d->info);
		d->info = cJSON_Duplicate(item, true);
	}
	model_changed(m);
}

static void hist_push(struct model *m, struct dev *d, const char *name, double v)
{
	struct hist *h = NULL;
	int cap = m->c->history;

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

void model_set_state(struct model *m, struct dev *d, cJSON *state)
{
	cJSON *it;

	cJSON_ArrayForEach(it, state)
		if (cJSON_IsNumber(it) && isfinite(it->valuedouble) && is_sensor(d, it->string))
			hist_push(m, d, it->string, it->valuedouble);
	cJSON_Delete(d->state);
	d->state = state;
	model_changed(m);
}

void model_set_motion(struct model *m, struct dev *d, bool on)
{
	if (d->motion == (int)on)
		return;
	d->motion = on;
	iso8601(d->motion_since, wall_ms());
	model_changed(m);
}

void model_set_event(struct model *m, struct dev *d, cJSON *event)
{
	cJSON_Delete(d->last_event);
	d->last_event = event;
	model_changed(m);
}

bool model_set_frame(struct model *m, struct dev *d, struct jpeg *f, const char seen[32])
{
	jpeg_unref(d->frame);
	d->frame = f;
	f->gen = ++d->frame_gen;
	if (!strcmp(seen, d->frame_seen))
		return false;
	memcpy(d->frame_seen, seen, sizeof(d->frame_seen));
	model_changed(m);
	return true;
}

void model_set_thumbnail(struct model *m, struct dev *d, struct jpeg *f)
{
	jpeg_unref(d->thumb);
	d->thumb = f;
	f->gen = ++d->thumb_gen;
	if (!d->frame)
		model_changed(m);	/* "camera": true */
}

void model_count(const struct model *m, int *listed, int *online)
{
	*listed = *online = 0;
	for (int i = 0; i < m->n; i++)
		if (m->devs[i]->listed) {
			(*listed)++;
			*online += m->reachable && m->devs[i]->online;
		}
}
