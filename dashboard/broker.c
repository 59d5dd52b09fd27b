#include "broker.h"
#include "log.h"
#include "mqttlink.h"
#include "recorder.h"

#include <mosquitto.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct broker {
	const struct dash_config *c;
	struct store *store;
	struct recorder *rec;
	struct mqtt_link *l;
	pthread_t thread;
	bool thread_started;
	volatile int stopping;
};

static void on_up(void *ctx)
{
	struct broker *b = ctx;
	char filter[PREFIX_MAX + 3];

	snprintf(filter, sizeof(filter), "%s/#", b->c->prefix);
	mosquitto_subscribe(mqtt_link_mosq(b->l), NULL, filter, 1);
	log_info("mqtt: subscribed to %s", filter);
	store_set_connected(b->store, true);
}

static void on_down(void *ctx)
{
	struct broker *b = ctx;

	store_set_connected(b->store, false);
}

static void on_message(void *ctx, const char *topic, const void *payload, size_t len, bool retained)
{
	(void)retained;
	struct broker *b = ctx;

	store_on_message(b->store, topic, payload, len);
	recorder_on_message(b->rec, topic, payload, len);
}

/* The network thread: ours, not libmosquitto's, so that a crashed broker or a
 * protocol error ends in a reconnect and never in a thread that is gone. */
static void *run(void *arg)
{
	struct broker *b = arg;

	while (!__atomic_load_n(&b->stopping, __ATOMIC_ACQUIRE))
		mqtt_link_loop(b->l, 200);
	return NULL;
}

struct broker *broker_start(const struct dash_config *c, struct store *store, struct recorder *rec)
{
	struct broker *b = calloc(1, sizeof(*b));
	char err[300];

	if (!b)
		return NULL;
	b->c = c;
	b->store = store;
	b->rec = rec;
	struct mqtt_link_config lc = mqtt_conf_link(&c->mqtt, NULL);
	if (!(b->l = mqtt_link_new(&lc, true, on_up, on_down, on_message, b, err, sizeof(err)))) {
		log_err("mqtt: %s", err);
		free(b);
		return NULL;
	}
	if (pthread_create(&b->thread, NULL, run, b) != 0) {
		log_err("mqtt: cannot start the network thread");
		broker_stop(b);
		return NULL;
	}
	b->thread_started = true;
	return b;
}

void broker_stop(struct broker *b)
{
	if (!b)
		return;
	__atomic_store_n(&b->stopping, 1, __ATOMIC_RELEASE);
	if (b->thread_started)
		pthread_join(b->thread, NULL);
	mqtt_link_free(b->l);
	free(b);
}

bool broker_up(struct broker *b)
{
	return mqtt_link_up(b->l);
}

void broker_status(struct broker *b, char *out, size_t cap)
{
	mqtt_link_status(b->l, out, cap);
}

bool broker_publish(struct broker *b, const char *device, const char *suffix, const char *payload, size_t len)
{
	char topic[PREFIX_MAX + DEVICE_ID_MAX + 16];

	if (!mqtt_link_up(b->l) || topic_build(topic, sizeof(topic), b->c->prefix, device, suffix) < 0)
		return false;
	return mosquitto_publish(mqtt_link_mosq(b->l), NULL, topic, (int)len, payload, 1, false) == MOSQ_ERR_SUCCESS;
}
