/* Motion on synthetic scenes: noise, a slow dawn and a light switched on are
 * not motion; an object moving is, within two frames, and ends off_delay
 * after it stops; a pause in the frames starts afresh; ignored regions. */
#include "test.h"
#include "tests.h"
#include "motion.h"

#include <stdlib.h>
#include <string.h>

#define W 160
#define H 120

static uint8_t img[W * H * 3];

/* A textured scene at a brightness offset, with noise of +-noise per pixel
 * and, if size > 0, a bright square at (sx, sy). */
static void scene(int offset, int noise, int sx, int sy, int size)
{
	for (int y = 0; y < H; y++)
		for (int x = 0; x < W; x++) {
			int v = 40 + ((x / 8 + y / 8) % 2) * 30 + (x * 60 / W) + offset;
			uint8_t *p = img + (y * W + x) * 3;

			if (size > 0 && x >= sx && x < sx + size && y >= sy && y < sy + size)
				v = 230;
			if (noise)
				v += rand() % (2 * noise + 1) - noise;
			v = v < 0 ? 0 : v > 255 ? 255 : v;
			p[0] = p[1] = p[2] = (uint8_t)v;
		}
}

static struct motion m;
static uint64_t t;

static int feed_n(int frames, int offset_step, int noise, int moving, int *started, int *ended)
{
	struct motion_event ev;
	int offset = 0;

	for (int i = 0; i < frames; i++, t += 200) {
		offset += offset_step;
		scene(offset, noise, moving ? 10 + (i * 7) % 120 : 0, 40, moving ? 24 : 0);
		if (motion_feed(&m, img, W, H, t, &ev)) {
			*started += ev.started;
			*ended += ev.ended;
		}
	}
	return m.on;
}

/* A fresh detector, its noise seeded. */
static void start(unsigned seed, const struct motion_conf *c)
{
	srand(seed);
	t = 1000;
	motion_init(&m, c);
}

static void test_not_motion(void)
{
	struct motion_conf c;
	int s = 0, e = 0;

	motion_conf_default(&c);
	start(3, &c);
	feed_n(100, 0, 6, 0, &s, &e);		/* noise of +-6 on every pixel */
	CHECK_EQ(s, 0);
	feed_n(100, 1, 3, 0, &s, &e);		/* a slow dawn: +100 over 20 s */
	CHECK_EQ(s, 0);
	motion_init(&m, &c);			/* a light switched on: +70 at once */
	feed_n(10, 0, 3, 0, &s, &e);
	scene(70, 3, 0, 0, 0);
	{
		struct motion_event ev;
		for (int i = 0; i < 10; i++, t += 200)
			if (motion_feed(&m, img, W, H, t, &ev))
				s += ev.started;
	}
	CHECK_EQ(s, 0);
}

static void test_moving(void)
{
	struct motion_conf c;
	struct motion_event ev;
	int s = 0, e = 0;
	uint64_t moved;

	motion_conf_default(&c);
	c.off_delay_ms = 2000;
	start(4, &c);
	feed_n(10, 0, 3, 0, &s, &e);
	CHECK(!m.on && s == 0);
	moved = t;
	feed_n(2, 0, 3, 1, &s, &e);		/* two frames of an object moving: on */
	CHECK(m.on && s == 1 && e == 0);
	CHECK(t - moved <= 400);
	CHECK(m.ev.id == 1 && m.ev.peak >= 1.0);
	feed_n(10, 0, 3, 1, &s, &e);
	CHECK(m.on && s == 1);
	moved = t;				/* it stops: off after the off-delay, not before */
	feed_n(9, 0, 3, 0, &s, &e);
	CHECK(m.on && e == 0);
	feed_n(2, 0, 3, 0, &s, &e);
	CHECK(!m.on && e == 1);
	CHECK(t - moved >= 2000 && t - moved <= 2400);
	/* no frames at all: motion ends by the clock */
	feed_n(3, 0, 3, 1, &s, &e);
	CHECK(m.on && s == 2);
	CHECK(motion_next_ms(&m, t) <= 2000);
	CHECK(!motion_tick(&m, t + 1000, &ev));
	CHECK(motion_tick(&m, t + 2000, &ev) && ev.ended && ev.id == 2 && !m.on);
}

static void test_gap_and_ignored(void)
{
	struct motion_conf c;
	int s = 0, e = 0;

	motion_conf_default(&c);
	start(5, &c);
	feed_n(5, 0, 3, 0, &s, &e);
	t += 5000;				/* the camera was away, and comes back darker */
	feed_n(5, -1, 3, 0, &s, &e);
	scene(-60, 3, 0, 0, 0);
	t += 5000;
	{
		struct motion_event ev;
		for (int i = 0; i < 3; i++, t += 200)
			if (motion_feed(&m, img, W, H, t, &ev))
				s += ev.started;
	}
	CHECK_EQ(s, 0);
	/* the object moves only where the picture is ignored (its row: 40..64 of 120) */
	c.n_ignore = 1;
	c.ignore[0].x = 0;
	c.ignore[0].y = 30;
	c.ignore[0].w = 100;
	c.ignore[0].h = 30;
	motion_init(&m, &c);
	feed_n(5, 0, 3, 0, &s, &e);
	feed_n(20, 0, 3, 1, &s, &e);
	CHECK_EQ(s, 0);
	/* and the same with a low sensitivity: a faint object is not enough */
	motion_conf_default(&c);
	c.sensitivity = 1;
	motion_init(&m, &c);
	feed_n(30, 0, 10, 0, &s, &e);
	CHECK_EQ(s, 0);
	CHECK(motion_due(&m, t) && !motion_due(&m, m.last_look_ms + 100));
}

const struct test_case motion_tests[] = {
	{ "motion_noise_dawn_light", test_not_motion },
	{ "motion_moving_object", test_moving },
	{ "motion_gap_ignored", test_gap_and_ignored },
	{ NULL, NULL },
};
