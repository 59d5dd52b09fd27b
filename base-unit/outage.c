#include "outage.h"

#include <stdlib.h>
#include <string.h>

void outage_init(struct outage *o, int cap)
{
	memset(o, 0, sizeof(*o));
	o->cap = cap;
}

void outage_free(struct outage *o)
{
	while (o->len)
		outage_pop(o, false);
	free(o->e);
	o->e = NULL;
}

void outage_keep(struct outage *o, const char *topic, char *payload)
{
	struct outage_entry *e;

	if (o->cap == 0 || (!o->e && !(o->e = calloc((size_t)o->cap, sizeof(*o->e))))) {
		o->dropped++;
		free(payload);
		return;
	}
	if (o->len == o->cap) {		/* full: the oldest goes */
		outage_pop(o, false);
		o->dropped++;
	}
	e = &o->e[(o->head + o->len) % o->cap];
	e->topic = strdup(topic);
	e->payload = payload;
	if (!e->topic) {
		free(payload);
		o->dropped++;
		return;
	}
	o->len++;
}

bool outage_peek(const struct outage *o, const char **topic, const char **payload)
{
	if (o->len == 0)
		return false;
	*topic = o->e[o->head].topic;
	*payload = o->e[o->head].payload;
	return true;
}

void outage_pop(struct outage *o, bool delivered)
{
	struct outage_entry *e = &o->e[o->head];

	free(e->topic);
	free(e->payload);
	o->head = (o->head + 1) % o->cap;
	o->len--;
	o->delivered += delivered;
}
