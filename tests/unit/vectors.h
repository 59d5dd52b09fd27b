#ifndef VECTORS_H
#define VECTORS_H
#include <stddef.h>
#include <stdint.h>
/* Looks up a vector in tests/vectors/intercom-v1.txt; returns its length or -1. */
int vector_get(const char *name, uint8_t *out, size_t cap);
#endif
