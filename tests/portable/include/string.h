/* The few <string.h> functions the intercom library uses, declared for a
 * freestanding cross-compile (tests/portable/check); on the ESP32 they come
 * from ESP-IDF's newlib. */
#ifndef PORTABLE_STRING_H
#define PORTABLE_STRING_H
#include <stddef.h>
void *memcpy(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
int strcmp(const char *a, const char *b);
size_t strlen(const char *s);
#endif
