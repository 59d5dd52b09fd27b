/*
 * The bridge tests (test_bridge.c) of sets: parsed, queued, sent,
 * retransmitted, answered; lifetimes, failsafe deadlines, retained sets,
 * coalesced gets, and the state file's retry.
 */
#include "../test.h"
#include "harness.h"
#include "stubs.h"

#include "bridge.h"
#include "inbound.h"
#include "reload.h"
#include "log.h"
#include "ic_session.h"
#include "util.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdio.h>
#include <string.h>

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

/* SIGHUP in the middle of things (base-unit/reload.c): a command in flight
 * to a device that stays is answered after the reload (the daemon's list of
 * devices with a command in flight points into the new table), a device
 * removed has its sets answered and goes offline, a new one is there. */
static void test_reload_keeps_commands(void)
{
	char path[] = "/tmp/intercom-reload-XXXXXX", hex[3][65];
	struct ic_device lamp, thermo;
	struct ic_command c;
	uint8_t body[IC_BODY_MAX];
	size_t len;
	int n, fd;
	FILE *f;

	setup();
	hello(&lamp, "lamp", lamp_psk, &lamp_hello);
	device_send(&lamp, IC_KEEPALIVE, NULL, 0);	/* the proof: its session is up */
	CHECK_EQ(device_receive(&lamp, body, &len), IC_KEEPALIVE);
	hello(&thermo, "thermo", thermo_psk, &thermo_hello);
	reading(&thermo, 20.5);
	set("lamp", "{\"id\":\"r1\",\"power\":\"ON\"}");
	CHECK_EQ(device_receive(&lamp, body, &len), IC_COMMAND);
	CHECK_EQ(ic_command_decode(&c, body, len), IC_OK);
	CHECK_EQ(B.n_busy, 1);

	key_to_hex(hex[0], lamp_psk);
	key_to_hex(hex[1], car_psk);
	key_to_hex(hex[2], thermo_psk);	/* a new device's key: any will do */
	fd = mkstemp(path);
	CHECK(fd >= 0 && (f = fdopen(fd, "w")) != NULL);
	if (fd < 0 || !f)
		return;
	fprintf(f, "mqtt_cafile ca.crt\nmqtt_username base\nmqtt_password pw\noutage_buffer 3\n"
		   "device lamp %s\ndevice car %s\ndevice door %s\n", hex[0], hex[1], hex[2]);
	fclose(f);
	CHECK_EQ(base_reload(&B, path), 0);
	unlink(path);

	CHECK_EQ(B.table.n, 3);
	CHECK(device_table_find(&B.table, "thermo") == NULL);
	CHECK(device_table_find(&B.table, "door") != NULL);
	CHECK(strcmp(last("thermo/availability"), "offline") == 0);
	CHECK(strcmp(last("door/availability"), "offline") == 0);	/* known, not yet heard from */
	CHECK_EQ(B.n_busy, 1);
	CHECK(B.busy[0] == device_table_find(&B.table, "lamp"));
	{	/* the lamp's session and its command survived: its ack ends the set */
		struct ic_ack a = { .id = c.id, .status = IC_ACK_OK, .state = c.set };
		n = ic_ack_encode(body, sizeof(body), &a);
		device_send(&lamp, IC_ACK, body, (size_t)n);
	}
	CHECK(strcmp(last("lamp/result"), "{\"id\":\"r1\",\"status\":\"ok\"}") == 0);
	CHECK_EQ(B.n_busy, 0);
	CHECK_EQ(B.m.sessions, 2);	/* no new handshake */
	/* the removed device's datagrams are a stranger's now */
	n = (int)B.m.unknown_device;
	reading(&thermo, 21.0);
	CHECK_EQ((int)B.m.unknown_device, n + 1);
	teardown();
}

const struct test_case set_tests[] = {
	{ "bridge: set -> command -> ack -> state, then ok", test_set_ack_ok },
	{ "bridge: retransmits, then a timeout", test_set_timeout },
	{ "bridge: a retained set is not carried out", test_retained_set_ignored },
	{ "bridge: a failsafe control's command ends when its failsafe would", test_failsafe_deadline },
	{ "bridge: every set has a lifetime; none is carried out past it", test_set_lifetimes },
	{ "bridge: a flood of gets, a state file that cannot be written", test_gets_and_state_retry },
	{ "bridge: a reload keeps the commands in flight of the devices that stay", test_reload_keeps_commands },
	{ NULL, NULL },
};
