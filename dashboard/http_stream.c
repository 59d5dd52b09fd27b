#include "http_int.h"
#include "log.h"
#include "util.h"
#include "parse.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct stream {
	struct http *h;
	struct MHD_Connection *conn;
	char id[DEVICE_ID_MAX + 1];
	bool mjpeg;
	uint64_t seq;			/* SSE: last event sent; MJPEG: frame generation */
	uint64_t quiet_until;		/* SSE: a keepalive then; MJPEG: the same frame again then */
	char *text;			/* SSE: what is being written */
	size_t len, off;
	struct jpeg *frame;		/* MJPEG: the part being written */
	char head[128];
	size_t head_len;
	struct parked parked;
};

static ssize_t copy_out(const void *src, size_t len, size_t *off, char *buf, size_t max)
{
	size_t n = len - *off < max ? len - *off : max;

	memcpy(buf, (const char *)src + *off, n);
	*off += n;
	return (ssize_t)n;
}

/* Between events the connection is parked: no thread waits for it. */
static ssize_t sse_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct stream *s = cls;
	bool stopped = false;

	(void)pos;
	while (!s->text || s->off == s->len) {
		uint64_t gen = park_gen(&s->h->park);

		free(s->text);
		s->off = 0;
		s->text = store_events_wait(s->h->store, &s->seq, 0, &s->len, &stopped);
		if (stopped || s->h->stopping)
			return MHD_CONTENT_READER_END_OF_STREAM;
		if (!s->text && now_ms() >= s->quiet_until) {
			/* quiet: a comment keeps proxies and NATs from closing the stream */
			if (!(s->text = strdup(": keepalive\n\n")))
				return MHD_CONTENT_READER_END_WITH_ERROR;
			s->len = strlen(s->text);
		}
		if (s->text) {
			s->quiet_until = now_ms() + SSE_KEEPALIVE_MS;
			break;
		}
		if (park(&s->h->park, &s->parked, s->conn, PARK_EVENTS, NULL, s->quiet_until, gen))
			return 0;	/* resumed by the next event or the keepalive's time */
	}
	return copy_out(s->text, s->len, &s->off, buf, max);
}

static ssize_t mjpeg_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct stream *s = cls;
	bool stopped = false;

	(void)pos;
	for (;;) {
		uint64_t gen;

		if (s->frame) {
			size_t total = s->head_len + s->frame->len + 2;
			if (s->off < s->head_len)
				return copy_out(s->head, s->head_len, &s->off, buf, max);
			if (s->off < s->head_len + s->frame->len) {
				size_t o = s->off - s->head_len;
				ssize_t n = copy_out(s->frame->data, s->frame->len, &o, buf, max);
				s->off += (size_t)n;
				return n;
			}
			if (s->off < total) {
				size_t o = s->off - s->head_len - s->frame->len;
				ssize_t n = copy_out("\r\n", 2, &o, buf, max);
				s->off += (size_t)n;
				return n;
			}
			store_frame_put(s->h->store, s->frame);
			s->frame = NULL;
		}
		/* The newest frame only: whatever came while we were writing is skipped. */
		gen = park_gen(&s->h->park);
		s->frame = store_frame_wait(s->h->store, s->id, &s->seq, 0, &stopped);
		if (stopped || s->h->stopping)
			return MHD_CONTENT_READER_END_OF_STREAM;
		if (!s->frame && now_ms() >= s->quiet_until &&	/* a still camera: the same frame again */
		    !(s->frame = store_frame_get(s->h->store, s->id, false)))
			return MHD_CONTENT_READER_END_OF_STREAM;	/* the device is gone */
		if (!s->frame) {
			if (park(&s->h->park, &s->parked, s->conn, PARK_FRAME, s->id, s->quiet_until, gen))
				return 0;	/* resumed by its next frame or the repeat's time */
			continue;
		}
		s->quiet_until = now_ms() + MJPEG_REPEAT_MS;
		s->head_len = (size_t)snprintf(s->head, sizeof(s->head),
					       "--frame\r\nContent-Type: image/jpeg\r\nContent-Length: %zu\r\n\r\n",
					       s->frame->len);
		s->off = 0;
	}
}

static void stream_free(void *cls)
{
	struct stream *s = cls;

	store_count(s->h->store, s->mjpeg ? DASH_MJPEG_VIEWERS : DASH_SSE_CLIENTS, -1);
	free(s->text);
	store_frame_put(s->h->store, s->frame);
	free(s);
}

enum MHD_Result start_stream(struct http *h, struct MHD_Connection *conn, const char *id, bool mjpeg)
{
	struct stream *s = calloc(1, sizeof(*s));
	struct MHD_Response *r;

	if (!s)
		return MHD_NO;
	s->h = h;
	s->conn = conn;
	s->mjpeg = mjpeg;
	/* SSE: a keepalive after a quiet while; MJPEG: the newest frame at once
	 * (or the first one, when it comes within MJPEG_REPEAT_MS) */
	s->quiet_until = now_ms() + (mjpeg ? MJPEG_REPEAT_MS : SSE_KEEPALIVE_MS);
	if (id)
		snprintf(s->id, sizeof(s->id), "%s", id);
	if (!mjpeg && !(s->text = store_events_start(h->store, &s->seq, &s->len))) {
		free(s);
		return MHD_NO;
	}
	store_count(h->store, mjpeg ? DASH_MJPEG_VIEWERS : DASH_SSE_CLIENTS, 1);
	r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 32 * 1024, mjpeg ? mjpeg_read : sse_read, s,
					      stream_free);
	if (!r) {
		stream_free(s);
		return MHD_NO;
	}
	MHD_add_response_header(r, "X-Accel-Buffering", "no");
	return send_response(h, conn, MHD_HTTP_OK, r,
			     mjpeg ? "multipart/x-mixed-replace; boundary=frame" : "text/event-stream", false);
}

/* The newest frame, or with ?size=thumb the thumbnail (a few kB: what the
 * overview shows). Its ETag is its generation, so a page that polls a camera
 * gets 304 and no bytes until a new frame came; X-Frame-Age-Ms says how long
 * ago it reached the dashboard. */
enum MHD_Result do_snapshot(struct http *h, struct MHD_Connection *conn, const char *id)
{
	const char *size = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "size");
	bool thumb = size && !strcmp(size, "thumb");
	struct jpeg *f = store_frame_get(h->store, id, thumb);
	const char *inm = header(conn, "If-None-Match");
	struct MHD_Response *r;
	char etag[48], age[24];
	unsigned status = MHD_HTTP_OK;

	if (!f)
		return send_error(h, conn, MHD_HTTP_NOT_FOUND, "no frame from this camera yet");
	snprintf(etag, sizeof(etag), "\"%llu-%llu\"", (unsigned long long)f->gen, (unsigned long long)f->at_ms);
	snprintf(age, sizeof(age), "%llu", (unsigned long long)(now_ms() - f->at_ms));
	if (inm && !strcmp(inm, etag)) {
		r = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
		status = MHD_HTTP_NOT_MODIFIED;
	} else {
		r = MHD_create_response_from_buffer(f->len, f->data, MHD_RESPMEM_MUST_COPY);
	}
	store_frame_put(h->store, f);
	if (r) {
		MHD_add_response_header(r, "ETag", etag);
		MHD_add_response_header(r, "X-Frame-Age-Ms", age);
	}
	return send_response(h, conn, status, r, status == MHD_HTTP_OK ? "image/jpeg" : NULL, true);
}

/* --- routing --- */
