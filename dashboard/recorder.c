#include "recorder.h"
#include "clock.h"
#include "log.h"
#include "topics.h"
#include "util.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>

#define QUEUE_MAX_BYTES (32u << 20)	/* frames waiting for the writer */
#define PRE_MAX 64			/* pre-roll frames kept per camera, at most */
#define SILENCE_MS 30000		/* motion on and no frame this long: the clip ends */
#define LATE_MS 30000			/* an event's best frame or peak this long after its clip ended */
#define AGE_CHECK_MS 60000
#define FAIL_LOG_MS 60000		/* a failing disk is logged at most once a minute */
#define BUSY_MS 2000
/* Disk space the recordings leave free: room for the write-ahead log (at most
 * about 1 MB, wal_autocheckpoint) to grow and for deleting old events, so
 * that a disk the recordings fill never stops the recordings themselves. */
#define DISK_RESERVE (4u << 20)

enum item_kind { IT_FRAME, IT_MOTION_ON, IT_MOTION_OFF, IT_BEST, IT_PEAK };

struct item {
	struct item *next;
	enum item_kind kind;
	char cam[DEVICE_ID_MAX + 1];
	uint64_t t_ms;			/* wall clock, when it reached the dashboard */
	double peak;
	size_t len;
	unsigned char data[];
};

struct cam {
	char id[DEVICE_ID_MAX + 1];
	bool motion;			/* as P/<id>/motion last said */
	int64_t event;			/* the open event, 0: none */
	uint64_t clip_ms, last_frame, post_until;	/* post_until 0: motion still on */
	int frames;
	int64_t bytes;
	int64_t last_event;		/* the last one that ended, for a late best frame or peak */
	uint64_t last_end;
	struct item *ring[PRE_MAX];	/* pre-roll, oldest at ring_head */
	int ring_head, ring_n;
};

struct recorder {
	const struct dash_config *c;
	char path[512];
	sqlite3 *db;
	sqlite3_stmt *ins_event, *ins_frame, *close_event, *set_thumb, *set_peak, *oldest, *del_frames, *del_event,
		*event_size, *freelist;
	int64_t page_size;
	pthread_t thread;
	bool thread_started;
	pthread_mutex_t lock;
	pthread_cond_t cv;
	struct item *head, **tail;
	size_t queued;
	bool stopping;
	struct cam *cams;
	int n_cams;
	uint64_t max_bytes, last_age_check, last_fail_log, last_disk_log;
	void (*on_change)(void *ctx, const char *camera);
	void *change_ctx;
	atomic_int_fast64_t total;	/* bytes of every kept frame and thumbnail */
	atomic_int_fast64_t events;
	atomic_uint_fast64_t frames_written, bytes_written, write_failed, dropped, deleted, disk_full, open_events;
};

/* --- the database --- */

static const char schema[] =
	"PRAGMA auto_vacuum=INCREMENTAL;"	/* only takes on a new database */
	"PRAGMA journal_mode=WAL;"
	"PRAGMA synchronous=NORMAL;"
	/* A small write-ahead log, reused in place: what a nearly full disk needs */
	"PRAGMA wal_autocheckpoint=256;"
	"PRAGMA journal_size_limit=1048576;"
	"CREATE TABLE IF NOT EXISTS events("
	" id INTEGER PRIMARY KEY, camera TEXT NOT NULL,"
	" start_ms INTEGER NOT NULL,"		/* when the motion started (Unix ms) */
	" clip_ms INTEGER NOT NULL,"		/* the first frame, pre-roll included */
	" end_ms INTEGER,"			/* the last frame; NULL while recording */
	" frames INTEGER NOT NULL DEFAULT 0, bytes INTEGER NOT NULL DEFAULT 0,"
	" peak REAL, thumb BLOB);"
	"CREATE TABLE IF NOT EXISTS frames(id INTEGER PRIMARY KEY, event INTEGER NOT NULL,"
	" t_ms INTEGER NOT NULL, jpeg BLOB NOT NULL);"
	"CREATE INDEX IF NOT EXISTS frames_event ON frames(event, id);"
	"CREATE INDEX IF NOT EXISTS events_camera ON events(camera, id);";

static bool prepare(sqlite3 *db, const char *sql, sqlite3_stmt **st)
{
	if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL) == SQLITE_OK)
		return true;
	log_err("recordings: %s: %s", sql, sqlite3_errmsg(db));
	return false;
}

/* Events a crash left open are closed with what they have. */
static const char recover[] =
	"UPDATE events SET"
	" frames=(SELECT COUNT(*) FROM frames WHERE event=events.id),"
	" bytes=(SELECT COALESCE(SUM(length(jpeg)),0) FROM frames WHERE event=events.id),"
	" end_ms=COALESCE((SELECT MAX(t_ms) FROM frames WHERE event=events.id), clip_ms)"
	" WHERE end_ms IS NULL;"
	"DELETE FROM events WHERE frames = 0 AND thumb IS NULL"
	" AND NOT EXISTS (SELECT 1 FROM frames WHERE event = events.id);";

static bool db_open(struct recorder *r)
{
	sqlite3_stmt *st;
	int rc = sqlite3_open_v2(r->path, &r->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);

	if (rc != SQLITE_OK) {
		log_err("recordings: cannot open %s: %s", r->path, r->db ? sqlite3_errmsg(r->db) : sqlite3_errstr(rc));
		return false;
	}
	sqlite3_busy_timeout(r->db, BUSY_MS);
	if (sqlite3_exec(r->db, schema, NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_exec(r->db, recover, NULL, NULL, NULL) != SQLITE_OK) {
		log_err("recordings: %s: %s", r->path, sqlite3_errmsg(r->db));
		return false;
	}
	if (!prepare(r->db, "INSERT INTO events(camera, start_ms, clip_ms) VALUES(?,?,?)", &r->ins_event) ||
	    !prepare(r->db, "INSERT INTO frames(event, t_ms, jpeg) VALUES(?,?,?)", &r->ins_frame) ||
	    !prepare(r->db, "UPDATE events SET end_ms=?, frames=?, bytes=? WHERE id=?", &r->close_event) ||
	    !prepare(r->db, "UPDATE events SET thumb=? WHERE id=?", &r->set_thumb) ||
	    !prepare(r->db, "UPDATE events SET peak=max(COALESCE(peak,0),?) WHERE id=?", &r->set_peak) ||
	    !prepare(r->db, "SELECT id FROM events WHERE end_ms IS NOT NULL AND (?1 = 0 OR end_ms < ?1) ORDER BY id LIMIT 1",
		     &r->oldest) ||
	    !prepare(r->db, "DELETE FROM frames WHERE event=?", &r->del_frames) ||
	    !prepare(r->db, "DELETE FROM events WHERE id=?", &r->del_event) ||
	    !prepare(r->db, "SELECT bytes + COALESCE(length(thumb),0), end_ms IS NULL FROM events WHERE id=?",
		     &r->event_size) ||
	    !prepare(r->db, "PRAGMA freelist_count", &r->freelist))
		return false;
	if (sqlite3_prepare_v2(r->db, "PRAGMA page_size", -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		r->page_size = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if (sqlite3_prepare_v2(r->db, "SELECT COALESCE(SUM(bytes + COALESCE(length(thumb),0)),0), COUNT(*) FROM events",
			       -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW) {
		atomic_store(&r->total, sqlite3_column_int64(st, 0));
		atomic_store(&r->events, sqlite3_column_int64(st, 1));
	}
	sqlite3_finalize(st);
	return true;
}

/* One statement run to its end and reset; its SQLite result. */
static int run(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc;
}

static void failed(struct recorder *r, const char *what)
{
	uint64_t now = now_ms();

	atomic_fetch_add(&r->write_failed, 1);
	if (!r->last_fail_log || now - r->last_fail_log >= FAIL_LOG_MS) {
		r->last_fail_log = now;
		log_err("recordings: cannot write %s to %s: %s (%" PRIuFAST64 " writes failed so far; recording goes on "
			"when there is room)", what, r->path, sqlite3_errmsg(r->db), atomic_load(&r->write_failed));
	}
}

/* Deletes one event and its frames; false if the database failed. */
static bool delete_event(struct recorder *r, sqlite3 *db, sqlite3_stmt *del_frames, sqlite3_stmt *del_event, int64_t id,
			 int64_t size)
{
	bool ok;

	sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
	sqlite3_bind_int64(del_frames, 1, id);
	sqlite3_bind_int64(del_event, 1, id);
	ok = run(del_frames) == SQLITE_DONE && run(del_event) == SQLITE_DONE;
	ok = sqlite3_exec(db, ok ? "COMMIT" : "ROLLBACK", NULL, NULL, NULL) == SQLITE_OK && ok;
	if (ok) {
		atomic_fetch_sub(&r->total, size);
		atomic_fetch_sub(&r->events, 1);
	}
	return ok;
}

/* The oldest finished event (before: ended before then; 0 any), deleted.
 * False when there is none or it could not be deleted. */
static bool delete_oldest(struct recorder *r, uint64_t before)
{
	int64_t id = 0, size = 0;

	sqlite3_bind_int64(r->oldest, 1, (sqlite3_int64)before);
	if (sqlite3_step(r->oldest) == SQLITE_ROW)
		id = sqlite3_column_int64(r->oldest, 0);
	sqlite3_reset(r->oldest);
	if (!id)
		return false;
	sqlite3_bind_int64(r->event_size, 1, id);
	if (sqlite3_step(r->event_size) == SQLITE_ROW)
		size = sqlite3_column_int64(r->event_size, 0);
	sqlite3_reset(r->event_size);
	if (!delete_event(r, r->db, r->del_frames, r->del_event, id, size)) {
		failed(r, "the deletion of the oldest event");
		return false;
	}
	atomic_fetch_add(&r->deleted, 1);
	log_debug("recordings: event %" PRId64 " deleted (%s)", id, before ? "older than recordings_max_days"
										 : "recordings_max_mb reached");
	return true;
}

/* Bytes the recordings may still take on their disk: its free space beyond
 * DISK_RESERVE, and the database's own free pages (of deleted events). */
static int64_t disk_room(struct recorder *r)
{
	struct statvfs v;
	int64_t room, pages = 0;

	if (statvfs(r->path, &v) != 0)
		return INT64_MAX;	/* cannot tell: the writes will */
	room = (int64_t)v.f_bavail * (int64_t)v.f_frsize - DISK_RESERVE;
	if (sqlite3_step(r->freelist) == SQLITE_ROW)
		pages = sqlite3_column_int64(r->freelist, 0);
	sqlite3_reset(r->freelist);
	return room + pages * r->page_size;
}

enum room { ROOM_OK, ROOM_BOUND, ROOM_DISK };

/* Room for need more bytes within recordings_max_mb and the disk, the oldest
 * going first. */
static enum room make_room(struct recorder *r, size_t need)
{
	for (;;) {
		bool bound = (uint64_t)atomic_load(&r->total) + need > r->max_bytes;
		int64_t room = bound ? 0 : disk_room(r);

		if (!bound && room >= (int64_t)need)
			return ROOM_OK;
		if (!bound) {
			uint64_t now = now_ms();

			atomic_fetch_add(&r->disk_full, 1);
			if (!r->last_disk_log || now - r->last_disk_log >= FAIL_LOG_MS) {
				r->last_disk_log = now;
				log_warn("recordings: the disk of %s is nearly full (%lld KB left for recordings): "
					 "the oldest events go first", r->path, (long long)(room > 0 ? room / 1024 : 0));
			}
		}
		if (!delete_oldest(r, 0))
			return bound ? ROOM_BOUND : ROOM_DISK;
	}
}

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

static bool is_jpeg(const unsigned char *p, size_t len)
{
	return len >= 4 && p[0] == 0xFF && p[1] == 0xD8 && p[len - 2] == 0xFF && p[len - 1] == 0xD9;
}

void recorder_on_message(struct recorder *r, const char *topic, const void *payload, size_t len)
{
	char id[DEVICE_ID_MAX + 1];
	const char *what;

	if (!r || !topic_split(topic, r->c->prefix, id, &what) || !strcmp(id, T_BRIDGE))
		return;
	if (!strcmp(what, T_CAMERA)) {
		if (is_jpeg(payload, len) && len < (8u << 20))
			enqueue(r, IT_FRAME, id, payload, len, 0);
	} else if (!strcmp(what, T_MOTION)) {
		if (len == 2 && !memcmp(payload, "ON", 2))
			enqueue(r, IT_MOTION_ON, id, NULL, 0, 0);
		else if (len == 3 && !memcmp(payload, "OFF", 3))
			enqueue(r, IT_MOTION_OFF, id, NULL, 0, 0);
	} else if (!strcmp(what, T_EVENT_FRAME)) {
		if (is_jpeg(payload, len) && len < (8u << 20))
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

/* --- the HTTP side: connections of its own --- */

static sqlite3 *reader(struct recorder *r, bool write)
{
	sqlite3 *db = NULL;

	if (sqlite3_open_v2(r->path, &db, (write ? SQLITE_OPEN_READWRITE : SQLITE_OPEN_READONLY) | SQLITE_OPEN_NOMUTEX,
			    NULL) != SQLITE_OK) {
		log_warn("recordings: cannot open %s: %s", r->path, db ? sqlite3_errmsg(db) : "out of memory");
		sqlite3_close(db);
		return NULL;
	}
	sqlite3_busy_timeout(db, BUSY_MS);
	return db;
}

#define EVENT_COLUMNS "id, camera, start_ms, clip_ms, end_ms, frames, bytes, peak, thumb IS NOT NULL"

static cJSON *event_object(sqlite3_stmt *st)
{
	cJSON *o = cJSON_CreateObject();
	char t[32];
	bool open = sqlite3_column_type(st, 4) == SQLITE_NULL;
	int64_t clip = sqlite3_column_int64(st, 3), end = open ? clip : sqlite3_column_int64(st, 4);

	cJSON_AddNumberToObject(o, "id", (double)sqlite3_column_int64(st, 0));
	cJSON_AddStringToObject(o, "camera", (const char *)sqlite3_column_text(st, 1));
	iso8601(t, (uint64_t)sqlite3_column_int64(st, 2));
	cJSON_AddStringToObject(o, "start", t);
	iso8601(t, (uint64_t)clip);
	cJSON_AddStringToObject(o, "clip_start", t);
	if (!open) {
		iso8601(t, (uint64_t)end);
		cJSON_AddStringToObject(o, "end", t);
		cJSON_AddNumberToObject(o, "seconds", (double)(end - clip) / 1000.0);
		cJSON_AddNumberToObject(o, "frames", sqlite3_column_int(st, 5));
		cJSON_AddNumberToObject(o, "bytes", (double)sqlite3_column_int64(st, 6));
	}
	cJSON_AddBoolToObject(o, "recording", open);
	if (sqlite3_column_type(st, 7) != SQLITE_NULL)
		cJSON_AddNumberToObject(o, "peak", sqlite3_column_double(st, 7));
	cJSON_AddBoolToObject(o, "best_frame", sqlite3_column_int(st, 8));
	return o;
}

static char *json_out(cJSON *j, size_t *len)
{
	char *text = j ? cJSON_PrintUnformatted(j) : NULL;

	cJSON_Delete(j);
	if (text)
		*len = strlen(text);
	return text;
}

char *recorder_list_json(struct recorder *r, const char *camera, int64_t before, int limit, size_t *len)
{
	sqlite3 *db = reader(r, false);
	sqlite3_stmt *st = NULL;
	cJSON *arr;

	if (!db)
		return NULL;
	if (sqlite3_prepare_v2(db,
			       "SELECT " EVENT_COLUMNS " FROM events WHERE (?1 IS NULL OR camera = ?1) AND (?2 = 0 OR id < ?2)"
			       " ORDER BY id DESC LIMIT ?3",
			       -1, &st, NULL) != SQLITE_OK) {
		log_warn("recordings: %s", sqlite3_errmsg(db));
		sqlite3_close(db);
		return NULL;
	}
	if (camera)
		sqlite3_bind_text(st, 1, camera, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, before);
	sqlite3_bind_int(st, 3, limit);
	arr = cJSON_CreateArray();
	while (sqlite3_step(st) == SQLITE_ROW)
		cJSON_AddItemToArray(arr, event_object(st));
	sqlite3_finalize(st);
	sqlite3_close(db);
	return json_out(arr, len);
}

char *recorder_event_json(struct recorder *r, int64_t id, size_t *len)
{
	sqlite3 *db = reader(r, false);
	sqlite3_stmt *st = NULL;
	cJSON *o = NULL, *times;
	int64_t clip;

	if (!db)
		return NULL;
	if (sqlite3_prepare_v2(db, "SELECT " EVENT_COLUMNS " FROM events WHERE id = ?", -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, id);
		if (sqlite3_step(st) == SQLITE_ROW)
			o = event_object(st);
		clip = o ? sqlite3_column_int64(st, 3) : 0;
		sqlite3_finalize(st);
		st = NULL;
	}
	/* Each frame's time, in ms from the clip's start: the player paces by them. */
	if (o && sqlite3_prepare_v2(db, "SELECT t_ms FROM frames WHERE event = ? ORDER BY id", -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, id);
		times = cJSON_AddArrayToObject(o, "frame_ms");
		while (sqlite3_step(st) == SQLITE_ROW)
			cJSON_AddItemToArray(times, cJSON_CreateNumber((double)(sqlite3_column_int64(st, 0) - clip)));
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	return json_out(o, len);
}

static void *blob(struct recorder *r, const char *sql, int64_t id, int index, size_t *len)
{
	sqlite3 *db = reader(r, false);
	sqlite3_stmt *st = NULL;
	void *out = NULL;

	if (!db)
		return NULL;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, id);
		if (index >= 0)
			sqlite3_bind_int(st, 2, index);
		if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) == SQLITE_BLOB) {
			*len = (size_t)sqlite3_column_bytes(st, 0);
			if ((out = malloc(*len ? *len : 1)))
				memcpy(out, sqlite3_column_blob(st, 0), *len);
		}
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	return out;
}

void *recorder_jpeg(struct recorder *r, int64_t id, int index, size_t *len)
{
	void *out;

	if (index >= 0)
		return blob(r, "SELECT jpeg FROM frames WHERE event = ?1 ORDER BY id LIMIT 1 OFFSET ?2", id, index, len);
	if ((out = blob(r, "SELECT thumb FROM events WHERE id = ?1", id, -1, len)))
		return out;
	/* No best frame came: the middle of the clip. */
	return blob(r, "SELECT jpeg FROM frames WHERE event = ?1 ORDER BY id LIMIT 1"
		       " OFFSET (SELECT COUNT(*) / 2 FROM frames WHERE event = ?1)", id, -1, len);
}

int recorder_delete(struct recorder *r, int64_t id)
{
	sqlite3 *db = reader(r, true);
	sqlite3_stmt *size = NULL, *del_frames = NULL, *del_event = NULL;
	int rc = -3;

	if (!db)
		return -3;
	if (sqlite3_prepare_v2(db, "SELECT bytes + COALESCE(length(thumb),0), end_ms IS NULL FROM events WHERE id=?", -1,
			       &size, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, "DELETE FROM frames WHERE event=?", -1, &del_frames, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, "DELETE FROM events WHERE id=?", -1, &del_event, NULL) == SQLITE_OK) {
		sqlite3_bind_int64(size, 1, id);
		if (sqlite3_step(size) != SQLITE_ROW)
			rc = -1;
		else if (sqlite3_column_int(size, 1))
			rc = -2;
		else if (delete_event(r, db, del_frames, del_event, id, sqlite3_column_int64(size, 0)))
			rc = 0;
	}
	if (rc == -3)
		log_warn("recordings: cannot delete event %" PRId64 ": %s", id, sqlite3_errmsg(db));
	sqlite3_finalize(size);
	sqlite3_finalize(del_frames);
	sqlite3_finalize(del_event);
	sqlite3_close(db);
	return rc;
}

struct clip {
	sqlite3 *db;
	sqlite3_stmt *st;
	char head[200];
	size_t head_len, head_off;	/* the part's headers, then */
	const unsigned char *body;	/* its JPEG (the statement's row), then "\r\n" */
	size_t body_len, body_off;
	bool ended;
};

struct clip *recorder_clip_open(struct recorder *r, int64_t id, char *name, size_t name_cap)
{
	struct clip *c = calloc(1, sizeof(*c));
	sqlite3_stmt *st = NULL;
	bool ok = false;

	if (!c || !(c->db = reader(r, false))) {
		free(c);
		return NULL;
	}
	if (sqlite3_prepare_v2(c->db, "SELECT camera, clip_ms FROM events WHERE id = ? AND end_ms IS NOT NULL", -1, &st,
			       NULL) == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, id);
		if (sqlite3_step(st) == SQLITE_ROW) {
			char t[32];

			iso8601(t, (uint64_t)sqlite3_column_int64(st, 1));
			for (char *p = t; *p; p++)
				if (*p == ':')
					*p = '-';	/* a file name every system takes */
			snprintf(name, name_cap, "%s-%s.mjpeg", (const char *)sqlite3_column_text(st, 0), t);
			ok = true;
		}
	}
	sqlite3_finalize(st);
	/* One read transaction for the whole clip: retention deleting it
	 * meanwhile does not cut the download short. */
	if (!ok || sqlite3_exec(c->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(c->db, "SELECT t_ms, jpeg FROM frames WHERE event = ? ORDER BY id", -1, &c->st, NULL) !=
		    SQLITE_OK) {
		recorder_clip_close(c);
		return NULL;
	}
	sqlite3_bind_int64(c->st, 1, id);
	return c;
}

ssize_t recorder_clip_read(struct clip *c, char *buf, size_t max)
{
	size_t n = 0;

	while (n < max) {
		if (c->head_off < c->head_len) {
			size_t k = c->head_len - c->head_off < max - n ? c->head_len - c->head_off : max - n;
			memcpy(buf + n, c->head + c->head_off, k);
			c->head_off += k;
			n += k;
		} else if (c->body_off < c->body_len + 2) {
			size_t left = c->body_len + 2 - c->body_off, k = left < max - n ? left : max - n;
			for (size_t i = 0; i < k; i++, c->body_off++)
				buf[n + i] = c->body_off < c->body_len ? (char)c->body[c->body_off]
								       : "\r\n"[c->body_off - c->body_len];
			n += k;
		} else if (c->ended) {
			break;
		} else {
			int rc = sqlite3_step(c->st);

			c->head_off = c->body_off = 0;
			c->body_len = 0;
			if (rc == SQLITE_ROW) {
				c->body = sqlite3_column_blob(c->st, 1);
				c->body_len = (size_t)sqlite3_column_bytes(c->st, 1);
				c->head_len = (size_t)snprintf(c->head, sizeof(c->head),
							       "--" RECORDER_BOUNDARY "\r\nContent-Type: image/jpeg\r\n"
							       "Content-Length: %zu\r\nX-Timestamp: %lld\r\n\r\n",
							       c->body_len, (long long)sqlite3_column_int64(c->st, 0));
			} else if (rc == SQLITE_DONE) {
				c->head_len = (size_t)snprintf(c->head, sizeof(c->head), "--" RECORDER_BOUNDARY "--\r\n");
				c->body_off = 2;	/* no body, no CRLF */
				c->ended = true;
			} else {
				log_warn("recordings: reading a clip: %s", sqlite3_errmsg(c->db));
				return -1;
			}
		}
	}
	return (ssize_t)n;
}

void recorder_clip_close(struct clip *c)
{
	if (!c)
		return;
	sqlite3_finalize(c->st);
	sqlite3_close(c->db);	/* ends the read transaction */
	free(c);
}

char *recorder_metrics_text(struct recorder *r, size_t *len)
{
	char *out = NULL;
	int n = asprintf(&out,
			 "# HELP intercom_dashboard_recordings Motion events kept (recordings).\n"
			 "# TYPE intercom_dashboard_recordings gauge\nintercom_dashboard_recordings %" PRIdFAST64 "\n"
			 "# TYPE intercom_dashboard_recordings_recording gauge\nintercom_dashboard_recordings_recording %" PRIuFAST64 "\n"
			 "# HELP intercom_dashboard_recordings_bytes Bytes of frames and thumbnails kept.\n"
			 "# TYPE intercom_dashboard_recordings_bytes gauge\nintercom_dashboard_recordings_bytes %" PRIdFAST64 "\n"
			 "# TYPE intercom_dashboard_recordings_bytes_max gauge\nintercom_dashboard_recordings_bytes_max %" PRIu64 "\n"
			 "# TYPE intercom_dashboard_recorded_frames_total counter\nintercom_dashboard_recorded_frames_total %" PRIuFAST64 "\n"
			 "# TYPE intercom_dashboard_recorded_bytes_total counter\nintercom_dashboard_recorded_bytes_total %" PRIuFAST64 "\n"
			 "# HELP intercom_dashboard_recording_writes_failed_total Writes that failed (a full disk): the frame was dropped.\n"
			 "# TYPE intercom_dashboard_recording_writes_failed_total counter\nintercom_dashboard_recording_writes_failed_total %" PRIuFAST64 "\n"
			 "# HELP intercom_dashboard_recording_frames_dropped_total Frames the writer could not keep up with.\n"
			 "# TYPE intercom_dashboard_recording_frames_dropped_total counter\nintercom_dashboard_recording_frames_dropped_total %" PRIuFAST64 "\n"
			 "# HELP intercom_dashboard_recording_disk_full_total Times the disk had no room left for recordings (4 MB are kept free): the oldest went early.\n"
			 "# TYPE intercom_dashboard_recording_disk_full_total counter\nintercom_dashboard_recording_disk_full_total %" PRIuFAST64 "\n"
			 "# HELP intercom_dashboard_recordings_deleted_total Events deleted to keep within recordings_max_mb and recordings_max_days.\n"
			 "# TYPE intercom_dashboard_recordings_deleted_total counter\nintercom_dashboard_recordings_deleted_total %" PRIuFAST64 "\n",
			 atomic_load(&r->events), atomic_load(&r->open_events), atomic_load(&r->total), r->max_bytes,
			 atomic_load(&r->frames_written), atomic_load(&r->bytes_written), atomic_load(&r->write_failed),
			 atomic_load(&r->dropped), atomic_load(&r->disk_full), atomic_load(&r->deleted));

	if (n < 0)
		return NULL;
	*len = (size_t)n;
	return out;
}
