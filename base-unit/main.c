/*
 * base-unit: bridges devices speaking the UDP intercom to a private MQTT
 * broker over TLS. One poll loop drives the UDP socket, the MQTT socket and a
 * one-second tick; there are no threads and no locks.
 */
#include "config.h"
#include "devices.h"
#include "log.h"
#include "mqtt.h"
#include "util.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cjson/cJSON.h>
#include <sys/socket.h>

#define RX_BATCH   32		/* datagrams per recvmmsg */
#define RX_ROUNDS  8		/* batches per wakeup before MQTT gets a turn */
#define RESET_GAP_MS 1000	/* at most one RESET per device per second */

struct metrics {
	uint64_t datagrams, hellos, sessions, readings, keepalives, byes;
	uint64_t malformed, unknown_device, auth_failed, replayed, unknown_session;
	uint64_t bad_body, stale, resets_sent, send_failed;
	uint64_t kernel_drops;
};

struct base {
	struct base_config cfg;
	struct device_table table;
	struct mqtt *mqtt;
	int udp;
	int rcvbuf;
	struct metrics m;
	uint64_t started, next_metrics;
	bool devices_dirty;		/* P/bridge/devices is due (at most once a tick) */
};

static volatile sig_atomic_t running = 1;

static void on_signal(int sig)
{
	(void)sig;
	running = 0;
}

static void publish_string(struct base *b, const char *suffix, char *json, bool retain)
{
	if (json)
		mqtt_publish(b->mqtt, suffix, json, strlen(json), retain);
	free(json);
}

static void publish_availability(struct base *b, const struct device *d)
{
	char topic[IC_ID_MAX + 16];
	const char *v = d->online ? "online" : "offline";

	snprintf(topic, sizeof(topic), "%s/availability", d->peer.id);
	mqtt_publish(b->mqtt, topic, v, strlen(v), true);
}

static void publish_state(struct base *b, const struct device *d)
{
	publish_string(b, d->peer.id, device_state_json(d), true);
}

static void publish_devices(struct base *b)
{
	publish_string(b, "bridge/devices", device_list_json(&b->table), true);
	b->devices_dirty = false;
}

/* The list grows with the number of devices: when many devices come online
 * at once (a base-unit restart), publish it once, not once per device. */
static void devices_changed(struct base *b)
{
	b->devices_dirty = true;
}

static void publish_metrics(struct base *b)
{
	cJSON *o = cJSON_CreateObject(), *drop;
	int online = 0;

	if (!o)
		return;
	for (int i = 0; i < b->table.n; i++)
		online += b->table.devices[i].online;
	cJSON_AddNumberToObject(o, "uptime_s", (double)(now_ms() - b->started) / 1000);
	cJSON_AddNumberToObject(o, "devices", b->table.n);
	cJSON_AddNumberToObject(o, "devices_online", online);
	cJSON_AddNumberToObject(o, "datagrams", (double)b->m.datagrams);
	cJSON_AddNumberToObject(o, "readings", (double)b->m.readings);
	cJSON_AddNumberToObject(o, "hellos", (double)b->m.hellos);
	cJSON_AddNumberToObject(o, "sessions", (double)b->m.sessions);
	cJSON_AddNumberToObject(o, "resets_sent", (double)b->m.resets_sent);
	cJSON_AddNumberToObject(o, "mqtt_reconnects", mqtt_reconnects(b->mqtt));
	cJSON_AddNumberToObject(o, "udp_rcvbuf", b->rcvbuf);
	drop = cJSON_AddObjectToObject(o, "dropped");
	if (drop) {
		cJSON_AddNumberToObject(drop, "malformed", (double)b->m.malformed);
		cJSON_AddNumberToObject(drop, "unknown_device", (double)b->m.unknown_device);
		cJSON_AddNumberToObject(drop, "auth_failed", (double)b->m.auth_failed);
		cJSON_AddNumberToObject(drop, "replayed", (double)b->m.replayed);
		cJSON_AddNumberToObject(drop, "unknown_session", (double)b->m.unknown_session);
		cJSON_AddNumberToObject(drop, "bad_body", (double)b->m.bad_body);
		cJSON_AddNumberToObject(drop, "stale", (double)b->m.stale);
		cJSON_AddNumberToObject(drop, "send_failed", (double)b->m.send_failed);
		cJSON_AddNumberToObject(drop, "kernel", (double)b->m.kernel_drops);
	}
	publish_string(b, "bridge/metrics", cJSON_PrintUnformatted(o), true);
	cJSON_Delete(o);
}

/* After every (re)connect the broker may have lost or never had our retained
 * state: publish all of it again. */
static void on_mqtt_up(void *ctx)
{
	struct base *b = ctx;

	mqtt_publish(b->mqtt, "bridge/state", "online", 6, true);
	publish_devices(b);
	for (int i = 0; i < b->table.n; i++) {
		const struct device *d = &b->table.devices[i];

		publish_availability(b, d);
		if (d->known && d->last_seen_wall)
			publish_state(b, d);
	}
	publish_metrics(b);
	b->next_metrics = now_ms() + (uint64_t)b->cfg.metrics_interval * 1000;
}

static void send_to(struct base *b, const uint8_t *buf, int len, const struct sockaddr_storage *to,
		    socklen_t to_len)
{
	if (len < 0) {
		log_err("sealing a datagram failed: %s", ic_strerror(len));
		return;
	}
	if (sendto(b->udp, buf, (size_t)len, 0, (const struct sockaddr *)to, to_len) < 0) {
		b->m.send_failed++;
		log_debug("sendto: %s", strerror(errno));
	}
}

static void set_offline(struct base *b, struct device *d, const char *why)
{
	if (!d->online)
		return;
	d->online = false;
	log_info("device %s offline (%s)", d->peer.id, why);
	publish_availability(b, d);
	devices_changed(b);
}

static void on_established(struct base *b, struct device *d)
{
	bool changed = !d->known || memcmp(&d->info, &d->pending_info, sizeof(d->info)) != 0;
	char where[64];

	if (changed) {
		d->info = d->pending_info;
		d->have_value = 0;	/* values of sensors it no longer announces mean nothing */
	}
	d->known = true;
	b->m.sessions++;
	addr_format(where, sizeof(where), (const struct sockaddr *)&d->addr);
	log_info("device %s (%s, %d sensors) connected from %s", d->peer.id, kind_name(d->info.kind),
		 d->info.n_sensors, where);
	if (!d->online || changed) {
		d->online = true;
		publish_availability(b, d);
		devices_changed(b);
	}
}

static void on_reading(struct base *b, struct device *d, const uint8_t *body, size_t len)
{
	struct ic_reading r;

	if (ic_reading_decode(&r, body, len) != IC_OK) {
		b->m.bad_body++;
		return;
	}
	for (int i = 0; i < r.n; i++) {
		if (r.values[i].index >= d->info.n_sensors) {
			b->m.bad_body++;
			return;
		}
	}
	for (int i = 0; i < r.n; i++) {
		d->values[r.values[i].index] = r.values[i].value;
		d->have_value |= 1u << r.values[i].index;
	}
	b->m.readings++;
	publish_state(b, d);
}

static void count_error(struct base *b, int err)
{
	switch (err) {
	case IC_ERR_AUTH: b->m.auth_failed++; break;
	case IC_ERR_REPLAY:
	case IC_ERR_OLD: b->m.replayed++; break;
	case IC_ERR_SESSION: b->m.unknown_session++; break;
	case IC_ERR_STATE: b->m.stale++; break;
	default: b->m.malformed++; break;
	}
}

static void handle_datagram(struct base *b, const uint8_t *buf, size_t len,
			    const struct sockaddr_storage *from, socklen_t from_len)
{
	static uint8_t body[IC_MAX_DATAGRAM];
	uint8_t out[IC_MAX_DATAGRAM];
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
	if (!d) {
		b->m.unknown_device++;
		log_debug("dropped a datagram from unknown device '%s'", h.id);
		return;
	}
	ret = ic_peer_receive(&d->peer, &h, hl, buf, len, h.type == IC_HELLO ? random_u64_nonzero() : 0,
			      body, &blen, &ev, &newest);
	if (ret != IC_OK) {
		count_error(b, ret);
		log_debug("dropped a datagram for %s: %s", h.id, ic_strerror(ret));
		if (ret == IC_ERR_SESSION && now_ms() - d->reset_sent >= RESET_GAP_MS) {
			/* We lost this session (we restarted): ask the device to say hello. */
			d->reset_sent = now_ms();
			b->m.resets_sent++;
			send_to(b, out, ic_peer_reset(&d->peer, &h, out, sizeof(out)), from, from_len);
		}
		return;
	}
	if (ev == IC_EV_HELLO) {
		struct ic_welcome w = { .keepalive = (uint16_t)b->cfg.keepalive, .time_ms = wall_ms() };

		if (ic_hello_decode(&d->pending_info, body, blen) != IC_OK) {
			d->peer.pending = false;
			b->m.bad_body++;
			log_warn("device %s sent a hello that does not decode", h.id);
			return;
		}
		b->m.hellos++;
		/* Answer where the hello came from, but move nothing yet: only a
		 * datagram under the new session key proves the hello is fresh. */
		send_to(b, out, ic_peer_welcome(&d->peer, &w, out, sizeof(out)), from, from_len);
		return;
	}
	if (newest) {
		if (d->known && !addr_equal(&d->addr, from)) {
			char a[64], c[64];
			addr_format(a, sizeof(a), (const struct sockaddr *)&d->addr);
			addr_format(c, sizeof(c), (const struct sockaddr *)from);
			if (ev != IC_EV_ESTABLISHED)
				log_info("device %s moved from %s to %s", d->peer.id, a, c);
		}
		memcpy(&d->addr, from, from_len);
		d->addr_len = from_len;
	}
	d->last_rx = now_ms();
	d->last_seen_wall = wall_ms();
	if (ev == IC_EV_ESTABLISHED)
		on_established(b, d);
	else if (!d->online && h.type != IC_BYE) {
		d->online = true;	/* back after a silence, same session */
		log_info("device %s online again", d->peer.id);
		publish_availability(b, d);
		devices_changed(b);
	}
	switch (h.type) {
	case IC_KEEPALIVE:
		b->m.keepalives++;
		send_to(b, out, ic_peer_seal(&d->peer, IC_KEEPALIVE, NULL, 0, out, sizeof(out)),
			&d->addr, d->addr_len);
		break;
	case IC_READING:
		on_reading(b, d, body, blen);
		break;
	case IC_BYE:
		b->m.byes++;
		d->peer.ready = false;	/* the session is over */
		set_offline(b, d, "said bye");
		break;
	default:
		b->m.bad_body++;
		break;
	}
}

static void udp_drain(struct base *b)
{
	static uint8_t bufs[RX_BATCH][IC_MAX_DATAGRAM + 1];
	static struct sockaddr_storage addrs[RX_BATCH];
	static char ctrl[RX_BATCH][CMSG_SPACE(sizeof(uint32_t))];
	struct mmsghdr msgs[RX_BATCH];
	struct iovec iov[RX_BATCH];

	for (int round = 0; round < RX_ROUNDS; round++) {
		int n;

		for (int i = 0; i < RX_BATCH; i++) {
			iov[i].iov_base = bufs[i];
			iov[i].iov_len = sizeof(bufs[i]);	/* one spare byte: oversize shows */
			memset(&msgs[i], 0, sizeof(msgs[i]));
			msgs[i].msg_hdr.msg_iov = &iov[i];
			msgs[i].msg_hdr.msg_iovlen = 1;
			msgs[i].msg_hdr.msg_name = &addrs[i];
			msgs[i].msg_hdr.msg_namelen = sizeof(addrs[i]);
			msgs[i].msg_hdr.msg_control = ctrl[i];
			msgs[i].msg_hdr.msg_controllen = sizeof(ctrl[i]);
		}
		n = recvmmsg(b->udp, msgs, RX_BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0)
			return;
		for (int i = 0; i < n; i++) {
			struct msghdr *mh = &msgs[i].msg_hdr;

			for (struct cmsghdr *cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR(mh, cm))
				if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SO_RXQ_OVFL) {
					uint32_t drops;
					memcpy(&drops, CMSG_DATA(cm), sizeof(drops));
					b->m.kernel_drops = drops;	/* the kernel's running total */
				}
			if (mh->msg_flags & MSG_TRUNC) {
				b->m.datagrams++;
				b->m.malformed++;
				continue;
			}
			handle_datagram(b, bufs[i], msgs[i].msg_len, &addrs[i], mh->msg_namelen);
		}
		if (n < RX_BATCH)
			return;
	}
}

static void tick(struct base *b, uint64_t now)
{
	mqtt_tick(b->mqtt, now);
	for (int i = 0; i < b->table.n; i++) {
		struct device *d = &b->table.devices[i];
		uint64_t limit = (uint64_t)b->cfg.offline_after * d->info.keepalive * 1000;

		if (d->online && now - d->last_rx > limit)
			set_offline(b, d, "missed keepalives");
	}
	if (b->devices_dirty && mqtt_connected(b->mqtt))
		publish_devices(b);
	if (now >= b->next_metrics && mqtt_connected(b->mqtt)) {
		publish_metrics(b);
		b->next_metrics = now + (uint64_t)b->cfg.metrics_interval * 1000;
	}
}

static int open_udp(struct base *b)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int one = 1, ret;

	ret = addr_parse(&ss, &sl, b->cfg.listen, true);
	if (ret < 0) {
		log_err("cannot resolve listen address '%s'", b->cfg.listen);
		return ret;
	}
	ret = udp_open(&b->udp, ss.ss_family, &ss, sl, b->cfg.udp_rcvbuf, &b->rcvbuf);
	if (ret < 0) {
		log_err("cannot listen on udp %s: %s", b->cfg.listen, strerror(-ret));
		return ret;
	}
	setsockopt(b->udp, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof(one));
	log_info("listening on udp %s (receive buffer %d bytes)", b->cfg.listen, b->rcvbuf);
	return 0;
}

static int run(const char *path, bool verbose)
{
	struct base b = { .udp = -1 };

	struct sigaction sa = { .sa_handler = on_signal };
	uint64_t next_tick;
	int ret = 1;

	base_config_init(&b.cfg);
	if (!base_config_load(&b.cfg, path))
		goto out;
	if (!verbose)
		log_threshold = (enum log_level)b.cfg.log_level;
	if (device_table_init(&b.table, &b.cfg) < 0) {
		log_err("out of memory");
		goto out;
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (open_udp(&b) < 0)
		goto out;
	b.started = now_ms();
	b.mqtt = mqtt_start(&b.cfg, on_mqtt_up, &b);
	if (!b.mqtt)
		goto out;
	next_tick = now_ms() + 1000;
	while (running) {
		struct pollfd pfd[2] = { { .fd = b.udp, .events = POLLIN } };
		uint64_t now = now_ms(), wait;

		if (now >= next_tick) {
			tick(&b, now);
			next_tick = now + 1000;
		}
		wait = next_tick - now;
		if (mqtt_next_ms(b.mqtt, now) < wait)
			wait = mqtt_next_ms(b.mqtt, now);
		mqtt_pollfd(b.mqtt, &pfd[1]);
		if (poll(pfd, 2, (int)wait) < 0) {
			if (errno == EINTR)
				continue;
			log_err("poll: %s", strerror(errno));
			break;
		}
		if (pfd[0].revents & POLLIN)
			udp_drain(&b);
		if (pfd[1].fd >= 0 && pfd[1].revents)
			mqtt_handle(b.mqtt, pfd[1].revents);
		if (mqtt_next_ms(b.mqtt, now_ms()) == 0)
			mqtt_tick(b.mqtt, now_ms());
	}
	log_info("stopping");
	ret = 0;
out:
	mqtt_stop(b.mqtt);
	if (b.udp >= 0)
		close(b.udp);
	device_table_free(&b.table);
	base_config_free(&b.cfg);
	return ret;
}

static int cmd_genkey(void)
{
	uint8_t key[IC_KEY_LEN];
	char hex[65];

	if (random_bytes(key, sizeof(key)) < 0) {
		fprintf(stderr, "base-unit: no randomness: %s\n", strerror(errno));
		return 1;
	}
	key_to_hex(hex, key);
	printf("%s\n", hex);
	memset(key, 0, sizeof(key));
	return 0;
}

static int cmd_check(const char *path)
{
	struct base_config c;
	bool ok;

	base_config_init(&c);
	ok = base_config_load(&c, path);
	if (ok)
		printf("%s: ok (%d device%s)\n", path, c.n_devices, c.n_devices == 1 ? "" : "s");
	base_config_free(&c);
	return ok ? 0 : 1;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: base-unit -c FILE [-v]    run the bridge\n"
		   "       base-unit --check -c FILE check a configuration and exit\n"
		   "       base-unit genkey          print a new device key\n");
}

int main(int argc, char **argv)
{
	const char *path = NULL;
	bool check = false;

	log_ident = "base-unit";
	if (argc == 2 && !strcmp(argv[1], "genkey"))
		return cmd_genkey();
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-c") && i + 1 < argc) {
			path = argv[++i];
		} else if (!strcmp(argv[i], "--check")) {
			check = true;
		} else if (!strcmp(argv[i], "-v")) {
			log_threshold = LOG_DEBUG;
		} else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			return 0;
		} else {
			fprintf(stderr, "base-unit: unexpected argument '%s'\n", argv[i]);
			usage(stderr);
			return 2;
		}
	}
	if (!path) {
		usage(stderr);
		return 2;
	}
	return check ? cmd_check(path) : run(path, log_threshold == LOG_DEBUG);
}
