/* The dashboard's store and its parts (the event log, the device model, the
 * metrics text), the topic API's module, and the base unit's outage ring. */
#include "test.h"
#include "tests.h"
#include "events.h"
#include "model.h"
#include "outage.h"
#include "store.h"
#include "topics.h"

#include <stdlib.h>
#include <string.h>

static void test_event_log(void)
{
	static struct event_log l;
	char json[32], *text;
	size_t len;
	bool behind;

	CHECK(event_log_since(&l, 0, &len, &behind) == NULL && !behind);	/* nothing yet */
	CHECK(event_log_push(&l, "state", "{\"a\":1}"));
	CHECK(event_log_push(&l, "result", "{\"b\":2}"));
	CHECK_EQ(l.seq, 2);
	text = event_log_since(&l, 0, &len, &behind);
	CHECK(text && !strcmp(text, "event: state\ndata: {\"a\":1}\n\nevent: result\ndata: {\"b\":2}\n\n"));
	CHECK_EQ(len, text ? strlen(text) : 0);
	free(text);
	text = event_log_since(&l, 1, &len, &behind);
	CHECK(text && !strcmp(text, "event: result\ndata: {\"b\":2}\n\n"));
	free(text);
	CHECK(event_log_since(&l, 2, &len, &behind) == NULL && !behind);	/* up to date */
	/* round the ring: a reader at 1 has lost events, one at the oldest kept has not */
	for (int i = 0; i < EVENTS_MAX; i++) {
		snprintf(json, sizeof(json), "%d", i);
		event_log_push(&l, "n", json);
	}
	CHECK(event_log_since(&l, 1, &len, &behind) == NULL && behind);
	text = event_log_since(&l, l.seq - (EVENTS_MAX - 1), &len, &behind);
	CHECK(text && !behind && strncmp(text, "event: n\ndata: 1\n\n", 18) == 0);
	CHECK(text && strstr(text, "data: 1023\n\n") && text[len - 1] == '\n');
	free(text);
	event_log_free(&l);
}

static void test_model(void)
{
	struct dash_config c = { .history = 3 };
	struct model m = { .c = &c, .reachable = true };
	cJSON *list = cJSON_Parse("[{\"id\":\"thermo\",\"kind\":\"read\",\"online\":true,"
				  "\"sensors\":[{\"name\":\"t\",\"unit\":\"C\"}],\"controls\":[]},{\"id\":\"BAD\"}]");
	struct dev *d;
	const char *text;
	size_t len;
	int listed, online;

	model_set_list(&m, list);
	cJSON_Delete(list);
	CHECK_EQ(m.n, 1);			/* a bad id is not a device */
	d = model_find(&m, "thermo");
	CHECK(d && d->listed && d->online);
	CHECK(model_get(&m, "bridge") == NULL);
	text = model_devices_text(&m, &len);
	CHECK(text && strstr(text, "\"id\":\"thermo\",\"name\":\"thermo\",\"kind\":\"read\",\"online\":true"));
	CHECK(model_devices_text(&m, &len) == text);	/* cached */
	for (int i = 1; i <= 5; i++) {
		char st[64];
		snprintf(st, sizeof(st), "{\"t\":%d,\"other\":7,\"last_seen\":\"x\"}", i);
		model_set_state(&m, d, cJSON_Parse(st));
	}
	CHECK_EQ(d->n_hist, 1);			/* only announced sensors have a history */
	CHECK_EQ(d->hist[0].n, 3);		/* bounded */
	{
		cJSON *o = model_dev_json(&m, d, true);
		char *s = cJSON_PrintUnformatted(o);
		CHECK(s && strstr(s, "\"state\":{\"t\":5,"));
		CHECK(s && strstr(s, "\"history\":{\"t\":[["));
		CHECK(s && strstr(s, ",3],[") && strstr(s, ",5]]}") && !strstr(s, ",2],"));
		free(s);
		cJSON_Delete(o);
	}
	model_count(&m, &listed, &online);
	CHECK_EQ(listed, 1);
	CHECK_EQ(online, 1);
	/* with the base unit out of reach, its retained availability means nothing */
	m.reachable = false;
	model_changed(&m);
	text = model_devices_text(&m, &len);
	CHECK(text && strstr(text, "\"online\":false,\"availability\":\"unknown\""));
	model_count(&m, &listed, &online);
	CHECK_EQ(online, 0);
	model_free(&m);
}

static void test_store_messages(void)
{
	static struct dash_config c = { .history = 8 };
	struct store *s;
	char *text;
	size_t len;
	uint64_t seq;
	bool stopped;

	snprintf(c.prefix, sizeof(c.prefix), "home/cellar");
	s = store_new(&c);
	CHECK(!store_has_device_list(s));
	free(store_events_start(s, &seq, &len));
	store_set_connected(s, true);
	store_on_message(s, "home/cellar/bridge/state", "online", 6);
	store_on_message(s, "home/cellar/bridge/devices", "[{\"id\":\"lamp\",\"kind\":\"updatable\"}]", 34);
	store_on_message(s, "home/cellar/lamp/availability", "online", 6);
	store_on_message(s, "home/cellar/lamp", "{\"power\":\"ON\"}", 14);
	store_on_message(s, "home/cellar/lamp/set", "{\"power\":\"OFF\"}", 15);	/* not state */
	store_on_message(s, "other/lamp", "{\"power\":\"OFF\"}", 15);		/* not ours */
	store_on_message(s, "home/cellar/lamp", "not json", 8);
	CHECK(store_has_device_list(s) && store_device_known(s, "lamp") && !store_device_known(s, "x"));
	text = store_device_json(s, "lamp", &len);
	CHECK(text && strstr(text, "\"online\":true") && strstr(text, "\"state\":{\"power\":\"ON\"}"));
	free(text);
	text = store_events_wait(s, &seq, 0, &len, &stopped);
	CHECK(text && strstr(text, "event: devices\n") && strstr(text, "event: availability\n") &&
	      strstr(text, "event: state\ndata: {\"id\":\"lamp\",\"state\":{\"power\":\"ON\"}}"));
	CHECK(text && !strstr(text, "OFF"));
	free(text);
	CHECK(store_events_wait(s, &seq, 10, &len, &stopped) == NULL && !stopped);	/* nothing new */
	/* motion: no detection said yet is null; ON and OFF and events are taken, anything else not */
	text = store_device_json(s, "lamp", &len);
	CHECK(text && strstr(text, "\"motion\":null") && !strstr(text, "last_event"));
	free(text);
	store_on_message(s, "home/cellar/lamp/motion", "ON", 2);
	store_on_message(s, "home/cellar/lamp/event", "{\"event\":\"start\",\"id\":1}", 24);
	store_on_message(s, "home/cellar/lamp/event", "[1]", 3);
	store_on_message(s, "home/cellar/lamp/motion", "MAYBE", 5);
	text = store_device_json(s, "lamp", &len);
	CHECK(text && strstr(text, "\"motion\":true") && strstr(text, "\"last_event\":{\"event\":\"start\",\"id\":1}"));
	free(text);
	text = store_events_wait(s, &seq, 0, &len, &stopped);
	CHECK(text && strstr(text, "event: motion\ndata: {\"id\":\"lamp\",\"motion\":true,") &&
	      strstr(text, "event: motion_event\n") && !strstr(text, "[1]"));
	free(text);
	store_count(s, DASH_SETS, 2);
	store_on_message(s, "home/cellar/bridge/metrics", "{\"datagrams\":5,\"devices\":1,\"results\":{\"ok\":3}}", 47);
	text = store_metrics_text(s, &len);
	CHECK(text && strstr(text, "intercom_dashboard_sets_total 2\n"));
	CHECK(text && strstr(text, "intercom_datagrams_total 5\n") && strstr(text, "intercom_devices 1\n"));
	CHECK(text && strstr(text, "intercom_commands_total{result=\"ok\"} 3\n"));
	CHECK(text && strstr(text, "intercom_dashboard_devices{state=\"online\"} 1\n"));
	free(text);
	/* results for ids nobody listed (sets to unknown devices) reach their
	 * waiter but add no device entry: memory stays bounded */
	{
		struct waiter *w = store_result_expect(s, "ghost-7", "dash-7");
		char topic[64], *r;

		for (int i = 0; i < 5000; i++) {
			snprintf(topic, sizeof(topic), "home/cellar/ghost-%d/result", i);
			store_on_message(s, topic, "{\"id\":\"dash-7\",\"status\":\"invalid\"}", 35);
		}
		r = store_result_wait(s, w, 0);
		CHECK(r && strstr(r, "\"status\":\"invalid\""));
		free(r);
		text = store_metrics_text(s, &len);
		CHECK(text && strstr(text, "intercom_dashboard_devices_tracked 1\n"));
		free(text);
	}
	store_on_message(s, "home/cellar/bridge/state", "offline", 7);	/* the base unit's last will */
	text = store_device_json(s, "lamp", &len);
	CHECK(text && strstr(text, "\"online\":false,\"availability\":\"unknown\""));
	free(text);
	store_stop(s);
	CHECK(store_events_wait(s, &seq, 1000, &len, &stopped) == NULL && stopped);
	store_free(s);
}

static void test_topics(void)
{
	char t[64], id[DEVICE_ID_MAX + 1];
	const char *suffix;

	CHECK_EQ(topic_build(t, sizeof(t), "home/cellar", "lamp", T_SET), 20);
	CHECK(!strcmp(t, "home/cellar/lamp/set"));
	CHECK(topic_build(t, sizeof(t), "P", "lamp", T_STATE) == 6 && !strcmp(t, "P/lamp"));
	CHECK_EQ(topic_build(t, 8, "home/cellar", "lamp", T_SET), -1);
	CHECK(topic_split("home/cellar/lamp/set", "home/cellar", id, &suffix) && !strcmp(id, "lamp") &&
	      !strcmp(suffix, "set"));
	CHECK(topic_split("home/cellar/lamp", "home/cellar", id, &suffix) && !*suffix);
	CHECK(topic_split("home/cellar/bridge/devices", "home/cellar", id, &suffix) && !strcmp(id, "bridge"));
	CHECK(!topic_split("home/cellarx/lamp", "home/cellar", id, &suffix));
	CHECK(!topic_split("home/cellar/Lamp/set", "home/cellar", id, &suffix));
	CHECK(!topic_split("home/cellar//set", "home/cellar", id, &suffix));
	CHECK(!topic_split("home/cellar/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "home/cellar", id, &suffix));
	CHECK(!device_id_valid("bridge", 6) && device_id_valid("rc-car_2", 8));
	for (int r = 0; r < SET_RESULTS; r++)
		CHECK_EQ(set_result_parse(set_result_name(r)), r);
	CHECK_EQ(set_result_parse("OK"), -1);
	CHECK_EQ(set_result_parse(NULL), -1);
}

static void test_outage_ring(void)
{
	struct outage o;
	const char *topic, *payload;

	outage_init(&o, 2);
	outage_keep(&o, "a", strdup("1"));
	outage_keep(&o, "b", strdup("2"));
	outage_keep(&o, "c", strdup("3"));	/* full: "a" goes */
	CHECK_EQ(o.len, 2);
	CHECK_EQ(o.dropped, 1);
	CHECK(outage_peek(&o, &topic, &payload) && !strcmp(topic, "b") && !strcmp(payload, "2"));
	outage_pop(&o, true);
	CHECK(outage_peek(&o, &topic, &payload) && !strcmp(topic, "c"));
	outage_pop(&o, true);
	CHECK(!outage_peek(&o, &topic, &payload));
	CHECK_EQ(o.delivered, 2);
	outage_keep(&o, "d", strdup("4"));
	outage_free(&o);			/* frees what is left */
	outage_init(&o, 0);
	outage_keep(&o, "e", strdup("5"));	/* keeps nothing, counts it */
	CHECK_EQ(o.dropped, 1);
	CHECK_EQ(o.len, 0);
	outage_free(&o);
}

const struct test_case store_tests[] = {
	{ "store: the event log", test_event_log },
	{ "store: the device model and its history", test_model },
	{ "store: messages in, documents, events and metrics out", test_store_messages },
	{ "topics: build, split, ids and results", test_topics },
	{ "base unit: the outage ring", test_outage_ring },
	{ NULL, NULL },
};
