/* A tiny test harness: CHECK records a failure and goes on; the runner ends
 * with "N passed, N failed". */
#ifndef TEST_H
#define TEST_H

#include <stddef.h>
#include <stdio.h>

extern int test_failures;

#define CHECK(cond) do { \
	if (!(cond)) { \
		fprintf(stderr, "  %s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
		test_failures++; \
	} \
} while (0)

#define CHECK_EQ(a, b) do { \
	long long _a = (long long)(a), _b = (long long)(b); \
	if (_a != _b) { \
		fprintf(stderr, "  %s:%d: %s == %s: %lld != %lld\n", __FILE__, __LINE__, #a, #b, _a, _b); \
		test_failures++; \
	} \
} while (0)

struct test_case {
	const char *name;
	void (*fn)(void);
};

/* Runs every case of the suites (only those whose name contains argv[1],
 * when given) and prints "unit: N passed, N failed"; the exit status. */
int test_run(const struct test_case *const *suites, size_t n, int argc, char **argv);

#endif
