/*
 * Camera frames in the base unit: reassembly of intercom fragments (newest
 * frame wins, incomplete frames time out), the check every frame passes
 * before anyone sees it (libjpeg-turbo decodes it, scaled) with its
 * thumbnail, and the reference-counted frame itself. The newest-frame store
 * is the camera's (camera.c). No I/O: the daemon, the tests and the fuzzer
 * call the same functions.
 */
#ifndef BASE_FRAMES_H
#define BASE_FRAMES_H

#include "intercom.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define REASSEMBLY_TIMEOUT_MS 2000	/* an incomplete frame is dropped after this */
#define THUMB_WIDTH           160	/* thumbnails are at most this wide */

/* A complete, checked JPEG, shared by everyone reading it: the store, TCP
 * clients still writing it out. frame_unref() frees it with the last reader. */
struct frame {
	int refs;
	uint32_t width, height;
	uint64_t at_ms;			/* monotonic time it was stored */
	size_t len;
	uint8_t data[];
};

struct frame *frame_new(const uint8_t *jpeg, size_t len);	/* refs = 1; NULL on OOM */
struct frame *frame_ref(struct frame *f);
void frame_unref(struct frame *f);				/* NULL-safe */

struct reassembly {
	bool active;
	uint32_t frame_id, total;
	uint16_t count, received;
	uint64_t started_ms;
	bool have_last;			/* last_id is set */
	uint32_t last_id;		/* the newest frame completed or given up on */
	uint8_t *buf;			/* grows to the largest frame seen, up to IC_FRAME_MAX */
	size_t cap;
	uint8_t *seen;			/* one bit per fragment */
	size_t seen_cap;
};

enum reassembly_result {
	RA_PARTIAL,		/* taken, frame not complete yet */
	RA_COMPLETE,		/* frame complete: r->buf holds r->total bytes */
	RA_DUPLICATE,		/* a fragment already held */
	RA_STALE,		/* of a frame older than the newest seen: dropped */
	RA_INCONSISTENT,	/* disagrees with earlier fragments of its frame: frame dropped */
	RA_NOMEM,
};

/* Adds a fragment. *abandoned is set when an incomplete older frame was
 * given up for this newer one. */
enum reassembly_result reassembly_add(struct reassembly *r, const struct ic_fragment *f, uint64_t now_ms,
				      bool *abandoned);
/* Gives up an incomplete frame older than REASSEMBLY_TIMEOUT_MS; true if it did. */
bool reassembly_expire(struct reassembly *r, uint64_t now_ms);
void reassembly_free(struct reassembly *r);

struct jpeg_checker;
struct jpeg_checker *jpeg_checker_new(void);
void jpeg_checker_free(struct jpeg_checker *c);
/* Decodes the whole JPEG (scaled down, which still reads every coefficient)
 * and, when it is sound, encodes a thumbnail. Returns false for anything
 * libjpeg-turbo reports, warnings included. *thumb is the caller's (free()). */
bool jpeg_check(struct jpeg_checker *c, const uint8_t *jpeg, size_t len, uint32_t *width, uint32_t *height,
		uint8_t **thumb, size_t *thumb_len);
/* The last sound frame's decoded pixels (RGB, scaled as for the thumbnail):
 * valid until the next check. NULL after a check that failed. */
const uint8_t *jpeg_checker_pixels(const struct jpeg_checker *c, int *width, int *height);

#endif
