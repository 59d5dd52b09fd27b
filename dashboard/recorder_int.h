/*
 * The recorder's insides, shared by its three files:
 *   recorder.c       the queue, the writer thread, each camera's events
 *   recorder_db.c    the database: schema, recovery, the bounds and deleting
 *   recorder_read.c  the HTTP side's reads, the clip, the metrics
 */
#ifndef DASH_RECORDER_INT_H
#define DASH_RECORDER_INT_H

#include "recorder.h"
#include "topics.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

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

enum room { ROOM_OK, ROOM_BOUND, ROOM_DISK };

/* Statements both the writer and the HTTP side's delete run. */
#define SQL_EVENT_SIZE "SELECT bytes + COALESCE(length(thumb),0), end_ms IS NULL FROM events WHERE id=?"
#define SQL_DEL_FRAMES "DELETE FROM frames WHERE event=?"
#define SQL_DEL_EVENT  "DELETE FROM events WHERE id=?"

/* recorder_db.c; the writer's connection (r->db) unless a db is given. */
bool db_open(struct recorder *r);
int run(sqlite3_stmt *st);	/* one statement to its end, reset: its SQLite result */
void failed(struct recorder *r, const char *what);	/* counted; logged once a minute */
bool delete_event(struct recorder *r, sqlite3 *db, sqlite3_stmt *del_frames, sqlite3_stmt *del_event, int64_t id,
		  int64_t size);
bool delete_oldest(struct recorder *r, uint64_t before);
/* Room for need more bytes within recordings_max_mb and the disk, the oldest going first. */
enum room make_room(struct recorder *r, size_t need);

#endif
