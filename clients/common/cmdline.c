#include "cmdline.h"
#include "util.h"

#include <errno.h>
#include <string.h>

int daemon_args_parse(struct daemon_args *a, int argc, char **argv, const char *name,
		      void (*usage)(FILE *, const char *name))
{
	*a = (struct daemon_args){ 0 };
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-c") && i + 1 < argc) {
			a->config = argv[++i];
		} else if (!strcmp(argv[i], "--check")) {
			a->check = true;
		} else if (!strcmp(argv[i], "-v")) {
			a->verbose = true;
		} else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout, name);
			return 0;
		} else if (!strcmp(argv[i], "--version")) {
			printf("%s %s\n", name, intercom_version);
			return 0;
		} else {
			fprintf(stderr, "%s: unexpected argument '%s'\n", name, argv[i]);
			usage(stderr, name);
			return 2;
		}
	}
	if (!a->config) {
		usage(stderr, name);
		return 2;
	}
	return -1;
}

int print_random_key(const char *name)
{
	uint8_t key[32];
	char hex[65];

	if (random_bytes(key, sizeof(key)) < 0) {
		fprintf(stderr, "%s: no randomness: %s\n", name, strerror(errno));
		return 1;
	}
	key_to_hex(hex, key);
	printf("%s\n", hex);
	memset(key, 0, sizeof(key));
	return 0;
}
