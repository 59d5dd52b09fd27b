#include "inbound.h"
#include "cameras.h"
#include "log.h"
#include "presence.h"
#include "publish.h"
#include "sets.h"
#include "udp.h"
#include "util.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

/* RESETs answer datagrams nobody can authenticate yet and cost a key
 * derivation each: at most one a second per device and sender (address and
 * port), so junk from anywhere else cannot use up what the real device is
 * owed; and at most 1000 a second in all. A CHALLENGE needs no limit: it was
 * sealed once, and is smaller than any hello that asks for it. */
#define RESET_GAP_MS 1000
#define RESETS_PER_S 1000

void inbound_truncated(struct base *b)
{
	b->m.datagrams++;
	b->m.malformed++;
}

void inbound_kernel_drops(struct base *b, uint64_t total)
{
	b->m.kernel_drops = total;
}

/* May device d's sender be sent a RESET now? A slot that a colliding key
 * took over only ever lets more through, never fewer. */
static bool may_reset(struct base *b, const struct device *d, const struct sockaddr_storage *from)
{
	uint64_t key = 1469598103934665603ull, now = now_ms(), second = now / 1000;
	const uint8_t *a;
	size_t n;
	struct answered *slot;

	if (from->ss_family == AF_INET6) {
		a = (const uint8_t *)&((const struct sockaddr_in6 *)from)->sin6_addr;
		n = 16;
	} else {
		a = (const uint8_t *)&((const struct sockaddr_in *)from)->sin_addr;
		n = 4;
	}
	key = (key ^ (uint64_t)(d - b->table.devices)) * 1099511628211ull;
	for (size_t i = 0; i < n; i++)
		key = (key ^ a[i]) * 1099511628211ull;
	key = (key ^ ((const struct sockaddr_in *)from)->sin_port) * 1099511628211ull;	/* same offset in both */
	slot = &b->answered[key % (sizeof(b->answered) / sizeof(b->answered[0]))];
	if (slot->key == key && now - slot->at < RESET_GAP_MS)
		goto limited;
	if (second != b->resets_window) {
		b->resets_window = second;
		b->resets_in_window = 0;
	}
	if (b->resets_in_window >= RESETS_PER_S)
		goto limited;
	b->resets_in_window++;
	slot->key = key;
	slot->at = now;
	return true;
limited:
	b->m.answers_limited++;
	return false;
}

static void count_error(struct base *b, int err)
{
	switch (err) {
	case IC_ERR_AUTH: b->m.auth_failed++; break;
	case IC_ERR_REPLAY:
	case IC_ERR_OLD: b->m.replayed++; break;
	case IC_ERR_SESSION: b->m.unknown_session++; break;
	case IC_ERR_STATE: b->m.stale++; break;
	case IC_ERR_TICKET: b->m.stale_ticket++; break;
	default: b->m.malformed++; break;
	}
}

/* Answer where the hello came from, but move nothing yet: only a datagram
 * under the new session key proves the hello is fresh. */
static void on_hello(struct base *b, struct device *d, const uint8_t *body, size_t len,
		     const struct sockaddr_storage *from, socklen_t from_len)
{
	struct ic_welcome w = { .keepalive = (uint16_t)b->cfg.keepalive, .time_ms = wall_ms() };
	uint8_t out[IC_MAX_DATAGRAM];

	if (!d->pending && !(d->pending = malloc(sizeof(*d->pending)))) {
		ic_peer_drop_pending(&d->peer);
		return;
	}
	if (ic_hello_decode(d->pending, body, len) != IC_OK) {
		ic_peer_drop_pending(&d->peer);
		b->m.bad_body++;
		log_warn("device %s sent a hello that does not decode", d->peer.id);
		return;
	}
	b->m.hellos++;
	udp_send(b, out, ic_peer_welcome(&d->peer, &w, out, sizeof(out)), from, from_len);
}

static void on_established(struct base *b, struct device *d)
{
	int changed = device_adopt_pending(d);
	char where[64];

	if (changed < 0) {
		log_err("out of memory");
		return;
	}
	b->m.sessions++;
	if (d->info->hello.kind == IC_KIND_CAMERA && !cameras_of(b, d))
		log_err("out of memory");
	addr_format(where, sizeof(where), (const struct sockaddr *)&d->addr);
	log_info("device %s (%s, %d sensors, %d controls) connected from %s", d->peer.id,
		 kind_name(d->info->hello.kind), d->info->hello.n_sensors, d->info->hello.n_controls, where);
	if (changed)
		b->state_dirty = true;
	presence_established(b, d, changed);
}

static void on_values(struct base *b, struct device *d, const uint8_t *body, size_t len, bool controls)
{
	struct ic_reading r;

	if (ic_reading_decode(&r, body, len) != IC_OK || !device_apply_values(d, &r, controls)) {
		b->m.bad_body++;
		return;
	}
	if (controls)
		b->m.states++;
	else
		b->m.readings++;
	publish_state(b, d);
}

static void on_ack(struct base *b, struct device *d, const uint8_t *body, size_t len)
{
	struct ic_ack a;

	if (ic_ack_decode(&a, body, len) != IC_OK) {
		b->m.bad_body++;
		return;
	}
	if (!sets_awaits(d, a.id)) {
		b->m.stale++;	/* a duplicate ack of a command already answered */
		return;
	}
	/* the state it reports first, then the result: a client that reads
	 * the result finds the new state already there */
	if (device_apply_values(d, &a.state, true))
		publish_state(b, d);
	else
		b->m.bad_body++;
	sets_acked(b, d, &a);
}

static void on_fragment(struct base *b, struct device *d, const uint8_t *body, size_t len)
{
	struct ic_fragment f;

	if (d->info->hello.kind != IC_KIND_CAMERA || !d->cam || ic_fragment_decode(&f, body, len) != IC_OK) {
		b->m.bad_body++;
		return;
	}
	cameras_fragment(b, d, &f);
}

/* An authenticated datagram on the device's session, by type. */
static void on_message(struct base *b, struct device *d, uint8_t type, const uint8_t *body, size_t len)
{
	switch (type) {
	case IC_KEEPALIVE:
		b->m.keepalives++;
		udp_send_session(b, d, IC_KEEPALIVE, NULL, 0);
		/* last_seen follows keepalives too, at a rate the broker can take
		 * for a large site (a state not published yet waits for the
		 * device's first values) */
		if (b->cfg.last_seen_interval && d->state_sent && mqtt_connected(b->mqtt) &&
		    now_ms() - d->state_sent >= (uint64_t)b->cfg.last_seen_interval * 1000)
			publish_state(b, d);
		break;
	case IC_READING:
		on_values(b, d, body, len, false);
		break;
	case IC_STATE:
		on_values(b, d, body, len, true);
		break;
	case IC_ACK:
		on_ack(b, d, body, len);
		break;
	case IC_FRAME:
		on_fragment(b, d, body, len);
		break;
	case IC_BYE:
		b->m.byes++;
		ic_peer_close(&d->peer);
		presence_offline(b, d, "said bye");
		break;
	default:
		b->m.bad_body++;
		break;
	}
}

void inbound_datagram(struct base *b, const uint8_t *buf, size_t len, const struct sockaddr_storage *from,
		      socklen_t from_len)
{
	static uint8_t body[IC_MAX_DATAGRAM];
	uint8_t out[IC_MAX_DATAGRAM];
	struct sockaddr_storage was;
	struct ic_header h;
	struct device *d;
	enum ic_peer_event ev;
	size_t hl, blen = 0;
	bool newest;
	int ret;

	b->m.datagrams++;
	ret = ic_header_decode(&h, &hl, buf, len);
	if (ret != IC_OK) {
		b->m.malformed++;
		log_debug("dropped a datagram: %s", ic_strerror(ret));
		return;
	}
	d = device_table_find(&b->table, h.id);
	if (!d || (d->cam && d->cam->pull)) {	/* a pull camera has no key to speak with */
		b->m.unknown_device++;
		log_debug("dropped a datagram from unknown device '%s'", h.id);
		return;
	}
	ret = ic_peer_receive(&d->peer, &h, hl, buf, len, h.type == IC_HELLO ? random_u64_nonzero() : 0,
			      body, &blen, &ev, &newest);
	if (ret != IC_OK) {
		count_error(b, ret);
		log_debug("dropped a datagram for %s: %s", h.id, ic_strerror(ret));
		if (ret == IC_ERR_SESSION && may_reset(b, d, from)) {
			/* We lost this session (we restarted): ask the device to say
			 * hello, with the ticket its hello needs. */
			b->m.resets_sent++;
			udp_send(b, out, ic_peer_reset(&d->peer, &h, out, sizeof(out)), from, from_len);
		} else if (ret == IC_ERR_REPLAY && h.type == IC_HELLO) {
			const uint8_t *w;
			size_t n = ic_peer_welcome_again(&d->peer, &h, &w);

			if (n)
				udp_send(b, w, (int)n, from, from_len);
		} else if (ret == IC_ERR_TICKET) {
			/* A device without the current ticket (it just started), or a
			 * replay: either way the CHALLENGE sealed for the ticket, no crypto. */
			const uint8_t *c;
			size_t n = ic_peer_challenge(&d->peer, &c);

			if (n) {
				b->m.challenges_sent++;
				udp_send(b, c, (int)n, from, from_len);
			}
		}
		return;
	}
	if (ev == IC_EV_HELLO && !d->peer.ticket)
		ic_peer_set_ticket(&d->peer, random_u64_nonzero());	/* the hello took the ticket */
	if (ev == IC_EV_HELLO) {
		on_hello(b, d, body, blen, from, from_len);
		return;
	}
	if (device_heard(d, from, from_len, newest, now_ms(), wall_ms(), &was) && d->info &&
	    ev != IC_EV_ESTABLISHED) {
		char a[64], c[64];
		addr_format(a, sizeof(a), (const struct sockaddr *)&was);
		addr_format(c, sizeof(c), (const struct sockaddr *)from);
		log_info("device %s moved from %s to %s", d->peer.id, a, c);
	}
	if (ev == IC_EV_ESTABLISHED)
		on_established(b, d);
	if (!d->info)
		return;	/* out of memory at establishment */
	if (h.type != IC_BYE)
		presence_back(b, d);	/* back after a silence, same session */
	on_message(b, d, h.type, body, blen);
}
