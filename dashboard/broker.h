/*
 * The dashboard's MQTT client: libmosquitto on its own network thread (the
 * dashboard is threaded anyway), TLS with chain and host name checks,
 * reconnects with capped exponential backoff. Everything under P/# goes into
 * the store; sets are published at QoS 1.
 */
#ifndef DASH_BROKER_H
#define DASH_BROKER_H

#include "settings.h"
#include "store.h"

#include <stdbool.h>
#include <stddef.h>

struct broker;

struct broker *broker_start(const struct dash_config *c, struct store *store);
void broker_stop(struct broker *b);
/* Publishes P/<device>/<suffix> at QoS 1. False when the library refused (not connected). */
bool broker_publish(struct broker *b, const char *device, const char *suffix, const char *payload, size_t len);

#endif
