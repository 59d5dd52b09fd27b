/* The intercom library: vectors byte for byte, round trips, and everything
 * that must be refused. */
#include "test.h"
#include "tests.h"
#include "vectors.h"
#include "ic_crypto.h"
#include "ic_session.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const DEV = "cellar-thermo";
static const uint64_t SD = 0x0102030405060708ull, SB = 0x1112131415161718ull;
static const uint64_t TICKET = 0x2122232425262728ull, NEXT_TICKET = 0x3132333435363738ull;

int vector_get(const char *name, uint8_t *out, size_t cap)
{
	const char *dir = getenv("VECTORS");
	char path[512], line[4096];
	size_t nl = strlen(name);
	FILE *f;
	int ret = -1;

	snprintf(path, sizeof(path), "%s/intercom-v1.txt", dir ? dir : "tests/vectors");
	f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "  cannot open %s\n", path);
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		const char *hex;
		size_t n = 0;

		if (strncmp(line, name, nl) != 0 || line[nl] != ' ')
			continue;
		hex = line + nl + 1;
		while (isxdigit((unsigned char)hex[0]) && isxdigit((unsigned char)hex[1]) && n < cap) {
			unsigned v;
			sscanf(hex, "%2x", &v);
			out[n++] = (uint8_t)v;
			hex += 2;
		}
		ret = (int)n;
		break;
	}
	fclose(f);
	return ret;
}

static void psk_fill(uint8_t psk[32])
{
	for (int i = 0; i < 32; i++)
		psk[i] = (uint8_t)i;
}

static void check_vector(const char *name, const uint8_t *got, int got_len)
{
	uint8_t want[IC_MAX_DATAGRAM];
	int n = vector_get(name, want, sizeof(want));

	if (n < 0 || n != got_len || memcmp(want, got, (size_t)n) != 0) {
		fprintf(stderr, "  vector %s differs (want %d bytes, got %d)\n", name, n, got_len);
		test_failures++;
	}
}

static struct ic_hello thermo_hello(void)
{
	struct ic_hello h = { .kind = IC_KIND_READ, .keepalive = 15, .n_sensors = 2 };

	snprintf(h.sensors[0].name, sizeof(h.sensors[0].name), "%s", "temperature");
	snprintf(h.sensors[0].unit, sizeof(h.sensors[0].unit), "%s", "\xc2\xb0" "C");
	snprintf(h.sensors[1].name, sizeof(h.sensors[1].name), "%s", "humidity");
	snprintf(h.sensors[1].unit, sizeof(h.sensors[1].unit), "%s", "%");
	return h;
}

/* RFC 8439 section 2.8.2: the AEAD backend itself. */
static void test_aead_rfc8439(void)
{
	static const char pt[] = "Ladies and Gentlemen of the class of '99: If I could offer you only one "
				 "tip for the future, sunscreen would be it.";
	static const uint8_t nonce[12] = { 0x07, 0, 0, 0, 0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47 };
	static const uint8_t aad[12] = { 0x50, 0x51, 0x52, 0x53, 0xc0, 0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7 };
	static const uint8_t tag_want[16] = { 0x1a, 0xe1, 0x0b, 0x59, 0x4f, 0x09, 0xe2, 0x6a,
					      0x7e, 0x90, 0x2e, 0xcb, 0xd0, 0x60, 0x06, 0x91 };
	uint8_t key[32], ct[sizeof(pt)], tag[16], back[sizeof(pt)];

	for (int i = 0; i < 32; i++)
		key[i] = (uint8_t)(0x80 + i);
	CHECK_EQ(ic_aead_seal(key, nonce, aad, sizeof(aad), (const uint8_t *)pt, sizeof(pt) - 1, ct, tag), 0);
	CHECK_EQ(ct[0], 0xd3);
	CHECK_EQ(ct[1], 0x1a);
	CHECK(memcmp(tag, tag_want, 16) == 0);
	CHECK_EQ(ic_aead_open(key, nonce, aad, sizeof(aad), ct, sizeof(pt) - 1, tag, back), 0);
	CHECK(memcmp(back, pt, sizeof(pt) - 1) == 0);
	tag[0] ^= 1;
	CHECK_EQ(ic_aead_open(key, nonce, aad, sizeof(aad), ct, sizeof(pt) - 1, tag, back), IC_ERR_AUTH);
}

static void test_vectors_keys_and_bodies(void)
{
	uint8_t psk[32], k[32], body[IC_BODY_MAX];
	struct ic_hello h = thermo_hello();
	struct ic_welcome w = { .keepalive = 15, .time_ms = 1795996800000ull, .ticket = NEXT_TICKET };
	struct ic_reading r = { .n = 2, .values = { { 0, 12.5 }, { 1, 81.0 } } };

	psk_fill(psk);
	CHECK_EQ(ic_key_hello(k, psk, DEV, SD), IC_OK);
	check_vector("key_hello", k, 32);
	CHECK_EQ(ic_key_session(k, psk, DEV, SD, SB), IC_OK);
	check_vector("key_session", k, 32);
	CHECK_EQ(ic_key_reset(k, psk, DEV, SB), IC_OK);
	check_vector("key_reset", k, 32);
	CHECK_EQ(ic_key_ticket(k, psk, DEV), IC_OK);
	check_vector("key_ticket", k, 32);
	check_vector("body_hello", body, ic_hello_encode(body, sizeof(body), &h));
	check_vector("body_welcome", body, ic_welcome_encode(body, sizeof(body), &w));
	check_vector("body_reading", body, ic_reading_encode(body, sizeof(body), &r));
}

/* The whole conversation of the vectors, through both state machines. */
static void test_vectors_session(void)
{
	uint8_t psk[32], hb[IC_BODY_MAX], out[IC_MAX_DATAGRAM], body[IC_MAX_DATAGRAM], rb[64];
	struct ic_hello h = thermo_hello(), got;
	struct ic_welcome w = { .keepalive = 15, .time_ms = 1795996800000ull };
	struct ic_reading r = { .n = 2, .values = { { 0, 12.5 }, { 1, 81.0 } } }, rr;
	struct ic_device d;
	struct ic_peer p;
	struct ic_header hdr;
	enum ic_peer_event ev;
	size_t hl, blen;
	bool newest;
	uint8_t type;
	int n, hn, rn;

	const uint8_t *challenge;

	psk_fill(psk);
	CHECK_EQ(ic_device_init(&d, DEV, psk), IC_OK);
	CHECK_EQ(ic_peer_init(&p, DEV, psk), IC_OK);
	CHECK_EQ(ic_peer_set_ticket(&p, TICKET), IC_OK);
	hn = ic_hello_encode(hb, sizeof(hb), &h);
	CHECK_EQ(ic_device_restart(&d, SD), IC_OK);

	/* a device that just started has no ticket: its hello is challenged */
	n = ic_device_hello(&d, hb, (size_t)hn, out, sizeof(out));
	CHECK_EQ(ic_header_decode(&hdr, &hl, out, (size_t)n), IC_OK);
	CHECK_EQ(hdr.ticket, 0);
	CHECK_EQ(ic_peer_receive(&p, &hdr, hl, out, (size_t)n, SB, body, &blen, &ev, &newest), IC_ERR_TICKET);
	CHECK(!p.pending);
	n = (int)ic_peer_challenge(&p, &challenge);
	check_vector("dgram_challenge", challenge, n);
	CHECK_EQ(ic_device_receive(&d, challenge, (size_t)n, &type, body, &blen), IC_OK);
	CHECK_EQ(type, IC_CHALLENGE);
	CHECK_EQ(d.ticket, TICKET);
	CHECK_EQ(d.state, IC_DEV_HELLO);
	/* the same challenge again brings nothing new */
	CHECK_EQ(ic_device_receive(&d, challenge, (size_t)n, &type, body, &blen), IC_ERR_REPLAY);

	n = ic_device_hello(&d, hb, (size_t)hn, out, sizeof(out));
	check_vector("dgram_hello", out, n);
	CHECK_EQ(ic_header_decode(&hdr, &hl, out, (size_t)n), IC_OK);
	CHECK_EQ(hdr.type, IC_HELLO);
	CHECK_EQ(hdr.ticket, TICKET);
	CHECK(strcmp(hdr.id, DEV) == 0);
	CHECK_EQ(ic_peer_receive(&p, &hdr, hl, out, (size_t)n, SB, body, &blen, &ev, &newest), IC_OK);
	CHECK_EQ(ev, IC_EV_HELLO);
	CHECK(!newest);
	CHECK_EQ(ic_hello_decode(&got, body, blen), IC_OK);
	CHECK(memcmp(&got, &h, sizeof(got)) == 0);
	CHECK(!p.ready);
	CHECK_EQ(p.ticket, 0);	/* taken */
	CHECK_EQ(ic_peer_welcome(&p, &w, out, sizeof(out)), IC_ERR_STATE);	/* no ticket to give */
	CHECK_EQ(ic_peer_set_ticket(&p, NEXT_TICKET), IC_OK);

	n = ic_peer_welcome(&p, &w, out, sizeof(out));
	check_vector("dgram_welcome", out, n);
	CHECK_EQ(ic_device_receive(&d, out, (size_t)n, &type, body, &blen), IC_OK);
	CHECK_EQ(type, IC_WELCOME);
	CHECK_EQ(d.state, IC_DEV_READY);
	CHECK_EQ(d.ticket, NEXT_TICKET);

	n = ic_device_seal(&d, IC_KEEPALIVE, NULL, 0, out, sizeof(out));
	check_vector("dgram_keepalive", out, n);
	CHECK_EQ(ic_header_decode(&hdr, &hl, out, (size_t)n), IC_OK);
	CHECK_EQ(ic_peer_receive(&p, &hdr, hl, out, (size_t)n, 0, body, &blen, &ev, &newest), IC_OK);
	CHECK_EQ(ev, IC_EV_ESTABLISHED);
	CHECK(p.ready);

	rn = ic_reading_encode(rb, sizeof(rb), &r);
	n = ic_device_seal(&d, IC_READING, rb, (size_t)rn, out, sizeof(out));
	check_vector("dgram_reading", out, n);
	CHECK_EQ(ic_header_decode(&hdr, &hl, out, (size_t)n), IC_OK);
	CHECK_EQ(ic_peer_receive(&p, &hdr, hl, out, (size_t)n, 0, body, &blen, &ev, &newest), IC_OK);
	CHECK_EQ(ev, IC_EV_NONE);
	CHECK(newest);
	CHECK_EQ(ic_reading_decode(&rr, body, blen), IC_OK);
	CHECK_EQ(rr.n, 2);
	CHECK(rr.values[0].value == 12.5 && rr.values[1].value == 81.0);
	/* the same datagram again is a replay and changes nothing */
	CHECK_EQ(ic_peer_receive(&p, &hdr, hl, out, (size_t)n, 0, body, &blen, &ev, &newest), IC_ERR_REPLAY);

	n = ic_peer_seal(&p, IC_KEEPALIVE, NULL, 0, out, sizeof(out));
	check_vector("dgram_keepalive_reply", out, n);
	CHECK_EQ(ic_device_receive(&d, out, (size_t)n, &type, body, &blen), IC_OK);
	CHECK_EQ(type, IC_KEEPALIVE);
	CHECK_EQ(ic_device_receive(&d, out, (size_t)n, &type, body, &blen), IC_ERR_REPLAY);

	n = ic_device_seal(&d, IC_BYE, NULL, 0, out, sizeof(out));
	check_vector("dgram_bye", out, n);

	/* RESET for a session the base does not know (answering seq 7): it
	 * carries the current ticket as its sequence */
	memset(&hdr, 0, sizeof(hdr));
	snprintf(hdr.id, sizeof(hdr.id), "%s", DEV);
	hdr.session = SB;
	hdr.seq = 7;
	n = ic_peer_reset(&p, &hdr, out, sizeof(out));
	check_vector("dgram_reset", out, n);
	CHECK_EQ(ic_device_receive(&d, out, (size_t)n, &type, body, &blen), IC_OK);
	CHECK_EQ(type, IC_RESET);
	CHECK_EQ(d.state, IC_DEV_IDLE);
	CHECK_EQ(d.ticket, NEXT_TICKET);
}

/* A device's hello, taken by the peer: challenged first when the device has
 * no ticket. Returns ic_peer_receive's result for the hello with a ticket. */
static int say_hello(struct ic_device *d, struct ic_peer *p, uint64_t sb)
{
	uint8_t out[IC_MAX_DATAGRAM], body[IC_MAX_DATAGRAM], hb[IC_BODY_MAX];
	struct ic_hello h = thermo_hello();
	struct ic_header hdr;
	enum ic_peer_event ev;
	size_t hl, blen;
	bool newest;
	uint8_t type;
	int n, ret = IC_ERR_STATE, hn = ic_hello_encode(hb, sizeof(hb), &h);

	for (int i = 0; i < 2; i++) {
		const uint8_t *c;

		n = ic_device_hello(d, hb, (size_t)hn, out, sizeof(out));
		ic_header_decode(&hdr, &hl, out, (size_t)n);
		ret = ic_peer_receive(p, &hdr, hl, out, (size_t)n, sb, body, &blen, &ev, &newest);
		if (ret != IC_ERR_TICKET)
			break;
		n = (int)ic_peer_challenge(p, &c);
		CHECK_EQ(ic_device_receive(d, c, (size_t)n, &type, body, &blen), IC_OK);
	}
	if (ret == IC_OK && !p->ticket)
		ic_peer_set_ticket(p, sb ^ 0x5555);
	return ret;
}

/* Sets up a device and peer with an established session. */
static void pair(struct ic_device *d, struct ic_peer *p, const char *id, uint64_t sd, uint64_t sb)
{
	uint8_t psk[32], out[IC_MAX_DATAGRAM], body[IC_MAX_DATAGRAM];
	struct ic_welcome w = { .keepalive = 15 };
	struct ic_header hdr;
	enum ic_peer_event ev;
	size_t hl, blen;
	bool newest;
	uint8_t type;
	int n;

	psk_fill(psk);
	ic_device_init(d, id, psk);
	ic_peer_init(p, id, psk);
	ic_peer_set_ticket(p, sd * 1000 + 1);
	ic_device_restart(d, sd);
	CHECK_EQ(say_hello(d, p, sb), IC_OK);
	n = ic_peer_welcome(p, &w, out, sizeof(out));
	CHECK_EQ(ic_device_receive(d, out, (size_t)n, &type, body, &blen), IC_OK);
	n = ic_device_seal(d, IC_KEEPALIVE, NULL, 0, out, sizeof(out));
	ic_header_decode(&hdr, &hl, out, (size_t)n);
	CHECK_EQ(ic_peer_receive(p, &hdr, hl, out, (size_t)n, 0, body, &blen, &ev, &newest), IC_OK);
	CHECK(p->ready);
}

static int deliver(struct ic_peer *p, const uint8_t *dg, size_t n)
{
	uint8_t body[IC_MAX_DATAGRAM];
	struct ic_header hdr;
	enum ic_peer_event ev;
	size_t hl, blen;
	bool newest;
	int ret = ic_header_decode(&hdr, &hl, dg, n);

	if (ret != IC_OK)
		return ret;
	if (strcmp(hdr.id, p->id) != 0)
		return IC_ERR_ID;
	return ic_peer_receive(p, &hdr, hl, dg, n, 99, body, &blen, &ev, &newest);
}

/* Sequence gaps count datagrams lost on the way; late ones give them back. */
static void test_lost_count(void)
{
	struct ic_device d;
	struct ic_peer p;
	uint8_t dg[5][IC_MAX_DATAGRAM];
	int n[5];

	pair(&d, &p, DEV, 51, 52);
	for (int i = 0; i < 5; i++)
		n[i] = ic_device_seal(&d, IC_KEEPALIVE, NULL, 0, dg[i], sizeof(dg[i]));
	CHECK_EQ(deliver(&p, dg[0], (size_t)n[0]), IC_OK);
	CHECK_EQ(deliver(&p, dg[3], (size_t)n[3]), IC_OK);	/* two missing */
	CHECK_EQ(p.lost, 2);
	CHECK_EQ(deliver(&p, dg[1], (size_t)n[1]), IC_OK);	/* one was only late */
	CHECK_EQ(p.lost, 1);
	CHECK_EQ(deliver(&p, dg[4], (size_t)n[4]), IC_OK);
	CHECK_EQ(p.lost, 1);
}

static void test_tampered_and_truncated(void)
{
	struct ic_device d;
	struct ic_peer p;
	uint8_t out[IC_MAX_DATAGRAM], copy[IC_MAX_DATAGRAM], body[8] = { 1, 0 };
	int n;

	pair(&d, &p, DEV, 5, 6);
	n = ic_device_seal(&d, IC_READING, body, 1, out, sizeof(out));
	/* every single bit flipped anywhere must be refused */
	for (int i = 0; i < n; i++)
		for (int bit = 0; bit < 8; bit++) {
			memcpy(copy, out, (size_t)n);
			copy[i] ^= (uint8_t)(1 << bit);
			CHECK(deliver(&p, copy, (size_t)n) != IC_OK);
		}
	/* every truncation must be refused */
	for (int len = 0; len < n; len++)
		CHECK(deliver(&p, out, (size_t)len) != IC_OK);
	/* and an extra byte too */
	memcpy(copy, out, (size_t)n);
	copy[n] = 0;
	CHECK(deliver(&p, copy, (size_t)n + 1) != IC_OK);
	/* the untouched datagram still goes through: nothing above moved the window */
	CHECK_EQ(deliver(&p, out, (size_t)n), IC_OK);
}

static void test_oversized_and_garbage(void)
{
	uint8_t big[IC_MAX_DATAGRAM + 100], body[IC_BODY_MAX + 10];
	struct ic_header hdr;
	size_t hl;
	uint8_t key[32] = { 0 };

	memset(big, 0, sizeof(big));
	big[0] = IC_VERSION;
	big[1] = IC_READING;
	big[3] = 1;
	big[4] = 'a';
	CHECK_EQ(ic_header_decode(&hdr, &hl, big, IC_MAX_DATAGRAM + 1), IC_ERR_TOO_BIG);
	CHECK_EQ(ic_header_decode(&hdr, &hl, big, IC_MAX_DATAGRAM), IC_OK);
	big[0] = 2;
	CHECK_EQ(ic_header_decode(&hdr, &hl, big, 100), IC_ERR_VERSION);
	big[0] = IC_VERSION;
	big[2] = 0x80;
	CHECK_EQ(ic_header_decode(&hdr, &hl, big, 100), IC_ERR_FLAGS);
	big[2] = 0;
	big[1] = 200;
	CHECK_EQ(ic_header_decode(&hdr, &hl, big, 100), IC_ERR_TYPE);
	big[1] = 13;	/* the first type not yet specified */
	CHECK_EQ(ic_header_decode(&hdr, &hl, big, 100), IC_ERR_TYPE);
	big[1] = IC_READING;
	big[3] = 0;
	CHECK_EQ(ic_header_decode(&hdr, &hl, big, 100), IC_ERR_ID);
	big[3] = 33;
	CHECK_EQ(ic_header_decode(&hdr, &hl, big, 200), IC_ERR_ID);
	big[3] = 1;
	big[4] = 'A';	/* upper case is not an id */
	CHECK_EQ(ic_header_decode(&hdr, &hl, big, 100), IC_ERR_ID);
	big[4] = '/';
	CHECK_EQ(ic_header_decode(&hdr, &hl, big, 100), IC_ERR_ID);
	/* a body that would make the datagram exceed 1200 bytes cannot be sealed */
	memset(body, 0, sizeof(body));
	CHECK_EQ(ic_seal(big, sizeof(big), key, IC_TO_BASE, IC_READING, "a", 1, 1, body, IC_BODY_MAX + 1 + 31),
		 IC_ERR_SPACE);
	CHECK(ic_seal(big, sizeof(big), key, IC_TO_BASE, IC_READING, "a", 1, 1, body, IC_MAX_DATAGRAM - 21 - 16) ==
	      IC_MAX_DATAGRAM);
	/* random bytes never decode into an authenticated message */
	srand(1);
	for (int i = 0; i < 20000; i++) {
		struct ic_peer p;
		uint8_t psk[32] = { 0 };
		size_t n = (size_t)(rand() % 300);

		for (size_t j = 0; j < n; j++)
			big[j] = (uint8_t)rand();
		if (n > 4 && i % 2) {
			big[0] = 1;
			big[1] = (uint8_t)(1 + rand() % 6);
			big[2] = 0;
			big[3] = 1;
			big[4] = 'x';
		}
		ic_peer_init(&p, "x", psk);
		CHECK(deliver(&p, big, n) != IC_OK);
	}
}

static void test_replay_window(void)
{
	struct ic_replay r;

	ic_replay_init(&r);
	CHECK_EQ(ic_replay_check(&r, 0), IC_ERR_OLD);
	CHECK_EQ(ic_replay_check(&r, 1), IC_OK);
	ic_replay_commit(&r, 1);
	CHECK_EQ(ic_replay_check(&r, 1), IC_ERR_REPLAY);
	ic_replay_commit(&r, 2000);
	CHECK_EQ(ic_replay_check(&r, 2000), IC_ERR_REPLAY);
	CHECK_EQ(ic_replay_check(&r, 2000 - IC_REPLAY_WINDOW + 1), IC_OK);	/* oldest inside */
	CHECK_EQ(ic_replay_check(&r, 2000 - IC_REPLAY_WINDOW), IC_ERR_OLD);	/* first outside */
	CHECK_EQ(ic_replay_check(&r, 1999), IC_OK);
	ic_replay_commit(&r, 1999);
	CHECK_EQ(ic_replay_check(&r, 1999), IC_ERR_REPLAY);
	/* out of order inside the window, each accepted exactly once */
	for (uint64_t s = 1500; s < 1999; s += 7) {
		CHECK_EQ(ic_replay_check(&r, s), IC_OK);
		ic_replay_commit(&r, s);
		CHECK_EQ(ic_replay_check(&r, s), IC_ERR_REPLAY);
	}
	/* sliding forward by less than the window clears only the new slots */
	ic_replay_commit(&r, 2000 + IC_REPLAY_WINDOW - 1);
	CHECK_EQ(ic_replay_check(&r, 2000), IC_ERR_REPLAY);	/* still inside and seen */
	CHECK_EQ(ic_replay_check(&r, 2001), IC_OK);		/* inside and never seen */
	CHECK_EQ(ic_replay_check(&r, 1999), IC_ERR_OLD);
	/* a jump of more than the window forgets everything before */
	ic_replay_commit(&r, 1000000);
	CHECK_EQ(ic_replay_check(&r, 1000000 - 1), IC_OK);
	CHECK_EQ(ic_replay_check(&r, 1000000 - IC_REPLAY_WINDOW), IC_ERR_OLD);
	/* the top of the 64-bit range */
	ic_replay_commit(&r, UINT64_MAX);
	CHECK_EQ(ic_replay_check(&r, UINT64_MAX), IC_ERR_REPLAY);
	CHECK_EQ(ic_replay_check(&r, UINT64_MAX - 1), IC_OK);
}

static void test_wrong_key_and_impersonation(void)
{
	struct ic_device d, other;
	struct ic_peer p, po;
	uint8_t out[IC_MAX_DATAGRAM];
	int n;

	pair(&d, &p, "lamp", 11, 12);
	pair(&other, &po, "outlet", 21, 22);
	/* a peer with another psk refuses */
	p.key[0] ^= 1;
	n = ic_device_seal(&d, IC_KEEPALIVE, NULL, 0, out, sizeof(out));
	CHECK_EQ(deliver(&p, out, (size_t)n), IC_ERR_AUTH);
	p.key[0] ^= 1;
	/* "outlet" relabels its datagram as "lamp": the id is authenticated, so no */
	n = ic_seal(out, sizeof(out), other.key, IC_TO_BASE, IC_READING, "lamp", p.sb, 50, NULL, 0);
	CHECK_EQ(deliver(&p, out, (size_t)n), IC_ERR_AUTH);
	/* a datagram reflected back to its sender does not authenticate there */
	n = ic_peer_seal(&p, IC_KEEPALIVE, NULL, 0, out, sizeof(out));
	CHECK(deliver(&p, out, (size_t)n) != IC_OK);
	/* the genuine device still gets through */
	n = ic_device_seal(&d, IC_KEEPALIVE, NULL, 0, out, sizeof(out));
	CHECK_EQ(deliver(&p, out, (size_t)n), IC_OK);
}

/* A replayed HELLO changes nothing: refused before any crypto (its ticket
 * was taken), it starts no handshake and displaces none in progress. */
static void test_replayed_hello(void)
{
	uint8_t psk[32], hb[IC_BODY_MAX], old_hello[IC_MAX_DATAGRAM], out[IC_MAX_DATAGRAM];
	uint8_t body[IC_MAX_DATAGRAM], dg[IC_MAX_DATAGRAM];
	struct ic_hello h = thermo_hello();
	struct ic_welcome w = { .keepalive = 15 };
	struct ic_device d, old, again;
	struct ic_peer p;
	int hn = ic_hello_encode(hb, sizeof(hb), &h), on, n, dn;
	uint64_t sb_before;
	const uint8_t *c;
	size_t blen, cn;
	uint8_t type;

	psk_fill(psk);
	pair(&d, &p, DEV, 31, 32);
	/* a hello captured on its way, with the ticket the peer holds now */
	ic_device_init(&old, DEV, psk);
	ic_device_restart(&old, 7);
	old.ticket = p.ticket;
	on = ic_device_hello(&old, hb, (size_t)hn, old_hello, sizeof(old_hello));
	sb_before = p.sb;
	/* the first time it is a hello like any: it takes the ticket */
	CHECK_EQ(deliver(&p, old_hello, (size_t)on), IC_OK);
	CHECK(p.ready && p.sb == sb_before);			/* the session stands */
	ic_peer_set_ticket(&p, 4242);
	n = ic_device_seal(&d, IC_KEEPALIVE, NULL, 0, out, sizeof(out));
	CHECK_EQ(deliver(&p, out, (size_t)n), IC_OK);
	/* again and again: a replay, refused before any crypto */
	for (int i = 0; i < 3; i++)
		CHECK_EQ(deliver(&p, old_hello, (size_t)on), IC_ERR_REPLAY);
	/* the device restarts: its handshake is not displaced by the replays */
	ic_device_init(&again, DEV, psk);
	ic_device_restart(&again, 99);
	again.ticket = 4242;
	dn = ic_device_hello(&again, hb, (size_t)hn, dg, sizeof(dg));
	CHECK_EQ(deliver(&p, dg, (size_t)dn), IC_OK);
	CHECK(p.pending && p.p_sd == 99);
	ic_peer_set_ticket(&p, 4343);
	for (int i = 0; i < 3; i++)
		CHECK_EQ(deliver(&p, old_hello, (size_t)on), IC_ERR_TICKET);
	CHECK(p.pending && p.p_sd == 99);
	n = ic_peer_welcome(&p, &w, out, sizeof(out));
	CHECK_EQ(ic_device_receive(&again, out, (size_t)n, &type, body, &blen), IC_OK);
	CHECK_EQ(again.ticket, 4343);
	n = ic_device_seal(&again, IC_KEEPALIVE, NULL, 0, out, sizeof(out));
	CHECK_EQ(deliver(&p, out, (size_t)n), IC_OK);
	CHECK(p.ready && p.sd == 99);
	/* a stale ticket is refused for its ticket, before the tag is looked at */
	old_hello[on - 1] ^= 1;
	CHECK_EQ(deliver(&p, old_hello, (size_t)on), IC_ERR_TICKET);
	/* and the current ticket with a forged tag is refused, the ticket kept */
	old.ticket = p.ticket;
	on = ic_device_hello(&old, hb, (size_t)hn, old_hello, sizeof(old_hello));
	old_hello[on - 1] ^= 1;
	CHECK_EQ(deliver(&p, old_hello, (size_t)on), IC_ERR_AUTH);
	CHECK_EQ(p.ticket, 4343);
	/* a challenge never ends a running session */
	cn = ic_peer_challenge(&p, &c);
	CHECK(cn > 0);
	CHECK_EQ(ic_device_receive(&again, c, cn, &type, body, &blen), IC_ERR_STATE);
	CHECK_EQ(again.state, IC_DEV_READY);
}

/* The base restarts: it knows no session; the device is told to say hello. */
static void test_base_restart_reset(void)
{
	uint8_t psk[32], out[IC_MAX_DATAGRAM], body[IC_MAX_DATAGRAM];
	struct ic_device d;
	struct ic_peer p, fresh;
	struct ic_header hdr;
	size_t hl, blen;
	uint8_t type;
	int n;

	psk_fill(psk);
	pair(&d, &p, DEV, 41, 42);
	ic_peer_init(&fresh, DEV, psk);
	ic_peer_set_ticket(&fresh, 5150);
	n = ic_device_seal(&d, IC_KEEPALIVE, NULL, 0, out, sizeof(out));
	CHECK_EQ(deliver(&fresh, out, (size_t)n), IC_ERR_SESSION);
	ic_header_decode(&hdr, &hl, out, (size_t)n);
	n = ic_peer_reset(&fresh, &hdr, out, sizeof(out));
	CHECK_EQ(ic_device_receive(&d, out, (size_t)n, &type, body, &blen), IC_OK);
	CHECK_EQ(d.state, IC_DEV_IDLE);
	CHECK_EQ(d.ticket, 5150);	/* the restarted base's ticket: the hello needs no challenge */
	ic_device_restart(&d, 45);
	CHECK_EQ(say_hello(&d, &fresh, 46), IC_OK);
	CHECK(fresh.pending && fresh.p_sd == 45);
	/* a RESET for a session the device is not in changes nothing */
	pair(&d, &p, DEV, 43, 44);
	CHECK_EQ(ic_device_receive(&d, out, (size_t)n, &type, body, &blen), IC_ERR_SESSION);
	CHECK_EQ(d.state, IC_DEV_READY);
}

static void test_bodies(void)
{
	struct ic_hello h = thermo_hello(), got;
	struct ic_reading r;
	uint8_t b[IC_BODY_MAX];
	int n = ic_hello_encode(b, sizeof(b), &h);

	CHECK(n > 0);
	for (int len = 0; len < n; len++)
		CHECK_EQ(ic_hello_decode(&got, b, (size_t)len), IC_ERR_BODY);
	/* an unknown entry type is skipped (room for controls later) */
	memcpy(b + n, "\x63\x02\xaa\xbb", 4);
	b[3] = 3;
	CHECK_EQ(ic_hello_decode(&got, b, (size_t)n + 4), IC_OK);
	CHECK_EQ(got.n_sensors, 2);
	b[3] = 2;
	/* kind out of range */
	b[0] = 9;
	CHECK_EQ(ic_hello_decode(&got, b, (size_t)n), IC_ERR_BODY);
	b[0] = IC_KIND_READ;
	/* a bad name */
	snprintf(h.sensors[1].name, sizeof(h.sensors[1].name), "%s", "Hum idity");
	CHECK_EQ(ic_hello_encode(b, sizeof(b), &h), IC_ERR_BODY);
	snprintf(h.sensors[1].name, sizeof(h.sensors[1].name), "%s", "temperature");	/* duplicate names */
	n = ic_hello_encode(b, sizeof(b), &h);
	CHECK_EQ(ic_hello_decode(&got, b, (size_t)n), IC_ERR_BODY);
	/* readings: exact length, finite values only */
	CHECK_EQ(ic_reading_decode(&r, (const uint8_t *)"", 0), IC_ERR_BODY);
	r.n = 1;
	r.values[0].index = 0;
	r.values[0].value = NAN;
	n = ic_reading_encode(b, sizeof(b), &r);
	CHECK_EQ(ic_reading_decode(&r, b, (size_t)n), IC_ERR_BODY);
	r.values[0].value = INFINITY;
	n = ic_reading_encode(b, sizeof(b), &r);
	CHECK_EQ(ic_reading_decode(&r, b, (size_t)n), IC_ERR_BODY);
	r.values[0].value = -40.25;
	n = ic_reading_encode(b, sizeof(b), &r);
	CHECK_EQ(ic_reading_decode(&r, b, (size_t)n), IC_OK);
	CHECK_EQ(ic_reading_decode(&r, b, (size_t)n + 1), IC_ERR_BODY);
	CHECK(r.values[0].value == -40.25);
	b[0] = 17;
	CHECK_EQ(ic_reading_decode(&r, b, 1 + 17 * 9), IC_ERR_BODY);
}

static void test_ids(void)
{
	CHECK(ic_id_valid("cellar-thermo", 13));
	CHECK(ic_id_valid("a", 1));
	CHECK(ic_id_valid("abcdefghijklmnopqrstuvwxyz012345", 32));
	CHECK(!ic_id_valid("abcdefghijklmnopqrstuvwxyz0123456", 33));
	CHECK(!ic_id_valid("", 0));
	CHECK(!ic_id_valid("bridge", 6));
	CHECK(!ic_id_valid("a/b", 3));
	CHECK(!ic_id_valid("a+", 2));
	CHECK(!ic_id_valid("a#", 2));
	CHECK(!ic_id_valid("Cellar", 6));
	CHECK(!ic_name_valid("last_seen", 9));
	CHECK(ic_name_valid("humidity", 8));
}

static struct ic_hello lights_hello(void)
{
	struct ic_hello h = { .kind = IC_KIND_UPDATABLE, .keepalive = 15, .n_controls = 3 };

	snprintf(h.controls[0].name, sizeof(h.controls[0].name), "%s", "light");
	h.controls[0].type = IC_SWITCH;
	snprintf(h.controls[1].name, sizeof(h.controls[1].name), "%s", "brightness");
	h.controls[1].type = IC_RANGE;
	h.controls[1].min = 0;
	h.controls[1].max = 255;
	h.controls[1].step = 1;
	snprintf(h.controls[2].name, sizeof(h.controls[2].name), "%s", "mode");
	h.controls[2].type = IC_ENUM;
	h.controls[2].n_values = 3;
	snprintf(h.controls[2].values[0], sizeof(h.controls[2].values[0]), "%s", "off");
	snprintf(h.controls[2].values[1], sizeof(h.controls[2].values[1]), "%s", "eco");
	snprintf(h.controls[2].values[2], sizeof(h.controls[2].values[2]), "%s", "full");
	return h;
}

static void test_vectors_controls(void)
{
	uint8_t psk[32], key[32], b[IC_BODY_MAX], out[IC_MAX_DATAGRAM];
	struct ic_hello h = lights_hello(), hd;
	struct ic_reading st = { .n = 3, .values = { { 0, 1 }, { 1, 128 }, { 2, 1 } } }, std;
	struct ic_command c = { .id = 0x0a0b0c0d0e0f1011ull, .expires_ms = 1795996802000ull,
				.set = { .n = 2, .values = { { 0, 0 }, { 1, 64 } } } }, cd;
	struct ic_ack a = { .id = 0x0a0b0c0d0e0f1011ull, .status = IC_ACK_OK,
			    .state = { .n = 3, .values = { { 0, 0 }, { 1, 64 }, { 2, 1 } } } }, ad;
	int n;

	psk_fill(psk);
	n = ic_hello_encode(b, sizeof(b), &h);
	check_vector("body_hello_controls", b, n);
	CHECK_EQ(ic_hello_decode(&hd, b, (size_t)n), IC_OK);
	CHECK(memcmp(&hd, &h, sizeof(h)) == 0);
	n = ic_reading_encode(b, sizeof(b), &st);
	check_vector("body_state", b, n);
	CHECK_EQ(ic_reading_decode(&std, b, (size_t)n), IC_OK);
	n = ic_command_encode(b, sizeof(b), &c);
	check_vector("body_command", b, n);
	CHECK_EQ(ic_command_decode(&cd, b, (size_t)n), IC_OK);
	CHECK(cd.id == c.id && cd.expires_ms == c.expires_ms && cd.set.n == 2 && cd.set.values[1].value == 64);
	n = ic_ack_encode(b, sizeof(b), &a);
	check_vector("body_ack_ok", b, n);
	CHECK_EQ(ic_ack_decode(&ad, b, (size_t)n), IC_OK);
	CHECK(ad.id == a.id && ad.status == IC_ACK_OK && ad.error[0] == 0 && ad.state.n == 3);
	a.id++;
	a.status = IC_ACK_REJECTED;
	snprintf(a.error, sizeof(a.error), "%s", "overheated");
	n = ic_ack_encode(b, sizeof(b), &a);
	check_vector("body_ack_rejected", b, n);
	CHECK_EQ(ic_ack_decode(&ad, b, (size_t)n), IC_OK);
	CHECK(strcmp(ad.error, "overheated") == 0);
	/* "expired": the command came too late and was not carried out */
	a.status = IC_ACK_EXPIRED;
	n = ic_ack_encode(b, sizeof(b), &a);
	CHECK_EQ(ic_ack_decode(&ad, b, (size_t)n), IC_OK);
	CHECK_EQ(ad.status, IC_ACK_EXPIRED);
	b[8] = 3;	/* no such status */
	CHECK_EQ(ic_ack_decode(&ad, b, (size_t)n), IC_ERR_BODY);
	a.status = IC_ACK_REJECTED;
	n = ic_ack_encode(b, sizeof(b), &a);
	/* a non-ASCII error text is refused */
	b[10] = 0xff;
	CHECK_EQ(ic_ack_decode(&ad, b, (size_t)n), IC_ERR_BODY);

	CHECK_EQ(ic_key_session(key, psk, "cellar-lights", SD, SB), IC_OK);
	n = ic_reading_encode(b, sizeof(b), &st);
	n = ic_seal(out, sizeof(out), key, IC_TO_BASE, IC_STATE, "cellar-lights", SB, 2, b, (size_t)n);
	check_vector("dgram_state", out, n);
	n = ic_command_encode(b, sizeof(b), &c);
	n = ic_seal(out, sizeof(out), key, IC_TO_DEVICE, IC_COMMAND, "cellar-lights", SB, 2, b, (size_t)n);
	check_vector("dgram_command", out, n);
	a.id--;
	a.status = IC_ACK_OK;
	a.error[0] = 0;
	n = ic_ack_encode(b, sizeof(b), &a);
	n = ic_seal(out, sizeof(out), key, IC_TO_BASE, IC_ACK, "cellar-lights", SB, 3, b, (size_t)n);
	check_vector("dgram_ack", out, n);
	n = ic_seal(out, sizeof(out), key, IC_TO_DEVICE, IC_GET, "cellar-lights", SB, 3, NULL, 0);
	check_vector("dgram_get", out, n);
}

static void test_control_values(void)
{
	struct ic_hello h = lights_hello();
	uint8_t b[IC_BODY_MAX];

	CHECK(ic_control_value_valid(&h.controls[0], 0));
	CHECK(ic_control_value_valid(&h.controls[0], 1));
	CHECK(!ic_control_value_valid(&h.controls[0], 0.5));
	CHECK(ic_control_value_valid(&h.controls[1], 0));
	CHECK(ic_control_value_valid(&h.controls[1], 255));
	CHECK(!ic_control_value_valid(&h.controls[1], 256));
	CHECK(!ic_control_value_valid(&h.controls[1], -1));
	CHECK(!ic_control_value_valid(&h.controls[1], 12.5));	/* off step */
	CHECK(!ic_control_value_valid(&h.controls[1], NAN));
	CHECK(ic_control_value_valid(&h.controls[2], 2));
	CHECK(!ic_control_value_valid(&h.controls[2], 3));
	h.controls[1].step = 0.1;
	h.controls[1].min = -1;
	CHECK(ic_control_value_valid(&h.controls[1], 0.3));	/* decimal steps survive rounding */
	CHECK(!ic_control_value_valid(&h.controls[1], 0.35));
	/* invalid announcements do not encode */
	h = lights_hello();
	h.controls[1].step = 0;
	CHECK_EQ(ic_hello_encode(b, sizeof(b), &h), IC_ERR_BODY);
	h = lights_hello();
	snprintf(h.controls[2].values[1], sizeof(h.controls[2].values[1]), "%s", "off");	/* duplicate enum value */
	CHECK_EQ(ic_hello_encode(b, sizeof(b), &h), IC_ERR_BODY);
	h = lights_hello();
	snprintf(h.controls[2].values[1], sizeof(h.controls[2].values[1]), "%s", "a\"b");
	CHECK_EQ(ic_hello_encode(b, sizeof(b), &h), IC_ERR_BODY);
	/* a unit that is not UTF-8 is refused by the decoder */
	{
		struct ic_hello s = thermo_hello(), d;
		int n = ic_hello_encode(b, sizeof(b), &s);
		CHECK_EQ(b[19], 0xc2);	/* entry header 2, name 1 + 11, unit length 1: the degree sign */
		CHECK_EQ(ic_hello_decode(&d, b, (size_t)n), IC_OK);
		b[19] = 0xc0;		/* an overlong lead byte */
		CHECK_EQ(ic_hello_decode(&d, b, (size_t)n), IC_ERR_BODY);
		b[19] = 0xc2;
		b[20] = 0x41;		/* a lead byte without its continuation */
		CHECK_EQ(ic_hello_decode(&d, b, (size_t)n), IC_ERR_BODY);
	}
}

/* A control's failsafe travels as an entry of its own (type 3) after the
 * controls: older base units skip it; a bad one refuses the hello. */
static void test_failsafe_entry(void)
{
	struct ic_hello h = {
		.kind = IC_KIND_UPDATABLE, .keepalive = 15, .n_controls = 2,
		.controls = { { .name = "throttle", .type = IC_RANGE, .min = -100, .max = 100, .step = 1,
				.failsafe = 0, .failsafe_ms = 300 },
			      { .name = "lights", .type = IC_SWITCH } },
	}, back, plain = h;
	uint8_t body[IC_BODY_MAX], plain_body[IC_BODY_MAX];
	int n, pn;

	n = ic_hello_encode(body, sizeof(body), &h);
	plain.controls[0].failsafe_ms = 0;
	pn = ic_hello_encode(plain_body, sizeof(plain_body), &plain);
	CHECK_EQ(n, pn + 15);			/* one 15-byte entry more, nothing else */
	CHECK_EQ(body[3], 3);
	CHECK(n > 0 && memcmp(body + 4, plain_body + 4, (size_t)pn - 4) == 0);
	CHECK_EQ(ic_hello_decode(&back, body, (size_t)n), IC_OK);
	CHECK_EQ(back.controls[0].failsafe_ms, 300);
	CHECK(back.controls[0].failsafe == 0);
	CHECK_EQ(back.controls[1].failsafe_ms, 0);
	CHECK(memcmp(&back, &h, sizeof(h)) == 0);
	/* refused: a value the control does not take, no time, too long, twice, before its control */
	{
		uint8_t bad[IC_BODY_MAX];
		memcpy(bad, body, (size_t)n);
		bad[n - 15 + 3] = 0x7f;		/* the value's high byte: far out of range */
		CHECK_EQ(ic_hello_decode(&back, bad, (size_t)n), IC_ERR_BODY);
		memcpy(bad, body, (size_t)n);
		memset(bad + n - 4, 0, 4);		/* 0 ms */
		CHECK_EQ(ic_hello_decode(&back, bad, (size_t)n), IC_ERR_BODY);
		memcpy(bad, body, (size_t)n);
		bad[n - 4] = 0xff;			/* more than an hour */
		CHECK_EQ(ic_hello_decode(&back, bad, (size_t)n), IC_ERR_BODY);
		memcpy(bad, body, (size_t)n);
		memcpy(bad + n, body + n - 15, 15);	/* the same entry twice */
		bad[3]++;
		CHECK_EQ(ic_hello_decode(&back, bad, (size_t)n + 15), IC_ERR_BODY);
		memcpy(bad, body, (size_t)n);
		bad[n - 15 + 2] = 2;			/* a control that does not exist */
		CHECK_EQ(ic_hello_decode(&back, bad, (size_t)n), IC_ERR_BODY);
	}
	h.controls[0].failsafe = 0.5;		/* not on a step */
	CHECK_EQ(ic_hello_encode(body, sizeof(body), &h), IC_ERR_BODY);
}

const struct test_case protocol_tests[] = {
	{ "failsafe_entry", test_failsafe_entry },
	{ "vectors_controls", test_vectors_controls },
	{ "control_values", test_control_values },
	{ "aead_rfc8439", test_aead_rfc8439 },
	{ "vectors_keys_and_bodies", test_vectors_keys_and_bodies },
	{ "vectors_session", test_vectors_session },
	{ "tampered_and_truncated", test_tampered_and_truncated },
	{ "lost_count", test_lost_count },
	{ "oversized_and_garbage", test_oversized_and_garbage },
	{ "replay_window", test_replay_window },
	{ "wrong_key_and_impersonation", test_wrong_key_and_impersonation },
	{ "replayed_hello", test_replayed_hello },
	{ "base_restart_reset", test_base_restart_reset },
	{ "bodies", test_bodies },
	{ "ids", test_ids },
	{ NULL, NULL },
};
