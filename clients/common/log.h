/* Leveled logging to stderr, shared by every program. */
#ifndef LOG_H
#define LOG_H

enum log_level { LOG_ERR, LOG_WARN, LOG_INFO, LOG_DEBUG };

extern enum log_level log_threshold;
extern const char *log_ident;

void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* An error in a configuration file, as --check and a start print it: the
 * text alone (it names file and line) on stderr, with the error priority when
 * stderr is the journal (a unit's ExecStartPre), so journalctl -p err has it. */
void conf_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define log_err(...)   log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) do { if (log_threshold >= LOG_DEBUG) log_msg(LOG_DEBUG, __VA_ARGS__); } while (0)

#endif
