#include "config.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void base_config_init(struct base_config *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->prefix, sizeof(c->prefix), "intercom");
	snprintf(c->listen, sizeof(c->listen), "0.0.0.0:47800");
	c->udp_rcvbuf = 4 << 20;
	c->keepalive = 15;
	c->offline_after = 3;
	c->metrics_interval = 10;
	c->command_timeout_ms = 2000;
	c->set_lifetime_ms = 10000;
	c->set_lifetime_max_ms = 60000;
	c->command_retry_ms = 100;
	c->command_retry_max_ms = 200;
	c->camera_interval_ms = 1000;
	c->camera_motion_interval_ms = 500;
	c->last_seen_interval = 30;
	c->outage_buffer = 1000;
	c->udp_linger_us = 500;
	snprintf(c->homeassistant_prefix, sizeof(c->homeassistant_prefix), "homeassistant");
	c->udp_linger_rate = 2000;
	mqtt_conf_init(&c->mqtt, false);
	c->mqtt_qos = 1;
	c->log_level = LOG_INFO;
}

void base_config_free(struct base_config *c)
{
	if (!c)
		return;
	free(c->devices);
	c->devices = NULL;
	free(c->ports);
	c->ports = NULL;
	c->n_ports = 0;
	free(c->http);
	c->http = NULL;
	c->n_http = 0;
	free(c->motion);
	c->motion = NULL;
	c->n_motion = 0;
	c->n_devices = c->cap_devices = 0;
}

static bool is_url(const char *s)
{
	return !strncmp(s, "http://", 7) || !strncmp(s, "https://", 8);
}

/* A pull camera's URL and its options: "auth FILE" (user:password, read at
 * start) and "cafile FILE" (https). A raw TCP one takes no options. */
static bool add_http(struct base_config *c, const struct conf_line *l, char *err, size_t errlen)
{
	struct http_cam_conf h = { 0 };
	void *p;

	if (!is_url(l->argv[2])) {
		if (l->argc > 4) {
			snprintf(err, errlen, "'pull_camera %s': options are for http:// and https:// cameras", l->argv[1]);
			return false;
		}
		return true;
	}
	if (strlen(l->argv[2]) >= sizeof(h.url) || strlen(l->argv[1]) > IC_ID_MAX) {
		snprintf(err, errlen, "'pull_camera %s': the URL is longer than %zu characters", l->argv[1],
			 sizeof(h.url) - 1);
		return false;
	}
	if (strchr(l->argv[2], '@')) {
		snprintf(err, errlen, "'pull_camera %s': credentials go in a file ('auth FILE'), not in the URL",
			 l->argv[1]);
		return false;
	}
	snprintf(h.id, sizeof(h.id), "%s", l->argv[1]);
	snprintf(h.url, sizeof(h.url), "%s", l->argv[2]);
	for (int i = 4; i < l->argc; i += 2) {
		char *to = !strcmp(l->argv[i], "auth") ? h.auth_file : !strcmp(l->argv[i], "cafile") ? h.cafile : NULL;

		if (!to || i + 1 >= l->argc || strlen(l->argv[i + 1]) >= sizeof(h.cafile)) {
			snprintf(err, errlen, "'pull_camera %s': expected 'auth FILE' or 'cafile FILE' after the interval, got '%s'",
				 l->argv[1], l->argv[i]);
			return false;
		}
		snprintf(to, sizeof(h.cafile), "%s", l->argv[i + 1]);
	}
	if (!(p = realloc(c->http, (size_t)(c->n_http + 1) * sizeof(*c->http)))) {
		snprintf(err, errlen, "out of memory");
		return false;
	}
	c->http = p;
	c->http[c->n_http++] = h;
	return true;
}

/* motion ID [sensitivity 1..100] [area PERCENT] [off_delay SECONDS]
 * [interval MS] [ignore X,Y,W,H]... (a region in percent of the picture) */
static bool add_motion(struct base_config *c, const struct conf_line *l, char *err, size_t errlen)
{
	struct motion_cam_conf mc = { .line = l->line };
	void *p;

	if (!conf_want_args(l, 1, CONF_MAX_ARGS - 1, "ID [sensitivity N] [area PERCENT] [off_delay S] [interval MS] [ignore X,Y,W,H]",
			    err, errlen))
		return false;
	if (!ic_id_valid(l->argv[1], strlen(l->argv[1]))) {
		snprintf(err, errlen, "'motion' expects a camera's id, got '%s'", l->argv[1]);
		return false;
	}
	snprintf(mc.id, sizeof(mc.id), "%s", l->argv[1]);
	motion_conf_default(&mc.m);
	for (int i = 2; i < l->argc; i += 2) {
		const char *k = l->argv[i], *v = i + 1 < l->argc ? l->argv[i + 1] : NULL;
		char *end = NULL;
		double d = v ? strtod(v, &end) : 0;
		bool num = v && end != v && !*end;

		if (!strcmp(k, "sensitivity") && num && d >= 1 && d <= 100 && d == (int)d) {
			mc.m.sensitivity = (int)d;
		} else if (!strcmp(k, "area") && num && d > 0 && d <= 100) {
			mc.m.area = d;
		} else if (!strcmp(k, "off_delay") && num && d >= 0 && d <= 3600) {
			mc.m.off_delay_ms = (int)(d * 1000);
		} else if (!strcmp(k, "interval") && num && d >= 20 && d <= 60000) {
			mc.m.interval_ms = (int)d;
		} else if (!strcmp(k, "ignore") && v && mc.m.n_ignore < MOTION_IGNORE &&
			   sscanf(v, "%lf,%lf,%lf,%lf", &mc.m.ignore[mc.m.n_ignore].x, &mc.m.ignore[mc.m.n_ignore].y,
				  &mc.m.ignore[mc.m.n_ignore].w, &mc.m.ignore[mc.m.n_ignore].h) == 4) {
			mc.m.n_ignore++;
		} else {
			snprintf(err, errlen, "'motion %s': expected sensitivity 1..100, area 0..100 (percent), "
				 "off_delay 0..3600 (s), interval 20..60000 (ms) or ignore X,Y,W,H (at most %d), got '%s%s%s'",
				 mc.id, MOTION_IGNORE, k, v ? " " : "", v ? v : "");
			return false;
		}
	}
	if (base_config_motion(c, mc.id)) {
		snprintf(err, errlen, "'motion %s' is given twice", mc.id);
		return false;
	}
	if (!(p = realloc(c->motion, (size_t)(c->n_motion + 1) * sizeof(*c->motion)))) {
		snprintf(err, errlen, "out of memory");
		return false;
	}
	c->motion = p;
	c->motion[c->n_motion++] = mc;
	return true;
}

const struct motion_conf *base_config_motion(const struct base_config *c, const char *id)
{
	for (int i = 0; i < c->n_motion; i++)
		if (!strcmp(c->motion[i].id, id))
			return &c->motion[i].m;
	return NULL;
}

const struct http_cam_conf *base_config_http(const struct base_config *c, const char *id)
{
	for (int i = 0; i < c->n_http; i++)
		if (!strcmp(c->http[i].id, id))
			return &c->http[i];
	return NULL;
}

static bool add_device(struct base_config *c, const struct conf_line *l, char *err, size_t errlen)
{
	struct device_conf *d;
	bool pull = !strcmp(l->argv[0], "pull_camera");
	long interval = 0;

	if (pull) {
		if (!conf_want_args(l, 3, 7, "ID HOST:PORT|URL INTERVAL_MS [auth FILE] [cafile FILE]", err, errlen) ||
		    !conf_long(l, 3, 20, 3600000, &interval, err, errlen) || !add_http(c, l, err, errlen))
			return false;
		if (!is_url(l->argv[2]) && (strlen(l->argv[2]) >= sizeof(d->pull_addr) || !strchr(l->argv[2], ':'))) {
			snprintf(err, errlen, "'pull_camera' expects HOST:PORT or an http:// or https:// URL, got '%s'",
				 l->argv[2]);
			return false;
		}
	} else if (!conf_want_args(l, 2, 2, "ID KEY (KEY from 'base-unit genkey')", err, errlen)) {
		return false;
	}
	if (!ic_id_valid(l->argv[1], strlen(l->argv[1]))) {
		snprintf(err, errlen, "'device' expects an id of 1 to %d of a-z 0-9 _ - (not 'bridge'), got '%s'",
			 IC_ID_MAX, l->argv[1]);
		return false;
	}
	if (c->n_devices == c->cap_devices) {
		int cap = c->cap_devices ? c->cap_devices * 2 : 16;
		void *p = realloc(c->devices, (size_t)cap * sizeof(*c->devices));
		if (!p) {
			snprintf(err, errlen, "out of memory");
			return false;
		}
		c->devices = p;
		c->cap_devices = cap;
	}
	d = &c->devices[c->n_devices];
	memset(d, 0, sizeof(*d));
	if (pull) {
		d->pull = true;
		d->pull_http = is_url(l->argv[2]);
		if (!d->pull_http)
			memcpy(d->pull_addr, l->argv[2], strlen(l->argv[2]) + 1);
		d->pull_interval_ms = (int)interval;
	} else if (!key_from_hex(d->psk, l->argv[2])) {
		snprintf(err, errlen, "'device %s' expects a key of 64 hex digits, got '%.8s...'",
			 l->argv[1], l->argv[2]);
		return false;
	}
	memcpy(d->id, l->argv[1], strlen(l->argv[1]) + 1);
	d->line = l->line;
	c->n_devices++;
	return true;
}

bool base_config_line(void *ctx, const struct conf_line *l, char *err, size_t errlen)
{
	struct base_config *c = ctx;
	const char *k = l->argv[0];
	long v;
	int mqtt = mqtt_conf_line(&c->mqtt, l, err, errlen);

	if (mqtt >= 0)
		return mqtt;
#define INT_KEY(name, field, lo, hi) \
	if (!strcmp(k, name)) { \
		if (!conf_want_args(l, 1, 1, "NUMBER", err, errlen) || !conf_long(l, 1, lo, hi, &v, err, errlen)) \
			return false; \
		c->field = (int)v; \
		return true; \
	}
#define STR_KEY(name, field) \
	if (!strcmp(k, name)) \
		return conf_want_args(l, 1, 1, "VALUE", err, errlen) && \
		       conf_string(l, 1, c->field, sizeof(c->field), err, errlen);

	if (!strcmp(k, "device") || !strcmp(k, "pull_camera"))
		return add_device(c, l, err, errlen);
	if (!strcmp(k, "motion"))
		return add_motion(c, l, err, errlen);
	if (!strcmp(k, "camera_port")) {
		void *p;
		if (!conf_want_args(l, 2, 2, "ID HOST:PORT", err, errlen))
			return false;
		if (strlen(l->argv[1]) > IC_ID_MAX || strlen(l->argv[2]) >= sizeof(c->ports->addr) ||
		    !strchr(l->argv[2], ':')) {
			snprintf(err, errlen, "'camera_port' expects ID HOST:PORT, got '%s %s'", l->argv[1], l->argv[2]);
			return false;
		}
		p = realloc(c->ports, (size_t)(c->n_ports + 1) * sizeof(*c->ports));
		if (!p) {
			snprintf(err, errlen, "out of memory");
			return false;
		}
		c->ports = p;
		snprintf(c->ports[c->n_ports].id, sizeof(c->ports->id), "%s", l->argv[1]);
		snprintf(c->ports[c->n_ports].addr, sizeof(c->ports->addr), "%s", l->argv[2]);
		c->ports[c->n_ports].line = l->line;
		c->n_ports++;
		return true;
	}
	if (!strcmp(k, "prefix"))
		return conf_prefix(l, c->prefix, sizeof(c->prefix), err, errlen);
	if (!strcmp(k, "log_level"))
		return conf_log_level(l, &c->log_level, err, errlen);
	STR_KEY("listen", listen)
	STR_KEY("state_file", state_file)
	INT_KEY("udp_rcvbuf", udp_rcvbuf, 0, 1 << 30)
	INT_KEY("keepalive", keepalive, 1, 3600)
	INT_KEY("offline_after", offline_after, 2, 100)
	INT_KEY("metrics_interval", metrics_interval, 1, 3600)
	INT_KEY("command_timeout_ms", command_timeout_ms, 100, 600000)
	INT_KEY("set_lifetime_ms", set_lifetime_ms, 100, 3600000)
	INT_KEY("set_lifetime_max_ms", set_lifetime_max_ms, 100, 3600000)
	INT_KEY("command_retry_ms", command_retry_ms, 10, 60000)
	INT_KEY("command_retry_max_ms", command_retry_max_ms, 10, 60000)
	INT_KEY("camera_interval_ms", camera_interval_ms, 0, 3600000)
	INT_KEY("camera_motion_interval_ms", camera_motion_interval_ms, 0, 3600000)
	INT_KEY("last_seen_interval", last_seen_interval, 0, 86400)
	INT_KEY("outage_buffer", outage_buffer, 0, 1000000)
	INT_KEY("udp_linger_us", udp_linger_us, 0, 100000)
	INT_KEY("udp_linger_rate", udp_linger_rate, 0, 10000000)
	if (!strcmp(k, "homeassistant"))
		return conf_want_args(l, 1, 1, "true|false", err, errlen) && conf_bool(l, 1, &c->homeassistant, err, errlen);
	if (!strcmp(k, "homeassistant_prefix"))
		return conf_prefix(l, c->homeassistant_prefix, sizeof(c->homeassistant_prefix), err, errlen);
	INT_KEY("mqtt_qos", mqtt_qos, 0, 1)
#undef INT_KEY
#undef STR_KEY
	snprintf(err, errlen, "unknown key '%s'", k);
	return false;
}

static int cmp_device(const void *a, const void *b)
{
	return strcmp(((const struct device_conf *)a)->id, ((const struct device_conf *)b)->id);
}

void base_config_sort(struct device_conf *d, int n)
{
	if (n > 1)
		qsort(d, (size_t)n, sizeof(*d), cmp_device);
}

const struct device_conf *base_config_device(const struct base_config *c, const char *id)
{
	struct device_conf key;

	if (!c->n_devices || strlen(id) >= sizeof(key.id))
		return NULL;
	memcpy(key.id, id, strlen(id) + 1);
	return bsearch(&key, c->devices, (size_t)c->n_devices, sizeof(key), cmp_device);
}

bool base_config_finish(struct base_config *c, const char *path)
{
	bool ok = mqtt_conf_check(&c->mqtt, path);

	ok = conf_check_listen(path, c->listen) && ok;	/* both checked: every error named at once */

	base_config_sort(c->devices, c->n_devices);
	for (int i = 1; i < c->n_devices; i++)
		if (!strcmp(c->devices[i].id, c->devices[i - 1].id)) {
			conf_error("%s:%d: device '%s' is already defined on line %d\n", path,
				c->devices[i].line > c->devices[i - 1].line ? c->devices[i].line : c->devices[i - 1].line,
				c->devices[i].id,
				c->devices[i].line < c->devices[i - 1].line ? c->devices[i].line : c->devices[i - 1].line);
			ok = false;
		}
	for (int i = 0; i < c->n_ports; i++) {
		struct device_conf key, *d;

		snprintf(key.id, sizeof(key.id), "%s", c->ports[i].id);
		d = c->n_devices ? bsearch(&key, c->devices, (size_t)c->n_devices, sizeof(*d), cmp_device) : NULL;
		if (!d) {
			conf_error("%s:%d: 'camera_port' names '%s', which no 'device' or 'pull_camera' line defines\n",
				path, c->ports[i].line, c->ports[i].id);
			ok = false;
		} else {
			memcpy(d->camera_port, c->ports[i].addr, sizeof(d->camera_port));
		}
	}
	for (int i = 0; i < c->n_motion; i++)
		if (!base_config_device(c, c->motion[i].id)) {
			conf_error("%s:%d: 'motion' names '%s', which no 'device' or 'pull_camera' line defines\n", path,
				   c->motion[i].line, c->motion[i].id);
			ok = false;
		}
	if (c->n_devices == 0)
		log_warn("%s: no 'device' lines: no device can connect", path);
	return ok;
}

bool base_config_load(struct base_config *c, const char *path)
{
	int errors = conf_load(path, base_config_line, c);

	if (errors != 0)
		return false;
	return base_config_finish(c, path);
}
