/*
 * A camera's pull side: the base unit fetches its frames, from a camera that
 * serves one JPEG per plain TCP connection, or over HTTP (httpcam.c). Each
 * pull that fails is counted and backs off; the camera is online while its
 * pulls succeed.
 */
#include "camera.h"
#include "camera_int.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>

static void pull_connect_failed(struct camera *c, uint64_t now, const char *why, bool *availability);
static void pull_start(struct camera *c, uint64_t now, bool *availability);

static void pull_close(struct camera *c)
{
	if (c->pull_fd >= 0)
		close(c->pull_fd);
	c->pull_fd = -1;
	c->pull_len = 0;
}

int camera_pull_setup(struct camera *c, const char *addr, int interval_ms)
{
	c->n_pull_addrs = addr_parse_all(c->pull_addrs, c->pull_addr_lens, 4, addr, false);
	if (c->n_pull_addrs <= 0)
		return -EINVAL;
	snprintf(c->pull_text, sizeof(c->pull_text), "%s", addr);
	c->pull = true;
	c->pull_interval_ms = interval_ms;
	c->pull_backoff = 1000;
	c->pull_state = PULL_WAIT;
	c->pull_next = 0;
	return 0;
}

/* A pull that failed: counted, said once at warning level, offline. */
static void pull_down(struct camera *c, const char *why, bool *availability)
{
	c->stats->pulls_failed++;
	if (c->pull_ok) {
		log_warn("pull camera %s: %s; it is offline", c->pull_text, why);
		c->pull_ok = false;
		*availability = true;
	} else if (!c->pull_warned) {
		/* say once why a camera never came up; then retry quietly */
		log_warn("pull camera %s: %s; retrying with backoff", c->pull_text, why);
	} else {
		log_debug("pull camera %s: %s", c->pull_text, why);
	}
	c->pull_warned = true;
}

static void pull_up(struct camera *c, bool *availability)
{
	if (!c->pull_ok) {
		log_info("pull camera %s online", c->pull_text);
		c->pull_ok = true;
		*availability = true;
	}
}

static void pull_failed(struct camera *c, uint64_t now, const char *why, bool *availability)
{
	pull_close(c);
	pull_down(c, why, availability);
	c->pull_state = PULL_WAIT;
	c->pull_next = now + c->pull_backoff;
	c->pull_backoff = c->pull_backoff * 2 > PULL_BACKOFF_MAX_MS ? PULL_BACKOFF_MAX_MS : c->pull_backoff * 2;
}

static void pull_read(struct camera *c, struct jpeg_checker *jc, uint64_t now, bool *new_frame, bool *availability)
{
	for (;;) {
		ssize_t n;

		if (c->pull_len == IC_FRAME_MAX) {
			/* the bound: a camera that sends more is not sending one frame */
			c->stats->too_big++;
			pull_failed(c, now, "sent more than a frame may hold", availability);
			return;
		}
		n = recv(c->pull_fd, c->pull_buf + c->pull_len, IC_FRAME_MAX - c->pull_len, MSG_DONTWAIT);
		if (n > 0) {
			c->pull_len += (size_t)n;
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n < 0) {
			pull_failed(c, now, strerror(errno), availability);
			return;
		}
		break;	/* closed: that is one frame */
	}
	if (!camera_offer(c, jc, c->pull_buf, c->pull_len, now)) {
		pull_failed(c, now, "sent a frame that is not a sound JPEG", availability);
		return;
	}
	pull_close(c);
	*new_frame = true;
	pull_up(c, availability);
	c->pull_backoff = 1000;
	c->pull_state = PULL_WAIT;
	c->pull_next = now + (uint64_t)c->pull_interval_ms;
}


bool camera_http_setup(struct camera *c, const char *url, int interval_ms, const char *auth_file, const char *cafile,
		       char *err, size_t errlen)
{
	if (!(c->http = httpcam_new(url, interval_ms, auth_file, cafile, err, errlen)))
		return false;
	snprintf(c->pull_text, sizeof(c->pull_text), "%s", url);
	c->pull = true;
	return true;
}

/* What an HTTP camera's request brought: a frame checked and stored, or a failure. */
static void http_event(struct camera *c, struct jpeg_checker *jc, const struct httpcam_event *ev, uint64_t now,
		       bool *new_frame, bool *availability)
{
	if (ev->frame) {
		if (camera_offer(c, jc, ev->frame, ev->len, now)) {
			*new_frame = true;
			pull_up(c, availability);
		} else {
			httpcam_refused(c->http, now);
			pull_down(c, "sent a frame that is not a sound JPEG", availability);
		}
	}
	if (ev->failed)
		pull_down(c, ev->failed, availability);
	c->stats->too_big += ev->counted.too_big;
	c->stats->corrupt += ev->counted.bad;
	c->stats->skipped += ev->counted.skipped;
}

/* The connection to one address failed before a byte came: the next
 * address at once, if the name has another; else a failure as any other. */
static void pull_connect_failed(struct camera *c, uint64_t now, const char *why, bool *availability)
{
	if (c->pull_cur + 1 < c->n_pull_addrs) {
		char text[INET6_ADDRSTRLEN + 8];

		addr_format(text, sizeof(text), (struct sockaddr *)&c->pull_addrs[c->pull_cur]);
		log_debug("pull camera %s: %s: %s; trying its next address", c->pull_text, text, why);
		pull_close(c);
		c->pull_cur++;
		pull_start(c, now, availability);
		return;
	}
	c->pull_cur = 0;
	pull_failed(c, now, why, availability);
}

static void pull_start(struct camera *c, uint64_t now, bool *availability)
{
	const struct sockaddr_storage *to = &c->pull_addrs[c->pull_cur];
	int fd = camera_tcp_socket(to->ss_family);

	if (fd < 0) {
		pull_failed(c, now, strerror(errno), availability);
		return;
	}
	if (!c->pull_buf && !(c->pull_buf = malloc(IC_FRAME_MAX))) {
		close(fd);
		return;
	}
	c->pull_fd = fd;
	c->pull_len = 0;
	c->pull_deadline = now + PULL_TIMEOUT_MS;
	if (connect(fd, (const struct sockaddr *)to, c->pull_addr_lens[c->pull_cur]) == 0)
		c->pull_state = PULL_READING;
	else if (errno == EINPROGRESS)
		c->pull_state = PULL_CONNECTING;
	else
		pull_connect_failed(c, now, strerror(errno), availability);
}

void camera_pull_free(struct camera *c)
{
	pull_close(c);
	free(c->pull_buf);
	httpcam_free(c->http);
}

int camera_pull_pollfds(struct camera *c, struct pollfd *p, int max)
{
	int n = 0;

	if (c->pull_fd >= 0 && n < max)
		p[n++] = (struct pollfd){ .fd = c->pull_fd,
					  .events = c->pull_state == PULL_CONNECTING ? POLLOUT : POLLIN };
	if (c->http)
		n += httpcam_pollfds(c->http, p + n, max - n);
	return n;
}

void camera_pull_handle(struct camera *c, struct jpeg_checker *jc, const struct pollfd *p, int n, uint64_t now,
			bool *new_frame, bool *availability)
{
	if (c->http) {
		struct httpcam_event ev;

		httpcam_handle(c->http, p, n, now, &ev);
		http_event(c, jc, &ev, now, new_frame, availability);
		return;
	}
	for (int k = 0; k < n; k++) {
		if (!p[k].revents || p[k].fd != c->pull_fd || c->pull_fd < 0)
			continue;
		if (c->pull_state == PULL_CONNECTING) {
			int err = 0;
			socklen_t l = sizeof(err);

			getsockopt(c->pull_fd, SOL_SOCKET, SO_ERROR, &err, &l);
			if (err) {
				pull_connect_failed(c, now, strerror(err), availability);
				return;
			}
			c->pull_state = PULL_READING;
		} else {
			pull_read(c, jc, now, new_frame, availability);
		}
		return;
	}
}

void camera_pull_tick(struct camera *c, struct jpeg_checker *jc, uint64_t now, bool *new_frame, bool *availability)
{
	if (c->http) {
		struct httpcam_event ev;

		httpcam_tick(c->http, now, &ev);
		http_event(c, jc, &ev, now, new_frame, availability);
		return;
	}
	if (!c->pull)
		return;
	if (c->pull_state == PULL_WAIT && now >= c->pull_next)
		pull_start(c, now, availability);
	else if (c->pull_state != PULL_WAIT && now >= c->pull_deadline)
		pull_failed(c, now, "no whole frame within the time bound", availability);
}

uint64_t camera_pull_next_ms(const struct camera *c, uint64_t now)
{
	uint64_t t;

	if (c->http)
		return httpcam_next_ms(c->http, now);
	if (!c->pull)
		return UINT64_MAX;
	t = c->pull_state == PULL_WAIT ? c->pull_next : c->pull_deadline;
	return t > now ? t - now : 0;
}
