/*
 * read-unit: a device agent that announces its sensors, then sends readings
 * at an interval over the intercom. See docs/agents.md.
 */
#include "agent.h"
#include "log.h"
#include "sensors.h"
#include "util.h"

#include <stdio.h>
#include <string.h>

struct read_unit {
	struct agent_config agent;
	double interval;		/* seconds between readings */
	struct sensor sensors[IC_MAX_SENSORS];
	int n_sensors;
	uint64_t next_reading;
	uint64_t sent, failed;
};

static bool config_line(void *ctx, const struct conf_line *l, char *err, size_t errlen)
{
	struct read_unit *u = ctx;
	bool mine;

	if (!agent_config_line(&u->agent, l, err, errlen, &mine))
		return false;
	if (mine)
		return true;
	if (!strcmp(l->argv[0], "interval")) {
		if (!conf_want_args(l, 1, 1, "SECONDS", err, errlen) || !conf_double(l, 1, &u->interval, err, errlen))
			return false;
		if (u->interval < 0.01 || u->interval > 86400) {
			snprintf(err, errlen, "'interval' expects seconds from 0.01 to 86400, got '%s'", l->argv[1]);
			return false;
		}
		return true;
	}
	if (!strcmp(l->argv[0], "sensor")) {
		if (u->n_sensors == IC_MAX_SENSORS) {
			snprintf(err, errlen, "too many sensors (at most %d)", IC_MAX_SENSORS);
			return false;
		}
		if (!sensor_parse(&u->sensors[u->n_sensors], l, err, errlen))
			return false;
		for (int i = 0; i < u->n_sensors; i++)
			if (!strcmp(u->sensors[i].meta.name, u->sensors[u->n_sensors].meta.name)) {
				snprintf(err, errlen, "sensor '%s' is already defined", u->sensors[i].meta.name);
				return false;
			}
		u->n_sensors++;
		return true;
	}
	snprintf(err, errlen, "unknown key '%s'", l->argv[0]);
	return false;
}

static bool load(struct read_unit *u, const char *path)
{
	memset(u, 0, sizeof(*u));
	agent_config_init(&u->agent);
	u->interval = 5;
	if (conf_load(path, config_line, u) != 0 || !agent_config_finish(&u->agent, path))
		return false;
	if (u->n_sensors == 0) {
		conf_error("%s: no 'sensor' lines\n", path);
		return false;
	}
	return true;
}

static void send_reading(struct agent *a, struct read_unit *u)
{
	struct ic_reading r = { 0 };
	uint8_t body[IC_BODY_MAX];
	int n;

	for (int i = 0; i < u->n_sensors; i++) {
		double v;
		if (sensor_read(&u->sensors[i], &v)) {
			r.values[r.n].index = (uint8_t)i;
			r.values[r.n].value = v;
			r.n++;
		}
	}
	if (r.n == 0)
		return;
	n = ic_reading_encode(body, sizeof(body), &r);
	if (n < 0 || agent_send(a, IC_READING, body, (size_t)n) < 0)
		u->failed++;
	else
		u->sent++;
}

static void on_ready(struct agent *a, void *ctx)
{
	struct read_unit *u = ctx;

	send_reading(a, u);	/* fresh values right after (re)connecting */
	u->next_reading = now_ms() + (uint64_t)(u->interval * 1000);
}

/* The reading timer, run by agent_loop. */
static uint64_t work(struct agent *a, uint64_t now, void *ctx)
{
	struct read_unit *u = ctx;

	if (!agent_ready(a))
		return UINT64_MAX;
	if (now >= u->next_reading) {
		send_reading(a, u);
		u->next_reading += (uint64_t)(u->interval * 1000);
		if (u->next_reading <= now)	/* fell behind: do not burst */
			u->next_reading = now + (uint64_t)(u->interval * 1000);
	}
	return u->next_reading - now;
}

static int run(const char *path)
{
	struct read_unit u;
	struct ic_hello hello = { .kind = IC_KIND_READ };
	struct agent a;

	if (!load(&u, path))
		return 1;
	hello.keepalive = (uint16_t)u.agent.keepalive;
	hello.n_sensors = (uint8_t)u.n_sensors;
	for (int i = 0; i < u.n_sensors; i++)
		hello.sensors[i] = u.sensors[i].meta;
	if (agent_start(&a, &u.agent, &hello, on_ready, NULL, &u) < 0)
		return 1;
	log_info("device %s: %d sensors, a reading every %g s to %s", u.agent.id, u.n_sensors,
		 u.interval, u.agent.base);
	agent_loop(&a, work, &u);
	log_info("stopped after %llu readings", (unsigned long long)u.sent);
	return 0;
}

int main(int argc, char **argv)
{
	const char *path;
	bool check;

	int rc = agent_cli(argc, argv, "read-unit", &path, &check);

	if (rc >= 0)
		return rc;
	if (check) {
		struct read_unit u;
		bool ok = load(&u, path);
		if (ok)
			printf("%s: ok (%d sensors)\n", path, u.n_sensors);
		return ok ? 0 : 1;
	}
	return run(path);
}
