/*
 * /metrics: the dashboard's own gauges and counters and the base unit's
 * (P/bridge/metrics), as Prometheus text. A pure function of what the store
 * hands it.
 */
#ifndef DASH_METRICS_H
#define DASH_METRICS_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

/* What the HTTP side counts (store_count()). */
enum dash_counter {
	DASH_SSE_CLIENTS, DASH_MJPEG_VIEWERS,	/* gauges */
	DASH_REQUESTS, DASH_LOGINS_FAILED, DASH_LOGINS_LIMITED, DASH_SETS, DASH_CSRF_REFUSED,
	DASH_COUNTERS
};

struct metrics_view {
	bool connected, bridge_online;
	int listed, online;		/* devices */
	int tracked;			/* device entries kept, listed or not */
	const int *counters;		/* DASH_COUNTERS of them */
	const cJSON *bridge;		/* P/bridge/metrics, or NULL */
};

char *metrics_text(const struct metrics_view *v, size_t *len);	/* free() it; NULL on OOM */

#endif
