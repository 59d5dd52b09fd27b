#include "mqttlink_int.h"
#include "log.h"
#include "util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <mosquitto.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int get_state(const struct mqtt_link *l)
{
	return __atomic_load_n(&l->state, __ATOMIC_ACQUIRE);
}

static void set_state(struct mqtt_link *l, enum link_state s)
{
	__atomic_store_n(&l->state, (int)s, __ATOMIC_RELEASE);
}

static void set_status(struct mqtt_link *l, const char *text)
{
	pthread_mutex_lock(&l->status_lock);
	snprintf(l->status, sizeof(l->status), "%s", text);
	pthread_mutex_unlock(&l->status_lock);
}

/* --- the connection, one address at a time --- */

/* Why a TCP connection to addr:port fails, or NULL when it opens. Asked only
 * after libmosquitto said no more than "a TLS error": newer libmosquitto
 * (2.0.21) starts the TLS handshake inside connect and reports a refused
 * connection that way, with the socket's own error already spent. At most
 * 1 s, on a path that failed at once anyway. */
static const char *tcp_probe(const char *addr, int port)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	struct pollfd p;
	int fd, err = 0;
	socklen_t el = sizeof(err);
	char text[INET6_ADDRSTRLEN + 16];

	snprintf(text, sizeof(text), strchr(addr, ':') ? "[%s]:%d" : "%s:%d", addr, port);
	if (addr_parse(&ss, &sl, text, false) < 0)	/* numeric: no lookup */
		return NULL;
	if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0)
		return NULL;
	if (connect(fd, (struct sockaddr *)&ss, sl) < 0) {
		if (errno != EINPROGRESS) {
			err = errno;
		} else {
			p = (struct pollfd){ .fd = fd, .events = POLLOUT };
			if (poll(&p, 1, 1000) == 1)
				getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el);
		}
	}
	close(fd);
	return err ? strerror(err) : NULL;
}


static void attempt(struct mqtt_link *l);

/* Every address of this round failed (or the name did not resolve). */
static void round_failed(struct mqtt_link *l, const char *summary)
{
	char text[1024];
	uint64_t delay = random_between(l->backoff_ms / 2, l->backoff_ms);

	l->backoff_ms *= 2;
	if (l->backoff_ms > (uint64_t)l->c.reconnect_max_s * 1000)
		l->backoff_ms = (uint64_t)l->c.reconnect_max_s * 1000;
	set_state(l, LINK_DOWN);
	l->retry_at = now_ms() + delay;
	if (summary) {
		snprintf(text, sizeof(text), "%s", summary);
	} else {
		size_t off = (size_t)snprintf(text, sizeof(text), "cannot connect to %s port %d:", l->host, l->c.port);
		for (int i = 0; i < l->n_addrs && off < sizeof(text); i++)
			off += (size_t)snprintf(text + off, sizeof(text) - off, "%s %s (%s)", i ? ";" : "",
						l->addrs[i], l->why[i]);
	}
	log_warn("mqtt: %s; retrying in %.1f s", text, (double)delay / 1000);
	set_status(l, text);
}

/* Why the attempt on addrs[cur] failed, the best source first: the
 * certificate check, a socket error libmosquitto passed over, a TCP probe when
 * all it said was "a TLS error", else its own words (generic). */
static void record_why(struct mqtt_link *l, const char *generic)
{
	char words[WHY_MAX];
	const char *tcp = NULL;

	snprintf(words, sizeof(words), "%s", generic);
	if (!l->tls_why[0] && !l->early_errno && !strcmp(words, mosquitto_strerror(MOSQ_ERR_TLS)))
		tcp = tcp_probe(l->addrs[l->cur], l->c.port);
	snprintf(l->why[l->cur], WHY_MAX, "%s", l->tls_why[0]	   ? l->tls_why
						 : l->early_errno ? strerror(l->early_errno)
						 : tcp		  ? tcp
								  : words);
}

/* The attempt on addrs[cur] failed: on to the next address at once. */
static void attempt_failed(struct mqtt_link *l, const char *why)
{
	if (get_state(l) != LINK_CONNECTING)
		return;
	record_why(l, why);
	log_debug("mqtt: %s port %d: %s", l->addrs[l->cur], l->c.port, l->why[l->cur]);
	l->cur++;
	attempt(l);
}

static void attempt(struct mqtt_link *l)
{
	while (l->cur < l->n_addrs) {
		int rc;

		l->tls_why[0] = '\0';
		l->gen++;
		set_state(l, LINK_CONNECTING);
		l->attempt_since = now_ms();
		errno = 0;
		rc = mosquitto_connect_async(l->m, l->addrs[l->cur], l->c.port, l->c.keepalive);
		/* On loopback a refusal comes back at once: the TLS hello
		 * libmosquitto writes straight away fails with it, the socket's
		 * error is then spent, and only errno still says why (libmosquitto
		 * 2.0.11 then reports success, 2.0.21 a TLS error). */
		l->early_errno = errno == ECONNREFUSED || errno == ECONNRESET || errno == ENETUNREACH ||
					 errno == EHOSTUNREACH || errno == ETIMEDOUT ? errno : 0;
		if (rc == MOSQ_ERR_SUCCESS)
			return;
		record_why(l, rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc));
		l->cur++;
	}
	round_failed(l, NULL);
}

static void start_round(struct mqtt_link *l)
{
	char err[300];

	l->n_addrs = mqtt_link_resolve(l->host, l->addrs, ADDRS_MAX, err, sizeof(err));
	l->cur = 0;
	if (l->n_addrs < 0) {
		l->n_addrs = 0;
		round_failed(l, err);
		return;
	}
	attempt(l);
}

/* A connection that was up is gone (or a CONNACK refused us). */
static void lost(struct mqtt_link *l, const char *why)
{
	char text[600];

	if (get_state(l) == LINK_CONNECTING) {
		attempt_failed(l, why);
		return;
	}
	if (get_state(l) != LINK_UP)
		return;
	snprintf(text, sizeof(text), "connection to %s port %d (%s) lost: %s", l->host, l->c.port,
		 l->addrs[l->cur], why);
	set_state(l, LINK_DOWN);
	l->retry_at = now_ms() + random_between(BACKOFF_MIN_MS / 2, BACKOFF_MIN_MS);
	log_warn("mqtt: %s; reconnecting", text);
	set_status(l, text);
	if (l->on_down)
		l->on_down(l->ctx);
}

static void on_connect(struct mosquitto *m, void *obj, int rc)
{
	struct mqtt_link *l = obj;
	char text[600];

	(void)m;
	if (rc != 0) {
		/* The broker answered and refused: another address of it would
		 * say the same. The broker closes; wait out the backoff. */
		snprintf(text, sizeof(text), "the broker at %s port %d (%s) refused the connection: %s", l->host,
			 l->c.port, l->addrs[l->cur], mosquitto_connack_string(rc));
		log_err("mqtt: %s", text);
		round_failed(l, text);
		return;
	}
	if (l->ever_up)
		l->reconnects++;
	l->ever_up = true;
	set_state(l, LINK_UP);
	l->backoff_ms = BACKOFF_MIN_MS;
	set_status(l, "connected");
	log_info("mqtt: connected to %s port %d (%s) as '%s'", l->host, l->c.port, l->addrs[l->cur], l->c.username);
	l->on_up(l->ctx);
}

static void on_disconnect(struct mosquitto *m, void *obj, int rc)
{
	(void)m;
	lost(obj, rc == 0 ? "disconnected" : mosquitto_strerror(rc));
}

static void on_log(struct mosquitto *m, void *obj, int level, const char *str)
{
	(void)m;
	(void)obj;
	log_debug("mqtt: %s%s", level & MOSQ_LOG_ERR ? "error: " : "", str);
}

static void on_message(struct mosquitto *m, void *obj, const struct mosquitto_message *msg)
{
	struct mqtt_link *l = obj;

	(void)m;
	if (msg->payloadlen >= 0)
		l->on_message(l->ctx, msg->topic, msg->payload, (size_t)msg->payloadlen, msg->retain);
}

struct mqtt_link *mqtt_link_new(const struct mqtt_link_config *c, bool threaded, mqtt_link_up_fn up,
				mqtt_link_down_fn down, mqtt_link_message_fn msg, void *ctx, char *err,
				size_t errlen)
{
	struct mqtt_link *l = calloc(1, sizeof(*l));
	struct in6_addr a6;
	int rc;

	if (!l) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	mosquitto_lib_init();
	l->c = *c;
	l->threaded = threaded;
	snprintf(l->host, sizeof(l->host), "%s", c->host);
	l->host_is_ip = inet_pton(AF_INET, l->host, &a6) == 1 || inet_pton(AF_INET6, l->host, &a6) == 1;
	l->on_up = up;
	l->on_down = down;
	l->on_message = msg;
	l->ctx = ctx;
	l->backoff_ms = BACKOFF_MIN_MS;
	pthread_mutex_init(&l->status_lock, NULL);
	snprintf(l->status, sizeof(l->status), "connecting to %s port %d", l->host, c->port);
	if (!mqtt_tls_setup(l, err, errlen))
		goto fail;
	if (!(l->m = mosquitto_new(c->client_id, c->clean_session, l))) {
		snprintf(err, errlen, "cannot create an MQTT client: %s", strerror(errno));
		goto fail;
	}
	mosquitto_int_option(l->m, MOSQ_OPT_TCP_NODELAY, 1);
	mosquitto_int_option(l->m, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
	/* QoS 1 messages unacknowledged at once: libmosquitto's 20 hold every
	 * further message in its queue for the broker's next PUBACK, which at
	 * 10,000 readings a second made the queue, not the path, the latency. */
	mosquitto_int_option(l->m, MOSQ_OPT_SEND_MAXIMUM, MQTT_SEND_MAXIMUM);
	if (threaded)
		mosquitto_threaded_set(l->m, true);
	/* Our context as it is: libmosquitto's defaults would want its own CA
	 * settings, and its own host name check is against the address. */
	if ((rc = mosquitto_void_option(l->m, MOSQ_OPT_SSL_CTX, l->tls)) ||
	    (rc = mosquitto_int_option(l->m, MOSQ_OPT_SSL_CTX_WITH_DEFAULTS, 0)) ||
	    (rc = mosquitto_username_pw_set(l->m, c->username, c->password)) ||
	    (c->will_topic && (rc = mosquitto_will_set(l->m, c->will_topic, 7, "offline", 1, true)))) {
		snprintf(err, errlen, "setting up the MQTT client failed: %s", mosquitto_strerror(rc));
		goto fail;
	}
	mosquitto_connect_callback_set(l->m, on_connect);
	mosquitto_disconnect_callback_set(l->m, on_disconnect);
	mosquitto_log_callback_set(l->m, on_log);
	mosquitto_message_callback_set(l->m, on_message);
	set_state(l, LINK_DOWN);
	l->retry_at = 0;	/* the first tick connects */
	return l;
fail:
	mqtt_link_free(l);
	return NULL;
}

void mqtt_link_free(struct mqtt_link *l)
{
	if (!l)
		return;
	if (l->m) {
		if (get_state(l) == LINK_UP) {
			/* A clean disconnect suppresses the will: say offline ourselves. */
			if (l->c.will_topic)
				mosquitto_publish(l->m, NULL, l->c.will_topic, 7, "offline", 1, true);
			set_state(l, LINK_DOWN);
			if (l->threaded) {
				for (int i = 0; i < 10 && mosquitto_want_write(l->m); i++)
					mosquitto_loop(l->m, 100, 1);
			} else {
				for (int i = 0; i < 10 && mosquitto_want_write(l->m); i++)
					mosquitto_loop_write(l->m, 1);
			}
			mosquitto_disconnect(l->m);
			mosquitto_loop_write(l->m, 1);
		}
		mosquitto_destroy(l->m);
	}
	SSL_CTX_free(l->tls);	/* libmosquitto holds its own reference */
	pthread_mutex_destroy(&l->status_lock);
	mosquitto_lib_cleanup();
	free(l);
}

/* rc of a library call made during attempt gen: libmosquitto may already
 * have reported the same failure through on_disconnect, and the next
 * address's attempt begun, which this error is not about. */
static void check_rc(struct mqtt_link *l, int rc, unsigned gen)
{
	if (rc == MOSQ_ERR_SUCCESS || get_state(l) == LINK_DOWN || l->gen != gen)
		return;
	lost(l, rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc));
}

void mqtt_link_pollfd(struct mqtt_link *l, struct pollfd *pfd)
{
	pfd->fd = get_state(l) == LINK_DOWN ? -1 : mosquitto_socket(l->m);
	pfd->events = POLLIN;
	if (pfd->fd >= 0 && mosquitto_want_write(l->m))
		pfd->events |= POLLOUT;
	pfd->revents = 0;
}

void mqtt_link_handle(struct mqtt_link *l, short revents)
{
	if ((revents & (POLLERR | POLLHUP)) && get_state(l) == LINK_CONNECTING) {
		/* A refused or unreachable address: the socket's own error says
		 * which (libmosquitto does not always notice it on a TLS connect). */
		int err = 0;
		socklen_t len = sizeof(err);

		getsockopt(mosquitto_socket(l->m), SOL_SOCKET, SO_ERROR, &err, &len);
		attempt_failed(l, err ? strerror(err) : "connection closed");
		return;
	}
	unsigned gen = l->gen;

	if (revents & (POLLIN | POLLERR | POLLHUP))
		check_rc(l, mosquitto_loop_read(l->m, 1), gen);
	if ((revents & POLLOUT) && get_state(l) != LINK_DOWN && l->gen == gen)
		check_rc(l, mosquitto_loop_write(l->m, 1), gen);
	if ((revents & (POLLERR | POLLHUP)) && get_state(l) != LINK_DOWN && l->gen == gen)
		lost(l, "connection closed");
}

void mqtt_link_tick(struct mqtt_link *l, uint64_t now)
{
	unsigned gen = l->gen;

	switch (get_state(l)) {
	case LINK_DOWN:
		if (now >= l->retry_at)
			start_round(l);
		break;
	case LINK_CONNECTING:
		if (now - l->attempt_since > ATTEMPT_TIMEOUT_MS) {
			attempt_failed(l, "no answer in time");
			break;
		}
		/* fall through */
	case LINK_UP:
		check_rc(l, mosquitto_loop_misc(l->m), gen);
		if (get_state(l) != LINK_DOWN && l->gen == gen && mosquitto_socket(l->m) < 0)
			lost(l, "socket closed");
		break;
	}
}

uint64_t mqtt_link_next_ms(const struct mqtt_link *l, uint64_t now)
{
	if (get_state(l) == LINK_DOWN)
		return l->retry_at > now ? l->retry_at - now : 0;
	return 1000;
}

void mqtt_link_loop(struct mqtt_link *l, int timeout_ms)
{
	uint64_t now = now_ms();
	unsigned gen;

	if (get_state(l) == LINK_DOWN) {
		if (now >= l->retry_at) {
			start_round(l);
		} else {
			uint64_t wait = l->retry_at - now;
			struct timespec ts;

			if (wait > (uint64_t)timeout_ms)
				wait = (uint64_t)timeout_ms;
			ts.tv_sec = (time_t)(wait / 1000);
			ts.tv_nsec = (long)(wait % 1000) * 1000000;
			nanosleep(&ts, NULL);
		}
		return;
	}
	/* mosquitto_loop also wakes for publishes queued by other threads. */
	gen = l->gen;
	check_rc(l, mosquitto_loop(l->m, timeout_ms, 1), gen);
	if (l->gen != gen)
		return;
	if (get_state(l) == LINK_CONNECTING && now_ms() - l->attempt_since > ATTEMPT_TIMEOUT_MS)
		attempt_failed(l, "no answer in time");
	else if (get_state(l) != LINK_DOWN && mosquitto_socket(l->m) < 0)
		lost(l, "socket closed");
}

bool mqtt_link_up(const struct mqtt_link *l)
{
	return get_state(l) == LINK_UP;
}

unsigned mqtt_link_reconnects(const struct mqtt_link *l)
{
	return l->reconnects;
}

void mqtt_link_status(struct mqtt_link *l, char *out, size_t cap)
{
	pthread_mutex_lock(&l->status_lock);
	snprintf(out, cap, "%s", l->status);
	pthread_mutex_unlock(&l->status_lock);
}

struct mosquitto *mqtt_link_mosq(struct mqtt_link *l)
{
	return l->m;
}
