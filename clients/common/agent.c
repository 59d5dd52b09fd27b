#include "agent.h"
#include "cmdline.h"
#include "log.h"
#include "service.h"
#include "util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define HELLO_BACKOFF_MIN_MS 1000
#define HELLO_BACKOFF_MAX_MS 30000

void agent_config_init(struct agent_config *c)
{
	memset(c, 0, sizeof(*c));
	c->keepalive = 15;	/* below the ~20 s UDP timeout of common carrier NATs */
	c->offline_after = 3;
}

bool agent_config_line(struct agent_config *c, const struct conf_line *l, char *err, size_t errlen,
		       bool *mine)
{
	const char *k = l->argv[0];
	long v;

	*mine = true;
	if (!strcmp(k, "id")) {
		if (!conf_want_args(l, 1, 1, "ID", err, errlen))
			return false;
		if (!ic_id_valid(l->argv[1], strlen(l->argv[1]))) {
			snprintf(err, errlen, "'id' expects 1 to %d of a-z 0-9 _ - (not 'bridge'), got '%s'",
				 IC_ID_MAX, l->argv[1]);
			return false;
		}
		memcpy(c->id, l->argv[1], strlen(l->argv[1]) + 1);
		return true;
	}
	if (!strcmp(k, "key") || !strcmp(k, "key_file")) {
		char hex[80] = "";
		bool ok;

		if (!conf_want_args(l, 1, 1, k[3] ? "PATH" : "KEY", err, errlen))
			return false;
		if (k[3] && !conf_read_secret(l, 1, hex, sizeof(hex), err, errlen))
			return false;
		ok = key_from_hex(c->psk, k[3] ? hex : l->argv[1]);
		memset(hex, 0, sizeof(hex));
		if (!ok) {
			snprintf(err, errlen, "'%s' expects 64 hex digits (from 'base-unit genkey')%s", k,
				 k[3] ? " in the file" : "");
			return false;
		}
		c->have_key = true;
		return true;
	}
	/* Which program this configuration is for: intercom-agent@NAME starts
	 * that one (docs/install.md); the program itself refuses another's. */
	if (!strcmp(k, "agent")) {
		if (!conf_want_args(l, 1, 1, "read-unit|updatable-unit|camera-unit", err, errlen))
			return false;
		if (strcmp(l->argv[1], log_ident)) {
			snprintf(err, errlen, "this configuration is for %s, not %s", l->argv[1], log_ident);
			return false;
		}
		return true;
	}
	if (!strcmp(k, "base")) {
		if (!conf_want_args(l, 1, 1, "HOST:PORT", err, errlen))
			return false;
		if (strlen(l->argv[1]) >= sizeof(c->base) || !strchr(l->argv[1], ':')) {
			snprintf(err, errlen, "'base' expects HOST:PORT, got '%s'", l->argv[1]);
			return false;
		}
		memcpy(c->base, l->argv[1], strlen(l->argv[1]) + 1);
		return true;
	}
	if (!strcmp(k, "keepalive")) {
		if (!conf_want_args(l, 1, 1, "SECONDS", err, errlen) || !conf_long(l, 1, 1, 3600, &v, err, errlen))
			return false;
		c->keepalive = (int)v;
		return true;
	}
	*mine = false;
	return true;
}

bool agent_config_finish(const struct agent_config *c, const char *path)
{
	bool ok = true;

	if (!c->id[0]) {
		conf_error("%s: missing 'id'\n", path);
		ok = false;
	}
	if (!c->have_key) {
		conf_error("%s: missing 'key'\n", path);
		ok = false;
	}
	if (!c->base[0]) {
		conf_error("%s: missing 'base' (HOST:PORT of the base unit)\n", path);
		ok = false;
	}
	return ok;
}

/* Points base (and the socket's family) at addrs[i]. */
static void use_address(struct agent *a, int i)
{
	a->cur = i;
	a->base = a->addrs[i];
	a->base_len = a->addr_lens[i];
	if (a->fd >= 0 && a->family == a->base.ss_family)
		return;
	if (a->fd >= 0)
		close(a->fd);
	a->fd = -1;
	if (udp_open(&a->fd, a->base.ss_family, NULL, 0, 0, NULL) < 0)
		log_warn("cannot open a udp socket for %s: %s", a->c->base, strerror(errno));
	a->family = a->base.ss_family;
}

static void send_raw(struct agent *a, const uint8_t *buf, int len)
{
	if (len < 0) {
		log_err("sealing failed: %s", ic_strerror(len));
		return;
	}
	if (a->fd < 0 || sendto(a->fd, buf, (size_t)len, 0, (const struct sockaddr *)&a->base, a->base_len) < 0) {
		char text[INET6_ADDRSTRLEN + 8];

		addr_format(text, sizeof(text), (struct sockaddr *)&a->base);
		snprintf(a->why[a->cur], sizeof(a->why[a->cur]), "%s", a->fd < 0 ? "no socket" : strerror(errno));
		log_debug("sending to %s: %s", text, a->why[a->cur]);
	}
}

/* Looks the base's name up; keeps the addresses it had when that fails. */
static bool resolve(struct agent *a)
{
	struct sockaddr_storage ss[AGENT_ADDRS_MAX];
	socklen_t sl[AGENT_ADDRS_MAX];
	int n = addr_parse_all(ss, sl, AGENT_ADDRS_MAX, a->c->base, false);

	if (n <= 0)
		return false;
	memcpy(a->addrs, ss, sizeof(ss[0]) * (size_t)n);
	memcpy(a->addr_lens, sl, sizeof(sl[0]) * (size_t)n);
	a->n_addrs = n;
	return true;
}

/* A new handshake: a fresh session id, and the base's addresses looked up
 * again (a home connection's address may have changed; a name that does not
 * resolve yet, a Pi that booted before its hotspot, is tried again later). */
static void restart(struct agent *a, uint64_t now)
{
	if (resolve(a))
		use_address(a, 0);
	for (int i = 0; i < AGENT_ADDRS_MAX; i++)
		snprintf(a->why[i], sizeof(a->why[i]), "no answer");
	ic_device_restart(&a->dev, random_u64_nonzero());
	a->hello_sent = false;
	a->hello_backoff = HELLO_BACKOFF_MIN_MS;
	a->next_hello = now;
}

/* A hello went unanswered: the next address, and after the last one a
 * longer wait (and one line saying what was tried). */
static void next_address(struct agent *a)
{
	char tried[600];
	size_t off = 0;

	if (a->cur + 1 < a->n_addrs) {
		use_address(a, a->cur + 1);
		return;
	}
	tried[0] = '\0';
	for (int i = 0; i < a->n_addrs && off < sizeof(tried); i++) {
		char text[INET6_ADDRSTRLEN + 8];

		addr_format(text, sizeof(text), (struct sockaddr *)&a->addrs[i]);
		off += (size_t)snprintf(tried + off, sizeof(tried) - off, "%s%s (%s)", i ? "; " : "", text, a->why[i]);
	}
	if (a->hello_backoff >= HELLO_BACKOFF_MIN_MS * 4)	/* the first rounds are normal start-up */
		log_warn("no answer from the base unit %s: %s; trying again", a->c->base,
			 a->n_addrs ? tried : "the name does not resolve");
	a->hello_backoff = a->hello_backoff * 2 > HELLO_BACKOFF_MAX_MS ? HELLO_BACKOFF_MAX_MS : a->hello_backoff * 2;
	resolve(a);	/* the name again: the base unit's address may have changed */
	if (a->n_addrs > 0)
		use_address(a, 0);
}

int agent_start(struct agent *a, const struct agent_config *c, const struct ic_hello *hello,
		agent_ready_fn on_ready, agent_message_fn on_message, void *ctx)
{
	int n;

	memset(a, 0, sizeof(*a));
	a->fd = -1;
	a->c = c;
	a->on_ready = on_ready;
	a->on_message = on_message;
	a->ctx = ctx;
	n = ic_hello_encode(a->hello, sizeof(a->hello), hello);
	if (n < 0) {
		log_err("the announcement does not fit: %s", ic_strerror(n));
		return -EINVAL;
	}
	a->hello_len = (size_t)n;
	if (ic_device_init(&a->dev, c->id, c->psk) != IC_OK)
		return -EINVAL;
	restart(a, now_ms());
	return 0;
}

void agent_stop(struct agent *a)
{
	uint8_t out[IC_MAX_DATAGRAM];

	if (a->fd < 0)
		return;
	if (agent_ready(a))
		send_raw(a, out, ic_device_seal(&a->dev, IC_BYE, NULL, 0, out, sizeof(out)));
	close(a->fd);
	a->fd = -1;
	memset(&a->dev, 0, sizeof(a->dev));
}

uint64_t agent_base_time(const struct agent *a)
{
	return a->base_offset ? (uint64_t)((int64_t)now_ms() + a->base_offset) : 0;
}

bool agent_ready(const struct agent *a)
{
	return a->dev.state == IC_DEV_READY;
}

void agent_pollfd(const struct agent *a, struct pollfd *p)
{
	p->fd = a->fd;
	p->events = POLLIN;
	p->revents = 0;
}

int agent_send(struct agent *a, uint8_t type, const uint8_t *body, size_t len)
{
	uint8_t out[IC_MAX_DATAGRAM];
	int n = ic_device_seal(&a->dev, type, body, len, out, sizeof(out));

	if (n < 0)
		return n;
	if (a->fd < 0)
		return -ENOTCONN;
	if (sendto(a->fd, out, (size_t)n, 0, (const struct sockaddr *)&a->base, a->base_len) < 0)
		return -errno;
	return 0;
}

void agent_handle(struct agent *a)
{
	uint8_t buf[IC_MAX_DATAGRAM + 1], body[IC_MAX_DATAGRAM];

	for (int i = 0; i < 64 && a->fd >= 0; i++) {
		ssize_t n = recv(a->fd, buf, sizeof(buf), MSG_DONTWAIT);
		size_t blen = 0;
		uint8_t type;
		bool was_ready = agent_ready(a);
		int ret;

		if (n < 0)
			return;
		ret = ic_device_receive(&a->dev, buf, (size_t)n, &type, body, &blen);
		if (ret != IC_OK) {
			log_debug("dropped a datagram: %s", ic_strerror(ret));
			continue;
		}
		a->last_rx = now_ms();
		if (type == IC_WELCOME && !was_ready) {
			struct ic_welcome w;

			a->sessions++;
			if (ic_welcome_decode(&w, body, blen) == IC_OK) {
				uint64_t now = now_ms(), rtt = a->hello_at && now > a->hello_at ? now - a->hello_at : 0;

				log_debug("base unit keepalive %u s", w.keepalive);
				a->base_offset = (int64_t)(w.time_ms + rtt / 2) - (int64_t)now;
			}
			{
				char text[INET6_ADDRSTRLEN + 8];

				addr_format(text, sizeof(text), (struct sockaddr *)&a->base);
				log_info("connected to the base unit at %s (%s)", a->c->base, text);
			}
			/* Confirm at once: the base adopts the session on our first datagram. */
			agent_send(a, IC_KEEPALIVE, NULL, 0);
			a->next_keepalive = a->last_rx + (uint64_t)a->c->keepalive * 1000;
			if (a->on_ready)
				a->on_ready(a, a->ctx);
		} else if (type == IC_CHALLENGE) {
			/* The base wants our hello with a new ticket: at once, but at
			 * most every 100 ms (old challenges replayed at us cost a
			 * hello each otherwise). */
			uint64_t now = now_ms();

			if (now - a->challenged_at >= 100) {
				uint8_t out[IC_MAX_DATAGRAM];

				a->challenged_at = now;
				a->hello_at = now;
				send_raw(a, out, ic_device_hello(&a->dev, a->hello, a->hello_len, out, sizeof(out)));
			} else {
				a->next_hello = now + 100;
			}
		} else if (type == IC_RESET) {
			log_info("the base unit lost our session (it restarted?): saying hello again");
			restart(a, now_ms());
		} else if (type != IC_WELCOME && type != IC_KEEPALIVE && a->on_message) {
			a->on_message(a, type, body, blen, a->ctx);
		}
	}
}

void agent_tick(struct agent *a, uint64_t now)
{
	uint8_t out[IC_MAX_DATAGRAM];

	if (a->dev.state == IC_DEV_IDLE)
		restart(a, now);
	if (a->dev.state == IC_DEV_HELLO) {
		if (now >= a->next_hello) {
			if (a->hello_sent || a->n_addrs == 0)
				next_address(a);	/* unanswered, or the name did not resolve */
			if (a->n_addrs > 0) {
				send_raw(a, out, ic_device_hello(&a->dev, a->hello, a->hello_len, out, sizeof(out)));
				a->hello_sent = true;
				a->hello_at = now;
			}
			a->next_hello = now + random_between(a->hello_backoff / 2, a->hello_backoff);
		}
		return;
	}
	if (now - a->last_rx > (uint64_t)a->c->offline_after * a->c->keepalive * 1000) {
		log_warn("no answer from the base unit for %d s: saying hello again",
			 a->c->offline_after * a->c->keepalive);
		restart(a, now);
		return;
	}
	if (now >= a->next_keepalive) {
		agent_send(a, IC_KEEPALIVE, NULL, 0);
		a->next_keepalive = now + (uint64_t)a->c->keepalive * 1000;
	}
}

uint64_t agent_next_ms(const struct agent *a, uint64_t now)
{
	uint64_t next;

	if (a->dev.state == IC_DEV_IDLE)
		return 0;
	next = a->dev.state == IC_DEV_HELLO ? a->next_hello : a->next_keepalive;
	return next > now ? next - now : 0;
}

static volatile sig_atomic_t running = 1;

static void on_signal(int sig)
{
	(void)sig;
	running = 0;
}

bool agent_stopping(void)
{
	return !running;
}

void agent_loop(struct agent *a, agent_work_fn work, void *ctx)
{
	struct sigaction sa = { .sa_handler = on_signal };

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	service_ready("device %s, base unit %s", a->c->id, a->c->base);
	while (running) {
		struct pollfd p;
		uint64_t now = now_ms(), wait = 1000, w;

		agent_tick(a, now);
		service_watchdog(now);
		if ((w = service_watchdog_next(now)) < wait)
			wait = w;
		if (work && (w = work(a, now, ctx)) < wait)
			wait = w;
		if ((w = agent_next_ms(a, now)) < wait)
			wait = w;
		agent_pollfd(a, &p);
		if (poll(&p, 1, (int)wait) < 0 && errno != EINTR)
			break;
		if (p.revents & POLLIN)
			agent_handle(a);
	}
	service_stopping();
	agent_stop(a);
}

static void agent_usage(FILE *f, const char *name)
{
	fprintf(f, "usage: %s -c FILE [-v]          run the agent\n"
		   "       %s -c FILE --check     check a configuration and exit\n"
		   "       %s --version           print the version\n", name, name, name);
}

int agent_cli(int argc, char **argv, const char *ident, const char **path, bool *check)
{
	struct daemon_args a;
	int rc;

	log_ident = ident;
	if ((rc = daemon_args_parse(&a, argc, argv, ident, agent_usage)) >= 0)
		return rc;
	if (a.verbose)
		log_threshold = LOG_DEBUG;
	*path = a.config;
	*check = a.check;
	return -1;
}
