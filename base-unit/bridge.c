#include "bridge.h"
#include "discovery.h"
#include "state.h"
#include "log.h"
#include "util.h"

#include <cjson/cJSON.h>
#include <malloc.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RESET_GAP_MS 1000	/* at most one RESET per device per second */

static const char *const result_names[] = { "ok", "invalid", "rejected", "timeout", "offline" };

static struct camera *camera_of(struct base *b, struct device *d)
{
	if (!d->cam) {
		d->cam = camera_new(&b->cam_stats);
		if (d->cam)
			b->cams[b->n_cams++] = d;
	}
	return d->cam;
}

/* Pull cameras and raw TCP ports come from the configuration. */
static int setup_cameras(struct base *b)
{
	for (int i = 0; i < b->cfg.n_devices; i++) {
		const struct device_conf *dc = &b->cfg.devices[i];
		struct device *d = device_table_find(&b->table, dc->id);
		int ret;

		if (!dc->pull && !dc->camera_port[0])
			continue;
		if (!d || !camera_of(b, d))
			return -ENOMEM;
		if (dc->pull) {
			if (camera_pull_setup(d->cam, dc->pull_addr, dc->pull_interval_ms) < 0) {
				log_err("pull camera %s: cannot resolve '%s'", dc->id, dc->pull_addr);
				return -EINVAL;
			}
			if (device_set_info(d, &(struct ic_hello){ .kind = IC_KIND_CAMERA }) < 0)
				return -ENOMEM;
		}
		if (dc->camera_port[0]) {
			ret = camera_listen(d->cam, dc->camera_port);
			if (ret < 0) {
				log_err("camera %s: cannot listen on tcp %s: %s", dc->id, dc->camera_port, strerror(-ret));
				return ret;
			}
			log_info("camera %s: newest frame on tcp %s", dc->id, dc->camera_port);
		}
	}
	return 0;
}

int bridge_init(struct base *b)
{
	uint64_t r = random_u64_nonzero();
	size_t n = b->table.n ? (size_t)b->table.n : 1;

	b->next_cmd_id = r >> 1;	/* room to count up without wrapping */
	b->busy = calloc(n, sizeof(*b->busy));
	b->cams = calloc(n, sizeof(*b->cams));
	b->jc = jpeg_checker_new();
	if (!b->busy || !b->cams || !b->jc)
		return -ENOMEM;
	if (b->cfg.state_file[0] && state_load(&b->table, b->cfg.state_file) > 0) {
		uint64_t now = now_ms();
		for (int i = 0; i < b->table.n; i++) {
			struct device *d = &b->table.devices[i];
			if (d->info && d->info->hello.keepalive)
				d->presumed_until = now + (uint64_t)b->cfg.offline_after * d->info->hello.keepalive * 1000;
		}
	}
	return setup_cameras(b);
}

void bridge_free(struct base *b)
{
	if (b->state_dirty && b->cfg.state_file[0])
		state_save(&b->table, b->cfg.state_file);
	for (int i = 0; b->outage && i < b->outage_len; i++) {
		struct outage_entry *e = &b->outage[(b->outage_head + i) % b->cfg.outage_buffer];
		free(e->topic);
		free(e->payload);
	}
	free(b->outage);
	b->outage = NULL;
	free(b->busy);
	free(b->cams);
	jpeg_checker_free(b->jc);
	b->busy = NULL;
	b->cams = NULL;
	b->jc = NULL;
}

/* --- publishing --- */

static void publish_string(struct base *b, const char *suffix, char *json, bool retain)
{
	if (json)
		mqtt_publish(b->mqtt, suffix, json, strlen(json), retain);
	free(json);
}

static void publish_availability(struct base *b, const struct device *d)
{
	char topic[IC_ID_MAX + 16];
	const char *v = d->online ? "online" : "offline";

	/* Restored from the state file and not heard from yet: leave whatever the
	 * broker holds (after a crash, "online") until the grace ends, so a base
	 * unit restart does not flap every device offline (bridge_tick). */
	if (!d->online && d->presumed_until)
		return;
	snprintf(topic, sizeof(topic), "%s/availability", d->peer.id);
	mqtt_publish(b->mqtt, topic, v, strlen(v), true);
}

static void outage_keep(struct base *b, const char *topic, char *payload)
{
	int cap = b->cfg.outage_buffer;
	struct outage_entry *e;

	if (cap == 0 || (!b->outage && !(b->outage = calloc((size_t)cap, sizeof(*b->outage))))) {
		b->outage_dropped++;
		free(payload);
		return;
	}
	if (b->outage_len == cap) {	/* full: the oldest goes */
		e = &b->outage[b->outage_head];
		free(e->topic);
		free(e->payload);
		b->outage_head = (b->outage_head + 1) % cap;
		b->outage_len--;
		b->outage_dropped++;
	}
	e = &b->outage[(b->outage_head + b->outage_len) % cap];
	e->topic = strdup(topic);
	e->payload = payload;
	if (!e->topic) {
		free(payload);
		b->outage_dropped++;
		return;
	}
	b->outage_len++;
}

static void outage_flush(struct base *b)
{
	while (b->outage_len > 0) {
		struct outage_entry *e = &b->outage[b->outage_head];

		mqtt_publish(b->mqtt, e->topic, e->payload, strlen(e->payload), true);
		free(e->topic);
		free(e->payload);
		b->outage_head = (b->outage_head + 1) % b->cfg.outage_buffer;
		b->outage_len--;
		b->outage_delivered++;
	}
}

/* Every reading is worth keeping: while the broker is away, states wait in
 * the outage buffer and go out in order when it is back. */
static void publish_state(struct base *b, const struct device *d)
{
	char *json = device_state_json(d);

	if (!json)
		return;
	if (!mqtt_connected(b->mqtt)) {
		outage_keep(b, d->peer.id, json);
		return;
	}
	publish_string(b, d->peer.id, json, true);
}

static void publish_devices(struct base *b)
{
	publish_string(b, "bridge/devices", device_list_json(&b->table), true);
	b->devices_dirty = false;
}

/* The list grows with the number of devices: when many devices come online
 * at once (a base-unit restart), publish it once, not once per device. */
static void devices_changed(struct base *b)
{
	b->devices_dirty = true;
}

static void publish_metrics(struct base *b)
{
	cJSON *o = cJSON_CreateObject(), *drop, *res;
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
		{ "datagrams", b->m.datagrams }, { "readings", b->m.readings }, { "states", b->m.states },
		{ "keepalives", b->m.keepalives }, { "byes", b->m.byes }, { "lost_in_transit", lost },
		{ "hellos", b->m.hellos }, { "sessions", b->m.sessions }, { "resets_sent", b->m.resets_sent },
		{ "sets", b->m.sets }, { "retransmits", b->m.retransmits },
		{ "frames", b->cam_stats.frames }, { "frames_incomplete", b->cam_stats.incomplete },
		{ "frames_corrupt", b->cam_stats.corrupt }, { "frames_unchecked", b->cam_stats.unchecked }, { "frames_stale", b->cam_stats.stale },
		{ "frames_too_big", b->cam_stats.too_big }, { "pulls_failed", b->cam_stats.pulls_failed },
		{ "camera_clients", b->cam_stats.clients }, { "outage_buffered", (uint64_t)b->outage_len },
		{ "outage_delivered", b->outage_delivered }, { "outage_dropped", b->outage_dropped },
		{ "mqtt_reconnects", mqtt_reconnects(b->mqtt) }, { "udp_rcvbuf", (uint64_t)b->rcvbuf },
	}, dropped[] = {
		{ "malformed", b->m.malformed }, { "unknown_device", b->m.unknown_device },
		{ "auth_failed", b->m.auth_failed }, { "replayed", b->m.replayed },
		{ "unknown_session", b->m.unknown_session }, { "bad_body", b->m.bad_body },
		{ "stale", b->m.stale }, { "send_failed", b->m.send_failed }, { "kernel", b->m.kernel_drops },
		{ "retained_command", b->m.retained_ignored },
	};

	for (size_t i = 0; i < sizeof(top) / sizeof(top[0]); i++)
		cJSON_AddNumberToObject(o, top[i].name, (double)top[i].v);
	res = cJSON_AddObjectToObject(o, "results");
	for (int i = 0; res && i < 5; i++)
		cJSON_AddNumberToObject(res, result_names[i], (double)b->m.results[i]);
	drop = cJSON_AddObjectToObject(o, "dropped");
	for (size_t i = 0; drop && i < sizeof(dropped) / sizeof(dropped[0]); i++)
		cJSON_AddNumberToObject(drop, dropped[i].name, (double)dropped[i].v);
	publish_string(b, "bridge/metrics", cJSON_PrintUnformatted(o), true);
	cJSON_Delete(o);
}

/* After every (re)connect the broker may have lost or never had our retained
 * state: publish all of it again, and subscribe again. */
void bridge_mqtt_up(void *ctx)
{
	struct base *b = ctx;

	mqtt_subscribe(b->mqtt, "+/set");
	mqtt_subscribe(b->mqtt, "+/get");
	mqtt_publish(b->mqtt, "bridge/state", "online", 6, true);
	publish_devices(b);
	outage_flush(b);	/* what happened while we were away, in order */
	for (int i = 0; i < b->table.n; i++) {
		const struct device *d = &b->table.devices[i];

		discovery_publish(b->mqtt, &b->cfg, d);
		publish_availability(b, d);
		if (d->info && d->last_seen_wall)
			publish_state(b, d);
	}
	publish_metrics(b);
	b->next_metrics = now_ms() + (uint64_t)b->cfg.metrics_interval * 1000;
}

static void send_to(struct base *b, const uint8_t *buf, int len, const struct sockaddr_storage *to,
		    socklen_t to_len)
{
	if (len < 0) {
		log_err("sealing a datagram failed: %s", ic_strerror(len));
		return;
	}
	/* One socket per family: the reply leaves from the address it came to. */
	int fd = b->udp[to->ss_family == AF_INET6];

	if (fd < 0)
		fd = b->udp[to->ss_family != AF_INET6];
	if (sendto(fd, buf, (size_t)len, 0, (const struct sockaddr *)to, to_len) < 0) {
		b->m.send_failed++;
		log_debug("sendto: %s", strerror(errno));
	}
}

/* --- commands --- */

static void publish_result(struct base *b, const char *dev, const struct set_id *id, enum set_result r,
			   const char *error)
{
	char topic[IC_ID_MAX + 16];
	cJSON *o = cJSON_CreateObject();

	if (!o)
		return;
	if (id && id->present)
		cJSON_AddStringToObject(o, "id", id->text);
	else
		cJSON_AddNullToObject(o, "id");
	cJSON_AddStringToObject(o, "status", result_names[r]);
	if (r != RESULT_OK && error)
		cJSON_AddStringToObject(o, "error", error);
	snprintf(topic, sizeof(topic), "%s/result", dev);
	publish_string(b, topic, cJSON_PrintUnformatted(o), false);
	cJSON_Delete(o);
	b->m.results[r]++;
}

static void answer(struct base *b, const struct device *d, const struct cmd *c, enum set_result r,
		   const char *error)
{
	for (int i = 0; i < c->n_ids; i++)
		publish_result(b, d->peer.id, &c->ids[i], r, error);
}

static void busy_add(struct base *b, struct device *d)
{
	if (d->busy_slot >= 0)
		return;
	d->busy_slot = b->n_busy;
	b->busy[b->n_busy++] = d;
}

static void busy_remove(struct base *b, struct device *d)
{
	int i = d->busy_slot;

	if (i < 0)
		return;
	b->busy[i] = b->busy[--b->n_busy];
	b->busy[i]->busy_slot = i;
	d->busy_slot = -1;
}

static void send_command(struct base *b, struct device *d)
{
	struct ic_command c = { .id = d->cmds->wire_id, .set = d->cmds->inflight.set };
	uint8_t body[IC_BODY_MAX], out[IC_MAX_DATAGRAM];
	int n = ic_command_encode(body, sizeof(body), &c);

	if (n < 0 || !d->peer.ready)
		return;
	send_to(b, out, ic_peer_seal(&d->peer, IC_COMMAND, body, (size_t)n, out, sizeof(out)), &d->addr,
		d->addr_len);
}

static void start_next(struct base *b, struct device *d, uint64_t now)
{
	struct cmd_queue *q = d->cmds;

	if (q->busy)
		return;
	if (!cmd_queue_pop(q, &q->inflight)) {
		busy_remove(b, d);
		return;
	}
	q->busy = true;
	q->wire_id = b->next_cmd_id++;
	q->deadline = now + (uint64_t)b->cfg.command_timeout_ms;
	q->rto = (uint64_t)b->cfg.command_retry_ms;
	q->next_send = now + q->rto;
	q->sends = 1;
	send_command(b, d);
	busy_add(b, d);
}

static void finish(struct base *b, struct device *d, enum set_result r, const char *error)
{
	struct cmd_queue *q = d->cmds;

	q->busy = false;
	answer(b, d, &q->inflight, r, error);
	start_next(b, d, now_ms());
}

/* Everything in flight or waiting for a device that went away ends "offline". */
static void flush_offline(struct base *b, struct device *d, const char *why)
{
	struct cmd c;

	if (!d->cmds)
		return;
	if (d->cmds->busy) {
		d->cmds->busy = false;
		answer(b, d, &d->cmds->inflight, RESULT_OFFLINE, why);
	}
	while (cmd_queue_pop(d->cmds, &c))
		answer(b, d, &c, RESULT_OFFLINE, why);
	busy_remove(b, d);
}

static void on_set(struct base *b, struct device *d, const void *payload, size_t len)
{
	struct cmd c;
	char err[256];

	b->m.sets++;
	if (!d->info) {
		/* we cannot validate against what it has never announced */
		set_parse(&(struct ic_hello){ 0 }, payload, len, &c, err, sizeof(err));
		publish_result(b, d->peer.id, &c.ids[0], RESULT_OFFLINE,
			       "the device has not connected since the base unit started");
		return;
	}
	if (!set_parse(&d->info->hello, payload, len, &c, err, sizeof(err))) {
		publish_result(b, d->peer.id, &c.ids[0], RESULT_INVALID, err);
		return;
	}
	if (!d->online || !d->peer.ready) {
		publish_result(b, d->peer.id, &c.ids[0], RESULT_OFFLINE, "the device is offline");
		return;
	}
	if (!d->cmds && !(d->cmds = calloc(1, sizeof(*d->cmds)))) {
		publish_result(b, d->peer.id, &c.ids[0], RESULT_REJECTED, "out of memory");
		return;
	}
	if (!cmd_queue_add(d->cmds, &c)) {
		snprintf(err, sizeof(err), "too many commands waiting (%d): try again when some are answered",
			 CMD_QUEUE_MAX);
		publish_result(b, d->peer.id, &c.ids[0], RESULT_REJECTED, err);
		return;
	}
	start_next(b, d, now_ms());
}

static void on_get(struct base *b, struct device *d)
{
	uint8_t out[IC_MAX_DATAGRAM];

	if (d->online && d->peer.ready)
		send_to(b, out, ic_peer_seal(&d->peer, IC_GET, NULL, 0, out, sizeof(out)), &d->addr, d->addr_len);
}

void bridge_mqtt_message(void *ctx, const char *topic, const void *payload, size_t len, bool retained)
{
	struct base *b = ctx;
	size_t pl = strlen(b->cfg.prefix), il;
	const char *rest, *slash;
	char id[IC_ID_MAX + 1];
	struct device *d;

	if (strncmp(topic, b->cfg.prefix, pl) != 0 || topic[pl] != '/')
		return;
	rest = topic + pl + 1;
	slash = strchr(rest, '/');
	if (!slash || (strcmp(slash, "/set") != 0 && strcmp(slash, "/get") != 0))
		return;
	il = (size_t)(slash - rest);
	if (!ic_id_valid(rest, il)) {
		log_debug("ignored a message on %s: not a device id", topic);
		return;
	}
	memcpy(id, rest, il);
	id[il] = '\0';
	if (retained) {
		/* A set or get published with the retain flag would be carried out
		 * again at every reconnect (a throttle coming back by itself): it
		 * counts once, when it is sent. The broker's copy is cleared. */
		if (len > 0) {
			log_warn("ignored a retained message on %s (commands are carried out once, when sent); "
				 "clearing it at the broker", topic);
			mqtt_publish_topic(b->mqtt, topic, "", 0, 1, true);
			b->m.retained_ignored++;
		}
		return;
	}
	d = device_table_find(&b->table, id);
	if (!d) {
		if (slash[1] == 's') {
			struct cmd c;
			char err[64];
			b->m.sets++;
			set_parse(&(struct ic_hello){ 0 }, payload, len, &c, err, sizeof(err));
			publish_result(b, id, &c.ids[0], RESULT_INVALID, "unknown device");
		}
		return;
	}
	if (slash[1] == 's')
		on_set(b, d, payload, len);
	else
		on_get(b, d);
}

static void pull_availability(struct base *b, struct device *d);

void bridge_timers(struct base *b, uint64_t now)
{
	/* A camera whose timer is due runs now, not at the next tick: a timer
	 * that has passed makes the poll timeout 0 until it runs. */
	for (int i = 0; i < b->n_cams; i++) {
		struct device *d = b->cams[i];
		bool changed;

		if (camera_next_ms(d->cam, now) != 0)
			continue;
		camera_tick(d->cam, now, &changed);
		if (changed)
			pull_availability(b, d);
	}
	for (int i = b->n_busy - 1; i >= 0; i--) {
		struct device *d = b->busy[i];
		struct cmd_queue *q = d->cmds;

		if (now >= q->deadline) {
			char err[64];
			snprintf(err, sizeof(err), "no acknowledgement within %d ms", b->cfg.command_timeout_ms);
			finish(b, d, RESULT_TIMEOUT, err);
		} else if (now >= q->next_send) {
			/* Backoff, but capped low: on a lossy cellular link a round
			 * trip fails often (20% loss each way: 36%), and many
			 * tries inside the deadline matter more than politeness.
			 * The device applies each command id once either way. */
			send_command(b, d);
			q->sends++;
			b->m.retransmits++;
			q->rto = q->rto * 2 < (uint64_t)b->cfg.command_retry_max_ms ? q->rto * 2
										    : (uint64_t)b->cfg.command_retry_max_ms;
			q->next_send = now + q->rto < q->deadline ? now + q->rto : q->deadline;
		}
	}
}

uint64_t bridge_next_timer(const struct base *b, uint64_t now)
{
	uint64_t next = UINT64_MAX;

	for (int i = 0; i < b->n_cams; i++) {
		uint64_t t = camera_next_ms(b->cams[i]->cam, now);
		if (t != UINT64_MAX && now + t < next)
			next = now + t;
	}

	for (int i = 0; i < b->n_busy; i++) {
		const struct cmd_queue *q = b->busy[i]->cmds;
		uint64_t t = q->next_send < q->deadline ? q->next_send : q->deadline;
		if (t < next)
			next = t;
	}
	if (next == UINT64_MAX)
		return UINT64_MAX;
	return next > now ? next - now : 0;
}

/* --- datagrams --- */

static void set_offline(struct base *b, struct device *d, const char *why)
{
	if (!d->online)
		return;
	d->online = false;
	log_info("device %s offline (%s)", d->peer.id, why);
	publish_availability(b, d);
	devices_changed(b);
	flush_offline(b, d, "the device went offline");
}

static void on_established(struct base *b, struct device *d)
{
	int changed = device_adopt_pending(d);
	char where[64];

	if (changed < 0) {
		log_err("out of memory");
		return;
	}
	b->m.sessions++;
	if (d->info->hello.kind == IC_KIND_CAMERA && !camera_of(b, d))
		log_err("out of memory");
	addr_format(where, sizeof(where), (const struct sockaddr *)&d->addr);
	log_info("device %s (%s, %d sensors, %d controls) connected from %s", d->peer.id,
		 kind_name(d->info->hello.kind), d->info->hello.n_sensors, d->info->hello.n_controls, where);
	if (changed)
		b->state_dirty = true;
	d->presumed_until = 0;
	if (!d->online || changed) {
		d->online = true;
		discovery_publish(b->mqtt, &b->cfg, d);
		publish_availability(b, d);
		devices_changed(b);
	}
}

/* READING and STATE carry (index, value) pairs into sensors or controls. */
static bool apply_values(struct base *b, struct device *d, const struct ic_reading *r, bool controls)
{
	int n = controls ? d->info->hello.n_controls : d->info->hello.n_sensors;

	for (int i = 0; i < r->n; i++) {
		if (r->values[i].index >= n ||
		    (controls && !ic_control_value_valid(&d->info->hello.controls[r->values[i].index],
							  r->values[i].value))) {
			b->m.bad_body++;
			return false;
		}
	}
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

static void on_values(struct base *b, struct device *d, const uint8_t *body, size_t len, bool controls)
{
	struct ic_reading r;

	if (ic_reading_decode(&r, body, len) != IC_OK) {
		b->m.bad_body++;
		return;
	}
	if (!apply_values(b, d, &r, controls))
		return;
	if (controls)
		b->m.states++;
	else
		b->m.readings++;
	publish_state(b, d);
}

static void on_ack(struct base *b, struct device *d, const uint8_t *body, size_t len)
{
	struct ic_ack a;
	char err[IC_ERROR_MAX + 32];

	if (ic_ack_decode(&a, body, len) != IC_OK) {
		b->m.bad_body++;
		return;
	}
	if (!d->cmds || !d->cmds->busy || a.id != d->cmds->wire_id) {
		b->m.stale++;	/* a duplicate ack of a command already answered */
		return;
	}
	if (apply_values(b, d, &a.state, true))
		publish_state(b, d);
	if (a.status == IC_ACK_OK) {
		finish(b, d, RESULT_OK, NULL);
	} else {
		snprintf(err, sizeof(err), "the device refused: %s", a.error[0] ? a.error : "no reason given");
		finish(b, d, RESULT_REJECTED, err);
	}
}

/* The newest frame, at most one per camera_interval_ms; its thumbnail retained
 * beside it so a dashboard that arrives later has a picture at once. */
static void publish_frame(struct base *b, struct device *d, uint64_t now)
{
	struct camera *c = d->cam;
	char topic[IC_ID_MAX + 16];

	if (!mqtt_connected(b->mqtt) || now - c->last_publish < (uint64_t)b->cfg.camera_interval_ms)
		return;
	camera_check(c, b->jc);	/* only now: a frame nobody takes is never decoded */
	if (!c->latest || c->latest->at_ms <= c->last_publish_frame)
		return;
	snprintf(topic, sizeof(topic), "%s/camera", d->peer.id);
	mqtt_publish_qos(b->mqtt, topic, c->latest->data, c->latest->len, 0, false);
	if (c->thumb) {
		snprintf(topic, sizeof(topic), "%s/thumbnail", d->peer.id);
		mqtt_publish_qos(b->mqtt, topic, c->thumb, c->thumb_len, 0, true);
	}
	c->last_publish = now;
	c->last_publish_frame = c->latest->at_ms;
}

static void on_fragment(struct base *b, struct device *d, const uint8_t *body, size_t len)
{
	struct ic_fragment f;
	uint64_t now = now_ms();

	if (d->info->hello.kind != IC_KIND_CAMERA || !d->cam || ic_fragment_decode(&f, body, len) != IC_OK) {
		b->m.bad_body++;
		return;
	}
	if (camera_fragment(d->cam, &f, now))
		publish_frame(b, d, now);
}

static void count_error(struct base *b, int err)
{
	switch (err) {
	case IC_ERR_AUTH: b->m.auth_failed++; break;
	case IC_ERR_REPLAY:
	case IC_ERR_OLD: b->m.replayed++; break;
	case IC_ERR_SESSION: b->m.unknown_session++; break;
	case IC_ERR_STATE: b->m.stale++; break;
	default: b->m.malformed++; break;
	}
}

void bridge_datagram(struct base *b, const uint8_t *buf, size_t len,
		     const struct sockaddr_storage *from, socklen_t from_len)
{
	static uint8_t body[IC_MAX_DATAGRAM];
	uint8_t out[IC_MAX_DATAGRAM];
	struct ic_header h;
	struct device *d;
	enum ic_peer_event ev;
	size_t hl, blen = 0;
	bool newest;
	int ret;

	b->m.datagrams++;
	ret = ic_header_decode(&h, &hl, buf, len);
	if (ret != IC_OK) {
		b->m.malformed++;
		log_debug("dropped a datagram: %s", ic_strerror(ret));
		return;
	}
	d = device_table_find(&b->table, h.id);
	if (!d || (d->cam && d->cam->pull)) {	/* a pull camera has no key to speak with */
		b->m.unknown_device++;
		log_debug("dropped a datagram from unknown device '%s'", h.id);
		return;
	}
	ret = ic_peer_receive(&d->peer, &h, hl, buf, len, h.type == IC_HELLO ? random_u64_nonzero() : 0,
			      body, &blen, &ev, &newest);
	if (ret != IC_OK) {
		count_error(b, ret);
		log_debug("dropped a datagram for %s: %s", h.id, ic_strerror(ret));
		if (ret == IC_ERR_SESSION && now_ms() - d->reset_sent >= RESET_GAP_MS) {
			/* We lost this session (we restarted): ask the device to say hello. */
			d->reset_sent = now_ms();
			b->m.resets_sent++;
			send_to(b, out, ic_peer_reset(&d->peer, &h, out, sizeof(out)), from, from_len);
		}
		return;
	}
	if (ev == IC_EV_HELLO) {
		struct ic_welcome w = { .keepalive = (uint16_t)b->cfg.keepalive, .time_ms = wall_ms() };

		if (!d->pending && !(d->pending = malloc(sizeof(*d->pending)))) {
			d->peer.pending = false;
			return;
		}
		if (ic_hello_decode(d->pending, body, blen) != IC_OK) {
			d->peer.pending = false;
			b->m.bad_body++;
			log_warn("device %s sent a hello that does not decode", h.id);
			return;
		}
		b->m.hellos++;
		/* Answer where the hello came from, but move nothing yet: only a
		 * datagram under the new session key proves the hello is fresh. */
		send_to(b, out, ic_peer_welcome(&d->peer, &w, out, sizeof(out)), from, from_len);
		return;
	}
	if (newest) {
		if (d->info && ev != IC_EV_ESTABLISHED && !addr_equal(&d->addr, from)) {
			char a[64], c[64];
			addr_format(a, sizeof(a), (const struct sockaddr *)&d->addr);
			addr_format(c, sizeof(c), (const struct sockaddr *)from);
			log_info("device %s moved from %s to %s", d->peer.id, a, c);
		}
		memcpy(&d->addr, from, from_len);
		d->addr_len = from_len;
	}
	d->last_rx = now_ms();
	d->last_seen_wall = wall_ms();
	if (ev == IC_EV_ESTABLISHED)
		on_established(b, d);
	if (!d->info)
		return;	/* out of memory at establishment */
	if (!d->online && h.type != IC_BYE) {
		d->online = true;	/* back after a silence, same session */
		log_info("device %s online again", d->peer.id);
		publish_availability(b, d);
		devices_changed(b);
	}
	switch (h.type) {
	case IC_KEEPALIVE:
		b->m.keepalives++;
		send_to(b, out, ic_peer_seal(&d->peer, IC_KEEPALIVE, NULL, 0, out, sizeof(out)),
			&d->addr, d->addr_len);
		break;
	case IC_READING:
		on_values(b, d, body, blen, false);
		break;
	case IC_STATE:
		on_values(b, d, body, blen, true);
		break;
	case IC_ACK:
		on_ack(b, d, body, blen);
		break;
	case IC_FRAME:
		on_fragment(b, d, body, blen);
		break;
	case IC_BYE:
		b->m.byes++;
		d->peer.ready = false;	/* the session is over */
		set_offline(b, d, "said bye");
		break;
	default:
		b->m.bad_body++;
		break;
	}
}

static void pull_availability(struct base *b, struct device *d)
{
	d->online = d->cam->pull_ok;
	if (d->online)
		d->last_seen_wall = wall_ms();
	publish_availability(b, d);
	devices_changed(b);
}

void bridge_tick(struct base *b, uint64_t now)
{
	/* Bursts (every topic re-published after a reconnect, a camera's frames)
	 * leave freed heap behind; give it back to the system now and then, so
	 * the resident size is what the devices need, not the largest burst. */
	if (now - b->last_trim >= 10000) {
		malloc_trim(0);
		b->last_trim = now;
	}
	for (int i = 0; i < b->n_cams; i++) {
		struct device *d = b->cams[i];
		bool changed;

		camera_tick(d->cam, now, &changed);
		if (changed)
			pull_availability(b, d);
		publish_frame(b, d, now);	/* one that waited for the rate limit */
	}
	for (int i = 0; i < b->table.n; i++) {
		struct device *d = &b->table.devices[i];
		uint64_t limit;

		if (d->presumed_until && now >= d->presumed_until) {
			d->presumed_until = 0;	/* it did not come back after the restart */
			log_info("device %s offline (not heard from since the restart)", d->peer.id);
			publish_availability(b, d);
		}
		if (!d->online || (d->cam && d->cam->pull))
			continue;
		limit = (uint64_t)b->cfg.offline_after * d->info->hello.keepalive * 1000;
		if (now - d->last_rx > limit)
			set_offline(b, d, "missed keepalives");
	}
	if (b->devices_dirty && mqtt_connected(b->mqtt))
		publish_devices(b);
	if (b->state_dirty && b->cfg.state_file[0]) {
		state_save(&b->table, b->cfg.state_file);
		b->state_dirty = false;
	}
	if (now >= b->next_metrics && mqtt_connected(b->mqtt)) {
		publish_metrics(b);
		b->next_metrics = now + (uint64_t)b->cfg.metrics_interval * 1000;
	}
}

int bridge_pollfds(struct base *b, struct pollfd *p, int max)
{
	int n = 0;

	for (int i = 0; i < b->n_cams; i++) {
		struct camera *c = b->cams[i]->cam;

		c->polled = camera_pollfds(c, p + n, max - n);
		n += c->polled;
	}
	return n;
}

void bridge_poll_handle(struct base *b, const struct pollfd *p, int n)
{
	uint64_t now = now_ms();
	int k = 0;

	/* each camera takes back the entries it filled */
	for (int i = 0; i < b->n_cams && k < n; i++) {
		struct device *d = b->cams[i];
		int mine = d->cam->polled;
		bool new_frame, changed;

		camera_handle(d->cam, b->jc, p + k, mine, now, &new_frame, &changed);
		if (changed)
			pull_availability(b, d);
		if (new_frame)
			publish_frame(b, d, now);
		k += mine;
	}
}
