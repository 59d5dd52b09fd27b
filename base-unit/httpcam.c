#include "httpcam.h"
#include "camera.h"
#include "multipart.h"
#include "util.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct httpcam {
	CURLM *multi;
	CURL *easy;			/* the request running, or NULL */
	char url[512];
	char userpwd[256];		/* "user:password", or "" */
	char cafile[256];
	int interval_ms;
	struct { curl_socket_t fd; short events; } socks[HTTPCAM_SOCKETS];
	int n_socks;
	uint64_t curl_due;		/* curl's own timer, or UINT64_MAX */
	uint64_t next_start;		/* no request running: when the next starts */
	uint64_t frame_deadline;	/* a request running: a whole frame by then */
	uint64_t backoff, last_taken, now;
	bool stream_known, stream, aborted_big;
	struct multipart mp;
	uint8_t *body;			/* a snapshot's body, or the stream part taken */
	size_t body_len;
	bool have_frame;
	char errbuf[CURL_ERROR_SIZE];
	char why[CURL_ERROR_SIZE + 64];
	struct httpcam_stats counted;	/* since the last event */
	struct multipart_stats mp_seen;	/* the parser's counts already in counted */
};

static int on_socket(CURL *e, curl_socket_t s, int what, void *userp, void *socketp)
{
	struct httpcam *h = userp;
	int i;

	(void)e;
	(void)socketp;
	for (i = 0; i < h->n_socks && h->socks[i].fd != s; i++)
		;
	if (what == CURL_POLL_REMOVE) {
		if (i < h->n_socks)
			h->socks[i] = h->socks[--h->n_socks];
		return 0;
	}
	if (i == h->n_socks) {
		if (h->n_socks == HTTPCAM_SOCKETS)
			return -1;
		h->n_socks++;
	}
	h->socks[i].fd = s;
	h->socks[i].events = (short)((what & CURL_POLL_IN ? POLLIN : 0) | (what & CURL_POLL_OUT ? POLLOUT : 0));
	return 0;
}

static int on_timer(CURLM *m, long timeout_ms, void *userp)
{
	struct httpcam *h = userp;

	(void)m;
	h->curl_due = timeout_ms < 0 ? UINT64_MAX : now_ms() + (uint64_t)timeout_ms;
	return 0;
}

/* A whole stream part: taken when its interval has passed, else counted. */
static void on_part(void *ctx, const uint8_t *data, size_t len)
{
	struct httpcam *h = ctx;

	h->frame_deadline = h->now + PULL_TIMEOUT_MS;
	if (h->have_frame || (h->last_taken && h->now - h->last_taken < (uint64_t)h->interval_ms)) {
		h->counted.skipped++;
		return;
	}
	memcpy(h->body, data, len);
	h->body_len = len;
	h->have_frame = true;
	h->last_taken = h->now;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *userp)
{
	struct httpcam *h = userp;
	size_t n = size * nmemb;

	if (!h->stream_known) {
		char *ct = NULL, sniffed[MULTIPART_BOUNDARY_MAX + 48];

		curl_easy_getinfo(h->easy, CURLINFO_CONTENT_TYPE, &ct);
		h->stream_known = true;
		memset(&h->mp_seen, 0, sizeof(h->mp_seen));
		/* A server that does not say multipart (ffmpeg's says
		 * application/octet-stream) but whose body begins with a
		 * delimiter line is a stream with that boundary. */
		if (!multipart_is_stream(ct) && n > 2 && !memcmp(data, "--", 2)) {
			const char *nl = memchr(data, '\n', n < MULTIPART_BOUNDARY_MAX + 4 ? n : MULTIPART_BOUNDARY_MAX + 4);
			int k = nl ? (int)(nl - data) - 2 : 0;

			if (k > 0 && data[k + 1] == '\r')
				k--;
			if (k > 0) {
				snprintf(sniffed, sizeof(sniffed), "multipart/x-mixed-replace;boundary=%.*s", k, data + 2);
				ct = sniffed;
			}
		}
		h->stream = multipart_is_stream(ct);
		if (h->stream && !multipart_init(&h->mp, ct, IC_FRAME_MAX))
			return 0;
	}
	if (h->stream) {
		multipart_feed(&h->mp, (const uint8_t *)data, n, on_part, h);
		h->counted.too_big += h->mp.stats.too_big - h->mp_seen.too_big;
		h->counted.bad += h->mp.stats.bad - h->mp_seen.bad;
		h->mp_seen = h->mp.stats;
		return n;
	}
	if (n > IC_FRAME_MAX - h->body_len) {
		h->aborted_big = true;
		h->counted.too_big++;
		return 0;
	}
	memcpy(h->body + h->body_len, data, n);
	h->body_len += n;
	return n;
}

struct httpcam *httpcam_new(const char *url, int interval_ms, const char *auth_file, const char *cafile,
			    char *err, size_t errlen)
{
	static bool global;
	struct httpcam *h;

	if (!global) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
			snprintf(err, errlen, "libcurl did not start");
			return NULL;
		}
		global = true;
	}
	if (!(h = calloc(1, sizeof(*h))) || !(h->body = malloc(IC_FRAME_MAX)) || !(h->multi = curl_multi_init())) {
		httpcam_free(h);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	snprintf(h->url, sizeof(h->url), "%s", url);
	snprintf(h->cafile, sizeof(h->cafile), "%s", cafile ? cafile : "");
	h->interval_ms = interval_ms;
	h->backoff = 1000;
	h->curl_due = UINT64_MAX;
	if (auth_file && *auth_file) {
		FILE *f = fopen(auth_file, "r");

		if (!f || !fgets(h->userpwd, sizeof(h->userpwd), f) || !strchr(h->userpwd, ':')) {
			snprintf(err, errlen, "cannot read 'user:password' from %s: %s", auth_file,
				 f ? "no such line" : strerror(errno));
			if (f)
				fclose(f);
			httpcam_free(h);
			return NULL;
		}
		fclose(f);
		h->userpwd[strcspn(h->userpwd, "\r\n")] = '\0';
	}
	curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
	curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h);
	curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, on_timer);
	curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h);
	curl_multi_setopt(h->multi, CURLMOPT_MAXCONNECTS, 1L);
	return h;
}

static void stop_request(struct httpcam *h)
{
	if (h->easy) {
		curl_multi_remove_handle(h->multi, h->easy);
		curl_easy_cleanup(h->easy);
		h->easy = NULL;
	}
	multipart_free(&h->mp);
	h->curl_due = UINT64_MAX;
	/* the sockets stay as curl says: a connection it keeps for the next
	 * request is watched too (a camera that keeps it alive) */
}

void httpcam_free(struct httpcam *h)
{
	if (!h)
		return;
	stop_request(h);
	if (h->multi)
		curl_multi_cleanup(h->multi);
	explicit_bzero(h->userpwd, sizeof(h->userpwd));
	free(h->body);
	free(h);
}

/* The next request after the backoff, which doubles up to its bound. */
static void back_off(struct httpcam *h, uint64_t now)
{
	h->next_start = now + h->backoff;
	h->backoff = h->backoff * 2 > PULL_BACKOFF_MAX_MS ? PULL_BACKOFF_MAX_MS : h->backoff * 2;
}

static void failed(struct httpcam *h, const char *why, struct httpcam_event *ev)
{
	stop_request(h);
	snprintf(h->why, sizeof(h->why), "%s", why);
	ev->failed = h->why;
	ev->frame = NULL;
	back_off(h, h->now);
}

void httpcam_refused(struct httpcam *h, uint64_t now)
{
	if (!h->easy)
		back_off(h, now);
}

static void start(struct httpcam *h, struct httpcam_event *ev)
{
	CURL *e = curl_easy_init();

	if (!e) {
		failed(h, "out of memory", ev);
		return;
	}
	h->easy = e;
	h->stream_known = h->stream = h->aborted_big = false;
	h->body_len = 0;
	h->errbuf[0] = '\0';
	h->frame_deadline = h->now + PULL_TIMEOUT_MS;
	curl_easy_setopt(e, CURLOPT_URL, h->url);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_FAILONERROR, 1L);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)PULL_TIMEOUT_MS);
	curl_easy_setopt(e, CURLOPT_MAX_RECV_SPEED_LARGE, (curl_off_t)HTTPCAM_MAX_BYTES_PER_S);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, h);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, h->errbuf);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "intercom-base-unit");
	if (h->userpwd[0]) {
		curl_easy_setopt(e, CURLOPT_USERPWD, h->userpwd);
		curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long)(CURLAUTH_BASIC | CURLAUTH_DIGEST));
	}
	if (h->cafile[0])
		curl_easy_setopt(e, CURLOPT_CAINFO, h->cafile);
	if (curl_multi_add_handle(h->multi, e) != CURLM_OK) {
		failed(h, "libcurl refused the request", ev);
		return;
	}
}

/* What curl finished: a snapshot's body is a frame; a stream that ended, or
 * any error, is a failure. */
static void collect(struct httpcam *h, struct httpcam_event *ev)
{
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(h->multi, &left))) {
		CURLcode rc;

		if (m->msg != CURLMSG_DONE)
			continue;
		rc = m->data.result;
		if (h->aborted_big) {
			failed(h, "sent more than a frame may hold", ev);
		} else if (rc != CURLE_OK) {
			char why[CURL_ERROR_SIZE + 32];

			snprintf(why, sizeof(why), "%s", h->errbuf[0] ? h->errbuf : curl_easy_strerror(rc));
			failed(h, why, ev);
		} else if (h->stream) {
			failed(h, "the stream ended", ev);
		} else {
			stop_request(h);
			h->have_frame = true;
			h->next_start = h->now + (uint64_t)h->interval_ms;
		}
		return;
	}
}

static void take(struct httpcam *h, struct httpcam_event *ev)
{
	if (h->have_frame && !ev->failed) {
		ev->frame = h->body;
		ev->len = h->body_len;
		h->backoff = 1000;
	}
	h->have_frame = false;
	ev->counted = h->counted;
	memset(&h->counted, 0, sizeof(h->counted));
}

int httpcam_pollfds(struct httpcam *h, struct pollfd *p, int max)
{
	int n = 0;

	for (int i = 0; i < h->n_socks && n < max; i++)
		p[n++] = (struct pollfd){ .fd = h->socks[i].fd, .events = h->socks[i].events };
	return n;
}

void httpcam_handle(struct httpcam *h, const struct pollfd *p, int n, uint64_t now, struct httpcam_event *ev)
{
	int running;

	memset(ev, 0, sizeof(*ev));
	h->now = now;
	for (int k = 0; k < n && h->easy; k++) {
		int mask = 0;

		for (int i = 0; i < h->n_socks; i++)
			if (h->socks[i].fd == p[k].fd) {
				mask = (p[k].revents & (POLLIN | POLLHUP) ? CURL_CSELECT_IN : 0) |
				       (p[k].revents & POLLOUT ? CURL_CSELECT_OUT : 0) |
				       (p[k].revents & POLLERR ? CURL_CSELECT_ERR : 0);
				break;
			}
		if (mask)
			curl_multi_socket_action(h->multi, p[k].fd, mask, &running);
	}
	collect(h, ev);
	take(h, ev);
}

void httpcam_tick(struct httpcam *h, uint64_t now, struct httpcam_event *ev)
{
	int running;

	memset(ev, 0, sizeof(*ev));
	h->now = now;
	if (!h->easy && now >= h->next_start) {
		start(h, ev);
	} else if (h->easy && now >= h->frame_deadline) {
		failed(h, "no whole frame within the time bound", ev);
		take(h, ev);
		return;
	}
	if (h->easy && now >= h->curl_due) {
		h->curl_due = UINT64_MAX;
		curl_multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	}
	collect(h, ev);
	take(h, ev);
}

uint64_t httpcam_next_ms(const struct httpcam *h, uint64_t now)
{
	uint64_t t = h->easy ? (h->curl_due < h->frame_deadline ? h->curl_due : h->frame_deadline) : h->next_start;

	return t > now ? t - now : 0;
}
