/*
 * The base unit's configuration (docs/base-unit.md lists every key).
 * base_config_line() parses one line and does no I/O, so the tests call the
 * same function the daemon does.
 */
#ifndef BASE_CONFIG_H
#define BASE_CONFIG_H

#include "conf.h"
#include "motion.h"
#include "mqttconf.h"
#include "intercom.h"
#include "util.h"

#include <stdbool.h>
#include <stdint.h>


struct device_conf {
	char id[IC_ID_MAX + 1];
	uint8_t psk[IC_KEY_LEN];	/* zero for a pull camera: it has no intercom key */
	int line;
	bool pull;			/* a camera the base unit pulls frames from */
	bool pull_http;			/* ... over HTTP: its URL and files in base_config.http */
	char pull_addr[128];		/* HOST:PORT of a raw TCP one */
	int pull_interval_ms;
	char camera_port[128];		/* raw TCP address handing out its newest frame, or "" */
};

struct base_config {
	char prefix[PREFIX_MAX + 1];
	char listen[128];
	int udp_rcvbuf;
	int keepalive;			/* seconds suggested to devices in WELCOME */
	int offline_after;		/* missed keepalives before a device is offline */
	int metrics_interval;		/* seconds between P/bridge/metrics */
	int command_timeout_ms;		/* a set not acknowledged by then ends "timeout" */
	int set_lifetime_ms;		/* a set's lifetime when it names none (docs/topics.md) */
	int set_lifetime_max_ms;	/* the longest a set may ask for */
	int command_retry_ms;		/* first retransmit; then doubling ... */
	int command_retry_max_ms;	/* ... up to this, until the deadline */
	int camera_interval_ms;		/* at most one P/<camera>/camera per this */
	int camera_motion_interval_ms;	/* ... or per this while it sees motion, if shorter (recordings) */
	int last_seen_interval;		/* s: a keepalive refreshes last_seen at most this often (0: never) */
	int outage_buffer;		/* device states kept while the broker is away */
	bool homeassistant;		/* publish Home Assistant MQTT discovery */
	char homeassistant_prefix[64];
	int udp_linger_us;		/* pause after a small batch of readings; 0: never */
	int udp_linger_rate;		/* ... but only above this many datagrams/s */
	char state_file[512];		/* "" for none */
	struct mqtt_conf mqtt;		/* the broker (clients/common/mqttconf.h) */
	int mqtt_qos;			/* of states and results */
	int log_level;

	struct device_conf *devices;	/* owned; base_config_free() */
	int n_devices, cap_devices;
	struct { char id[IC_ID_MAX + 1]; char addr[128]; int line; } *ports;	/* camera_port lines */
	int n_ports;
	/* HTTP pull cameras: kept apart so a device line stays small */
	struct http_cam_conf { char id[IC_ID_MAX + 1]; char url[512]; char auth_file[256]; char cafile[256]; } *http;
	int n_http;
	struct motion_cam_conf { char id[IC_ID_MAX + 1]; struct motion_conf m; int line; } *motion;	/* motion lines */
	int n_motion;
};

void base_config_init(struct base_config *c);
void base_config_free(struct base_config *c);
bool base_config_line(void *ctx, const struct conf_line *l, char *err, size_t errlen);
/* Checks what no single line can: required keys, duplicates. Prints errors. */
bool base_config_finish(struct base_config *c, const char *path);
/* Sorts device lines by id, as finish leaves them. */
void base_config_sort(struct device_conf *d, int n);
/* The device line of id in a finished configuration, or NULL. */
const struct device_conf *base_config_device(const struct base_config *c, const char *id);
/* The motion line of camera id, or NULL. */
const struct motion_conf *base_config_motion(const struct base_config *c, const char *id);
/* The HTTP part of pull camera id, or NULL. */
const struct http_cam_conf *base_config_http(const struct base_config *c, const char *id);
/* conf_load + finish. */
bool base_config_load(struct base_config *c, const char *path);


#endif
