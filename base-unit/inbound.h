/*
 * Datagrams in: every datagram the UDP sockets receive, authenticated by the
 * device's session (ic_session.c), then by type: a HELLO is answered with a
 * WELCOME, readings and states become the device's values and its state on
 * the broker, an ACK answers the set in flight, FRAME fragments go to its
 * camera, BYE ends the session. Anything else is dropped and counted.
 */
#ifndef BASE_INBOUND_H
#define BASE_INBOUND_H

#include "base.h"

#include <sys/socket.h>

void inbound_datagram(struct base *b, const uint8_t *buf, size_t len, const struct sockaddr_storage *from,
		      socklen_t from_len);
/* One the socket cut short (longer than any datagram of the protocol). */
void inbound_truncated(struct base *b);
/* The kernel's count of datagrams dropped for want of buffer, both sockets. */
void inbound_kernel_drops(struct base *b, uint64_t total);

#endif
