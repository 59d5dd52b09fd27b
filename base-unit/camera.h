/*
 * A camera in the base unit: its latest checked frame and thumbnail, frames
 * arriving as intercom fragments, pulled from a legacy camera that serves
 * one JPEG per TCP connection or over HTTP (httpcam.h), and a raw TCP port that hands the newest frame
 * to whoever connects and closes (the old relay's `nc host port > frame.jpg`).
 */
#ifndef BASE_CAMERA_H
#define BASE_CAMERA_H

#include "frames.h"
#include "httpcam.h"
#include "motion.h"

#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#define CAMERA_CLIENTS_MAX  64		/* raw TCP clients at once, per camera */
#define CAMERA_CLIENT_MS    10000	/* a raw TCP client must take its frame within this */
#define PULL_TIMEOUT_MS     5000	/* a pulled frame must arrive within this */
#define PULL_BACKOFF_MAX_MS 30000

struct tcp_client {
	int fd;
	struct frame *f;
	size_t off;
	uint64_t deadline;
};

enum pull_state { PULL_WAIT, PULL_CONNECTING, PULL_READING };

struct camera_stats {
	uint64_t frames, incomplete, corrupt, stale, pulls_failed, too_big, clients;
	uint64_t unchecked;		/* replaced by a newer frame before anyone needed them */
	uint64_t skipped;		/* HTTP stream parts that came before their interval */
};

struct camera {
	struct reassembly ra;
	struct frame *latest;		/* NULL until the first good frame */
	struct frame *pending;		/* the newest intercom frame, not checked yet */
	uint8_t *thumb;
	size_t thumb_len;
	uint64_t last_publish;		/* when a frame last went to MQTT */
	uint64_t last_publish_frame;	/* at_ms of that frame */
	struct camera_stats *stats;	/* shared with the daemon's metrics */

	int listen_fd[2];		/* raw TCP port, IPv4 and IPv6, or -1 */
	struct tcp_client clients[CAMERA_CLIENTS_MAX];
	int n_clients;
	int polled;			/* entries the last camera_pollfds filled */

	bool pull;			/* a camera the base unit pulls frames from */
	struct httpcam *http;		/* ... over HTTP; else one JPEG per TCP connection */
	char pull_text[128];
	struct sockaddr_storage pull_addrs[4];	/* every address of its name */
	socklen_t pull_addr_lens[4];
	int n_pull_addrs, pull_cur;	/* the one tried now */
	int pull_interval_ms;
	enum pull_state pull_state;
	int pull_fd;
	uint8_t *pull_buf;
	size_t pull_len;
	uint64_t pull_next, pull_deadline, pull_backoff;
	bool pull_ok;			/* the last pull succeeded: the camera is online */
	bool pull_warned;		/* a failure was logged at warning level */

	struct motion *motion;		/* motion in its frames, or NULL */
	struct frame *motion_best;	/* the best frame of the current or last event */
	bool motion_news;		/* motion_ev started or ended since the caller looked */
	struct motion_event motion_ev;
};

struct camera *camera_new(struct camera_stats *stats);
void camera_free(struct camera *c);		/* NULL-safe */

/* An intercom fragment. True when it completed a frame, which waits unchecked
 * (camera_check) until something needs it: checking means decoding, which is
 * most of a camera's cost, and with no broker and no raw TCP client nothing
 * needs a frame (a newer one replaces it unchecked). */
bool camera_fragment(struct camera *c, const struct ic_fragment *f, uint64_t now);
/* Checks the waiting frame: a sound one becomes the latest (with its
 * thumbnail), a damaged one is counted and dropped. */
void camera_check(struct camera *c, struct jpeg_checker *jc);
/* Motion in this camera's frames (a copy of conf); false when out of memory. */
bool camera_motion_setup(struct camera *c, const struct motion_conf *conf);
/* With motion, the waiting intercom frame is checked when motion would look
 * at it (a frame is checked only when something needs it). */
void camera_motion_check(struct camera *c, struct jpeg_checker *jc, uint64_t now);
/* A whole JPEG from any source: checked, then stored as the latest. */
bool camera_offer(struct camera *c, struct jpeg_checker *jc, const uint8_t *jpeg, size_t len, uint64_t now);

/* The frame to publish now, if one is due: at most one per interval_ms,
 * never the same frame twice, checked first (only then: a frame nobody takes
 * is never decoded). Counts it as published; NULL when none is due. */
const struct frame *camera_to_publish(struct camera *c, struct jpeg_checker *jc, uint64_t now, int interval_ms);

int camera_listen(struct camera *c, const char *addr);		/* 0 or -errno */
int camera_pull_setup(struct camera *c, const char *addr, int interval_ms);	/* 0 or -EINVAL */
/* A camera at an http:// or https:// URL (httpcam_new's arguments). */
bool camera_http_setup(struct camera *c, const char *url, int interval_ms, const char *auth_file, const char *cafile,
		       char *err, size_t errlen);

/* Poll integration: fills up to max entries; camera_handle gets them back. */
int camera_pollfds(struct camera *c, struct pollfd *p, int max);
/* Handles the entries camera_pollfds filled. *new_frame: a pulled frame was
 * stored; *availability: the pull camera went online or offline. */
void camera_handle(struct camera *c, struct jpeg_checker *jc, const struct pollfd *p, int n, uint64_t now,
		   bool *new_frame, bool *availability);
/* Timers: reassembly expiry, slow TCP clients, pull schedule. Same outputs. */
void camera_tick(struct camera *c, struct jpeg_checker *jc, uint64_t now, bool *new_frame, bool *availability);
uint64_t camera_next_ms(const struct camera *c, uint64_t now);

#endif
