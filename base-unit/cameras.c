#include "cameras.h"
#include "log.h"
#include "presence.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct camera *cameras_of(struct base *b, struct device *d)
{
	if (!d->cam) {
		d->cam = camera_new(&b->cam_stats);
		if (d->cam)
			b->cams[b->n_cams++] = d;
	}
	return d->cam;
}

int cameras_init(struct base *b)
{
	b->cams = calloc(b->table.n ? (size_t)b->table.n : 1, sizeof(*b->cams));
	b->jc = jpeg_checker_new();
	if (!b->cams || !b->jc)
		return -ENOMEM;
	/* Pull cameras and raw TCP ports come from the configuration. */
	for (int i = 0; i < b->cfg.n_devices; i++) {
		const struct device_conf *dc = &b->cfg.devices[i];
		struct device *d = device_table_find(&b->table, dc->id);
		int ret;

		const struct motion_conf *mc = base_config_motion(&b->cfg, dc->id);

		if (!dc->pull && !dc->camera_port[0] && !mc)
			continue;
		if (!d || !cameras_of(b, d) || (mc && !camera_motion_setup(d->cam, mc)))
			return -ENOMEM;
		if (dc->pull_http) {
			const struct http_cam_conf *hc = base_config_http(&b->cfg, dc->id);
			char err[256];

			if (!hc || !camera_http_setup(d->cam, hc->url, dc->pull_interval_ms, hc->auth_file, hc->cafile, err,
						      sizeof(err))) {
				log_err("pull camera %s: %s", dc->id, hc ? err : "no URL");
				return -EINVAL;
			}
		} else if (dc->pull && camera_pull_setup(d->cam, dc->pull_addr, dc->pull_interval_ms) < 0) {
			log_err("pull camera %s: cannot resolve '%s'", dc->id, dc->pull_addr);
			return -EINVAL;
		}
		if (dc->pull && device_set_info(d, &(struct ic_hello){ .kind = IC_KIND_CAMERA }) < 0)
			return -ENOMEM;
		if (dc->camera_port[0]) {
			ret = camera_listen(d->cam, dc->camera_port);
			if (ret < 0) {
				log_err("camera %s: cannot listen on tcp %s: %s", dc->id, dc->camera_port, strerror(-ret));
				return ret;
			}
			log_info("camera %s: newest frame on tcp %s", dc->id, dc->camera_port);
		}
	}
	return 0;
}

void cameras_free(struct base *b)
{
	free(b->cams);
	jpeg_checker_free(b->jc);
	b->cams = NULL;
	b->jc = NULL;
	b->n_cams = 0;
}

/* Motion that started or ended: P/<camera>/motion (retained), the event on
 * P/<camera>/event, and at its end the best frame on P/<camera>/event_frame. */
static void publish_motion_state(struct base *b, const struct device *d, bool on)
{
	char topic[DEVICE_ID_MAX + 16];

	snprintf(topic, sizeof(topic), "%s/" T_MOTION, d->peer.id);
	mqtt_publish_qos(b->mqtt, topic, on ? "ON" : "OFF", on ? 2 : 3, 1, true);
}

static void publish_motion(struct base *b, struct device *d)
{
	struct camera *c = d->cam;
	const struct motion_event *ev = &c->motion_ev;
	char topic[DEVICE_ID_MAX + 16], json[256], start[32], end[32];
	uint64_t now = now_ms(), wall = wall_ms();
	int n;

	if (!c->motion_news || !mqtt_connected(b->mqtt))
		return;
	c->motion_news = false;
	publish_motion_state(b, d, ev->started);
	iso8601(start, wall - (now - ev->start_ms));
	if (ev->started) {
		n = snprintf(json, sizeof(json), "{\"event\":\"start\",\"id\":%llu,\"start\":\"%s\",\"score\":%.1f}",
			     (unsigned long long)ev->id, start, ev->peak);
	} else {
		iso8601(end, wall - (now - ev->end_ms));
		n = snprintf(json, sizeof(json),
			     "{\"event\":\"end\",\"id\":%llu,\"start\":\"%s\",\"end\":\"%s\",\"seconds\":%.1f,\"peak\":%.1f}",
			     (unsigned long long)ev->id, start, end, (double)(ev->end_ms - ev->start_ms) / 1000.0, ev->peak);
	}
	snprintf(topic, sizeof(topic), "%s/" T_EVENT, d->peer.id);
	mqtt_publish_qos(b->mqtt, topic, json, (size_t)n, 1, false);
	if (ev->ended && c->motion_best) {
		snprintf(topic, sizeof(topic), "%s/" T_EVENT_FRAME, d->peer.id);
		mqtt_publish_qos(b->mqtt, topic, c->motion_best->data, c->motion_best->len, 1, true);
	}
}

void cameras_mqtt_up(struct base *b)
{
	for (int i = 0; i < b->n_cams; i++) {
		struct device *d = b->cams[i];

		if (!d->cam->motion)
			continue;
		publish_motion_state(b, d, d->cam->motion->on);
		publish_motion(b, d);	/* an event that waited for the broker */
	}
}

/* The newest frame at the camera's rate; its thumbnail retained beside it,
 * so a dashboard that arrives later has a picture at once. */
static void publish_frame(struct base *b, struct device *d, uint64_t now)
{
	char topic[DEVICE_ID_MAX + 16];
	const struct frame *f;
	int interval = b->cfg.camera_interval_ms;

	/* Faster while something moves, for whoever records it (the dashboard). */
	if (d->cam->motion && d->cam->motion->on && b->cfg.camera_motion_interval_ms < interval)
		interval = b->cfg.camera_motion_interval_ms;
	if (!mqtt_connected(b->mqtt) || !(f = camera_to_publish(d->cam, b->jc, now, interval)))
		return;
	snprintf(topic, sizeof(topic), "%s/" T_CAMERA, d->peer.id);
	mqtt_publish_qos(b->mqtt, topic, f->data, f->len, 0, false);
	if (d->cam->thumb) {
		snprintf(topic, sizeof(topic), "%s/" T_THUMBNAIL, d->peer.id);
		mqtt_publish_qos(b->mqtt, topic, d->cam->thumb, d->cam->thumb_len, 0, true);
	}
}

void cameras_fragment(struct base *b, struct device *d, const struct ic_fragment *f)
{
	uint64_t now = now_ms();

	if (camera_fragment(d->cam, f, now)) {
		camera_motion_check(d->cam, b->jc, now);
		publish_frame(b, d, now);
		publish_motion(b, d);
	}
}

static void camera_timers(struct base *b, struct device *d, uint64_t now)
{
	bool new_frame, changed;

	camera_tick(d->cam, b->jc, now, &new_frame, &changed);
	if (changed)
		presence_pulled(b, d, d->cam->pull_ok);
	if (new_frame)
		publish_frame(b, d, now);
	publish_motion(b, d);
}

void cameras_tick(struct base *b, uint64_t now)
{
	for (int i = 0; i < b->n_cams; i++) {
		camera_timers(b, b->cams[i], now);
		publish_frame(b, b->cams[i], now);	/* one that waited for the rate limit */
	}
}

/* A camera whose timer is due runs now, not at the next tick: a timer that
 * has passed makes the poll timeout 0 until it runs. */
void cameras_timers(struct base *b, uint64_t now)
{
	for (int i = 0; i < b->n_cams; i++)
		if (camera_next_ms(b->cams[i]->cam, now) == 0)
			camera_timers(b, b->cams[i], now);
}

uint64_t cameras_next_due(const struct base *b, uint64_t now)
{
	uint64_t next = UINT64_MAX;

	for (int i = 0; i < b->n_cams; i++) {
		uint64_t t = camera_next_ms(b->cams[i]->cam, now);
		if (t != UINT64_MAX && now + t < next)
			next = now + t;
	}
	return next;
}

int cameras_pollfds(struct base *b, struct pollfd *p, int max)
{
	int n = 0;

	for (int i = 0; i < b->n_cams; i++) {
		struct camera *c = b->cams[i]->cam;

		c->polled = camera_pollfds(c, p + n, max - n);
		n += c->polled;
	}
	return n;
}

void cameras_handle(struct base *b, const struct pollfd *p, int n)
{
	uint64_t now = now_ms();
	int k = 0;

	/* each camera takes back the entries it filled */
	for (int i = 0; i < b->n_cams && k < n; i++) {
		struct device *d = b->cams[i];
		int mine = d->cam->polled;
		bool new_frame, changed;

		camera_handle(d->cam, b->jc, p + k, mine, now, &new_frame, &changed);
		if (changed)
			presence_pulled(b, d, d->cam->pull_ok);
		if (new_frame)
			publish_frame(b, d, now);
		publish_motion(b, d);
		k += mine;
	}
}
