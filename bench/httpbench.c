/*
 * httpbench: many HTTP stream clients of the dashboard in one epoll thread.
 *
 *   httpbench sse HOST PORT TOKEN CLIENTS SECONDS
 *       opens CLIENTS streams of /api/events; once every one has its first
 *       snapshot it prints "ready" on stderr, then for SECONDS takes a latency
 *       sample (receive time - t) from every event whose data holds
 *       "t":MICROSECONDS (mqttbench publish puts the publish time there).
 *       The receive time is the kernel's (SO_TIMESTAMPNS: when the bytes
 *       reached the client's socket), so the figure is the server's and not
 *       this one thread's turn to read 200 sockets.
 *       Prints one JSON line: clients, events, p50_us, p99_us, max_us.
 *   httpbench floor CLIENTS RATE BYTES SECONDS
 *       the floor under the SSE figure: the same fan-out with nothing but
 *       the sends. A thread writes BYTES (with "t":MICROSECONDS) to CLIENTS
 *       loopback TCP connections RATE times a second, and the same receiver
 *       takes its samples. Prints clients, events, p50_us, p99_us, max_us
 *       (from the start of each round of writes) and cores (the writer's CPU
 *       time over the wall time).
 *   httpbench mjpeg HOST PORT TOKEN PATH VIEWERS SECONDS
 *       opens VIEWERS streams of PATH (multipart/x-mixed-replace) and counts
 *       whole parts per viewer for SECONDS. Prints one JSON line: viewers,
 *       frames, fps_min, fps_median, fps_max, bytes.
 *
 * Requests are HTTP/1.0, so the body arrives unchunked.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BUF 262144

struct client {
	int fd;
	char *buf;
	size_t len;
	int head_done;
	long events, frames, part_left;	/* mjpeg: bytes of the current part still to skip */
	long long bytes;
	int ready;
	long long event_bytes;		/* SSE: bytes received while measuring */
};

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static int open_stream(const char *host, int port, const char *token, const char *path)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	char req[512];
	int fd = socket(AF_INET, SOCK_STREAM, 0), n;

	inet_pton(AF_INET, host, &sa.sin_addr);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("connect");
		exit(1);
	}
	n = snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\nHost: %s:%d\r\nAuthorization: Bearer %s\r\n\r\n", path,
		     host, port, token);
	if (write(fd, req, (size_t)n) != n) {
		perror("write");
		exit(1);
	}
	fcntl(fd, F_SETFL, O_NONBLOCK);
	return fd;
}

static double *samples;
static long n_samples, cap_samples;
static int measuring;

/* SSE: complete lines; a "data:" line with "t": gives a sample. */
static void sse_consume(struct client *c, double now)
{
	char *p = c->buf, *end = c->buf + c->len, *nl;

	while ((nl = memchr(p, '\n', (size_t)(end - p)))) {
		if (!c->ready && nl - p >= 15 && !memcmp(p, "event: snapshot", 15))
			c->ready = 1;
		if (measuring && nl - p > 6 && !memcmp(p, "data: ", 6)) {
			char *t = memmem(p, (size_t)(nl - p), "\"t\":", 4);
			if (t) {
				c->events++;
				if (n_samples < cap_samples)
					samples[n_samples++] = now - strtod(t + 4, NULL);
			}
		}
		p = nl + 1;
	}
	c->len = (size_t)(end - p);
	memmove(c->buf, p, c->len);
}

/* MJPEG: find each part's Content-Length, skip its bytes, count it. */
static void mjpeg_consume(struct client *c)
{
	for (;;) {
		if (c->part_left > 0) {
			size_t n = c->len < (size_t)c->part_left ? c->len : (size_t)c->part_left;
			memmove(c->buf, c->buf + n, c->len - n);
			c->len -= n;
			c->part_left -= (long)n;
			if (c->part_left == 0 && measuring)
				c->frames++;
			if (c->part_left > 0 || !c->len)
				return;
			continue;
		}
		char *h = memmem(c->buf, c->len, "Content-Length: ", 16), *e;
		if (!h || !(e = memmem(h, c->len - (size_t)(h - c->buf), "\r\n\r\n", 4))) {
			if (c->len > BUF / 2) {	/* no header in sight: drop what we have */
				c->len = 0;
			}
			return;
		}
		c->part_left = strtol(h + 16, NULL, 10) + 2;
		if (measuring)
			c->bytes += c->part_left - 2;
		e += 4;
		c->len -= (size_t)(e - c->buf);
		memmove(c->buf, e, c->len);
		c->ready = 1;
	}
}

/* The floor: a writer thread doing nothing but the fan-out's sends. */
struct floor {
	int *fds, n, rate;
	size_t bytes;
	double seconds, cores;
	atomic_int go;
};

static void *floor_writer(void *arg)
{
	struct floor *f = arg;
	char *msg = malloc(f->bytes + 64);
	struct timespec c0, c1, due;
	double w0;
	long rounds = (long)(f->rate * f->seconds);

	while (!atomic_load(&f->go))
		usleep(1000);
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c0);
	clock_gettime(CLOCK_MONOTONIC, &due);
	w0 = mono_s();
	for (long i = 0; i < rounds; i++) {
		int len = snprintf(msg, 64, "event: state\ndata: {\"t\":%.0f,\"pad\":\"", now_us());

		while ((size_t)len + 5 < f->bytes)
			msg[len++] = 'x';
		memcpy(msg + len, "\"}\n\n", 5);
		len += 5;
		for (int k = 0; k < f->n; k++)
			if (write(f->fds[k], msg, (size_t)len) != len)
				perror("write");
		due.tv_nsec += 1000000000L / f->rate;
		while (due.tv_nsec >= 1000000000L) {
			due.tv_nsec -= 1000000000L;
			due.tv_sec++;
		}
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &due, NULL);
	}
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c1);
	f->cores = ((double)(c1.tv_sec - c0.tv_sec) + (double)(c1.tv_nsec - c0.tv_nsec) / 1e9) / (mono_s() - w0);
	free(msg);
	return NULL;
}

/* CLIENTS connected pairs on loopback: the receiving ends in cs, the sending ends returned. */
static int *floor_pairs(struct client *cs, int n)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sa);
	int l = socket(AF_INET, SOCK_STREAM, 0), *fds = calloc((size_t)n, sizeof(int));

	if (l < 0 || bind(l, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(l, 1024) < 0 ||
	    getsockname(l, (struct sockaddr *)&sa, &sl) < 0) {
		perror("listen");
		exit(1);
	}
	for (int i = 0; i < n; i++) {
		cs[i].fd = socket(AF_INET, SOCK_STREAM, 0);
		if (connect(cs[i].fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || (fds[i] = accept(l, NULL, NULL)) < 0) {
			perror("connect");
			exit(1);
		}
		setsockopt(fds[i], IPPROTO_TCP, TCP_NODELAY, &(int){ 1 }, sizeof(int));
		fcntl(cs[i].fd, F_SETFL, O_NONBLOCK);
		cs[i].head_done = cs[i].ready = 1;
	}
	close(l);
	return fds;
}

int main(int argc, char **argv)
{
	int mjpeg, floor_mode, n, ep, ready = 0, port = 0;
	struct floor fl = { 0 };
	pthread_t writer;
	double seconds, t_end;
	const char *host, *token, *path;
	struct client *cs;
	struct epoll_event ev, evs[256];

	floor_mode = argc == 6 && !strcmp(argv[1], "floor");
	if (!floor_mode && (argc < 7 || (strcmp(argv[1], "sse") && strcmp(argv[1], "mjpeg")))) {
		fprintf(stderr, "usage: httpbench sse HOST PORT TOKEN CLIENTS SECONDS\n"
				"       httpbench floor CLIENTS RATE BYTES SECONDS\n"
				"       httpbench mjpeg HOST PORT TOKEN PATH VIEWERS SECONDS\n");
		return 2;
	}
	mjpeg = !strcmp(argv[1], "mjpeg");
	if (floor_mode) {
		host = token = path = NULL;
		n = atoi(argv[2]);
		fl.rate = atoi(argv[3]);
		fl.bytes = (size_t)atol(argv[4]);
		seconds = atof(argv[5]);
		if (n < 1 || fl.rate < 1 || fl.bytes < 64 || fl.bytes > 65536 || seconds <= 0) {
			fprintf(stderr, "httpbench floor: CLIENTS >= 1, RATE >= 1, BYTES 64..65536, SECONDS > 0\n");
			return 2;
		}
	} else {
		host = argv[2];
		port = atoi(argv[3]);
		token = argv[4];
		path = mjpeg ? argv[5] : "/api/events";
		n = atoi(argv[mjpeg ? 6 : 5]);
		seconds = atof(argv[mjpeg ? 7 : 6]);
	}
	cap_samples = 4000000;
	samples = malloc(sizeof(double) * (size_t)cap_samples);
	cs = calloc((size_t)n, sizeof(*cs));
	ep = epoll_create1(0);
	if (floor_mode) {
		fl.fds = floor_pairs(cs, n);
		fl.n = n;
		fl.seconds = seconds;
		ready = n;
		if (pthread_create(&writer, NULL, floor_writer, &fl) != 0)
			return 1;
	}
	for (int i = 0; i < n; i++) {
		if (!floor_mode)
			cs[i].fd = open_stream(host, port, token, path);
		cs[i].buf = malloc(BUF);
		ev.events = EPOLLIN;
		ev.data.ptr = &cs[i];
		epoll_ctl(ep, EPOLL_CTL_ADD, cs[i].fd, &ev);
		setsockopt(cs[i].fd, SOL_SOCKET, SO_TIMESTAMPNS, &(int){ 1 }, sizeof(int));
	}
	t_end = mono_s() + 30;	/* time allowed to get every stream going */
	for (;;) {
		double now = mono_s();
		if (!measuring && ready == n) {
			fprintf(stderr, "ready\n");
			measuring = 1;
			t_end = now + seconds + (floor_mode ? 0.5 : 0);
			atomic_store(&fl.go, 1);
		}
		if (now >= t_end)
			break;
		int k = epoll_wait(ep, evs, 256, 50);
		for (int i = 0; i < k; i++) {
			struct client *c = evs[i].data.ptr;
			struct iovec iov = { c->buf + c->len, BUF - c->len - 1 };
			char ctl[CMSG_SPACE(sizeof(struct timespec))];
			struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof(ctl) };
			ssize_t r = recvmsg(c->fd, &mh, 0);
			double at = now_us();

			for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
				if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_TIMESTAMPNS) {
					struct timespec ts;
					memcpy(&ts, CMSG_DATA(cm), sizeof(ts));
					at = (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
				}
			if (r <= 0) {
				if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
					epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
					close(c->fd);
				}
				continue;
			}
			c->len += (size_t)r;
			if (measuring && c->head_done)
				c->event_bytes += r;
			if (!c->head_done) {
				char *e = memmem(c->buf, c->len, "\r\n\r\n", 4);
				if (!e)
					continue;
				c->head_done = 1;
				e += 4;
				c->len -= (size_t)(e - c->buf);
				memmove(c->buf, e, c->len);
			}
			int was = c->ready;
			if (mjpeg)
				mjpeg_consume(c);
			else
				sse_consume(c, at);
			ready += c->ready && !was;
		}
	}
	if (!measuring) {
		fprintf(stderr, "only %d of %d streams started\n", ready, n);
		return 1;
	}
	if (mjpeg) {
		double *fps = malloc(sizeof(double) * (size_t)n);
		long frames = 0;
		long long bytes = 0;
		for (int i = 0; i < n; i++) {
			fps[i] = (double)cs[i].frames / seconds;
			frames += cs[i].frames;
			bytes += cs[i].bytes;
		}
		qsort(fps, (size_t)n, sizeof(double), cmp_double);
		printf("{\"viewers\":%d,\"frames\":%ld,\"fps_min\":%.2f,\"fps_median\":%.2f,\"fps_max\":%.2f,\"bytes\":%lld}\n",
		       n, frames, fps[0], fps[n / 2], fps[n - 1], bytes);
	} else {
		long long event_bytes = 0;
		for (int i = 0; i < n; i++)
			event_bytes += cs[i].event_bytes;
		if (floor_mode)
			pthread_join(writer, NULL);
		qsort(samples, (size_t)n_samples, sizeof(double), cmp_double);
		printf("{\"clients\":%d,\"events\":%ld,\"p50_us\":%.0f,\"p99_us\":%.0f,\"max_us\":%.0f,"
		       "\"event_bytes\":%lld", n, n_samples,
		       n_samples ? samples[n_samples / 2] : 0.0, n_samples ? samples[n_samples * 99 / 100] : 0.0,
		       n_samples ? samples[n_samples - 1] : 0.0, n_samples ? event_bytes / n_samples : 0);
		if (floor_mode)
			printf(",\"cores\":%.3f", fl.cores);
		printf("}\n");
	}
	return 0;
}
