#include "test.h"

#include <stdio.h>
#include <string.h>

int test_failures;

int test_run(const struct test_case *const *suites, size_t n, int argc, char **argv)
{
	int passed = 0, failed = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);	/* a sanitizer abort loses nothing printed */
	for (size_t i = 0; i < n; i++)
	for (const struct test_case *t = suites[i]; t->name; t++) {
		int before = test_failures;

		if (argc > 1 && !strstr(t->name, argv[1]))
			continue;
		t->fn();
		if (test_failures == before) {
			passed++;
			printf("ok   %s\n", t->name);
		} else {
			failed++;
			printf("FAIL %s\n", t->name);
		}
	}
	printf("unit: %d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
