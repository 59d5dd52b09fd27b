/*
 * The store's insides, shared by its two files: store.c (the lock, what the
 * HTTP side asks and waits for) and store_messages.c (what the broker says).
 */
#ifndef DASH_STORE_INT_H
#define DASH_STORE_INT_H

#include "events.h"
#include "model.h"
#include "store.h"

#include <cjson/cJSON.h>
#include <pthread.h>

struct waiter {
	struct waiter *next;
	char device[DEVICE_ID_MAX + 1];
	char id[80];
	char *result;
};

struct store {
	const struct dash_config *c;
	pthread_mutex_t lock;
	pthread_cond_t events_cv, frames_cv, results_cv;
	bool stopped, connected, bridge_online;
	bool have_devices;		/* P/bridge/devices has arrived at least once */
	struct model model;
	struct event_log events;
	cJSON *metrics;			/* P/bridge/metrics */
	struct waiter *waiters;
	int counters[DASH_COUNTERS];
	void (*wake)(void *ctx, enum store_wake what, const char *key);
	void *wake_ctx;
};

/* Lock held: */
void store_event_push(struct store *s, const char *type, cJSON *data);	/* takes data */
cJSON *store_id_object(const char *id);		/* {"id": id} */
void store_reachability(struct store *s);	/* after connected or bridge_online changed */
void store_wake(struct store *s, enum store_wake what, const char *key);

#endif
