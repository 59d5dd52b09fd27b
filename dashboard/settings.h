/*
 * The dashboard's configuration (docs/dashboard.md lists every key).
 */
#ifndef DASH_SETTINGS_H
#define DASH_SETTINGS_H

#include "conf.h"
#include "mqttconf.h"
#include "parse.h"
#include "util.h"

#include <stdbool.h>

#define DASH_USERS_MAX 16
#define DASH_TOKENS_MAX 8
#define DASH_NAMES_MAX 256
#define USER_MAX 32
#define HASH_MAX 160
#define TOKEN_MAX 128
#define NAME_MAX_BYTES 96

struct dash_user {
	char name[USER_MAX + 1];
	char hash[HASH_MAX + 1];	/* pbkdf2-sha256$ITER$SALT$HASH, see auth.h */
};

struct dash_name {
	char id[DEVICE_ID_MAX + 1];
	char name[NAME_MAX_BYTES + 1];	/* shown instead of the id; any text */
};

struct dash_config {
	char listen[128];
	char static_dir[512];
	char tls_cert[512], tls_key[512];	/* HTTPS when both are set */
	char prefix[PREFIX_MAX + 1];
	int session_ttl;		/* seconds */
	int set_timeout_ms;		/* how long POST .../set waits for the result */
	int history;			/* points kept per sensor */
	int login_attempts;		/* failed logins per address per login_window */
	int login_window;		/* seconds */
	int max_connections;
	int max_connections_per_address;	/* one host cannot take them all */
	int idle_timeout;		/* seconds a connection may send or read nothing */
	int log_level;

	char recordings[512];		/* the recordings database; empty: nothing is recorded */
	int recordings_max_mb;		/* their total size, oldest deleted first */
	int recordings_max_days;	/* their age */
	int recording_pre_s, recording_post_s;	/* kept before the motion starts and after it ends */
	int recording_max_s;		/* one clip at most; longer motion goes on in the next */

	struct mqtt_conf mqtt;		/* the broker (clients/common/mqttconf.h) */

	struct dash_user users[DASH_USERS_MAX];
	int n_users;
	char tokens[DASH_TOKENS_MAX][TOKEN_MAX + 1];
	int n_tokens;
	struct dash_name names[DASH_NAMES_MAX];
	int n_names;
};

void dash_config_init(struct dash_config *c);
bool dash_config_line(void *ctx, const struct conf_line *l, char *err, size_t errlen);
/* Loads path and checks what only the whole file can tell. Errors go to stderr. */
bool dash_config_load(struct dash_config *c, const char *path);

#endif
