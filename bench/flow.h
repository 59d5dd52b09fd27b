/*
 * Closed-loop load for the benchmarks: the counting subscriber (mqttbench
 * count) publishes how many messages it has received in a shared 8-byte file;
 * a sender (loadgen run, mqttbench publish) keeps at most WINDOW messages
 * between what it sent and what arrived. Set BENCH_FLOW_FILE (and, for a
 * sender, BENCH_FLOW_WINDOW) in the environment; without them nothing changes.
 */
#ifndef BENCH_FLOW_H
#define BENCH_FLOW_H

#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

/* The shared counter, or NULL when BENCH_FLOW_FILE is not set. truncate: start at 0. */
static inline long *flow_counter(int truncate)
{
	const char *path = getenv("BENCH_FLOW_FILE");
	long *p;
	int fd;

	if (!path)
		return NULL;
	fd = open(path, O_RDWR | O_CREAT | (truncate ? O_TRUNC : 0), 0600);
	if (fd < 0)
		return NULL;
	if (ftruncate(fd, sizeof(long)) < 0) {
		close(fd);
		return NULL;
	}
	p = mmap(NULL, sizeof(long), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	return p == MAP_FAILED ? NULL : p;
}

static inline long flow_window(void)
{
	const char *w = getenv("BENCH_FLOW_WINDOW");
	return w ? atol(w) : 0;
}

/* Waits until sent - received < window. Gives up on a counter that has not
 * moved for 2 s (messages lost: the rest goes open-loop). */
static inline void flow_wait(const long *counter, long window, long sent)
{
	long last = -1;
	struct timespec t0, now;

	if (!counter || window <= 0)
		return;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		long got = __atomic_load_n(counter, __ATOMIC_ACQUIRE);
		if (sent - got < window)
			return;
		if (got != last) {
			last = got;
			clock_gettime(CLOCK_MONOTONIC, &t0);
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - t0.tv_sec >= 2)
			return;
		usleep(20);
	}
}

#endif
