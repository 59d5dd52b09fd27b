#include "recorder_int.h"
#include "clock.h"
#include "log.h"
#include "util.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
	if (sqlite3_prepare_v2(db, SQL_EVENT_SIZE, -1,
			       &size, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, SQL_DEL_FRAMES, -1, &del_frames, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, SQL_DEL_EVENT, -1, &del_event, NULL) == SQLITE_OK) {
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
