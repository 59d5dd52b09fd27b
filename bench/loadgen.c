/*
 * loadgen: many simulated devices speaking the real intercom with real keys,
 * each from its own UDP socket (its own address as the base unit sees it).
 *
 *   loadgen keys N FILE            write N "device ID KEY" lines (a base-unit config fragment)
 *   loadgen serve BASE FILE SECONDS
 *       every device in FILE becomes an updatable unit with one switch
 *       ("light") that acknowledges every command, for SECONDS.
 *   loadgen run BASE FILE TOTAL RATE
 *       handshake every device in FILE with the base unit at BASE, then send
 *       TOTAL readings round-robin at RATE per second (0: as fast as possible).
 *       Each reading's value is the send time in microseconds (Unix), so a
 *       subscriber can measure end-to-end latency. Prints one JSON line.
 *       With BENCH_FLOW_FILE and BENCH_FLOW_WINDOW set, a closed loop: at
 *       most WINDOW readings between sent and received (bench/flow.h).
 *   loadgen plain HOST:PORT TOTAL RATE
 *       the same readings as plain JSON datagrams with no intercom at all, for
 *       a peer that takes those (Node-RED's udp in node).
 */
#include "flow.h"
#include "ic_session.h"
#include "util.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

struct sim {
	struct ic_device dev;
	int fd;
};

static double now_us_wall(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmd_keys(int n, const char *path)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return 1;
	for (int i = 0; i < n; i++) {
		uint8_t k[32];
		char hex[65];
		random_bytes(k, sizeof(k));
		key_to_hex(hex, k);
		fprintf(f, "device sim%05d %s\n", i, hex);
	}
	fclose(f);
	return 0;
}

static int handshake(struct sim *s, const struct sockaddr_storage *base, socklen_t bl, bool updatable)
{
	struct ic_hello h = { .kind = IC_KIND_READ, .keepalive = 120, .n_sensors = 1 };
	uint8_t hb[IC_BODY_MAX], out[IC_MAX_DATAGRAM], in[IC_MAX_DATAGRAM + 1], body[IC_MAX_DATAGRAM];
	int hn, n;

	snprintf(h.sensors[0].name, sizeof(h.sensors[0].name), "%s", "t");
	snprintf(h.sensors[0].unit, sizeof(h.sensors[0].unit), "%s", "us");
	if (updatable) {
		h.kind = IC_KIND_UPDATABLE;
		h.n_sensors = 0;
		h.n_controls = 1;
		snprintf(h.controls[0].name, sizeof(h.controls[0].name), "%s", "light");
		h.controls[0].type = IC_SWITCH;
	}
	hn = ic_hello_encode(hb, sizeof(hb), &h);
	for (int attempt = 0; attempt < 5; attempt++) {
		struct pollfd p = { .fd = s->fd, .events = POLLIN };

		if (attempt == 0)
			ic_device_restart(&s->dev, random_u64_nonzero());
		n = ic_device_hello(&s->dev, hb, (size_t)hn, out, sizeof(out));
		sendto(s->fd, out, (size_t)n, 0, (const struct sockaddr *)base, bl);
		while (poll(&p, 1, 500) > 0) {
			ssize_t r = recv(s->fd, in, sizeof(in), 0);
			size_t blen;
			uint8_t type;

			if (r <= 0 || ic_device_receive(&s->dev, in, (size_t)r, &type, body, &blen) != IC_OK)
				continue;
			if (type == IC_CHALLENGE) {	/* a new ticket: the hello again, with it */
				n = ic_device_hello(&s->dev, hb, (size_t)hn, out, sizeof(out));
				sendto(s->fd, out, (size_t)n, 0, (const struct sockaddr *)base, bl);
				continue;
			}
			if (type == IC_WELCOME) {
				n = ic_device_seal(&s->dev, IC_KEEPALIVE, NULL, 0, out, sizeof(out));
				sendto(s->fd, out, (size_t)n, 0, (const struct sockaddr *)base, bl);
				return 0;
			}
		}
	}
	return -1;
}

static int load_sims(const char *base_text, const char *path, struct sockaddr_storage *base, socklen_t *bl,
		     struct sim **out)
{
	struct sim *sims = NULL;
	int n = 0, cap = 0;
	char line[256], id[64], hex[80];
	FILE *f = fopen(path, "r");
	struct rlimit rl;

	if (!f || addr_parse(base, bl, base_text, false) < 0)
		return -1;
	getrlimit(RLIMIT_NOFILE, &rl);
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
	while (fgets(line, sizeof(line), f)) {
		uint8_t psk[32];

		if (sscanf(line, "device %63s %79s", id, hex) != 2 || !key_from_hex(psk, hex))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			sims = realloc(sims, (size_t)cap * sizeof(*sims));
		}
		ic_device_init(&sims[n].dev, id, psk);
		if (udp_open(&sims[n].fd, base->ss_family, NULL, 0, 0, NULL) < 0)
			return -1;
		n++;
	}
	fclose(f);
	*out = sims;
	return n;
}

/* Acknowledge every command, as a simulated switch, for a while. */
static int cmd_serve(const char *base_text, const char *path, int seconds)
{
	struct sockaddr_storage base;
	socklen_t bl;
	struct sim *sims;
	struct pollfd *p;
	double light[4096] = { 0 };
	long served = 0, dups = 0;
	int n = load_sims(base_text, path, &base, &bl, &sims), failed = 0;
	double end;
	static uint64_t last_id[4096];

	if (n <= 0 || n > 4096) {
		fprintf(stderr, "loadgen: bad arguments\n");
		return 2;
	}
	for (int i = 0; i < n; i++)
		failed += handshake(&sims[i], &base, bl, true) < 0;
	p = calloc((size_t)n, sizeof(*p));
	for (int i = 0; i < n; i++)
		p[i] = (struct pollfd){ .fd = sims[i].fd, .events = POLLIN };
	printf("ready %d\n", n - failed);
	fflush(stdout);
	end = now_us_wall() + seconds * 1e6;
	while (now_us_wall() < end) {
		if (poll(p, (nfds_t)n, 100) <= 0)
			continue;
		for (int i = 0; i < n; i++) {
			uint8_t in[IC_MAX_DATAGRAM + 1], body[IC_MAX_DATAGRAM], out[IC_MAX_DATAGRAM], ab[IC_BODY_MAX];
			struct ic_command c;
			struct ic_ack a = { 0 };
			size_t blen;
			uint8_t type;
			ssize_t r;
			int len;

			if (!(p[i].revents & POLLIN))
				continue;
			while ((r = recv(sims[i].fd, in, sizeof(in), MSG_DONTWAIT)) > 0) {
				if (ic_device_receive(&sims[i].dev, in, (size_t)r, &type, body, &blen) != IC_OK ||
				    type != IC_COMMAND || ic_command_decode(&c, body, blen) != IC_OK)
					continue;
				if (c.id == last_id[i])
					dups++;
				else if (c.set.n == 1)
					light[i] = c.set.values[0].value, served++;
				last_id[i] = c.id;
				a.id = c.id;
				a.state.n = 1;
				a.state.values[0].value = light[i];
				len = ic_ack_encode(ab, sizeof(ab), &a);
				len = ic_device_seal(&sims[i].dev, IC_ACK, ab, (size_t)len, out, sizeof(out));
				sendto(sims[i].fd, out, (size_t)len, 0, (const struct sockaddr *)&base, bl);
			}
		}
	}
	printf("{\"devices\":%d,\"handshake_failed\":%d,\"served\":%ld,\"duplicates\":%ld}\n", n, failed, served, dups);
	return 0;
}

static int cmd_run(const char *base_text, const char *path, long total, double rate)
{
	struct sockaddr_storage base;
	socklen_t bl;
	struct sim *sims = NULL;
	int n = load_sims(base_text, path, &base, &bl, &sims), failed = 0;
	double t0, t1, hs0;
	long sent = 0, send_errors = 0;
	uint8_t out[IC_MAX_DATAGRAM], body[16];
	long *got = flow_counter(0), window = flow_window();

	if (n <= 0) {
		fprintf(stderr, "loadgen: bad arguments, or out of sockets: %s\n", strerror(errno));
		return 2;
	}
	hs0 = now_us_wall();
	for (int i = 0; i < n; i++)
		failed += handshake(&sims[i], &base, bl, false) < 0;
	t0 = now_us_wall();
	for (long k = 0; k < total; k++) {
		struct sim *s = &sims[k % n];
		struct ic_reading r = { .n = 1 };
		int len;

		if (rate > 0) {	/* pace: never ahead of schedule */
			double due = t0 + (double)k * 1e6 / rate, now;
			while ((now = now_us_wall()) < due)
				if (due - now > 200)
					usleep((useconds_t)(due - now - 100));
		}
		flow_wait(got, window, k);
		r.values[0].value = now_us_wall();
		len = ic_reading_encode(body, sizeof(body), &r);
		len = ic_device_seal(&s->dev, IC_READING, body, (size_t)len, out, sizeof(out));
		while (sendto(s->fd, out, (size_t)len, 0, (const struct sockaddr *)&base, bl) < 0) {
			if (errno != EAGAIN && errno != ENOBUFS) {
				send_errors++;
				break;
			}
			usleep(50);
		}
		sent++;
	}
	t1 = now_us_wall();
	printf("{\"devices\":%d,\"handshake_failed\":%d,\"handshake_s\":%.3f,\"sent\":%ld,\"send_errors\":%ld,"
	       "\"seconds\":%.3f,\"rate\":%.0f}\n", n, failed, (t0 - hs0) / 1e6, sent, send_errors,
	       (t1 - t0) / 1e6, (double)sent / ((t1 - t0) / 1e6));
	/* stay a moment so the last datagrams are not refused by closed ports */
	usleep(200000);
	for (int i = 0; i < n; i++)
		close(sims[i].fd);
	free(sims);
	return failed ? 1 : 0;
}

/* Plain UDP, for a peer that takes unauthenticated JSON datagrams (the
 * Node-RED flow of bench/node-red/): {"t":send time,"last_seen":...}. */
static int cmd_plain(const char *addr_text, long total, double rate)
{
	struct sockaddr_storage to;
	socklen_t tl;
	long *got = flow_counter(0), window = flow_window(), sent = 0;
	double t0, t1;
	char msg[128];
	int fd;

	if (addr_parse(&to, &tl, addr_text, false) < 0 || udp_open(&fd, to.ss_family, NULL, 0, 0, NULL) < 0) {
		fprintf(stderr, "loadgen: bad address '%s'\n", addr_text);
		return 2;
	}
	t0 = now_us_wall();
	for (long k = 0; k < total; k++) {
		int n;
		if (rate > 0) {
			double due = t0 + (double)k * 1e6 / rate, now;
			while ((now = now_us_wall()) < due)
				if (due - now > 200)
					usleep((useconds_t)(due - now - 100));
		}
		flow_wait(got, window, k);
		n = snprintf(msg, sizeof(msg), "{\"t\":%.0f,\"last_seen\":\"2026-11-24T10:00:00Z\"}", now_us_wall());
		while (sendto(fd, msg, (size_t)n, 0, (const struct sockaddr *)&to, tl) < 0 && (errno == EAGAIN || errno == ENOBUFS))
			usleep(50);
		sent++;
	}
	t1 = now_us_wall();
	printf("{\"sent\":%ld,\"seconds\":%.3f,\"rate\":%.0f}\n", sent, (t1 - t0) / 1e6, (double)sent / ((t1 - t0) / 1e6));
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "keys"))
		return cmd_keys(atoi(argv[2]), argv[3]);
	if (argc == 5 && !strcmp(argv[1], "serve"))
		return cmd_serve(argv[2], argv[3], atoi(argv[4]));
	if (argc == 6 && !strcmp(argv[1], "run"))
		return cmd_run(argv[2], argv[3], atol(argv[4]), atof(argv[5]));
	if (argc == 5 && !strcmp(argv[1], "plain"))
		return cmd_plain(argv[2], atol(argv[3]), atof(argv[4]));
	fprintf(stderr, "usage: loadgen keys N FILE | loadgen run BASE FILE TOTAL RATE | loadgen serve BASE FILE SECONDS\n"
			"       loadgen plain HOST:PORT TOTAL RATE\n");
	return 2;
}
