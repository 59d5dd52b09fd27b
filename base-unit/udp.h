/*
 * The base unit's UDP sockets: one per family of "listen" (localhost is
 * 127.0.0.1 and ::1), and sending on them. The unit tests link a stub of
 * udp_send() that keeps what was sent (tests/unit/stubs.c).
 */
#ifndef BASE_UDP_H
#define BASE_UDP_H

#include "base.h"

#include <sys/socket.h>

int udp_listen(struct base *b);		/* 0 or -errno (logged) */
void udp_close(struct base *b);
/* Sends a sealed datagram of len bytes (len < 0: sealing failed, logged)
 * from the socket of to's family. A failure is counted, never fatal. */
void udp_send(struct base *b, const uint8_t *buf, int len, const struct sockaddr_storage *to, socklen_t to_len);

/* A message on the device's running session, to where it was last heard from. */
static inline void udp_send_session(struct base *b, struct device *d, uint8_t type, const uint8_t *body,
				    size_t len)
{
	uint8_t out[IC_MAX_DATAGRAM];

	if (d->peer.ready)
		udp_send(b, out, ic_peer_seal(&d->peer, type, body, len, out, sizeof(out)), &d->addr, d->addr_len);
}

#endif
