#include "http_int.h"
#include "cmdline.h"
#include "log.h"
#include "parse.h"
#include "recorder.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>


static void session_cookie(struct http *h, char *out, size_t cap, const char *token, int max_age)
{
	snprintf(out, cap, COOKIE "=%s; Path=/; Max-Age=%d; HttpOnly; SameSite=Strict%s", token, max_age,
		 h->tls ? "; Secure" : "");
}

/* CSRF: a state-changing request authenticated by a cookie must come from a
 * page of ours: its Origin (or, lacking one, its Referer) names this server. */
static bool same_origin(struct http *h, struct MHD_Connection *conn, bool required)
{
	const char *origin = header(conn, "Origin"), *host = header(conn, "Host"), *ref;
	char want[300];
	size_t n;

	if (origin)
		return origin_matches(origin, host, h->tls);
	ref = header(conn, "Referer");
	if (!ref)
		return !required;
	n = (size_t)snprintf(want, sizeof(want), "%s://%s/", h->tls ? "https" : "http", host ? host : "");
	return host && n < sizeof(want) && !strncasecmp(ref, want, n);
}

static enum MHD_Result do_login(struct http *h, struct MHD_Connection *conn, struct req *r)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	char user[USER_MAX + 1], password[256], token[SESSION_TOKEN_LEN + 1], cookie[256];
	char known[TOKEN_MAX + 1], known_out[SESSION_TOKEN_LEN + 1];
	bool have_known;
	int retry = 0, rc;

	if (!same_origin(h, conn, false)) {
		store_count(h->store, DASH_CSRF_REFUSED, 1);
		return send_error(h, conn, MHD_HTTP_FORBIDDEN, "cross-origin login refused");
	}
	if (!form_get(r->body, r->len, "user", user, sizeof(user)) ||
	    !form_get(r->body, r->len, "password", password, sizeof(password)))
		return send_error(h, conn, MHD_HTTP_BAD_REQUEST, "expected a form with user and password");
	have_known = cookie_get(header(conn, "Cookie"), KNOWN_COOKIE, known, sizeof(known));
	rc = auth_login(h->auth, ci ? ci->client_addr : NULL, have_known ? known : NULL, user, password, token,
			known_out, &retry);
	memset(password, 0, sizeof(password));
	if (rc < 0) {
		const char *msg = rc == -1 ? "too many login attempts from here; try again later\n"
					   : "busy checking other logins; try again in a second\n";
		char secs[16];
		struct MHD_Response *resp;

		snprintf(secs, sizeof(secs), "%d", retry);
		resp = MHD_create_response_from_buffer(strlen(msg), (void *)msg, MHD_RESPMEM_PERSISTENT);
		if (resp)
			MHD_add_response_header(resp, "Retry-After", secs);
		store_count(h->store, DASH_LOGINS_LIMITED, 1);
		if (rc == -1)
			log_warn("http: login for '%s' refused: too many attempts from this address or its network", user);
		return send_response(h, conn, MHD_HTTP_TOO_MANY_REQUESTS, resp, "text/plain; charset=utf-8", false);
	}
	if (rc == 0) {
		store_count(h->store, DASH_LOGINS_FAILED, 1);
		log_warn("http: failed login for '%s'", user);
		return send_text(h, conn, MHD_HTTP_UNAUTHORIZED, "text/html; charset=utf-8",
				 "<!doctype html><meta charset=utf-8><title>Login failed</title>"
				 "<link rel=stylesheet href=/style.css><main class=login><h1>Wrong user or password</h1>"
				 "<p><a href=/login>Try again</a></p></main>\n");
	}
	session_cookie(h, cookie, sizeof(cookie), token, h->c->session_ttl);
	log_info("http: '%s' logged in", user);
	if (known_out[0]) {
		/* This browser is known from now on: the next login skips the
		 * limits that strangers share. */
		char kc[256];
		struct MHD_Response *resp = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);

		snprintf(kc, sizeof(kc), KNOWN_COOKIE "=%s; Path=/login; Max-Age=%d; HttpOnly; SameSite=Strict%s",
			 known_out, KNOWN_TTL_S, h->tls ? "; Secure" : "");
		if (resp) {
			MHD_add_response_header(resp, "Location", "/");
			MHD_add_response_header(resp, "Set-Cookie", cookie);
			MHD_add_response_header(resp, "Set-Cookie", kc);
		}
		return send_response(h, conn, MHD_HTTP_SEE_OTHER, resp, NULL, false);
	}
	return redirect(h, conn, "/", cookie);
}

/* Who is asking: a bearer token, or a live session cookie. */
static bool authenticate(struct http *h, struct MHD_Connection *conn, struct req *r)
{
	char token[TOKEN_MAX + 1];
	const char *cookies = header(conn, "Cookie");

	if (bearer_get(header(conn, "Authorization"), token, sizeof(token))) {
		r->bearer = auth_bearer(h->auth, token);
		if (r->bearer)
			snprintf(r->user, sizeof(r->user), "token");
		return r->bearer;
	}
	return cookie_get(cookies, COOKIE, token, sizeof(token)) && auth_session(h->auth, token, r->user);
}

/* --- set --- */

static enum MHD_Result route_device(struct http *h, struct MHD_Connection *conn, struct req *r, bool get,
				    const char *id, const char *rest)
{
	if (!strcmp(rest, "set")) {
		if (get)
			return send_error(h, conn, MHD_HTTP_METHOD_NOT_ALLOWED, "use POST");
		return do_set(h, conn, r, id);
	}
	if (!get)
		return send_error(h, conn, MHD_HTTP_METHOD_NOT_ALLOWED, "use GET");
	if (!store_device_known(h->store, id))
		return unknown_device(h, conn);
	if (!*rest) {
		size_t len = 0;
		char *text = store_device_json(h->store, id, &len);
		return text ? send_owned(h, conn, MHD_HTTP_OK, "application/json", text, len)
			    : send_error(h, conn, MHD_HTTP_NOT_FOUND, "unknown device");
	}
	if (!strcmp(rest, "snapshot.jpg"))
		return do_snapshot(h, conn, id);
	if (!strcmp(rest, "stream.mjpeg"))
		return start_stream(h, conn, id, true);
	return send_error(h, conn, MHD_HTTP_NOT_FOUND, "not found");
}

/* /healthz: "ok", or 503 and why; the version in a header (X-Intercom-Version). */
static enum MHD_Result send_health(struct http *h, struct MHD_Connection *conn, unsigned status, const char *body)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);

	if (r)
		MHD_add_response_header(r, "X-Intercom-Version", intercom_version);
	return send_response(h, conn, status, r, "text/plain; charset=utf-8", false);
}

static enum MHD_Result route(struct http *h, struct MHD_Connection *conn, struct req *r, const char *url,
			     const char *method)
{
	bool get = !strcmp(method, "GET") || !strcmp(method, "HEAD"), post = !strcmp(method, "POST");
	char id[DEVICE_ID_MAX + 1];
	const char *rest;

	if (!get && !post)
		return send_error(h, conn, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed");
	if (r->too_big)
		return send_error(h, conn, MHD_HTTP_CONTENT_TOO_LARGE, "request body too large");

	/* Open to all: health, the login page and its style sheet. */
	if (!strcmp(url, "/healthz")) {
		char why[600], body[700];

		if (broker_up(h->broker))
			return send_health(h, conn, MHD_HTTP_OK, "ok\n");
		broker_status(h->broker, why, sizeof(why));
		snprintf(body, sizeof(body), "broker not connected: %s\n", why);
		return send_health(h, conn, MHD_HTTP_SERVICE_UNAVAILABLE, body);
	}
	if (!strcmp(url, "/login"))
		return post ? do_login(h, conn, r) : send_static(h, conn, "/login.html");
	if (!strcmp(url, "/style.css") && get)
		return send_static(h, conn, url);

	if (!authenticate(h, conn, r)) {
		const char *accept = header(conn, "Accept");
		if (get && (!strcmp(url, "/") || (accept && strstr(accept, "text/html"))))
			return redirect(h, conn, "/login", NULL);
		return send_error(h, conn, MHD_HTTP_UNAUTHORIZED, "login required");
	}
	if (post && !r->bearer && !same_origin(h, conn, true)) {
		store_count(h->store, DASH_CSRF_REFUSED, 1);
		log_warn("http: %s from a foreign origin refused", url);
		return send_error(h, conn, MHD_HTTP_FORBIDDEN, "cross-origin request refused");
	}
	if (!strcmp(url, "/logout")) {
		char token[TOKEN_MAX + 1], cookie[256];
		if (!post)
			return send_error(h, conn, MHD_HTTP_METHOD_NOT_ALLOWED, "use POST");
		if (cookie_get(header(conn, "Cookie"), COOKIE, token, sizeof(token)))
			auth_logout(h->auth, token);
		session_cookie(h, cookie, sizeof(cookie), "", 0);
		return redirect(h, conn, "/login", cookie);
	}
	if (api_device_path(url, id, &rest))
		return route_device(h, conn, r, get, id, rest);
	if (!strncmp(url, "/api/recordings", 15) && (url[15] == '\0' || url[15] == '/'))
		return route_recordings(h, conn, get, url + 15);
	if (!get)
		return send_error(h, conn, post ? MHD_HTTP_NOT_FOUND : MHD_HTTP_METHOD_NOT_ALLOWED, "not found");
	if (!strcmp(url, "/api/devices")) {
		size_t len = 0;
		char *text = store_devices_json(h->store, &len);
		return text ? send_owned(h, conn, MHD_HTTP_OK, "application/json", text, len) : MHD_NO;
	}
	if (!strcmp(url, "/api/events"))
		return start_stream(h, conn, NULL, false);
	if (!strcmp(url, "/metrics")) {
		size_t len = 0;
		char *text = store_metrics_text(h->store, &len), *more, *both;
		size_t more_len = 0;

		if (text && h->rec && (more = recorder_metrics_text(h->rec, &more_len))) {
			if ((both = realloc(text, len + more_len + 1))) {
				memcpy(both + len, more, more_len + 1);
				text = both;
				len += more_len;
			}
			free(more);
		}
		return send_owned(h, conn, MHD_HTTP_OK, "text/plain; version=0.0.4", text, len);
	}
	if (!strncmp(url, "/api/", 5))
		return send_error(h, conn, MHD_HTTP_NOT_FOUND, "not found");
	return send_static(h, conn, !strcmp(url, "/") ? "/index.html" : url);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
				  const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
	struct http *h = cls;
	struct req *r = *con_cls;

	(void)version;
	if (r && r->waiter)	/* a set resumed: its result came, or its time is up */
		return set_waiting(h, conn, r);
	if (!r) {
		const char *cl = header(conn, "Content-Length");
		if (!(r = calloc(1, sizeof(*r))))
			return MHD_NO;
		*con_cls = r;
		store_count(h->store, DASH_REQUESTS, 1);
		if (cl && strtoull(cl, NULL, 10) > BODY_MAX)	/* refuse before reading it */
			return send_error(h, conn, MHD_HTTP_CONTENT_TOO_LARGE, "request body too large");
		return MHD_YES;
	}
	if (*upload_size) {
		if (r->too_big || r->len + *upload_size > BODY_MAX) {
			r->too_big = true;
			if (r->len + *upload_size > 16 * BODY_MAX)
				return MHD_NO;	/* chunked and still coming: hang up */
			r->len += *upload_size;
		} else {
			char *p = realloc(r->body, r->len + *upload_size + 1);
			if (!p)
				return MHD_NO;
			r->body = p;
			memcpy(r->body + r->len, upload, *upload_size);
			r->len += *upload_size;
			r->body[r->len] = '\0';
		}
		*upload_size = 0;
		return MHD_YES;
	}
	return route(h, conn, r, url, method);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe)
{
	struct req *r = *con_cls;

	(void)conn;
	(void)toe;
	if (r) {
		set_abandon(cls, r);
		free(r->body);
		free(r);
		*con_cls = NULL;
	}
}

/* libmicrohttpd's messages: its own format strings (the attribute tells the
 * compilers so). */
__attribute__((format(printf, 2, 0))) static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[256];

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	msg[strcspn(msg, "\n")] = '\0';
	log_debug("http: %s", msg);
}

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 && n < (1 << 20) && fseek(f, 0, SEEK_SET) == 0 &&
	    (buf = calloc(1, (size_t)n + 1)) && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

/* GnuTLS (libmicrohttpd's TLS): TLS 1.2 and 1.3 only, AEAD suites with
 * forward secrecy only (no CBC: BEAST, LUCKY13; no static RSA key exchange).
 * tests/integration/tls.sh runs testssl.sh against it. */
#define HTTPS_PRIORITIES "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:-CIPHER-ALL:+AES-128-GCM:+AES-256-GCM:" \
			 "+CHACHA20-POLY1305:-MAC-ALL:+AEAD:-KX-ALL:+ECDHE-ECDSA:+ECDHE-RSA:%SERVER_PRECEDENCE"

/* The store says what came; the connections parked for it are resumed. */
static void wake(void *ctx, enum store_wake what, const char *key)
{
	struct http *h = ctx;

	switch (what) {
	case STORE_WAKE_EVENTS: park_wake(&h->park, PARK_EVENTS, NULL); break;
	case STORE_WAKE_FRAME: park_wake(&h->park, PARK_FRAME, key); break;
	case STORE_WAKE_RESULT: park_wake(&h->park, PARK_RESULT, key); break;
	case STORE_WAKE_STOP: park_wake(&h->park, PARK_ALL, NULL); break;
	}
}

struct http *http_start(const struct dash_config *c, struct store *store, struct broker *broker, struct recorder *rec)
{
	struct http *h = calloc(1, sizeof(*h));
	struct sockaddr_storage ss[2];
	socklen_t sl[2];
	/* Event-driven: a few threads, each polling its share of the connections
	 * (epoll where there is one); a connection that waits is suspended, so
	 * slow, idle or hostile clients cost memory, not threads. */
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_ALLOW_SUSPEND_RESUME |
			 MHD_USE_ERROR_LOG;

	if (!h)
		return NULL;
	h->c = c;
	h->store = store;
	h->broker = broker;
	h->rec = rec;
	if (park_init(&h->park) < 0)
		goto fail;
	store_set_wake(store, wake, h);
	if (!(h->auth = auth_new(c)))
		goto fail;
	if (addr_listen_set(ss, sl, c->listen) <= 0) {
		log_err("http: bad listen address '%s'", c->listen);
		goto fail;
	}
	if (c->tls_cert[0]) {
		if (!(h->cert = read_file(c->tls_cert)) || !(h->key = read_file(c->tls_key))) {
			log_err("http: cannot read '%s' or '%s'", c->tls_cert, c->tls_key);
			goto fail;
		}
		h->tls = true;
		flags |= MHD_USE_TLS;
	}
	/* "localhost" is two addresses: a daemon for each family. */
	for (int f = 0; f < 2; f++) {
		char text[INET6_ADDRSTRLEN + 8];

		if (ss[f].ss_family == AF_UNSPEC)
			continue;
		addr_format(text, sizeof(text), (struct sockaddr *)&ss[f]);
		h->d[f] = MHD_start_daemon(flags | (f ? MHD_USE_IPv6 : 0), 0, NULL, NULL, on_request, h,
					   MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss[f],
					   MHD_OPTION_CONNECTION_LIMIT, (unsigned)c->max_connections,
					   MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)c->max_connections_per_address,
					   MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)c->idle_timeout,
					   MHD_OPTION_THREAD_POOL_SIZE, (unsigned)HTTP_THREADS,
					   MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
					   MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, h,
					   h->tls ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, h->cert,
					   MHD_OPTION_HTTPS_MEM_KEY, h->key,
					   MHD_OPTION_HTTPS_PRIORITIES, HTTPS_PRIORITIES,
					   MHD_OPTION_END);
		if (!h->d[f]) {
			log_err("http: cannot listen on %s (%s): %s", text, c->listen, strerror(errno));
			goto fail;
		}
		log_info("http: listening on %s", text);
	}
	log_info("http: serving %s://%s/ (static files from %s)", h->tls ? "https" : "http", c->listen, c->static_dir);
	return h;
fail:
	http_stop(h);
	return NULL;
}

struct auth *http_auth(struct http *h)
{
	return h->auth;
}

void http_stop(struct http *h)
{
	if (!h)
		return;
	/* Every parked connection is resumed (and sees stopping) before the
	 * daemons stop: libmicrohttpd must not stop with one suspended. */
	h->stopping = true;
	store_set_wake(h->store, NULL, NULL);
	park_stop(&h->park);
	for (int f = 0; f < 2; f++)
		if (h->d[f])
			MHD_stop_daemon(h->d[f]);
	park_free(&h->park);
	auth_free(h->auth);
	free(h->cert);
	free(h->key);
	free(h);
}
