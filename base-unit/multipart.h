/*
 * The body of a multipart/x-mixed-replace response, the MJPEG stream of the
 * stock ESP32-CAM firmware, ESPHome, Tasmota, ffmpeg and most IP cameras:
 * parts separated by "--BOUNDARY" lines, each with its own headers. A part
 * with a Content-Length ends there (a length that runs over the next
 * delimiter is a lie: the part is dropped); one without ends at the next
 * delimiter. A part over the bound is dropped, and the parser finds its way
 * back at the next delimiter. No allocation but the one buffer.
 */
#ifndef BASE_MULTIPART_H
#define BASE_MULTIPART_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MULTIPART_BOUNDARY_MAX 70	/* RFC 2046 */
#define MULTIPART_HEADERS_MAX  4096

struct multipart_stats {
	uint64_t parts, too_big, bad;	/* whole parts; over the bound; malformed or lying */
};

struct multipart {
	char delim[MULTIPART_BOUNDARY_MAX + 3];	/* "--" BOUNDARY */
	size_t delim_len;
	enum { MP_SEEK, MP_LINE, MP_HEADERS, MP_BODY } state;
	uint8_t *buf;			/* what is not consumed yet */
	size_t len, cap, max;		/* max: the largest part taken */
	size_t scanned;			/* BODY: bytes already searched for the delimiter */
	long long want;			/* BODY: its Content-Length, or -1 */
	struct multipart_stats stats;
};

/* From the response's Content-Type: false (and nothing allocated) when it is
 * not multipart/x-mixed-replace with a boundary of 1 to 70 characters. */
bool multipart_is_stream(const char *content_type);
bool multipart_init(struct multipart *m, const char *content_type, size_t max);
void multipart_free(struct multipart *m);
/* Feeds bytes of the body; part() gets each whole part (valid until it returns). */
void multipart_feed(struct multipart *m, const uint8_t *p, size_t n,
		    void (*part)(void *ctx, const uint8_t *data, size_t len), void *ctx);

#endif
