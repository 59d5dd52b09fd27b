#include "presence.h"
#include "discovery.h"
#include "log.h"
#include "publish.h"
#include "sets.h"
#include "util.h"

void presence_established(struct base *b, struct device *d, bool changed)
{
	d->presumed_until = 0;
	if (d->online && !changed)
		return;
	d->online = true;
	discovery_publish(b->mqtt, &b->cfg, d);
	publish_availability(b, d);
	publish_devices_soon(b);
}

void presence_back(struct base *b, struct device *d)
{
	if (d->online)
		return;
	d->online = true;
	log_info("device %s online again", d->peer.id);
	publish_availability(b, d);
	publish_devices_soon(b);
}

void presence_offline(struct base *b, struct device *d, const char *why)
{
	if (!d->online)
		return;
	d->online = false;
	log_info("device %s offline (%s)", d->peer.id, why);
	publish_availability(b, d);
	publish_devices_soon(b);
	sets_offline(b, d, "the device went offline");
}

void presence_pulled(struct base *b, struct device *d, bool ok)
{
	d->online = ok;
	if (ok)
		d->last_seen_wall = wall_ms();
	publish_availability(b, d);
	publish_devices_soon(b);
}

void presence_tick(struct base *b, uint64_t now)
{
	for (int i = 0; i < b->table.n; i++) {
		struct device *d = &b->table.devices[i];
		uint64_t limit;

		if (d->presumed_until && now >= d->presumed_until) {
			d->presumed_until = 0;	/* it did not come back after the restart */
			log_info("device %s offline (not heard from since the restart)", d->peer.id);
			publish_availability(b, d);
		}
		if (!d->online || (d->cam && d->cam->pull))
			continue;
		limit = (uint64_t)b->cfg.offline_after * d->info->hello.keepalive * 1000;
		if (now - d->last_rx > limit)
			presence_offline(b, d, "missed keepalives");
	}
}
