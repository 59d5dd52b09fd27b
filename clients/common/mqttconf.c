#include "mqttconf.h"
#include "log.h"

#include <stdio.h>
#include <string.h>

void mqtt_conf_init(struct mqtt_conf *m, bool clean_session)
{
	memset(m, 0, sizeof(*m));
	snprintf(m->host, sizeof(m->host), "localhost");
	m->port = 8883;
	m->keepalive = 30;
	m->clean_session = clean_session;
	m->reconnect_max = 30;
}

int mqtt_conf_line(struct mqtt_conf *m, const struct conf_line *l, char *err, size_t errlen)
{
	const struct { const char *key; char *v; size_t cap; } strings[] = {
		{ "mqtt_host", m->host, sizeof(m->host) }, { "mqtt_cafile", m->cafile, sizeof(m->cafile) },
		{ "mqtt_certfile", m->certfile, sizeof(m->certfile) }, { "mqtt_keyfile", m->keyfile, sizeof(m->keyfile) },
		{ "mqtt_username", m->username, sizeof(m->username) }, { "mqtt_password", m->password, sizeof(m->password) },
		{ "mqtt_client_id", m->client_id, sizeof(m->client_id) },
	};
	const struct { const char *key; int *v; long lo, hi; } ints[] = {
		{ "mqtt_port", &m->port, 1, 65535 }, { "mqtt_keepalive", &m->keepalive, 5, 65535 },
		{ "mqtt_reconnect_max", &m->reconnect_max, 1, 3600 },
	};
	const char *k = l->argv[0];
	long v;

	for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++)
		if (!strcmp(k, strings[i].key))
			return conf_want_args(l, 1, 1, "VALUE", err, errlen) &&
			       conf_string(l, 1, strings[i].v, strings[i].cap, err, errlen);
	for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++)
		if (!strcmp(k, ints[i].key)) {
			if (!conf_want_args(l, 1, 1, "NUMBER", err, errlen) ||
			    !conf_long(l, 1, ints[i].lo, ints[i].hi, &v, err, errlen))
				return 0;
			*ints[i].v = (int)v;
			return 1;
		}
	if (!strcmp(k, "mqtt_password_file"))
		return conf_want_args(l, 1, 1, "PATH", err, errlen) &&
		       conf_read_secret(l, 1, m->password, sizeof(m->password), err, errlen);
	if (!strcmp(k, "mqtt_clean_session"))
		return conf_want_args(l, 1, 1, "true|false", err, errlen) &&
		       conf_bool(l, 1, &m->clean_session, err, errlen);
	return -1;
}

bool mqtt_conf_check(const struct mqtt_conf *m, const char *path)
{
	bool ok = true;

	if (!*m->cafile) {
		conf_error("%s: missing 'mqtt_cafile': the broker is reached over TLS only\n", path);
		ok = false;
	}
	if (!*m->username || !*m->password) {
		conf_error("%s: missing 'mqtt_username' and 'mqtt_password' (or 'mqtt_password_file')\n", path);
		ok = false;
	}
	if (!*m->certfile != !*m->keyfile) {
		conf_error("%s: 'mqtt_certfile' and 'mqtt_keyfile' go together\n", path);
		ok = false;
	}
	return ok;
}

struct mqtt_link_config mqtt_conf_link(const struct mqtt_conf *m, const char *will_topic)
{
	return (struct mqtt_link_config){
		.host = m->host, .port = m->port, .cafile = m->cafile, .certfile = m->certfile, .keyfile = m->keyfile,
		.username = m->username, .password = m->password, .client_id = *m->client_id ? m->client_id : m->username,
		.keepalive = m->keepalive, .clean_session = m->clean_session, .reconnect_max_s = m->reconnect_max,
		.will_topic = will_topic,
	};
}
