#include "camera.h"
#include "camera_int.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <netinet/tcp.h>

struct camera *camera_new(struct camera_stats *stats)
{
	struct camera *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->stats = stats;
	c->listen_fd[0] = c->listen_fd[1] = -1;
	c->pull_fd = -1;
	return c;
}

static void client_close(struct camera *c, int i)
{
	close(c->clients[i].fd);
	frame_unref(c->clients[i].f);
	c->clients[i] = c->clients[--c->n_clients];
}

void camera_free(struct camera *c)
{
	if (!c)
		return;
	while (c->n_clients)
		client_close(c, 0);
	for (int f = 0; f < 2; f++)
		if (c->listen_fd[f] >= 0)
			close(c->listen_fd[f]);
	camera_pull_free(c);
	free(c->motion);
	frame_unref(c->motion_best);
	frame_unref(c->latest);
	frame_unref(c->pending);
	free(c->thumb);
	reassembly_free(&c->ra);
	free(c);
}

bool camera_motion_setup(struct camera *c, const struct motion_conf *conf)
{
	if (!(c->motion = malloc(sizeof(*c->motion))))
		return false;
	motion_init(c->motion, conf);
	return true;
}

/* A frame that passed the check, to motion (its pixels are the checker's). */
static void motion_look(struct camera *c, struct jpeg_checker *jc, struct frame *f)
{
	struct motion_event ev;
	const uint8_t *px;
	int w, h;

	if (!c->motion || !motion_due(c->motion, f->at_ms) || !(px = jpeg_checker_pixels(jc, &w, &h)))
		return;
	if (motion_feed(c->motion, px, w, h, f->at_ms, &ev)) {
		c->motion_ev = ev;
		c->motion_news = true;
	}
	if (c->motion->best_new) {
		frame_unref(c->motion_best);
		c->motion_best = frame_ref(f);
	}
}

void camera_motion_check(struct camera *c, struct jpeg_checker *jc, uint64_t now)
{
	if (c->motion && c->pending && motion_due(c->motion, now))
		camera_check(c, jc);
}

void camera_check(struct camera *c, struct jpeg_checker *jc)
{
	struct frame *f = c->pending;
	uint32_t w, h;
	uint8_t *thumb;
	size_t thumb_len;

	if (!f)
		return;
	c->pending = NULL;
	if (!jpeg_check(jc, f->data, f->len, &w, &h, &thumb, &thumb_len)) {
		c->stats->corrupt++;
		frame_unref(f);
		return;
	}
	f->width = w;
	f->height = h;
	frame_unref(c->latest);
	c->latest = f;
	if (thumb) {
		free(c->thumb);
		c->thumb = thumb;
		c->thumb_len = thumb_len;
	}
	c->stats->frames++;
	motion_look(c, jc, f);
}

bool camera_offer(struct camera *c, struct jpeg_checker *jc, const uint8_t *jpeg, size_t len, uint64_t now)
{
	struct frame *f = frame_new(jpeg, len);

	if (!f)
		return false;
	f->at_ms = now;
	if (c->pending) {	/* an older intercom frame nobody took */
		c->stats->unchecked++;
		frame_unref(c->pending);
	}
	c->pending = f;
	camera_check(c, jc);
	return c->latest == f;	/* it passed the check */
}

const struct frame *camera_to_publish(struct camera *c, struct jpeg_checker *jc, uint64_t now, int interval_ms)
{
	if (now - c->last_publish < (uint64_t)interval_ms)
		return NULL;
	camera_check(c, jc);
	if (!c->latest || c->latest->at_ms <= c->last_publish_frame)
		return NULL;
	c->last_publish = now;
	c->last_publish_frame = c->latest->at_ms;
	return c->latest;
}

bool camera_fragment(struct camera *c, const struct ic_fragment *f, uint64_t now)
{
	bool abandoned;
	struct frame *fr;

	switch (reassembly_add(&c->ra, f, now, &abandoned)) {
	case RA_COMPLETE:
		if (abandoned)
			c->stats->incomplete++;
		if (!(fr = frame_new(c->ra.buf, c->ra.total)))
			return false;
		fr->at_ms = now;
		if (c->pending) {
			c->stats->unchecked++;
			frame_unref(c->pending);
		}
		c->pending = fr;
		return true;
	case RA_STALE:
		c->stats->stale++;
		break;
	case RA_INCONSISTENT:
		c->stats->corrupt++;
		break;
	default:
		break;
	}
	if (abandoned)
		c->stats->incomplete++;
	return false;
}

int camera_tcp_socket(int family)
{
	return socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
}

/* addr may name an IPv4 and an IPv6 address (localhost): a socket each. */
int camera_listen(struct camera *c, const char *addr)
{
	struct sockaddr_storage ss[2];
	socklen_t sl[2];
	int fd, one = 1, ret;

	if (addr_listen_set(ss, sl, addr) <= 0)
		return -EINVAL;
	for (int f = 0; f < 2; f++) {
		if (ss[f].ss_family == AF_UNSPEC)
			continue;
		fd = camera_tcp_socket(ss[f].ss_family);
		if (fd < 0)
			return -errno;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if ((ret = addr_bind(fd, &ss[f], sl[f])) < 0 || (listen(fd, 64) < 0 && (ret = -errno))) {
			close(fd);
			return ret;
		}
		c->listen_fd[f] = fd;
	}
	return 0;
}

int camera_pollfds(struct camera *c, struct pollfd *p, int max)
{
	int n = 0;

	if (max <= 0)
		return 0;
	for (int f = 0; f < 2; f++)
		if (c->listen_fd[f] >= 0 && n < max && c->n_clients < CAMERA_CLIENTS_MAX)
			p[n++] = (struct pollfd){ .fd = c->listen_fd[f], .events = POLLIN };
	for (int i = 0; i < c->n_clients && n < max; i++)
		p[n++] = (struct pollfd){ .fd = c->clients[i].fd, .events = POLLOUT };
	return n + camera_pull_pollfds(c, p + n, max - n);
}

static void accept_clients(struct camera *c, struct jpeg_checker *jc, int lfd, uint64_t now)
{
	camera_check(c, jc);	/* a client takes the newest sound frame */
	while (c->n_clients < CAMERA_CLIENTS_MAX) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0)
			return;
		if (!c->latest) {	/* nothing to give yet */
			close(fd);
			continue;
		}
		c->stats->clients++;
		c->clients[c->n_clients++] = (struct tcp_client){
			.fd = fd, .f = frame_ref(c->latest), .off = 0, .deadline = now + CAMERA_CLIENT_MS };
	}
}

/* Writes what the socket takes; true when the client is finished (done or gone). */
static bool client_write(struct tcp_client *t)
{
	while (t->off < t->f->len) {
		ssize_t n = send(t->fd, t->f->data + t->off, t->f->len - t->off, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0)
			return errno != EAGAIN && errno != EINTR;
		t->off += (size_t)n;
	}
	return true;
}

void camera_handle(struct camera *c, struct jpeg_checker *jc, const struct pollfd *p, int n, uint64_t now,
		   bool *new_frame, bool *availability)
{
	*new_frame = *availability = false;
	camera_pull_handle(c, jc, p, n, now, new_frame, availability);
	for (int k = 0; k < n; k++) {
		if (!p[k].revents)
			continue;
		if (p[k].fd == c->listen_fd[0] || p[k].fd == c->listen_fd[1]) {
			accept_clients(c, jc, p[k].fd, now);
		} else {
			for (int i = 0; i < c->n_clients; i++)
				if (c->clients[i].fd == p[k].fd) {
					if (client_write(&c->clients[i]))
						client_close(c, i);
					break;
				}
		}
	}
}

void camera_tick(struct camera *c, struct jpeg_checker *jc, uint64_t now, bool *new_frame, bool *availability)
{
	*new_frame = *availability = false;
	if (c->motion) {
		struct motion_event ev;

		if (motion_tick(c->motion, now, &ev)) {
			c->motion_ev = ev;
			c->motion_news = true;
		}
	}
	if (reassembly_expire(&c->ra, now))
		c->stats->incomplete++;
	for (int i = c->n_clients - 1; i >= 0; i--)
		if (now >= c->clients[i].deadline)
			client_close(c, i);
	camera_pull_tick(c, jc, now, new_frame, availability);
}

uint64_t camera_next_ms(const struct camera *c, uint64_t now)
{
	uint64_t t = camera_pull_next_ms(c, now), m = c->motion ? motion_next_ms(c->motion, now) : UINT64_MAX;

	return m < t ? m : t;
}
