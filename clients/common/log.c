#include "log.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

enum log_level log_threshold = LOG_INFO;
const char *log_ident = "intercom";

/* systemd sets JOURNAL_STREAM to the device and inode of the stream it
 * connected to stderr: when stderr is still that stream, lines carry a
 * syslog priority (sd-daemon(3)'s "<3>") and no time (the journal has one),
 * so that `journalctl -p err` finds the errors. Anywhere else, readable text. */
static bool to_journal(void)
{
	static int known = -1;
	const char *js;
	unsigned long long dev, ino;
	struct stat st;

	if (known < 0) {
		js = getenv("JOURNAL_STREAM");
		known = js && sscanf(js, "%llu:%llu", &dev, &ino) == 2 && fstat(STDERR_FILENO, &st) == 0 &&
			(unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
	}
	return known;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	static const char *const names[] = { "error", "warning", "info", "debug" };
	static const int priorities[] = { 3, 4, 6, 7 };	/* LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG */
	struct timespec ts;
	struct tm tm;
	char when[32];
	va_list ap;

	if (level > log_threshold)
		return;
	if (to_journal()) {
		fprintf(stderr, "<%d>%s%s", priorities[level], level <= LOG_WARN ? names[level] : "", level <= LOG_WARN ? ": " : "");
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
		fputc('\n', stderr);
		return;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	fprintf(stderr, "%s.%03ldZ %s %s: ", when, ts.tv_nsec / 1000000, log_ident, names[level]);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void conf_error(const char *fmt, ...)
{
	va_list ap;

	if (to_journal())
		fputs("<3>", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
}
