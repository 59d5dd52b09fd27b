#include "recorder_int.h"
#include "clock.h"
#include "log.h"
#include "parse.h"
#include "util.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* --- cameras --- */

static struct cam *cam_get(struct recorder *r, const char *id)
{
	struct cam *c;

	for (int i = 0; i < r->n_cams; i++)
		if (!strcmp(r->cams[i].id, id))
			return &r->cams[i];
	if (r->n_cams >= 1024)	/* the cameras of one site; ids nobody lists cost nothing beyond this */
		return NULL;
	if (!(c = realloc(r->cams, (size_t)(r->n_cams + 1) * sizeof(*c))))
		return NULL;
	r->cams = c;
	c = &r->cams[r->n_cams++];
	memset(c, 0, sizeof(*c));
	snprintf(c->id, sizeof(c->id), "%s", id);
	return c;
}

static void changed(struct recorder *r, const char *camera)
{
	if (r->on_change)
		r->on_change(r->change_ctx, camera);
}

static void finish(struct recorder *r, struct cam *c, const char *why)
{
	if (!c->event)
		return;
	sqlite3_bind_int64(r->close_event, 1, (sqlite3_int64)c->last_frame);
	sqlite3_bind_int(r->close_event, 2, c->frames);
	sqlite3_bind_int64(r->close_event, 3, c->bytes);
	sqlite3_bind_int64(r->close_event, 4, c->event);
	if (run(r->close_event) != SQLITE_DONE)
		failed(r, "the end of an event");	/* the next start's recovery closes it */
	if (c->frames == 0) {	/* nothing came (a retained ON from a base unit that is gone): nothing to keep */
		delete_event(r, r->db, r->del_frames, r->del_event, c->event, 0);
		log_info("recordings: %s: event %" PRId64 " had no frames (%s): not kept", c->id, c->event, why);
	} else {
		log_info("recordings: %s: event %" PRId64 " ended (%s): %d frames, %" PRId64 " bytes", c->id, c->event,
			 why, c->frames, c->bytes);
	}
	c->last_event = c->event;
	c->last_end = now_ms();
	c->event = 0;
	c->post_until = 0;
	atomic_fetch_sub(&r->open_events, 1);
	changed(r, c->id);
}

static void start(struct recorder *r, struct cam *c, uint64_t t);

static void write_frame(struct recorder *r, struct cam *c, const struct item *it)
{
	enum room room = make_room(r, it->len);

	if (room != ROOM_OK) {	/* only this clip is left: it ends, the next takes its place */
		finish(r, c, room == ROOM_BOUND ? "recordings_max_mb reached by this clip alone; the motion goes on in the next"
						: "the disk is full; the next clip takes the space of this one");
		if (!c->motion)
			return;
		start(r, c, it->t_ms);
		if (!c->event || make_room(r, it->len) != ROOM_OK) {
			atomic_fetch_add(&r->write_failed, 1);	/* not written: nowhere to */
			return;
		}
	}
	sqlite3_bind_int64(r->ins_frame, 1, c->event);
	sqlite3_bind_int64(r->ins_frame, 2, (sqlite3_int64)it->t_ms);
	sqlite3_bind_blob(r->ins_frame, 3, it->data, (int)it->len, SQLITE_STATIC);
	if (run(r->ins_frame) != SQLITE_DONE) {
		int err = sqlite3_errcode(r->db);

		failed(r, "a frame");
		/* The disk: the space of the oldest goes to the newest; when this
		 * clip is the oldest, it ends and the next one takes its place. */
		if (err == SQLITE_FULL && !delete_oldest(r, 0))
			finish(r, c, "the disk is full; the next clip takes the space of this one");
		return;
	}
	c->frames++;
	c->bytes += (int64_t)it->len;
	c->last_frame = it->t_ms;
	atomic_fetch_add(&r->total, (int_fast64_t)it->len);
	atomic_fetch_add(&r->frames_written, 1);
	atomic_fetch_add(&r->bytes_written, it->len);
}

static void ring_drop_old(struct recorder *r, struct cam *c, uint64_t now)
{
	uint64_t keep = (uint64_t)r->c->recording_pre_s * 1000;

	while (c->ring_n && (c->ring_n == PRE_MAX || now - c->ring[c->ring_head]->t_ms > keep)) {
		free(c->ring[c->ring_head]);
		c->ring_head = (c->ring_head + 1) % PRE_MAX;
		c->ring_n--;
	}
}

/* A new event: its row, then the pre-roll. */
static void start(struct recorder *r, struct cam *c, uint64_t t)
{
	uint64_t clip;

	ring_drop_old(r, c, t);
	clip = c->ring_n ? c->ring[c->ring_head]->t_ms : t;
	if (make_room(r, 4096) != ROOM_OK)
		return;
	sqlite3_bind_text(r->ins_event, 1, c->id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(r->ins_event, 2, (sqlite3_int64)t);
	sqlite3_bind_int64(r->ins_event, 3, (sqlite3_int64)clip);
	if (run(r->ins_event) != SQLITE_DONE) {
		failed(r, "a new event");
		if (sqlite3_errcode(r->db) == SQLITE_FULL)
			delete_oldest(r, 0);
		return;	/* tried again at the next frame */
	}
	c->event = sqlite3_last_insert_rowid(r->db);
	c->frames = 0;
	c->bytes = 0;
	c->clip_ms = c->last_frame = clip;
	c->post_until = 0;
	atomic_fetch_add(&r->events, 1);
	atomic_fetch_add(&r->open_events, 1);
	log_info("recordings: %s: event %" PRId64 " started", c->id, c->event);
	/* The pre-roll, taken out of the ring first: a write that ends this
	 * clip (the size bound) starts the next one, which must find it empty. */
	{
		struct item *pre[PRE_MAX];
		int n = c->ring_n;

		for (int i = 0; i < n; i++)
			pre[i] = c->ring[(c->ring_head + i) % PRE_MAX];
		c->ring_n = c->ring_head = 0;
		sqlite3_exec(r->db, "BEGIN", NULL, NULL, NULL);
		for (int i = 0; i < n; i++) {
			if (c->event)
				write_frame(r, c, pre[i]);
			free(pre[i]);
		}
		if (sqlite3_get_autocommit(r->db) == 0)
			sqlite3_exec(r->db, "COMMIT", NULL, NULL, NULL);
	}
	changed(r, c->id);
}

/* Takes it (frees it or keeps it in the ring). */
static void on_frame(struct recorder *r, struct cam *c, struct item *it)
{
	if (c->event && c->post_until && it->t_ms >= c->post_until)
		finish(r, c, "the motion ended");
	if (c->event && it->t_ms - c->clip_ms >= (uint64_t)r->c->recording_max_s * 1000)
		finish(r, c, "recording_max_s reached; the motion goes on in the next");
	if (it->len > r->max_bytes / 4) {	/* a frame that would leave room for little else */
		atomic_fetch_add(&r->dropped, 1);
		free(it);
		return;
	}
	if (!c->event && c->motion)
		start(r, c, it->t_ms);
	if (c->event) {
		write_frame(r, c, it);
		free(it);
		return;
	}
	ring_drop_old(r, c, it->t_ms);
	if (r->c->recording_pre_s == 0) {
		free(it);
		return;
	}
	c->ring[(c->ring_head + c->ring_n) % PRE_MAX] = it;
	c->ring_n++;
}

/* The event a best frame or a peak belongs to: the open one, or the one that
 * just ended. */
static int64_t event_of(const struct cam *c)
{
	if (c->event)
		return c->event;
	if (c->last_event && now_ms() - c->last_end < LATE_MS)
		return c->last_event;
	return 0;
}

static void handle(struct recorder *r, struct item *it)
{
	struct cam *c = cam_get(r, it->cam);
	int64_t ev;

	if (!c) {
		free(it);
		return;
	}
	switch (it->kind) {
	case IT_FRAME:
		on_frame(r, c, it);
		return;
	case IT_MOTION_ON:
		c->motion = true;
		if (c->event)
			c->post_until = 0;	/* it went on again: the same event */
		else
			start(r, c, it->t_ms);
		break;
	case IT_MOTION_OFF:
		c->motion = false;
		if (c->event && !c->post_until)
			c->post_until = it->t_ms + (uint64_t)r->c->recording_post_s * 1000;
		break;
	case IT_BEST:
		if ((ev = event_of(c)) && make_room(r, it->len) == ROOM_OK) {
			sqlite3_bind_blob(r->set_thumb, 1, it->data, (int)it->len, SQLITE_STATIC);
			sqlite3_bind_int64(r->set_thumb, 2, ev);
			if (run(r->set_thumb) == SQLITE_DONE)
				atomic_fetch_add(&r->total, (int_fast64_t)it->len);	/* a second one is counted twice: a bound, not a sum */
			else
				failed(r, "a thumbnail");
			changed(r, c->id);
		}
		break;
	case IT_PEAK:
		if ((ev = event_of(c))) {
			sqlite3_bind_double(r->set_peak, 1, it->peak);
			sqlite3_bind_int64(r->set_peak, 2, ev);
			if (run(r->set_peak) != SQLITE_DONE)
				failed(r, "a peak");
		}
		break;
	}
	free(it);
}

/* Once a second or so: post-rolls that ran out, clips too long or gone silent, old events. */
static void tick(struct recorder *r)
{
	uint64_t wall = wall_ms(), now = now_ms();

	for (int i = 0; i < r->n_cams; i++) {
		struct cam *c = &r->cams[i];
		uint64_t since = c->event ? wall - c->last_frame : 0;

		if (!c->event)
			continue;
		if (c->post_until && wall >= c->post_until)
			finish(r, c, "the motion ended");
		else if (since > SILENCE_MS && wall > c->last_frame)
			finish(r, c, "no frames came");
	}
	if (!r->last_age_check || now - r->last_age_check >= AGE_CHECK_MS) {
		uint64_t before = wall - (uint64_t)r->c->recordings_max_days * 86400000;
		int n = 0;

		r->last_age_check = now;
		while (delete_oldest(r, before))
			n++;
		if (n) {
			sqlite3_exec(r->db, "PRAGMA incremental_vacuum", NULL, NULL, NULL);
			log_info("recordings: %d event%s older than %d days deleted", n, n == 1 ? "" : "s",
				 r->c->recordings_max_days);
		}
	}
}

static void *writer(void *arg)
{
	struct recorder *r = arg;
	uint64_t next_tick = 0;

	pthread_mutex_lock(&r->lock);
	for (;;) {
		struct item *it = NULL;

		if (!r->head && !r->stopping) {
			struct timespec ts = { .tv_sec = (time_t)(next_tick / 1000),
					       .tv_nsec = (long)(next_tick % 1000) * 1000000 };
			pthread_cond_timedwait(&r->cv, &r->lock, &ts);	/* CLOCK_MONOTONIC */
		}
		if (r->stopping && !r->head)
			break;
		if ((it = r->head)) {
			if (!(r->head = it->next))
				r->tail = &r->head;
			r->queued -= it->len;
		}
		pthread_mutex_unlock(&r->lock);
		if (it)
			handle(r, it);
		if (now_ms() >= next_tick) {
			tick(r);
			next_tick = now_ms() + 1000;
		}
		pthread_mutex_lock(&r->lock);
	}
	pthread_mutex_unlock(&r->lock);
	for (int i = 0; i < r->n_cams; i++)
		finish(r, &r->cams[i], "the dashboard stopped");
	return NULL;
}

/* --- the MQTT thread --- */

static void enqueue(struct recorder *r, enum item_kind kind, const char *cam, const void *data, size_t len, double peak)
{
	struct item *it;

	pthread_mutex_lock(&r->lock);
	if (kind == IT_FRAME && r->queued + len > QUEUE_MAX_BYTES) {	/* the disk is slower than the cameras */
		pthread_mutex_unlock(&r->lock);
		atomic_fetch_add(&r->dropped, 1);
		return;
	}
	pthread_mutex_unlock(&r->lock);
	if (!(it = malloc(sizeof(*it) + len))) {
		atomic_fetch_add(&r->dropped, 1);
		return;
	}
	it->next = NULL;
	it->kind = kind;
	snprintf(it->cam, sizeof(it->cam), "%s", cam);
	it->t_ms = wall_ms();
	it->peak = peak;
	it->len = len;
	if (len)
		memcpy(it->data, data, len);
	pthread_mutex_lock(&r->lock);
	*r->tail = it;
	r->tail = &it->next;
	r->queued += len;
	pthread_cond_signal(&r->cv);
	pthread_mutex_unlock(&r->lock);
}

void recorder_on_message(struct recorder *r, const char *topic, const void *payload, size_t len)
{
	char id[DEVICE_ID_MAX + 1];
	const char *what;

	if (!r || !topic_split(topic, r->c->prefix, id, &what) || !strcmp(id, T_BRIDGE))
		return;
	if (!strcmp(what, T_CAMERA)) {
		if (jpeg_complete(payload, len) && len < (8u << 20))
			enqueue(r, IT_FRAME, id, payload, len, 0);
	} else if (!strcmp(what, T_MOTION)) {
		if (len == 2 && !memcmp(payload, "ON", 2))
			enqueue(r, IT_MOTION_ON, id, NULL, 0, 0);
		else if (len == 3 && !memcmp(payload, "OFF", 3))
			enqueue(r, IT_MOTION_OFF, id, NULL, 0, 0);
	} else if (!strcmp(what, T_EVENT_FRAME)) {
		if (jpeg_complete(payload, len) && len < (8u << 20))
			enqueue(r, IT_BEST, id, payload, len, 0);
	} else if (!strcmp(what, T_EVENT)) {
		cJSON *j = cJSON_ParseWithLength(payload, len);
		const cJSON *peak = cJSON_GetObjectItemCaseSensitive(j, "peak");

		if (cJSON_IsNumber(peak))
			enqueue(r, IT_PEAK, id, NULL, 0, peak->valuedouble);
		cJSON_Delete(j);
	}
}

/* --- start and stop --- */

struct recorder *recorder_new(const struct dash_config *c)
{
	struct recorder *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->c = c;
	snprintf(r->path, sizeof(r->path), "%s", c->recordings);
	r->max_bytes = (uint64_t)c->recordings_max_mb << 20;
	r->tail = &r->head;
	pthread_mutex_init(&r->lock, NULL);
	cond_init_monotonic(&r->cv);
	if (!db_open(r)) {
		recorder_free(r);
		return NULL;
	}
	if (pthread_create(&r->thread, NULL, writer, r) != 0) {
		log_err("recordings: cannot start the writer thread");
		recorder_free(r);
		return NULL;
	}
	r->thread_started = true;
	log_info("recordings: %s: %" PRIdFAST64 " events, %.1f of %d MB", r->path, atomic_load(&r->events),
		 (double)atomic_load(&r->total) / (1 << 20), c->recordings_max_mb);
	return r;
}

void recorder_on_change(struct recorder *r, void (*fn)(void *ctx, const char *camera), void *ctx)
{
	r->on_change = fn;
	r->change_ctx = ctx;
}

void recorder_free(struct recorder *r)
{
	if (!r)
		return;
	if (r->thread_started) {
		pthread_mutex_lock(&r->lock);
		r->stopping = true;
		pthread_cond_signal(&r->cv);
		pthread_mutex_unlock(&r->lock);
		pthread_join(r->thread, NULL);
	}
	for (struct item *it = r->head, *next; it; it = next) {
		next = it->next;
		free(it);
	}
	for (int i = 0; i < r->n_cams; i++)
		for (int k = 0; k < r->cams[i].ring_n; k++)
			free(r->cams[i].ring[(r->cams[i].ring_head + k) % PRE_MAX]);
	free(r->cams);
	sqlite3_finalize(r->ins_event);
	sqlite3_finalize(r->ins_frame);
	sqlite3_finalize(r->close_event);
	sqlite3_finalize(r->set_thumb);
	sqlite3_finalize(r->set_peak);
	sqlite3_finalize(r->oldest);
	sqlite3_finalize(r->del_frames);
	sqlite3_finalize(r->del_event);
	sqlite3_finalize(r->event_size);
	sqlite3_finalize(r->freelist);
	sqlite3_close(r->db);
	pthread_cond_destroy(&r->cv);
	pthread_mutex_destroy(&r->lock);
	free(r);
}
