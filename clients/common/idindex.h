/*
 * An index from device ids to positions in the caller's array (open
 * addressing, FNV-1a, load at most 1/2): the base unit's device table and the
 * dashboard's store both find a device by id this way, never by scanning.
 * The index holds positions only; the caller's array holds the ids, and
 * id_index_find() reads them through id_of().
 */
#ifndef IDINDEX_H
#define IDINDEX_H

#include <stdbool.h>
#include <stdint.h>

struct id_index {
	int *slot;		/* a position, or -1 */
	uint32_t mask;
};

typedef const char *(*id_of_fn)(const void *items, int k);

/* Room for capacity entries. 0 or -ENOMEM (the old index is kept then). */
int id_index_init(struct id_index *x, int capacity);
void id_index_free(struct id_index *x);
/* Adds position k under id; the caller keeps within the capacity. */
void id_index_add(struct id_index *x, const char *id, int k);
/* The position of id, or -1. */
int id_index_find(const struct id_index *x, const char *id, id_of_fn id_of, const void *items);

#endif
