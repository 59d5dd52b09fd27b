#include "idindex.h"
#include "util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int id_index_init(struct id_index *x, int capacity)
{
	uint32_t size = 16;
	int *slot;

	while (size < 2u * (uint32_t)capacity)
		size <<= 1;
	if (!(slot = malloc(size * sizeof(*slot))))
		return -ENOMEM;
	memset(slot, 0xff, size * sizeof(*slot));
	free(x->slot);
	x->slot = slot;
	x->mask = size - 1;
	return 0;
}

void id_index_free(struct id_index *x)
{
	free(x->slot);
	x->slot = NULL;
	x->mask = 0;
}

void id_index_add(struct id_index *x, const char *id, int k)
{
	uint32_t i = hash_id(id) & x->mask;

	while (x->slot[i] >= 0)
		i = (i + 1) & x->mask;
	x->slot[i] = k;
}

int id_index_find(const struct id_index *x, const char *id, id_of_fn id_of, const void *items)
{
	if (!x->slot)
		return -1;
	for (uint32_t i = hash_id(id) & x->mask;; i = (i + 1) & x->mask) {
		int k = x->slot[i];
		if (k < 0 || !strcmp(id_of(items, k), id))
			return k;
	}
}
