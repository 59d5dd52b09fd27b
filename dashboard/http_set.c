#include "http_int.h"
#include "log.h"
#include "parse.h"
#include "util.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A set's result as an HTTP status (docs/dashboard.md). */
static unsigned status_code(const char *status)
{
	switch (set_result_parse(status)) {
	case RESULT_OK: return MHD_HTTP_OK;
	case RESULT_INVALID: return MHD_HTTP_BAD_REQUEST;
	case RESULT_REJECTED: return MHD_HTTP_CONFLICT;
	case RESULT_TIMEOUT:
	case RESULT_OFFLINE: return MHD_HTTP_GATEWAY_TIMEOUT;
	default: return status ? MHD_HTTP_GATEWAY_TIMEOUT : MHD_HTTP_BAD_GATEWAY;
	}
}

static enum MHD_Result result_response(struct http *h, struct MHD_Connection *conn, const char *user_id,
				       const char *status, const char *error)
{
	cJSON *o = cJSON_CreateObject();
	char *text;

	if (user_id[0])
		cJSON_AddStringToObject(o, "id", user_id);
	else
		cJSON_AddNullToObject(o, "id");
	cJSON_AddStringToObject(o, "status", status);
	if (error)
		cJSON_AddStringToObject(o, "error", error);
	text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return send_owned(h, conn, status_code(status), "application/json", text, text ? strlen(text) : 0);
}

enum MHD_Result do_set(struct http *h, struct MHD_Connection *conn, struct req *r, const char *id)
{
	char user_id[SET_ID_MAX + 1], our_id[48], err[160], *json;
	uint64_t rnd;
	struct waiter *w;

	if (!store_device_known(h->store, id))
		return unknown_device(h, conn);
	random_bytes(&rnd, sizeof(rnd));
	snprintf(our_id, sizeof(our_id), "dash-%016llx", (unsigned long long)rnd);
	/* It expires a second before the dashboard stops waiting, so that the
	 * base unit's answer for it (timeout: not carried out) can still come. */
	if (!set_body_prepare(r->body, r->len, our_id,
			      (double)(wall_ms() + (uint64_t)(h->c->set_timeout_ms > 1100 ? h->c->set_timeout_ms - 1000 : 100)),
			      &json, user_id, err, sizeof(err)))
		return result_response(h, conn, user_id, "invalid", err);
	store_count(h->store, DASH_SETS, 1);
	if (!(w = store_result_expect(h->store, id, our_id))) {
		free(json);
		return MHD_NO;
	}
	if (!broker_publish(h->broker, id, T_SET, json, strlen(json))) {
		char why[600], msg[700];

		free(json);
		free(store_result_wait(h->store, w, 0));
		broker_status(h->broker, why, sizeof(why));
		snprintf(msg, sizeof(msg), "the dashboard is not connected to the broker (%s)", why);
		return send_error(h, conn, MHD_HTTP_SERVICE_UNAVAILABLE, msg);
	}
	free(json);
	/* Wait for the result without a thread: suspended until it comes. */
	r->waiter = w;
	r->deadline = now_ms() + (uint64_t)h->c->set_timeout_ms;
	snprintf(r->set_id, sizeof(r->set_id), "%s", our_id);
	snprintf(r->user_id, sizeof(r->user_id), "%s", user_id);
	return set_waiting(h, conn, r);
}

enum MHD_Result set_waiting(struct http *h, struct MHD_Connection *conn, struct req *r)
{
	char err[160], *result;
	enum MHD_Result ret;
	cJSON *res;

	for (;;) {
		uint64_t gen = park_gen(&h->park);

		if (store_result_ready(h->store, r->waiter) || h->stopping || now_ms() >= r->deadline)
			break;
		if (park(&h->park, &r->parked, conn, PARK_RESULT, r->set_id, r->deadline, gen))
			return MHD_YES;
	}
	result = store_result_wait(h->store, r->waiter, 0);
	r->waiter = NULL;
	if (!result) {
		snprintf(err, sizeof(err), "no result from the base unit within %d ms", h->c->set_timeout_ms);
		return result_response(h, conn, r->user_id, "timeout", err);
	}
	res = cJSON_Parse(result);
	free(result);
	ret = result_response(h, conn, r->user_id,
			      cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(res, "status")) ?: "invalid",
			      cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(res, "error")));
	cJSON_Delete(res);
	return ret;
}

void set_abandon(struct http *h, struct req *r)
{
	if (r->waiter)
		free(store_result_wait(h->store, r->waiter, 0));
	r->waiter = NULL;
}
