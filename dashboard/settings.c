#include "settings.h"
#include "log.h"

#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The UI's files: where an installed dashboard keeps them, beside its
 * program (PREFIX/bin/../share/intercom/dashboard, whatever PREFIX was), or
 * else the source tree this program was built from (make's build/). */
static void default_static_dir(char *out, size_t cap)
{
	char exe[PATH_MAX], dir[PATH_MAX + 64], real[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *slash;

	if (n > 0) {
		exe[n] = '\0';
		if ((slash = strrchr(exe, '/')))
			*slash = '\0';
		snprintf(dir, sizeof(dir), "%s/../share/intercom/dashboard/index.html", exe);
		if (access(dir, R_OK) == 0 && realpath(dir, real) && (slash = strrchr(real, '/')) &&
		    (size_t)(slash - real) < cap) {
			memcpy(out, real, (size_t)(slash - real));
			out[slash - real] = '\0';
			return;
		}
	}
	snprintf(out, cap, "%s", DASHBOARD_STATIC_DIR);
}

void dash_config_init(struct dash_config *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->listen, sizeof(c->listen), "127.0.0.1:8080");
	default_static_dir(c->static_dir, sizeof(c->static_dir));
	snprintf(c->prefix, sizeof(c->prefix), "intercom");
	c->session_ttl = 12 * 3600;
	c->set_timeout_ms = 5000;
	c->history = 120;
	c->login_attempts = 5;
	c->login_window = 60;
	c->max_connections = 512;
	c->max_connections_per_address = 32;
	c->idle_timeout = 20;
	c->log_level = LOG_INFO;
	c->recordings_max_mb = 1024;
	c->recordings_max_days = 30;
	c->recording_pre_s = 5;
	c->recording_post_s = 5;
	c->recording_max_s = 600;
	mqtt_conf_init(&c->mqtt, true);
}

#define STR(field) offsetof(struct dash_config, field), sizeof(((struct dash_config *)0)->field)
static const struct { const char *key; size_t off, cap; } strings[] = {
	{ "listen", STR(listen) },         { "static_dir", STR(static_dir) },
	{ "tls_cert", STR(tls_cert) },     { "tls_key", STR(tls_key) },
	{ "recordings", STR(recordings) },
};
#define INT(field) offsetof(struct dash_config, field)
static const struct { const char *key; size_t off; long lo, hi; } ints[] = {
	{ "session_ttl", INT(session_ttl), 1, 30L * 86400 },
	{ "set_timeout_ms", INT(set_timeout_ms), 100, 60000 },
	{ "history", INT(history), 2, 10000 },
	{ "login_attempts", INT(login_attempts), 1, 1000 },
	{ "login_window", INT(login_window), 1, 86400 },
	{ "max_connections", INT(max_connections), 4, 4096 },
	{ "max_connections_per_address", INT(max_connections_per_address), 1, 4096 },
	{ "idle_timeout", INT(idle_timeout), 2, 3600 },
	{ "recordings_max_mb", INT(recordings_max_mb), 1, 1024 * 1024 },
	{ "recordings_max_days", INT(recordings_max_days), 1, 3650 },
	{ "recording_pre_s", INT(recording_pre_s), 0, 30 },
	{ "recording_post_s", INT(recording_post_s), 0, 120 },
	{ "recording_max_s", INT(recording_max_s), 10, 3600 },
};

static bool fits(const char *s, size_t cap, const struct conf_line *l, char *err, size_t errlen)
{
	if (strlen(s) < cap)
		return true;
	snprintf(err, errlen, "'%s' value is longer than %zu bytes", l->argv[0], cap - 1);
	return false;
}

bool dash_config_line(void *ctx, const struct conf_line *l, char *err, size_t errlen)
{
	struct dash_config *c = ctx;
	const char *k = l->argv[0];
	long v;
	int mqtt = mqtt_conf_line(&c->mqtt, l, err, errlen);

	if (mqtt >= 0)
		return mqtt;
	for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++)
		if (!strcmp(k, strings[i].key)) {
			if (!conf_want_args(l, 1, 1, "VALUE", err, errlen) ||
			    !fits(l->argv[1], strings[i].cap, l, err, errlen))
				return false;
			memcpy((char *)c + strings[i].off, l->argv[1], strlen(l->argv[1]) + 1);
			return true;
		}
	for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++)
		if (!strcmp(k, ints[i].key)) {
			if (!conf_want_args(l, 1, 1, "NUMBER", err, errlen) ||
			    !conf_long(l, 1, ints[i].lo, ints[i].hi, &v, err, errlen))
				return false;
			*(int *)(void *)((char *)c + ints[i].off) = (int)v;
			return true;
		}
	if (!strcmp(k, "prefix"))
		return conf_prefix(l, c->prefix, sizeof(c->prefix), err, errlen);
	if (!strcmp(k, "user")) {
		struct dash_user *u;
		if (!conf_want_args(l, 2, 2, "NAME HASH (make the hash with: dashboard hash-password)", err, errlen))
			return false;
		if (c->n_users == DASH_USERS_MAX) {
			snprintf(err, errlen, "at most %d 'user' lines", DASH_USERS_MAX);
			return false;
		}
		if (strncmp(l->argv[2], "pbkdf2-sha256$", 14)) {
			snprintf(err, errlen, "'user' expects a password hash made by 'dashboard hash-password', "
					      "not a password");
			return false;
		}
		u = &c->users[c->n_users];
		if (!fits(l->argv[1], sizeof(u->name), l, err, errlen) || !fits(l->argv[2], sizeof(u->hash), l, err, errlen))
			return false;
		for (int i = 0; i < c->n_users; i++)
			if (!strcmp(c->users[i].name, l->argv[1])) {
				snprintf(err, errlen, "user '%s' is already defined", l->argv[1]);
				return false;
			}
		snprintf(u->name, sizeof(u->name), "%s", l->argv[1]);
		snprintf(u->hash, sizeof(u->hash), "%s", l->argv[2]);
		c->n_users++;
		return true;
	}
	if (!strcmp(k, "token") || !strcmp(k, "token_file")) {
		char *t;
		if (!conf_want_args(l, 1, 1, k[5] ? "PATH" : "TOKEN", err, errlen))
			return false;
		if (c->n_tokens == DASH_TOKENS_MAX) {
			snprintf(err, errlen, "at most %d tokens", DASH_TOKENS_MAX);
			return false;
		}
		t = c->tokens[c->n_tokens];
		if (k[5]) {
			if (!conf_read_secret(l, 1, t, TOKEN_MAX + 1, err, errlen))
				return false;
		} else {
			if (!fits(l->argv[1], TOKEN_MAX + 1, l, err, errlen))
				return false;
			snprintf(t, TOKEN_MAX + 1, "%s", l->argv[1]);
		}
		if (strlen(t) < 32) {
			snprintf(err, errlen, "'%s': a token needs at least 32 characters (make one with: dashboard gentoken)", k);
			return false;
		}
		c->n_tokens++;
		return true;
	}
	if (!strcmp(k, "name")) {
		struct dash_name *n;
		if (!conf_want_args(l, 2, 2, "DEVICE_ID \"Display name\"", err, errlen))
			return false;
		if (!device_id_valid(l->argv[1], strlen(l->argv[1]))) {
			snprintf(err, errlen, "'name' expects a device id (1 to 32 of a-z 0-9 _ -), got '%s'", l->argv[1]);
			return false;
		}
		if (c->n_names == DASH_NAMES_MAX) {
			snprintf(err, errlen, "at most %d 'name' lines", DASH_NAMES_MAX);
			return false;
		}
		n = &c->names[c->n_names];
		if (!fits(l->argv[2], sizeof(n->name), l, err, errlen))
			return false;
		snprintf(n->id, sizeof(n->id), "%s", l->argv[1]);
		snprintf(n->name, sizeof(n->name), "%s", l->argv[2]);
		c->n_names++;
		return true;
	}
	if (!strcmp(k, "log_level"))
		return conf_log_level(l, &c->log_level, err, errlen);
	snprintf(err, errlen, "unknown key '%s'", k);
	return false;
}

bool dash_config_load(struct dash_config *c, const char *path)
{
	int rc = conf_load(path, dash_config_line, c);
	bool ok = rc == 0;

	if (rc < 0)
		return false;
	ok = mqtt_conf_check(&c->mqtt, path) && ok;	/* each checked: every error named at once */
	ok = conf_check_listen(path, c->listen) && ok;
	if (!!c->tls_cert[0] != !!c->tls_key[0]) {
		conf_error("%s: 'tls_cert' and 'tls_key' go together\n", path);
		ok = false;
	}
	if (c->n_users == 0 && c->n_tokens == 0) {
		conf_error("%s: no 'user' and no 'token': nobody could log in\n", path);
		ok = false;
	}
	return ok;
}
