/*
 * The intercom protocol: the one code base that both the base unit and every
 * device agent compile, so the two sides cannot drift apart.
 *
 * Pure C99 with no heap and no I/O: every function works on buffers the caller
 * owns, and randomness (session ids) is passed in by the caller. That keeps the
 * library buildable for an ESP32 and lets tests and fuzzers drive it directly.
 * The wire format is specified in docs/protocol.md.
 */
#ifndef INTERCOM_H
#define INTERCOM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IC_VERSION        1
#define IC_MAX_DATAGRAM   1200	/* fits every path MTU, WireGuard included */
#define IC_KEY_LEN        32
#define IC_TAG_LEN        16
#define IC_ID_MAX         32	/* device ids: 1..32 of a-z 0-9 _ - */
#define IC_HEADER_FIXED   20	/* version, type, flags, id_len, session, seq */
#define IC_HEADER_MAX     (IC_HEADER_FIXED + IC_ID_MAX)
#define IC_TICKET_LEN     8	/* a HELLO's clear ticket, after the header */
#define IC_BODY_MAX       (IC_MAX_DATAGRAM - IC_HEADER_MAX - IC_TAG_LEN)
#define IC_NAME_MAX       32	/* sensor and control names */
#define IC_UNIT_MAX       15	/* unit strings, UTF-8 bytes */
#define IC_MAX_SENSORS    16	/* per device */
#define IC_MAX_CONTROLS   16	/* per device */
#define IC_ENUM_MAX       8	/* values of one enum control */
#define IC_ENUM_VALUE_MAX 15	/* bytes of one enum value */
#define IC_ERROR_MAX      100	/* bytes of a device's error text in an ACK */
#define IC_FRAME_HEADER   12	/* frame id, index, count, total */
#define IC_FRAGMENT_DATA  (IC_BODY_MAX - IC_FRAME_HEADER)	/* JPEG bytes per fragment but the last */
#define IC_FRAME_MAX      (4u << 20)	/* bytes of one JPEG frame */
#define IC_REPLAY_WINDOW  1024	/* bits; how far behind the newest a datagram may arrive */

/* Message types travel in the clear header (they choose the key). */
enum ic_type {
	IC_HELLO = 1,		/* device -> base: handshake, announces kind and sensors */
	IC_WELCOME = 2,		/* base -> device: completes the handshake */
	IC_RESET = 3,		/* base -> device: "I do not know this session, say hello" */
	IC_KEEPALIVE = 4,	/* both ways: holds NAT mappings, proves liveness */
	IC_BYE = 5,		/* device -> base: going away */
	IC_READING = 6,		/* device -> base: sensor values */
	IC_STATE = 7,		/* device -> base: control values */
	IC_COMMAND = 8,		/* base -> device: set control values */
	IC_ACK = 9,		/* device -> base: a command's outcome and the state after it */
	IC_FRAME = 10,		/* device -> base: one fragment of a JPEG frame */
	IC_GET = 11,		/* base -> device: report your state now */
	IC_CHALLENGE = 12,	/* base -> device: "say hello again with this ticket" */
};

/* The direction is part of the nonce, so a datagram reflected back to its
 * sender never authenticates. */
enum ic_dir { IC_TO_BASE = 0, IC_TO_DEVICE = 1 };

enum ic_kind { IC_KIND_READ = 1, IC_KIND_UPDATABLE = 2, IC_KIND_CAMERA = 3 };

/* One error enum for the whole protocol; ic_strerror() names each. */
enum ic_err {
	IC_OK = 0,
	IC_ERR_SHORT = -1,	/* shorter than a header plus tag */
	IC_ERR_TOO_BIG = -2,	/* longer than IC_MAX_DATAGRAM */
	IC_ERR_VERSION = -3,
	IC_ERR_FLAGS = -4,	/* reserved flag bits set */
	IC_ERR_ID = -5,		/* device id empty, too long or bad characters */
	IC_ERR_TYPE = -6,	/* unknown message type */
	IC_ERR_AUTH = -7,	/* AEAD tag did not verify */
	IC_ERR_REPLAY = -8,	/* sequence number already seen */
	IC_ERR_OLD = -9,	/* sequence number behind the replay window */
	IC_ERR_BODY = -10,	/* body does not decode */
	IC_ERR_SPACE = -11,	/* output buffer too small / body too large */
	IC_ERR_SESSION = -12,	/* no such session */
	IC_ERR_STATE = -13,	/* message not valid in this state */
	IC_ERR_CRYPTO = -14,	/* crypto backend failure */
	IC_ERR_TICKET = -15,	/* a HELLO without the base's current ticket (a replay, or a device that has none) */
};

const char *ic_strerror(int err);

struct ic_header {
	uint8_t version;
	uint8_t type;
	uint8_t flags;
	uint8_t id_len;
	char id[IC_ID_MAX + 1];	/* NUL-terminated copy */
	uint64_t session;
	uint64_t seq;
	uint64_t ticket;	/* HELLO only: the ticket in clear after the header (0: none) */
};

bool ic_id_valid(const char *id, size_t len);
bool ic_name_valid(const char *name, size_t len);

/* Parses the clear header of a datagram; no crypto. *hdr_len gets its size. */
int ic_header_decode(struct ic_header *h, size_t *hdr_len, const uint8_t *buf, size_t len);

/* Key schedule (docs/protocol.md, "Keys"). */
int ic_key_hello(uint8_t out[IC_KEY_LEN], const uint8_t psk[IC_KEY_LEN], const char *id, uint64_t sd);
int ic_key_session(uint8_t out[IC_KEY_LEN], const uint8_t psk[IC_KEY_LEN], const char *id,
		   uint64_t sd, uint64_t sb);
int ic_key_reset(uint8_t out[IC_KEY_LEN], const uint8_t psk[IC_KEY_LEN], const char *id, uint64_t sb);
int ic_key_ticket(uint8_t out[IC_KEY_LEN], const uint8_t psk[IC_KEY_LEN], const char *id);

/* Writes header, ciphertext and tag to out. Returns the datagram length or an
 * ic_err. body may be NULL when body_len is 0. */
int ic_seal(uint8_t *out, size_t cap, const uint8_t key[IC_KEY_LEN], enum ic_dir dir,
	    uint8_t type, const char *id, uint64_t session, uint64_t seq,
	    const uint8_t *body, size_t body_len);

/* A HELLO: as ic_seal, with the ticket in clear after the header (part of
 * the associated data). ic_seal refuses IC_HELLO. */
int ic_seal_hello(uint8_t *out, size_t cap, const uint8_t key[IC_KEY_LEN], const char *id, uint64_t sd,
		  uint64_t seq, uint64_t ticket, const uint8_t *body, size_t body_len);

/* Verifies and decrypts a datagram whose header h (hdr_len bytes) was decoded
 * by ic_header_decode. body needs IC_BODY_MAX bytes. Returns IC_OK or an ic_err. */
int ic_open(uint8_t *body, size_t *body_len, const uint8_t key[IC_KEY_LEN], enum ic_dir dir,
	    const uint8_t *dgram, size_t len, const struct ic_header *h, size_t hdr_len);

/* Sliding replay window over 64-bit sequence numbers. Check first, and commit
 * only after the datagram authenticated, so forgeries cannot move it. */
struct ic_replay {
	uint64_t top;		/* highest sequence accepted; 0 = none yet */
	uint64_t bits[IC_REPLAY_WINDOW / 64];
};
void ic_replay_init(struct ic_replay *r);
int ic_replay_check(const struct ic_replay *r, uint64_t seq);
void ic_replay_commit(struct ic_replay *r, uint64_t seq);

/* --- message bodies --- */
struct ic_sensor {
	char name[IC_NAME_MAX + 1];
	char unit[IC_UNIT_MAX + 1];
};

enum ic_control_type { IC_SWITCH = 1, IC_RANGE = 2, IC_ENUM = 3 };

/* On the wire every control value is a double: a switch 0 (OFF) or 1 (ON),
 * a range its number, an enum the index of its value. */
struct ic_control {
	char name[IC_NAME_MAX + 1];
	uint8_t type;		/* enum ic_control_type */
	double min, max, step;	/* range only; step > 0 */
	uint8_t n_values;	/* enum only */
	char values[IC_ENUM_MAX][IC_ENUM_VALUE_MAX + 1];
	/* The device's own safe state: when no command has set this control for
	 * failsafe_ms (or the device lost its base unit), it returns to
	 * failsafe by itself. failsafe_ms 0: none. */
	uint32_t failsafe_ms;
	double failsafe;
};

#define IC_FAILSAFE_MAX_MS 3600000u	/* an hour */

struct ic_hello {
	uint8_t kind;		/* enum ic_kind */
	uint16_t keepalive;	/* seconds between the device's keepalives */
	uint8_t n_sensors;
	uint8_t n_controls;
	struct ic_sensor sensors[IC_MAX_SENSORS];
	struct ic_control controls[IC_MAX_CONTROLS];
};

struct ic_welcome {
	uint16_t keepalive;	/* seconds the base expects between keepalives */
	uint64_t time_ms;	/* base unit's Unix time, for devices with no clock */
	uint64_t ticket;	/* the ticket for the device's next HELLO */
};

struct ic_value {
	uint8_t index;		/* into the hello's sensor list */
	double value;
};

/* READING (indexes into sensors) and STATE (indexes into controls). */
struct ic_reading {
	uint8_t n;
	struct ic_value values[IC_MAX_SENSORS];
};

struct ic_command {
	uint64_t id;		/* chosen by the base; a device applies each id once */
	/* The base unit's Unix time (ms) after which the device must not carry
	 * it out (it answers IC_ACK_EXPIRED instead); 0: no limit. The device
	 * knows the base unit's time from the WELCOME. */
	uint64_t expires_ms;
	struct ic_reading set;	/* indexes into controls */
};

/* EXPIRED: the command reached the device after its expiry; not carried out. */
enum ic_ack_status { IC_ACK_OK = 0, IC_ACK_REJECTED = 1, IC_ACK_EXPIRED = 2 };

struct ic_ack {
	uint64_t id;
	uint8_t status;		/* enum ic_ack_status */
	char error[IC_ERROR_MAX + 1];
	struct ic_reading state;	/* every control's value after the command */
};

/* Encoders return the body length or an ic_err; decoders IC_OK or IC_ERR_BODY. */
int ic_hello_encode(uint8_t *out, size_t cap, const struct ic_hello *m);
int ic_hello_decode(struct ic_hello *m, const uint8_t *in, size_t len);
int ic_welcome_encode(uint8_t *out, size_t cap, const struct ic_welcome *m);
int ic_welcome_decode(struct ic_welcome *m, const uint8_t *in, size_t len);
int ic_reading_encode(uint8_t *out, size_t cap, const struct ic_reading *m);
int ic_reading_decode(struct ic_reading *m, const uint8_t *in, size_t len);
int ic_command_encode(uint8_t *out, size_t cap, const struct ic_command *m);
int ic_command_decode(struct ic_command *m, const uint8_t *in, size_t len);
int ic_ack_encode(uint8_t *out, size_t cap, const struct ic_ack *m);
int ic_ack_decode(struct ic_ack *m, const uint8_t *in, size_t len);

/* A fragment of a frame. data points into the decoded body. */
struct ic_fragment {
	uint32_t frame_id;	/* per session, counting up */
	uint16_t index, count;
	uint32_t total;		/* bytes of the whole JPEG */
	const uint8_t *data;
	size_t len;
};

/* Fragment index of a frame of total bytes; writes the body, returns its length. */
int ic_fragment_encode(uint8_t *out, size_t cap, uint32_t frame_id, uint16_t index,
		       const uint8_t *jpeg, uint32_t total);
/* Number of fragments a frame of total bytes takes. */
uint16_t ic_fragment_count(uint32_t total);
int ic_fragment_decode(struct ic_fragment *f, const uint8_t *in, size_t len);

/* Whether v is a valid value of control c (range: within bounds and on a step). */
bool ic_control_value_valid(const struct ic_control *c, double v);

#endif
