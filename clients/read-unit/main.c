/*
 * read-unit: a device agent that announces its sensors, then sends readings
 * at an interval over the intercom. See docs/agents.md.
 */
#include "agent.h"
#include "log.h"
#include "sensors.h"
#include "util.h"

#include <errno.h>
#include <signal.h>
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

static volatile sig_atomic_t running = 1;

static void on_signal(int sig)
{
	(void)sig;
	running = 0;
}

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
		fprintf(stderr, "%s: no 'sensor' lines\n", path);
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

static int run(const char *path)
{
	struct read_unit u;
	struct ic_hello hello = { .kind = IC_KIND_READ };
	struct agent a;
	struct sigaction sa = { .sa_handler = on_signal };

	if (!load(&u, path))
		return 1;
	hello.keepalive = (uint16_t)u.agent.keepalive;
	hello.n_sensors = (uint8_t)u.n_sensors;
	for (int i = 0; i < u.n_sensors; i++)
		hello.sensors[i] = u.sensors[i].meta;
	if (agent_start(&a, &u.agent, &hello, on_ready, NULL, &u) < 0)
		return 1;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	log_info("device %s: %d sensors, a reading every %g s to %s", u.agent.id, u.n_sensors,
		 u.interval, u.agent.base);
	while (running) {
		struct pollfd p;
		uint64_t now = now_ms(), wait = 1000, w;

		agent_tick(&a, now);
		if (agent_ready(&a) && now >= u.next_reading) {
			send_reading(&a, &u);
			u.next_reading += (uint64_t)(u.interval * 1000);
			if (u.next_reading <= now)	/* fell behind: do not burst */
				u.next_reading = now + (uint64_t)(u.interval * 1000);
		}
		w = agent_next_ms(&a, now);
		if (w < wait)
			wait = w;
		if (agent_ready(&a) && u.next_reading > now && u.next_reading - now < wait)
			wait = u.next_reading - now;
		agent_pollfd(&a, &p);
		if (poll(&p, 1, (int)wait) < 0 && errno != EINTR)
			break;
		if (p.revents & POLLIN)
			agent_handle(&a);
	}
	log_info("stopping after %llu readings", (unsigned long long)u.sent);
	agent_stop(&a);
	return 0;
}

int main(int argc, char **argv)
{
	const char *path = NULL;
	bool check = false;

	log_ident = "read-unit";
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-c") && i + 1 < argc) {
			path = argv[++i];
		} else if (!strcmp(argv[i], "--check")) {
			check = true;
		} else if (!strcmp(argv[i], "-v")) {
			log_threshold = LOG_DEBUG;
		} else {
			fprintf(stderr, "usage: read-unit -c FILE [--check] [-v]\n");
			return 2;
		}
	}
	if (!path) {
		fprintf(stderr, "usage: read-unit -c FILE [--check] [-v]\n");
		return 2;
	}
	if (check) {
		struct read_unit u;
		bool ok = load(&u, path);
		if (ok)
			printf("%s: ok (%d sensors)\n", path, u.n_sensors);
		return ok ? 0 : 1;
	}
	return run(path);
}
