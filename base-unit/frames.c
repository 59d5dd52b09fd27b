#include "frames.h"

#include <stdlib.h>
#include <string.h>
#include <turbojpeg.h>

struct frame *frame_new(const uint8_t *jpeg, size_t len)
{
	struct frame *f = malloc(sizeof(*f) + len);

	if (!f)
		return NULL;
	f->refs = 1;
	f->width = f->height = 0;
	f->at_ms = 0;
	f->len = len;
	memcpy(f->data, jpeg, len);
	return f;
}

struct frame *frame_ref(struct frame *f)
{
	f->refs++;
	return f;
}

void frame_unref(struct frame *f)
{
	if (f && --f->refs == 0)
		free(f);
}

/* Frame ids count up and may wrap: newer means ahead by less than half the space. */
static bool newer(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) > 0;
}

static bool start(struct reassembly *r, const struct ic_fragment *f, uint64_t now)
{
	size_t bits = ((size_t)f->count + 7) / 8;

	if (r->cap < f->total) {
		uint8_t *p = realloc(r->buf, f->total);
		if (!p)
			return false;
		r->buf = p;
		r->cap = f->total;
	}
	if (r->seen_cap < bits) {
		uint8_t *p = realloc(r->seen, bits);
		if (!p)
			return false;
		r->seen = p;
		r->seen_cap = bits;
	}
	memset(r->seen, 0, bits);
	r->active = true;
	r->frame_id = f->frame_id;
	r->total = f->total;
	r->count = f->count;
	r->received = 0;
	r->started_ms = now;
	return true;
}

static void give_up(struct reassembly *r)
{
	r->active = false;
	r->have_last = true;
	r->last_id = r->frame_id;
}

enum reassembly_result reassembly_add(struct reassembly *r, const struct ic_fragment *f, uint64_t now_ms,
				      bool *abandoned)
{
	*abandoned = false;
	if (r->active && f->frame_id == r->frame_id) {
		if (f->total != r->total || f->count != r->count) {
			give_up(r);
			return RA_INCONSISTENT;
		}
	} else {
		if ((r->active && !newer(f->frame_id, r->frame_id)) ||
		    (r->have_last && !newer(f->frame_id, r->last_id)))
			return RA_STALE;
		if (r->active) {
			*abandoned = true;	/* a newer frame began: the older one will not be finished */
			give_up(r);
		}
		if (!start(r, f, now_ms))
			return RA_NOMEM;
	}
	if (r->seen[f->index / 8] & (1u << (f->index % 8)))
		return RA_DUPLICATE;
	r->seen[f->index / 8] |= (uint8_t)(1u << (f->index % 8));
	memcpy(r->buf + (size_t)f->index * IC_FRAGMENT_DATA, f->data, f->len);
	if (++r->received < r->count)
		return RA_PARTIAL;
	give_up(r);	/* done with it: later fragments of it are stale */
	return RA_COMPLETE;
}

bool reassembly_expire(struct reassembly *r, uint64_t now_ms)
{
	if (!r->active || now_ms - r->started_ms < REASSEMBLY_TIMEOUT_MS)
		return false;
	give_up(r);
	return true;
}

void reassembly_free(struct reassembly *r)
{
	if (!r)
		return;
	free(r->buf);
	free(r->seen);
	memset(r, 0, sizeof(*r));
}

struct jpeg_checker {
	tjhandle dec, enc;
	uint8_t *pixels;
	size_t pixels_cap;
	int pw, ph;			/* the last sound frame's, or 0 */
};

struct jpeg_checker *jpeg_checker_new(void)
{
	struct jpeg_checker *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->dec = tjInitDecompress();
	c->enc = tjInitCompress();
	if (!c->dec || !c->enc) {
		jpeg_checker_free(c);
		return NULL;
	}
	return c;
}

void jpeg_checker_free(struct jpeg_checker *c)
{
	if (!c)
		return;
	if (c->dec)
		tjDestroy(c->dec);
	if (c->enc)
		tjDestroy(c->enc);
	free(c->pixels);
	free(c);
}

const uint8_t *jpeg_checker_pixels(const struct jpeg_checker *c, int *width, int *height)
{
	*width = c->pw;
	*height = c->ph;
	return c->pw ? c->pixels : NULL;
}

bool jpeg_check(struct jpeg_checker *c, const uint8_t *jpeg, size_t len, uint32_t *width, uint32_t *height,
		uint8_t **thumb, size_t *thumb_len)
{
	int w, h, subsamp, colorspace, n, sw = 0, sh = 0;
	tjscalingfactor *sf = tjGetScalingFactors(&n);
	unsigned char *out = NULL;
	unsigned long out_len = 0;
	size_t need;

	*thumb = NULL;
	*thumb_len = 0;
	c->pw = c->ph = 0;
	if (len < 4 || len > IC_FRAME_MAX || jpeg[0] != 0xff || jpeg[1] != 0xd8)
		return false;
	if (tjDecompressHeader3(c->dec, jpeg, (unsigned long)len, &w, &h, &subsamp, &colorspace) != 0)
		return false;
	if (w <= 0 || h <= 0 || w > 16384 || h > 16384)
		return false;
	/* the smallest scaling that is still at least THUMB_WIDTH wide, or the smallest */
	for (int i = 0; i < n; i++) {
		int tw = TJSCALED(w, sf[i]), th = TJSCALED(h, sf[i]);
		if (sw == 0 || (tw >= THUMB_WIDTH && tw < sw) || (sw < THUMB_WIDTH && tw > sw && tw <= THUMB_WIDTH)) {
			sw = tw;
			sh = th;
		}
	}
	need = (size_t)sw * (size_t)sh * 3;
	if (c->pixels_cap < need) {
		uint8_t *p = realloc(c->pixels, need);
		if (!p)
			return false;
		c->pixels = p;
		c->pixels_cap = need;
	}
	/* tjDecompress2 returns -1 for warnings too (a truncated or damaged
	 * frame): anything short of a clean decode is refused. */
	if (tjDecompress2(c->dec, jpeg, (unsigned long)len, c->pixels, sw, 0, sh, TJPF_RGB, TJFLAG_FASTDCT) != 0)
		return false;
	*width = (uint32_t)w;
	*height = (uint32_t)h;
	c->pw = sw;
	c->ph = sh;
	if (tjCompress2(c->enc, c->pixels, sw, 0, sh, TJPF_RGB, &out, &out_len, TJSAMP_420, 75, TJFLAG_FASTDCT) == 0) {
		*thumb = malloc(out_len);
		if (*thumb) {
			memcpy(*thumb, out, out_len);
			*thumb_len = out_len;
		}
	}
	tjFree(out);
	return true;
}
