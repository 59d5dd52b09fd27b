#include "broker.h"
#include "log.h"

#include <mosquitto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct broker {
	const struct dash_config *c;
	struct store *store;
	struct mosquitto *m;
};

static void on_connect(struct mosquitto *m, void *obj, int rc)
{
	struct broker *b = obj;
	char filter[PREFIX_MAX + 3];

	if (rc) {
		log_err("mqtt: broker refused the connection: %s", mosquitto_connack_string(rc));
		return;
	}
	snprintf(filter, sizeof(filter), "%s/#", b->c->prefix);
	mosquitto_subscribe(m, NULL, filter, 1);
	log_info("mqtt: connected to %s:%d, subscribed to %s", b->c->mqtt_host, b->c->mqtt_port, filter);
	store_set_connected(b->store, true);
}

static void on_disconnect(struct mosquitto *m, void *obj, int rc)
{
	struct broker *b = obj;

	(void)m;
	if (rc)
		log_warn("mqtt: connection lost (%s); reconnecting", mosquitto_strerror(rc));
	store_set_connected(b->store, false);
}

static void on_message(struct mosquitto *m, void *obj, const struct mosquitto_message *msg)
{
	struct broker *b = obj;

	(void)m;
	store_on_message(b->store, msg->topic, msg->payload, (size_t)msg->payloadlen);
}

static void on_log(struct mosquitto *m, void *obj, int level, const char *text)
{
	(void)m;
	(void)obj;
	if (level & (MOSQ_LOG_ERR | MOSQ_LOG_WARNING))
		log_warn("mqtt: %s", text);
}

struct broker *broker_start(const struct dash_config *c, struct store *store)
{
	struct broker *b = calloc(1, sizeof(*b));
	int rc;

	if (!b)
		return NULL;
	b->c = c;
	b->store = store;
	mosquitto_lib_init();
	if (!(b->m = mosquitto_new(c->mqtt_client_id, true, b))) {
		log_err("mqtt: cannot create a client");
		goto fail;
	}
	mosquitto_int_option(b->m, MOSQ_OPT_TCP_NODELAY, 1);
	mosquitto_int_option(b->m, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
	if ((rc = mosquitto_username_pw_set(b->m, c->mqtt_username, c->mqtt_password)) ||
	    (rc = mosquitto_tls_set(b->m, c->mqtt_cafile, NULL, c->mqtt_certfile[0] ? c->mqtt_certfile : NULL,
				    c->mqtt_keyfile[0] ? c->mqtt_keyfile : NULL, NULL)) ||
	    (rc = mosquitto_tls_opts_set(b->m, 1, "tlsv1.2", NULL)) ||
	    (rc = mosquitto_tls_insecure_set(b->m, false))) {
		log_err("mqtt: setting up the client failed: %s", mosquitto_strerror(rc));
		goto fail;
	}
	mosquitto_reconnect_delay_set(b->m, 1, 30, true);
	mosquitto_connect_callback_set(b->m, on_connect);
	mosquitto_disconnect_callback_set(b->m, on_disconnect);
	mosquitto_message_callback_set(b->m, on_message);
	mosquitto_log_callback_set(b->m, on_log);
	/* The first attempt may fail (broker not up yet): the loop thread keeps trying. */
	rc = mosquitto_connect_async(b->m, c->mqtt_host, c->mqtt_port, c->mqtt_keepalive);
	if (rc)
		log_warn("mqtt: first connection attempt failed: %s; retrying",
			 rc == MOSQ_ERR_ERRNO ? "network error" : mosquitto_strerror(rc));
	if ((rc = mosquitto_loop_start(b->m))) {
		log_err("mqtt: cannot start the network thread: %s", mosquitto_strerror(rc));
		goto fail;
	}
	return b;
fail:
	mosquitto_destroy(b->m);
	mosquitto_lib_cleanup();
	free(b);
	return NULL;
}

void broker_stop(struct broker *b)
{
	if (!b)
		return;
	mosquitto_disconnect(b->m);
	mosquitto_loop_stop(b->m, false);
	mosquitto_destroy(b->m);
	mosquitto_lib_cleanup();
	free(b);
}

bool broker_publish(struct broker *b, const char *device, const char *suffix, const char *payload, size_t len)
{
	char topic[PREFIX_MAX + DEVICE_ID_MAX + 16];

	snprintf(topic, sizeof(topic), "%s/%s/%s", b->c->prefix, device, suffix);
	return mosquitto_publish(b->m, NULL, topic, (int)len, payload, 1, false) == MOSQ_ERR_SUCCESS;
}
