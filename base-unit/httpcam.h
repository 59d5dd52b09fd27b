/*
 * A camera pulled over HTTP or HTTPS with libcurl, driven from the base
 * unit's own poll loop (curl's multi interface, socket and timer callbacks):
 * a snapshot URL (the ESP32-CAM's /capture: one JPEG per request, fetched
 * every interval) or an MJPEG stream (its :81/stream: multipart/x-mixed-
 * replace, kept open, at most one part taken per interval, reconnected with
 * backoff when it ends or stalls). Which one is told by the answer's
 * Content-Type. Credentials (Basic or Digest, whichever the camera asks for)
 * come from a file; certificates are checked against the system's CAs or a
 * configured one. Bounds: IC_FRAME_MAX bytes a frame, PULL_TIMEOUT_MS for a
 * frame to arrive.
 */
#ifndef BASE_HTTPCAM_H
#define BASE_HTTPCAM_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HTTPCAM_SOCKETS 4
#define HTTPCAM_MAX_BYTES_PER_S (16 << 20)	/* read no faster: a flood costs no more than a 1600x1200 stream at 60/s */

struct httpcam;

struct httpcam_stats {
	uint64_t skipped;		/* stream parts that came before their interval */
	uint64_t too_big, bad;		/* parts over the bound; malformed or lying parts */
};

/* URL (http:// or https://), credentials file ("user:password" on its first
 * line) and CA file may be NULL. NULL with a message in err. */
struct httpcam *httpcam_new(const char *url, int interval_ms, const char *auth_file, const char *cafile,
			    char *err, size_t errlen);
void httpcam_free(struct httpcam *h);	/* NULL-safe */

int httpcam_pollfds(struct httpcam *h, struct pollfd *p, int max);
/* What happened since the last call: a whole frame (valid until the next
 * call into h), or a failure with its reason. */
struct httpcam_event {
	const uint8_t *frame;
	size_t len;
	const char *failed;		/* the transfer ended badly: why */
	struct httpcam_stats counted;	/* what was refused or skipped since the last event */
};
void httpcam_handle(struct httpcam *h, const struct pollfd *p, int n, uint64_t now, struct httpcam_event *ev);
void httpcam_tick(struct httpcam *h, uint64_t now, struct httpcam_event *ev);
uint64_t httpcam_next_ms(const struct httpcam *h, uint64_t now);	/* UINT64_MAX: nothing due */
/* A frame the camera refused (not a sound JPEG): the next request waits for
 * the backoff, as after any failure. */
void httpcam_refused(struct httpcam *h, uint64_t now);

#endif
