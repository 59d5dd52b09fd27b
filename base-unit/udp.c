#include "udp.h"
#include "log.h"
#include "util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

int udp_listen(struct base *b)
{
	struct sockaddr_storage ss[2];
	socklen_t sl[2];
	char text[INET6_ADDRSTRLEN + 8];
	int one = 1, ret;

	if (addr_listen_set(ss, sl, b->cfg.listen) <= 0) {
		log_err("cannot resolve listen address '%s'", b->cfg.listen);
		return -EINVAL;
	}
	for (int f = 0; f < 2; f++) {
		if (ss[f].ss_family == AF_UNSPEC)
			continue;
		addr_format(text, sizeof(text), (struct sockaddr *)&ss[f]);
		ret = udp_open(&b->udp[f], ss[f].ss_family, &ss[f], sl[f], b->cfg.udp_rcvbuf, &b->rcvbuf);
		if (ret < 0) {
			log_err("cannot listen on udp %s (%s): %s", text, b->cfg.listen, strerror(-ret));
			return ret;
		}
		setsockopt(b->udp[f], SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof(one));
		log_info("listening on udp %s (receive buffer %d bytes)", text, b->rcvbuf);
	}
	return 0;
}

void udp_close(struct base *b)
{
	for (int f = 0; f < 2; f++)
		if (b->udp[f] >= 0) {
			close(b->udp[f]);
			b->udp[f] = -1;
		}
}

void udp_send(struct base *b, const uint8_t *buf, int len, const struct sockaddr_storage *to, socklen_t to_len)
{
	if (len < 0) {
		log_err("sealing a datagram failed: %s", ic_strerror(len));
		return;
	}
	/* One socket per family: the reply leaves from the address it came to. */
	int fd = b->udp[to->ss_family == AF_INET6];

	if (fd < 0)
		fd = b->udp[to->ss_family != AF_INET6];
	if (sendto(fd, buf, (size_t)len, 0, (const struct sockaddr *)to, to_len) < 0) {
		b->m.send_failed++;
		log_debug("sendto: %s", strerror(errno));
	}
}
