/*
 * The MQTT keys of the base unit's and the dashboard's configurations, one
 * set for both (docs/base-unit.md and docs/dashboard.md list them): where the
 * broker is, how it is trusted, who we are to it, and how the session is
 * kept.
 */
#ifndef MQTTCONF_H
#define MQTTCONF_H

#include "conf.h"
#include "mqttlink.h"

#include <stdbool.h>
#include <stddef.h>

struct mqtt_conf {
	char host[256];
	int port;
	char cafile[512], certfile[512], keyfile[512];
	char username[128], password[256];
	char client_id[128];		/* empty: the user name, which the broker's plugin keeps for that user */
	int keepalive;			/* seconds */
	bool clean_session;		/* false: the broker keeps our subscriptions and queued messages */
	int reconnect_max;		/* seconds; the backoff's cap */
};

void mqtt_conf_init(struct mqtt_conf *m, bool clean_session);
/* One configuration line: 1 when it was an MQTT key and is good, 0 when it
 * was one and is wrong (err says why), -1 when it is not an MQTT key. */
int mqtt_conf_line(struct mqtt_conf *m, const struct conf_line *l, char *err, size_t errlen);
/* What only the whole file can tell (CA, credentials, certificate with key);
 * errors to stderr, naming path. */
bool mqtt_conf_check(const struct mqtt_conf *m, const char *path);
/* The link's settings, pointing into m. */
struct mqtt_link_config mqtt_conf_link(const struct mqtt_conf *m, const char *will_topic);

#endif
