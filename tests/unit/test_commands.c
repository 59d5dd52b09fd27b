/* Set payloads, the command queue, and the updatable unit's controls. */
#include "test.h"
#include "tests.h"
#include "commands.h"
#include "controls.h"

#include <string.h>

static struct ic_hello lamp(void)
{
	struct ic_hello h = { .kind = IC_KIND_UPDATABLE, .keepalive = 15, .n_controls = 4 };

	snprintf(h.controls[0].name, sizeof(h.controls[0].name), "%s", "light");
	h.controls[0].type = IC_SWITCH;
	snprintf(h.controls[1].name, sizeof(h.controls[1].name), "%s", "brightness");
	h.controls[1].type = IC_RANGE;
	h.controls[1].max = 255;
	h.controls[1].step = 1;
	snprintf(h.controls[2].name, sizeof(h.controls[2].name), "%s", "mode");
	h.controls[2].type = IC_ENUM;
	h.controls[2].n_values = 2;
	snprintf(h.controls[2].values[0], sizeof(h.controls[2].values[0]), "%s", "eco");
	snprintf(h.controls[2].values[1], sizeof(h.controls[2].values[1]), "%s", "full");
	snprintf(h.controls[3].name, sizeof(h.controls[3].name), "%s", "throttle");
	h.controls[3].type = IC_RANGE;
	h.controls[3].min = -100;
	h.controls[3].max = 100;
	h.controls[3].step = 1;
	return h;
}

static bool parse(const char *json, struct cmd *c, char *err)
{
	struct ic_hello h = lamp();

	return set_parse(&h, json, strlen(json), c, err, 256);
}

static void test_set_parse(void)
{
	struct cmd c;
	char err[256];

	CHECK(parse("{\"light\":\"ON\",\"id\":\"a\"}", &c, err));
	CHECK_EQ(c.set.n, 1);
	CHECK(c.set.values[0].index == 0 && c.set.values[0].value == 1);
	CHECK(c.ids[0].present && !strcmp(c.ids[0].text, "a"));
	CHECK(!c.range_only);
	CHECK(parse("{\"brightness\":128,\"mode\":\"full\"}", &c, err));
	CHECK(c.set.n == 2 && c.set.values[1].index == 2 && c.set.values[1].value == 1);
	CHECK(!c.ids[0].present);
	CHECK(parse("{\"throttle\":-40}", &c, err) && c.range_only);
	CHECK(parse("{\"light\":false}", &c, err) && c.set.values[0].value == 0);

	CHECK(!parse("[1]", &c, err) && strstr(err, "expected a JSON object"));
	CHECK(!parse("", &c, err));
	CHECK(!parse("{\"light\":\"ON\"", &c, err));
	CHECK(!parse("{\"brightness\":256,\"id\":\"x\"}", &c, err) && strstr(err, "from 0 to 255") && strstr(err, "got 256"));
	CHECK(c.ids[0].present && !strcmp(c.ids[0].text, "x"));	/* the id survives an error */
	CHECK(!parse("{\"brightness\":1.5}", &c, err));
	CHECK(!parse("{\"brightness\":\"1\"}", &c, err));
	CHECK(!parse("{\"light\":\"TOGGLE\"}", &c, err) && strstr(err, "ON or OFF"));
	CHECK(!parse("{\"mode\":\"turbo\"}", &c, err) && strstr(err, "one of eco, full"));
	CHECK(!parse("{\"fan\":1}", &c, err) && strstr(err, "unknown key 'fan'"));
	CHECK(!parse("{\"Fan <b>\":1}", &c, err) && !strstr(err, "Fan"));	/* not echoed */
	CHECK(!parse("{\"light\":\"ON\",\"light\":\"OFF\"}", &c, err) && strstr(err, "twice"));
	CHECK(!parse("{\"id\":\"only\"}", &c, err) && strstr(err, "nothing to set"));
	CHECK(!parse("{\"id\":7,\"light\":\"ON\"}", &c, err) && strstr(err, "'id' must be a string"));
	{
		char big[SET_PAYLOAD_MAX + 2];
		struct ic_hello h = lamp();
		memset(big, ' ', sizeof(big));
		CHECK(!set_parse(&h, big, sizeof(big), &c, err, sizeof(err)) && strstr(err, "larger than"));
	}
	{
		char id[100];
		memset(id, 'a', sizeof(id));
		snprintf(id, sizeof(id), "{\"light\":\"ON\",\"id\":\"%066d\"}", 0);
		CHECK(!parse(id, &c, err));	/* a 66-character id is too long */
	}
}

static void test_queue(void)
{
	static struct cmd_queue q;
	struct cmd a, out;
	char err[256];
	int n = 0;

	memset(&q, 0, sizeof(q));
	CHECK(parse("{\"light\":\"ON\",\"id\":\"l1\"}", &a, err));
	while (cmd_queue_add(&q, &a))
		n++;
	CHECK_EQ(n, CMD_QUEUE_MAX);	/* switches never merge: the queue fills */
	CHECK(cmd_queue_pop(&q, &out) && !strcmp(out.ids[0].text, "l1"));
	CHECK(cmd_queue_add(&q, &a));	/* room again */
	while (cmd_queue_pop(&q, &out))
		;
	/* ranges merge into the waiting tail: newer wins, every id kept */
	CHECK(parse("{\"throttle\":10,\"id\":\"t1\"}", &a, err) && cmd_queue_add(&q, &a));
	CHECK(parse("{\"throttle\":20,\"brightness\":5,\"id\":\"t2\"}", &a, err) && cmd_queue_add(&q, &a));
	CHECK(parse("{\"throttle\":30,\"id\":\"t3\"}", &a, err) && cmd_queue_add(&q, &a));
	CHECK_EQ(q.len, 1);
	CHECK(cmd_queue_pop(&q, &out));
	CHECK_EQ(out.n_ids, 3);
	CHECK_EQ(out.set.n, 2);
	CHECK(out.set.values[0].index == 3 && out.set.values[0].value == 30);
	CHECK(out.set.values[1].index == 1 && out.set.values[1].value == 5);
	/* a switch behind ranges does not merge, and ranges behind it start anew */
	CHECK(parse("{\"throttle\":1}", &a, err) && cmd_queue_add(&q, &a));
	CHECK(parse("{\"light\":\"OFF\"}", &a, err) && cmd_queue_add(&q, &a));
	CHECK(parse("{\"throttle\":2}", &a, err) && cmd_queue_add(&q, &a));
	CHECK_EQ(q.len, 3);
	/* merging stops at CMD_IDS_MAX sets per command */
	while (cmd_queue_pop(&q, &out))
		;
	for (int i = 0; i < CMD_IDS_MAX + 1; i++)
		CHECK(parse("{\"throttle\":3}", &a, err) && cmd_queue_add(&q, &a));
	CHECK_EQ(q.len, 2);
}

static bool control_line(const char *text, struct control *c, char *err)
{
	char buf[512];
	struct conf_line l = { .file = "u.conf", .line = 1 };

	snprintf(buf, sizeof(buf), "%s", text);
	err[0] = '\0';
	return conf_split(buf, &l.argc, l.argv, CONF_MAX_ARGS, err, 256) && control_parse(c, &l, err, 256);
}

static void test_controls(void)
{
	struct control c;
	char err[256], text[32];

	CHECK(control_line("control relay switch gpio gpiochip0 17 active-low default ON", &c, err));
	CHECK(c.backend == BACKEND_GPIO && !strcmp(c.chip, "gpiochip0") && c.line == 17 && c.active_low);
	CHECK(c.initial == 1);
	/* active-low: ON drives the line low */
	CHECK_EQ(gpio_level(1, true), 0);
	CHECK_EQ(gpio_level(0, true), 1);
	CHECK_EQ(gpio_level(1, false), 1);
	CHECK_EQ(gpio_level(0, false), 0);
	CHECK(control_line("control lamp switch gpio gpiochip0 4", &c, err) && !c.active_low && c.initial == 0);
	CHECK(!control_line("control dim range 0 255 1 gpio gpiochip0 4", &c, err) && strstr(err, "only be a switch"));
	CHECK(!control_line("control lamp switch gpio gpiochip0 x17", &c, err) && strstr(err, "CHIP LINE"));
	CHECK(!control_line("control lamp switch gpio gpiochip0 4 inverted", &c, err) && strstr(err, "active-low"));
	CHECK(control_line("control dim range 0 255 5 simulated default 100", &c, err) && c.initial == 100);
	CHECK(!control_line("control dim range 0 255 5 simulated default 101", &c, err) && strstr(err, "default"));
	CHECK(control_line("control dim range 10 20 1 simulated", &c, err) && c.initial == 10);
	CHECK(control_line("control mode enum off,eco,full hook /usr/local/bin/mode", &c, err));
	CHECK(c.backend == BACKEND_HOOK && c.meta.n_values == 3 && !strcmp(c.meta.values[2], "full"));
	CHECK(control_value_parse(&c.meta, "eco", &(double){ 0 }));
	CHECK(!control_value_parse(&c.meta, "ECO", &(double){ 0 }));
	control_value_format(&c.meta, 1, text, sizeof(text));
	CHECK(!strcmp(text, "eco"));
	CHECK(!control_line("control mode enum off,,full simulated", &c, err));
	CHECK(!control_line("control mode dial simulated", &c, err) && strstr(err, "switch, range or enum"));
	CHECK(!control_line("control Mode switch simulated", &c, err));
	CHECK(!control_line("control mode switch teleport", &c, err) && strstr(err, "got 'teleport'"));
}

const struct test_case command_tests[] = {
	{ "set_parse", test_set_parse },
	{ "command_queue", test_queue },
	{ "controls", test_controls },
	{ NULL, NULL },
};
