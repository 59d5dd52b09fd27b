#include "stubs.h"
#include "mqtt.h"
#include "udp.h"

#include <stdio.h>
#include <string.h>

uint64_t stub_now = 1000000;
bool stub_connected = true;
struct stub_pub stub_pubs[STUB_MAX];
int stub_n_pubs;
struct stub_dgram stub_sent[STUB_MAX];
int stub_n_sent;
const char *stub_prefix = "P";

void stub_reset(void)
{
	stub_n_pubs = 0;
	stub_n_sent = 0;
}

const struct stub_pub *stub_last(const char *topic)
{
	for (int i = stub_n_pubs - 1; i >= 0; i--)
		if (!strcmp(stub_pubs[i].topic, topic))
			return &stub_pubs[i];
	return NULL;
}

int stub_count(const char *topic)
{
	int n = 0;

	for (int i = 0; i < stub_n_pubs; i++)
		n += !strcmp(stub_pubs[i].topic, topic);
	return n;
}

/* --- clients/common/clock.c --- */

uint64_t now_ms(void)
{
	return stub_now;
}

uint64_t wall_ms(void)
{
	return 1764547200000 + stub_now;	/* 2025-12-01, moving with the monotonic clock */
}

uint64_t wall_us(void)
{
	return wall_ms() * 1000;
}

/* --- base-unit/udp.c --- */

void udp_send(struct base *b, const uint8_t *buf, int len, const struct sockaddr_storage *to, socklen_t to_len)
{
	(void)b;
	(void)to_len;
	if (len < 0 || stub_n_sent == STUB_MAX || (size_t)len > sizeof(stub_sent[0].buf))
		return;
	memcpy(stub_sent[stub_n_sent].buf, buf, (size_t)len);
	stub_sent[stub_n_sent].len = (size_t)len;
	stub_sent[stub_n_sent].to = *to;
	stub_n_sent++;
}

/* --- base-unit/mqtt.c --- */

bool mqtt_connected(const struct mqtt *q)
{
	(void)q;
	return stub_connected;
}

unsigned mqtt_reconnects(const struct mqtt *q)
{
	(void)q;
	return 0;
}

bool mqtt_publish_topic(struct mqtt *q, const char *topic, const void *payload, size_t len, int qos, bool retain)
{
	struct stub_pub *p;

	(void)q;
	if (!stub_connected || stub_n_pubs == STUB_MAX)
		return false;
	p = &stub_pubs[stub_n_pubs++];
	snprintf(p->topic, sizeof(p->topic), "%s", topic);
	p->len = len;
	memcpy(p->payload, payload, len < sizeof(p->payload) - 1 ? len : sizeof(p->payload) - 1);
	p->payload[len < sizeof(p->payload) - 1 ? len : sizeof(p->payload) - 1] = '\0';
	p->qos = qos;
	p->retain = retain;
	return true;
}

bool mqtt_publish_qos(struct mqtt *q, const char *suffix, const void *payload, size_t len, int qos, bool retain)
{
	char topic[300];

	snprintf(topic, sizeof(topic), "%s/%s", stub_prefix, suffix);
	return mqtt_publish_topic(q, topic, payload, len, qos, retain);
}

bool mqtt_publish(struct mqtt *q, const char *suffix, const void *payload, size_t len, bool retain)
{
	return mqtt_publish_qos(q, suffix, payload, len, 1, retain);
}

bool mqtt_subscribe(struct mqtt *q, const char *filter)
{
	(void)q;
	(void)filter;
	return stub_connected;
}
