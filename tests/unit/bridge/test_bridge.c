/*
 * The base unit's layers (inbound, sets, presence, publish, cameras, bridge)
 * tested through their seams: datagrams go in through inbound_datagram() as
 * real devices (the intercom library's own device side) seal them; what the
 * base unit publishes and sends is kept by stubs.c; the clock moves only when
 * a test moves it.
 */
#include "../test.h"
#include "stubs.h"

#include "bridge.h"
#include "conf.h"
#include "inbound.h"
#include "log.h"
#include "ic_session.h"
#include "util.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdio.h>
#include <string.h>

static struct base B;
static struct sockaddr_storage dev_addr;
static const uint8_t lamp_psk[IC_KEY_LEN] = { 1, 2, 3 }, thermo_psk[IC_KEY_LEN] = { 4, 5, 6 },
		     car_psk[IC_KEY_LEN] = { 7, 8, 9 };

static void config(const char *line)
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

static void device_line(const char *id, const uint8_t *psk)
{
	char hex[65], line[128];

	key_to_hex(hex, psk);
	snprintf(line, sizeof(line), "device %s %s", id, hex);
	config(line);
}

static void setup(void)
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

static void teardown(void)
{
	bridge_free(&B);
	device_table_free(&B.table);
	base_config_free(&B.cfg);
}

static char *topic(const char *suffix)
{
	static char t[4][256];
	static int k;

	k = (k + 1) % 4;
	snprintf(t[k], sizeof(t[k]), "%s/%s", B.cfg.prefix, suffix);
	return t[k];
}

static const char *last(const char *suffix)
{
	const struct stub_pub *p = stub_last(topic(suffix));

	return p ? p->payload : "";
}

/* --- the device side: the intercom library's own --- */

static void to_base(const uint8_t *dgram, int n)
{
	CHECK(n > 0);
	if (n > 0)
		inbound_datagram(&B, dgram, (size_t)n, &dev_addr, sizeof(struct sockaddr_in));
}

/* The same from another host: an attacker's. */
static void from_elsewhere(const uint8_t *dgram, int n)
{
	struct sockaddr_storage a = dev_addr;

	((struct sockaddr_in *)&a)->sin_addr.s_addr = htonl(0xc0000201);
	((struct sockaddr_in *)&a)->sin_port = htons(1024);
	inbound_datagram(&B, dgram, (size_t)n, &a, sizeof(struct sockaddr_in));
}

static bool sent_to_device(int i)
{
	return stub_sent[i].to.ss_family == AF_INET &&
	       ((struct sockaddr_in *)&stub_sent[i].to)->sin_addr.s_addr == htonl(0x0a000002);
}

static void device_send(struct ic_device *dv, uint8_t type, const uint8_t *body, size_t len)
{
	uint8_t out[IC_MAX_DATAGRAM];

	to_base(out, ic_device_seal(dv, type, body, len, out, sizeof(out)));
}

/* Opens the newest datagram the base unit sent; its type, or 0. */
static uint8_t device_receive(struct ic_device *dv, uint8_t *body, size_t *len)
{
	uint8_t type = 0;

	if (stub_n_sent == 0 || ic_device_receive(dv, stub_sent[stub_n_sent - 1].buf, stub_sent[stub_n_sent - 1].len,
						  &type, body, len) != IC_OK)
		return 0;
	return type;
}

static const struct ic_hello lamp_hello = {
	.kind = IC_KIND_UPDATABLE, .keepalive = 15, .n_controls = 2,
	.controls = { { .name = "power", .type = IC_SWITCH },
		      { .name = "brightness", .type = IC_RANGE, .min = 0, .max = 100, .step = 1 } },
};
static const struct ic_hello thermo_hello = {
	.kind = IC_KIND_READ, .keepalive = 15, .n_sensors = 1,
	.sensors = { { .name = "temperature", .unit = "°C" } },
};

/* HELLO (no ticket yet) -> CHALLENGE -> HELLO -> WELCOME: the device is
 * READY, the base unit waits for proof. */
static void hello(struct ic_device *dv, const char *id, const uint8_t *psk, const struct ic_hello *h)
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

static void reading(struct ic_device *dv, double v)
{
	struct ic_reading r = { .n = 1, .values = { { .index = 0, .value = v } } };
	uint8_t body[IC_BODY_MAX];
	int n = ic_reading_encode(body, sizeof(body), &r);

	device_send(dv, IC_READING, body, (size_t)n);
}

static void test_hello_welcome(void)
{
	struct ic_device dv;
	struct device *d;

	setup();
	hello(&dv, "thermo", thermo_psk, &thermo_hello);
	d = device_table_find(&B.table, "thermo");
	CHECK_EQ(B.m.hellos, 1);
	CHECK(!d->online);			/* a HELLO alone proves nothing */
	CHECK_EQ(stub_count(topic("thermo/availability")), 0);
	/* a HELLO under another key: dropped, counted, nothing sent */
	{
		struct ic_device evil;
		static const uint8_t wrong[IC_KEY_LEN] = { 9 };
		uint8_t body[IC_BODY_MAX], out[IC_MAX_DATAGRAM];
		int n = ic_hello_encode(body, sizeof(body), &thermo_hello);
		int sent = stub_n_sent;

		ic_device_init(&evil, "thermo", wrong);
		ic_device_restart(&evil, 77);
		evil.ticket = device_table_find(&B.table, "thermo")->peer.ticket;	/* public: in every CHALLENGE */
		to_base(out, ic_device_hello(&evil, body, (size_t)n, out, sizeof(out)));
		CHECK_EQ(stub_n_sent, sent);
		CHECK_EQ(B.m.auth_failed, 1);
	}
	teardown();
}

static void test_reading_published(void)
{
	struct ic_device dv;
	uint8_t out[IC_MAX_DATAGRAM];
	int n;

	setup();
	hello(&dv, "thermo", thermo_psk, &thermo_hello);
	reading(&dv, 21.5);
	CHECK(device_table_find(&B.table, "thermo")->online);
	CHECK(strcmp(last("thermo/availability"), "online") == 0);
	CHECK(stub_last(topic("thermo/availability"))->retain);
	CHECK(strstr(last("thermo"), "\"temperature\":21.5") != NULL);
	CHECK(strstr(last("thermo"), "\"last_seen\":\"20") != NULL);
	CHECK(stub_last(topic("thermo"))->retain);
	CHECK_EQ(B.m.sessions, 1);
	CHECK_EQ(B.m.readings, 1);
	/* the device list goes out at the tick, once */
	CHECK_EQ(stub_count(topic("bridge/devices")), 0);
	bridge_tick(&B, stub_now);
	CHECK_EQ(stub_count(topic("bridge/devices")), 1);
	CHECK(strstr(last("bridge/devices"), "\"id\":\"thermo\",\"kind\":\"read\"") != NULL);
	/* a replayed reading changes nothing */
	n = ic_device_seal(&dv, IC_READING, (const uint8_t[]){ 0 }, 0, out, sizeof(out));
	to_base(out, n);
	to_base(out, n);
	CHECK_EQ(B.m.replayed, 1);
	/* a reading for a sensor it never announced: refused whole */
	{
		struct ic_reading r = { .n = 2, .values = { { 0, 30 }, { 5, 1 } } };
		uint8_t body[IC_BODY_MAX];
		int before = stub_count(topic("thermo"));

		device_send(&dv, IC_READING, body, (size_t)ic_reading_encode(body, sizeof(body), &r));
		CHECK_EQ(stub_count(topic("thermo")), before);
		CHECK(strstr(last("thermo"), "21.5") != NULL);
	}
	teardown();
}

static void set(const char *id, const char *json)
{
	char t[64];

	snprintf(t, sizeof(t), "%s/set", id);
	bridge_mqtt_message(&B, topic(t), json, strlen(json), false);
}

static void test_set_ack_ok(void)
{
	struct ic_device dv;
	struct ic_command c;
	uint8_t body[IC_BODY_MAX];
	size_t len;
	int n, state_at;

	setup();
	hello(&dv, "lamp", lamp_psk, &lamp_hello);
	device_send(&dv, IC_KEEPALIVE, NULL, 0);
	CHECK_EQ(device_receive(&dv, body, &len), IC_KEEPALIVE);	/* answered */
	set("lamp", "{\"id\":\"a1\",\"power\":\"ON\",\"brightness\":40}");
	CHECK_EQ(device_receive(&dv, body, &len), IC_COMMAND);
	CHECK_EQ(ic_command_decode(&c, body, len), IC_OK);
	CHECK_EQ(c.set.n, 2);
	CHECK_EQ(stub_count(topic("lamp/result")), 0);	/* not before the device says so */
	{
		struct ic_ack a = { .id = c.id, .status = IC_ACK_OK, .state = c.set };
		n = ic_ack_encode(body, sizeof(body), &a);
		device_send(&dv, IC_ACK, body, (size_t)n);
		state_at = stub_n_pubs;
		device_send(&dv, IC_ACK, body, (size_t)n);	/* a duplicate: stale */
	}
	CHECK(strcmp(last("lamp/result"), "{\"id\":\"a1\",\"status\":\"ok\"}") == 0);
	CHECK(!stub_last(topic("lamp/result"))->retain);
	CHECK(strstr(last("lamp"), "\"power\":\"ON\",\"brightness\":40") != NULL);
	/* the state went out before the result */
	for (int i = 0; i < state_at; i++)
		if (!strcmp(stub_pubs[i].topic, topic("lamp/result")))
			CHECK(i > 0 && !strcmp(stub_pubs[i - 1].topic, topic("lamp")));
	CHECK_EQ(stub_count(topic("lamp/result")), 1);
	CHECK_EQ(B.m.stale, 1);
	CHECK_EQ(B.m.results[RESULT_OK], 1);
	/* invalid sets are answered at once, with their id, and nothing is sent */
	n = stub_n_sent;
	set("lamp", "{\"id\":\"b2\",\"brightness\":400}");
	CHECK(strstr(last("lamp/result"), "\"id\":\"b2\",\"status\":\"invalid\"") != NULL);
	set("nosuch", "{\"id\":\"c3\",\"power\":\"ON\"}");
	CHECK(strstr(last("nosuch/result"), "\"status\":\"invalid\",\"error\":\"unknown device\"") != NULL);
	set("thermo", "{\"id\":\"d4\",\"power\":\"ON\"}");
	CHECK(strstr(last("thermo/result"), "\"status\":\"offline\"") != NULL);
	CHECK_EQ(stub_n_sent, n);
	CHECK_EQ(B.m.sets, 4);
	teardown();
}

static void test_set_timeout(void)
{
	struct ic_device dv;
	uint8_t body[IC_BODY_MAX];
	size_t len;
	int sent;

	setup();
	hello(&dv, "lamp", lamp_psk, &lamp_hello);
	device_send(&dv, IC_KEEPALIVE, NULL, 0);
	sent = stub_n_sent;
	set("lamp", "{\"id\":\"t1\",\"power\":\"ON\"}");
	CHECK_EQ(stub_n_sent, sent + 1);
	CHECK_EQ(bridge_next_timer(&B, stub_now), (uint64_t)B.cfg.command_retry_ms);
	/* retransmitted at 100, then every 200 ms (the cap), the same command */
	stub_now += 100;
	bridge_timers(&B, stub_now);
	CHECK_EQ(stub_n_sent, sent + 2);
	CHECK_EQ(device_receive(&dv, body, &len), IC_COMMAND);
	CHECK_EQ(bridge_next_timer(&B, stub_now), 200);
	stub_now += 199;
	bridge_timers(&B, stub_now);
	CHECK_EQ(stub_n_sent, sent + 2);
	stub_now += 1;
	bridge_timers(&B, stub_now);
	CHECK_EQ(stub_n_sent, sent + 3);
	CHECK_EQ(bridge_next_timer(&B, stub_now), 200);	/* capped at command_retry_max_ms */
	CHECK_EQ(B.m.retransmits, 2);
	CHECK_EQ(stub_count(topic("lamp/result")), 0);
	stub_now += (uint64_t)B.cfg.command_timeout_ms;
	bridge_timers(&B, stub_now);
	CHECK(strstr(last("lamp/result"), "\"id\":\"t1\",\"status\":\"timeout\",\"error\":\"no acknowledgement within 2000 ms\"") != NULL);
	CHECK_EQ(bridge_next_timer(&B, stub_now), UINT64_MAX);
	CHECK_EQ(B.m.results[RESULT_TIMEOUT], 1);
	teardown();
}

static void test_bye_offline(void)
{
	struct ic_device dv;

	setup();
	hello(&dv, "lamp", lamp_psk, &lamp_hello);
	device_send(&dv, IC_KEEPALIVE, NULL, 0);
	set("lamp", "{\"id\":\"q1\",\"power\":\"ON\"}");		/* in flight */
	set("lamp", "{\"id\":\"q2\",\"power\":\"OFF\"}");	/* waiting behind it */
	device_send(&dv, IC_BYE, NULL, 0);
	CHECK(strcmp(last("lamp/availability"), "offline") == 0);
	CHECK_EQ(stub_count(topic("lamp/result")), 2);
	CHECK(strstr(stub_pubs[stub_n_pubs - 2].payload, "\"id\":\"q1\",\"status\":\"offline\"") != NULL);
	CHECK(strstr(stub_pubs[stub_n_pubs - 1].payload, "\"id\":\"q2\",\"status\":\"offline\"") != NULL);
	CHECK(!device_table_find(&B.table, "lamp")->peer.ready);
	CHECK_EQ(bridge_next_timer(&B, stub_now), UINT64_MAX);
	/* nothing more is accepted on the closed session */
	device_send(&dv, IC_KEEPALIVE, NULL, 0);
	CHECK(!device_table_find(&B.table, "lamp")->online);
	/* a device that goes silent goes offline after offline_after keepalives */
	stub_now += 1000;	/* it restarts a second later */
	hello(&dv, "lamp", lamp_psk, &lamp_hello);
	device_send(&dv, IC_KEEPALIVE, NULL, 0);
	CHECK(strcmp(last("lamp/availability"), "online") == 0);
	stub_now += 3 * 15 * 1000;
	bridge_tick(&B, stub_now);
	CHECK(device_table_find(&B.table, "lamp")->online);
	stub_now += 1;
	bridge_tick(&B, stub_now);
	CHECK(strcmp(last("lamp/availability"), "offline") == 0);
	teardown();
}

static void test_outage_replay(void)
{
	struct ic_device dv;
	int first;

	setup();
	hello(&dv, "thermo", thermo_psk, &thermo_hello);
	reading(&dv, 1);
	stub_connected = false;		/* the broker goes away */
	for (int i = 2; i <= 6; i++)
		reading(&dv, i);
	CHECK_EQ(B.outage.len, 3);	/* the ring holds 3: the two oldest went */
	CHECK_EQ(B.outage.dropped, 2);
	stub_connected = true;
	first = stub_n_pubs;
	bridge_mqtt_up(&B);
	CHECK(!strcmp(last("bridge/state"), "online"));
	/* 4, 5, 6 in order, then the current state once more */
	{
		const char *want[] = { ":4,", ":5,", ":6," };
		int k = 0;
		for (int i = first; i < stub_n_pubs && k < 3; i++)
			if (!strcmp(stub_pubs[i].topic, topic("thermo")))
				CHECK(strstr(stub_pubs[i].payload, want[k++]) != NULL);
		CHECK_EQ(k, 3);
	}
	CHECK_EQ(B.outage.len, 0);
	CHECK_EQ(B.outage.delivered, 3);
	CHECK(strstr(last("bridge/metrics"), "\"outage_delivered\":3") != NULL);
	CHECK(strstr(last("bridge/metrics"), "\"outage_dropped\":2") != NULL);
	teardown();
}

static void test_retained_set_ignored(void)
{
	struct ic_device dv;
	const char *json = "{\"id\":\"r1\",\"power\":\"ON\"}";
	int sent;

	setup();
	hello(&dv, "lamp", lamp_psk, &lamp_hello);
	device_send(&dv, IC_KEEPALIVE, NULL, 0);
	sent = stub_n_sent;
	bridge_mqtt_message(&B, topic("lamp/set"), json, strlen(json), true);
	CHECK_EQ(stub_n_sent, sent);			/* not carried out */
	CHECK_EQ(stub_count(topic("lamp/result")), 0);
	CHECK_EQ(B.m.retained_ignored, 1);
	CHECK(stub_last(topic("lamp/set")) && stub_last(topic("lamp/set"))->len == 0 &&
	      stub_last(topic("lamp/set"))->retain);	/* cleared at the broker */
	teardown();
}

static void test_reset_after_restart(void)
{
	struct ic_device dv;
	uint8_t body[IC_BODY_MAX];
	size_t len;

	setup();
	hello(&dv, "thermo", thermo_psk, &thermo_hello);
	reading(&dv, 20);
	/* the base unit restarts: a new table knows no session */
	teardown();
	setup();
	{
		struct ic_reading r = { .n = 1, .values = { { 0, 21 } } };
		uint8_t d1[IC_MAX_DATAGRAM], d2[IC_MAX_DATAGRAM];
		int n = ic_reading_encode(body, sizeof(body), &r);
		int n1 = ic_device_seal(&dv, IC_READING, body, (size_t)n, d1, sizeof(d1));
		int n2 = ic_device_seal(&dv, IC_READING, body, (size_t)n, d2, sizeof(d2));

		to_base(d1, n1);
		CHECK_EQ(B.m.unknown_session, 1);
		CHECK_EQ(B.m.resets_sent, 1);
		CHECK_EQ(device_receive(&dv, body, &len), IC_RESET);
		CHECK_EQ(dv.state, IC_DEV_IDLE);
		stub_now += 999;
		to_base(d2, n2);	/* at most one RESET a second per device */
		CHECK_EQ(B.m.unknown_session, 2);
		CHECK_EQ(B.m.resets_sent, 1);
		stub_now += 1;
		to_base(d2, n2);
		CHECK_EQ(B.m.resets_sent, 2);
	}
	CHECK(!device_table_find(&B.table, "thermo")->online);
	teardown();
}

/* Junk from other hosts, for a device id and with no key, cannot take the
 * RESETs the real device is owed; the RESET's ticket lets its hello through
 * at once. */
static void test_reset_not_starved(void)
{
	struct ic_device dv;
	uint8_t body[IC_BODY_MAX], junk[64], d1[IC_MAX_DATAGRAM], hb[IC_BODY_MAX];
	size_t len;
	int n, hn;

	setup();
	hello(&dv, "thermo", thermo_psk, &thermo_hello);
	reading(&dv, 20);
	teardown();
	setup();	/* restarted */
	/* two junk datagrams a second for "thermo", from another host */
	memset(junk, 0, sizeof(junk));
	n = ic_seal(junk, sizeof(junk), (const uint8_t[IC_KEY_LEN]){ 0 }, IC_TO_BASE, IC_KEEPALIVE, "thermo", 123, 1,
		    NULL, 0);
	from_elsewhere(junk, n);
	stub_now += 500;
	from_elsewhere(junk, n);
	CHECK_EQ(B.m.resets_sent, 1);		/* the junk got one */
	CHECK(!sent_to_device(stub_n_sent - 1));
	n = ic_device_seal(&dv, IC_KEEPALIVE, NULL, 0, d1, sizeof(d1));
	to_base(d1, n);
	CHECK_EQ(B.m.resets_sent, 2);		/* and the device its own, in the same second */
	CHECK(sent_to_device(stub_n_sent - 1));
	CHECK_EQ(device_receive(&dv, body, &len), IC_RESET);
	/* the device's hello carries the RESET's ticket: a WELCOME at once */
	ic_device_restart(&dv, 4711);
	hn = ic_hello_encode(hb, sizeof(hb), &thermo_hello);
	to_base(d1, ic_device_hello(&dv, hb, (size_t)hn, d1, sizeof(d1)));
	CHECK_EQ(device_receive(&dv, body, &len), IC_WELCOME);
	device_send(&dv, IC_KEEPALIVE, NULL, 0);
	CHECK(device_table_find(&B.table, "thermo")->online);
	CHECK_EQ(B.m.challenges_sent, 0);
	teardown();
}

/* A hello captured and replayed, over and over, while the device makes a new
 * handshake: refused for its stale ticket, answered with the CHALLENGE only
 * (never a WELCOME), and the device's handshake goes through. */
static void test_replayed_hello_blocks_nothing(void)
{
	struct ic_device dv;
	uint8_t body[IC_BODY_MAX], old[IC_MAX_DATAGRAM], out[IC_MAX_DATAGRAM], hb[IC_BODY_MAX];
	struct device *d;
	size_t len;
	int on, hn = ic_hello_encode(hb, sizeof(hb), &thermo_hello), welcomes = 0;
	uint64_t stale;

	setup();
	d = device_table_find(&B.table, "thermo");
	hello(&dv, "thermo", thermo_psk, &thermo_hello);
	device_send(&dv, IC_KEEPALIVE, NULL, 0);
	CHECK(d->online);
	/* what an attacker captured: the hello that worked (its ticket is taken) */
	{
		struct ic_device copy;

		ic_device_init(&copy, "thermo", thermo_psk);
		ic_device_restart(&copy, 99);
		copy.ticket = 1;
		on = ic_device_hello(&copy, hb, (size_t)hn, old, sizeof(old));
	}
	/* the device lost its link and says hello again, with the ticket of its welcome */
	ic_device_restart(&dv, 5150);
	stale = B.m.stale_ticket;
	for (int i = 0; i < 10; i++) {
		from_elsewhere(old, on);
		stub_now += 25;
	}
	to_base(out, ic_device_hello(&dv, hb, (size_t)hn, out, sizeof(out)));
	CHECK_EQ(device_receive(&dv, body, &len), IC_WELCOME);
	for (int i = 0; i < 10; i++) {
		from_elsewhere(old, on);
		stub_now += 25;
	}
	CHECK(d->peer.pending && d->peer.p_sd == 5150);	/* not displaced */
	for (int i = 0; i < stub_n_sent; i++)
		if (!sent_to_device(i) && stub_sent[i].len > 2 && stub_sent[i].buf[1] == IC_WELCOME)
			welcomes++;
	CHECK_EQ(welcomes, 0);
	CHECK_EQ(B.m.stale_ticket - stale, 20);
	CHECK_EQ(B.m.challenges_sent, 1 + 20);	/* the device's first hello's, and one per replay */
	device_send(&dv, IC_KEEPALIVE, NULL, 0);
	CHECK(d->online && d->peer.sd == 5150);
	teardown();
}

/* A command that sets a control with a failsafe is given up when the device
 * has gone back to its safe value by itself: never retransmitted past it. */
static void test_failsafe_deadline(void)
{
	static const struct ic_hello car_hello = {
		.kind = IC_KIND_UPDATABLE, .keepalive = 15, .n_controls = 2,
		.controls = { { .name = "throttle", .type = IC_RANGE, .min = -100, .max = 100, .step = 1,
				.failsafe = 0, .failsafe_ms = 300 },
			      { .name = "headlights", .type = IC_SWITCH } },
	};
	struct ic_device dv;
	int sent;

	setup();
	hello(&dv, "car", car_psk, &car_hello);
	device_send(&dv, IC_KEEPALIVE, NULL, 0);
	bridge_tick(&B, stub_now);
	CHECK(strstr(last("bridge/devices"), "\"name\":\"throttle\",\"type\":\"range\",\"min\":-100,\"max\":100,"
					     "\"step\":1,\"failsafe\":{\"value\":0,\"after_ms\":300}") != NULL);
	sent = stub_n_sent;
	set("car", "{\"id\":\"f1\",\"throttle\":100}");
	stub_now += 299;
	bridge_timers(&B, stub_now);
	CHECK(stub_n_sent > sent + 1);		/* retransmitted meanwhile */
	CHECK_EQ(stub_count(topic("car/result")), 0);
	stub_now += 1;
	bridge_timers(&B, stub_now);
	sent = stub_n_sent;
	stub_now += CMD_GUARD_MS - 1;		/* past its end: never sent again, a late ack still heard */
	bridge_timers(&B, stub_now);
	CHECK_EQ(stub_n_sent, sent);
	CHECK_EQ(stub_count(topic("car/result")), 0);
	stub_now += 1;
	bridge_timers(&B, stub_now);
	CHECK(strstr(last("car/result"), "\"id\":\"f1\",\"status\":\"timeout\",\"error\":\"no acknowledgement within 300 ms\"") != NULL);
	/* then the safe value, right behind it, answering nobody */
	{
		struct ic_command c;
		uint8_t body[IC_BODY_MAX];
		size_t len;

		CHECK_EQ(device_receive(&dv, body, &len), IC_COMMAND);
		CHECK_EQ(ic_command_decode(&c, body, len), IC_OK);
		CHECK(c.set.n == 1 && c.set.values[0].index == 0 && c.set.values[0].value == 0);
	}
	stub_now += 300 + CMD_GUARD_MS;
	bridge_timers(&B, stub_now);		/* it expires too, unanswered, and is not undone again */
	CHECK_EQ(stub_count(topic("car/result")), 1);
	sent = stub_n_sent;
	stub_now += 1000;
	bridge_timers(&B, stub_now);
	CHECK_EQ(stub_n_sent, sent);		/* nothing more is sent */
	/* a set of the headlights alone keeps the whole command_timeout_ms */
	set("car", "{\"id\":\"f2\",\"headlights\":\"ON\"}");
	stub_now += 1999 + CMD_GUARD_MS;
	bridge_timers(&B, stub_now);
	CHECK_EQ(stub_count(topic("car/result")), 1);
	stub_now += 1;
	bridge_timers(&B, stub_now);
	CHECK(strstr(last("car/result"), "\"id\":\"f2\",\"status\":\"timeout\",\"error\":\"no acknowledgement within 2000 ms\"") != NULL);
	teardown();
}

/* Every set has a lifetime: one older than that is answered, not carried
 * out, and the device is told when each command ends. */
static void test_set_lifetimes(void)
{
	struct ic_device dv;
	struct ic_command c;
	uint8_t body[IC_BODY_MAX];
	char json[160];
	size_t len;
	int sent, n;

	setup();
	hello(&dv, "lamp", lamp_psk, &lamp_hello);
	device_send(&dv, IC_KEEPALIVE, NULL, 0);
	/* the command says when it ends, in the base unit's clock: its lifetime
	 * (here 400 ms) where that is shorter than command_timeout_ms */
	set("lamp", "{\"id\":\"l1\",\"power\":\"ON\",\"lifetime_ms\":400}");
	CHECK_EQ(device_receive(&dv, body, &len), IC_COMMAND);
	CHECK_EQ(ic_command_decode(&c, body, len), IC_OK);
	CHECK_EQ(c.expires_ms, wall_ms() + 400);
	/* a set waiting behind it, whose lifetime ends first: answered, never sent */
	set("lamp", "{\"id\":\"l2\",\"power\":\"OFF\",\"lifetime_ms\":100}");
	sent = stub_n_sent;
	stub_now += 400 + CMD_GUARD_MS;
	bridge_timers(&B, stub_now);
	CHECK(strstr(stub_pubs[stub_n_pubs - 2].payload, "\"id\":\"l1\",\"status\":\"timeout\",\"error\":\"no acknowledgement within 400 ms\"") != NULL);
	CHECK(strstr(last("lamp/result"), "\"id\":\"l2\",\"status\":\"timeout\",\"error\":\"its lifetime ended while it waited") != NULL);
	CHECK_EQ(stub_n_sent, sent);
	/* an "expires" in the sender's clock that has passed: answered at once */
	snprintf(json, sizeof(json), "{\"id\":\"l3\",\"power\":\"ON\",\"expires\":%llu}", (unsigned long long)wall_ms() - 5000);
	set("lamp", json);
	CHECK(strstr(last("lamp/result"), "\"id\":\"l3\",\"status\":\"timeout\",\"error\":\"it expired 5000 ms before it reached the base unit") != NULL);
	CHECK_EQ(stub_n_sent, sent);
	/* one the clocks cannot agree on (a day off) counts from its arrival */
	snprintf(json, sizeof(json), "{\"id\":\"l4\",\"power\":\"ON\",\"expires\":%llu}", (unsigned long long)wall_ms() - 86400000);
	set("lamp", json);
	CHECK_EQ(device_receive(&dv, body, &len), IC_COMMAND);
	CHECK_EQ(ic_command_decode(&c, body, len), IC_OK);
	CHECK_EQ(c.expires_ms, wall_ms() + (uint64_t)B.cfg.command_timeout_ms);
	/* the device says it came too late: timeout, not carried out */
	{
		struct ic_ack a = { .id = c.id, .status = IC_ACK_EXPIRED, .state = { .n = 1, .values = { { 0, 0 } } } };

		snprintf(a.error, sizeof(a.error), "arrived 12 ms after its end");
		n = ic_ack_encode(body, sizeof(body), &a);
		device_send(&dv, IC_ACK, body, (size_t)n);
	}
	CHECK(strstr(last("lamp/result"), "\"id\":\"l4\",\"status\":\"timeout\",\"error\":\"it reached the device after its lifetime; not carried out\"") != NULL);
	/* a lifetime longer than set_lifetime_max_ms, or keys given twice: invalid */
	set("lamp", "{\"id\":\"l5\",\"power\":\"ON\",\"lifetime_ms\":3600000}");
	CHECK(strstr(last("lamp/result"), "\"id\":\"l5\",\"status\":\"invalid\",\"error\":\"'lifetime_ms' may be at most 60000") != NULL);
	set("lamp", "{\"id\":\"l6\",\"power\":\"ON\",\"id\":\"l7\"}");
	CHECK(strstr(last("lamp/result"), "\"id\":\"l6\",\"status\":\"invalid\",\"error\":\"'id' is given twice\"") != NULL);
	set("lamp", "{\"id\":\"l8\",\"power\":\"ON\",\"lifetime_ms\":2.5}");
	CHECK(strstr(last("lamp/result"), "\"id\":\"l8\",\"status\":\"invalid\",\"error\":\"'lifetime_ms' must be a whole number") != NULL);
	CHECK_EQ(stub_n_sent, sent + 1);	/* only l4 was sent */
	teardown();
}

/* A flood of gets costs the device one GET a second; a state file that could
 * not be written is written again later. */
static void test_gets_and_state_retry(void)
{
	struct ic_device dv;
	char topic_get[64], dir[] = "/tmp/intercom-bridge-XXXXXX", path[128];
	int sent, gets = 0;

	setup();
	hello(&dv, "lamp", lamp_psk, &lamp_hello);
	device_send(&dv, IC_KEEPALIVE, NULL, 0);
	snprintf(topic_get, sizeof(topic_get), "%s", topic("lamp/get"));
	sent = stub_n_sent;
	for (int i = 0; i < 100; i++)
		bridge_mqtt_message(&B, topic_get, "", 0, false);
	for (int i = sent; i < stub_n_sent; i++)
		gets += stub_sent[i].len > 2 && stub_sent[i].buf[1] == IC_GET;
	CHECK_EQ(gets, 1);
	CHECK_EQ(B.m.gets_coalesced, 99);
	stub_now += 1000;
	bridge_mqtt_message(&B, topic_get, "", 0, false);
	CHECK_EQ(stub_n_sent, sent + 2);
	/* the state file's directory is missing (a full disk fails the same way) */
	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/sub/base.state", dir);
	snprintf(B.cfg.state_file, sizeof(B.cfg.state_file), "%s", path);
	B.state_dirty = true;
	bridge_tick(&B, stub_now);
	CHECK(B.state_dirty);			/* not written, still due */
	snprintf(path, sizeof(path), "%s/sub", dir);
	CHECK_EQ(mkdir(path, 0700), 0);
	stub_now += 4999;
	bridge_tick(&B, stub_now);
	CHECK(B.state_dirty);			/* not before its retry */
	stub_now += 1;
	bridge_tick(&B, stub_now);
	CHECK(!B.state_dirty);
	snprintf(path, sizeof(path), "%s/sub/base.state", dir);
	CHECK_EQ(access(path, R_OK), 0);
	unlink(path);
	snprintf(path, sizeof(path), "%s/sub", dir);
	rmdir(path);
	rmdir(dir);
	teardown();
}

static const struct test_case tests[] = {
	{ "bridge: a failsafe control's command ends when its failsafe would", test_failsafe_deadline },
	{ "bridge: hello -> welcome, nothing adopted yet", test_hello_welcome },
	{ "bridge: a reading -> its state and availability, retained", test_reading_published },
	{ "bridge: set -> command -> ack -> state, then ok", test_set_ack_ok },
	{ "bridge: retransmits, then a timeout", test_set_timeout },
	{ "bridge: every set has a lifetime; none is carried out past it", test_set_lifetimes },
	{ "bridge: a flood of gets, a state file that cannot be written", test_gets_and_state_retry },
	{ "bridge: bye -> offline, pending sets answered", test_bye_offline },
	{ "bridge: an outage and its replay, in order", test_outage_replay },
	{ "bridge: a retained set is not carried out", test_retained_set_ignored },
	{ "bridge: a session it lost -> one RESET a second", test_reset_after_restart },
	{ "bridge: junk from other hosts does not starve a device's RESET", test_reset_not_starved },
	{ "bridge: a replayed hello blocks no handshake", test_replayed_hello_blocks_nothing },
	{ NULL, NULL },
};

int main(int argc, char **argv)
{
	static const struct test_case *const suites[] = { tests };

	log_threshold = LOG_ERR;
	return test_run(suites, 1, argc, argv);
}
