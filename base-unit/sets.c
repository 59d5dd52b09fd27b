#include "sets.h"
#include "log.h"
#include "publish.h"
#include "udp.h"
#include "util.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int sets_init(struct base *b)
{
	b->busy = calloc(b->table.n ? (size_t)b->table.n : 1, sizeof(*b->busy));
	b->next_cmd_id = random_u64_nonzero() >> 1;	/* room to count up without wrapping */
	return b->busy ? 0 : -ENOMEM;
}

void sets_free(struct base *b)
{
	free(b->busy);
	b->busy = NULL;
	b->n_busy = 0;
}

#define GET_GAP_MS 1000

static struct cmd_timing timing(const struct base *b)
{
	return (struct cmd_timing){ .timeout_ms = b->cfg.command_timeout_ms, .retry_ms = b->cfg.command_retry_ms,
				    .retry_max_ms = b->cfg.command_retry_max_ms };
}

static void publish_result(struct base *b, const char *dev, const struct set_id *id, enum set_result r,
			   const char *error)
{
	char topic[DEVICE_ID_MAX + 16];
	cJSON *o = cJSON_CreateObject();

	if (!o)
		return;
	if (id && id->present)
		cJSON_AddStringToObject(o, "id", id->text);
	else
		cJSON_AddNullToObject(o, "id");
	cJSON_AddStringToObject(o, "status", set_result_name(r));
	if (r != RESULT_OK && error)
		cJSON_AddStringToObject(o, "error", error);
	snprintf(topic, sizeof(topic), "%s/" T_RESULT, dev);
	publish_json(b, topic, cJSON_PrintUnformatted(o), false);
	cJSON_Delete(o);
	b->m.results[r]++;
}

static void answer(struct base *b, const struct device *d, const struct cmd *c, enum set_result r,
		   const char *error)
{
	for (int i = 0; i < c->n_ids; i++)
		publish_result(b, d->peer.id, &c->ids[i], r, error);
}

/* --- the devices with a command in flight, for the timers --- */

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
	/* The device is told when the command ends, in the base unit's clock
	 * (which it learnt from the WELCOME): it does not carry it out later. */
	uint64_t now = now_ms(), left = d->cmds->deadline > now ? d->cmds->deadline - now : 0;
	struct ic_command c = { .id = d->cmds->wire_id, .expires_ms = wall_ms() + left, .set = d->cmds->inflight.set };
	uint8_t body[IC_BODY_MAX];
	int n = ic_command_encode(body, sizeof(body), &c);

	if (n >= 0)
		udp_send_session(b, d, IC_COMMAND, body, (size_t)n);
}

static void start_next(struct base *b, struct device *d, uint64_t now)
{
	struct cmd_timing t = timing(b);
	struct cmd old;

	if (d->cmds->busy)
		return;
	while (cmd_pop_expired(d->cmds, now, &old))
		answer(b, d, &old, RESULT_TIMEOUT, "its lifetime ended while it waited behind others; not carried out");
	if (!cmd_begin(d->cmds, b->next_cmd_id, now, &t, &d->info->hello)) {
		busy_remove(b, d);
		return;
	}
	b->next_cmd_id++;
	send_command(b, d);
	busy_add(b, d);
}

static void finish(struct base *b, struct device *d, enum set_result r, const char *error, uint64_t now)
{
	struct cmd done;

	if (cmd_end(d->cmds, &done))
		answer(b, d, &done, r, error);
	start_next(b, d, now);
}

void sets_offline(struct base *b, struct device *d, const char *why)
{
	struct cmd c;

	if (!d->cmds)
		return;
	if (cmd_end(d->cmds, &c))
		answer(b, d, &c, RESULT_OFFLINE, why);
	while (cmd_queue_pop(d->cmds, &c))
		answer(b, d, &c, RESULT_OFFLINE, why);
	busy_remove(b, d);
}

bool sets_awaits(const struct device *d, uint64_t wire_id)
{
	return d->cmds && cmd_answers(d->cmds, wire_id);
}

void sets_acked(struct base *b, struct device *d, const struct ic_ack *a)
{
	char err[IC_ERROR_MAX + 32];

	if (a->status == IC_ACK_OK) {
		finish(b, d, RESULT_OK, NULL, now_ms());
	} else if (a->status == IC_ACK_EXPIRED) {
		finish(b, d, RESULT_TIMEOUT, "it reached the device after its lifetime; not carried out", now_ms());
	} else {
		snprintf(err, sizeof(err), "the device refused: %s", a->error[0] ? a->error : "no reason given");
		finish(b, d, RESULT_REJECTED, err, now_ms());
	}
}

/* When the set's lifetime ends, in monotonic ms (docs/topics.md): its
 * lifetime_ms (or the default) from now, or earlier when the sender's
 * "expires" says so. An "expires" too far from this clock's idea of now to be
 * believed (clocks that disagree by more than 10 minutes) is not used, and
 * said so once. 0 and err set: refused. */
static uint64_t set_expiry(struct base *b, const struct cmd *c, char *err, size_t errlen)
{
	uint64_t now = now_ms(), end;
	double wall = (double)wall_ms(), left;
	static bool warned;

	if (c->lifetime_ms > (long)b->cfg.set_lifetime_max_ms) {
		snprintf(err, errlen, "'lifetime_ms' may be at most %d (set_lifetime_max_ms)", b->cfg.set_lifetime_max_ms);
		return 0;
	}
	end = now + (uint64_t)(c->lifetime_ms ? c->lifetime_ms : b->cfg.set_lifetime_ms);
	if (!c->expires_wall)
		return end;
	left = c->expires_wall - wall;
	if (left < -600000.0 || left > (double)b->cfg.set_lifetime_max_ms + 600000.0) {
		if (!warned)
			log_warn("a set's 'expires' is %.0f s from this base unit's clock: the clocks disagree "
				 "(is NTP running on both?); such sets count their lifetime from their arrival",
				 left / 1000);
		warned = true;
		return end;
	}
	if (left <= 0) {
		snprintf(err, errlen, "it expired %.0f ms before it reached the base unit; not carried out", -left);
		return 0;
	}
	return now + (uint64_t)left < end ? now + (uint64_t)left : end;
}

/* d is NULL for an id the configuration does not know. The payload is
 * parsed once, against what the device announced (or nothing, only to read
 * the set's id for the answer). */
static void on_set(struct base *b, const char *id, struct device *d, const void *payload, size_t len)
{
	const struct ic_hello *h = d && d->info ? &d->info->hello : &(struct ic_hello){ 0 };
	struct cmd c;
	char err[256];
	bool ok = set_parse(h, payload, len, &c, err, sizeof(err));

	b->m.sets++;
	if (!d) {
		publish_result(b, id, &c.ids[0], RESULT_INVALID, "unknown device");
	} else if (!d->info) {
		/* we cannot validate against what it has never announced */
		publish_result(b, id, &c.ids[0], RESULT_OFFLINE, "the device has not connected since the base unit started");
	} else if (!ok) {
		publish_result(b, id, &c.ids[0], RESULT_INVALID, err);
	} else if (!(c.expires = set_expiry(b, &c, err, sizeof(err)))) {
		publish_result(b, id, &c.ids[0],
			       c.lifetime_ms > (long)b->cfg.set_lifetime_max_ms ? RESULT_INVALID : RESULT_TIMEOUT, err);
	} else if (!d->online || !d->peer.ready) {
		publish_result(b, id, &c.ids[0], RESULT_OFFLINE, "the device is offline");
	} else if (!d->cmds && !(d->cmds = calloc(1, sizeof(*d->cmds)))) {
		publish_result(b, id, &c.ids[0], RESULT_REJECTED, "out of memory");
	} else if (!cmd_queue_add(d->cmds, &c)) {
		snprintf(err, sizeof(err), "too many commands waiting (%d): try again when some are answered",
			 CMD_QUEUE_MAX);
		publish_result(b, id, &c.ids[0], RESULT_REJECTED, err);
	} else {
		start_next(b, d, now_ms());
	}
}

void sets_message(struct base *b, const char *topic, const void *payload, size_t len, bool retained)
{
	char id[DEVICE_ID_MAX + 1];
	const char *suffix;
	struct device *d;

	if (!topic_split(topic, b->cfg.prefix, id, &suffix) || !device_id_valid(id, strlen(id)) ||
	    (strcmp(suffix, T_SET) != 0 && strcmp(suffix, T_GET) != 0)) {
		log_debug("ignored a message on %s: not a device's set or get", topic);
		return;
	}
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
	if (!strcmp(suffix, T_SET))
		on_set(b, id, d, payload, len);
	else if (d && d->online && (!d->get_sent || now_ms() - d->get_sent >= GET_GAP_MS)) {
		/* At most one a second per device: its STATE answers them all, and
		 * a flood of gets must not cost the device's cellular link a round
		 * trip each. */
		d->get_sent = now_ms();
		udp_send_session(b, d, IC_GET, NULL, 0);
	} else if (d && d->online) {
		b->m.gets_coalesced++;
	}
}

void sets_timers(struct base *b, uint64_t now)
{
	struct cmd_timing t = timing(b);

	for (int i = b->n_busy - 1; i >= 0; i--) {
		struct device *d = b->busy[i];
		char err[64];

		switch (cmd_due(d->cmds, now)) {
		case CMD_EXPIRED: {
			struct cmd undo;

			/* Past a failsafe's time the device has gone back to its safe
			 * value; if the expired command still reaches it (late, from a
			 * queue on the way), the safe value follows right behind,
			 * unless a newer set is already waiting to go. */
			if (d->cmds->inflight.n_ids > 0 && d->cmds->len == 0 &&
			    cmd_failsafe_of(&d->info->hello, &d->cmds->inflight, &undo))
				cmd_queue_add(d->cmds, &undo);
			snprintf(err, sizeof(err), "no acknowledgement within %d ms", d->cmds->timeout_ms);
			finish(b, d, RESULT_TIMEOUT, err, now);
			break;
		}
		case CMD_RESEND:
			send_command(b, d);
			cmd_resent(d->cmds, now, &t);
			b->m.retransmits++;
			break;
		case CMD_WAIT:
			break;
		}
	}
}

uint64_t sets_next_due(const struct base *b)
{
	uint64_t next = UINT64_MAX;

	for (int i = 0; i < b->n_busy; i++) {
		uint64_t t = cmd_next_due(b->busy[i]->cmds);
		if (t < next)
			next = t;
	}
	return next;
}
