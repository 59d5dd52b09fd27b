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
	memset(d, 0, sizeof(*d));
	return set_identity(d->id, d->psk, id, psk);
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
	return ic_seal(out, cap, d->hello_key, IC_TO_BASE, IC_HELLO, d->id, d->sd, ++d->tx_seq,
		       body, body_len);
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
	memset(p, 0, sizeof(*p));
	return set_identity(p->id, p->psk, id, psk);
}

static int peer_hello(struct ic_peer *p, const struct ic_header *h, size_t hl, const uint8_t *dgram,
		      size_t len, uint64_t new_sb, uint8_t *body, size_t *body_len)
{
	uint8_t key[IC_KEY_LEN];
	int ret = ic_key_hello(key, p->psk, p->id, h->session);

	if (ret == IC_OK)
		ret = ic_open(body, body_len, key, IC_TO_BASE, dgram, len, h, hl);
	if (ret != IC_OK)
		return ret;
	if (p->pending && p->p_sd == h->session) {
		/* a retransmitted hello: answer again with the same base session */
		if (h->seq <= p->p_hello_seq)
			return IC_ERR_REPLAY;
		p->p_hello_seq = h->seq;
		return IC_OK;
	}
	if (p->ready && p->sd == h->session)
		return IC_ERR_STATE;	/* a late hello of the session already running */
	ret = ic_key_session(p->p_key, p->psk, p->id, h->session, new_sb);
	if (ret != IC_OK)
		return ret;
	p->pending = true;
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
	if (h->type == IC_WELCOME || h->type == IC_RESET || h->type == IC_COMMAND || h->type == IC_GET)
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
	uint8_t body[16];
	int n;

	if (!p->pending)
		return IC_ERR_STATE;
	n = ic_welcome_encode(body, sizeof(body), w);
	if (n < 0)
		return n;
	return ic_seal(out, cap, p->p_key, IC_TO_DEVICE, IC_WELCOME, p->id, p->p_sb, ++p->p_tx_seq,
		       body, (size_t)n);
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
	/* Deterministic on purpose: the same stale datagram always yields the same
	 * empty RESET, so repeating it reuses a nonce only for identical plaintext. */
	return ic_seal(out, cap, key, IC_TO_DEVICE, IC_RESET, p->id, h->session, h->seq, NULL, 0);
}

void ic_peer_close(struct ic_peer *p)
{
	p->ready = false;
}

void ic_peer_drop_pending(struct ic_peer *p)
{
	p->pending = false;
}
