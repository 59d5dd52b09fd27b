#include "reload.h"
#include "discovery.h"
#include "log.h"
#include "presence.h"
#include "publish.h"
#include "sets.h"

#include <stdlib.h>
#include <string.h>

static bool is_camera_conf(const struct device_conf *dc)
{
	return dc->pull || dc->camera_port[0];
}

/* The keys the running base unit cannot take without a restart. */
static bool same_motion(const struct motion_conf *a, const struct motion_conf *b)
{
	if (!a || !b)
		return a == b;
	if (a->sensitivity != b->sensitivity || a->area != b->area || a->off_delay_ms != b->off_delay_ms ||
	    a->interval_ms != b->interval_ms || a->n_ignore != b->n_ignore)
		return false;
	for (int i = 0; i < a->n_ignore; i++)
		if (a->ignore[i].x != b->ignore[i].x || a->ignore[i].y != b->ignore[i].y ||
		    a->ignore[i].w != b->ignore[i].w || a->ignore[i].h != b->ignore[i].h)
			return false;
	return true;
}

/* Whether any camera's motion line was added, removed or changed. */
static bool motion_changed(const struct base_config *o, const struct base_config *n)
{
	for (int i = 0; i < o->n_motion; i++)
		if (!same_motion(&o->motion[i].m, base_config_motion(n, o->motion[i].id)))
			return true;
	for (int i = 0; i < n->n_motion; i++)
		if (!base_config_motion(o, n->motion[i].id))
			return true;
	return false;
}

static void say_restart_keys(const struct base_config *o, const struct base_config *n)
{
#define DIFF(cond, key) \
	if (cond) \
		log_warn("reload: '%s' changed: it takes effect at the next restart", key)
	DIFF(strcmp(o->listen, n->listen), "listen");
	DIFF(strcmp(o->prefix, n->prefix), "prefix");
	DIFF(strcmp(o->state_file, n->state_file), "state_file");
	DIFF(o->udp_rcvbuf != n->udp_rcvbuf, "udp_rcvbuf");
	DIFF(o->outage_buffer != n->outage_buffer, "outage_buffer");
	DIFF(o->homeassistant != n->homeassistant, "homeassistant");
	DIFF(strcmp(o->homeassistant_prefix, n->homeassistant_prefix), "homeassistant_prefix");
	DIFF(o->mqtt_qos != n->mqtt_qos, "mqtt_qos");
	DIFF(memcmp(&o->mqtt, &n->mqtt, sizeof(o->mqtt)), "mqtt_*");
	DIFF(motion_changed(o, n), "motion");
#undef DIFF
}

/* An HTTP camera's URL and files, the same in both. */
static bool same_http(const struct base_config *o, const struct base_config *n, const char *id)
{
	const struct http_cam_conf *a = base_config_http(o, id), *b = base_config_http(n, id);

	return !a ? !b : b && !strcmp(a->url, b->url) && !strcmp(a->auth_file, b->auth_file) &&
				 !strcmp(a->cafile, b->cafile);
}

/* The device lines as the running base unit will have them: the new file's,
 * except that a camera with a port or a pull camera (sockets and timers made
 * at start) stays as it was until the next restart. */
static struct device_conf *merged_devices(const struct base_config *o, const struct base_config *n, int *count)
{
	struct device_conf *out = calloc((size_t)(o->n_devices + n->n_devices) + 1, sizeof(*out));
	int k = 0;

	if (!out)
		return NULL;
	for (int i = 0; i < n->n_devices; i++) {
		const struct device_conf *nd = &n->devices[i], *od = base_config_device(o, nd->id);

		if ((is_camera_conf(nd) || (od && is_camera_conf(od))) &&
		    (!od || od->pull != nd->pull || strcmp(od->pull_addr, nd->pull_addr) ||
		     od->pull_interval_ms != nd->pull_interval_ms || strcmp(od->camera_port, nd->camera_port) ||
		     !same_http(o, n, nd->id))) {
			log_warn("reload: camera %s %s: that takes effect at the next restart", nd->id,
				 od ? "changed its pull or camera_port line" : "added");
			if (!od)
				continue;
			nd = od;
		}
		out[k++] = *nd;
	}
	for (int i = 0; i < o->n_devices; i++)
		if (!base_config_device(n, o->devices[i].id) && is_camera_conf(&o->devices[i])) {
			log_warn("reload: camera %s removed: that takes effect at the next restart", o->devices[i].id);
			out[k++] = o->devices[i];
		}
	base_config_sort(out, k);
	*count = k;
	return out;
}

/* A device the new configuration no longer has as it was: its session ends,
 * what it was asked to do is answered, and the broker hears it is offline. */
static void drop_session(struct base *b, struct device *d, const char *why)
{
	if (d->online) {
		presence_offline(b, d, why);
	} else {
		sets_offline(b, d, why);
		publish_availability(b, d);
	}
}

int base_reload(struct base *b, const char *path)
{
	struct base_config n;
	struct base_config merged;
	struct device_table nt, old;
	struct device_conf *devs;
	struct device **busy, **cams;
	int count = 0, added = 0, removed = 0, rekeyed = 0, kept = 0;

	base_config_init(&n);
	if (!base_config_load(&n, path)) {
		log_err("reload: %s has errors (above); still running with the configuration as it was", path);
		base_config_free(&n);
		return -1;
	}
	devs = merged_devices(&b->cfg, &n, &count);
	merged = b->cfg;
	merged.devices = devs;
	merged.n_devices = count;
	busy = calloc((size_t)count + 1, sizeof(*busy));
	cams = calloc((size_t)count + 1, sizeof(*cams));
	if (!devs || !busy || !cams || device_table_init(&nt, &merged) < 0) {
		log_err("reload: out of memory; still running with the configuration as it was");
		free(devs);
		free(busy);
		free(cams);
		base_config_free(&n);
		return -1;
	}
	say_restart_keys(&b->cfg, &n);

	/* Sessions that end: the device is gone, or has another key. */
	for (int i = 0; i < b->table.n; i++) {
		struct device *d = &b->table.devices[i];
		struct device *nd = device_table_find(&nt, d->peer.id);

		if (!nd) {
			log_info("reload: device %s removed", d->peer.id);
			drop_session(b, d, "it was removed from the configuration");
			discovery_remove(b->mqtt, &b->cfg, d);
			removed++;
		} else if (memcmp(nd->peer.psk, d->peer.psk, sizeof(d->peer.psk))) {
			log_info("reload: device %s has a new key: it connects again with it", d->peer.id);
			drop_session(b, d, "its key changed");
			nd->cam = d->cam;	/* a camera's port and pull timer stay */
			d->cam = NULL;
			rekeyed++;
		}
	}
	/* The others keep everything, their sessions included. */
	for (int i = 0; i < nt.n; i++) {
		struct device *nd = &nt.devices[i];
		struct device *d = device_table_find(&b->table, nd->peer.id);

		if (!d) {
			added++;
			log_info("reload: device %s added", nd->peer.id);
		} else if (!memcmp(nd->peer.psk, d->peer.psk, sizeof(d->peer.psk))) {
			*nd = *d;
			memset(d, 0, sizeof(*d));	/* moved: the old table frees nothing of it */
			kept++;
		}
	}
	old = b->table;
	b->table = nt;
	device_table_free(&old);	/* what was removed or re-keyed, and the old keys */

	/* The daemon's lists of devices point into the table: made again. */
	free(b->busy);
	free(b->cams);
	b->busy = busy;
	b->cams = cams;
	b->n_busy = b->n_cams = 0;
	for (int i = 0; i < b->table.n; i++) {
		struct device *d = &b->table.devices[i];

		if (d->busy_slot >= 0) {
			d->busy_slot = b->n_busy;
			b->busy[b->n_busy++] = d;
		}
		if (d->cam)
			b->cams[b->n_cams++] = d;
	}

	/* What takes effect at once. */
	b->cfg.keepalive = n.keepalive;
	b->cfg.offline_after = n.offline_after;
	b->cfg.metrics_interval = n.metrics_interval;
	b->cfg.command_timeout_ms = n.command_timeout_ms;
	b->cfg.set_lifetime_ms = n.set_lifetime_ms;
	b->cfg.set_lifetime_max_ms = n.set_lifetime_max_ms;
	b->cfg.command_retry_ms = n.command_retry_ms;
	b->cfg.command_retry_max_ms = n.command_retry_max_ms;
	b->cfg.camera_interval_ms = n.camera_interval_ms;
	b->cfg.camera_motion_interval_ms = n.camera_motion_interval_ms;
	b->cfg.last_seen_interval = n.last_seen_interval;
	b->cfg.udp_linger_us = n.udp_linger_us;
	b->cfg.udp_linger_rate = n.udp_linger_rate;
	b->cfg.log_level = n.log_level;
	free(b->cfg.devices);
	b->cfg.devices = devs;
	b->cfg.n_devices = b->cfg.cap_devices = count;
	base_config_free(&n);

	for (int i = 0; i < b->table.n; i++) {
		struct device *d = &b->table.devices[i];

		if (!d->info && !d->online && mqtt_connected(b->mqtt)) {	/* new: offline until it speaks */
			publish_availability(b, d);
			discovery_publish(b->mqtt, &b->cfg, d);
		}
	}
	publish_devices_soon(b);
	b->state_dirty = true;
	log_info("reloaded %s: %d device%s (%d added, %d removed, %d with a new key, %d kept their sessions)", path,
		 b->table.n, b->table.n == 1 ? "" : "s", added, removed, rekeyed, kept);
	return 0;
}
