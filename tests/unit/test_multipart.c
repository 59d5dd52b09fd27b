/* MJPEG streams (multipart/x-mixed-replace) as cameras send them: the stock
 * ESP32-CAM's exact framing, ffmpeg's, parts without a length, lengths that
 * lie, parts over the bound, and every split of the bytes into reads. */
#include "test.h"
#include "tests.h"
#include "multipart.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ESP_BOUNDARY "123456789000000000000987654321"
#define ESP_TYPE     "multipart/x-mixed-replace;boundary=" ESP_BOUNDARY

struct got {
	int n;
	char parts[8][64];
	size_t lens[8];
};

static void on_part(void *ctx, const uint8_t *data, size_t len)
{
	struct got *g = ctx;

	if (g->n < 8) {
		memcpy(g->parts[g->n], data, len < 63 ? len : 63);
		g->lens[g->n] = len;
	}
	g->n++;
}

/* Feeds text in pieces of `step` bytes (0: all at once). */
static struct got feed(const char *type, const char *text, size_t len, size_t step, size_t max,
		       struct multipart_stats *st)
{
	struct multipart m;
	struct got g = { 0 };

	if (!multipart_init(&m, type, max)) {
		g.n = -1;
		return g;
	}
	for (size_t off = 0; off < len;) {
		size_t k = step && len - off > step ? step : len - off;
		multipart_feed(&m, (const uint8_t *)text + off, k, on_part, &g);
		off += k;
	}
	if (st)
		*st = m.stats;
	multipart_free(&m);
	return g;
}

/* The ESP32-CAM's CameraWebServer: "\r\n--B\r\n" before each part, headers
 * with Content-Length and X-Timestamp. */
static int esp32_stream(char *out, size_t cap, const char **frames, int n)
{
	int len = 0;

	for (int i = 0; i < n; i++)
		len += snprintf(out + len, cap - (size_t)len,
				"\r\n--" ESP_BOUNDARY "\r\nContent-Type: image/jpeg\r\nContent-Length: %zu\r\n"
				"X-Timestamp: 12.%06d\r\n\r\n%s", strlen(frames[i]), i, frames[i]);
	return len;
}

static void test_boundaries(void)
{
	CHECK(multipart_is_stream(ESP_TYPE));
	CHECK(multipart_is_stream("multipart/x-mixed-replace; boundary=\"ffmpeg\""));
	CHECK(multipart_is_stream("Multipart/X-Mixed-Replace;Boundary=myboundary; charset=x"));
	CHECK(!multipart_is_stream("image/jpeg"));
	CHECK(!multipart_is_stream("multipart/x-mixed-replace"));
	CHECK(!multipart_is_stream("multipart/x-mixed-replace;boundary="));
	CHECK(!multipart_is_stream(NULL));
	CHECK(!multipart_is_stream("multipart/x-mixed-replace;boundary="
				   "12345678901234567890123456789012345678901234567890123456789012345678901"));
}

static void test_esp32(void)
{
	const char *frames[] = { "\xff\xd8one\xff\xd9", "\xff\xd8second frame\xff\xd9", "\xff\xd8\x33\xff\xd9" };
	char s[1024];
	int len = esp32_stream(s, sizeof(s), frames, 3);
	/* the next delimiter ends the last part in time; nothing waits for it */
	for (size_t step = 0; step <= 17; step++) {
		struct got g = feed(ESP_TYPE, s, (size_t)len, step, 1024, NULL);

		CHECK_EQ(g.n, 3);
		for (int i = 0; i < 3 && i < g.n; i++)
			CHECK(g.lens[i] == strlen(frames[i]) && !memcmp(g.parts[i], frames[i], g.lens[i]));
	}
}

static void test_ffmpeg_and_no_length(void)
{
	/* ffmpeg's mpjpeg muxer: "--B" first, CRLF after each part */
	const char *ff = "--ffmpeg\r\nContent-type: image/jpeg\r\nContent-length: 4\r\n\r\nAAAA\r\n"
			 "--ffmpeg\r\nContent-type: image/jpeg\r\nContent-length: 3\r\n\r\nBBB\r\n";
	/* no Content-Length: a part ends at the next delimiter (and the CRLF before it) */
	const char *nolen = "--x\r\nContent-Type: image/jpeg\r\n\r\nfirst\r\n--x\r\n\r\nsecond\r\n--x--\r\n";
	struct got g;

	for (size_t step = 0; step <= 5; step++) {
		g = feed("multipart/x-mixed-replace;boundary=ffmpeg", ff, strlen(ff), step, 64, NULL);
		CHECK_EQ(g.n, 2);
		CHECK(g.lens[0] == 4 && !memcmp(g.parts[0], "AAAA", 4) && g.lens[1] == 3);
		g = feed("multipart/x-mixed-replace;boundary=x", nolen, strlen(nolen), step, 64, NULL);
		CHECK_EQ(g.n, 2);
		CHECK(g.lens[0] == 5 && !memcmp(g.parts[0], "first", 5));
		CHECK(g.lens[1] == 6 && !memcmp(g.parts[1], "second", 6));
	}
	/* a boundary declared with its dashes, as some cameras do */
	g = feed("multipart/x-mixed-replace;boundary=--ffmpeg", ff, strlen(ff), 0, 64, NULL);
	CHECK_EQ(g.n, 2);
}

static void test_lies_and_bounds(void)
{
	struct multipart_stats st;
	static char s[8192];
	struct got g;
	int len;

	/* a length that runs over the next delimiter: that part is dropped, the next is whole */
	len = snprintf(s, sizeof(s), "--b\r\nContent-Length: 40\r\n\r\nshort\r\n--b\r\nContent-Length: 4\r\n\r\ngood\r\n"
				     "--b\r\nContent-Length: 3\r\n\r\nend\r\n--b\r\n");
	g = feed("multipart/x-mixed-replace;boundary=b", s, (size_t)len, 0, 1024, &st);
	CHECK_EQ(g.n, 2);
	CHECK(g.lens[0] == 4 && !memcmp(g.parts[0], "good", 4));
	CHECK_EQ(st.bad, 1);
	/* a length that is not a number */
	len = snprintf(s, sizeof(s), "--b\r\nContent-Length: 12x\r\n\r\nxx\r\n--b\r\nContent-Length: 2\r\n\r\nok\r\n--b");
	g = feed("multipart/x-mixed-replace;boundary=b", s, (size_t)len, 0, 1024, &st);
	CHECK(g.n == 1 && g.lens[0] == 2 && st.bad == 1);
	/* a part over the bound, with a length or without: refused, and the next one comes */
	len = snprintf(s, sizeof(s), "--b\r\nContent-Length: 100000000\r\n\r\n");
	memset(s + len, 'x', 600);
	len += 600;
	len += snprintf(s + len, sizeof(s) - (size_t)len, "\r\n--b\r\nContent-Length: 2\r\n\r\nok\r\n--b\r\n\r\n");
	memset(s + len, 'y', 600);
	len += 600;
	len += snprintf(s + len, sizeof(s) - (size_t)len, "\r\n--b\r\nContent-Length: 3\r\n\r\nok2\r\n--b\r\n");
	for (size_t step = 0; step <= 7; step += 7) {
		g = feed("multipart/x-mixed-replace;boundary=b", s, (size_t)len, step, 256, &st);
		CHECK_EQ(g.n, 2);
		CHECK(g.lens[0] == 2 && g.lens[1] == 3);
		CHECK_EQ(st.too_big, 2);
	}
	/* headers that never end */
	len = snprintf(s, sizeof(s), "--b\r\n");
	memset(s + len, 'h', 5000);
	len += 5000;
	g = feed("multipart/x-mixed-replace;boundary=b", s, (size_t)len, 0, 256, &st);
	CHECK(g.n == 0 && st.bad == 1);
}

/* Garbage of every byte value between and inside parts never gives a part
 * longer than the bound, and the stream recovers after it. */
static void test_garbage(void)
{
	char *s = malloc(70000);
	size_t len = 0;
	struct multipart_stats st;
	struct got g;

	srand(7);
	for (int i = 0; i < 60000; i++)
		s[len++] = (char)(rand() & 0xff);
	len += (size_t)snprintf(s + len, 70000 - len, "\r\n--b\r\nContent-Length: 2\r\n\r\nok\r\n--b\r\n");
	g = feed("multipart/x-mixed-replace;boundary=b", s, len, 1000, 512, &st);
	CHECK(g.n >= 1 && g.lens[g.n - 1 < 8 ? g.n - 1 : 7] <= 512);
	free(s);
}

const struct test_case multipart_tests[] = {
	{ "multipart_boundaries", test_boundaries },
	{ "multipart_esp32", test_esp32 },
	{ "multipart_ffmpeg_no_length", test_ffmpeg_and_no_length },
	{ "multipart_lies_and_bounds", test_lies_and_bounds },
	{ "multipart_garbage", test_garbage },
	{ NULL, NULL },
};
