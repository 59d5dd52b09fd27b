/* Small POSIX helpers shared by the programs: clocks, randomness, keys, UDP. */
#ifndef UTIL_H
#define UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "clock.h"

void iso8601(char out[32], uint64_t unix_ms);	/* 2026-11-24T10:00:00Z */

/* Fills buf from the kernel's CSPRNG. 0 or -errno. */
int random_bytes(void *buf, size_t len);
uint64_t random_u64_nonzero(void);
/* Uniform in [lo, hi]; for jitter, not for keys. */
uint64_t random_between(uint64_t lo, uint64_t hi);

/* The value of one hex digit, or -1. */
int hex_digit(char c);

/* hex_len hex digits (exactly 2 * n, either case) -> n bytes; n bytes -> 2 * n
 * lowercase digits and a NUL. */
bool hex_decode(uint8_t *out, size_t n, const char *hex, size_t hex_len);
void hex_encode(char *out, const uint8_t *b, size_t n);

/* 64 hex digits <-> 32-byte key. */
bool key_from_hex(uint8_t key[32], const char *hex);
void key_to_hex(char out[65], const uint8_t key[32]);

/* FNV-1a of a NUL-terminated id: the device indexes of both programs. */
uint32_t hash_id(const char *s);

/* "host:port", "[v6]:port" or ":port" (any address). 0 or -errno / EAI error as -EINVAL. */
int addr_parse(struct sockaddr_storage *ss, socklen_t *len, const char *text, bool passive);
/* Every address "host:port" names, in the resolver's order, without repeats
 * (at most max). The count, or -EINVAL. */
int addr_parse_all(struct sockaddr_storage *ss, socklen_t *len, int max, const char *text, bool passive);
/* What a listener binds: the first IPv4 address in ss[0] and the first IPv6
 * one in ss[1] (ss_family AF_UNSPEC where there is none), so "localhost:P"
 * listens on both loopbacks and ":P" on every address of both families.
 * The number of addresses set, or -EINVAL. */
int addr_listen_set(struct sockaddr_storage ss[2], socklen_t len[2], const char *text);
/* bind(), with IPV6_V6ONLY on an IPv6 socket. 0 or -errno. */
int addr_bind(int fd, const struct sockaddr_storage *ss, socklen_t len);
void addr_format(char *out, size_t cap, const struct sockaddr *sa);
bool addr_equal(const struct sockaddr_storage *a, const struct sockaddr_storage *b);

/* A non-blocking UDP socket; bound when bind_to is set; SO_RCVBUF raised to
 * rcvbuf when nonzero (the kernel may cap it; *got says what it gave). */
int udp_open(int *fd, int family, const struct sockaddr_storage *bind_to, socklen_t bind_len,
	     int rcvbuf, int *got);

/* A topic prefix: one or more '/'-separated levels of A-Z a-z 0-9 _ -, no
 * wildcards, at most PREFIX_MAX bytes. */
#define PREFIX_MAX 128
bool prefix_valid(const char *p);

#endif
