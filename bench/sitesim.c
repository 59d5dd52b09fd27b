/*
 * sitesim: the MQTT traffic of many sites' base units against one broker, as
 * the real base unit sends it (docs/topics.md): per site a connection as its
 * own user (base-sN, prefix sN, client id base-sN) with its last will, then
 * P/bridge/state online, P/bridge/devices and each device's availability
 * (retained), each device's state on every reading (retained, QoS 1) and
 * P/bridge/metrics every METRICS_S seconds.
 *
 *   sitesim HOST PORT CAFILE BROKERDIR FIRST LAST DEVICES SECONDS READING_S METRICS_S
 *
 * Sites FIRST..LAST (the password of base-sN in BROKERDIR/base-sN.password).
 * One thread, one poll() over every connection (libmosquitto's loop_read,
 * loop_write and loop_misc): the simulator should cost the machine less
 * than the broker it measures. Prints one JSON line when SECONDS are over.
 */
#include <mosquitto.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct site {
	struct mosquitto *m;
	int n;
	bool up;
	double next_reading, next_metrics;
	int device;			/* the next to report */
	long readings;
};

static int devices;
static long published, errors, connects;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void pub(struct site *s, const char *suffix, const char *payload, bool retain)
{
	char topic[96];

	snprintf(topic, sizeof(topic), "s%d/%s", s->n, suffix);
	if (mosquitto_publish(s->m, NULL, topic, (int)strlen(payload), payload, 1, retain) == MOSQ_ERR_SUCCESS)
		published++;
	else
		errors++;
}

static void iso_now(char out[32])
{
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void on_connect(struct mosquitto *m, void *obj, int rc)
{
	struct site *s = obj;
	char list[8192], t[32], topic[32];
	size_t n = 0;

	(void)m;
	if (rc != 0) {
		errors++;
		return;
	}
	s->up = true;
	connects++;
	iso_now(t);
	pub(s, "bridge/state", "online", true);
	n += (size_t)snprintf(list + n, sizeof(list) - n, "[");
	for (int d = 0; d < devices && n < sizeof(list) - 200; d++)
		n += (size_t)snprintf(list + n, sizeof(list) - n,
				      "%s{\"id\":\"d%d\",\"kind\":\"read\",\"sensors\":[{\"name\":\"temperature\",\"unit\":\"°C\"},"
				      "{\"name\":\"humidity\",\"unit\":\"%%\"}],\"controls\":[],\"online\":true,\"last_seen\":\"%s\"}",
				      d ? "," : "", d, t);
	snprintf(list + n, sizeof(list) - n, "]");
	pub(s, "bridge/devices", list, true);
	for (int d = 0; d < devices; d++) {
		snprintf(topic, sizeof(topic), "d%d/availability", d);
		pub(s, topic, "online", true);
	}
}

static void on_disconnect(struct mosquitto *m, void *obj, int rc)
{
	struct site *s = obj;

	(void)m;
	s->up = false;
	if (rc != 0)
		errors++;
}

static void reading(struct site *s)
{
	char payload[128], topic[32], t[32];

	iso_now(t);
	snprintf(topic, sizeof(topic), "d%d", s->device);
	snprintf(payload, sizeof(payload), "{\"temperature\":%.1f,\"humidity\":%d,\"last_seen\":\"%s\"}",
		 12.0 + (double)(s->readings % 50) / 10.0, 60 + (int)(s->readings % 30), t);
	pub(s, topic, payload, true);
	s->device = (s->device + 1) % devices;
	s->readings++;
}

static void metrics(struct site *s, double uptime)
{
	char payload[1024];

	snprintf(payload, sizeof(payload),
		 "{\"uptime_s\":%.0f,\"devices\":%d,\"devices_online\":%d,\"datagrams\":%ld,\"readings\":%ld,\"states\":0,"
		 "\"keepalives\":%ld,\"byes\":0,\"lost_in_transit\":0,\"hellos\":%d,\"sessions\":%d,\"resets_sent\":0,"
		 "\"challenges_sent\":0,\"gets_coalesced\":0,\"mqtt_reconnects\":0,\"udp_rcvbuf\":8388608,\"sets\":0,"
		 "\"retransmits\":0,\"results\":{\"ok\":0,\"invalid\":0,\"rejected\":0,\"timeout\":0,\"offline\":0},"
		 "\"frames\":0,\"frames_unchecked\":0,\"frames_incomplete\":0,\"frames_corrupt\":0,\"camera_clients\":0,"
		 "\"outage_buffered\":0,\"outage_delivered\":0,\"outage_dropped\":0,\"dropped\":{\"malformed\":0,"
		 "\"unknown_device\":0,\"auth_failed\":0,\"replayed\":0,\"unknown_session\":0,\"bad_body\":0,\"stale\":0,"
		 "\"kernel\":0}}",
		 uptime, devices, devices, s->readings * 2, s->readings, s->readings / 4, devices, devices);
	pub(s, "bridge/metrics", payload, true);
}

int main(int argc, char **argv)
{
	int first, last, n, port;
	double seconds, reading_s, metrics_s, t0, t_connected, end, next_misc = 0;
	struct site *sites;
	struct pollfd *fds;

	if (argc != 11) {
		fprintf(stderr, "usage: sitesim HOST PORT CAFILE BROKERDIR FIRST LAST DEVICES SECONDS READING_S METRICS_S\n");
		return 2;
	}
	port = atoi(argv[2]);
	first = atoi(argv[5]);
	last = atoi(argv[6]);
	devices = atoi(argv[7]);
	seconds = atof(argv[8]);
	reading_s = atof(argv[9]);
	metrics_s = atof(argv[10]);
	n = last - first + 1;
	if (n < 1 || devices < 1 || devices > 100 || reading_s <= 0 || metrics_s <= 0) {
		fprintf(stderr, "sitesim: bad arguments\n");
		return 2;
	}
	mosquitto_lib_init();
	sites = calloc((size_t)n, sizeof(*sites));
	fds = calloc((size_t)n, sizeof(*fds));
	if (!sites || !fds)
		return 1;
	t0 = now_s();
	for (int i = 0; i < n; i++) {
		struct site *s = &sites[i];
		char user[32], path[600], pass[128] = "", will[64];
		FILE *f;

		s->n = first + i;
		snprintf(user, sizeof(user), "base-s%d", s->n);
		snprintf(path, sizeof(path), "%s/%s.password", argv[4], user);
		if (!(f = fopen(path, "r")) || !fgets(pass, sizeof(pass), f)) {
			fprintf(stderr, "sitesim: cannot read %s\n", path);
			return 1;
		}
		fclose(f);
		pass[strcspn(pass, "\n")] = '\0';
		s->m = mosquitto_new(user, true, s);
		mosquitto_int_option(s->m, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
		mosquitto_int_option(s->m, MOSQ_OPT_TCP_NODELAY, 1);
		mosquitto_username_pw_set(s->m, user, pass);
		mosquitto_tls_set(s->m, argv[3], NULL, NULL, NULL, NULL);
		snprintf(will, sizeof(will), "s%d/bridge/state", s->n);
		mosquitto_will_set(s->m, will, 7, "offline", 1, true);
		mosquitto_connect_callback_set(s->m, on_connect);
		mosquitto_disconnect_callback_set(s->m, on_disconnect);
		if (mosquitto_connect(s->m, argv[1], port, 60) != MOSQ_ERR_SUCCESS) {
			fprintf(stderr, "sitesim: site %d cannot connect\n", s->n);
			errors++;
		}
		/* spread the readings and metrics over their interval */
		s->next_reading = t0 + reading_s / devices * ((double)i / n);
		s->next_metrics = t0 + metrics_s * ((double)i / n);
	}
	t_connected = now_s();
	end = t_connected + seconds;
	for (double now = now_s(); now < end; now = now_s()) {
		for (int i = 0; i < n; i++) {
			struct site *s = &sites[i];

			fds[i].fd = mosquitto_socket(s->m);
			fds[i].events = (short)(POLLIN | (mosquitto_want_write(s->m) ? POLLOUT : 0));
			fds[i].revents = 0;
		}
		poll(fds, (nfds_t)n, 20);
		now = now_s();
		for (int i = 0; i < n; i++) {
			struct site *s = &sites[i];

			if (fds[i].fd < 0) {
				if (now >= next_misc)
					mosquitto_reconnect(s->m);
				continue;
			}
			if (fds[i].revents & (POLLIN | POLLERR | POLLHUP))
				mosquitto_loop_read(s->m, 1);
			if (s->up) {
				while (now >= s->next_reading) {
					reading(s);
					s->next_reading += reading_s / devices;
				}
				if (now >= s->next_metrics) {
					metrics(s, now - t0);
					s->next_metrics += metrics_s;
				}
			}
			if (mosquitto_want_write(s->m))
				mosquitto_loop_write(s->m, 1);
		}
		if (now >= next_misc) {
			for (int i = 0; i < n; i++)
				mosquitto_loop_misc(sites[i].m);
			next_misc = now + 1;
		}
	}
	printf("{\"sites\":%d,\"connected\":%ld,\"connect_s\":%.3f,\"published\":%ld,\"errors\":%ld,\"seconds\":%.1f}\n", n,
	       connects, t_connected - t0, published, errors, now_s() - t_connected);
	fflush(stdout);
	for (int i = 0; i < n; i++) {
		mosquitto_disconnect(sites[i].m);
		mosquitto_loop_write(sites[i].m, 1);
		mosquitto_destroy(sites[i].m);
	}
	free(sites);
	free(fds);
	mosquitto_lib_cleanup();
	return errors ? 1 : 0;
}
