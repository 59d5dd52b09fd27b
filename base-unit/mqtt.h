/*
 * The base unit's MQTT session: libmosquitto driven from our own poll loop
 * (no library thread), TLS with chain and host name checks, a last will, and
 * reconnects with capped, jittered backoff that never give up.
 */
#ifndef BASE_MQTT_H
#define BASE_MQTT_H

#include "config.h"

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mqtt;

/* Called after every successful CONNACK: subscribe, re-publish all retained state. */
typedef void (*mqtt_up_fn)(void *ctx);
/* A message on a subscription. payload is not NUL-terminated and is freed
 * after the call returns: copy what you keep. */
typedef void (*mqtt_message_fn)(void *ctx, const char *topic, const void *payload, size_t len, bool retained);

/* Returns NULL (with a logged reason) if the client cannot be set up. The
 * first connection attempt starts at once; failures only schedule retries. */
struct mqtt *mqtt_start(const struct base_config *c, mqtt_up_fn on_up, mqtt_message_fn on_message,
			void *ctx);
void mqtt_stop(struct mqtt *q);		/* publishes offline, disconnects, frees; NULL-safe */

/* Poll integration: fills *pfd (fd -1 while there is no socket to watch). */
void mqtt_pollfd(struct mqtt *q, struct pollfd *pfd);
void mqtt_handle(struct mqtt *q, short revents);
/* Once a second, and whenever mqtt_next_ms() has passed. */
void mqtt_tick(struct mqtt *q, uint64_t now);
/* Milliseconds until mqtt_tick() must run next (for the poll timeout). */
uint64_t mqtt_next_ms(const struct mqtt *q, uint64_t now);

bool mqtt_connected(const struct mqtt *q);
unsigned mqtt_reconnects(const struct mqtt *q);

/* topic = prefix + "/" + suffix. Returns false when not connected or the
 * library refused (the message is then not sent). */
bool mqtt_publish(struct mqtt *q, const char *suffix, const void *payload, size_t len, bool retain);
/* The same at a given QoS (camera frames go at QoS 0: a newer one follows). */
bool mqtt_publish_qos(struct mqtt *q, const char *suffix, const void *payload, size_t len, int qos, bool retain);
/* The same to a full topic, outside the prefix (Home Assistant discovery). */
bool mqtt_publish_topic(struct mqtt *q, const char *topic, const void *payload, size_t len, int qos, bool retain);
/* Subscribes to prefix + "/" + filter at QoS 1. */
bool mqtt_subscribe(struct mqtt *q, const char *filter);

#endif
