/*
 * The HTTP side's own parts, shared by its files:
 *   http.c          listeners, routes, login, sessions and the CSRF check
 *   http_respond.c  responses, security headers, static files
 *   http_set.c      POST /api/devices/<id>/set: publish, wait, answer
 *   http_stream.c   /api/events (SSE), stream.mjpeg and snapshot.jpg
 */
#ifndef DASH_HTTP_INT_H
#define DASH_HTTP_INT_H

#include "auth.h"
#include "http.h"

#include <microhttpd.h>
#include <stdbool.h>
#include <stddef.h>

#define BODY_MAX 4096			/* any POST body */
#define STATIC_MAX (4 << 20)
#define SSE_KEEPALIVE_MS 15000
#define MJPEG_REPEAT_MS 10000		/* a still camera: send the same frame again */
#define COOKIE "intercom_session"

struct http {
	const struct dash_config *c;
	struct store *store;
	struct broker *broker;
	struct auth *auth;
	struct MHD_Daemon *d[2];	/* IPv4 and IPv6 listeners (localhost has both) */
	bool tls;
	char *cert, *key;		/* PEM, for HTTPS */
};

struct req {
	char *body;
	size_t len;
	bool too_big;
	bool bearer;			/* authenticated by a token, not a cookie */
	char user[USER_MAX + 1];
};

void security_headers(struct http *h, struct MHD_Response *r, bool cache);
/* Queues r (NULL: MHD_NO) with the security headers; cache: may be revalidated. */
enum MHD_Result send_response(struct http *h, struct MHD_Connection *conn, unsigned status,
			      struct MHD_Response *r, const char *type, bool cache);
/* body is malloc()ed and handed over (NULL: MHD_NO). */
enum MHD_Result send_owned(struct http *h, struct MHD_Connection *conn, unsigned status, const char *type,
			   char *body, size_t len);
enum MHD_Result send_text(struct http *h, struct MHD_Connection *conn, unsigned status, const char *type,
			  const char *text);
enum MHD_Result send_error(struct http *h, struct MHD_Connection *conn, unsigned status, const char *msg);
enum MHD_Result redirect(struct http *h, struct MHD_Connection *conn, const char *to, const char *cookie);
const char *header(struct MHD_Connection *conn, const char *name);
enum MHD_Result send_static(struct http *h, struct MHD_Connection *conn, const char *path);
/* 404 only when the base unit's device list says so; 503 while it cannot know. */
enum MHD_Result unknown_device(struct http *h, struct MHD_Connection *conn);

enum MHD_Result do_set(struct http *h, struct MHD_Connection *conn, struct req *r, const char *id);
enum MHD_Result start_stream(struct http *h, struct MHD_Connection *conn, const char *id, bool mjpeg);
enum MHD_Result do_snapshot(struct http *h, struct MHD_Connection *conn, const char *id);

#endif
