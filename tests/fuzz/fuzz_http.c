/*
 * libFuzzer target for everything the dashboard parses itself: the Cookie,
 * Authorization and Origin headers, url-encoded login forms, request paths,
 * JSON set bodies (parse.c), and messages from the broker (store.c), then the
 * JSON documents the store builds from them. The first byte picks the parser.
 */
#include "parse.h"
#include "settings.h"
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct dash_config c;
	static struct store *s;
	static unsigned runs;
	char out[256], id[DEVICE_ID_MAX + 1], user_id[SET_ID_MAX + 1], *json, *text;
	const char *rest;
	size_t len;
	char *str;

	if (size < 1)
		return 0;
	if (s && ++runs % 500 == 0) {	/* the store keeps what it is told: start afresh now and then */
		store_free(s);
		s = NULL;
	}
	if (!s) {
		dash_config_init(&c);
		c.history = 4;
		snprintf(c.names[0].id, sizeof(c.names[0].id), "lights");
		snprintf(c.names[0].name, sizeof(c.names[0].name), "<b>Lights</b>");
		c.n_names = 1;
		s = store_new(&c);
	}
	str = malloc(size);
	memcpy(str, data + 1, size - 1);
	str[size - 1] = '\0';	/* as C strings the headers stop at a NUL */
	switch (data[0] % 6) {
	case 0:
		cookie_get(str, "intercom_session", out, sizeof(out));
		bearer_get(str, out, sizeof(out));
		origin_matches(str, "127.0.0.1:8080", data[0] & 8);
		break;
	case 1:
		form_get(str, size - 1, "user", out, sizeof(out));
		form_get(str, size - 1, "password", out, sizeof(out));
		break;
	case 2:
		static_path_ok(str);
		if (api_device_path(str, id, &rest) && !device_id_valid(id, strlen(id)))
			abort();	/* the id of a device path is always a valid id */
		break;
	case 3:
		if (set_body_prepare(str, size - 1, "dash-0000000000000000", 1795996800000.0, &json, user_id, out, sizeof(out))) {
			if (!strstr(json, "\"id\":\"dash-0000000000000000\""))
				abort();	/* the correlation id is always ours */
			free(json);
		}
		break;
	default: {	/* "topic\0payload" from the broker */
		size_t tl = strnlen((const char *)data + 1, size - 1);
		char topic[300];
		if (tl >= sizeof(topic))
			break;
		memcpy(topic, data + 1, tl);
		topic[tl] = '\0';
		store_on_message(s, topic, tl + 2 <= size ? data + 2 + tl : data, tl + 2 <= size ? size - tl - 2 : 0);
		free(store_devices_json(s, &len));
		if ((text = store_device_json(s, "lights", &len)))
			free(text);
		free(store_metrics_text(s, &len));
		break;
	}
	}
	free(str);
	return 0;
}
