#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>

void iso8601(char out[32], uint64_t unix_ms)
{
	time_t t = (time_t)(unix_ms / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int random_bytes(void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = getrandom(p, len, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

uint64_t random_u64_nonzero(void)
{
	uint64_t v = 0;

	while (v == 0)
		if (random_bytes(&v, sizeof(v)) < 0)
			v = now_ms() ^ ((uint64_t)getpid() << 32);	/* getrandom never fails on Linux >= 3.17 */
	return v;
}

uint64_t random_between(uint64_t lo, uint64_t hi)
{
	uint64_t r = 0;

	if (hi <= lo)
		return lo;
	random_bytes(&r, sizeof(r));
	return lo + r % (hi - lo + 1);
}

int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

bool hex_decode(uint8_t *out, size_t n, const char *hex, size_t hex_len)
{
	if (hex_len != 2 * n)
		return false;
	for (size_t i = 0; i < n; i++) {
		int hi = hex_digit(hex[2 * i]), lo = hex_digit(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return false;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}

void hex_encode(char *out, const uint8_t *b, size_t n)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[b[i] >> 4];
		out[2 * i + 1] = digits[b[i] & 15];
	}
	out[2 * n] = '\0';
}

bool key_from_hex(uint8_t key[32], const char *hex)
{
	return hex_decode(key, 32, hex, strlen(hex));
}

void key_to_hex(char out[65], const uint8_t key[32])
{
	hex_encode(out, key, 32);
}

uint32_t hash_id(const char *s)
{
	uint32_t h = 2166136261u;	/* FNV-1a */

	while (*s)
		h = (h ^ (uint8_t)*s++) * 16777619u;
	return h;
}

int addr_parse_all(struct sockaddr_storage *ss, socklen_t *len, int max, const char *text, bool passive)
{
	char host[256];
	const char *port, *h = text;
	size_t hl;
	struct addrinfo hints = { .ai_socktype = SOCK_DGRAM }, *res = NULL, *p;
	int rc, n = 0;

	if (text[0] == '[') {
		const char *end = strchr(text, ']');
		if (!end || end[1] != ':')
			return -EINVAL;
		h = text + 1;
		hl = (size_t)(end - h);
		port = end + 2;
	} else {
		port = strrchr(text, ':');
		if (!port)
			return -EINVAL;
		hl = (size_t)(port - text);
		port++;
	}
	if (hl >= sizeof(host) || !*port)
		return -EINVAL;
	memcpy(host, h, hl);
	host[hl] = '\0';
	if (passive)
		hints.ai_flags = AI_PASSIVE;
	hints.ai_flags |= AI_NUMERICSERV;
	rc = getaddrinfo(hl ? host : NULL, port, &hints, &res);
	if (rc != 0 || !res)
		return -EINVAL;
	for (p = res; p && n < max; p = p->ai_next) {
		bool dup = false;

		if ((p->ai_family != AF_INET && p->ai_family != AF_INET6) || p->ai_addrlen > sizeof(*ss))
			continue;
		memset(&ss[n], 0, sizeof(ss[n]));
		memcpy(&ss[n], p->ai_addr, p->ai_addrlen);
		len[n] = p->ai_addrlen;
		for (int i = 0; i < n; i++)
			dup |= addr_equal(&ss[i], &ss[n]);
		if (!dup)
			n++;
	}
	freeaddrinfo(res);
	return n > 0 ? n : -EINVAL;
}

int addr_parse(struct sockaddr_storage *ss, socklen_t *len, const char *text, bool passive)
{
	int n = addr_parse_all(ss, len, 1, text, passive);

	return n < 0 ? n : 0;
}

int addr_listen_set(struct sockaddr_storage ss[2], socklen_t len[2], const char *text)
{
	struct sockaddr_storage all[16];
	socklen_t lens[16];
	int n = addr_parse_all(all, lens, 16, text, true), got = 0;

	if (n < 0)
		return n;
	for (int f = 0; f < 2; f++) {
		int family = f ? AF_INET6 : AF_INET;

		ss[f].ss_family = AF_UNSPEC;
		for (int i = 0; i < n; i++)
			if (all[i].ss_family == family) {
				ss[f] = all[i];
				len[f] = lens[i];
				got++;
				break;
			}
	}
	return got;
}

int addr_bind(int fd, const struct sockaddr_storage *ss, socklen_t len)
{
	int one = 1;

	/* An IPv6 socket beside an IPv4 one of the same port takes IPv6 only. */
	if (ss->ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	return bind(fd, (const struct sockaddr *)ss, len) < 0 ? -errno : 0;
}

void addr_format(char *out, size_t cap, const struct sockaddr *sa)
{
	char host[INET6_ADDRSTRLEN] = "?";

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		snprintf(out, cap, "%s:%u", host, ntohs(in->sin_port));
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		snprintf(out, cap, "[%s]:%u", host, ntohs(in6->sin6_port));
	} else {
		snprintf(out, cap, "?");
	}
}

bool addr_equal(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
		return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	if (a->ss_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
		return x->sin6_port == y->sin6_port &&
		       !memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr));
	}
	return false;
}

int udp_open(int *fd_out, int family, const struct sockaddr_storage *bind_to, socklen_t bind_len,
	     int rcvbuf, int *got)
{
	int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), ret;
	socklen_t sl = sizeof(*got);

	if (fd < 0)
		return -errno;
	if (rcvbuf > 0) {
		/* SO_RCVBUFFORCE passes net.core.rmem_max when we are root. */
		if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) < 0)
			setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	}
	if (got && getsockopt(fd, SOL_SOCKET, SO_RCVBUF, got, &sl) < 0)
		*got = 0;
	if (bind_to && (ret = addr_bind(fd, bind_to, bind_len)) < 0) {
		close(fd);
		return ret;
	}
	*fd_out = fd;
	return 0;
}

/* Topic prefix: one or more levels of A-Z a-z 0-9 _ -, no wildcards. */
bool prefix_valid(const char *p)
{
	size_t level = 0;

	if (!*p || strlen(p) > PREFIX_MAX)
		return false;
	for (; *p; p++) {
		if (*p == '/') {
			if (level == 0)
				return false;
			level = 0;
			continue;
		}
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		      *p == '_' || *p == '-'))
			return false;
		level++;
	}
	return level > 0;
}
