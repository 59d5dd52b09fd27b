/* Frame fragments and their reassembly: lost, reordered, duplicated, stale,
 * inconsistent; and the JPEG check. */
#include "test.h"
#include "tests.h"
#include "frames.h"
#include "vectors.h"

#include <stdlib.h>
#include <string.h>
#include <turbojpeg.h>

/* A real JPEG of w x h made with libjpeg-turbo. Caller frees. */
static uint8_t *make_jpeg(int w, int h, size_t *len)
{
	tjhandle tj = tjInitCompress();
	uint8_t *px = malloc((size_t)w * (size_t)h * 3), *copy;
	unsigned char *out = NULL;
	unsigned long n = 0;

	for (int i = 0; i < w * h * 3; i++)
		px[i] = (uint8_t)(i * 7 + i / 13);
	tjCompress2(tj, px, w, 0, h, TJPF_RGB, &out, &n, TJSAMP_420, 90, 0);
	copy = malloc(n);
	memcpy(copy, out, n);
	*len = n;
	tjFree(out);
	tjDestroy(tj);
	free(px);
	return copy;
}

static int fragments(const uint8_t *jpeg, size_t len, uint32_t id, uint8_t bodies[][IC_BODY_MAX], size_t *lens)
{
	int count = ic_fragment_count((uint32_t)len);

	for (int i = 0; i < count; i++)
		lens[i] = (size_t)ic_fragment_encode(bodies[i], IC_BODY_MAX, id, (uint16_t)i, jpeg, (uint32_t)len);
	return count;
}

static enum reassembly_result feed(struct reassembly *r, const uint8_t *body, size_t len, uint64_t now, bool *ab)
{
	struct ic_fragment f;

	if (ic_fragment_decode(&f, body, len) != IC_OK)
		return RA_INCONSISTENT;
	return reassembly_add(r, &f, now, ab);
}

static void test_fragment_codec(void)
{
	uint8_t jpeg[3000], b[IC_BODY_MAX];
	struct ic_fragment f;
	int n;

	for (int i = 0; i < 3000; i++)
		jpeg[i] = (uint8_t)i;
	CHECK_EQ(ic_fragment_count(3000), 3);
	CHECK_EQ(ic_fragment_count(IC_FRAGMENT_DATA), 1);
	CHECK_EQ(ic_fragment_count(IC_FRAGMENT_DATA + 1), 2);
	n = ic_fragment_encode(b, sizeof(b), 7, 2, jpeg, 3000);
	CHECK_EQ(n, IC_FRAME_HEADER + 3000 - 2 * IC_FRAGMENT_DATA);
	CHECK_EQ(ic_fragment_decode(&f, b, (size_t)n), IC_OK);
	CHECK(f.frame_id == 7 && f.index == 2 && f.count == 3 && f.total == 3000 && f.data[0] == jpeg[2 * IC_FRAGMENT_DATA]);
	CHECK_EQ(ic_fragment_decode(&f, b, (size_t)n - 1), IC_ERR_BODY);	/* wrong length for the last */
	b[7] = 4;	/* a count that does not match the total */
	CHECK_EQ(ic_fragment_decode(&f, b, (size_t)n), IC_ERR_BODY);
	b[7] = 3;
	b[5] = 3;	/* index beyond count */
	CHECK_EQ(ic_fragment_decode(&f, b, (size_t)n), IC_ERR_BODY);
	CHECK_EQ(ic_fragment_encode(b, sizeof(b), 1, 0, jpeg, 0), IC_ERR_BODY);
	CHECK_EQ(ic_fragment_encode(b, sizeof(b), 1, 3, jpeg, 3000), IC_ERR_BODY);
	b[8] = 0x7f;	/* a total above IC_FRAME_MAX */
	CHECK_EQ(ic_fragment_decode(&f, b, (size_t)n), IC_ERR_BODY);
}

static void test_reassembly(void)
{
	static uint8_t bodies[64][IC_BODY_MAX];
	size_t lens[64], len;
	uint8_t *jpeg = make_jpeg(320, 240, &len);
	struct reassembly r = { 0 };
	int count = fragments(jpeg, len, 10, bodies, lens), order[64];
	bool ab;

	CHECK(count > 3 && count < 64);
	/* reordered: every fragment in a shuffled order still gives the same bytes */
	for (int i = 0; i < count; i++)
		order[i] = i;
	srand(3);
	for (int i = count - 1; i > 0; i--) {
		int j = rand() % (i + 1), t = order[i];
		order[i] = order[j];
		order[j] = t;
	}
	for (int i = 0; i < count; i++) {
		enum reassembly_result res = feed(&r, bodies[order[i]], lens[order[i]], 100, &ab);
		CHECK_EQ(res, i + 1 < count ? RA_PARTIAL : RA_COMPLETE);
		if (i == 2)	/* a duplicate is noticed and harmless */
			CHECK_EQ(feed(&r, bodies[order[i]], lens[order[i]], 100, &ab), RA_DUPLICATE);
	}
	CHECK(r.total == len && memcmp(r.buf, jpeg, len) == 0);
	/* late fragments of a finished frame are stale */
	CHECK_EQ(feed(&r, bodies[0], lens[0], 101, &ab), RA_STALE);

	/* lost: frame 11 misses its last fragment, then frame 12 arrives: 11 is abandoned */
	count = fragments(jpeg, len, 11, bodies, lens);
	for (int i = 0; i < count - 1; i++)
		CHECK_EQ(feed(&r, bodies[i], lens[i], 200, &ab), RA_PARTIAL);
	count = fragments(jpeg, len, 12, bodies, lens);
	CHECK_EQ(feed(&r, bodies[0], lens[0], 201, &ab), RA_PARTIAL);
	CHECK(ab);
	/* the newest wins: a fragment of 11 arriving now is stale */
	{
		static uint8_t old[1][IC_BODY_MAX];
		size_t ol[1];
		ol[0] = (size_t)ic_fragment_encode(old[0], IC_BODY_MAX, 11, (uint16_t)(count - 1), jpeg, (uint32_t)len);
		CHECK_EQ(feed(&r, old[0], ol[0], 202, &ab), RA_STALE);
	}
	/* an incomplete frame expires after the timeout, not before */
	CHECK(!reassembly_expire(&r, 201 + REASSEMBLY_TIMEOUT_MS - 1));
	CHECK(reassembly_expire(&r, 201 + REASSEMBLY_TIMEOUT_MS));
	CHECK(!r.active);
	/* a fragment claiming another size for the same frame drops that frame */
	count = fragments(jpeg, len, 13, bodies, lens);
	CHECK_EQ(feed(&r, bodies[0], lens[0], 300, &ab), RA_PARTIAL);
	{
		uint8_t other[IC_BODY_MAX];
		int n = ic_fragment_encode(other, sizeof(other), 13, 1, jpeg, (uint32_t)len - 100);
		CHECK_EQ(feed(&r, other, (size_t)n, 300, &ab), RA_INCONSISTENT);
	}
	/* frame ids wrap around: a camera that has counted up to the top goes on at 0 */
	reassembly_free(&r);
	count = fragments(jpeg, 1000, 0xffffffffu, bodies, lens);
	CHECK_EQ(feed(&r, bodies[0], lens[0], 400, &ab), RA_COMPLETE);
	count = fragments(jpeg, 1000, 0, bodies, lens);
	CHECK_EQ(feed(&r, bodies[0], lens[0], 401, &ab), RA_COMPLETE);
	reassembly_free(&r);
	free(jpeg);
}

static void test_jpeg_check(void)
{
	struct jpeg_checker *c = jpeg_checker_new();
	size_t len, thumb_len;
	uint8_t *jpeg = make_jpeg(640, 480, &len), *thumb;
	uint32_t w, h;

	CHECK(jpeg_check(c, jpeg, len, &w, &h, &thumb, &thumb_len));
	CHECK(w == 640 && h == 480 && thumb && thumb_len > 100);
	free(thumb);
	/* truncated: refused */
	CHECK(!jpeg_check(c, jpeg, len / 2, &w, &h, &thumb, &thumb_len));
	CHECK(thumb == NULL);
	/* not a JPEG at all */
	CHECK(!jpeg_check(c, (const uint8_t *)"hello world", 11, &w, &h, &thumb, &thumb_len));
	/* damaged in the middle of the coded data: refused */
	for (size_t i = len / 3; i < len / 3 + 64; i++)
		jpeg[i] = 0xff;
	CHECK(!jpeg_check(c, jpeg, len, &w, &h, &thumb, &thumb_len));
	free(jpeg);
	jpeg_checker_free(c);
}

static void test_fragment_vectors(void)
{
	uint8_t frame[3000], b[IC_BODY_MAX], out[IC_MAX_DATAGRAM], psk[32], key[32], want[IC_MAX_DATAGRAM];
	int n, wn;

	for (int i = 0; i < 3000; i++)
		frame[i] = (uint8_t)(i % 251);
	for (int i = 0; i < 32; i++)
		psk[i] = (uint8_t)i;
	n = ic_fragment_encode(b, sizeof(b), 7, 2, frame, 3000);
	wn = vector_get("body_fragment", want, sizeof(want));
	CHECK(n == wn && memcmp(b, want, (size_t)n) == 0);
	CHECK_EQ(ic_key_session(key, psk, "cellar-cam", 0x0102030405060708ull, 0x1112131415161718ull), IC_OK);
	n = ic_seal(out, sizeof(out), key, IC_TO_BASE, IC_FRAME, "cellar-cam", 0x1112131415161718ull, 5, b, (size_t)n);
	wn = vector_get("dgram_fragment", want, sizeof(want));
	CHECK(n == wn && memcmp(out, want, (size_t)n) == 0);
}

const struct test_case frame_tests[] = {
	{ "fragment_vectors", test_fragment_vectors },
	{ "fragment_codec", test_fragment_codec },
	{ "reassembly", test_reassembly },
	{ "jpeg_check", test_jpeg_check },
	{ NULL, NULL },
};
