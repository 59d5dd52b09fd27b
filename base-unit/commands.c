#include "commands.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

static bool printable(const char *s, size_t max)
{
	size_t n = 0;

	for (; *s; s++, n++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e || n >= max)
			return false;
	return true;
}

static void describe(const struct ic_control *c, char *out, size_t cap)
{
	switch (c->type) {
	case IC_SWITCH:
		snprintf(out, cap, "ON or OFF");
		break;
	case IC_RANGE:
		snprintf(out, cap, "a number from %g to %g in steps of %g", c->min, c->max, c->step);
		break;
	case IC_ENUM: {
		size_t off = (size_t)snprintf(out, cap, "one of");
		for (int i = 0; i < c->n_values && off < cap; i++)
			off += (size_t)snprintf(out + off, cap - off, "%s %s", i ? "," : "", c->values[i]);
		break;
	}
	}
}

static bool control_value(const struct ic_control *c, const cJSON *v, double *out)
{
	switch (c->type) {
	case IC_SWITCH:
		if (cJSON_IsBool(v)) {
			*out = cJSON_IsTrue(v);
			return true;
		}
		if (cJSON_IsString(v)) {
			if (!strcmp(v->valuestring, "ON") || !strcmp(v->valuestring, "on")) {
				*out = 1;
				return true;
			}
			if (!strcmp(v->valuestring, "OFF") || !strcmp(v->valuestring, "off")) {
				*out = 0;
				return true;
			}
		}
		return false;
	case IC_RANGE:
		if (!cJSON_IsNumber(v) || !ic_control_value_valid(c, v->valuedouble))
			return false;
		*out = v->valuedouble;
		return true;
	case IC_ENUM:
		if (!cJSON_IsString(v))
			return false;
		for (int i = 0; i < c->n_values; i++)
			if (!strcmp(v->valuestring, c->values[i])) {
				*out = i;
				return true;
			}
		return false;
	}
	return false;
}

bool set_parse(const struct ic_hello *h, const void *payload, size_t len, struct cmd *out,
	       char *err, size_t errlen)
{
	cJSON *root = NULL, *item;
	uint32_t seen = 0;
	bool ok = false;

	memset(out, 0, sizeof(*out));
	out->n_ids = 1;
	out->range_only = true;
	if (len > SET_PAYLOAD_MAX) {
		snprintf(err, errlen, "payload larger than %d bytes", SET_PAYLOAD_MAX);
		goto out;
	}
	root = cJSON_ParseWithLength(payload, len);
	if (!cJSON_IsObject(root)) {
		snprintf(err, errlen, "expected a JSON object such as {\"%s\":...}",
			 h->n_controls ? h->controls[0].name : "name");
		goto out;
	}
	/* the id first, so every answer can carry it */
	item = cJSON_GetObjectItemCaseSensitive(root, "id");
	if (item) {
		if (!cJSON_IsString(item) || !printable(item->valuestring, SET_ID_MAX)) {
			snprintf(err, errlen, "'id' must be a string of at most %d printable ASCII characters",
				 SET_ID_MAX);
			goto out;
		}
		out->ids[0].present = true;
		snprintf(out->ids[0].text, sizeof(out->ids[0].text), "%s", item->valuestring);
	}
	cJSON_ArrayForEach(item, root) {
		const char *key = item->string;
		int i;

		if (!strcmp(key, "id")) {
			if (item != cJSON_GetObjectItemCaseSensitive(root, "id")) {
				snprintf(err, errlen, "'id' is given twice");
				goto out;
			}
			continue;
		}
		if (!strcmp(key, "lifetime_ms") || !strcmp(key, "expires")) {
			bool life = key[0] == 'l';

			if (item != cJSON_GetObjectItemCaseSensitive(root, key)) {
				snprintf(err, errlen, "'%s' is given twice", key);
				goto out;
			}
			if (!cJSON_IsNumber(item) || item->valuedouble < 1 || item->valuedouble > (life ? 1e9 : 1e16) ||
			    (life && item->valuedouble != floor(item->valuedouble))) {
				snprintf(err, errlen, life ? "'lifetime_ms' must be a whole number of milliseconds"
							   : "'expires' must be a Unix time in milliseconds");
				goto out;
			}
			if (life)
				out->lifetime_ms = (long)item->valuedouble;
			else
				out->expires_wall = item->valuedouble;
			continue;
		}
		for (i = 0; i < h->n_controls; i++)
			if (!strcmp(key, h->controls[i].name))
				break;
		if (i == h->n_controls) {
			if (ic_name_valid(key, strlen(key)))
				snprintf(err, errlen, "unknown key '%s': the device has no such control", key);
			else
				snprintf(err, errlen, "unknown key: the device has no such control");
			goto out;
		}
		if (seen & (1u << i)) {
			snprintf(err, errlen, "'%s' is given twice", key);
			goto out;
		}
		seen |= 1u << i;
		if (!control_value(&h->controls[i], item, &out->set.values[out->set.n].value)) {
			char want[160];

			describe(&h->controls[i], want, sizeof(want));
			if (cJSON_IsNumber(item))
				snprintf(err, errlen, "'%s' expects %s, got %g", key, want, item->valuedouble);
			else
				snprintf(err, errlen, "'%s' expects %s", key, want);
			goto out;
		}
		out->set.values[out->set.n].index = (uint8_t)i;
		out->set.n++;
		if (h->controls[i].type != IC_RANGE)
			out->range_only = false;
	}
	if (out->set.n == 0) {
		snprintf(err, errlen, "nothing to set: name at least one control");
		goto out;
	}
	ok = true;
out:
	cJSON_Delete(root);
	return ok;
}

bool cmd_failsafe_of(const struct ic_hello *h, const struct cmd *expired, struct cmd *out)
{
	memset(out, 0, sizeof(*out));
	for (int i = 0; i < expired->set.n; i++) {
		int k = expired->set.values[i].index;
		if (k < h->n_controls && h->controls[k].failsafe_ms)
			out->set.values[out->set.n++] = (struct ic_value){ .index = (uint8_t)k, .value = h->controls[k].failsafe };
	}
	return out->set.n > 0;
}

bool cmd_queue_add(struct cmd_queue *q, const struct cmd *c)
{
	if (q->len > 0) {
		struct cmd *tail = &q->q[(q->head + q->len - 1) % CMD_QUEUE_MAX];

		if (tail->range_only && c->range_only && tail->n_ids + c->n_ids <= CMD_IDS_MAX) {
			/* A slider or a throttle: the newest value replaces the waiting one. */
			for (int i = 0; i < c->set.n; i++) {
				int j;
				for (j = 0; j < tail->set.n; j++)
					if (tail->set.values[j].index == c->set.values[i].index)
						break;
				tail->set.values[j] = c->set.values[i];
				if (j == tail->set.n)
					tail->set.n++;
			}
			for (int i = 0; i < c->n_ids; i++)
				tail->ids[tail->n_ids++] = c->ids[i];
			/* nothing of either is carried out past either's lifetime */
			if (c->expires && (!tail->expires || c->expires < tail->expires))
				tail->expires = c->expires;
			return true;
		}
	}
	if (q->len == CMD_QUEUE_MAX)
		return false;
	q->q[(q->head + q->len) % CMD_QUEUE_MAX] = *c;
	q->len++;
	return true;
}

bool cmd_queue_pop(struct cmd_queue *q, struct cmd *out)
{
	if (q->len == 0)
		return false;
	*out = q->q[q->head];
	q->head = (q->head + 1) % CMD_QUEUE_MAX;
	q->len--;
	return true;
}

bool cmd_pop_expired(struct cmd_queue *q, uint64_t now, struct cmd *out)
{
	if (q->len == 0 || !q->q[q->head].expires || q->q[q->head].expires > now)
		return false;
	return cmd_queue_pop(q, out);
}

bool cmd_begin(struct cmd_queue *q, uint64_t wire_id, uint64_t now, const struct cmd_timing *t,
	       const struct ic_hello *h)
{
	if (q->busy || (q->len > 0 && q->q[q->head].expires && q->q[q->head].expires <= now) ||
	    !cmd_queue_pop(q, &q->inflight))
		return false;
	q->busy = true;
	q->wire_id = wire_id;
	q->timeout_ms = t->timeout_ms;
	for (int i = 0; h && i < q->inflight.set.n; i++) {
		int k = q->inflight.set.values[i].index;
		uint32_t fs = k < h->n_controls ? h->controls[k].failsafe_ms : 0;
		if (fs && fs < (uint32_t)q->timeout_ms)
			q->timeout_ms = (int)fs;
	}
	if (q->inflight.expires && q->inflight.expires - now < (uint64_t)q->timeout_ms)
		q->timeout_ms = (int)(q->inflight.expires - now);
	q->deadline = now + (uint64_t)q->timeout_ms;
	q->rto = (uint64_t)t->retry_ms;
	q->next_send = now + q->rto;
	q->sends = 1;
	return true;
}

enum cmd_due cmd_due(const struct cmd_queue *q, uint64_t now)
{
	if (!q->busy)
		return CMD_WAIT;
	if (now >= q->deadline + CMD_GUARD_MS)
		return CMD_EXPIRED;
	return now >= q->next_send && now < q->deadline ? CMD_RESEND : CMD_WAIT;
}

/* Backoff, but capped low: on a lossy cellular link a round trip fails often
 * (20% loss each way: 36%), and many tries inside the deadline matter more
 * than politeness. The device applies each command id once either way. */
void cmd_resent(struct cmd_queue *q, uint64_t now, const struct cmd_timing *t)
{
	uint64_t cap = (uint64_t)t->retry_max_ms;

	q->sends++;
	q->rto = q->rto * 2 < cap ? q->rto * 2 : cap;
	q->next_send = now + q->rto < q->deadline ? now + q->rto : q->deadline;
}

uint64_t cmd_next_due(const struct cmd_queue *q)
{
	if (!q->busy)
		return UINT64_MAX;
	return q->next_send < q->deadline ? q->next_send : q->deadline + CMD_GUARD_MS;
}

bool cmd_answers(const struct cmd_queue *q, uint64_t wire_id)
{
	return q->busy && q->wire_id == wire_id;
}

bool cmd_end(struct cmd_queue *q, struct cmd *done)
{
	if (!q->busy)
		return false;
	q->busy = false;
	*done = q->inflight;
	return true;
}

cJSON *control_value_json(const struct ic_control *c, double v)
{
	switch (c->type) {
	case IC_SWITCH:
		return cJSON_CreateString(v != 0 ? "ON" : "OFF");
	case IC_ENUM:
		if (v >= 0 && v < c->n_values)
			return cJSON_CreateString(c->values[(int)v]);
		return cJSON_CreateNull();
	default:
		return cJSON_CreateNumber(v);
	}
}
