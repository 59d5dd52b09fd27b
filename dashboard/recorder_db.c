#include "recorder_int.h"
#include "clock.h"
#include "log.h"
#include "util.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

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

bool db_open(struct recorder *r)
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
	    !prepare(r->db, SQL_DEL_FRAMES, &r->del_frames) ||
	    !prepare(r->db, SQL_DEL_EVENT, &r->del_event) ||
	    !prepare(r->db, SQL_EVENT_SIZE,
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
int run(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc;
}

void failed(struct recorder *r, const char *what)
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
bool delete_event(struct recorder *r, sqlite3 *db, sqlite3_stmt *del_frames, sqlite3_stmt *del_event, int64_t id,
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
bool delete_oldest(struct recorder *r, uint64_t before)
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


/* Room for need more bytes within recordings_max_mb and the disk, the oldest
 * going first. */
enum room make_room(struct recorder *r, size_t need)
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
