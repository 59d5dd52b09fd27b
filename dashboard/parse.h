/*
 * The parts of an HTTP request the dashboard reads itself (libmicrohttpd has
 * already split the request line and headers): cookies, bearer tokens,
 * url-encoded forms, Origin, the request path, and the JSON body of a set.
 *
 * Pure functions, no I/O and no globals, so the unit tests and the fuzz target
 * (tests/fuzz/fuzz_http.c) call exactly what the server calls.
 */
#ifndef DASH_PARSE_H
#define DASH_PARSE_H

#include "topics.h"

#include <stdbool.h>
#include <stddef.h>

/* The value of cookie `name` in a Cookie header ("a=1; b=2"). False when the
 * cookie is absent, empty, or longer than cap - 1. */
bool cookie_get(const char *header, const char *name, char *out, size_t cap);

/* The token of "Authorization: Bearer <token>" (scheme case-insensitive). */
bool bearer_get(const char *header, char *out, size_t cap);

/* The percent-decoded value of `name` in an application/x-www-form-urlencoded
 * body ('+' is a space). False when absent, malformed (bad %xx, an encoded
 * NUL) or longer than cap - 1. The body need not be NUL-terminated. */
bool form_get(const char *body, size_t len, const char *name, char *out, size_t cap);

/* Whether an Origin header names this server: scheme://host[:port] equal to
 * (tls ? "https://" : "http://") + host, where host is the request's Host
 * header. Case-insensitive, no trailing slash or path allowed. */
bool origin_matches(const char *origin, const char *host, bool tls);

/* Whether a (decoded) URL path may be looked up under the static directory:
 * starts with '/', every segment is 1..64 of A-Z a-z 0-9 . _ - and none is
 * "." or "..", no empty segments, at most 8 segments, at most 255 bytes. */
bool static_path_ok(const char *path);

/* Splits "/api/devices/<id>[/<rest>]" into id and rest ("" when none). False
 * for any other path or a bad id. */
bool api_device_path(const char *path, char id[DEVICE_ID_MAX + 1], const char **rest);

/*
 * A set from HTTP: body must be a JSON object of at most 4096 bytes. Its "id"
 * (optional; a string of at most 64 printable ASCII characters) is copied to
 * user_id ("" when absent) and replaced with our_id, so the dashboard can find
 * the one result that answers it. *out is the JSON to publish (free() it).
 * False with a message in err for anything the base unit would call invalid
 * before looking at the device.
 */
bool set_body_prepare(const char *body, size_t len, const char *our_id, double expires, char **out,
		      char user_id[SET_ID_MAX + 1], char *err, size_t errlen);

/* Constant-time equality of two NUL-terminated strings (lengths may leak). */
bool secret_equal(const char *a, const char *b);

/* A whole JPEG as a camera topic carries it: SOI first, EOI last. */
bool jpeg_complete(const void *data, size_t len);

#endif
