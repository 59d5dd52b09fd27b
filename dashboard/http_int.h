/*
 * The HTTP side's own parts, shared by its files:
 *   http.c          listeners, routes, login, sessions and the CSRF check
 *   http_respond.c  responses, security headers, static files
 *   http_set.c      POST /api/devices/<id>/set: publish, wait, answer
 *   http_stream.c   /api/events (SSE), stream.mjpeg and snapshot.jpg
 *   http_park.c     connections that wait, suspended instead of a thread each
 *   http_recordings.c  /api/recordings: motion events, their frames and clips
 */
#ifndef DASH_HTTP_INT_H
#define DASH_HTTP_INT_H

#include "auth.h"
#include "http.h"

#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BODY_MAX 4096			/* any POST body */
#define STATIC_MAX (4 << 20)
#define SSE_KEEPALIVE_MS 15000
#define MJPEG_REPEAT_MS 10000		/* a still camera: send the same frame again */
#define COOKIE "intercom_session"
#define KNOWN_COOKIE "intercom_known"		/* a browser that logged in before (auth.h) */
#define HTTP_THREADS 4			/* each polls its share of the connections */

/* A connection waiting for something, suspended (http_park.c). */
enum park_kind { PARK_EVENTS, PARK_FRAME, PARK_RESULT, PARK_ALL };
struct parked {
	struct parked *next;
	struct MHD_Connection *conn;
	enum park_kind kind;
	char key[80];			/* PARK_FRAME: the camera; PARK_RESULT: the set's id */
	uint64_t deadline;		/* now_ms() when to resume it anyway */
	bool in_list;
};
struct park {
	pthread_mutex_t lock;
	pthread_cond_t cv;
	pthread_t thread;
	bool lock_made, running, stopping;
	atomic_uint_fast64_t gen;	/* counts park_wake() calls */
	uint64_t next_due;		/* the resumer's next look at the deadlines */
	struct parked *list, *woken;
};
int park_init(struct park *p);
/* Resumes every parked connection (they see stopping) and ends the thread;
 * park() refuses from then on. park_free() once nothing can call park(). */
void park_stop(struct park *p);
void park_free(struct park *p);
/* Read before looking for what to wait for; park() refuses if it moved. */
uint64_t park_gen(struct park *p);
/* From conn's own callback: suspends it until park_wake() of its kind (and
 * key) or its deadline. false: not parked (something was woken since gen, or
 * stopping): look again. */
bool park(struct park *p, struct parked *e, struct MHD_Connection *conn, enum park_kind kind, const char *key,
	  uint64_t deadline, uint64_t gen);
/* key NULL: every connection of the kind. Safe with the store's lock held. */
void park_wake(struct park *p, enum park_kind kind, const char *key);

struct http {
	const struct dash_config *c;
	struct store *store;
	struct broker *broker;
	struct recorder *rec;		/* NULL: recordings are off */
	struct auth *auth;
	struct MHD_Daemon *d[2];	/* IPv4 and IPv6 listeners (localhost has both) */
	bool tls;
	char *cert, *key;		/* PEM, for HTTPS */
	struct park park;
	atomic_bool stopping;
};

struct req {
	char *body;
	size_t len;
	bool too_big;
	bool bearer;			/* authenticated by a token, not a cookie */
	char user[USER_MAX + 1];
	/* A set waiting for its result (http_set.c). */
	struct waiter *waiter;
	uint64_t deadline;
	char set_id[80];		/* ours, on the wire */
	char user_id[80];		/* the client's, for its answer */
	struct parked parked;
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
/* A set resumed while waiting: answer it, or wait on. */
enum MHD_Result set_waiting(struct http *h, struct MHD_Connection *conn, struct req *r);
/* The request ended: a set still waiting gives up its waiter. */
void set_abandon(struct http *h, struct req *r);
enum MHD_Result start_stream(struct http *h, struct MHD_Connection *conn, const char *id, bool mjpeg);
enum MHD_Result do_snapshot(struct http *h, struct MHD_Connection *conn, const char *id);
/* /api/recordings, rest: what follows it ("", "/ID", "/ID/clip.mjpeg"...). */
enum MHD_Result route_recordings(struct http *h, struct MHD_Connection *conn, bool get, const char *rest);

#endif
