/*
 * The dashboard's MQTT client: the shared mqtt_link (every address of the
 * broker's name in turn, TLS with chain and host name checks, reconnects with
 * capped backoff, forever) on a network thread of its own. Everything under P/# goes into
 * the store; sets are published at QoS 1.
 */
#ifndef DASH_BROKER_H
#define DASH_BROKER_H

#include "settings.h"
#include "store.h"

#include <stdbool.h>
#include <stddef.h>

struct broker;

struct recorder;
/* Every message goes to the store, and to rec (NULL: recordings are off). */
struct broker *broker_start(const struct dash_config *c, struct store *store, struct recorder *rec);
void broker_stop(struct broker *b);
bool broker_up(struct broker *b);
/* Why the broker is not connected, for /healthz and 503 answers. */
void broker_status(struct broker *b, char *out, size_t cap);
/* Publishes P/<device>/<suffix> at QoS 1. False when the library refused (not connected). */
bool broker_publish(struct broker *b, const char *device, const char *suffix, const char *payload, size_t len);

#endif
