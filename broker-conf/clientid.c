/* A Mosquitto plugin: a client id belongs to the broker user it names.
 *
 * Without it any user of the broker can connect with the client id of the
 * base unit or the dashboard, and Mosquitto then closes the daemon's
 * connection and hands its session (its subscriptions and the sets queued for
 * it) to the newcomer. Mosquitto's ACL cannot say who may use which client id,
 * and use_username_as_clientid would allow each user one connection only.
 *
 * The rule: a client id that is the name of a user in the broker's password
 * file, or begins with that name followed by '-', belongs to that user (the
 * longest such name, so "base-b-1" is base-b's, not base's). Only its owner
 * may connect with it; ids that belong to nobody are free to every user.
 * The daemons' default client id is their user name, so they own theirs.
 *
 * Options (mosquitto.conf):
 *   plugin /path/to/intercom-clientid.so
 *   plugin_opt_password_file /path/to/passwd
 * The password file is read again whenever it changes (checked at each
 * CONNECT: one stat). The plugin only refuses or defers; the password check
 * itself stays Mosquitto's own (password_file). Written against the plugin
 * interface version 5 of Mosquitto 2.0 (Debian 12's 2.0.11, Debian 13's 2.0.21).
 */
#include <mosquitto.h>
#include <mosquitto_broker.h>
#include <mosquitto_plugin.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define USERS_MAX 4096
#define NAME_MAX_LEN 256

static mosquitto_plugin_id_t *plugin_id;
static char *password_file;
static char (*users)[NAME_MAX_LEN];
static int n_users;
static struct stat seen;	/* of the password file when it was last read */

/* Reads the user names (what comes before ':') of the password file. */
static void users_load(void)
{
	struct stat st;
	FILE *f;
	char line[1024];

	if (stat(password_file, &st) != 0) {
		mosquitto_log_printf(MOSQ_LOG_ERR, "intercom-clientid: cannot read %s: every client id stays free",
				     password_file);
		n_users = 0;
		memset(&seen, 0, sizeof(seen));
		return;
	}
	if (st.st_ino == seen.st_ino && st.st_size == seen.st_size && st.st_mtim.tv_sec == seen.st_mtim.tv_sec &&
	    st.st_mtim.tv_nsec == seen.st_mtim.tv_nsec)
		return;
	if (!(f = fopen(password_file, "r")))
		return;
	seen = st;
	n_users = 0;
	while (fgets(line, sizeof(line), f) && n_users < USERS_MAX) {
		char *colon = strchr(line, ':');
		size_t len = colon ? (size_t)(colon - line) : 0;

		if (!len || len >= NAME_MAX_LEN || line[0] == '#')
			continue;
		memcpy(users[n_users], line, len);
		users[n_users][len] = '\0';
		n_users++;
	}
	fclose(f);
	mosquitto_log_printf(MOSQ_LOG_INFO, "intercom-clientid: %d users own their client ids", n_users);
}

/* The user a client id belongs to, or NULL. */
static const char *owner_of(const char *id)
{
	const char *best = NULL;
	size_t best_len = 0;

	for (int i = 0; i < n_users; i++) {
		size_t len = strlen(users[i]);

		if (len > best_len && !strncmp(id, users[i], len) && (id[len] == '\0' || id[len] == '-')) {
			best = users[i];
			best_len = len;
		}
	}
	return best;
}

static int on_basic_auth(int event, void *event_data, void *userdata)
{
	struct mosquitto_evt_basic_auth *ev = event_data;
	const char *id = mosquitto_client_id(ev->client), *owner;

	(void)event;
	(void)userdata;
	if (!id)
		return MOSQ_ERR_PLUGIN_DEFER;
	users_load();
	owner = owner_of(id);
	if (owner && (!ev->username || strcmp(owner, ev->username))) {
		mosquitto_log_printf(MOSQ_LOG_NOTICE,
				     "intercom-clientid: refused client id '%s' to user '%s' (%s): it belongs to user '%s'",
				     id, ev->username ? ev->username : "(none)", mosquitto_client_address(ev->client),
				     owner);
		return MOSQ_ERR_AUTH;
	}
	return MOSQ_ERR_PLUGIN_DEFER;
}

int mosquitto_plugin_version(int supported_version_count, const int *supported_versions)
{
	for (int i = 0; i < supported_version_count; i++)
		if (supported_versions[i] == 5)
			return 5;
	return -1;
}

int mosquitto_plugin_init(mosquitto_plugin_id_t *identifier, void **userdata, struct mosquitto_opt *options,
			  int option_count)
{
	(void)userdata;
	for (int i = 0; i < option_count; i++)
		if (!strcmp(options[i].key, "password_file"))
			password_file = strdup(options[i].value);
	if (!password_file) {
		mosquitto_log_printf(MOSQ_LOG_ERR, "intercom-clientid: needs plugin_opt_password_file");
		return MOSQ_ERR_INVAL;
	}
	if (!(users = calloc(USERS_MAX, sizeof(*users))))
		return MOSQ_ERR_NOMEM;
	memset(&seen, 0, sizeof(seen));
	users_load();
	plugin_id = identifier;
	return mosquitto_callback_register(plugin_id, MOSQ_EVT_BASIC_AUTH, on_basic_auth, NULL, NULL);
}

int mosquitto_plugin_cleanup(void *userdata, struct mosquitto_opt *options, int option_count)
{
	(void)userdata;
	(void)options;
	(void)option_count;
	mosquitto_callback_unregister(plugin_id, MOSQ_EVT_BASIC_AUTH, on_basic_auth, NULL);
	free(users);
	users = NULL;
	free(password_file);
	password_file = NULL;
	n_users = 0;
	return MOSQ_ERR_SUCCESS;
}
