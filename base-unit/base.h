/*
 * The base unit's state as a whole, shared by its layers:
 *
 *   main.c       the loop: sockets, poll, ticks, signals
 *   bridge.c     start, stop, the broker coming up, the tick and the timers
 *   inbound.c    datagrams in: hello, values, acks, fragments, bye
 *   cameras.c    the cameras: set up, polled, timed, their frames published
 *   presence.c   availability: online, offline, the restart's grace
 *   sets.c       sets out: parsed once, queued, sent, retransmitted, answered
 *   publish.c    what goes to the broker: state (with the outage ring),
 *                availability, the device list, metrics
 *   udp.c        the UDP sockets
 *
 * Each calls only the ones below it in this list (inbound.c also hands
 * fragments to cameras.c). The devices (devices.c), their command queues
 * (commands.c), cameras (camera.c), frames (frames.c), the outage ring
 * (outage.c), the state file (state.c) and Home Assistant discovery
 * (discovery.c) own their own state and do no I/O but what they say.
 */
#ifndef BASE_BASE_H
#define BASE_BASE_H

#include "config.h"
#include "devices.h"
#include "mqtt.h"
#include "outage.h"
#include "topics.h"

#include <stdbool.h>
#include <stdint.h>

struct metrics {
	uint64_t datagrams, hellos, sessions, readings, keepalives, byes, states;
	uint64_t malformed, unknown_device, auth_failed, replayed, unknown_session;
	uint64_t bad_body, stale, resets_sent, send_failed, retained_ignored;
	uint64_t kernel_drops, stale_ticket, challenges_sent, answers_limited, gets_coalesced;
	uint64_t sets, results[SET_RESULTS];	/* by enum set_result */
	uint64_t retransmits;
};

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
	uint64_t state_retry_at, state_backoff;	/* after a failed write */
	uint64_t next_cmd_id;		/* wire ids: random start, so a restart does not reuse them */
	struct device **busy;		/* devices with a command in flight (timers) */
	int n_busy;
	struct jpeg_checker *jc;
	struct camera_stats cam_stats;
	struct device **cams;		/* devices with a camera */
	int n_cams;
	struct outage outage;		/* states kept while the broker is away */
	uint64_t last_trim;		/* now_ms() of the last malloc_trim() */
	/* When each (device, sender's address and port) was last sent a RESET
	 * (inbound.c): junk from elsewhere cannot use up what the device is owed. */
	struct answered { uint64_t key, at; } answered[4096];
	uint64_t resets_window, resets_in_window;	/* all RESETs: at most RESETS_PER_S */
};

#endif
