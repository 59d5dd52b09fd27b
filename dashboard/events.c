#include "events.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void event_log_free(struct event_log *l)
{
	for (int i = 0; i < EVENTS_MAX; i++) {
		free(l->e[i].text);
		l->e[i].text = NULL;
	}
}

bool event_log_push(struct event_log *l, const char *type, const char *json)
{
	size_t need = strlen(type) + strlen(json) + 32;
	struct event *e = &l->e[(l->seq + 1) % EVENTS_MAX];
	char *text = malloc(need);

	if (!text)
		return false;
	free(e->text);
	e->text = text;
	e->len = (size_t)snprintf(e->text, need, "event: %s\ndata: %s\n\n", type, json);
	e->seq = ++l->seq;
	return true;
}

char *event_log_since(const struct event_log *l, uint64_t since, size_t *len, bool *behind)
{
	size_t total = 0, off = 0;
	char *text;

	*behind = since < l->seq && l->seq - since > EVENTS_MAX - 1;
	if (*behind || since >= l->seq)
		return NULL;
	for (uint64_t q = since + 1; q <= l->seq; q++)
		total += l->e[q % EVENTS_MAX].len;
	if (!(text = malloc(total + 1)))
		return NULL;
	for (uint64_t q = since + 1; q <= l->seq; q++) {
		const struct event *e = &l->e[q % EVENTS_MAX];
		memcpy(text + off, e->text, e->len);
		off += e->len;
	}
	text[off] = '\0';
	*len = off;
	return text;
}
