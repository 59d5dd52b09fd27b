/*
 * updatable-unit: a device agent with controls (a lamp, a dimmer, a power
 * outlet, a relay). It applies each command id exactly once, answers a
 * retransmitted command with the same result again, and reports its state on
 * every (re)connection and after every command. See docs/agents.md.
 */
#include "agent.h"
#include "controls.h"
#include "log.h"
#include "util.h"

#include <stdio.h>
#include <string.h>

#define RECENT_MAX 64	/* remembered command ids: far more than one in flight needs */

struct outcome {
	uint64_t id;
	uint8_t status;
	char error[IC_ERROR_MAX + 1];
};

struct unit {
	struct agent_config agent;
	struct control controls[IC_MAX_CONTROLS];
	int n_controls;
	struct outcome recent[RECENT_MAX];	/* ring of answered commands */
	int n_recent, next_recent;
	unsigned long applied, duplicates, rejected, failsafes, expired;
};

static bool config_line(void *ctx, const struct conf_line *l, char *err, size_t errlen)
{
	struct unit *u = ctx;
	bool mine;

	if (!agent_config_line(&u->agent, l, err, errlen, &mine))
		return false;
	if (mine)
		return true;
	if (!strcmp(l->argv[0], "control")) {
		if (u->n_controls == IC_MAX_CONTROLS) {
			snprintf(err, errlen, "too many controls (at most %d)", IC_MAX_CONTROLS);
			return false;
		}
		if (!control_parse(&u->controls[u->n_controls], l, err, errlen))
			return false;
		for (int i = 0; i < u->n_controls; i++)
			if (!strcmp(u->controls[i].meta.name, u->controls[u->n_controls].meta.name)) {
				snprintf(err, errlen, "control '%s' is already defined", u->controls[i].meta.name);
				return false;
			}
		u->n_controls++;
		return true;
	}
	snprintf(err, errlen, "unknown key '%s'", l->argv[0]);
	return false;
}

static bool load(struct unit *u, const char *path)
{
	memset(u, 0, sizeof(*u));
	agent_config_init(&u->agent);
	if (conf_load(path, config_line, u) != 0 || !agent_config_finish(&u->agent, path))
		return false;
	if (u->n_controls == 0) {
		conf_error("%s: no 'control' lines\n", path);
		return false;
	}
	return true;
}

static void state_of(const struct unit *u, struct ic_reading *r)
{
	r->n = (uint8_t)u->n_controls;
	for (int i = 0; i < u->n_controls; i++) {
		r->values[i].index = (uint8_t)i;
		r->values[i].value = u->controls[i].value;
	}
}

static void send_state(struct agent *a, struct unit *u)
{
	struct ic_reading r;
	uint8_t body[IC_BODY_MAX];
	int n;

	state_of(u, &r);
	n = ic_reading_encode(body, sizeof(body), &r);
	if (n >= 0)
		agent_send(a, IC_STATE, body, (size_t)n);
}

static void send_ack(struct agent *a, struct unit *u, const struct outcome *o)
{
	struct ic_ack ack = { .id = o->id, .status = o->status };
	uint8_t body[IC_BODY_MAX];
	int n;

	memcpy(ack.error, o->error, sizeof(ack.error));
	state_of(u, &ack.state);
	n = ic_ack_encode(body, sizeof(body), &ack);
	if (n >= 0)
		agent_send(a, IC_ACK, body, (size_t)n);
}

static const struct outcome *recent_find(const struct unit *u, uint64_t id)
{
	for (int i = 0; i < u->n_recent; i++)
		if (u->recent[i].id == id)
			return &u->recent[i];
	return NULL;
}

static void execute(struct unit *u, const struct ic_command *c, struct outcome *o)
{
	char err[IC_ERROR_MAX + 1];

	o->id = c->id;
	o->status = IC_ACK_OK;
	o->error[0] = '\0';
	/* Check everything before touching anything. */
	for (int i = 0; i < c->set.n; i++) {
		int k = c->set.values[i].index;
		if (k >= u->n_controls || !ic_control_value_valid(&u->controls[k].meta, c->set.values[i].value)) {
			o->status = IC_ACK_REJECTED;
			snprintf(o->error, sizeof(o->error), "value out of range for control %d", k);
			return;
		}
	}
	/* Then apply in order; a backend that refuses stops the rest. */
	for (int i = 0; i < c->set.n; i++) {
		struct control *ctl = &u->controls[c->set.values[i].index];
		char text[32];

		control_value_format(&ctl->meta, c->set.values[i].value, text, sizeof(text));
		if (!control_apply(ctl, c->set.values[i].value, err, sizeof(err))) {
			o->status = IC_ACK_REJECTED;
			memcpy(o->error, err, sizeof(o->error));
			log_info("command %016llx: %s refused: %s", (unsigned long long)c->id, ctl->meta.name, err);
			return;
		}
		ctl->set_at = now_ms();		/* the failsafe counts from here */
		log_debug("command %016llx: %s = %s", (unsigned long long)c->id, ctl->meta.name, text);
	}
}

/* The device's own safe state: a control with a failsafe that no command has
 * set for its time, or whose base unit is gone, returns to its safe value by
 * itself and says so. Returns the ms until the next one is due. */
static uint64_t failsafe_work(struct agent *a, uint64_t now, void *ctx)
{
	struct unit *u = ctx;
	uint64_t next = UINT64_MAX;
	bool changed = false;

	for (int i = 0; i < u->n_controls; i++) {
		struct control *c = &u->controls[i];
		uint64_t due = c->set_at + c->meta.failsafe_ms;
		char err[IC_ERROR_MAX + 1], text[32];

		if (!c->meta.failsafe_ms || c->value == c->meta.failsafe)
			continue;
		if (agent_ready(a) && now < due) {
			if (due - now < next)
				next = due - now;
			continue;
		}
		control_value_format(&c->meta, c->meta.failsafe, text, sizeof(text));
		if (!control_apply(c, c->meta.failsafe, err, sizeof(err))) {
			log_err("control %s: the failsafe %s was refused: %s; trying again", c->meta.name, text, err);
			next = next < 100 ? next : 100;
			continue;
		}
		log_info("control %s: failsafe %s (%s)", c->meta.name, text,
			 agent_ready(a) ? "no command in time" : "no base unit");
		u->failsafes++;
		changed = true;
	}
	if (changed && agent_ready(a))
		send_state(a, u);
	return next;
}

static void on_command(struct agent *a, struct unit *u, const uint8_t *body, size_t len)
{
	struct ic_command c;
	const struct outcome *seen;
	struct outcome *o;
	uint64_t base_now;

	if (ic_command_decode(&c, body, len) != IC_OK) {
		log_warn("dropped a command that does not decode");
		return;
	}
	seen = recent_find(u, c.id);
	if (seen) {
		/* a retransmission: the ack was lost; say the same again, change nothing */
		u->duplicates++;
		send_ack(a, u, seen);
		return;
	}
	o = &u->recent[u->next_recent];
	u->next_recent = (u->next_recent + 1) % RECENT_MAX;
	if (u->n_recent < RECENT_MAX)
		u->n_recent++;
	base_now = agent_base_time(a);
	if (c.expires_ms && base_now > c.expires_ms) {
		/* late (held up on the way): the base unit has answered or will
		 * answer it as not carried out, so it is not */
		*o = (struct outcome){ .id = c.id, .status = IC_ACK_EXPIRED };
		snprintf(o->error, sizeof(o->error), "arrived %llu ms after its end",
			 (unsigned long long)(base_now - c.expires_ms));
		log_info("command %016llx: not carried out: %s", (unsigned long long)c.id, o->error);
		u->expired++;
	} else {
		execute(u, &c, o);
		if (o->status == IC_ACK_OK)
			u->applied++;
		else
			u->rejected++;
	}
	send_ack(a, u, o);
}

static void on_message(struct agent *a, uint8_t type, const uint8_t *body, size_t len, void *ctx)
{
	struct unit *u = ctx;

	if (type == IC_COMMAND)
		on_command(a, u, body, len);
	else if (type == IC_GET)
		send_state(a, u);
}

static void on_ready(struct agent *a, void *ctx)
{
	send_state(a, ctx);
}

static int run(const char *path)
{
	struct unit u;
	struct ic_hello hello = { .kind = IC_KIND_UPDATABLE };
	struct agent a;
	char err[256];
	int ret = 1;

	if (!load(&u, path))
		return 1;
	for (int i = 0; i < u.n_controls; i++)
		if (control_open(&u.controls[i], err, sizeof(err)) < 0) {
			log_err("%s", err);
			goto out;
		}
	hello.keepalive = (uint16_t)u.agent.keepalive;
	hello.n_controls = (uint8_t)u.n_controls;
	for (int i = 0; i < u.n_controls; i++)
		hello.controls[i] = u.controls[i].meta;
	if (agent_start(&a, &u.agent, &hello, on_ready, on_message, &u) < 0)
		goto out;
	log_info("device %s: %d controls, base unit %s", u.agent.id, u.n_controls, u.agent.base);
	agent_loop(&a, failsafe_work, &u);
	ret = 0;
out:
	log_info("stopping: applied %lu commands, refused %lu, %lu too late, re-acknowledged %lu duplicates, "
		 "%lu failsafes", u.applied, u.rejected, u.expired, u.duplicates, u.failsafes);
	for (int i = 0; i < u.n_controls; i++)
		control_close(&u.controls[i]);
	return ret;
}

int main(int argc, char **argv)
{
	const char *path;
	bool check;

	int rc = agent_cli(argc, argv, "updatable-unit", &path, &check);

	if (rc >= 0)
		return rc;
	if (check) {
		static struct unit u;
		bool ok = load(&u, path);
		if (ok)
			printf("%s: ok (%d controls)\n", path, u.n_controls);
		return ok ? 0 : 1;
	}
	return run(path);
}
