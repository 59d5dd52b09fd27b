/*
 * The daemons' command line, one parser for the base unit and the dashboard:
 *   NAME -c FILE [-v]     run
 *   NAME -c FILE --check  check the configuration and exit
 *   NAME -h | --help      usage on stdout, exit 0
 *   NAME --version        "NAME VERSION" on stdout, exit 0
 * The agents take the same, with --check before or after -c. Subcommands
 * (genkey, gentoken, hash-password) are each program's own.
 */
#ifndef CMDLINE_H
#define CMDLINE_H

#include <stdbool.h>
#include <stdio.h>

struct daemon_args {
	const char *config;
	bool check, verbose;
};

/* Returns -1 when the program should go on, else its exit status (0 after
 * --help; 2 for a bad command line, with usage on stderr). */
int daemon_args_parse(struct daemon_args *a, int argc, char **argv, const char *name,
		      void (*usage)(FILE *, const char *name));

/* The project's version (the VERSION file), for --version, Home Assistant's
 * device block and the dashboard's /healthz. */
extern const char intercom_version[];
/* Prints 32 bytes from the kernel's CSPRNG as 64 hex digits (a device key, a
 * bearer token). The exit status. */
int print_random_key(const char *name);

#endif
