/*
 * The device table: every configured device, its intercom session, where it
 * was last heard from, what it announced and its latest values. Built once
 * from the configuration; lookups by id go through a hash index, never by
 * address (addresses change under NAT).
 */
#ifndef BASE_DEVICES_H
#define BASE_DEVICES_H

#include "config.h"
#include "ic_session.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

struct device {
	struct ic_peer peer;
	struct sockaddr_storage addr;	/* of the newest authenticated datagram */
	socklen_t addr_len;
	bool known;			/* completed a handshake at least once */
	bool online;
	uint64_t last_rx;		/* monotonic ms of the last authenticated datagram */
	uint64_t last_seen_wall;	/* Unix ms, for last_seen */
	uint64_t reset_sent;		/* monotonic ms of the last RESET, to rate-limit them */
	struct ic_hello info;		/* what it announced; valid when known */
	struct ic_hello pending_info;	/* from a HELLO awaiting confirmation */
	double values[IC_MAX_SENSORS];
	uint32_t have_value;		/* bit i set when values[i] holds a reading */
};

struct device_table {
	struct device *devices;		/* sorted by id */
	int n;
	int *index;			/* open addressing over devices; -1 empty */
	uint32_t mask;
};

int device_table_init(struct device_table *t, const struct base_config *c);
void device_table_free(struct device_table *t);
struct device *device_table_find(const struct device_table *t, const char *id);

/* JSON builders; the caller frees the string with free(). NULL on OOM. */
char *device_state_json(const struct device *d);
char *device_list_json(const struct device_table *t);

const char *kind_name(uint8_t kind);

#endif
