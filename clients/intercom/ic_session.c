/* Session state machines for both ends; see ic_session.h and docs/protocol.md. */
#include "ic_session.h"

#include <string.h>

static int set_identity(char id_out[IC_ID_MAX + 1], uint8_t psk_out[IC_KEY_LEN], const char *id,
			const uint8_t psk[IC_KEY_LEN])
{
	size_t n = strlen(id);

	if (!ic_id_valid(id, n))
		return IC_ERR_ID;
	memcpy(id_out, id, n + 1);
	memcpy(psk_out, psk, IC_KEY_LEN);
	return IC_OK;
}

int ic_device_init(struct ic_device *d, const char *id, const uint8_t psk[IC_KEY_LEN])
{
	int ret;

	memset(d, 0, sizeof(*d));
	ret = set_identity(d->id, d->psk, id, psk);
	return ret == IC_OK ? ic_key_ticket(d->ticket_key, d->psk, d->id) : ret;
}

int ic_device_restart(struct ic_device *d, uint64_t sd)
{
	d->state = IC_DEV_HELLO;
	d->sd = sd;
	d->sb = 0;
	d->tx_seq = 0;
	ic_replay_init(&d->rx);
	return ic_key_hello(d->hello_key, d->psk, d->id, sd);
}

int ic_device_hello(struct ic_device *d, const uint8_t *body, size_t body_len,
		    uint8_t *out, size_t cap)
{
	if (d->state != IC_DEV_HELLO)
		return IC_ERR_STATE;
	return ic_seal_hello(out, cap, d->hello_key, d->id, d->sd, ++d->tx_seq, d->ticket, body, body_len);
}

int ic_device_seal(struct ic_device *d, uint8_t type, const uint8_t *body, size_t body_len,
		   uint8_t *out, size_t cap)
{
	if (d->state != IC_DEV_READY || type == IC_HELLO)
		return IC_ERR_STATE;
	return ic_seal(out, cap, d->key, IC_TO_BASE, type, d->id, d->sb, ++d->tx_seq, body, body_len);
}

int ic_device_receive(struct ic_device *d, const uint8_t *dgram, size_t len, uint8_t *type,
		      uint8_t *body, size_t *body_len)
{
	struct ic_header h;
	uint8_t key[IC_KEY_LEN];
	size_t hl;
	int ret = ic_header_decode(&h, &hl, dgram, len);

	if (ret != IC_OK)
		return ret;
	if (strcmp(h.id, d->id) != 0)
		return IC_ERR_ID;
	switch (h.type) {
	case IC_WELCOME:
		if (d->state == IC_DEV_READY && h.session == d->sb)
			return IC_ERR_REPLAY;	/* a duplicate answer to a retransmitted hello */
		if (d->state != IC_DEV_HELLO)
			return IC_ERR_STATE;
		ret = ic_key_session(key, d->psk, d->id, d->sd, h.session);
		if (ret == IC_OK)
			ret = ic_open(body, body_len, key, IC_TO_DEVICE, dgram, len, &h, hl);
		if (ret != IC_OK)
			return ret;
		{
			struct ic_welcome w;

			if (ic_welcome_decode(&w, body, *body_len) != IC_OK)
				return IC_ERR_BODY;
			d->ticket = w.ticket;
		}
		memcpy(d->key, key, IC_KEY_LEN);
		d->sb = h.session;
		d->state = IC_DEV_READY;
		ic_replay_init(&d->rx);
		ic_replay_commit(&d->rx, h.seq);
		break;
	case IC_RESET:
		if (d->state != IC_DEV_READY || h.session != d->sb)
			return IC_ERR_SESSION;
		ret = ic_key_reset(key, d->psk, d->id, h.session);
		if (ret == IC_OK)
			ret = ic_open(body, body_len, key, IC_TO_DEVICE, dgram, len, &h, hl);
		if (ret != IC_OK)
			return ret;
		d->state = IC_DEV_IDLE;
		d->ticket = h.seq;
		break;
	case IC_CHALLENGE:
		if (d->state != IC_DEV_HELLO)
			return IC_ERR_STATE;	/* never ends a running session */
		if (h.seq == d->ticket)
			return IC_ERR_REPLAY;
		ret = ic_open(body, body_len, d->ticket_key, IC_TO_DEVICE, dgram, len, &h, hl);
		if (ret != IC_OK)
			return ret;
		d->ticket = h.seq;
		break;
	case IC_HELLO:
	case IC_BYE:
	case IC_READING:
	case IC_STATE:
	case IC_ACK:
	case IC_FRAME:
		return IC_ERR_TYPE;	/* device-to-base only */
	default:
		if (d->state != IC_DEV_READY)
			return IC_ERR_STATE;
		if (h.session != d->sb)
			return IC_ERR_SESSION;
		ret = ic_replay_check(&d->rx, h.seq);
		if (ret == IC_OK)
			ret = ic_open(body, body_len, d->key, IC_TO_DEVICE, dgram, len, &h, hl);
		if (ret != IC_OK)
			return ret;
		ic_replay_commit(&d->rx, h.seq);
		break;
	}
	*type = h.type;
	return IC_OK;
}

int ic_peer_init(struct ic_peer *p, const char *id, const uint8_t psk[IC_KEY_LEN])
{
	int ret;

	memset(p, 0, sizeof(*p));
	ret = set_identity(p->id, p->psk, id, psk);
	return ret == IC_OK ? ic_key_ticket(p->ticket_key, p->psk, p->id) : ret;
}

int ic_peer_set_ticket(struct ic_peer *p, uint64_t ticket)
{
	int n;

	p->ticket = 0;
	p->challenge_len = 0;
	if (!ticket)
		return IC_ERR_STATE;
	/* One CHALLENGE per ticket: its sequence is the ticket, so the
	 * (key, nonce) pair is never used for anything else. */
	n = ic_seal(p->challenge, sizeof(p->challenge), p->ticket_key, IC_TO_DEVICE, IC_CHALLENGE, p->id, 0,
		    ticket, NULL, 0);
	if (n < 0)
		return n;
	p->challenge_len = (size_t)n;
	p->ticket = ticket;
	return IC_OK;
}

size_t ic_peer_challenge(const struct ic_peer *p, const uint8_t **dgram)
{
	*dgram = p->challenge;
	return p->ticket ? p->challenge_len : 0;
}

static int peer_hello(struct ic_peer *p, const struct ic_header *h, size_t hl, const uint8_t *dgram,
		      size_t len, uint64_t new_sb, uint8_t *body, size_t *body_len)
{
	uint8_t key[IC_KEY_LEN];
	bool again = p->pending && p->p_sd == h->session;
	int ret;

	/* What a replay can be told from is checked before any crypto. */
	if (again && h->seq <= p->p_hello_seq)
		return IC_ERR_REPLAY;
	if (p->ready && p->sd == h->session)
		return IC_ERR_STATE;	/* a late hello of the session already running */
	if (!again && (!h->ticket || h->ticket != p->ticket))
		return IC_ERR_TICKET;
	ret = ic_key_hello(key, p->psk, p->id, h->session);
	if (ret == IC_OK)
		ret = ic_open(body, body_len, key, IC_TO_BASE, dgram, len, h, hl);
	if (ret != IC_OK)
		return ret;
	if (again) {
		/* a retransmitted hello: answer again with the same base session */
		p->p_hello_seq = h->seq;
		return IC_OK;
	}
	p->ticket = 0;	/* taken: the caller gives the next one */
	p->challenge_len = 0;
	ret = ic_key_session(p->p_key, p->psk, p->id, h->session, new_sb);
	if (ret != IC_OK)
		return ret;
	p->pending = true;
	p->p_welcome_len = 0;
	p->p_sd = h->session;
	p->p_sb = new_sb;
	p->p_tx_seq = 0;
	p->p_hello_seq = h->seq;
	return IC_OK;
}

int ic_peer_receive(struct ic_peer *p, const struct ic_header *h, size_t hl,
		    const uint8_t *dgram, size_t len, uint64_t new_sb,
		    uint8_t *body, size_t *body_len, enum ic_peer_event *ev, bool *newest)
{
	int ret;

	*ev = IC_EV_NONE;
	*newest = false;
	if (h->type == IC_WELCOME || h->type == IC_RESET || h->type == IC_COMMAND || h->type == IC_GET ||
	    h->type == IC_CHALLENGE)
		return IC_ERR_TYPE;	/* base-to-device only */
	if (h->type == IC_HELLO) {
		ret = peer_hello(p, h, hl, dgram, len, new_sb, body, body_len);
		if (ret == IC_OK)
			*ev = IC_EV_HELLO;
		return ret;
	}
	if (p->pending && h->session == p->p_sb) {
		ret = ic_open(body, body_len, p->p_key, IC_TO_BASE, dgram, len, h, hl);
		if (ret != IC_OK)
			return ret;
		/* The device proved it holds the fresh session key: adopt it. */
		p->ready = true;
		p->pending = false;
		p->sd = p->p_sd;
		p->sb = p->p_sb;
		memcpy(p->key, p->p_key, IC_KEY_LEN);
		p->tx_seq = p->p_tx_seq;
		ic_replay_init(&p->rx);
		ic_replay_commit(&p->rx, h->seq);
		*ev = IC_EV_ESTABLISHED;
		*newest = true;
		return IC_OK;
	}
	if (!p->ready || h->session != p->sb)
		return IC_ERR_SESSION;
	ret = ic_replay_check(&p->rx, h->seq);
	if (ret == IC_OK)
		ret = ic_open(body, body_len, p->key, IC_TO_BASE, dgram, len, h, hl);
	if (ret != IC_OK)
		return ret;
	*newest = h->seq > p->rx.top;
	/* A jump past the newest means datagrams lost on the way (or late: a
	 * late one arriving later takes its count back). */
	if (*newest)
		p->lost += h->seq - p->rx.top - 1;
	else if (p->lost)
		p->lost--;
	ic_replay_commit(&p->rx, h->seq);
	return IC_OK;
}

int ic_peer_welcome(struct ic_peer *p, const struct ic_welcome *w, uint8_t *out, size_t cap)
{
	struct ic_welcome with = *w;
	uint8_t body[32];
	int n;

	if (!p->pending || !p->ticket)
		return IC_ERR_STATE;
	with.ticket = p->ticket;
	n = ic_welcome_encode(body, sizeof(body), &with);
	if (n < 0)
		return n;
	n = ic_seal(out, cap, p->p_key, IC_TO_DEVICE, IC_WELCOME, p->id, p->p_sb, ++p->p_tx_seq, body, (size_t)n);
	p->p_welcome_len = 0;
	if (n > 0 && (size_t)n <= sizeof(p->p_welcome)) {
		memcpy(p->p_welcome, out, (size_t)n);
		p->p_welcome_len = (size_t)n;
	}
	return n;
}

size_t ic_peer_welcome_again(const struct ic_peer *p, const struct ic_header *h, const uint8_t **dgram)
{
	*dgram = p->p_welcome;
	if (h->type != IC_HELLO || !p->pending || h->session != p->p_sd || h->seq != p->p_hello_seq)
		return 0;
	return p->p_welcome_len;
}

int ic_peer_seal(struct ic_peer *p, uint8_t type, const uint8_t *body, size_t body_len,
		 uint8_t *out, size_t cap)
{
	if (!p->ready)
		return IC_ERR_STATE;
	return ic_seal(out, cap, p->key, IC_TO_DEVICE, type, p->id, p->sb, ++p->tx_seq, body, body_len);
}

int ic_peer_reset(const struct ic_peer *p, const struct ic_header *h, uint8_t *out, size_t cap)
{
	uint8_t key[IC_KEY_LEN];
	int ret = ic_key_reset(key, p->psk, p->id, h->session);

	if (ret != IC_OK)
		return ret;
	/* Its sequence is the ticket: deterministic on purpose, so a key (one per
	 * refused session) and nonce are only ever used for the same empty body. */
	if (!p->ticket)
		return IC_ERR_STATE;
	return ic_seal(out, cap, key, IC_TO_DEVICE, IC_RESET, p->id, h->session, p->ticket, NULL, 0);
}

void ic_peer_close(struct ic_peer *p)
{
	p->ready = false;
}

void ic_peer_drop_pending(struct ic_peer *p)
{
	p->pending = false;
}
