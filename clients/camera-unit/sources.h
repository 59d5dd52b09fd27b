/*
 * Where a camera unit's frames come from: a V4L2 device delivering MJPEG (the
 * usual USB webcam on a Pi), JPEG files played in a loop, or a generated test
 * pattern whose picture changes every frame (a moving bar and a frame counter).
 */
#ifndef SOURCES_H
#define SOURCES_H

#include "conf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FILES_MAX 256

enum source_kind { SOURCE_PATTERN, SOURCE_FILES, SOURCE_V4L2 };

struct source {
	enum source_kind kind;
	int width, height, quality;
	/* files */
	char *paths[FILES_MAX];
	int n_paths, next_path;
	/* v4l2 */
	char device[128];
	int fd;
	void *maps[4];
	size_t map_len[4];
	int n_maps;
	/* pattern */
	void *tj;
	uint8_t *pixels;
	uint64_t counter;
};

/* source pattern [WxH] | source files PATH... (a directory: its *.jpg, sorted)
 * | source v4l2 DEVICE [WxH] */
bool source_parse(struct source *s, const struct conf_line *l, char *err, size_t errlen);
int source_open(struct source *s, char *err, size_t errlen);
/* The next frame into *buf (grown as needed, up to IC_FRAME_MAX). Returns its
 * length, 0 when none is ready yet, -1 on an error (logged). */
long source_next(struct source *s, uint8_t **buf, size_t *cap);
void source_close(struct source *s);

#endif
