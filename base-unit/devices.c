#include "devices.h"
#include "util.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

static const char *id_at(const void *devices, int k)
{
	return ((const struct device *)devices)[k].peer.id;
}

int device_table_init(struct device_table *t, const struct base_config *c)
{
	memset(t, 0, sizeof(*t));
	t->devices = calloc(c->n_devices ? (size_t)c->n_devices : 1, sizeof(*t->devices));
	if (!t->devices || id_index_init(&t->index, c->n_devices) < 0) {
		device_table_free(t);
		return -1;
	}
	for (int i = 0; i < c->n_devices; i++) {
		ic_peer_init(&t->devices[i].peer, c->devices[i].id, c->devices[i].psk);
		ic_peer_set_ticket(&t->devices[i].peer, random_u64_nonzero());
		t->devices[i].busy_slot = -1;
		id_index_add(&t->index, c->devices[i].id, i);
	}
	t->n = c->n_devices;
	return 0;
}

void device_table_free(struct device_table *t)
{
	if (!t)
		return;
	for (int i = 0; t->devices && i < t->n; i++) {
		free(t->devices[i].info);
		free(t->devices[i].pending);
		free(t->devices[i].cmds);
		camera_free(t->devices[i].cam);
	}
	if (t->devices)	/* keys do not outlive the table */
		memset(t->devices, 0, (size_t)t->n * sizeof(*t->devices));
	free(t->devices);
	id_index_free(&t->index);
	t->devices = NULL;
	t->n = 0;
}

struct device *device_table_find(const struct device_table *t, const char *id)
{
	int k = id_index_find(&t->index, id, id_at, t->devices);

	return k < 0 ? NULL : &t->devices[k];
}

/* The bytes of a struct ic_hello up to its last announced control. */
static size_t hello_size(const struct ic_hello *h)
{
	return offsetof(struct ic_hello, controls) + (size_t)h->n_controls * sizeof(h->controls[0]);
}

int device_set_info(struct device *d, const struct ic_hello *h)
{
	struct device_info *info = calloc(1, offsetof(struct device_info, hello) + hello_size(h));

	if (!info)
		return -ENOMEM;
	memcpy(&info->hello, h, hello_size(h));
	free(d->info);
	d->info = info;
	return 0;
}

int device_adopt_pending(struct device *d)
{
	int changed = 1;

	if (!d->pending)
		return 0;
	if (d->info && d->info->hello.n_controls == d->pending->n_controls &&
	    memcmp(&d->info->hello, d->pending, hello_size(d->pending)) == 0)
		changed = 0;	/* the same as before: keep its values */
	else if (device_set_info(d, d->pending) < 0)
		changed = -1;
	free(d->pending);
	d->pending = NULL;
	return changed;
}

bool device_apply_values(struct device *d, const struct ic_reading *r, bool controls)
{
	const struct ic_hello *h = &d->info->hello;
	int n = controls ? h->n_controls : h->n_sensors;

	for (int i = 0; i < r->n; i++)
		if (r->values[i].index >= n ||
		    (controls && !ic_control_value_valid(&h->controls[r->values[i].index], r->values[i].value)))
			return false;
	for (int i = 0; i < r->n; i++) {
		int k = r->values[i].index;
		if (controls) {
			d->info->control[k] = r->values[i].value;
			d->info->have_control |= 1u << k;
		} else {
			d->info->sensor[k] = r->values[i].value;
			d->info->have_sensor |= 1u << k;
		}
	}
	return true;
}

bool device_heard(struct device *d, const struct sockaddr_storage *from, socklen_t from_len, bool newest,
		  uint64_t now, uint64_t wall, struct sockaddr_storage *old)
{
	bool moved = false;

	if (newest) {
		moved = d->addr_len && !addr_equal(&d->addr, from);
		*old = d->addr;
		memcpy(&d->addr, from, from_len);
		d->addr_len = from_len;
	}
	d->last_rx = now;
	d->last_seen_wall = wall;
	return moved;
}

const char *kind_name(uint8_t kind)
{
	switch (kind) {
	case IC_KIND_READ: return "read";
	case IC_KIND_UPDATABLE: return "updatable";
	case IC_KIND_CAMERA: return "camera";
	}
	return NULL;
}

static void add_last_seen(cJSON *o, const struct device *d)
{
	char when[32];

	if (d->last_seen_wall) {
		iso8601(when, d->last_seen_wall);
		cJSON_AddStringToObject(o, "last_seen", when);
	} else {
		cJSON_AddNullToObject(o, "last_seen");
	}
}

char *device_state_json(const struct device *d)
{
	cJSON *o = cJSON_CreateObject();
	char *s = NULL;

	if (!o)
		return NULL;
	for (int i = 0; d->info && i < d->info->hello.n_sensors; i++)
		if (d->info->have_sensor & (1u << i))
			cJSON_AddNumberToObject(o, d->info->hello.sensors[i].name, d->info->sensor[i]);
	for (int i = 0; d->info && i < d->info->hello.n_controls; i++) {
		const struct ic_control *c = &d->info->hello.controls[i];
		if (d->info->have_control & (1u << i))
			cJSON_AddItemToObject(o, c->name, control_value_json(c, d->info->control[i]));
	}
	add_last_seen(o, d);
	s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return s;
}

char *device_list_json(const struct device_table *t)
{
	cJSON *arr = cJSON_CreateArray();
	char *s = NULL;

	if (!arr)
		return NULL;
	for (int i = 0; i < t->n; i++) {
		const struct device *d = &t->devices[i];
		cJSON *o = cJSON_CreateObject(), *sensors, *controls;

		if (!o)
			goto out;
		cJSON_AddItemToArray(arr, o);
		cJSON_AddStringToObject(o, "id", d->peer.id);
		if (d->info)
			cJSON_AddStringToObject(o, "kind", kind_name(d->info->hello.kind));
		else
			cJSON_AddNullToObject(o, "kind");
		sensors = cJSON_AddArrayToObject(o, "sensors");
		for (int j = 0; d->info && sensors && j < d->info->hello.n_sensors; j++) {
			cJSON *so = cJSON_CreateObject();
			if (!so)
				goto out;
			cJSON_AddItemToArray(sensors, so);
			cJSON_AddStringToObject(so, "name", d->info->hello.sensors[j].name);
			cJSON_AddStringToObject(so, "unit", d->info->hello.sensors[j].unit);
		}
		controls = cJSON_AddArrayToObject(o, "controls");
		for (int j = 0; d->info && controls && j < d->info->hello.n_controls; j++) {
			const struct ic_control *c = &d->info->hello.controls[j];
			cJSON *co = cJSON_CreateObject(), *vals;
			if (!co)
				goto out;
			cJSON_AddItemToArray(controls, co);
			cJSON_AddStringToObject(co, "name", c->name);
			cJSON_AddStringToObject(co, "type", c->type == IC_SWITCH ? "switch" :
							   c->type == IC_RANGE ? "range" : "enum");
			if (c->type == IC_RANGE) {
				cJSON_AddNumberToObject(co, "min", c->min);
				cJSON_AddNumberToObject(co, "max", c->max);
				cJSON_AddNumberToObject(co, "step", c->step);
			} else if (c->type == IC_ENUM) {
				vals = cJSON_AddArrayToObject(co, "values");
				for (int k = 0; vals && k < c->n_values; k++)
					cJSON_AddItemToArray(vals, cJSON_CreateString(c->values[k]));
			}
			if (c->failsafe_ms) {
				cJSON *fs = cJSON_AddObjectToObject(co, "failsafe");
				cJSON_AddItemToObject(fs, "value", control_value_json(c, c->failsafe));
				cJSON_AddNumberToObject(fs, "after_ms", c->failsafe_ms);
			}
		}
		cJSON_AddBoolToObject(o, "online", d->online);
		add_last_seen(o, d);
	}
	s = cJSON_PrintUnformatted(arr);
out:
	cJSON_Delete(arr);
	return s;
}
