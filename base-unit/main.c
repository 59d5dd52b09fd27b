/*
 * base-unit: bridges devices speaking the UDP intercom to a private MQTT
 * broker over TLS. One poll loop drives the UDP socket, the MQTT socket and a
 * one-second tick; there are no threads and no locks.
 */
#include "bridge.h"
#include "cmdline.h"
#include "inbound.h"
#include "reload.h"
#include "udp.h"
#include "log.h"
#include "mqtt.h"
#include "service.h"
#include "util.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cjson/cJSON.h>
#include <sys/socket.h>
#include <arpa/inet.h>

#define RX_BATCH   32		/* datagrams per recvmmsg */
#define RX_ROUNDS  8		/* batches per wakeup before MQTT gets a turn */
#define POLL_MAX   4096		/* sockets watched at once: UDP, MQTT, cameras' TCP */

static volatile sig_atomic_t running = 1, reload;

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		reload = 1;
	else
		running = 0;
}

/* Returns how many datagrams it handled; *urgent when one of them wants an
 * answer (anything but a reading or a keepalive: the type is in the clear). */
static int udp_drain(struct base *b, int f, bool *urgent)
{
	static uint32_t drops_of[2];	/* each socket's running total */
	int fd = b->udp[f];
	int handled = 0;

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
		n = recvmmsg(fd, msgs, RX_BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0)
			return handled;
		handled += n;
		for (int i = 0; i < n; i++) {
			struct msghdr *mh = &msgs[i].msg_hdr;

			for (struct cmsghdr *cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR(mh, cm))
				if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SO_RXQ_OVFL) {
					uint32_t drops;
					memcpy(&drops, CMSG_DATA(cm), sizeof(drops));
					drops_of[f] = drops;
					inbound_kernel_drops(b, (uint64_t)drops_of[0] + drops_of[1]);
				}
			if (mh->msg_flags & MSG_TRUNC) {
				inbound_truncated(b);
				continue;
			}
			if (msgs[i].msg_len < 2 || (bufs[i][1] != IC_READING && bufs[i][1] != IC_KEEPALIVE))
				*urgent = true;
			inbound_datagram(b, bufs[i], msgs[i].msg_len, &addrs[i], mh->msg_namelen);
		}
		if (n < RX_BATCH)
			return handled;
	}
	return handled;
}

static int run(const char *path, bool verbose)
{
	struct base b = { .udp = { -1, -1 } };

	struct sigaction sa = { .sa_handler = on_signal };
	uint64_t next_tick, rate_sec = 0;
	unsigned rate_count = 0, rate_prev = 0;	/* datagrams this second and the last */
	int ret = 1;

	base_config_init(&b.cfg);
	if (!base_config_load(&b.cfg, path))
		goto out;
	if (!verbose)
		log_threshold = (enum log_level)b.cfg.log_level;
	if (device_table_init(&b.table, &b.cfg) < 0 || bridge_init(&b) < 0) {
		log_err("out of memory");
		goto out;
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (udp_listen(&b) < 0)
		goto out;
	b.started = now_ms();
	b.mqtt = mqtt_start(&b.cfg, bridge_mqtt_up, bridge_mqtt_message, &b);
	if (!b.mqtt)
		goto out;
	next_tick = now_ms() + 1000;
	service_ready("%d device%s, datagrams on %s", b.cfg.n_devices, b.cfg.n_devices == 1 ? "" : "s", b.cfg.listen);
	while (running) {
		static struct pollfd pfd[POLL_MAX];
		int extra, rx = 0;
		bool urgent = false;
		uint64_t now = now_ms(), wait;

		if (reload) {
			reload = 0;
			service_reloading(now * 1000);
			log_info("SIGHUP: reading %s again", path);
			base_reload(&b, path);
			if (!verbose)
				log_threshold = (enum log_level)b.cfg.log_level;
			service_ready("%d device%s, datagrams on %s", b.cfg.n_devices, b.cfg.n_devices == 1 ? "" : "s",
				      b.cfg.listen);
		}
		if (now >= next_tick) {
			mqtt_tick(b.mqtt, now);
			bridge_tick(&b, now);
			next_tick = now + 1000;
		}
		bridge_timers(&b, now);
		service_watchdog(now);
		wait = next_tick - now;
		if (service_watchdog_next(now) < wait)
			wait = service_watchdog_next(now);
		if (mqtt_next_ms(b.mqtt, now) < wait)
			wait = mqtt_next_ms(b.mqtt, now);
		if (bridge_next_timer(&b, now) < wait)
			wait = bridge_next_timer(&b, now);
		pfd[0] = (struct pollfd){ .fd = b.udp[0], .events = POLLIN };
		pfd[1] = (struct pollfd){ .fd = b.udp[1], .events = POLLIN };
		mqtt_pollfd(b.mqtt, &pfd[2]);
		extra = bridge_pollfds(&b, pfd + 3, POLL_MAX - 3);
		if (poll(pfd, (nfds_t)(3 + extra), (int)wait) < 0) {
			if (errno == EINTR)
				continue;
			log_err("poll: %s", strerror(errno));
			break;
		}
		for (int f = 0; f < 2; f++)
			if (pfd[f].revents & POLLIN)
				rx += udp_drain(&b, f, &urgent);
		if (pfd[2].fd >= 0 && pfd[2].revents)
			mqtt_handle(b.mqtt, pfd[2].revents);
		if (extra)
			bridge_poll_handle(&b, pfd + 3, extra);
		if (mqtt_next_ms(b.mqtt, now_ms()) == 0)
			mqtt_tick(b.mqtt, now_ms());
		/* Under a heavy stream of readings, waking once per datagram costs
		 * more than handling it: above udp_linger_rate datagrams/s a small
		 * batch of readings lets the next ones gather for udp_linger_us
		 * before the next poll. Anything that wants an answer (a hello, an
		 * ack) never waits (docs/base-unit.md). */
		if (rx > 0) {
			uint64_t sec = now_ms() / 1000;
			if (sec != rate_sec) {
				rate_prev = sec == rate_sec + 1 ? rate_count : 0;
				rate_sec = sec;
				rate_count = 0;
			}
			rate_count += (unsigned)rx;
			if (b.cfg.udp_linger_us && !urgent && rx < RX_BATCH &&
			    (rate_prev > (unsigned)b.cfg.udp_linger_rate || rate_count > (unsigned)b.cfg.udp_linger_rate))
				usleep((useconds_t)b.cfg.udp_linger_us);
		}
	}
	log_info("stopping");
	service_stopping();
	ret = 0;
out:
	mqtt_stop(b.mqtt);
	udp_close(&b);
	bridge_free(&b);
	device_table_free(&b.table);
	base_config_free(&b.cfg);
	return ret;
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

static void usage(FILE *f, const char *name)
{
	(void)name;
	fprintf(f, "usage: base-unit -c FILE [-v]    run the bridge\n"
		   "       base-unit --check -c FILE check a configuration and exit\n"
		   "       base-unit genkey          print a new device key\n"
		   "       base-unit --version       print the version\n");
}

int main(int argc, char **argv)
{
	struct daemon_args a;
	int rc;

	log_ident = "base-unit";
	if (argc == 2 && !strcmp(argv[1], "genkey"))
		return print_random_key("base-unit");
	if ((rc = daemon_args_parse(&a, argc, argv, "base-unit", usage)) >= 0)
		return rc;
	if (a.verbose)
		log_threshold = LOG_DEBUG;
	return a.check ? cmd_check(a.config) : run(a.config, a.verbose);
}
