#include "http_int.h"
#include "log.h"
#include "parse.h"
#include "recorder.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* /api/recordings...: the recorder's events (docs/dashboard.md). Every id is
 * a number looked up in the database; nothing from the URL names a file. */

#define LIST_DEFAULT 50
#define LIST_MAX 500

/* A decimal number of 1 to 18 digits, nothing else; end: what follows it. */
static bool number(const char *s, int64_t *out, const char **end)
{
	int64_t v = 0;
	int n = 0;

	while (s[n] >= '0' && s[n] <= '9' && n < 18)
		v = v * 10 + (s[n++] - '0');
	if (!n || (s[n] >= '0' && s[n] <= '9'))
		return false;
	*out = v;
	*end = s + n;
	return true;
}

static enum MHD_Result send_jpeg(struct http *h, struct MHD_Connection *conn, void *data, size_t len)
{
	struct MHD_Response *r;

	if (!data)
		return send_error(h, conn, MHD_HTTP_NOT_FOUND, "no such recording or frame");
	r = MHD_create_response_from_buffer(len, data, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(data);
		return MHD_NO;
	}
	MHD_add_response_header(r, "Content-Type", "image/jpeg");
	security_headers(h, r, false);
	/* A recorded frame never changes: the player's second pass is free. */
	MHD_del_response_header(r, "Cache-Control", "no-store");
	MHD_add_response_header(r, "Cache-Control", "private, max-age=86400, immutable");
	{
		enum MHD_Result ret = MHD_queue_response(conn, MHD_HTTP_OK, r);
		MHD_destroy_response(r);
		return ret;
	}
}

static ssize_t clip_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
	ssize_t n;

	(void)pos;
	n = recorder_clip_read(cls, buf, max);
	if (n < 0)
		return MHD_CONTENT_READER_END_WITH_ERROR;
	return n ? n : MHD_CONTENT_READER_END_OF_STREAM;
}

static void clip_free(void *cls)
{
	recorder_clip_close(cls);
}

static enum MHD_Result send_clip(struct http *h, struct MHD_Connection *conn, int64_t id)
{
	char name[96], disp[160];
	struct clip *c = recorder_clip_open(h->rec, id, name, sizeof(name));
	struct MHD_Response *r;

	if (!c)
		return send_error(h, conn, MHD_HTTP_NOT_FOUND, "no such recording (or it is still recording)");
	if (!(r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64 * 1024, clip_reader, c, clip_free)))
		return MHD_NO;
	snprintf(disp, sizeof(disp), "attachment; filename=\"%s\"", name);
	MHD_add_response_header(r, "Content-Disposition", disp);
	return send_response(h, conn, MHD_HTTP_OK, r, "multipart/x-mixed-replace; boundary=" RECORDER_BOUNDARY, false);
}

enum MHD_Result route_recordings(struct http *h, struct MHD_Connection *conn, bool get, const char *rest)
{
	int64_t id = 0;
	const char *tail;
	size_t len = 0;
	char *text;

	if (!h->rec)
		return send_error(h, conn, MHD_HTTP_NOT_FOUND, "recordings are off (no 'recordings' line in the config)");
	if (!*rest) {
		const char *cam = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "camera");
		const char *before = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "before");
		const char *lim = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "limit");
		int64_t b = 0, l = LIST_DEFAULT;

		if (!get)
			return send_error(h, conn, MHD_HTTP_METHOD_NOT_ALLOWED, "use GET");
		if (cam && !device_id_valid(cam, strlen(cam)))
			return send_error(h, conn, MHD_HTTP_BAD_REQUEST, "'camera' expects a device id");
		if ((before && (!number(before, &b, &tail) || *tail)) ||
		    (lim && (!number(lim, &l, &tail) || *tail || l < 1 || l > LIST_MAX)))
			return send_error(h, conn, MHD_HTTP_BAD_REQUEST, "'before' expects an event id, 'limit' 1 to 500");
		text = recorder_list_json(h->rec, cam, b, (int)l, &len);
		return text ? send_owned(h, conn, MHD_HTTP_OK, "application/json", text, len)
			    : send_error(h, conn, MHD_HTTP_SERVICE_UNAVAILABLE, "the recordings cannot be read");
	}
	if (*rest != '/' || !number(rest + 1, &id, &tail))
		return send_error(h, conn, MHD_HTTP_NOT_FOUND, "not found");
	if (!strcmp(tail, "/delete")) {
		int rc;

		if (get)
			return send_error(h, conn, MHD_HTTP_METHOD_NOT_ALLOWED, "use POST");
		rc = recorder_delete(h->rec, id);
		if (rc == 0)
			log_info("http: recording %lld deleted", (long long)id);
		return rc == 0	 ? send_text(h, conn, MHD_HTTP_OK, "application/json", "{\"deleted\":true}")
		       : rc == -1 ? send_error(h, conn, MHD_HTTP_NOT_FOUND, "no such recording")
		       : rc == -2 ? send_error(h, conn, MHD_HTTP_CONFLICT, "it is still recording")
				  : send_error(h, conn, MHD_HTTP_SERVICE_UNAVAILABLE, "the recordings cannot be written");
	}
	if (!get)
		return send_error(h, conn, MHD_HTTP_METHOD_NOT_ALLOWED, "use GET");
	if (!*tail) {
		text = recorder_event_json(h->rec, id, &len);
		return text ? send_owned(h, conn, MHD_HTTP_OK, "application/json", text, len)
			    : send_error(h, conn, MHD_HTTP_NOT_FOUND, "no such recording");
	}
	if (!strcmp(tail, "/thumb.jpg")) {
		void *jpeg = recorder_jpeg(h->rec, id, -1, &len);
		return send_jpeg(h, conn, jpeg, len);
	}
	if (!strcmp(tail, "/clip.mjpeg"))
		return send_clip(h, conn, id);
	if (!strncmp(tail, "/frames/", 8)) {
		int64_t n;
		const char *ext;

		if (number(tail + 8, &n, &ext) && !strcmp(ext, ".jpg") && n < 1000000) {
			void *jpeg = recorder_jpeg(h->rec, id, (int)n, &len);
			return send_jpeg(h, conn, jpeg, len);
		}
	}
	return send_error(h, conn, MHD_HTTP_NOT_FOUND, "not found");
}
