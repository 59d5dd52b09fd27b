/*
 * The MQTT link's insides, shared by its two files: mqttlink.c (the
 * connection, one address at a time, and its reconnects) and mqtttls.c (the
 * broker's addresses, and the TLS context that checks its certificate).
 */
#ifndef MQTTLINK_INT_H
#define MQTTLINK_INT_H

#include "mqttlink.h"

#include <openssl/ssl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#define MQTT_SEND_MAXIMUM 1000	/* QoS 1 messages unacknowledged at once (mqtt_link_new) */
#define ADDRS_MAX           8
#define BACKOFF_MIN_MS      500
#define ATTEMPT_TIMEOUT_MS  8000	/* TCP + TLS + CONNACK, per address */
#define WHY_MAX             120

enum link_state { LINK_DOWN, LINK_CONNECTING, LINK_UP };

struct mqtt_link {
	struct mosquitto *m;
	SSL_CTX *tls;
	struct mqtt_link_config c;
	char host[256];
	bool host_is_ip, threaded;
	int state;			/* enum link_state; read by other threads */
	uint64_t retry_at;		/* when DOWN */
	uint64_t attempt_since;		/* when CONNECTING */
	uint64_t backoff_ms;
	unsigned reconnects;
	bool ever_up;
	char addrs[ADDRS_MAX][MQTT_LINK_ADDR_MAX];
	char why[ADDRS_MAX][WHY_MAX];
	int n_addrs, cur;
	unsigned gen;			/* counts attempts: an error belongs to one */
	char tls_why[WHY_MAX];		/* the certificate check's reason, this attempt */
	int early_errno;		/* a socket error libmosquitto saw and passed over */
	pthread_mutex_t status_lock;
	char status[1024];
	mqtt_link_up_fn on_up;
	mqtt_link_down_fn on_down;
	mqtt_link_message_fn on_message;
	void *ctx;
};

/* mqtttls.c: l->tls for l->c's CA and client certificate, checking the
 * broker's certificate against l->host; false with err on failure. */
bool mqtt_tls_setup(struct mqtt_link *l, char *err, size_t errlen);

#endif
