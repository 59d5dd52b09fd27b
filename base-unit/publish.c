#include "publish.h"
#include "util.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void publish_json(struct base *b, const char *suffix, char *json, bool retain)
{
	if (json)
		mqtt_publish(b->mqtt, suffix, json, strlen(json), retain);
	free(json);
}

void publish_availability(struct base *b, const struct device *d)
{
	char topic[DEVICE_ID_MAX + 16];
	const char *v = d->online ? T_ONLINE : T_OFFLINE;

	/* Restored from the state file and not heard from yet: leave whatever the
	 * broker holds (after a crash, "online") until the grace ends, so a base
	 * unit restart does not flap every device offline (presence_tick). */
	if (!d->online && d->presumed_until)
		return;
	snprintf(topic, sizeof(topic), "%s/" T_AVAILABILITY, d->peer.id);
	mqtt_publish(b->mqtt, topic, v, strlen(v), true);
}

void publish_outage(struct base *b)
{
	const char *topic, *payload;

	while (outage_peek(&b->outage, &topic, &payload)) {
		mqtt_publish(b->mqtt, topic, payload, strlen(payload), true);
		outage_pop(&b->outage, true);
	}
}

/* Every reading is worth keeping: while the broker is away, states wait in
 * the outage ring and go out in order when it is back. */
void publish_state(struct base *b, struct device *d)
{
	char *json = device_state_json(d);

	if (!json)
		return;
	d->state_sent = now_ms();
	if (!mqtt_connected(b->mqtt)) {
		outage_keep(&b->outage, d->peer.id, json);
		return;
	}
	publish_json(b, d->peer.id, json, true);
}

void publish_devices(struct base *b)
{
	publish_json(b, T_BRIDGE "/" T_BRIDGE_DEVICES, device_list_json(&b->table), true);
	b->devices_dirty = false;
}

/* The list grows with the number of devices: when many devices come online
 * at once (a base-unit restart), publish it once, not once per device. */
void publish_devices_soon(struct base *b)
{
	b->devices_dirty = true;
}

void publish_metrics(struct base *b)
{
	cJSON *o = cJSON_CreateObject(), *drop, *res;
	const struct camera_stats *cs = &b->cam_stats;
	const struct metrics *m = &b->m;
	uint64_t lost = 0;
	int online = 0;

	if (!o)
		return;
	for (int i = 0; i < b->table.n; i++) {
		online += b->table.devices[i].online;
		lost += b->table.devices[i].peer.lost;
	}
	cJSON_AddNumberToObject(o, "uptime_s", (double)(now_ms() - b->started) / 1000);
	cJSON_AddNumberToObject(o, "devices", b->table.n);
	cJSON_AddNumberToObject(o, "devices_online", online);
	/* counters, in tables: one line each, in the order they are published */
	const struct { const char *name; uint64_t v; } top[] = {
		{ "datagrams", m->datagrams }, { "readings", m->readings }, { "states", m->states },
		{ "keepalives", m->keepalives }, { "byes", m->byes }, { "lost_in_transit", lost },
		{ "hellos", m->hellos }, { "sessions", m->sessions }, { "resets_sent", m->resets_sent },
		{ "challenges_sent", m->challenges_sent }, { "sets", m->sets }, { "gets_coalesced", m->gets_coalesced }, { "retransmits", m->retransmits },
		{ "frames", cs->frames }, { "frames_incomplete", cs->incomplete },
		{ "frames_corrupt", cs->corrupt }, { "frames_unchecked", cs->unchecked }, { "frames_stale", cs->stale },
		{ "frames_too_big", cs->too_big }, { "pulls_failed", cs->pulls_failed },
		{ "frames_skipped", cs->skipped },
		{ "camera_clients", cs->clients }, { "outage_buffered", (uint64_t)b->outage.len },
		{ "outage_delivered", b->outage.delivered }, { "outage_dropped", b->outage.dropped },
		{ "mqtt_reconnects", mqtt_reconnects(b->mqtt) }, { "udp_rcvbuf", (uint64_t)b->rcvbuf },
	}, dropped[] = {
		{ "malformed", m->malformed }, { "unknown_device", m->unknown_device },
		{ "auth_failed", m->auth_failed }, { "replayed", m->replayed },
		{ "unknown_session", m->unknown_session }, { "bad_body", m->bad_body },
		{ "stale", m->stale }, { "send_failed", m->send_failed }, { "kernel", m->kernel_drops },
		{ "retained_command", m->retained_ignored }, { "stale_ticket", m->stale_ticket },
		{ "answers_limited", m->answers_limited },
	};

	for (size_t i = 0; i < sizeof(top) / sizeof(top[0]); i++)
		cJSON_AddNumberToObject(o, top[i].name, (double)top[i].v);
	res = cJSON_AddObjectToObject(o, "results");
	for (int i = 0; res && i < SET_RESULTS; i++)
		cJSON_AddNumberToObject(res, set_result_name(i), (double)m->results[i]);
	drop = cJSON_AddObjectToObject(o, "dropped");
	for (size_t i = 0; drop && i < sizeof(dropped) / sizeof(dropped[0]); i++)
		cJSON_AddNumberToObject(drop, dropped[i].name, (double)dropped[i].v);
	publish_json(b, T_BRIDGE "/" T_BRIDGE_METRICS, cJSON_PrintUnformatted(o), true);
	cJSON_Delete(o);
}
