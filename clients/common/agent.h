/*
 * What every device agent shares: the intercom session with the base unit
 * (handshake with retries, keepalives that hold the NAT mapping open, noticing
 * a base unit that restarted or went away) over one UDP socket. Agents add
 * their own messages through agent_send() and the on_message callback.
 */
#ifndef AGENT_H
#define AGENT_H

#include "conf.h"
#include "ic_session.h"

#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

struct agent_config {
	char id[IC_ID_MAX + 1];
	uint8_t psk[IC_KEY_LEN];
	bool have_key;
	char base[256];			/* HOST:PORT of the base unit */
	int keepalive;			/* seconds */
	int offline_after;		/* base silent this many keepalives: say hello again */
};

void agent_config_init(struct agent_config *c);
/* Handles the keys every agent has (id, key, base, keepalive); sets *mine. */
bool agent_config_line(struct agent_config *c, const struct conf_line *l, char *err, size_t errlen,
		       bool *mine);
bool agent_config_finish(const struct agent_config *c, const char *path);

struct agent;
typedef void (*agent_ready_fn)(struct agent *a, void *ctx);
typedef void (*agent_message_fn)(struct agent *a, uint8_t type, const uint8_t *body, size_t len,
				 void *ctx);

#define AGENT_ADDRS_MAX 8

struct agent {
	const struct agent_config *c;
	struct ic_device dev;
	int fd;				/* of the family of base */
	struct sockaddr_storage base;	/* addrs[cur], where datagrams go now */
	socklen_t base_len;
	/* Every address the base's name has (looked up again at each new
	 * handshake); hellos go to each in turn until one answers. */
	struct sockaddr_storage addrs[AGENT_ADDRS_MAX];
	socklen_t addr_lens[AGENT_ADDRS_MAX];
	int n_addrs, cur;
	int family;			/* of fd */
	bool hello_sent;		/* a hello of this handshake is out */
	char why[AGENT_ADDRS_MAX][64];	/* per address, for the log */
	uint8_t hello[IC_BODY_MAX];
	size_t hello_len;
	uint64_t next_hello, hello_backoff;
	uint64_t last_rx, next_keepalive;
	uint64_t challenged_at;		/* when a CHALLENGE last made us say hello */
	uint64_t hello_at;		/* when the last hello went out */
	int64_t base_offset;		/* the base unit's Unix ms minus our monotonic ms (0: unknown) */
	agent_ready_fn on_ready;
	agent_message_fn on_message;
	void *ctx;
	unsigned sessions;		/* handshakes completed */
};

/* hello is an encoded struct ic_hello (copied). Returns 0 or -errno. */
int agent_start(struct agent *a, const struct agent_config *c, const struct ic_hello *hello,
		agent_ready_fn on_ready, agent_message_fn on_message, void *ctx);
void agent_stop(struct agent *a);	/* says bye when in a session; closes the socket */
bool agent_ready(const struct agent *a);
/* SIGTERM or SIGINT came: the loop ends at its next turn. */
bool agent_stopping(void);
/* The base unit's Unix time in ms, as the WELCOME told it (half the hello's
 * round trip added); 0 before the first WELCOME. Commands expire in it. */
uint64_t agent_base_time(const struct agent *a);
void agent_pollfd(const struct agent *a, struct pollfd *p);
void agent_handle(struct agent *a);	/* after POLLIN */
void agent_tick(struct agent *a, uint64_t now);
uint64_t agent_next_ms(const struct agent *a, uint64_t now);
/* Seals and sends one message of the current session. 0 or an error. */
int agent_send(struct agent *a, uint8_t type, const uint8_t *body, size_t len);

/* The agent's own timers, for agent_loop: work() runs every turn and returns
 * how many ms until it wants to run again (UINT64_MAX: no need). */
typedef uint64_t (*agent_work_fn)(struct agent *a, uint64_t now, void *ctx);

/* Runs the poll loop until SIGINT or SIGTERM, then says bye. */
void agent_loop(struct agent *a, agent_work_fn work, void *ctx);

/* The command line every agent takes: -c FILE [--check] [-v], --help,
 * --version (cmdline.h). -1: go on; else the exit status. */
int agent_cli(int argc, char **argv, const char *ident, const char **path, bool *check);

#endif
