/* The recorder (dashboard/recorder.c) with a real SQLite database in a
 * temporary directory: the pre-roll, one event per motion, its best frame,
 * the clip as MJPEG, the size bound deleting the oldest, a restart, and
 * messages it must ignore. Times are the wall clock's, so each step waits
 * for the recorder's once-a-second look. */
#include "test.h"
#include "tests.h"
#include "recorder.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void pub(struct recorder *r, const char *topic, const void *p, size_t len)
{
	recorder_on_message(r, topic, p, len);
}

/* A "JPEG" of n bytes (the recorder checks only its markers), marked with tag. */
static void jpeg(struct recorder *r, const char *cam, size_t n, unsigned char tag)
{
	unsigned char *b = malloc(n);
	char topic[96];

	memset(b, tag, n);
	b[0] = 0xFF, b[1] = 0xD8, b[n - 2] = 0xFF, b[n - 1] = 0xD9;
	snprintf(topic, sizeof(topic), "intercom/%s/camera", cam);
	pub(r, topic, b, n);
	free(b);
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };
	nanosleep(&ts, NULL);
}

static int num(const cJSON *o, const char *k)
{
	return (int)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(o, k));
}

static cJSON *list(struct recorder *r, const char *cam)
{
	size_t len;
	char *text = recorder_list_json(r, cam, 0, 50, &len);
	cJSON *j = text ? cJSON_Parse(text) : NULL;

	free(text);
	return j;
}


/* Waits (up to 4 s) until cam has an event newer than after and it has
 * ended; returns the list. */
static cJSON *ended(struct recorder *r, const char *cam, int after)
{
	for (int i = 0; i < 40; i++) {
		cJSON *j = list(r, cam), *e = cJSON_GetArrayItem(j, 0);

		if (e && num(e, "id") > after && cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(e, "recording")))
			return j;
		cJSON_Delete(j);
		sleep_ms(100);
	}
	return NULL;
}

static void test_recorder(void)
{
	static struct dash_config c;
	char dir[] = "/tmp/intercom-recorder.XXXXXX", path[64], cmd[96];
	struct recorder *r;
	cJSON *j, *e;
	size_t len;
	unsigned char *blob;

	CHECK(mkdtemp(dir) != NULL);
	dash_config_init(&c);
	snprintf(path, sizeof(path), "%s/rec.db", dir);
	snprintf(c.recordings, sizeof(c.recordings), "%s", path);
	c.recording_pre_s = 2;
	c.recording_post_s = 0;
	c.recordings_max_mb = 1;
	CHECK((r = recorder_new(&c)) != NULL);
	if (!r)
		return;

	/* Ignored: other prefixes, the bridge, what is not a JPEG, motion words it does not know. */
	pub(r, "other/cam/motion", "ON", 2);
	pub(r, "intercom/bridge/camera", "\xFF\xD8\xFF\xD9", 4);
	pub(r, "intercom/cam/camera", "not a jpeg", 10);
	pub(r, "intercom/cam/motion", "on", 2);
	pub(r, "intercom/cam/event", "{bad json", 9);
	sleep_ms(300);
	j = list(r, NULL);
	CHECK(cJSON_GetArraySize(j) == 0);
	cJSON_Delete(j);

	/* Two frames before the motion (the pre-roll), three during it. */
	jpeg(r, "cam", 1000, 'a');
	jpeg(r, "cam", 1000, 'b');
	pub(r, "intercom/cam/motion", "ON", 2);
	for (unsigned char t = 'c'; t <= 'e'; t++)
		jpeg(r, "cam", 1000, t);
	sleep_ms(100);
	j = list(r, "cam");
	e = cJSON_GetArrayItem(j, 0);
	CHECK(e && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "recording")));
	CHECK(recorder_delete(r, e ? num(e, "id") : 0) == -2);	/* still recording */
	cJSON_Delete(j);
	pub(r, "intercom/cam/motion", "OFF", 3);
	pub(r, "intercom/cam/event", "{\"event\":\"end\",\"id\":1,\"peak\":12.5}", 35);
	jpeg(r, "cam", 600, 'B');
	blob = NULL;
	{	/* the best frame, as the base unit publishes it at the event's end */
		unsigned char best[600];
		memset(best, 'B', sizeof(best));
		best[0] = 0xFF, best[1] = 0xD8, best[598] = 0xFF, best[599] = 0xD9;
		pub(r, "intercom/cam/event_frame", best, sizeof(best));
	}
	CHECK((j = ended(r, "cam", 0)) != NULL);
	e = cJSON_GetArrayItem(j, 0);
	CHECK(cJSON_GetArraySize(j) == 1);
	CHECK_EQ(num(e, "frames"), 5);	/* the 600-byte frame came after the post-roll (0 s): not in it */
	CHECK_EQ(num(e, "bytes"), 5000);
	CHECK(cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(e, "peak")) == 12.5);
	int id = num(e, "id");
	cJSON_Delete(j);
	sleep_ms(300);	/* the best frame, after the end */
	blob = recorder_jpeg(r, id, -1, &len);
	CHECK(blob && len == 600 && blob[2] == 'B');
	free(blob);
	blob = recorder_jpeg(r, id, 0, &len);
	CHECK(blob && len == 1000 && blob[2] == 'a');	/* the pre-roll's first */
	free(blob);
	CHECK(recorder_jpeg(r, id, 5, &len) == NULL);
	CHECK(recorder_jpeg(r, 999, 0, &len) == NULL);

	/* The clip: five parts and the closing delimiter, whatever the reads' size. */
	{
		char name[96], buf[7];
		struct clip *cl = recorder_clip_open(r, id, name, sizeof(name));
		char *all = calloc(1, 16384);
		size_t n = 0;
		ssize_t k;
		int parts = 0;

		CHECK(cl != NULL);
		CHECK(!strncmp(name, "cam-", 4) && strstr(name, ".mjpeg"));
		while (cl && (k = recorder_clip_read(cl, buf, sizeof(buf))) > 0 && n + (size_t)k < 16384) {
			memcpy(all + n, buf, (size_t)k);
			n += (size_t)k;
		}
		recorder_clip_close(cl);
		for (char *p = all; (p = memmem(p, all + n - p, "Content-Length: 1000\r\n", 22)); p++)
			parts++;
		CHECK_EQ(parts, 5);
		CHECK(n > 20 && !memcmp(all + n - 18, "--intercomclip--\r\n", 18));
		free(all);
	}

	/* The size bound (1 MB): a second event of 4 x 200 kB deletes the first. */
	pub(r, "intercom/cam2/motion", "ON", 2);
	for (int i = 0; i < 4; i++)
		jpeg(r, "cam2", 200000, (unsigned char)('0' + i));
	pub(r, "intercom/cam2/motion", "OFF", 3);
	CHECK((j = ended(r, "cam2", id)) != NULL);
	int id1 = num(cJSON_GetArrayItem(j, 0), "id");
	cJSON_Delete(j);
	pub(r, "intercom/cam2/motion", "ON", 2);
	for (int i = 0; i < 4; i++)
		jpeg(r, "cam2", 200000, (unsigned char)('4' + i));
	pub(r, "intercom/cam2/motion", "OFF", 3);
	CHECK((j = ended(r, "cam2", id1)) != NULL);
	CHECK_EQ(cJSON_GetArraySize(j), 1);	/* the first is gone */
	int id2 = num(cJSON_GetArrayItem(j, 0), "id");
	cJSON_Delete(j);
	j = list(r, "cam");
	CHECK_EQ(cJSON_GetArraySize(j), 0);	/* and the older one of the other camera before it */
	cJSON_Delete(j);
	{
		char *m = recorder_metrics_text(r, &len);
		CHECK(m && strstr(m, "intercom_dashboard_recordings_deleted_total "));
		CHECK(m && !strstr(m, "intercom_dashboard_recordings_deleted_total 0\n"));
		free(m);
	}
	/* A frame over a quarter of the bound is not kept at all, and an event
	 * without frames is not kept either. */
	pub(r, "intercom/cam3/motion", "ON", 2);
	jpeg(r, "cam3", 300000, 'x');
	pub(r, "intercom/cam3/motion", "OFF", 3);
	sleep_ms(1500);
	j = list(r, "cam3");
	CHECK_EQ(cJSON_GetArraySize(j), 0);
	cJSON_Delete(j);
	{
		char *m = recorder_metrics_text(r, &len);
		CHECK(m && strstr(m, "intercom_dashboard_recording_frames_dropped_total 1\n"));
		free(m);
	}

	/* A pre-roll bigger than the bound: its clip ends on the way and the
	 * next takes the rest (nothing written twice, nothing freed twice). */
	for (int i = 0; i < 5; i++)
		jpeg(r, "cam4", 250000, (unsigned char)('a' + i));
	pub(r, "intercom/cam4/motion", "ON", 2);
	pub(r, "intercom/cam4/motion", "OFF", 3);
	sleep_ms(1500);
	j = list(r, "cam4");
	CHECK_EQ(cJSON_GetArraySize(j), 1);	/* the second clip; the first was deleted for it */
	CHECK_EQ(num(cJSON_GetArrayItem(j, 0), "frames"), 1);
	int id4 = num(cJSON_GetArrayItem(j, 0), "id");
	cJSON_Delete(j);
	j = list(r, NULL);
	int n_all = cJSON_GetArraySize(j);
	cJSON_Delete(j);

	/* A restart keeps them; deleting one works once. */
	recorder_free(r);
	CHECK((r = recorder_new(&c)) != NULL);
	j = list(r, NULL);
	CHECK_EQ(cJSON_GetArraySize(j), n_all);
	cJSON_Delete(j);
	CHECK_EQ(recorder_delete(r, id4), 0);
	CHECK_EQ(recorder_delete(r, id4), -1);
	CHECK_EQ(recorder_delete(r, id2), -1);	/* the bound took it for cam4's */
	CHECK_EQ(recorder_delete(r, id), -1);
	recorder_free(r);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	CHECK(system(cmd) == 0);
}

const struct test_case recorder_tests[] = {
	{ "recorder: pre-roll, events, best frame, clip, bound, restart", test_recorder },
	{ NULL, NULL },
};
