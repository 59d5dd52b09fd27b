/*
 * What the base unit's layers see of the world, for the bridge tests: the
 * MQTT session (base-unit/mqtt.c), the UDP send (base-unit/udp.c) and the
 * clocks (clients/common/clock.c) are replaced by these, which keep what was
 * published and sent, and a clock the test moves by hand. Everything else is
 * the daemon's own code, the intercom library included.
 */
#ifndef STUBS_H
#define STUBS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define STUB_MAX 256

struct stub_pub {
	char topic[320];
	char payload[8192];	/* NUL-terminated copy (binary payloads are cut) */
	size_t len;
	int qos;
	bool retain;
};

struct stub_dgram {
	uint8_t buf[1200];
	size_t len;
	struct sockaddr_storage to;
};

extern uint64_t stub_now;		/* now_ms() */
extern bool stub_connected;		/* mqtt_connected() */
extern struct stub_pub stub_pubs[STUB_MAX];
extern int stub_n_pubs;
extern struct stub_dgram stub_sent[STUB_MAX];
extern int stub_n_sent;
extern const char *stub_prefix;

void stub_reset(void);
/* The newest message published on topic (full topic), or NULL. */
const struct stub_pub *stub_last(const char *topic);
/* How many were published on topic since the last stub_reset(). */
int stub_count(const char *topic);

#endif
