#include "sources.h"
#include "intercom.h"
#include "log.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <turbojpeg.h>
#include <unistd.h>
#include <linux/videodev2.h>

static bool parse_size(const char *text, int *w, int *h)
{
	return sscanf(text, "%dx%d", w, h) == 2 && *w >= 16 && *h >= 16 && *w <= 4096 && *h <= 4096;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool add_path(struct source *s, const char *path, char *err, size_t errlen)
{
	if (s->n_paths == FILES_MAX) {
		snprintf(err, errlen, "'source files' takes at most %d files", FILES_MAX);
		return false;
	}
	s->paths[s->n_paths] = strdup(path);
	if (!s->paths[s->n_paths])
		return false;
	s->n_paths++;
	return true;
}

static bool add_dir(struct source *s, const char *dir, char *err, size_t errlen)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int first = s->n_paths;
	bool ok = true;

	if (!d) {
		snprintf(err, errlen, "'source files' cannot read directory '%s': %s", dir, strerror(errno));
		return false;
	}
	while (ok && (e = readdir(d))) {
		size_t n = strlen(e->d_name);
		char path[1024];

		if (n < 5 || (strcasecmp(e->d_name + n - 4, ".jpg") && strcasecmp(e->d_name + n - 5, ".jpeg")))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		ok = add_path(s, path, err, errlen);
	}
	closedir(d);
	qsort(s->paths + first, (size_t)(s->n_paths - first), sizeof(char *), cmp_str);
	return ok;
}

bool source_parse(struct source *s, const struct conf_line *l, char *err, size_t errlen)
{
	const char *kind = l->argc > 1 ? l->argv[1] : "";

	s->width = 640;
	s->height = 480;
	if (!strcmp(kind, "pattern")) {
		s->kind = SOURCE_PATTERN;
		if (l->argc == 3 && !parse_size(l->argv[2], &s->width, &s->height)) {
			snprintf(err, errlen, "'source pattern' expects a size like 640x480, got '%s'", l->argv[2]);
			return false;
		}
		return l->argc <= 3 || (snprintf(err, errlen, "'source pattern' expects [WxH]"), false);
	}
	if (!strcmp(kind, "files")) {
		s->kind = SOURCE_FILES;
		if (l->argc < 3) {
			snprintf(err, errlen, "'source files' expects PATH... (JPEG files or a directory)");
			return false;
		}
		for (int i = 2; i < l->argc; i++) {
			struct stat st;
			if (stat(l->argv[i], &st) == 0 && S_ISDIR(st.st_mode)) {
				if (!add_dir(s, l->argv[i], err, errlen))
					return false;
			} else if (!add_path(s, l->argv[i], err, errlen)) {
				return false;
			}
		}
		if (s->n_paths == 0) {
			snprintf(err, errlen, "'source files' found no .jpg files");
			return false;
		}
		return true;
	}
	if (!strcmp(kind, "v4l2")) {
		s->kind = SOURCE_V4L2;
		if (l->argc < 3 || l->argc > 4 || strlen(l->argv[2]) >= sizeof(s->device) ||
		    (l->argc == 4 && !parse_size(l->argv[3], &s->width, &s->height))) {
			snprintf(err, errlen, "'source v4l2' expects DEVICE [WxH], e.g. /dev/video0 640x480");
			return false;
		}
		memcpy(s->device, l->argv[2], strlen(l->argv[2]) + 1);
		return true;
	}
	snprintf(err, errlen, "'source' expects pattern, files or v4l2, got '%s'", kind);
	return false;
}

static int v4l2_open(struct source *s, char *err, size_t errlen)
{
	struct v4l2_format fmt = { .type = V4L2_BUF_TYPE_VIDEO_CAPTURE };
	struct v4l2_requestbuffers req = { .count = 4, .type = V4L2_BUF_TYPE_VIDEO_CAPTURE,
					   .memory = V4L2_MEMORY_MMAP };
	enum v4l2_buf_type type = V4L2_BUF_TYPE_VIDEO_CAPTURE;

	s->fd = open(s->device, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (s->fd < 0) {
		snprintf(err, errlen, "cannot open %s: %s", s->device, strerror(errno));
		return -1;
	}
	fmt.fmt.pix.width = (unsigned)s->width;
	fmt.fmt.pix.height = (unsigned)s->height;
	fmt.fmt.pix.pixelformat = V4L2_PIX_FMT_MJPEG;
	fmt.fmt.pix.field = V4L2_FIELD_ANY;
	if (ioctl(s->fd, VIDIOC_S_FMT, &fmt) < 0 || fmt.fmt.pix.pixelformat != V4L2_PIX_FMT_MJPEG) {
		snprintf(err, errlen, "%s does not deliver MJPEG at %dx%d", s->device, s->width, s->height);
		return -1;
	}
	if (ioctl(s->fd, VIDIOC_REQBUFS, &req) < 0 || req.count < 2) {
		snprintf(err, errlen, "%s: no capture buffers: %s", s->device, strerror(errno));
		return -1;
	}
	for (unsigned i = 0; i < req.count && i < 4; i++) {
		struct v4l2_buffer b = { .type = V4L2_BUF_TYPE_VIDEO_CAPTURE, .memory = V4L2_MEMORY_MMAP, .index = i };

		if (ioctl(s->fd, VIDIOC_QUERYBUF, &b) < 0)
			return -1;
		s->maps[i] = mmap(NULL, b.length, PROT_READ | PROT_WRITE, MAP_SHARED, s->fd, b.m.offset);
		if (s->maps[i] == MAP_FAILED) {
			s->maps[i] = NULL;
			return -1;
		}
		s->map_len[i] = b.length;
		s->n_maps++;
		if (ioctl(s->fd, VIDIOC_QBUF, &b) < 0)
			return -1;
	}
	if (ioctl(s->fd, VIDIOC_STREAMON, &type) < 0) {
		snprintf(err, errlen, "%s: cannot start streaming: %s", s->device, strerror(errno));
		return -1;
	}
	return 0;
}

int source_open(struct source *s, char *err, size_t errlen)
{
	s->fd = -1;
	if (s->kind == SOURCE_V4L2)
		return v4l2_open(s, err, errlen);
	if (s->kind == SOURCE_PATTERN) {
		s->tj = tjInitCompress();
		s->pixels = malloc((size_t)s->width * (size_t)s->height * 3);
		if (!s->tj || !s->pixels) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
	}
	return 0;
}

static bool grow(uint8_t **buf, size_t *cap, size_t need)
{
	uint8_t *p;

	if (*cap >= need)
		return true;
	p = realloc(*buf, need);
	if (!p)
		return false;
	*buf = p;
	*cap = need;
	return true;
}

static long next_file(struct source *s, uint8_t **buf, size_t *cap)
{
	const char *path = s->paths[s->next_path];
	FILE *f = fopen(path, "rb");
	long n;

	s->next_path = (s->next_path + 1) % s->n_paths;
	if (!f) {
		log_warn("cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	if (!grow(buf, cap, IC_FRAME_MAX + 1)) {
		fclose(f);
		return -1;
	}
	n = (long)fread(*buf, 1, IC_FRAME_MAX + 1, f);
	fclose(f);
	if (n <= 0 || n > (long)IC_FRAME_MAX) {
		log_warn("%s: empty or larger than %u bytes, skipped", path, IC_FRAME_MAX);
		return -1;
	}
	return n;
}

/* 3x5 digits, one row per nibble of bits, for the frame counter. */
static const uint16_t digits[10] = { 0x7b6f, 0x2492, 0x73e7, 0x73cf, 0x5bc9, 0x79cf, 0x79ef, 0x7249, 0x7bef, 0x7bcf };

static void draw_digit(struct source *s, int d, int x0, int y0, int scale)
{
	for (int row = 0; row < 5; row++)
		for (int col = 0; col < 3; col++) {
			if (!(digits[d] >> (14 - row * 3 - col) & 1))
				continue;
			for (int y = y0 + row * scale; y < y0 + (row + 1) * scale && y < s->height; y++)
				for (int x = x0 + col * scale; x < x0 + (col + 1) * scale && x < s->width; x++)
					memset(s->pixels + ((size_t)y * (size_t)s->width + (size_t)x) * 3, 255, 3);
		}
}

static long next_pattern(struct source *s, uint8_t **buf, size_t *cap)
{
	int w = s->width, h = s->height, bar = (int)(s->counter * 8 % (uint64_t)w), scale = h / 24 > 1 ? h / 24 : 1;
	unsigned char *out = NULL;
	unsigned long len = 0;
	char text[24];
	long ret = -1;

	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++) {
			uint8_t *p = s->pixels + ((size_t)y * (size_t)w + (size_t)x) * 3;
			bool on_bar = x >= bar && x < bar + w / 16;
			p[0] = on_bar ? 230 : (uint8_t)(x * 255 / w);
			p[1] = on_bar ? 40 : (uint8_t)(y * 255 / h);
			p[2] = on_bar ? 40 : 96;
		}
	snprintf(text, sizeof(text), "%llu", (unsigned long long)s->counter);
	for (int i = 0; text[i]; i++)
		draw_digit(s, text[i] - '0', scale * 2 + i * scale * 4, scale * 2, scale);
	s->counter++;
	if (tjCompress2(s->tj, s->pixels, w, 0, h, TJPF_RGB, &out, &len, TJSAMP_420, s->quality, TJFLAG_FASTDCT) == 0) {
		/* A comment segment right after SOI with the capture time, so a
		 * viewer (and bench/) can tell how old the picture is. */
		char com[64];
		int cl = snprintf(com, sizeof(com), "{\"t\":%llu,\"n\":%llu}", (unsigned long long)wall_us(),
				  (unsigned long long)(s->counter - 1));
		size_t total = len + 4 + (size_t)cl;

		if (total <= IC_FRAME_MAX && grow(buf, cap, total)) {
			(*buf)[0] = 0xff;
			(*buf)[1] = 0xd8;
			(*buf)[2] = 0xff;
			(*buf)[3] = 0xfe;
			(*buf)[4] = (uint8_t)((cl + 2) >> 8);
			(*buf)[5] = (uint8_t)(cl + 2);
			memcpy(*buf + 6, com, (size_t)cl);
			memcpy(*buf + 6 + cl, out + 2, len - 2);
			ret = (long)total;
		}
	}
	tjFree(out);
	return ret;
}

static long next_v4l2(struct source *s, uint8_t **buf, size_t *cap)
{
	struct v4l2_buffer b = { .type = V4L2_BUF_TYPE_VIDEO_CAPTURE, .memory = V4L2_MEMORY_MMAP };
	struct pollfd p = { .fd = s->fd, .events = POLLIN };
	long ret = -1;

	if (poll(&p, 1, 0) <= 0)
		return 0;
	if (ioctl(s->fd, VIDIOC_DQBUF, &b) < 0)
		return errno == EAGAIN ? 0 : -1;
	if (b.index < (unsigned)s->n_maps && b.bytesused > 0 && b.bytesused <= IC_FRAME_MAX &&
	    grow(buf, cap, b.bytesused)) {
		memcpy(*buf, s->maps[b.index], b.bytesused);
		ret = (long)b.bytesused;
	}
	ioctl(s->fd, VIDIOC_QBUF, &b);
	return ret;
}

long source_next(struct source *s, uint8_t **buf, size_t *cap)
{
	switch (s->kind) {
	case SOURCE_FILES: return next_file(s, buf, cap);
	case SOURCE_PATTERN: return next_pattern(s, buf, cap);
	case SOURCE_V4L2: return next_v4l2(s, buf, cap);
	}
	return -1;
}

void source_close(struct source *s)
{
	if (s->kind == SOURCE_V4L2 && s->fd >= 0) {
		enum v4l2_buf_type type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
		ioctl(s->fd, VIDIOC_STREAMOFF, &type);
	}
	for (int i = 0; i < s->n_maps; i++)
		munmap(s->maps[i], s->map_len[i]);
	if (s->fd >= 0)
		close(s->fd);
	for (int i = 0; i < s->n_paths; i++)
		free(s->paths[i]);
	if (s->tj)
		tjDestroy(s->tj);
	free(s->pixels);
	memset(s, 0, sizeof(*s));
	s->fd = -1;
}
