/*
 * The two ends of an intercom session, as state machines with no I/O: the
 * caller hands in received datagrams and random session ids, and gets back
 * datagrams to send. Device agents use struct ic_device; the base unit keeps
 * one struct ic_peer per configured device.
 *
 * Handshake (docs/protocol.md): the device sends HELLO under a key derived
 * from its pre-shared key and a fresh random device session id Sd; the base
 * answers WELCOME carrying a fresh random base session id Sb; both then use
 * the session key derived from (psk, id, Sd, Sb). The base adopts the new
 * session only when the first datagram under that key arrives, so a replayed
 * HELLO changes nothing it relies on. Because every session has fresh keys,
 * sequence numbers may restart at 1 after a reboot without reusing a nonce.
 *
 * Tickets (docs/protocol.md, "Tickets"): a HELLO carries, in clear, a
 * single-use ticket the base unit gave the device (in a WELCOME, a RESET or a
 * CHALLENGE). The base takes a HELLO only with its current ticket, and takes
 * each ticket once, so a replayed HELLO never starts a handshake, never
 * displaces one in progress, and is refused before any crypto: it is answered
 * with the CHALLENGE the base sealed once for its current ticket.
 */
#ifndef IC_SESSION_H
#define IC_SESSION_H

#include "intercom.h"

enum ic_device_state { IC_DEV_IDLE, IC_DEV_HELLO, IC_DEV_READY };

struct ic_device {
	char id[IC_ID_MAX + 1];
	uint8_t psk[IC_KEY_LEN];
	enum ic_device_state state;
	uint64_t sd;			/* our session id */
	uint64_t sb;			/* the base's, once READY */
	uint64_t tx_seq;		/* last sequence sent */
	uint8_t hello_key[IC_KEY_LEN];
	uint8_t key[IC_KEY_LEN];	/* session key, once READY */
	struct ic_replay rx;
	uint64_t ticket;		/* for the next HELLO; 0: none yet (the base will send a CHALLENGE) */
	uint8_t ticket_key[IC_KEY_LEN];	/* CHALLENGE's */
};

/* Returns IC_OK or IC_ERR_ID. */
int ic_device_init(struct ic_device *d, const char *id, const uint8_t psk[IC_KEY_LEN]);

/* Starts a new handshake with a fresh random sd (never 0); the ticket stays. */
int ic_device_restart(struct ic_device *d, uint64_t sd);

/* Seals a HELLO carrying body (an encoded struct ic_hello); call again to
 * retransmit. Returns the datagram length or an ic_err. */
int ic_device_hello(struct ic_device *d, const uint8_t *body, size_t body_len,
		    uint8_t *out, size_t cap);

/* Seals any other message; needs state READY (IC_ERR_STATE otherwise). */
int ic_device_seal(struct ic_device *d, uint8_t type, const uint8_t *body, size_t body_len,
		   uint8_t *out, size_t cap);

/* Opens a datagram from the base. On IC_OK, *type and body/body_len hold the
 * message. WELCOME moves the state to READY; RESET moves it back to IDLE
 * (the caller then restarts with a new sd); both carry the next ticket.
 * CHALLENGE (only while saying hello) gives a new ticket: the caller sends its
 * HELLO again at once. A CHALLENGE with the ticket already held is
 * IC_ERR_REPLAY. */
int ic_device_receive(struct ic_device *d, const uint8_t *dgram, size_t len, uint8_t *type,
		      uint8_t *body, size_t *body_len);

struct ic_peer {
	uint8_t psk[IC_KEY_LEN];
	char id[IC_ID_MAX + 1];
	bool ready;			/* an established session */
	uint64_t sd, sb;
	uint8_t key[IC_KEY_LEN];
	uint64_t tx_seq;
	struct ic_replay rx;
	uint64_t lost;			/* datagrams the device sent that never arrived (sequence gaps) */
	/* A handshake answered with WELCOME but not yet confirmed. */
	bool pending;
	uint64_t p_sd, p_sb, p_tx_seq, p_hello_seq;
	uint8_t p_key[IC_KEY_LEN];
	/* The ticket the next HELLO must carry (0 once taken, until the caller
	 * gives a new one), and the CHALLENGE that hands it out, sealed once. */
	uint64_t ticket;
	uint8_t ticket_key[IC_KEY_LEN];
	uint8_t challenge[IC_HEADER_MAX + IC_TAG_LEN];
	size_t challenge_len;
	/* The last WELCOME of the pending handshake, as sent. */
	uint8_t p_welcome[IC_HEADER_MAX + 64];
	size_t p_welcome_len;
};

enum ic_peer_event {
	IC_EV_NONE,		/* nothing new beyond the message */
	IC_EV_HELLO,		/* a HELLO authenticated: give a new ticket, answer with ic_peer_welcome() */
	IC_EV_ESTABLISHED,	/* the pending session became the current one */
};

int ic_peer_init(struct ic_peer *p, const char *id, const uint8_t psk[IC_KEY_LEN]);
/* The ticket the next HELLO must carry (random, not 0): at start, and after
 * each IC_EV_HELLO that started a handshake (that took the ticket). */
int ic_peer_set_ticket(struct ic_peer *p, uint64_t ticket);
/* The CHALLENGE to answer an IC_ERR_TICKET with (sealed once per ticket:
 * answering costs no crypto). Returns its length, or 0 without a ticket. */
size_t ic_peer_challenge(const struct ic_peer *p, const uint8_t **dgram);

/* Opens a datagram whose header h was decoded and whose id matched this peer.
 * new_sb is a fresh random value used only if this HELLO starts a handshake.
 * On IC_OK, *ev tells what happened; *newest is true when the datagram
 * carried the highest sequence so far (only then should the caller move the
 * device's address: the newest authenticated datagram says where it is). */
int ic_peer_receive(struct ic_peer *p, const struct ic_header *h, size_t hdr_len,
		    const uint8_t *dgram, size_t len, uint64_t new_sb,
		    uint8_t *body, size_t *body_len, enum ic_peer_event *ev, bool *newest);

/* WELCOME for the pending handshake; it carries the current ticket, not w's. */
int ic_peer_welcome(struct ic_peer *p, const struct ic_welcome *w, uint8_t *out, size_t cap);

/* The WELCOME already sent for the pending handshake, when h is a copy of
 * the HELLO that started it (ic_peer_receive said IC_ERR_REPLAY): whoever
 * copied the hello and raced it here took the first answer, so the device is
 * sent the same one again. No crypto, no state; useless to anyone but the
 * device. Returns its length, or 0. */
size_t ic_peer_welcome_again(const struct ic_peer *p, const struct ic_header *h, const uint8_t **dgram);

/* Any message on the current session (needs ready). */
int ic_peer_seal(struct ic_peer *p, uint8_t type, const uint8_t *body, size_t body_len,
		 uint8_t *out, size_t cap);

/* The session is over (the device said BYE): nothing more is sealed on it. */
void ic_peer_close(struct ic_peer *p);
/* Forgets the handshake answered last (its HELLO could not be used). */
void ic_peer_drop_pending(struct ic_peer *p);

/* RESET answering a datagram (header h) on a session this peer does not know;
 * its sequence is the current ticket. */
int ic_peer_reset(const struct ic_peer *p, const struct ic_header *h, uint8_t *out, size_t cap);

#endif
