/*
 * The device table: every configured device, its intercom session, where it
 * was last heard from, what it announced and its latest values. Built once
 * from the configuration; lookups by id go through a hash index, never by
 * address (addresses change under NAT).
 */
#ifndef BASE_DEVICES_H
#define BASE_DEVICES_H

#include "camera.h"
#include "commands.h"
#include "config.h"
#include "ic_session.h"
#include "idindex.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

/* What a device announced and its latest values. On the heap, so devices
 * that never spoke cost no more than their key; and allocated only as large as
 * the controls it announced (hello is last, and a struct ic_control is big:
 * a read unit's info takes ~1 KiB instead of ~4). Use device_set_info(). */
struct device_info {
	double sensor[IC_MAX_SENSORS];
	uint32_t have_sensor;		/* bit i: sensor[i] holds a reading */
	double control[IC_MAX_CONTROLS];
	uint32_t have_control;
	struct ic_hello hello;		/* only controls[0 .. n_controls - 1] exist */
};

struct device {
	struct ic_peer peer;
	struct sockaddr_storage addr;	/* of the newest authenticated datagram */
	socklen_t addr_len;
	bool online;
	uint64_t last_rx;		/* monotonic ms of the last authenticated datagram */
	uint64_t last_seen_wall;	/* Unix ms, for last_seen */
	uint64_t state_sent;		/* monotonic ms its state was last published (or kept) */
	uint64_t presumed_until;	/* restored from the state file: its availability is left
					 * alone until it speaks or this passes (monotonic ms); 0: not */
	struct device_info *info;	/* what it announced; NULL until its first session */
	struct ic_hello *pending;	/* from a HELLO awaiting confirmation */
	struct cmd_queue *cmds;		/* allocated at the first set */
	struct camera *cam;		/* cameras only */
	int busy_slot;
	uint64_t get_sent;		/* now_ms() of the last GET sent (at most one a second) */			/* index in the daemon's in-flight list, or -1 */
};

struct device_table {
	struct device *devices;		/* sorted by id */
	int n;
	struct id_index index;		/* id -> position in devices */
};

int device_table_init(struct device_table *t, const struct base_config *c);
void device_table_free(struct device_table *t);
struct device *device_table_find(const struct device_table *t, const char *id);

/* Replaces d->info with a fresh one holding h (values cleared). 0 or -ENOMEM. */
int device_set_info(struct device *d, const struct ic_hello *h);

/* Adopts d->pending as what the device exposes. Returns true when it differs
 * from what was known (values are then reset). -1 on OOM. */
int device_adopt_pending(struct device *d);

/* Values from a READING (sensors) or a STATE or an acknowledgement
 * (controls). All or none: false, and nothing changed, when an index is
 * out of range or a control's value is not one it accepts. */
bool device_apply_values(struct device *d, const struct ic_reading *r, bool controls);

/* An authenticated datagram from the device, from addr. The address moves
 * only with the newest datagram (newest); true when it moved (*old says
 * where from). */
bool device_heard(struct device *d, const struct sockaddr_storage *from, socklen_t from_len, bool newest,
		  uint64_t now, uint64_t wall, struct sockaddr_storage *old);

/* JSON builders; the caller frees the string with free(). NULL on OOM. */
char *device_state_json(const struct device *d);
char *device_list_json(const struct device_table *t);

const char *kind_name(uint8_t kind);

#endif
