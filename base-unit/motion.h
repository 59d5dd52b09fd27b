/*
 * Motion in a camera's picture, from the frames the base unit decodes anyway
 * (scaled, jpeg_check): each frame becomes a grid of mean brightness, which
 * is compared with a background that follows slow changes. What moves the
 * whole picture alike (a light switched on, a slow dawn, the camera's own
 * exposure) is taken out first (the median change), and a cell must change
 * by more than the sensitivity allows: a JPEG's noise is far below it. Motion
 * starts after two frames in a row with enough of the picture changed (the
 * minimum area) and ends off_delay after the last. A gap in the frames (a
 * camera that reconnects) starts the background afresh instead of counting
 * as motion. No I/O: the daemon and the tests call the same functions.
 */
#ifndef BASE_MOTION_H
#define BASE_MOTION_H

#include <stdbool.h>
#include <stdint.h>

#define MOTION_GW       32		/* grid cells across */
#define MOTION_GH       24		/* ... and down */
#define MOTION_IGNORE   8		/* ignored regions per camera */
#define MOTION_GAP_MS   3000		/* a pause this long: the background starts afresh */

struct motion_conf {
	int sensitivity;		/* 1..100: how small a change counts (default 50) */
	double area;			/* percent of the picture that must change (default 1) */
	int off_delay_ms;		/* motion ends this long after the last (default 10 s) */
	int interval_ms;		/* frames looked at, at most one per this (default 200) */
	int n_ignore;
	struct { double x, y, w, h; } ignore[MOTION_IGNORE];	/* percent of the picture */
};

struct motion_event {
	bool started, ended;
	uint64_t id;			/* counts events since start */
	uint64_t start_ms, end_ms;	/* monotonic */
	double peak;			/* the highest score of the event, percent */
};

struct motion {
	struct motion_conf conf;
	float bg[MOTION_GW * MOTION_GH];
	bool ignored[MOTION_GW * MOTION_GH];
	bool have_bg, on, best_new;
	int hits;			/* frames in a row over the area */
	uint64_t last_frame_ms, last_hit_ms, last_look_ms;
	double score;			/* of the last frame looked at, percent */
	struct motion_event ev;		/* the current or last event */
};

void motion_conf_default(struct motion_conf *c);
void motion_init(struct motion *m, const struct motion_conf *c);
/* Whether a frame arriving now would be looked at (the interval). */
bool motion_due(const struct motion *m, uint64_t now);
/* One decoded frame (RGB, w x h). True when motion started or ended (*ev
 * says which). m->best_new: this frame is the event's best so far. */
bool motion_feed(struct motion *m, const uint8_t *rgb, int w, int h, uint64_t now, struct motion_event *ev);
/* Ends motion off_delay after its last frame over the area, frames or not. */
bool motion_tick(struct motion *m, uint64_t now, struct motion_event *ev);
uint64_t motion_next_ms(const struct motion *m, uint64_t now);	/* UINT64_MAX: none */

#endif
