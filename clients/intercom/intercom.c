/*
 * Wire format, key schedule, replay window and message bodies of the intercom.
 * See docs/protocol.md; the test vectors there are checked by tests/unit.
 */
#include "intercom.h"
#include "ic_crypto.h"

#include <math.h>
#include <string.h>

static const char *const errors[] = {
	"ok", "datagram too short", "datagram too big", "unknown protocol version",
	"reserved flags set", "bad device id", "unknown message type",
	"authentication failed", "replayed datagram", "datagram older than the replay window",
	"malformed body", "no space", "unknown session", "unexpected in this state",
	"crypto backend failure", "hello without the current ticket",
};

const char *ic_strerror(int err)
{
	if (err > 0 || -err >= (int)(sizeof(errors) / sizeof(errors[0])))
		return "unknown error";
	return errors[-err];
}

static void put_u16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint16_t get_u16(const uint8_t *p)
{
	return (uint16_t)((uint16_t)p[0] << 8 | p[1]);
}

static void put_u32(uint8_t *p, uint32_t v)
{
	for (int i = 3; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static uint32_t get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put_u64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static uint64_t get_u64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static uint64_t double_bits(double d)
{
	uint64_t u;

	memcpy(&u, &d, sizeof(u));
	return u;
}

static double bits_double(uint64_t u)
{
	double d;

	memcpy(&d, &u, sizeof(d));
	return d;
}

bool ic_id_valid(const char *id, size_t len)
{
	if (len < 1 || len > IC_ID_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = id[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
			return false;
	}
	/* "bridge" is the base unit's own topic level */
	return !(len == 6 && memcmp(id, "bridge", 6) == 0);
}

/* Sensor and control names become JSON keys and topic-safe labels. */
bool ic_name_valid(const char *name, size_t len)
{
	if (len < 1 || len > IC_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
			return false;
	}
	return !(len == 9 && memcmp(name, "last_seen", 9) == 0);
}

static bool type_known(uint8_t t)
{
	return t >= IC_HELLO && t <= IC_CHALLENGE;
}

int ic_header_decode(struct ic_header *h, size_t *hdr_len, const uint8_t *buf, size_t len)
{
	size_t n;

	if (len > IC_MAX_DATAGRAM)
		return IC_ERR_TOO_BIG;
	if (len < 4)
		return IC_ERR_SHORT;
	if (buf[0] != IC_VERSION)
		return IC_ERR_VERSION;
	if (buf[2] != 0)
		return IC_ERR_FLAGS;
	if (!type_known(buf[1]))
		return IC_ERR_TYPE;
	n = buf[3];
	if (len < IC_HEADER_FIXED + n + IC_TAG_LEN)
		return IC_ERR_SHORT;
	if (!ic_id_valid((const char *)buf + 4, n))
		return IC_ERR_ID;
	h->version = buf[0];
	h->type = buf[1];
	h->flags = buf[2];
	h->id_len = (uint8_t)n;
	memcpy(h->id, buf + 4, n);
	h->id[n] = '\0';
	h->session = get_u64(buf + 4 + n);
	h->seq = get_u64(buf + 12 + n);
	h->ticket = 0;
	*hdr_len = IC_HEADER_FIXED + n;
	if (h->type == IC_HELLO) {
		if (len < IC_HEADER_FIXED + n + IC_TICKET_LEN + IC_TAG_LEN)
			return IC_ERR_SHORT;
		h->ticket = get_u64(buf + IC_HEADER_FIXED + n);
		*hdr_len += IC_TICKET_LEN;
	}
	return IC_OK;
}

/* info = id_len || id || the session ids; the salt names the key's purpose. */
static int derive(uint8_t out[IC_KEY_LEN], const char *salt, const uint8_t psk[IC_KEY_LEN],
		  const char *id, const uint64_t *sessions, int n_sessions)
{
	uint8_t info[1 + IC_ID_MAX + 16];
	size_t id_len = strlen(id), off;

	if (!ic_id_valid(id, id_len))
		return IC_ERR_ID;
	info[0] = (uint8_t)id_len;
	memcpy(info + 1, id, id_len);
	off = 1 + id_len;
	for (int i = 0; i < n_sessions; i++, off += 8)
		put_u64(info + off, sessions[i]);
	return ic_hkdf_sha256(out, IC_KEY_LEN, (const uint8_t *)salt, strlen(salt), psk,
			      IC_KEY_LEN, info, off);
}

int ic_key_hello(uint8_t out[IC_KEY_LEN], const uint8_t psk[IC_KEY_LEN], const char *id, uint64_t sd)
{
	return derive(out, "intercom1 hello", psk, id, &sd, 1);
}

int ic_key_session(uint8_t out[IC_KEY_LEN], const uint8_t psk[IC_KEY_LEN], const char *id,
		   uint64_t sd, uint64_t sb)
{
	uint64_t s[2] = { sd, sb };

	return derive(out, "intercom1 session", psk, id, s, 2);
}

int ic_key_reset(uint8_t out[IC_KEY_LEN], const uint8_t psk[IC_KEY_LEN], const char *id, uint64_t sb)
{
	return derive(out, "intercom1 reset", psk, id, &sb, 1);
}

int ic_key_ticket(uint8_t out[IC_KEY_LEN], const uint8_t psk[IC_KEY_LEN], const char *id)
{
	return derive(out, "intercom1 ticket", psk, id, NULL, 0);
}

static void make_nonce(uint8_t nonce[12], enum ic_dir dir, uint64_t seq)
{
	memset(nonce, 0, 4);
	nonce[0] = (uint8_t)dir;
	put_u64(nonce + 4, seq);
}

/* The header (with a HELLO's ticket when ticket is not NULL), then the
 * sealed body; the whole clear part is the associated data. */
static int seal(uint8_t *out, size_t cap, const uint8_t key[IC_KEY_LEN], enum ic_dir dir, uint8_t type,
		const char *id, uint64_t session, uint64_t seq, const uint64_t *ticket,
		const uint8_t *body, size_t body_len)
{
	size_t id_len = strlen(id), hdr = IC_HEADER_FIXED + id_len + (ticket ? IC_TICKET_LEN : 0), total;
	uint8_t nonce[12];
	int ret;

	if (!ic_id_valid(id, id_len))
		return IC_ERR_ID;
	total = hdr + body_len + IC_TAG_LEN;
	if (total > IC_MAX_DATAGRAM || total > cap)
		return IC_ERR_SPACE;
	out[0] = IC_VERSION;
	out[1] = type;
	out[2] = 0;
	out[3] = (uint8_t)id_len;
	memcpy(out + 4, id, id_len);
	put_u64(out + 4 + id_len, session);
	put_u64(out + 12 + id_len, seq);
	if (ticket)
		put_u64(out + IC_HEADER_FIXED + id_len, *ticket);
	make_nonce(nonce, dir, seq);
	ret = ic_aead_seal(key, nonce, out, hdr, body, body_len, out + hdr, out + hdr + body_len);
	return ret < 0 ? ret : (int)total;
}

int ic_seal(uint8_t *out, size_t cap, const uint8_t key[IC_KEY_LEN], enum ic_dir dir,
	    uint8_t type, const char *id, uint64_t session, uint64_t seq,
	    const uint8_t *body, size_t body_len)
{
	if (!type_known(type) || type == IC_HELLO)
		return IC_ERR_TYPE;
	return seal(out, cap, key, dir, type, id, session, seq, NULL, body, body_len);
}

int ic_seal_hello(uint8_t *out, size_t cap, const uint8_t key[IC_KEY_LEN], const char *id, uint64_t sd,
		  uint64_t seq, uint64_t ticket, const uint8_t *body, size_t body_len)
{
	return seal(out, cap, key, IC_TO_BASE, IC_HELLO, id, sd, seq, &ticket, body, body_len);
}

int ic_open(uint8_t *body, size_t *body_len, const uint8_t key[IC_KEY_LEN], enum ic_dir dir,
	    const uint8_t *dgram, size_t len, const struct ic_header *h, size_t hdr_len)
{
	size_t n = len - hdr_len - IC_TAG_LEN;	/* ic_header_decode checked the length */
	uint8_t nonce[12];
	int ret;

	make_nonce(nonce, dir, h->seq);
	ret = ic_aead_open(key, nonce, dgram, hdr_len, dgram + hdr_len, n, dgram + len - IC_TAG_LEN, body);
	if (ret == IC_OK)
		*body_len = n;
	return ret;
}

/* --- replay window: a ring of bits indexed by seq mod the window size --- */

#define WORDS (IC_REPLAY_WINDOW / 64)

void ic_replay_init(struct ic_replay *r)
{
	memset(r, 0, sizeof(*r));
}

static bool bit_get(const struct ic_replay *r, uint64_t seq)
{
	uint64_t i = seq % IC_REPLAY_WINDOW;

	return r->bits[i / 64] >> (i % 64) & 1;
}

int ic_replay_check(const struct ic_replay *r, uint64_t seq)
{
	if (seq == 0)
		return IC_ERR_OLD;	/* sequences start at 1 */
	if (seq > r->top)
		return IC_OK;
	if (r->top - seq >= IC_REPLAY_WINDOW)
		return IC_ERR_OLD;
	return bit_get(r, seq) ? IC_ERR_REPLAY : IC_OK;
}

void ic_replay_commit(struct ic_replay *r, uint64_t seq)
{
	uint64_t i;

	if (seq > r->top) {
		if (seq - r->top >= IC_REPLAY_WINDOW) {
			memset(r->bits, 0, sizeof(r->bits));
		} else {
			for (uint64_t s = r->top + 1; s < seq; s++) {
				i = s % IC_REPLAY_WINDOW;
				r->bits[i / 64] &= ~((uint64_t)1 << (i % 64));
			}
		}
		r->top = seq;
	}
	i = seq % IC_REPLAY_WINDOW;
	r->bits[i / 64] |= (uint64_t)1 << (i % 64);
}

/* --- bodies --- */

#define ENTRY_SENSOR 1
#define ENTRY_CONTROL 2
#define ENTRY_FAILSAFE 3	/* control u8, value f64, after_ms u32 */

/* Well-formed UTF-8 (no overlongs, no surrogates), no control characters,
 * no quote or backslash: units end up inside JSON strings. */
static bool unit_valid(const uint8_t *u, size_t len)
{
	for (size_t i = 0; i < len;) {
		uint8_t c = u[i];
		size_t n;
		uint32_t cp;

		if (c < 0x80) {
			if (c < 0x20 || c == 0x7f || c == '"' || c == '\\')
				return false;
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			cp = c & 0x07;
		} else {
			return false;
		}
		for (size_t k = 1; k <= n; k++) {
			if (i + k >= len || (u[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (u[i + k] & 0x3f);
		}
		if ((n == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)))
			return false;
		i += n + 1;
	}
	return true;
}

/* A device's error text: printable ASCII. */
static bool text_valid(const uint8_t *t, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (t[i] < 0x20 || t[i] > 0x7e)
			return false;
	return true;
}

/* Enum values become JSON strings and MQTT payload text: printable ASCII. */
static bool enum_value_valid(const uint8_t *v, size_t len)
{
	if (len < 1 || len > IC_ENUM_VALUE_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (v[i] < 0x20 || v[i] > 0x7e || v[i] == '"' || v[i] == '\\')
			return false;
	return true;
}

static bool control_valid(const struct ic_control *c)
{
	if (!ic_name_valid(c->name, strlen(c->name)))
		return false;
	switch (c->type) {
	case IC_SWITCH:
		return true;
	case IC_RANGE:
		return isfinite(c->min) && isfinite(c->max) && isfinite(c->step) && c->min < c->max &&
		       c->step > 0 && c->step <= c->max - c->min;
	case IC_ENUM:
		if (c->n_values < 1 || c->n_values > IC_ENUM_MAX)
			return false;
		for (int i = 0; i < c->n_values; i++) {
			if (!enum_value_valid((const uint8_t *)c->values[i], strlen(c->values[i])))
				return false;
			for (int j = 0; j < i; j++)
				if (!strcmp(c->values[i], c->values[j]))
					return false;
		}
		return true;
	}
	return false;
}

bool ic_control_value_valid(const struct ic_control *c, double v)
{
	double steps;

	if (!isfinite(v))
		return false;
	switch (c->type) {
	case IC_SWITCH:
		return v == 0 || v == 1;
	case IC_RANGE:
		if (v < c->min || v > c->max)
			return false;
		steps = (v - c->min) / c->step;
		return fabs(steps - round(steps)) < 1e-9 * (1 + fabs(steps));
	case IC_ENUM:
		return v >= 0 && v < c->n_values && v == floor(v);
	}
	return false;
}

static int encode_control(uint8_t *out, size_t cap, const struct ic_control *c)
{
	size_t nl = strlen(c->name), off = 0, need = 2 + nl;

	if (!control_valid(c))
		return IC_ERR_BODY;
	if (c->type == IC_RANGE)
		need += 24;
	if (c->type == IC_ENUM) {
		need += 1;
		for (int i = 0; i < c->n_values; i++)
			need += 1 + strlen(c->values[i]);
	}
	if (need > cap || need > 255)
		return IC_ERR_SPACE;
	out[off++] = (uint8_t)nl;
	memcpy(out + off, c->name, nl);
	off += nl;
	out[off++] = c->type;
	if (c->type == IC_RANGE) {
		put_u64(out + off, double_bits(c->min));
		put_u64(out + off + 8, double_bits(c->max));
		put_u64(out + off + 16, double_bits(c->step));
		off += 24;
	} else if (c->type == IC_ENUM) {
		out[off++] = c->n_values;
		for (int i = 0; i < c->n_values; i++) {
			size_t vl = strlen(c->values[i]);
			out[off++] = (uint8_t)vl;
			memcpy(out + off, c->values[i], vl);
			off += vl;
		}
	}
	return (int)off;
}

static int decode_control(struct ic_control *c, const uint8_t *e, size_t el)
{
	size_t nl, off;

	memset(c, 0, sizeof(*c));
	if (el < 2)
		return IC_ERR_BODY;
	nl = e[0];
	if (1 + nl + 1 > el || !ic_name_valid((const char *)e + 1, nl))
		return IC_ERR_BODY;
	memcpy(c->name, e + 1, nl);
	off = 1 + nl;
	c->type = e[off++];
	if (c->type == IC_RANGE) {
		if (off + 24 != el)
			return IC_ERR_BODY;
		c->min = bits_double(get_u64(e + off));
		c->max = bits_double(get_u64(e + off + 8));
		c->step = bits_double(get_u64(e + off + 16));
		off += 24;
	} else if (c->type == IC_ENUM) {
		if (off >= el)
			return IC_ERR_BODY;
		c->n_values = e[off++];
		if (c->n_values > IC_ENUM_MAX)
			return IC_ERR_BODY;
		for (int i = 0; i < c->n_values; i++) {
			size_t vl;
			if (off >= el)
				return IC_ERR_BODY;
			vl = e[off++];
			if (off + vl > el || vl > IC_ENUM_VALUE_MAX)
				return IC_ERR_BODY;
			memcpy(c->values[i], e + off, vl);
			off += vl;
		}
	}
	return off == el && control_valid(c) ? IC_OK : IC_ERR_BODY;
}

int ic_hello_encode(uint8_t *out, size_t cap, const struct ic_hello *m)
{
	size_t off = 4;

	if (cap < 4 || m->n_sensors > IC_MAX_SENSORS || m->n_controls > IC_MAX_CONTROLS)
		return IC_ERR_SPACE;
	out[0] = m->kind;
	put_u16(out + 1, m->keepalive);
	out[3] = (uint8_t)(m->n_sensors + m->n_controls);
	for (int i = 0; i < m->n_controls; i++)
		out[3] += m->controls[i].failsafe_ms != 0;
	for (int i = 0; i < m->n_sensors; i++) {
		const struct ic_sensor *s = &m->sensors[i];
		size_t nl = strlen(s->name), ul = strlen(s->unit), el = 2 + nl + ul;

		if (!ic_name_valid(s->name, nl) || ul > IC_UNIT_MAX)
			return IC_ERR_BODY;
		if (off + 2 + el > cap || off + 2 + el > IC_BODY_MAX)
			return IC_ERR_SPACE;
		out[off++] = ENTRY_SENSOR;
		out[off++] = (uint8_t)el;
		out[off++] = (uint8_t)nl;
		memcpy(out + off, s->name, nl);
		off += nl;
		out[off++] = (uint8_t)ul;
		memcpy(out + off, s->unit, ul);
		off += ul;
	}
	for (int i = 0; i < m->n_controls; i++) {
		int n;

		if (off + 2 > cap)
			return IC_ERR_SPACE;
		n = encode_control(out + off + 2, cap - off - 2, &m->controls[i]);
		if (n < 0)
			return n;
		if (off + 2 + (size_t)n > IC_BODY_MAX)
			return IC_ERR_SPACE;
		out[off] = ENTRY_CONTROL;
		out[off + 1] = (uint8_t)n;
		off += 2 + (size_t)n;
	}
	for (int i = 0; i < m->n_controls; i++) {
		const struct ic_control *c = &m->controls[i];

		if (!c->failsafe_ms)
			continue;
		if (c->failsafe_ms > IC_FAILSAFE_MAX_MS || !ic_control_value_valid(c, c->failsafe))
			return IC_ERR_BODY;
		if (off + 15 > cap || off + 15 > IC_BODY_MAX)
			return IC_ERR_SPACE;
		out[off] = ENTRY_FAILSAFE;
		out[off + 1] = 13;
		out[off + 2] = (uint8_t)i;
		put_u64(out + off + 3, double_bits(c->failsafe));
		put_u32(out + off + 11, c->failsafe_ms);
		off += 15;
	}
	return (int)off;
}

int ic_hello_decode(struct ic_hello *m, const uint8_t *in, size_t len)
{
	size_t off = 4;
	int count;

	memset(m, 0, sizeof(*m));	/* so decoded hellos compare with memcmp */
	if (len < 4)
		return IC_ERR_BODY;
	m->kind = in[0];
	m->keepalive = get_u16(in + 1);
	count = in[3];
	m->n_sensors = 0;
	if (m->kind < IC_KIND_READ || m->kind > IC_KIND_CAMERA || m->keepalive == 0)
		return IC_ERR_BODY;
	/* Entries are type-length-value, so a newer device's extra entries are skipped. */
	for (int i = 0; i < count; i++) {
		size_t el, nl, ul;
		const uint8_t *e;

		if (off + 2 > len || off + 2 + in[off + 1] > len)
			return IC_ERR_BODY;
		el = in[off + 1];
		e = in + off + 2;
		if (in[off] == ENTRY_SENSOR) {
			struct ic_sensor *s;

			if (m->n_sensors >= IC_MAX_SENSORS || el < 2)
				return IC_ERR_BODY;
			nl = e[0];
			if (1 + nl + 1 > el)
				return IC_ERR_BODY;
			ul = e[1 + nl];
			if (2 + nl + ul != el || !ic_name_valid((const char *)e + 1, nl) ||
			    ul > IC_UNIT_MAX || !unit_valid(e + 2 + nl, ul))
				return IC_ERR_BODY;
			s = &m->sensors[m->n_sensors];
			memcpy(s->name, e + 1, nl);
			s->name[nl] = '\0';
			memcpy(s->unit, e + 2 + nl, ul);
			s->unit[ul] = '\0';
			for (int j = 0; j < m->n_sensors; j++)
				if (strcmp(m->sensors[j].name, s->name) == 0)
					return IC_ERR_BODY;
			m->n_sensors++;
		} else if (in[off] == ENTRY_CONTROL) {
			struct ic_control *c;

			if (m->n_controls >= IC_MAX_CONTROLS)
				return IC_ERR_BODY;
			c = &m->controls[m->n_controls];
			if (decode_control(c, e, el) != IC_OK)
				return IC_ERR_BODY;
			for (int j = 0; j < m->n_controls; j++)
				if (strcmp(m->controls[j].name, c->name) == 0)
					return IC_ERR_BODY;
			m->n_controls++;
		} else if (in[off] == ENTRY_FAILSAFE) {
			/* of a control announced before it, once */
			struct ic_control *c;
			uint32_t ms;

			if (el != 13 || e[0] >= m->n_controls)
				return IC_ERR_BODY;
			c = &m->controls[e[0]];
			ms = get_u32(e + 9);
			if (c->failsafe_ms || ms == 0 || ms > IC_FAILSAFE_MAX_MS)
				return IC_ERR_BODY;
			c->failsafe = bits_double(get_u64(e + 1));
			c->failsafe_ms = ms;
			if (!ic_control_value_valid(c, c->failsafe))
				return IC_ERR_BODY;
		}
		off += 2 + el;
	}
	return off == len ? IC_OK : IC_ERR_BODY;
}

int ic_welcome_encode(uint8_t *out, size_t cap, const struct ic_welcome *m)
{
	if (cap < 18)
		return IC_ERR_SPACE;
	put_u16(out, m->keepalive);
	put_u64(out + 2, m->time_ms);
	put_u64(out + 10, m->ticket);
	return 18;
}

int ic_welcome_decode(struct ic_welcome *m, const uint8_t *in, size_t len)
{
	if (len < 18)	/* longer is allowed: room for later fields */
		return IC_ERR_BODY;
	m->keepalive = get_u16(in);
	m->time_ms = get_u64(in + 2);
	m->ticket = get_u64(in + 10);
	return m->keepalive && m->ticket ? IC_OK : IC_ERR_BODY;
}

int ic_reading_encode(uint8_t *out, size_t cap, const struct ic_reading *m)
{
	size_t need = 1 + (size_t)m->n * 9;

	if (m->n > IC_MAX_SENSORS || need > cap)
		return IC_ERR_SPACE;
	out[0] = m->n;
	for (int i = 0; i < m->n; i++) {
		out[1 + i * 9] = m->values[i].index;
		put_u64(out + 2 + i * 9, double_bits(m->values[i].value));
	}
	return (int)need;
}

int ic_reading_decode(struct ic_reading *m, const uint8_t *in, size_t len)
{
	if (len < 1 || in[0] > IC_MAX_SENSORS || len != 1 + (size_t)in[0] * 9)
		return IC_ERR_BODY;
	m->n = in[0];
	for (int i = 0; i < m->n; i++) {
		m->values[i].index = in[1 + i * 9];
		m->values[i].value = bits_double(get_u64(in + 2 + i * 9));
		if (!isfinite(m->values[i].value))	/* JSON has no NaN or infinity */
			return IC_ERR_BODY;
	}
	return IC_OK;
}

/* A list of (index u8, value f64), as in READING and STATE. */
static int values_encode(uint8_t *out, size_t cap, const struct ic_reading *m)
{
	return ic_reading_encode(out, cap, m);
}

int ic_command_encode(uint8_t *out, size_t cap, const struct ic_command *m)
{
	int n;

	if (cap < 16)
		return IC_ERR_SPACE;
	put_u64(out, m->id);
	put_u64(out + 8, m->expires_ms);
	n = values_encode(out + 16, cap - 16, &m->set);
	return n < 0 ? n : 16 + n;
}

int ic_command_decode(struct ic_command *m, const uint8_t *in, size_t len)
{
	if (len < 17)
		return IC_ERR_BODY;
	m->id = get_u64(in);
	m->expires_ms = get_u64(in + 8);
	return ic_reading_decode(&m->set, in + 16, len - 16);
}

int ic_ack_encode(uint8_t *out, size_t cap, const struct ic_ack *m)
{
	size_t el = strlen(m->error);
	int n;

	if (el > IC_ERROR_MAX || m->status > IC_ACK_EXPIRED)
		return IC_ERR_BODY;
	if (cap < 10 + el)
		return IC_ERR_SPACE;
	put_u64(out, m->id);
	out[8] = m->status;
	out[9] = (uint8_t)el;
	memcpy(out + 10, m->error, el);
	n = values_encode(out + 10 + el, cap - 10 - el, &m->state);
	return n < 0 ? n : (int)(10 + el) + n;
}

int ic_ack_decode(struct ic_ack *m, const uint8_t *in, size_t len)
{
	size_t el;

	if (len < 11)
		return IC_ERR_BODY;
	m->id = get_u64(in);
	m->status = in[8];
	el = in[9];
	if (m->status > IC_ACK_EXPIRED || el > IC_ERROR_MAX || 10 + el >= len ||
	    !text_valid(in + 10, el))
		return IC_ERR_BODY;
	memcpy(m->error, in + 10, el);
	m->error[el] = '\0';
	return ic_reading_decode(&m->state, in + 10 + el, len - 10 - el);
}

uint16_t ic_fragment_count(uint32_t total)
{
	return (uint16_t)((total + IC_FRAGMENT_DATA - 1) / IC_FRAGMENT_DATA);
}

int ic_fragment_encode(uint8_t *out, size_t cap, uint32_t frame_id, uint16_t index,
		       const uint8_t *jpeg, uint32_t total)
{
	uint16_t count = ic_fragment_count(total);
	size_t off, len;

	if (total == 0 || total > IC_FRAME_MAX || index >= count)
		return IC_ERR_BODY;
	off = (size_t)index * IC_FRAGMENT_DATA;
	len = total - off < IC_FRAGMENT_DATA ? total - off : IC_FRAGMENT_DATA;
	if (cap < IC_FRAME_HEADER + len)
		return IC_ERR_SPACE;
	out[0] = (uint8_t)(frame_id >> 24);
	out[1] = (uint8_t)(frame_id >> 16);
	out[2] = (uint8_t)(frame_id >> 8);
	out[3] = (uint8_t)frame_id;
	put_u16(out + 4, index);
	put_u16(out + 6, count);
	out[8] = (uint8_t)(total >> 24);
	out[9] = (uint8_t)(total >> 16);
	out[10] = (uint8_t)(total >> 8);
	out[11] = (uint8_t)total;
	memcpy(out + IC_FRAME_HEADER, jpeg + off, len);
	return (int)(IC_FRAME_HEADER + len);
}

int ic_fragment_decode(struct ic_fragment *f, const uint8_t *in, size_t len)
{
	size_t want;

	if (len < IC_FRAME_HEADER + 1)
		return IC_ERR_BODY;
	f->frame_id = (uint32_t)in[0] << 24 | (uint32_t)in[1] << 16 | (uint32_t)in[2] << 8 | in[3];
	f->index = get_u16(in + 4);
	f->count = get_u16(in + 6);
	f->total = (uint32_t)in[8] << 24 | (uint32_t)in[9] << 16 | (uint32_t)in[10] << 8 | in[11];
	if (f->total == 0 || f->total > IC_FRAME_MAX || f->count != ic_fragment_count(f->total) ||
	    f->index >= f->count)
		return IC_ERR_BODY;
	/* every fragment but the last is full, so the offset follows from the index */
	want = f->index + 1 < f->count ? IC_FRAGMENT_DATA : f->total - (size_t)f->index * IC_FRAGMENT_DATA;
	if (len - IC_FRAME_HEADER != want)
		return IC_ERR_BODY;
	f->data = in + IC_FRAME_HEADER;
	f->len = want;
	return IC_OK;
}
