/*
 * The dashboard's HTTP side: libmicrohttpd with a thread per connection (so
 * a set can wait for its result, and an SSE or MJPEG stream can wait for the
 * next event or frame, each in its own thread: a slow client only ever slows
 * itself). Routes, login and CSRF checks are in http.c; docs/dashboard.md has
 * the whole API.
 */
#ifndef DASH_HTTP_H
#define DASH_HTTP_H

#include "broker.h"
#include "settings.h"
#include "store.h"

struct http;

struct recorder;
/* rec: NULL when recordings are off. */
struct http *http_start(const struct dash_config *c, struct store *store, struct broker *broker, struct recorder *rec);
/* Its logins and tokens (a reload changes them: auth_set_credentials). */
struct auth *http_auth(struct http *h);
void http_stop(struct http *h);

#endif
