/*
 * Commands for updatable devices: parsing a set payload against what the
 * device announced, and the per-device queue (one command in flight, a bounded
 * queue behind it, continuous range values merged). No I/O here: the daemon,
 * the unit tests and the fuzzer call the same functions.
 */
#ifndef BASE_COMMANDS_H
#define BASE_COMMANDS_H

#include "intercom.h"
#include "topics.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SET_PAYLOAD_MAX 4096	/* bytes of a set payload */
#define CMD_QUEUE_MAX   16	/* sets waiting behind the one in flight, per device */
#define CMD_IDS_MAX     8	/* sets merged into one command */
#define CMD_GUARD_MS    250	/* after a command's end, how long a late ack is still heard */

struct set_id {
	bool present;
	char text[SET_ID_MAX + 1];
};

/* One command for the device, answering one or more sets. */
struct cmd {
	struct ic_reading set;		/* control index -> value */
	bool range_only;		/* only range controls: may merge with a newer set */
	int n_ids;
	struct set_id ids[CMD_IDS_MAX];
	/* What the set asked for its lifetime (set_parse), 0 where it did not:
	 * "lifetime_ms" from when the base unit got it, "expires" the sender's
	 * Unix time in ms. */
	long lifetime_ms;
	double expires_wall;
	uint64_t expires;		/* monotonic ms the set's lifetime ends (0: none) */
};

/* Parses a set payload. On false, err says what was wrong in words a user
 * can act on (no byte of the payload is echoed but valid names and numbers),
 * and out->ids[0] holds the set's id if one could be read. */
bool set_parse(const struct ic_hello *h, const void *payload, size_t len, struct cmd *out,
	       char *err, size_t errlen);

struct cmd_queue {
	bool busy;			/* a command is in flight */
	struct cmd inflight;
	uint64_t wire_id;		/* the in-flight command's id on the wire */
	uint64_t deadline, next_send, rto;	/* monotonic ms: sends stop at deadline, the answer is due CMD_GUARD_MS later */
	int timeout_ms;			/* the in-flight command's: shortened by its controls' failsafes and its lifetime */
	unsigned sends;
	struct cmd q[CMD_QUEUE_MAX];
	int head, len;
};

/* The command in flight keeps its own timers: the first send at cmd_begin(),
 * then retransmissions at a doubling interval capped at retry_max_ms, and an
 * answer due by timeout_ms after the first send. */
struct cmd_timing {
	int timeout_ms, retry_ms, retry_max_ms;
};

enum cmd_due {
	CMD_WAIT,		/* nothing due (or nothing in flight) */
	CMD_RESEND,		/* send it again, then cmd_resent() */
	CMD_EXPIRED,		/* no answer in time: cmd_end() it as a timeout */
};

/* Takes the next waiting command into flight under wire_id, as sent at now.
 * Its deadline is the shortest of timeout_ms, the failsafe time of any
 * control it sets (h: what the device announced: past that the device has
 * gone back to its safe value, and a late command must not undo it) and the
 * end of its lifetime. The device is told the deadline and does not carry the
 * command out after it. False when one is in flight already or none waits;
 * a waiting command whose lifetime has ended is not begun: take those first
 * with cmd_pop_expired(). */
bool cmd_begin(struct cmd_queue *q, uint64_t wire_id, uint64_t now, const struct cmd_timing *t,
	       const struct ic_hello *h);
enum cmd_due cmd_due(const struct cmd_queue *q, uint64_t now);
void cmd_resent(struct cmd_queue *q, uint64_t now, const struct cmd_timing *t);
/* Monotonic ms of the next retransmission or the deadline; UINT64_MAX when idle. */
uint64_t cmd_next_due(const struct cmd_queue *q);
/* Whether an acknowledgement with this wire id answers the command in flight. */
bool cmd_answers(const struct cmd_queue *q, uint64_t wire_id);
/* Ends the command in flight, copied to *done to be answered. False when idle. */
bool cmd_end(struct cmd_queue *q, struct cmd *done);

/* The command that undoes an expired one on the device's failsafe controls:
 * each of them back to its failsafe value, answering no set. False when the
 * expired one set none. (The device may still get the expired command late,
 * from a queue on the way; this one follows it.) */
bool cmd_failsafe_of(const struct ic_hello *h, const struct cmd *expired, struct cmd *out);

/* Adds a set behind the others. A range-only set merges into a range-only set
 * at the tail that is still waiting (newer values win, both answer together).
 * Returns false when the queue is full. */
bool cmd_queue_add(struct cmd_queue *q, const struct cmd *c);
bool cmd_queue_pop(struct cmd_queue *q, struct cmd *out);
/* The next waiting command if its lifetime has ended by now, to be answered. */
bool cmd_pop_expired(struct cmd_queue *q, uint64_t now, struct cmd *out);

/* JSON text of a control's value: "ON"/"OFF", a number, an enum's value. The
 * returned cJSON item is the caller's. */
struct cJSON;
struct cJSON *control_value_json(const struct ic_control *c, double v);

#endif
