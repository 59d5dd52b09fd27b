#include "http_int.h"
#include "log.h"
#include "parse.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char CSP[] = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
			  "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

void security_headers(struct http *h, struct MHD_Response *r, bool cache)
{
	MHD_add_response_header(r, "Content-Security-Policy", CSP);
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(r, "X-Frame-Options", "DENY");
	MHD_add_response_header(r, "Referrer-Policy", "same-origin");
	MHD_add_response_header(r, "Cache-Control", cache ? "no-cache" : "no-store");
	if (h->tls)
		MHD_add_response_header(r, "Strict-Transport-Security", "max-age=31536000");
}

enum MHD_Result send_response(struct http *h, struct MHD_Connection *conn, unsigned status,
			      struct MHD_Response *r, const char *type, bool cache)
{
	enum MHD_Result ret;

	if (!r)
		return MHD_NO;
	if (type)
		MHD_add_response_header(r, "Content-Type", type);
	security_headers(h, r, cache);
	ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

/* body is malloc()ed and handed over. */
enum MHD_Result send_owned(struct http *h, struct MHD_Connection *conn, unsigned status, const char *type,
			   char *body, size_t len)
{
	if (!body)
		return MHD_NO;
	return send_response(h, conn, status, MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE),
			     type, false);
}

enum MHD_Result send_text(struct http *h, struct MHD_Connection *conn, unsigned status, const char *type,
			  const char *text)
{
	return send_response(h, conn, status,
			     MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_MUST_COPY),
			     type, false);
}

enum MHD_Result send_error(struct http *h, struct MHD_Connection *conn, unsigned status, const char *msg)
{
	cJSON *o = cJSON_CreateObject();
	char *text;

	cJSON_AddStringToObject(o, "error", msg);
	text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return send_owned(h, conn, status, "application/json", text, text ? strlen(text) : 0);
}

enum MHD_Result redirect(struct http *h, struct MHD_Connection *conn, const char *to, const char *cookie)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);

	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, "Location", to);
	if (cookie)
		MHD_add_response_header(r, "Set-Cookie", cookie);
	return send_response(h, conn, MHD_HTTP_SEE_OTHER, r, NULL, false);
}

const char *header(struct MHD_Connection *conn, const char *name)
{
	return MHD_lookup_connection_value(conn, MHD_HEADER_KIND, name);
}

/* --- static files --- */

static const char *mime_type(const char *path)
{
	static const struct { const char *ext, *type; } types[] = {
		{ ".html", "text/html; charset=utf-8" }, { ".js", "text/javascript; charset=utf-8" },
		{ ".css", "text/css; charset=utf-8" },   { ".svg", "image/svg+xml" },
		{ ".png", "image/png" },                 { ".ico", "image/x-icon" },
		{ ".json", "application/json" },         { ".webmanifest", "application/manifest+json" },
		{ ".txt", "text/plain; charset=utf-8" },
	};
	const char *dot = strrchr(path, '.');

	for (size_t i = 0; dot && i < sizeof(types) / sizeof(types[0]); i++)
		if (!strcmp(dot, types[i].ext))
			return types[i].type;
	return "application/octet-stream";
}

enum MHD_Result send_static(struct http *h, struct MHD_Connection *conn, const char *path)
{
	char full[1024];
	struct stat st;
	int fd;

	if (!static_path_ok(path))
		return send_error(h, conn, MHD_HTTP_NOT_FOUND, "not found");
	if ((size_t)snprintf(full, sizeof(full), "%s%s", h->c->static_dir, path) >= sizeof(full))
		return send_error(h, conn, MHD_HTTP_NOT_FOUND, "not found");
	fd = open(full, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return send_error(h, conn, MHD_HTTP_NOT_FOUND, "not found");
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > STATIC_MAX) {
		close(fd);
		return send_error(h, conn, MHD_HTTP_NOT_FOUND, "not found");
	}
	return send_response(h, conn, MHD_HTTP_OK, MHD_create_response_from_fd((uint64_t)st.st_size, fd),
			     mime_type(path), true);
}

/* --- login --- */

/* A device the store does not know: 404 only when the base unit's device list
 * says so; while the dashboard has no broker or no list yet, it cannot know. */
enum MHD_Result unknown_device(struct http *h, struct MHD_Connection *conn)
{
	char why[600], msg[700];

	if (!broker_up(h->broker)) {
		broker_status(h->broker, why, sizeof(why));
		snprintf(msg, sizeof(msg), "the dashboard is not connected to the broker (%s)", why);
		return send_error(h, conn, MHD_HTTP_SERVICE_UNAVAILABLE, msg);
	}
	if (!store_has_device_list(h->store))
		return send_error(h, conn, MHD_HTTP_SERVICE_UNAVAILABLE,
				  "the base unit's device list has not reached the dashboard yet");
	return send_error(h, conn, MHD_HTTP_NOT_FOUND, "unknown device");
}
