#include "mqtt.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <mosquitto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

enum mqtt_state { MQTT_DOWN, MQTT_CONNECTING, MQTT_UP };

#define BACKOFF_MIN_MS    500
#define CONNECT_TIMEOUT_MS 15000	/* TCP + TLS + CONNACK must finish within this */

struct mqtt {
	struct mosquitto *m;
	const struct base_config *c;
	enum mqtt_state state;
	uint64_t retry_at;		/* when DOWN */
	uint64_t connecting_since;	/* when CONNECTING */
	uint64_t backoff_ms;
	unsigned reconnects;
	bool ever_up;
	mqtt_up_fn on_up;
	mqtt_message_fn on_message;
	void *ctx;
	char will_topic[PREFIX_MAX + 16];
};

static void schedule_retry(struct mqtt *q, const char *why)
{
	uint64_t now = now_ms(), delay;

	/* Full jitter over the upper half of the window: many base units that
	 * lost the same broker do not come back in lockstep. */
	delay = random_between(q->backoff_ms / 2, q->backoff_ms);
	q->backoff_ms *= 2;
	if (q->backoff_ms > (uint64_t)q->c->mqtt_reconnect_max * 1000)
		q->backoff_ms = (uint64_t)q->c->mqtt_reconnect_max * 1000;
	if (q->state == MQTT_UP)
		log_warn("mqtt: connection to %s:%d lost (%s); retrying in %.1f s", q->c->mqtt_host,
			 q->c->mqtt_port, why, (double)delay / 1000);
	else
		log_warn("mqtt: cannot connect to %s:%d (%s); retrying in %.1f s", q->c->mqtt_host,
			 q->c->mqtt_port, why, (double)delay / 1000);
	q->state = MQTT_DOWN;
	q->retry_at = now + delay;
}

static void on_connect(struct mosquitto *m, void *obj, int rc)
{
	struct mqtt *q = obj;

	(void)m;
	if (rc != 0) {
		/* The broker closes the socket; on_disconnect schedules the retry. */
		log_err("mqtt: broker refused the connection: %s", mosquitto_connack_string(rc));
		return;
	}
	if (q->ever_up)
		q->reconnects++;
	q->ever_up = true;
	q->state = MQTT_UP;
	q->backoff_ms = BACKOFF_MIN_MS;
	log_info("mqtt: connected to %s:%d as '%s'", q->c->mqtt_host, q->c->mqtt_port, q->c->mqtt_username);
	q->on_up(q->ctx);
}

static void on_disconnect(struct mosquitto *m, void *obj, int rc)
{
	struct mqtt *q = obj;

	(void)m;
	if (q->state != MQTT_DOWN)
		schedule_retry(q, rc == 0 ? "disconnected" : mosquitto_strerror(rc));
}

static void on_log(struct mosquitto *m, void *obj, int level, const char *str)
{
	(void)m;
	(void)obj;
	if (level & (MOSQ_LOG_ERR | MOSQ_LOG_WARNING))
		log_warn("mqtt: %s", str);
	else
		log_debug("mqtt: %s", str);
}

static void try_connect(struct mqtt *q)
{
	int rc;

	q->state = MQTT_CONNECTING;
	q->connecting_since = now_ms();
	rc = q->ever_up || q->reconnects ? mosquitto_reconnect_async(q->m)
					 : mosquitto_connect_async(q->m, q->c->mqtt_host, q->c->mqtt_port,
								   q->c->mqtt_keepalive);
	if (rc != MOSQ_ERR_SUCCESS)
		schedule_retry(q, rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc));
}

static void on_message(struct mosquitto *m, void *obj, const struct mosquitto_message *msg)
{
	struct mqtt *q = obj;

	(void)m;
	if (msg->payloadlen >= 0)
		q->on_message(q->ctx, msg->topic, msg->payload, (size_t)msg->payloadlen);
}

struct mqtt *mqtt_start(const struct base_config *c, mqtt_up_fn on_up, mqtt_message_fn on_msg,
			void *ctx)
{
	struct mqtt *q = calloc(1, sizeof(*q));
	int rc;

	if (!q)
		return NULL;
	mosquitto_lib_init();
	q->c = c;
	q->on_up = on_up;
	q->on_message = on_msg;
	q->ctx = ctx;
	q->backoff_ms = BACKOFF_MIN_MS;
	/* A persistent session (clean_session false, the default): sets published
	 * at QoS 1 while we are away wait at the broker for our return. */
	q->m = mosquitto_new(c->mqtt_client_id, c->mqtt_clean_session, q);
	if (!q->m) {
		log_err("mqtt: cannot create a client");
		goto fail;
	}
	snprintf(q->will_topic, sizeof(q->will_topic), "%s/bridge/state", c->prefix);
	mosquitto_int_option(q->m, MOSQ_OPT_TCP_NODELAY, 1);
	mosquitto_int_option(q->m, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
	if ((rc = mosquitto_username_pw_set(q->m, c->mqtt_username, c->mqtt_password)) ||
	    (rc = mosquitto_will_set(q->m, q->will_topic, 7, "offline", 1, true)) ||
	    (rc = mosquitto_tls_set(q->m, c->mqtt_cafile, NULL, c->mqtt_certfile[0] ? c->mqtt_certfile : NULL,
				    c->mqtt_keyfile[0] ? c->mqtt_keyfile : NULL, NULL)) ||
	    (rc = mosquitto_tls_opts_set(q->m, 1, "tlsv1.2", NULL)) ||
	    (rc = mosquitto_tls_insecure_set(q->m, false))) {
		log_err("mqtt: setting up the client failed: %s", mosquitto_strerror(rc));
		goto fail;
	}
	mosquitto_connect_callback_set(q->m, on_connect);
	mosquitto_disconnect_callback_set(q->m, on_disconnect);
	mosquitto_log_callback_set(q->m, on_log);
	mosquitto_message_callback_set(q->m, on_message);
	try_connect(q);
	return q;
fail:
	if (q->m)
		mosquitto_destroy(q->m);
	free(q);
	mosquitto_lib_cleanup();
	return NULL;
}

void mqtt_stop(struct mqtt *q)
{
	if (!q)
		return;
	if (q->state == MQTT_UP) {
		/* A clean disconnect suppresses the will, so say offline ourselves. */
		mosquitto_publish(q->m, NULL, q->will_topic, 7, "offline", 1, true);
		for (int i = 0; i < 10 && mosquitto_want_write(q->m); i++)
			mosquitto_loop_write(q->m, 1);
		mosquitto_disconnect(q->m);
	}
	mosquitto_destroy(q->m);
	mosquitto_lib_cleanup();
	free(q);
}

void mqtt_pollfd(struct mqtt *q, struct pollfd *pfd)
{
	pfd->fd = q->state == MQTT_DOWN ? -1 : mosquitto_socket(q->m);
	pfd->events = POLLIN;
	if (pfd->fd >= 0 && mosquitto_want_write(q->m))
		pfd->events |= POLLOUT;
	pfd->revents = 0;
}

static void check_rc(struct mqtt *q, int rc)
{
	if (rc == MOSQ_ERR_SUCCESS || q->state == MQTT_DOWN)
		return;
	schedule_retry(q, rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc));
	mosquitto_disconnect(q->m);
}

void mqtt_handle(struct mqtt *q, short revents)
{
	if (revents & (POLLIN | POLLERR | POLLHUP))
		check_rc(q, mosquitto_loop_read(q->m, 1));
	if ((revents & POLLOUT) && q->state != MQTT_DOWN)
		check_rc(q, mosquitto_loop_write(q->m, 1));
	if ((revents & (POLLERR | POLLHUP)) && q->state != MQTT_DOWN) {
		/* libmosquitto does not always notice a refused non-blocking TLS
		 * connect, and would spin; the socket's own error tells. */
		int err = 0;
		socklen_t len = sizeof(err);

		getsockopt(mosquitto_socket(q->m), SOL_SOCKET, SO_ERROR, &err, &len);
		schedule_retry(q, err ? strerror(err) : "connection closed");
		mosquitto_disconnect(q->m);
	}
}

void mqtt_tick(struct mqtt *q, uint64_t now)
{
	switch (q->state) {
	case MQTT_DOWN:
		if (now >= q->retry_at)
			try_connect(q);
		break;
	case MQTT_CONNECTING:
		if (now - q->connecting_since > CONNECT_TIMEOUT_MS) {
			schedule_retry(q, "timed out");
			mosquitto_disconnect(q->m);
			break;
		}
		/* fall through */
	case MQTT_UP:
		check_rc(q, mosquitto_loop_misc(q->m));
		if (q->state != MQTT_DOWN && mosquitto_socket(q->m) < 0)
			schedule_retry(q, "socket closed");
		break;
	}
}

uint64_t mqtt_next_ms(const struct mqtt *q, uint64_t now)
{
	if (q->state == MQTT_DOWN)
		return q->retry_at > now ? q->retry_at - now : 0;
	return 1000;
}

bool mqtt_connected(const struct mqtt *q)
{
	return q->state == MQTT_UP;
}

unsigned mqtt_reconnects(const struct mqtt *q)
{
	return q->reconnects;
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

	if (q->state != MQTT_UP)
		return false;
	rc = mosquitto_publish(q->m, NULL, topic, (int)len, payload, qos, retain);
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

	if (q->state != MQTT_UP)
		return false;
	snprintf(topic, sizeof(topic), "%s/%s", q->c->prefix, filter);
	rc = mosquitto_subscribe(q->m, NULL, topic, 1);
	if (rc != MOSQ_ERR_SUCCESS) {
		log_warn("mqtt: subscribe to %s failed: %s", topic, mosquitto_strerror(rc));
		return false;
	}
	return true;
}
