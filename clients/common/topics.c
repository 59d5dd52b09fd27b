#include "topics.h"

#include <stdio.h>
#include <string.h>

static const char *const result_names[SET_RESULTS] = { "ok", "invalid", "rejected", "timeout", "offline" };

const char *set_result_name(enum set_result r)
{
	return (unsigned)r < SET_RESULTS ? result_names[r] : "invalid";
}

int set_result_parse(const char *name)
{
	for (int i = 0; name && i < SET_RESULTS; i++)
		if (!strcmp(name, result_names[i]))
			return i;
	return -1;
}

bool device_id_valid(const char *id, size_t len)
{
	return ic_id_valid(id, len);
}

int topic_build(char *out, size_t cap, const char *prefix, const char *id, const char *suffix)
{
	int n = snprintf(out, cap, *suffix ? "%s/%s/%s" : "%s/%s%s", prefix, id, suffix);

	return n < 0 || (size_t)n >= cap ? -1 : n;
}

bool topic_split(const char *topic, const char *prefix, char id[DEVICE_ID_MAX + 1], const char **suffix)
{
	size_t pl = strlen(prefix), il;
	const char *rest, *slash;

	if (strncmp(topic, prefix, pl) != 0 || topic[pl] != '/')
		return false;
	rest = topic + pl + 1;
	slash = strchr(rest, '/');
	il = slash ? (size_t)(slash - rest) : strlen(rest);
	if (!device_id_valid(rest, il) && !(il == sizeof(T_BRIDGE) - 1 && !memcmp(rest, T_BRIDGE, il)))
		return false;
	memcpy(id, rest, il);
	id[il] = '\0';
	*suffix = slash ? slash + 1 : "";
	return true;
}
