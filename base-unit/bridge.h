/*
 * The bridge proper: what the base unit does with each authenticated
 * datagram, each MQTT message and each tick. main.c owns the sockets and the
 * loop; this file owns the device state and everything published about it.
 */
#ifndef BASE_BRIDGE_H
#define BASE_BRIDGE_H

#include "config.h"
#include "devices.h"
#include "mqtt.h"

#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

struct metrics {
	uint64_t datagrams, hellos, sessions, readings, keepalives, byes, states;
	uint64_t malformed, unknown_device, auth_failed, replayed, unknown_session;
	uint64_t bad_body, stale, resets_sent, send_failed, retained_ignored;
	uint64_t kernel_drops;
	uint64_t sets, results[5];	/* by enum set_result */
	uint64_t retransmits;
};

enum set_result { RESULT_OK, RESULT_INVALID, RESULT_REJECTED, RESULT_TIMEOUT, RESULT_OFFLINE };

struct base {
	struct base_config cfg;
	struct device_table table;
	struct mqtt *mqtt;
	int udp[2];		/* the IPv4 and the IPv6 socket of "listen" (-1: none) */
	int rcvbuf;
	struct metrics m;
	uint64_t started, next_metrics;
	bool devices_dirty;		/* P/bridge/devices is due (at most once a tick) */
	bool state_dirty;		/* the state file is due (at most once a tick) */
	uint64_t next_cmd_id;		/* wire ids: random start, so a restart does not reuse them */
	struct device **busy;		/* devices with a command in flight (timers) */
	int n_busy;
	struct jpeg_checker *jc;
	struct camera_stats cam_stats;
	struct device **cams;		/* devices with a camera */
	int n_cams;
	/* Device states published while the broker was away, oldest first: a
	 * ring of cfg.outage_buffer entries, delivered in order on reconnect. */
	struct outage_entry { char *topic, *payload; } *outage;
	int outage_head, outage_len;
	uint64_t outage_dropped, outage_delivered;
	uint64_t last_trim;		/* now_ms() of the last malloc_trim() */
};

int bridge_init(struct base *b);	/* after cfg and table; 0 or -ENOMEM */
void bridge_free(struct base *b);

void bridge_datagram(struct base *b, const uint8_t *buf, size_t len,
		     const struct sockaddr_storage *from, socklen_t from_len);
void bridge_mqtt_up(void *ctx);
void bridge_mqtt_message(void *ctx, const char *topic, const void *payload, size_t len, bool retained);
void bridge_tick(struct base *b, uint64_t now);		/* once a second */
void bridge_timers(struct base *b, uint64_t now);	/* command retransmits and deadlines */
uint64_t bridge_next_timer(const struct base *b, uint64_t now);	/* ms until bridge_timers */
/* Cameras' sockets: fills up to max entries after the daemon's own. */
int bridge_pollfds(struct base *b, struct pollfd *p, int max);
void bridge_poll_handle(struct base *b, const struct pollfd *p, int n);

#endif
