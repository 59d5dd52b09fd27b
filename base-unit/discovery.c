#include "discovery.h"
#include "cmdline.h"
#include "topics.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

/* The prefix as one topic level, <F> in docs/topics.md: '/' becomes '_'. */
static void flat(char *out, size_t cap, const char *prefix)
{
	snprintf(out, cap, "%s", prefix);
	for (char *p = out; *p; p++)
		if (*p == '/')
			*p = '_';
}

static cJSON *base_object(const struct base_config *c, const struct device *d, const char *node,
			  const char *object, const char *name)
{
	cJSON *o = cJSON_CreateObject(), *dev, *avail, *a;
	char buf[PREFIX_MAX + IC_ID_MAX + 64];

	cJSON_AddStringToObject(o, "name", name);
	snprintf(buf, sizeof(buf), "%s_%s", node, object);
	cJSON_AddStringToObject(o, "unique_id", buf);
	cJSON_AddStringToObject(o, "object_id", buf);
	/* Reachable only while both say so: the device's own availability is
	 * retained and cannot change once the base unit is gone (its last will
	 * sets P/bridge/state offline). */
	avail = cJSON_AddArrayToObject(o, "availability");
	a = cJSON_CreateObject();
	snprintf(buf, sizeof(buf), "%s/" T_BRIDGE "/" T_BRIDGE_STATE, c->prefix);
	cJSON_AddStringToObject(a, "topic", buf);
	cJSON_AddItemToArray(avail, a);
	a = cJSON_CreateObject();
	topic_build(buf, sizeof(buf), c->prefix, d->peer.id, T_AVAILABILITY);
	cJSON_AddStringToObject(a, "topic", buf);
	cJSON_AddItemToArray(avail, a);
	cJSON_AddStringToObject(o, "availability_mode", "all");
	dev = cJSON_AddObjectToObject(o, "device");
	cJSON_AddItemToArray(cJSON_AddArrayToObject(dev, "identifiers"), cJSON_CreateString(node));
	cJSON_AddStringToObject(dev, "name", d->peer.id);
	cJSON_AddStringToObject(dev, "manufacturer", "intercom");
	cJSON_AddStringToObject(dev, "sw_version", intercom_version);
	snprintf(buf, sizeof(buf), "%s unit", kind_name(d->info->hello.kind));
	cJSON_AddStringToObject(dev, "model", buf);
	return o;
}

static void add_state(cJSON *o, const struct base_config *c, const struct device *d, const char *key)
{
	char buf[PREFIX_MAX + IC_ID_MAX + 64];

	topic_build(buf, sizeof(buf), c->prefix, d->peer.id, T_STATE);
	cJSON_AddStringToObject(o, "state_topic", buf);
	snprintf(buf, sizeof(buf), "{{ value_json.%s }}", key);
	cJSON_AddStringToObject(o, "value_template", buf);
}

static void add_command(cJSON *o, const struct base_config *c, const struct device *d)
{
	char buf[PREFIX_MAX + IC_ID_MAX + 16];

	topic_build(buf, sizeof(buf), c->prefix, d->peer.id, T_SET);
	cJSON_AddStringToObject(o, "command_topic", buf);
}

/* Publishes one config retained, or with remove an empty retained message
 * in its place: Home Assistant then drops the entity. */
static void send_config(struct mqtt *q, const struct base_config *c, const char *component, const char *node,
			const char *object, cJSON *o, bool remove)
{
	char topic[64 + 16 + PREFIX_MAX + IC_ID_MAX + 64];
	char *json = remove ? NULL : cJSON_PrintUnformatted(o);

	cJSON_Delete(o);
	if (!json && !remove)
		return;
	snprintf(topic, sizeof(topic), "%s/%s/%s/%s/config", c->homeassistant_prefix, component, node, object);
	mqtt_publish_topic(q, topic, json, json ? strlen(json) : 0, 1, true);
	cJSON_free(json);
}

static void each_config(struct mqtt *q, const struct base_config *c, const struct device *d, bool remove)
{
	char node[PREFIX_MAX + IC_ID_MAX + 2], pflat[PREFIX_MAX + 1], buf[PREFIX_MAX + IC_ID_MAX + 64];
	const struct ic_hello *h;

	if (!c->homeassistant || !d->info || !d->info->hello.kind)
		return;
	h = &d->info->hello;
	flat(pflat, sizeof(pflat), c->prefix);
	snprintf(node, sizeof(node), "%s_%s", pflat, d->peer.id);
	for (int i = 0; i < h->n_sensors; i++) {
		const char *name = h->sensors[i].name, *unit = h->sensors[i].unit;
		cJSON *o = base_object(c, d, node, name, name);
		add_state(o, c, d, name);
		cJSON_AddStringToObject(o, "state_class", "measurement");
		if (*unit && strcmp(unit, "-"))
			cJSON_AddStringToObject(o, "unit_of_measurement", unit);
		if (!strcmp(unit, "°C") || !strcmp(unit, "°F") || !strcmp(unit, "K"))
			cJSON_AddStringToObject(o, "device_class", "temperature");
		else if (!strcmp(unit, "%") && strstr(name, "humidity"))
			cJSON_AddStringToObject(o, "device_class", "humidity");
		send_config(q, c, "sensor", node, name, o, remove);
	}
	for (int i = 0; i < h->n_controls; i++) {
		const struct ic_control *ctl = &h->controls[i];
		cJSON *o = base_object(c, d, node, ctl->name, ctl->name), *opts;
		const char *component;
		add_state(o, c, d, ctl->name);
		add_command(o, c, d);
		if (ctl->type == IC_SWITCH) {
			component = "switch";
			snprintf(buf, sizeof(buf), "{\"%s\":\"ON\"}", ctl->name);
			cJSON_AddStringToObject(o, "payload_on", buf);
			snprintf(buf, sizeof(buf), "{\"%s\":\"OFF\"}", ctl->name);
			cJSON_AddStringToObject(o, "payload_off", buf);
			cJSON_AddStringToObject(o, "state_on", "ON");
			cJSON_AddStringToObject(o, "state_off", "OFF");
		} else if (ctl->type == IC_RANGE) {
			component = "number";
			snprintf(buf, sizeof(buf), "{\"%s\": {{ value }} }", ctl->name);
			cJSON_AddStringToObject(o, "command_template", buf);
			cJSON_AddNumberToObject(o, "min", ctl->min);
			cJSON_AddNumberToObject(o, "max", ctl->max);
			cJSON_AddNumberToObject(o, "step", ctl->step > 0 ? ctl->step : 1);
			cJSON_AddStringToObject(o, "mode", "slider");
		} else {
			component = "select";
			snprintf(buf, sizeof(buf), "{\"%s\": {{ value | tojson }} }", ctl->name);
			cJSON_AddStringToObject(o, "command_template", buf);
			opts = cJSON_AddArrayToObject(o, "options");
			for (int k = 0; k < ctl->n_values; k++)
				cJSON_AddItemToArray(opts, cJSON_CreateString(ctl->values[k]));
		}
		send_config(q, c, component, node, ctl->name, o, remove);
	}
	if (h->kind == IC_KIND_CAMERA) {
		cJSON *o = base_object(c, d, node, "camera", "camera");
		topic_build(buf, sizeof(buf), c->prefix, d->peer.id, T_CAMERA);
		cJSON_AddStringToObject(o, "topic", buf);
		send_config(q, c, "camera", node, "camera", o, remove);
	}
	if (base_config_motion(c, d->peer.id)) {
		cJSON *o = base_object(c, d, node, "motion", "motion");
		topic_build(buf, sizeof(buf), c->prefix, d->peer.id, T_MOTION);
		cJSON_AddStringToObject(o, "state_topic", buf);
		cJSON_AddStringToObject(o, "payload_on", "ON");
		cJSON_AddStringToObject(o, "payload_off", "OFF");
		cJSON_AddStringToObject(o, "device_class", "motion");
		send_config(q, c, "binary_sensor", node, "motion", o, remove);
	}
}

void discovery_publish(struct mqtt *q, const struct base_config *c, const struct device *d)
{
	each_config(q, c, d, false);
}

void discovery_remove(struct mqtt *q, const struct base_config *c, const struct device *d)
{
	each_config(q, c, d, true);
}
