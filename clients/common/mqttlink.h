/*
 * The one MQTT client setup of the base unit and the dashboard: libmosquitto
 * with our own TLS context, connected to every address the broker's name has,
 * in turn, until one answers, with capped, jittered backoff that never gives up.
 *
 * Why our own TLS context: libmosquitto tries only the first address a name
 * resolves to when it connects without blocking (a name like "localhost" has
 * ::1 first and 127.0.0.1 second on a standard Debian), and checks the server's
 * certificate against the string it connects to. So each attempt hands
 * libmosquitto one numeric address, and the context (OpenSSL, which libmosquitto
 * uses anyway) checks the chain against the CA and the certificate against the
 * configured host name, and sends that name as SNI.
 *
 * Two ways to drive it: from a poll loop (the base unit: mqtt_link_pollfd,
 * _handle, _tick, _next_ms; no library thread), or from a thread of its own
 * (the dashboard: mqtt_link_loop in a loop; other threads may then publish).
 */
#ifndef MQTTLINK_H
#define MQTTLINK_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mosquitto;
struct mqtt_link;

struct mqtt_link_config {
	const char *host;		/* a name or a numeric address */
	int port;
	const char *cafile;
	const char *certfile, *keyfile;	/* "" or NULL: no client certificate */
	const char *username, *password, *client_id;
	int keepalive;			/* seconds */
	bool clean_session;
	int reconnect_max_s;		/* the backoff's cap */
	const char *will_topic;		/* NULL: no last will; else "offline", retained, QoS 1 */
};

/* Called on the thread that drives the link. */
typedef void (*mqtt_link_up_fn)(void *ctx);	/* after every successful CONNACK */
typedef void (*mqtt_link_down_fn)(void *ctx);	/* a connection that was up is gone */
/* retained: the broker held it and sent it because we subscribed (it may be old). */
typedef void (*mqtt_link_message_fn)(void *ctx, const char *topic, const void *payload, size_t len,
				     bool retained);

/* NULL with a reason in err when the client cannot be set up (an unreadable CA
 * or key, say). threaded: publishes may come from other threads (then drive it
 * with mqtt_link_loop only). The first attempt starts at the first tick. */
struct mqtt_link *mqtt_link_new(const struct mqtt_link_config *c, bool threaded, mqtt_link_up_fn up,
				mqtt_link_down_fn down, mqtt_link_message_fn msg, void *ctx, char *err,
				size_t errlen);
/* Says "offline" on the will topic when up, disconnects cleanly, frees. NULL-safe. */
void mqtt_link_free(struct mqtt_link *l);

/* Poll integration: fd -1 while there is no socket to watch. */
void mqtt_link_pollfd(struct mqtt_link *l, struct pollfd *pfd);
void mqtt_link_handle(struct mqtt_link *l, short revents);
/* Once a second, and whenever mqtt_link_next_ms() has passed. */
void mqtt_link_tick(struct mqtt_link *l, uint64_t now);
uint64_t mqtt_link_next_ms(const struct mqtt_link *l, uint64_t now);

/* A thread of its own: one round (connect when due, traffic, timeouts),
 * returning within about timeout_ms. */
void mqtt_link_loop(struct mqtt_link *l, int timeout_ms);

bool mqtt_link_up(const struct mqtt_link *l);	/* any thread */
unsigned mqtt_link_reconnects(const struct mqtt_link *l);
/* Why the link is not up (any thread): "connecting", or the last attempt's
 * reasons, every address with its own. */
void mqtt_link_status(struct mqtt_link *l, char *out, size_t cap);
struct mosquitto *mqtt_link_mosq(struct mqtt_link *l);	/* to publish and subscribe */

/* Every address host resolves to, numeric, in getaddrinfo's order (at most
 * max, each up to 46 bytes). The count, or -1 with the resolver's reason in err. */
#define MQTT_LINK_ADDR_MAX 46
int mqtt_link_resolve(const char *host, char addrs[][MQTT_LINK_ADDR_MAX], int max, char *err, size_t errlen);

#endif
