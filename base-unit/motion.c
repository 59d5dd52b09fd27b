#include "motion.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define CELLS (MOTION_GW * MOTION_GH)
#define ADAPT      0.10f	/* the background's pace where nothing moved */
#define ADAPT_MOVE 0.02f	/* ... and where something did (what stays becomes background) */

void motion_conf_default(struct motion_conf *c)
{
	memset(c, 0, sizeof(*c));
	c->sensitivity = 50;
	c->area = 1.0;
	c->off_delay_ms = 10000;
	c->interval_ms = 200;
}

void motion_init(struct motion *m, const struct motion_conf *c)
{
	memset(m, 0, sizeof(*m));
	m->conf = *c;
	for (int j = 0; j < MOTION_GH; j++)
		for (int i = 0; i < MOTION_GW; i++) {
			/* the cell's centre, in percent of the picture */
			double x = (i + 0.5) * 100.0 / MOTION_GW, y = (j + 0.5) * 100.0 / MOTION_GH;

			for (int k = 0; k < c->n_ignore; k++)
				if (x >= c->ignore[k].x && x < c->ignore[k].x + c->ignore[k].w && y >= c->ignore[k].y &&
				    y < c->ignore[k].y + c->ignore[k].h)
					m->ignored[j * MOTION_GW + i] = true;
		}
}

bool motion_due(const struct motion *m, uint64_t now)
{
	return !m->last_look_ms || now - m->last_look_ms >= (uint64_t)m->conf.interval_ms;
}

static int cmp_float(const void *a, const void *b)
{
	float x = *(const float *)a, y = *(const float *)b;
	return x < y ? -1 : x > y;
}

/* Mean brightness of each cell. */
static void grid(const uint8_t *rgb, int w, int h, float *out)
{
	for (int j = 0; j < MOTION_GH; j++) {
		int y0 = j * h / MOTION_GH, y1 = (j + 1) * h / MOTION_GH;

		for (int i = 0; i < MOTION_GW; i++) {
			int x0 = i * w / MOTION_GW, x1 = (i + 1) * w / MOTION_GW;
			uint32_t sum = 0, n = 0;

			for (int y = y0; y < y1; y++) {
				const uint8_t *p = rgb + ((size_t)y * (size_t)w + (size_t)x0) * 3;

				for (int x = x0; x < x1; x++, p += 3)
					sum += (77u * p[0] + 150u * p[1] + 29u * p[2]) >> 8;
				n += (uint32_t)(x1 - x0);
			}
			out[j * MOTION_GW + i] = n ? (float)sum / (float)n : 0.0f;
		}
	}
}

bool motion_feed(struct motion *m, const uint8_t *rgb, int w, int h, uint64_t now, struct motion_event *ev)
{
	float cur[CELLS], diff[CELLS], sorted[CELLS], med, thr;
	int n = 0, changed = 0;
	bool gap = m->last_frame_ms && now - m->last_frame_ms >= MOTION_GAP_MS;

	memset(ev, 0, sizeof(*ev));
	m->best_new = false;
	m->last_look_ms = now;
	if (w < MOTION_GW || h < MOTION_GH)
		return false;	/* too small to say anything */
	grid(rgb, w, h, cur);
	m->last_frame_ms = now;
	if (!m->have_bg || gap) {	/* the first frame, or the first after a pause: not motion */
		memcpy(m->bg, cur, sizeof(cur));
		m->have_bg = true;
		m->hits = 0;
		m->score = 0;
		return motion_tick(m, now, ev);
	}
	for (int c = 0; c < CELLS; c++) {
		diff[c] = cur[c] - m->bg[c];
		if (!m->ignored[c])
			sorted[n++] = diff[c];
	}
	if (n == 0)
		return motion_tick(m, now, ev);
	qsort(sorted, (size_t)n, sizeof(float), cmp_float);
	med = sorted[n / 2];	/* what changed everywhere alike */
	thr = 2.0f + (float)(100 - m->conf.sensitivity) * 0.3f;
	for (int c = 0; c < CELLS; c++) {
		bool moved = fabsf(diff[c] - med) > thr;

		if (moved && !m->ignored[c])
			changed++;
		m->bg[c] += (moved ? ADAPT_MOVE : ADAPT) * (cur[c] - m->bg[c]);
	}
	m->score = 100.0 * changed / n;
	if (m->score >= m->conf.area && changed > 0) {
		m->hits++;
		if (m->hits >= 2)
			m->last_hit_ms = now;
	} else {
		m->hits = 0;
	}
	if (m->hits >= 2 && !m->on) {
		uint64_t id = m->ev.id + 1;

		m->on = true;
		memset(&m->ev, 0, sizeof(m->ev));
		m->ev.id = id;
		m->ev.start_ms = now;
		m->ev.peak = m->score;
		m->best_new = true;
		*ev = m->ev;
		ev->started = true;
		return true;
	}
	if (m->on && m->hits >= 2 && m->score > m->ev.peak) {
		m->ev.peak = m->score;
		m->best_new = true;
	}
	return motion_tick(m, now, ev);
}

bool motion_tick(struct motion *m, uint64_t now, struct motion_event *ev)
{
	memset(ev, 0, sizeof(*ev));
	if (!m->on || now - m->last_hit_ms < (uint64_t)m->conf.off_delay_ms)
		return false;
	m->on = false;
	m->hits = 0;
	m->ev.end_ms = now;
	*ev = m->ev;
	ev->ended = true;
	return true;
}

uint64_t motion_next_ms(const struct motion *m, uint64_t now)
{
	uint64_t end;

	if (!m->on)
		return UINT64_MAX;
	end = m->last_hit_ms + (uint64_t)m->conf.off_delay_ms;
	return end > now ? end - now : 0;
}
