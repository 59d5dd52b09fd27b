/*
 * Connections that wait (an event stream between events, an MJPEG viewer
 * between frames, a set for its result) cost no thread: each is suspended in
 * libmicrohttpd and resumed when what it waits for arrives (park_wake(), from
 * the store) or when its deadline passes (a keepalive, a still camera's
 * repeat, a set's timeout). One thread resumes them all; the daemon's own few
 * threads then write to each.
 *
 * Locks: the park lock is taken inside the store's lock (park_wake runs with
 * it held), never the other way round, and no lock of ours is held while
 * libmicrohttpd is called (suspend, resume), so none can close a cycle with
 * libmicrohttpd's own.
 */
#include "http_int.h"
#include "util.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static void unlink_parked(struct park *p, struct parked *e)
{
	for (struct parked **q = &p->list; *q; q = &(*q)->next)
		if (*q == e) {
			*q = e->next;
			break;
		}
	e->next = NULL;
	e->in_list = false;
}

/* Resumes, outside the lock, what the lock holder took off the list. */
static void resume_all(struct parked *e)
{
	while (e) {
		struct parked *next = e->next;
		struct MHD_Connection *c = e->conn;

		e->next = NULL;
		MHD_resume_connection(c);
		e = next;
	}
}

static void *resumer(void *arg)
{
	struct park *p = arg;

	pthread_mutex_lock(&p->lock);
	for (;;) {
		uint64_t now = now_ms(), next = now + 1000;
		struct parked *go = p->woken;

		p->woken = NULL;
		for (struct parked *e = p->list, *n; e; e = n) {
			n = e->next;
			if (p->stopping || e->deadline <= now) {
				unlink_parked(p, e);
				e->next = go;
				go = e;
			} else if (e->deadline < next) {
				next = e->deadline;
			}
		}
		if (go) {
			pthread_mutex_unlock(&p->lock);
			resume_all(go);
			pthread_mutex_lock(&p->lock);
			continue;
		}
		if (p->stopping)
			break;
		p->next_due = next;
		{
			struct timespec ts = { .tv_sec = (time_t)(next / 1000), .tv_nsec = (long)(next % 1000) * 1000000L };

			pthread_cond_timedwait(&p->cv, &p->lock, &ts);
		}
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

int park_init(struct park *p)
{
	memset(p, 0, sizeof(*p));
	pthread_mutex_init(&p->lock, NULL);
	cond_init_monotonic(&p->cv);
	p->lock_made = true;
	if (pthread_create(&p->thread, NULL, resumer, p) != 0)
		return -1;
	p->running = true;
	return 0;
}

void park_stop(struct park *p)
{
	if (!p->running)
		return;
	pthread_mutex_lock(&p->lock);
	p->stopping = true;
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->lock);
	pthread_join(p->thread, NULL);
	p->running = false;
}

void park_free(struct park *p)
{
	if (!p->lock_made)
		return;
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->lock);
	p->lock_made = false;
}

uint64_t park_gen(struct park *p)
{
	return atomic_load(&p->gen);
}

bool park(struct park *p, struct parked *e, struct MHD_Connection *conn, enum park_kind kind, const char *key,
	  uint64_t deadline, uint64_t gen)
{
	bool go;

	pthread_mutex_lock(&p->lock);
	/* Something was woken since the caller looked: look again instead. */
	go = !p->stopping && p->gen == gen && !e->in_list;
	pthread_mutex_unlock(&p->lock);
	if (!go)
		return false;
	MHD_suspend_connection(conn);
	pthread_mutex_lock(&p->lock);
	e->conn = conn;
	e->kind = kind;
	snprintf(e->key, sizeof(e->key), "%s", key ? key : "");
	e->deadline = deadline;
	if (p->stopping) {
		/* the resumer may be gone already: resumed here */
		pthread_mutex_unlock(&p->lock);
		MHD_resume_connection(conn);
		return true;
	}
	if (p->gen != gen) {
		/* woken between the look and the suspension: resumed at once */
		e->next = p->woken;
		p->woken = e;
		pthread_cond_signal(&p->cv);
	} else {
		e->next = p->list;
		p->list = e;
		e->in_list = true;
		if (deadline < p->next_due)
			pthread_cond_signal(&p->cv);
	}
	pthread_mutex_unlock(&p->lock);
	return true;
}

void park_wake(struct park *p, enum park_kind kind, const char *key)
{
	bool any = false;

	pthread_mutex_lock(&p->lock);
	p->gen++;
	for (struct parked *e = p->list, *n; e; e = n) {
		n = e->next;
		if (kind == PARK_ALL || (e->kind == kind && (!key || !strcmp(e->key, key)))) {
			unlink_parked(p, e);
			e->next = p->woken;
			p->woken = e;
			any = true;
		}
	}
	if (any)
		pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->lock);
}
