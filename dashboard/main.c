/*
 * dashboard: the control web UI and HTTP API. An MQTT client of the private
 * broker like any other (docs/dashboard.md).
 */
#include "auth.h"
#include "broker.h"
#include "cmdline.h"
#include "settings.h"
#include "http.h"
#include "recorder.h"
#include "log.h"
#include "service.h"
#include "store.h"
#include "clock.h"

#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop, hup;

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		hup = 1;
	else
		stop = 1;
}

/* SIGHUP: logins, tokens and display names at once; the rest of the file
 * (its sockets, TLS, the broker session, limits) at the next restart, and
 * the log says which key changed. A file with errors changes nothing. */
static void reload(const char *path, bool verbose, struct dash_config *c, struct store *store, struct http *http)
{
	static struct dash_config n;	/* large: not on the stack */
	int ended;

	service_reloading(now_ms() * 1000);
	log_info("SIGHUP: reading %s again", path);
	dash_config_init(&n);
	if (!dash_config_load(&n, path)) {
		log_err("reload: %s has errors (above); still running with the configuration as it was", path);
		service_ready("serving %s", c->listen);
		return;
	}
#define DIFF(cond, key) \
	if (cond) \
		log_warn("reload: '%s' changed: it takes effect at the next restart", key)
	DIFF(strcmp(c->listen, n.listen), "listen");
	DIFF(strcmp(c->static_dir, n.static_dir), "static_dir");
	DIFF(strcmp(c->tls_cert, n.tls_cert) || strcmp(c->tls_key, n.tls_key), "tls_cert/tls_key");
	DIFF(strcmp(c->prefix, n.prefix), "prefix");
	DIFF(c->session_ttl != n.session_ttl, "session_ttl");
	DIFF(c->set_timeout_ms != n.set_timeout_ms, "set_timeout_ms");
	DIFF(c->history != n.history, "history");
	DIFF(c->login_attempts != n.login_attempts || c->login_window != n.login_window, "login_attempts/login_window");
	DIFF(c->max_connections != n.max_connections || c->max_connections_per_address != n.max_connections_per_address ||
	     c->idle_timeout != n.idle_timeout, "max_connections/max_connections_per_address/idle_timeout");
	DIFF(memcmp(&c->mqtt, &n.mqtt, sizeof(c->mqtt)), "mqtt_*");
	DIFF(strcmp(c->recordings, n.recordings) || c->recordings_max_mb != n.recordings_max_mb ||
	     c->recordings_max_days != n.recordings_max_days || c->recording_pre_s != n.recording_pre_s ||
	     c->recording_post_s != n.recording_post_s || c->recording_max_s != n.recording_max_s,
	     "recordings/recordings_max_*/recording_*");
#undef DIFF
	ended = auth_set_credentials(http_auth(http), &n);
	store_set_names(store, c, &n);
	log_threshold = verbose ? LOG_DEBUG : (enum log_level)n.log_level;
	log_info("reloaded %s: %d user%s, %d token%s, %d name%s; %d session%s ended (user gone or password changed)", path,
		 n.n_users, n.n_users == 1 ? "" : "s", n.n_tokens, n.n_tokens == 1 ? "" : "s", n.n_names,
		 n.n_names == 1 ? "" : "s", ended, ended == 1 ? "" : "s");
	service_ready("serving %s", c->listen);
}

static int run(const char *path, bool verbose)
{
	static struct dash_config c;	/* large: not on the stack */
	struct sigaction sa = { .sa_handler = on_signal };
	struct store *store;
	struct broker *broker = NULL;
	struct http *http = NULL;
	struct recorder *rec = NULL;
	sigset_t mask, old;
	int rc = 1;

	dash_config_init(&c);
	if (!dash_config_load(&c, path))
		return 1;
	log_threshold = verbose ? LOG_DEBUG : (enum log_level)c.log_level;
	/* A thread per connection would otherwise get glibc malloc arenas of
	 * their own (up to 8 per core), each keeping freed memory resident. */
	mallopt(M_ARENA_MAX, 2);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* Only this thread takes SIGINT/SIGTERM/SIGHUP: block them while the others start. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &mask, &old);
	if (!(store = store_new(&c)) || (c.recordings[0] && !(rec = recorder_new(&c))) ||
	    !(broker = broker_start(&c, store, rec)) || !(http = http_start(&c, store, broker, rec))) {
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		goto out;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rec)
		recorder_on_change(rec, store_recording_changed, store);
	rc = 0;
	service_ready("serving %s", c.listen);
	/* The watchdog vouches for the store: its lock is taken by every request
	 * and every message, so a thread stuck holding it stops the pings. */
	while (!stop) {
		uint64_t now = now_ms(), wait = service_watchdog_next(now);

		if (hup) {
			hup = 0;
			reload(path, verbose, &c, store, http);
			continue;
		}
		struct timespec ts = { .tv_sec = (time_t)(wait / 1000), .tv_nsec = (long)(wait % 1000) * 1000000 };

		if (wait == UINT64_MAX) {
			pause();	/* no watchdog: until a signal */
		} else if (wait == 0) {
			store_ping(store);
			service_watchdog(now);
		} else {
			nanosleep(&ts, NULL);	/* a signal ends it early */
		}
	}
	log_info("stopping");
	service_stopping();
out:
	if (store)
		store_stop(store);
	http_stop(http);
	broker_stop(broker);
	recorder_free(rec);	/* after the broker: no message comes any more */
	store_free(store);
	return rc;
}

/* Reads a password from the terminal without echo, or the first line of stdin. */
static bool read_password(char *out, size_t cap)
{
	struct termios t, quiet;
	bool tty = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &t) == 0;
	bool ok;

	if (tty) {
		fprintf(stderr, "password: ");
		quiet = t;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
	}
	ok = fgets(out, (int)cap, stdin) != NULL;
	if (tty) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &t);
		fprintf(stderr, "\n");
	}
	if (!ok)
		return false;
	out[strcspn(out, "\r\n")] = '\0';
	return out[0] != '\0';
}

static int cmd_hash_password(void)
{
	char password[256], hash[HASH_MAX + 1];

	if (!read_password(password, sizeof(password))) {
		fprintf(stderr, "dashboard: no password given (type one, or pipe it on stdin)\n");
		return 1;
	}
	if (auth_hash_password(password, AUTH_ITERATIONS, hash, sizeof(hash)) < 0) {
		fprintf(stderr, "dashboard: hashing failed\n");
		return 1;
	}
	memset(password, 0, sizeof(password));
	printf("%s\n", hash);
	return 0;
}

static void usage(FILE *f, const char *name)
{
	(void)name;
	fprintf(f, "usage: dashboard -c FILE [-v]      serve the web UI and HTTP API\n"
		   "       dashboard -c FILE --check   check a config and exit\n"
		   "       dashboard hash-password     print a hash for a 'user' line (password on stdin)\n"
		   "       dashboard gentoken          print a new bearer token for a 'token' line\n"
		   "       dashboard --version         print the version\n");
}

int main(int argc, char **argv)
{
	struct daemon_args a;
	int rc;

	log_ident = "dashboard";
	if (argc == 2 && !strcmp(argv[1], "hash-password"))
		return cmd_hash_password();
	if (argc == 2 && !strcmp(argv[1], "gentoken"))
		return print_random_key("dashboard");
	if ((rc = daemon_args_parse(&a, argc, argv, "dashboard", usage)) >= 0)
		return rc;
	if (a.check) {
		static struct dash_config c;
		dash_config_init(&c);
		if (!dash_config_load(&c, a.config))
			return 1;
		printf("%s: ok (%d users, %d tokens, broker %s:%d)\n", a.config, c.n_users, c.n_tokens, c.mqtt.host,
		       c.mqtt.port);
		return 0;
	}
	return run(a.config, a.verbose);
}
