/*
 * Between camera.c (the frames, the raw TCP port) and camera_pull.c (the
 * pulled cameras): not for anyone else.
 */
#ifndef BASE_CAMERA_INT_H
#define BASE_CAMERA_INT_H

#include "camera.h"

int camera_tcp_socket(int family);	/* non-blocking, close-on-exec */
void camera_pull_free(struct camera *c);
int camera_pull_pollfds(struct camera *c, struct pollfd *p, int max);
void camera_pull_handle(struct camera *c, struct jpeg_checker *jc, const struct pollfd *p, int n, uint64_t now,
			bool *new_frame, bool *availability);
void camera_pull_tick(struct camera *c, struct jpeg_checker *jc, uint64_t now, bool *new_frame, bool *availability);
uint64_t camera_pull_next_ms(const struct camera *c, uint64_t now);

#endif
