#include "metrics.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct buf {
	char *p;
	size_t len, cap;
};

static void __attribute__((format(printf, 2, 3))) put(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0)
			return;
		if (b->p && b->len + (size_t)n < b->cap) {
			b->len += (size_t)n;
			return;
		}
		size_t cap = (b->cap ? 2 * b->cap : 4096) + (size_t)n;
		char *p = realloc(b->p, cap);
		if (!p)
			return;
		b->p = p;
		b->cap = cap;
	}
}

/* Counters of the base unit that are gauges, not totals. */
static bool is_gauge(const char *name)
{
	static const char *const gauges[] = { "uptime_s", "devices", "devices_online", "udp_rcvbuf",
					      "camera_clients", "outage_buffered" };
	for (size_t i = 0; i < sizeof(gauges) / sizeof(gauges[0]); i++)
		if (!strcmp(name, gauges[i]))
			return true;
	return false;
}

char *metrics_text(const struct metrics_view *v, size_t *len)
{
	struct buf b = { 0 };
	const int *c = v->counters;
	const cJSON *it;

	put(&b, "# HELP intercom_dashboard_broker_connected Whether the dashboard is connected to the broker.\n"
		"# TYPE intercom_dashboard_broker_connected gauge\nintercom_dashboard_broker_connected %d\n",
	    v->connected);
	put(&b, "# HELP intercom_bridge_online Whether the base unit is online (P/bridge/state).\n"
		"# TYPE intercom_bridge_online gauge\nintercom_bridge_online %d\n", v->bridge_online);
	put(&b, "# HELP intercom_dashboard_devices Devices the base unit announces, as the dashboard sees them.\n"
		"# TYPE intercom_dashboard_devices gauge\nintercom_dashboard_devices{state=\"online\"} %d\n"
		"intercom_dashboard_devices{state=\"offline\"} %d\n", v->online, v->listed - v->online);
	put(&b, "# HELP intercom_dashboard_devices_tracked Device entries the dashboard keeps (bounded).\n"
		"# TYPE intercom_dashboard_devices_tracked gauge\nintercom_dashboard_devices_tracked %d\n", v->tracked);
	put(&b, "# HELP intercom_dashboard_sse_clients Open /api/events streams.\n"
		"# TYPE intercom_dashboard_sse_clients gauge\nintercom_dashboard_sse_clients %d\n"
		"# HELP intercom_dashboard_mjpeg_viewers Open MJPEG streams.\n"
		"# TYPE intercom_dashboard_mjpeg_viewers gauge\nintercom_dashboard_mjpeg_viewers %d\n"
		"# TYPE intercom_dashboard_requests_total counter\nintercom_dashboard_requests_total %d\n"
		"# TYPE intercom_dashboard_sets_total counter\nintercom_dashboard_sets_total %d\n"
		"# TYPE intercom_dashboard_logins_failed_total counter\nintercom_dashboard_logins_failed_total %d\n"
		"# TYPE intercom_dashboard_logins_limited_total counter\nintercom_dashboard_logins_limited_total %d\n"
		"# TYPE intercom_dashboard_csrf_refused_total counter\nintercom_dashboard_csrf_refused_total %d\n",
	    c[DASH_SSE_CLIENTS], c[DASH_MJPEG_VIEWERS], c[DASH_REQUESTS], c[DASH_SETS],
	    c[DASH_LOGINS_FAILED], c[DASH_LOGINS_LIMITED], c[DASH_CSRF_REFUSED]);
	/* The base unit's own counters (P/bridge/metrics), one family per key. */
	cJSON_ArrayForEach(it, v->bridge) {
		if (cJSON_IsNumber(it)) {
			bool gauge = is_gauge(it->string);
			put(&b, "# TYPE intercom_%s%s %s\nintercom_%s%s %.15g\n", it->string, gauge ? "" : "_total",
			    gauge ? "gauge" : "counter", it->string, gauge ? "" : "_total", it->valuedouble);
		} else if (cJSON_IsObject(it)) {
			const char *label = !strcmp(it->string, "results") ? "result"
					    : !strcmp(it->string, "dropped") ? "reason" : "kind";
			const char *family = !strcmp(it->string, "results") ? "commands" : it->string;
			const cJSON *sub;
			put(&b, "# TYPE intercom_%s_total counter\n", family);
			cJSON_ArrayForEach(sub, it)
				if (cJSON_IsNumber(sub))
					put(&b, "intercom_%s_total{%s=\"%s\"} %.15g\n", family, label, sub->string,
					    sub->valuedouble);
		}
	}
	*len = b.len;
	return b.p;
}
