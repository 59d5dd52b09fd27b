#include "mqtt.h"
#include "log.h"
#include "mqttlink.h"
#include "util.h"

#include <errno.h>
#include <mosquitto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

struct mqtt {
	struct mqtt_link *l;
	const struct base_config *c;
	char will_topic[PREFIX_MAX + 16];
};

struct mqtt *mqtt_start(const struct base_config *c, mqtt_up_fn on_up, mqtt_message_fn on_msg,
			void *ctx)
{
	struct mqtt *q = calloc(1, sizeof(*q));
	char err[300];

	if (!q)
		return NULL;
	q->c = c;
	snprintf(q->will_topic, sizeof(q->will_topic), "%s/bridge/state", c->prefix);
	/* A persistent session (clean_session false, the default): sets published
	 * at QoS 1 while we are away wait at the broker for our return. */
	struct mqtt_link_config lc = mqtt_conf_link(&c->mqtt, q->will_topic);
	q->l = mqtt_link_new(&lc, false, on_up, NULL, on_msg, ctx, err, sizeof(err));
	if (!q->l) {
		log_err("mqtt: %s", err);
		free(q);
		return NULL;
	}
	mqtt_link_tick(q->l, now_ms());	/* the first attempt, at once */
	return q;
}

void mqtt_stop(struct mqtt *q)
{
	if (!q)
		return;
	mqtt_link_free(q->l);
	free(q);
}

void mqtt_pollfd(struct mqtt *q, struct pollfd *pfd)
{
	mqtt_link_pollfd(q->l, pfd);
}

void mqtt_handle(struct mqtt *q, short revents)
{
	mqtt_link_handle(q->l, revents);
}

void mqtt_tick(struct mqtt *q, uint64_t now)
{
	mqtt_link_tick(q->l, now);
}

uint64_t mqtt_next_ms(const struct mqtt *q, uint64_t now)
{
	return mqtt_link_next_ms(q->l, now);
}

bool mqtt_connected(const struct mqtt *q)
{
	return mqtt_link_up(q->l);
}

unsigned mqtt_reconnects(const struct mqtt *q)
{
	return mqtt_link_reconnects(q->l);
}

bool mqtt_publish(struct mqtt *q, const char *suffix, const void *payload, size_t len, bool retain)
{
	return mqtt_publish_qos(q, suffix, payload, len, q->c->mqtt_qos, retain);
}

bool mqtt_publish_qos(struct mqtt *q, const char *suffix, const void *payload, size_t len, int qos, bool retain)
{
	char topic[PREFIX_MAX + 2 + 128];

	snprintf(topic, sizeof(topic), "%s/%s", q->c->prefix, suffix);
	return mqtt_publish_topic(q, topic, payload, len, qos, retain);
}

bool mqtt_publish_topic(struct mqtt *q, const char *topic, const void *payload, size_t len, int qos, bool retain)
{
	int rc;

	if (!mqtt_link_up(q->l))
		return false;
	rc = mosquitto_publish(mqtt_link_mosq(q->l), NULL, topic, (int)len, payload, qos, retain);
	if (rc != MOSQ_ERR_SUCCESS) {
		log_warn("mqtt: publish to %s failed: %s", topic, mosquitto_strerror(rc));
		return false;
	}
	return true;
}

bool mqtt_subscribe(struct mqtt *q, const char *filter)
{
	char topic[PREFIX_MAX + 2 + 64];
	int rc;

	if (!mqtt_link_up(q->l))
		return false;
	snprintf(topic, sizeof(topic), "%s/%s", q->c->prefix, filter);
	rc = mosquitto_subscribe(mqtt_link_mosq(q->l), NULL, topic, 1);
	if (rc != MOSQ_ERR_SUCCESS) {
		log_warn("mqtt: subscribe to %s failed: %s", topic, mosquitto_strerror(rc));
		return false;
	}
	return true;
}
