/*
 * libFuzzer target for everything the base unit does with a datagram before
 * it touches MQTT: the clear header, session lookup, AEAD open, the replay
 * window, and the body decoders. Sessions persist across inputs, so the
 * fuzzer also explores sequences of datagrams.
 *
 * Random bytes almost never authenticate, so half the inputs are sealed with
 * the session key first: that drives the decoders with authenticated but
 * hostile bodies, the case a stolen key would allow.
 */
#include "ic_session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct ic_peer peer;
static struct ic_device dev;
static int ready;

static void setup(void)
{
	uint8_t psk[IC_KEY_LEN];
	uint8_t hb[IC_BODY_MAX], out[IC_MAX_DATAGRAM], body[IC_MAX_DATAGRAM];
	struct ic_hello h = { .kind = IC_KIND_READ, .keepalive = 15, .n_sensors = 1 };
	struct ic_welcome w = { .keepalive = 15 };
	struct ic_header hdr;
	enum ic_peer_event ev;
	size_t hl, blen;
	bool newest;
	uint8_t type;
	int n;

	for (int i = 0; i < IC_KEY_LEN; i++)
		psk[i] = (uint8_t)i;
	snprintf(h.sensors[0].name, sizeof(h.sensors[0].name), "%s", "temperature");
	ic_peer_init(&peer, "cellar-thermo", psk);
	ic_peer_set_ticket(&peer, 0x2122232425262728ull);	/* the vectors' */
	ic_device_init(&dev, "cellar-thermo", psk);
	ic_device_restart(&dev, 0x0102030405060708ull);
	dev.ticket = peer.ticket;
	n = ic_hello_encode(hb, sizeof(hb), &h);
	n = ic_device_hello(&dev, hb, (size_t)n, out, sizeof(out));
	ic_header_decode(&hdr, &hl, out, (size_t)n);
	ic_peer_receive(&peer, &hdr, hl, out, (size_t)n, 0x1112131415161718ull, body, &blen, &ev, &newest);
	ic_peer_set_ticket(&peer, 0x3132333435363738ull);
	n = ic_peer_welcome(&peer, &w, out, sizeof(out));
	ic_device_receive(&dev, out, (size_t)n, &type, body, &blen);
	ready = 1;
}

static void decode_body(uint8_t type, const uint8_t *b, size_t len)
{
	struct ic_hello h;
	struct ic_reading r;
	struct ic_welcome w;
	struct ic_command c;
	struct ic_ack a;

	switch (type) {
	case IC_HELLO: ic_hello_decode(&h, b, len); break;
	case IC_READING:
	case IC_STATE: ic_reading_decode(&r, b, len); break;
	case IC_WELCOME: ic_welcome_decode(&w, b, len); break;
	case IC_COMMAND: ic_command_decode(&c, b, len); break;
	case IC_ACK: ic_ack_decode(&a, b, len); break;
	default: break;
	}
}

static void to_base(const uint8_t *dg, size_t len)
{
	static uint8_t body[IC_MAX_DATAGRAM];
	struct ic_header h;
	enum ic_peer_event ev;
	size_t hl, blen;
	bool newest;

	if (ic_header_decode(&h, &hl, dg, len) != IC_OK || strcmp(h.id, peer.id) != 0)
		return;
	if (ic_peer_receive(&peer, &h, hl, dg, len, 0x2222, body, &blen, &ev, &newest) == IC_OK)
		decode_body(h.type, body, blen);
	if (!peer.ticket)	/* a hello took it: as the base unit does */
		ic_peer_set_ticket(&peer, 0x4444);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t out[IC_MAX_DATAGRAM], body[IC_MAX_DATAGRAM];
	size_t blen;
	uint8_t type;

	if (!ready)
		setup();
	if (size < 2)
		return 0;
	switch (data[0] & 3) {
	case 0:		/* raw bytes at the base unit */
		to_base(data + 1, size - 1);
		break;
	case 1:		/* raw bytes at a device */
		ic_device_receive(&dev, data + 1, size - 1, &type, body, &blen);
		break;
	case 2: {	/* a hostile body, properly sealed by the device */
		int n;
		static const uint8_t types[] = { IC_KEEPALIVE, IC_BYE, IC_READING, IC_STATE, IC_ACK };
		uint8_t t = types[data[1] % 5];

		if (dev.state != IC_DEV_READY)
			setup();
		n = ic_device_seal(&dev, t, data + 2, size - 2, out, sizeof(out));
		if (n > 0)
			to_base(out, (size_t)n);
		break;
	}
	default:	/* the decoders directly */
		decode_body((uint8_t)(1 + data[1] % 11), data + 2, size - 2);
		break;
	}
	return 0;
}
