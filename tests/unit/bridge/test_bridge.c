/*
 * The base unit's layers (inbound, sets, presence, publish, cameras, bridge)
 * tested through their seams: datagrams go in through inbound_datagram() as
 * real devices (the intercom library's own device side) seal them; what the
 * base unit publishes and sends is kept by stubs.c; the clock moves only when
 * a test moves it. This file: sessions, readings, availability, the outage
 * ring; test_sets.c: sets and commands.
 */
#include "../test.h"
#include "harness.h"
#include "stubs.h"

#include "bridge.h"
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

static const struct test_case session_tests[] = {
	{ "bridge: hello -> welcome, nothing adopted yet", test_hello_welcome },
	{ "bridge: a reading -> its state and availability, retained", test_reading_published },
	{ "bridge: bye -> offline, pending sets answered", test_bye_offline },
	{ "bridge: an outage and its replay, in order", test_outage_replay },
	{ "bridge: a session it lost -> one RESET a second", test_reset_after_restart },
	{ "bridge: junk from other hosts does not starve a device's RESET", test_reset_not_starved },
	{ "bridge: a replayed hello blocks no handshake", test_replayed_hello_blocks_nothing },
	{ NULL, NULL },
};

extern const struct test_case set_tests[];

int main(int argc, char **argv)
{
	static const struct test_case *const suites[] = { session_tests, set_tests };

	log_threshold = LOG_ERR;
	return test_run(suites, 2, argc, argv);
}
