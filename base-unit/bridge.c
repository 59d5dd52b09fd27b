#include "bridge.h"
#include "cameras.h"
#include "discovery.h"
#include "log.h"
#include "presence.h"
#include "publish.h"
#include "sets.h"
#include "state.h"
#include "util.h"

#include <malloc.h>

int bridge_init(struct base *b)
{
	int ret;

	outage_init(&b->outage, b->cfg.outage_buffer);
	if ((ret = sets_init(b)) < 0)
		return ret;
	if (b->cfg.state_file[0] && state_load(&b->table, b->cfg.state_file) > 0) {
		uint64_t now = now_ms();
		for (int i = 0; i < b->table.n; i++) {
			struct device *d = &b->table.devices[i];
			if (d->info && d->info->hello.keepalive)
				d->presumed_until = now + (uint64_t)b->cfg.offline_after * d->info->hello.keepalive * 1000;
		}
	}
	return cameras_init(b);
}

void bridge_free(struct base *b)
{
	if (b->state_dirty && b->cfg.state_file[0])
		state_save(&b->table, b->cfg.state_file);
	outage_free(&b->outage);
	sets_free(b);
	cameras_free(b);
}

/* After every (re)connect the broker may have lost or never had our retained
 * state: publish all of it again, and subscribe again. */
void bridge_mqtt_up(void *ctx)
{
	struct base *b = ctx;

	mqtt_subscribe(b->mqtt, "+/" T_SET);
	mqtt_subscribe(b->mqtt, "+/" T_GET);
	mqtt_publish(b->mqtt, T_BRIDGE "/" T_BRIDGE_STATE, T_ONLINE, sizeof(T_ONLINE) - 1, true);
	publish_devices(b);
	publish_outage(b);	/* what happened while we were away, in order */
	for (int i = 0; i < b->table.n; i++) {
		struct device *d = &b->table.devices[i];

		discovery_publish(b->mqtt, &b->cfg, d);
		publish_availability(b, d);
		if (d->info && d->last_seen_wall)
			publish_state(b, d);
	}
	cameras_mqtt_up(b);
	publish_metrics(b);
	b->next_metrics = now_ms() + (uint64_t)b->cfg.metrics_interval * 1000;
}

void bridge_mqtt_message(void *ctx, const char *topic, const void *payload, size_t len, bool retained)
{
	sets_message(ctx, topic, payload, len, retained);
}

void bridge_timers(struct base *b, uint64_t now)
{
	cameras_timers(b, now);
	sets_timers(b, now);
}

uint64_t bridge_next_timer(const struct base *b, uint64_t now)
{
	uint64_t next = cameras_next_due(b, now), s = sets_next_due(b);

	if (s < next)
		next = s;
	if (next == UINT64_MAX)
		return UINT64_MAX;
	return next > now ? next - now : 0;
}

void bridge_tick(struct base *b, uint64_t now)
{
	/* Bursts (every topic re-published after a reconnect, a camera's frames)
	 * leave freed heap behind; give it back to the system now and then, so
	 * the resident size is what the devices need, not the largest burst. */
	if (now - b->last_trim >= 10000) {
		malloc_trim(0);
		b->last_trim = now;
	}
	cameras_tick(b, now);
	presence_tick(b, now);
	if (b->devices_dirty && mqtt_connected(b->mqtt))
		publish_devices(b);
	if (b->state_dirty && b->cfg.state_file[0] && now >= b->state_retry_at) {
		/* A write that failed (a full disk, say) is tried again, every 5 s
		 * at first and at most every 5 min, until it works. */
		if (state_save(&b->table, b->cfg.state_file) == 0) {
			if (b->state_backoff)
				log_info("state file %s written again", b->cfg.state_file);
			b->state_dirty = false;
			b->state_backoff = 0;
		} else {
			b->state_backoff = b->state_backoff ? b->state_backoff * 2 : 5000;
			if (b->state_backoff > 300000)
				b->state_backoff = 300000;
			b->state_retry_at = now + b->state_backoff;
		}
	}
	if (now >= b->next_metrics && mqtt_connected(b->mqtt)) {
		publish_metrics(b);
		b->next_metrics = now + (uint64_t)b->cfg.metrics_interval * 1000;
	}
}

int bridge_pollfds(struct base *b, struct pollfd *p, int max)
{
	return cameras_pollfds(b, p, max);
}

void bridge_poll_handle(struct base *b, const struct pollfd *p, int n)
{
	cameras_handle(b, p, n);
}
