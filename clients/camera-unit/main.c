/*
 * camera-unit: a device agent that sends JPEG frames over the intercom, each
 * split into fragments that go out paced (a burst would overflow a cellular
 * uplink's buffer and lose more than it gains). A frame is taken only when
 * the previous one is out, so the base unit always gets the newest picture
 * the link can carry. See docs/agents.md.
 */
#include "agent.h"
#include "log.h"
#include "sources.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OVERHEAD_BYTES 80	/* per fragment on the wire: intercom header, tag, UDP, IP */

struct camera_unit {
	struct agent_config agent;
	struct source src;
	bool have_source;
	double fps;
	int quality;
	int max_kbps;			/* pacing; 0: unpaced */
	uint8_t *frame;
	size_t frame_cap, frame_len;
	uint32_t frame_id;
	uint16_t next_index, count;	/* fragments of the frame being sent */
	bool sending;
	uint64_t next_frame;
	double tokens;			/* bits we may send now */
	uint64_t last_refill;
	unsigned long frames_sent, frames_skipped;
};

static bool config_line(void *ctx, const struct conf_line *l, char *err, size_t errlen)
{
	struct camera_unit *u = ctx;
	bool mine;
	long v;

	if (!agent_config_line(&u->agent, l, err, errlen, &mine))
		return false;
	if (mine)
		return true;
	if (!strcmp(l->argv[0], "source")) {
		if (u->have_source) {
			snprintf(err, errlen, "only one 'source' line");
			return false;
		}
		u->have_source = true;
		return source_parse(&u->src, l, err, errlen);
	}
	if (!strcmp(l->argv[0], "fps")) {
		if (!conf_want_args(l, 1, 1, "FRAMES_PER_SECOND", err, errlen) || !conf_double(l, 1, &u->fps, err, errlen))
			return false;
		if (u->fps < 0.01 || u->fps > 60) {
			snprintf(err, errlen, "'fps' expects 0.01 to 60, got '%s'", l->argv[1]);
			return false;
		}
		return true;
	}
	if (!strcmp(l->argv[0], "quality")) {
		if (!conf_want_args(l, 1, 1, "1-100", err, errlen) || !conf_long(l, 1, 1, 100, &v, err, errlen))
			return false;
		u->quality = (int)v;
		return true;
	}
	if (!strcmp(l->argv[0], "max_kbps")) {
		if (!conf_want_args(l, 1, 1, "KBIT_PER_SECOND", err, errlen) ||
		    !conf_long(l, 1, 0, 1000000, &v, err, errlen))
			return false;
		u->max_kbps = (int)v;
		return true;
	}
	snprintf(err, errlen, "unknown key '%s'", l->argv[0]);
	return false;
}

static bool load(struct camera_unit *u, const char *path)
{
	memset(u, 0, sizeof(*u));
	agent_config_init(&u->agent);
	u->fps = 5;
	u->quality = 80;
	u->max_kbps = 4000;
	if (conf_load(path, config_line, u) != 0 || !agent_config_finish(&u->agent, path))
		return false;
	if (!u->have_source) {
		conf_error("%s: no 'source' line (pattern, files or v4l2)\n", path);
		return false;
	}
	u->src.quality = u->quality;
	return true;
}

static uint64_t work(struct agent *a, uint64_t now, void *ctx)
{
	struct camera_unit *u = ctx;
	uint64_t period = (uint64_t)(1000.0 / u->fps);

	if (!agent_ready(a))
		return UINT64_MAX;
	if (!u->sending) {
		long n;

		if (now < u->next_frame)
			return u->next_frame - now;
		n = source_next(&u->src, &u->frame, &u->frame_cap);
		if (n <= 0) {
			u->next_frame = now + (n == 0 ? 5 : period);	/* a camera not ready yet: ask again soon */
			return n == 0 ? 5 : period;
		}
		u->frame_len = (size_t)n;
		u->frame_id++;
		u->count = ic_fragment_count((uint32_t)n);
		u->next_index = 0;
		u->sending = true;
		u->next_frame += period;
		if (u->next_frame < now) {	/* the link is slower than the frame rate */
			u->frames_skipped += (now - u->next_frame) / period + 1;
			u->next_frame = now + period;
		}
	}
	/* token bucket: refill, then send while the budget allows */
	if (u->max_kbps > 0) {
		u->tokens += (double)(now - u->last_refill) * u->max_kbps;	/* kbit/s x ms = bits */
		if (u->tokens > 8.0 * 16 * IC_MAX_DATAGRAM)
			u->tokens = 8.0 * 16 * IC_MAX_DATAGRAM;	/* bursts of at most 16 datagrams */
	}
	u->last_refill = now;
	while (u->sending) {
		uint8_t body[IC_BODY_MAX];
		int n = ic_fragment_encode(body, sizeof(body), u->frame_id, u->next_index, u->frame,
					   (uint32_t)u->frame_len);
		double cost = 8.0 * (n + OVERHEAD_BYTES);

		if (n < 0) {
			u->sending = false;
			break;
		}
		if (u->max_kbps > 0 && u->tokens < cost)
			return (uint64_t)((cost - u->tokens) / u->max_kbps) + 1;
		agent_send(a, IC_FRAME, body, (size_t)n);
		u->tokens -= cost;
		if (++u->next_index == u->count) {
			u->sending = false;
			u->frames_sent++;
		}
	}
	return u->next_frame > now ? u->next_frame - now : 0;
}

static int run(const char *path)
{
	struct camera_unit u;
	struct ic_hello hello = { .kind = IC_KIND_CAMERA };
	struct agent a;
	char err[256];
	int ret = 1;

	if (!load(&u, path))
		return 1;
	if (source_open(&u.src, err, sizeof(err)) < 0) {
		log_err("%s", err);
		goto out;
	}
	hello.keepalive = (uint16_t)u.agent.keepalive;
	if (agent_start(&a, &u.agent, &hello, NULL, NULL, &u) < 0)
		goto out;
	u.last_refill = now_ms();
	log_info("device %s: camera at %g frames/s, paced to %d kbit/s, base unit %s", u.agent.id, u.fps,
		 u.max_kbps, u.agent.base);
	agent_loop(&a, work, &u);
	log_info("stopped: %lu frames sent, %lu skipped to keep up", u.frames_sent, u.frames_skipped);
	ret = 0;
out:
	source_close(&u.src);
	free(u.frame);
	return ret;
}

int main(int argc, char **argv)
{
	const char *path;
	bool check;

	int rc = agent_cli(argc, argv, "camera-unit", &path, &check);

	if (rc >= 0)
		return rc;
	if (check) {
		static struct camera_unit u;
		bool ok = load(&u, path);
		if (ok)
			printf("%s: ok\n", path);
		source_close(&u.src);
		return ok ? 0 : 1;
	}
	return run(path);
}
