/*
 * mqttbench: the MQTT ends of the benchmarks.
 *
 *   mqttbench count  HOST PORT CAFILE USER PASSFILE FILTER EXPECT IDLE_S
 *       subscribe to FILTER; count messages until EXPECT arrived or none came
 *       for IDLE_S seconds once they began (before the first: 120 s, for a
 *       sender that first sets up 10,000 devices). A payload holding
 *       "t":MICROSECONDS gives a latency sample (receive time - t). Prints one
 *       JSON line.
 *   mqttbench publish HOST PORT CAFILE USER PASSFILE PREFIX TOTAL RATE QOS
 *       the baseline: publish TOTAL messages shaped like the base unit's
 *       (P/simNNNNN, {"t":...,"last_seen":"..."}) straight to the broker.
 *   mqttbench echo HOST PORT CAFILE USER PASSFILE REQ RESP
 *       the baseline of a command round trip: answer every message on REQ
 *       carrying "id":"X" with {"id":"X","status":"ok"} on RESP. Runs until killed.
 *   mqttbench rtt HOST PORT CAFILE USER PASSFILE REQ RESP COUNT WINDOW [DEVICES]
 *       (with DEVICES, REQ is a format like bench/sim%05ld/set and request i
 *       goes to device i mod DEVICES)
 *       publish COUNT requests {"light":"ON"|"OFF","id":"N"} on REQ, at most
 *       WINDOW unanswered at a time, and time each until its answer with the
 *       same id arrives on RESP with "status":"ok". Prints one JSON line.
 *
 * Uses libmosquitto's own thread: here only the broker is measured, not our
 * event loop.
 */
#include "flow.h"

#include <pthread.h>
#include <mosquitto.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_SAMPLES 2000000
#define FIRST_WAIT_S 120.0	/* count: the longest wait for the first message */

static atomic_long received, published;
static double first_us, last_us;
static double *samples;
static long n_samples;
static long *flow;		/* closed loop: received, shared with the sender (flow.h) */

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static void on_message(struct mosquitto *m, void *obj, const struct mosquitto_message *msg)
{
	double now = now_us();
	const char *p;

	(void)m;
	(void)obj;
	if (msg->retain)	/* old state handed to a new subscriber, not a live message */
		return;
	if (!received)
		first_us = now;
	last_us = now;
	received++;
	if (flow)
		__atomic_store_n(flow, (long)received, __ATOMIC_RELEASE);
	if (msg->payloadlen > 0 && (p = memmem(msg->payload, (size_t)msg->payloadlen, "\"t\":", 4)) &&
	    n_samples < MAX_SAMPLES)
		samples[n_samples++] = now - strtod(p + 4, NULL);
}

static void on_publish(struct mosquitto *m, void *obj, int mid)
{
	(void)m;
	(void)obj;
	(void)mid;
	published++;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static struct mosquitto *connect_to(char **argv, int qos_hint)
{
	char pass[256] = "";
	FILE *f = fopen(argv[6], "r");
	struct mosquitto *m;

	(void)qos_hint;
	if (!f || !fgets(pass, sizeof(pass), f))
		return NULL;
	fclose(f);
	pass[strcspn(pass, "\n")] = '\0';
	m = mosquitto_new(NULL, true, NULL);
	mosquitto_int_option(m, MOSQ_OPT_TCP_NODELAY, 1);
	/* as many QoS 1 messages in flight as the base unit allows itself
	 * (clients/common/mqttlink.c), or the baseline would be the slower one */
	mosquitto_int_option(m, MOSQ_OPT_SEND_MAXIMUM, 1000);
	mosquitto_username_pw_set(m, argv[5], pass);
	mosquitto_tls_set(m, argv[4], NULL, NULL, NULL, NULL);
	if (mosquitto_connect(m, argv[2], atoi(argv[3]), 30) != MOSQ_ERR_SUCCESS) {
		fprintf(stderr, "mqttbench: cannot connect\n");
		return NULL;
	}
	return m;
}

static int count(char **argv)
{
	struct mosquitto *m = connect_to(argv, 0);
	long expect = atol(argv[8]);
	double idle = atof(argv[9]), start = now_us();
	long last_seen_count = -1;
	double last_change = start;

	samples = malloc(MAX_SAMPLES * sizeof(double));
	if (!m || !samples)
		return 1;
	flow = flow_counter(1);
	mosquitto_message_callback_set(m, on_message);
	mosquitto_subscribe(m, NULL, argv[7], 1);
	mosquitto_loop_start(m);
	printf("ready\n");
	fflush(stdout);
	for (;;) {
		long r = received;
		double now = now_us();

		if (r >= expect)
			break;
		if (r != last_seen_count) {
			last_seen_count = r;
			last_change = now;
		} else if (now - last_change > (r ? idle : FIRST_WAIT_S) * 1e6) {
			/* (the idle time runs from the first message: the sender's
			 * handshakes, 3 s and more at 10,000 devices, are not idle) */
			break;
		}
		usleep(10000);
	}
	mosquitto_disconnect(m);
	mosquitto_loop_stop(m, false);
	qsort(samples, (size_t)n_samples, sizeof(double), cmp);
	{
		long r = received;
		double secs = (last_us - first_us) / 1e6;
		double p50 = n_samples ? samples[n_samples / 2] : 0;
		double p99 = n_samples ? samples[(long)(n_samples * 0.99)] : 0;
		double mx = n_samples ? samples[n_samples - 1] : 0;

		printf("{\"received\":%ld,\"seconds\":%.3f,\"rate\":%.0f,\"p50_us\":%.1f,\"p99_us\":%.1f,\"max_us\":%.1f}\n",
		       r, secs, secs > 0 ? (double)r / secs : 0, p50, p99, mx);
	}
	mosquitto_destroy(m);
	return 0;
}

static int publish(char **argv)
{
	struct mosquitto *m = connect_to(argv, 0);
	const char *prefix = argv[7];
	long total = atol(argv[8]);
	double rate = atof(argv[9]), t0;
	int qos = atoi(argv[10]);
	char topic[256], payload[128];
	long *got = flow_counter(0), window = flow_window();

	if (!m)
		return 1;
	mosquitto_publish_callback_set(m, on_publish);
	mosquitto_loop_start(m);
	t0 = now_us();
	for (long k = 0; k < total; k++) {
		int n;

		if (rate > 0) {
			double due = t0 + (double)k * 1e6 / rate, now;
			while ((now = now_us()) < due)
				if (due - now > 200)
					usleep((useconds_t)(due - now - 100));
		}
		flow_wait(got, window, k);
		snprintf(topic, sizeof(topic), "%s/sim%05ld", prefix, k % 1000);
		n = snprintf(payload, sizeof(payload), "{\"t\":%.0f,\"last_seen\":\"2026-11-24T10:00:00Z\"}", now_us());
		while (mosquitto_publish(m, NULL, topic, n, payload, qos, true) == MOSQ_ERR_NOMEM)
			usleep(100);
	}
	/* every message out (QoS 0) or acknowledged (QoS 1) before leaving,
	 * bounded at 120 s */
	for (int i = 0; i < 12000 && published < total; i++)
		usleep(10000);
	mosquitto_disconnect(m);
	mosquitto_loop_stop(m, false);
	mosquitto_destroy(m);
	printf("{\"sent\":%ld,\"published\":%ld,\"seconds\":%.3f}\n", total, (long)published, (now_us() - t0) / 1e6);
	return 0;
}

/* --- request/response --- */

static const char *resp_topic;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t answered = PTHREAD_COND_INITIALIZER;
static double *sent_at;
static long answers, not_ok, n_requests;

static long id_of(const struct mosquitto_message *msg)
{
	const char *p = memmem(msg->payload, (size_t)msg->payloadlen, "\"id\":\"", 6);

	return p ? strtol(p + 6, NULL, 10) : -1;
}

static void on_echo(struct mosquitto *m, void *obj, const struct mosquitto_message *msg)
{
	char out[128];
	long id = id_of(msg);
	int n;

	(void)obj;
	if (id < 0)
		return;
	n = snprintf(out, sizeof(out), "{\"id\":\"%ld\",\"status\":\"ok\"}", id);
	mosquitto_publish(m, NULL, resp_topic, n, out, 1, false);
}

static void on_answer(struct mosquitto *m, void *obj, const struct mosquitto_message *msg)
{
	double now = now_us();
	long id = id_of(msg);

	(void)m;
	(void)obj;
	if (id < 0 || id >= n_requests || sent_at[id] == 0)
		return;
	pthread_mutex_lock(&lock);
	samples[n_samples++] = now - sent_at[id];
	sent_at[id] = 0;
	if (!memmem(msg->payload, (size_t)msg->payloadlen, "\"status\":\"ok\"", 13))
		not_ok++;
	answers++;
	pthread_cond_signal(&answered);
	pthread_mutex_unlock(&lock);
}

static int echo(char **argv)
{
	struct mosquitto *m = connect_to(argv, 0);

	if (!m)
		return 1;
	resp_topic = argv[8];
	mosquitto_message_callback_set(m, on_echo);
	mosquitto_subscribe(m, NULL, argv[7], 1);
	printf("ready\n");
	fflush(stdout);
	mosquitto_loop_forever(m, -1, 1);
	return 0;
}

static int rtt(char **argv)
{
	struct mosquitto *m = connect_to(argv, 0);
	long count = atol(argv[9]), window = atol(argv[10]), devices = argv[11] ? atol(argv[11]) : 0;
	char topic[256];
	double t0, t1;
	char payload[128];

	n_requests = count;
	sent_at = calloc((size_t)count, sizeof(double));
	samples = malloc((size_t)count * sizeof(double));
	if (!m || !sent_at || !samples)
		return 1;
	mosquitto_message_callback_set(m, on_answer);
	mosquitto_subscribe(m, NULL, argv[8], 1);
	mosquitto_loop_start(m);
	usleep(300000);	/* the subscription is in place */
	t0 = now_us();
	for (long i = 0; i < count; i++) {
		struct timespec until;
		int n;

		pthread_mutex_lock(&lock);
		while (i - answers >= window) {
			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_sec += 10;
			if (pthread_cond_timedwait(&answered, &lock, &until) != 0)
				break;	/* an answer lost: go on, it counts as missing */
		}
		sent_at[i] = now_us();
		pthread_mutex_unlock(&lock);
		n = snprintf(payload, sizeof(payload), "{\"light\":\"%s\",\"id\":\"%ld\"}",
			     devices ? (i / devices) % 2 ? "OFF" : "ON" : i % 2 ? "OFF" : "ON", i);
		if (devices) {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
			snprintf(topic, sizeof(topic), argv[7], i % devices);
#pragma GCC diagnostic pop
		} else {
			snprintf(topic, sizeof(topic), "%s", argv[7]);
		}
		mosquitto_publish(m, NULL, topic, n, payload, 1, false);
	}
	pthread_mutex_lock(&lock);
	while (answers < count) {
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += 10;
		if (pthread_cond_timedwait(&answered, &lock, &until) != 0)
			break;
	}
	pthread_mutex_unlock(&lock);
	t1 = now_us();
	mosquitto_disconnect(m);
	mosquitto_loop_stop(m, false);
	qsort(samples, (size_t)n_samples, sizeof(double), cmp);
	printf("{\"answered\":%ld,\"not_ok\":%ld,\"rate\":%.0f,\"p50_us\":%.1f,\"p99_us\":%.1f,\"max_us\":%.1f}\n",
	       answers, not_ok, (double)answers / ((t1 - t0) / 1e6), n_samples ? samples[n_samples / 2] : 0,
	       n_samples ? samples[(long)(n_samples * 0.99)] : 0, n_samples ? samples[n_samples - 1] : 0);
	mosquitto_destroy(m);
	return 0;
}

int main(int argc, char **argv)
{
	mosquitto_lib_init();
	if (argc == 9 && !strcmp(argv[1], "echo"))
		return echo(argv);
	if ((argc == 11 || argc == 12) && !strcmp(argv[1], "rtt"))
		return rtt(argv);
	if (argc == 10 && !strcmp(argv[1], "count"))
		return count(argv);
	if (argc == 11 && !strcmp(argv[1], "publish"))
		return publish(argv);
	fprintf(stderr, "usage: see bench/mqttbench.c\n");
	return 2;
}
