/*
 * The bridge tests' harness (harness.h): a base unit of three devices (lamp,
 * thermo, car) on the stubs of stubs.c, and the device side, sealed by the
 * intercom library's own device code.
 */
#include "../test.h"
#include "harness.h"
#include "stubs.h"

#include "bridge.h"
#include "conf.h"
#include "inbound.h"
#include "util.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

struct base B;
struct sockaddr_storage dev_addr;
const uint8_t lamp_psk[IC_KEY_LEN] = { 1, 2, 3 }, thermo_psk[IC_KEY_LEN] = { 4, 5, 6 },
		     car_psk[IC_KEY_LEN] = { 7, 8, 9 };

void config(const char *line)
{
	char buf[CONF_LINE_MAX], err[256];
	struct conf_line l = { .file = "test", .line = 1 };

	snprintf(buf, sizeof(buf), "%s", line);
	if (!conf_split(buf, &l.argc, l.argv, CONF_MAX_ARGS, err, sizeof(err)) ||
	    !base_config_line(&B.cfg, &l, err, sizeof(err))) {
		fprintf(stderr, "  config '%s': %s\n", line, err);
		test_failures++;
	}
}

void device_line(const char *id, const uint8_t *psk)
{
	char hex[65], line[128];

	key_to_hex(hex, psk);
	snprintf(line, sizeof(line), "device %s %s", id, hex);
	config(line);
}

void setup(void)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)&dev_addr;

	memset(&B, 0, sizeof(B));
	B.udp[0] = B.udp[1] = -1;
	base_config_init(&B.cfg);
	device_line("lamp", lamp_psk);
	device_line("thermo", thermo_psk);
	device_line("car", car_psk);
	config("outage_buffer 3");
	stub_prefix = B.cfg.prefix;
	stub_connected = true;
	CHECK_EQ(device_table_init(&B.table, &B.cfg), 0);
	CHECK_EQ(bridge_init(&B), 0);
	B.mqtt = (struct mqtt *)&B;	/* never looked into: the stubs stand in for it */
	B.started = stub_now;
	memset(&dev_addr, 0, sizeof(dev_addr));
	sin->sin_family = AF_INET;
	sin->sin_port = htons(40000);
	sin->sin_addr.s_addr = htonl(0x0a000002);
	stub_reset();
}

void teardown(void)
{
	bridge_free(&B);
	device_table_free(&B.table);
	base_config_free(&B.cfg);
}

char *topic(const char *suffix)
{
	static char t[4][256];
	static int k;

	k = (k + 1) % 4;
	snprintf(t[k], sizeof(t[k]), "%s/%s", B.cfg.prefix, suffix);
	return t[k];
}

const char *last(const char *suffix)
{
	const struct stub_pub *p = stub_last(topic(suffix));

	return p ? p->payload : "";
}

/* --- the device side: the intercom library's own --- */

void to_base(const uint8_t *dgram, int n)
{
	CHECK(n > 0);
	if (n > 0)
		inbound_datagram(&B, dgram, (size_t)n, &dev_addr, sizeof(struct sockaddr_in));
}

/* The same from another host: an attacker's. */
void from_elsewhere(const uint8_t *dgram, int n)
{
	struct sockaddr_storage a = dev_addr;

	((struct sockaddr_in *)&a)->sin_addr.s_addr = htonl(0xc0000201);
	((struct sockaddr_in *)&a)->sin_port = htons(1024);
	inbound_datagram(&B, dgram, (size_t)n, &a, sizeof(struct sockaddr_in));
}

bool sent_to_device(int i)
{
	return stub_sent[i].to.ss_family == AF_INET &&
	       ((struct sockaddr_in *)&stub_sent[i].to)->sin_addr.s_addr == htonl(0x0a000002);
}

void device_send(struct ic_device *dv, uint8_t type, const uint8_t *body, size_t len)
{
	uint8_t out[IC_MAX_DATAGRAM];

	to_base(out, ic_device_seal(dv, type, body, len, out, sizeof(out)));
}

/* Opens the newest datagram the base unit sent; its type, or 0. */
uint8_t device_receive(struct ic_device *dv, uint8_t *body, size_t *len)
{
	uint8_t type = 0;

	if (stub_n_sent == 0 || ic_device_receive(dv, stub_sent[stub_n_sent - 1].buf, stub_sent[stub_n_sent - 1].len,
						  &type, body, len) != IC_OK)
		return 0;
	return type;
}

const struct ic_hello lamp_hello = {
	.kind = IC_KIND_UPDATABLE, .keepalive = 15, .n_controls = 2,
	.controls = { { .name = "power", .type = IC_SWITCH },
		      { .name = "brightness", .type = IC_RANGE, .min = 0, .max = 100, .step = 1 } },
};
const struct ic_hello thermo_hello = {
	.kind = IC_KIND_READ, .keepalive = 15, .n_sensors = 1,
	.sensors = { { .name = "temperature", .unit = "°C" } },
};

/* HELLO (no ticket yet) -> CHALLENGE -> HELLO -> WELCOME: the device is
 * READY, the base unit waits for proof. */
void hello(struct ic_device *dv, const char *id, const uint8_t *psk, const struct ic_hello *h)
{
	uint8_t body[IC_BODY_MAX], out[IC_MAX_DATAGRAM], hb[IC_BODY_MAX];
	int n = ic_hello_encode(hb, sizeof(hb), h), sent = stub_n_sent;
	size_t len;

	CHECK_EQ(ic_device_init(dv, id, psk), IC_OK);
	CHECK_EQ(ic_device_restart(dv, random_u64_nonzero()), IC_OK);
	to_base(out, ic_device_hello(dv, hb, (size_t)n, out, sizeof(out)));
	CHECK_EQ(stub_n_sent, sent + 1);
	CHECK_EQ(device_receive(dv, body, &len), IC_CHALLENGE);
	to_base(out, ic_device_hello(dv, hb, (size_t)n, out, sizeof(out)));
	CHECK_EQ(stub_n_sent, sent + 2);
	CHECK_EQ(device_receive(dv, body, &len), IC_WELCOME);
	CHECK_EQ(dv->state, IC_DEV_READY);
}

void reading(struct ic_device *dv, double v)
{
	struct ic_reading r = { .n = 1, .values = { { .index = 0, .value = v } } };
	uint8_t body[IC_BODY_MAX];
	int n = ic_reading_encode(body, sizeof(body), &r);

	device_send(dv, IC_READING, body, (size_t)n);
}


void set(const char *id, const char *json)
{
	char t[64];

	snprintf(t, sizeof(t), "%s/set", id);
	bridge_mqtt_message(&B, topic(t), json, strlen(json), false);
}
