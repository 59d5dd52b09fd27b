/*
 * libFuzzer target for set payloads (P/<device>/set): any bytes an MQTT
 * client may publish, against a device with one control of each type, then
 * into the command queue, as the base unit does.
 */
#include "commands.h"

#include <stdio.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct cmd_queue q;
	static struct ic_hello h;
	struct cmd c, out;
	char err[256];

	if (h.n_controls == 0) {
		h.kind = IC_KIND_UPDATABLE;
		h.keepalive = 15;
		h.n_controls = 3;
		snprintf(h.controls[0].name, sizeof(h.controls[0].name), "%s", "light");
		h.controls[0].type = IC_SWITCH;
		snprintf(h.controls[1].name, sizeof(h.controls[1].name), "%s", "throttle");
		h.controls[1].type = IC_RANGE;
		h.controls[1].min = -100;
		h.controls[1].max = 100;
		h.controls[1].step = 0.5;
		snprintf(h.controls[2].name, sizeof(h.controls[2].name), "%s", "mode");
		h.controls[2].type = IC_ENUM;
		h.controls[2].n_values = 2;
		snprintf(h.controls[2].values[0], sizeof(h.controls[2].values[0]), "%s", "eco");
		snprintf(h.controls[2].values[1], sizeof(h.controls[2].values[1]), "%s", "full");
	}
	if (set_parse(&h, data, size, &c, err, sizeof(err))) {
		if (!cmd_queue_add(&q, &c))
			while (cmd_queue_pop(&q, &out))
				;
	} else if (strlen(err) == 0) {
		__builtin_trap();	/* every refusal must say why */
	}
	return 0;
}
