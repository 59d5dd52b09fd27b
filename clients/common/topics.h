/*
 * The topic API (docs/topics.md), the contract between the base unit and the
 * dashboard, in one place: the topics' names, how they are built and split,
 * a device id's and a set id's rules, and the results a set can have.
 *
 *   P/<device>                 state (retained JSON)
 *   P/<device>/availability    online | offline (retained)
 *   P/<device>/set, /get       commands in; /result the answer to a set
 *   P/<device>/camera, /thumbnail   JPEG frames
 *   P/bridge/state, /devices, /metrics, /link   the base unit itself
 */
#ifndef TOPICS_H
#define TOPICS_H

#include "intercom.h"

#include <stdbool.h>
#include <stddef.h>

#define DEVICE_ID_MAX IC_ID_MAX	/* bytes of a device id: 1 to 32 of a-z 0-9 _ - */
#define SET_ID_MAX    64	/* bytes of a set's "id": printable ASCII */

/* suffixes under P/<device>/ ("" is the state itself) */
#define T_STATE        ""
#define T_AVAILABILITY "availability"
#define T_SET          "set"
#define T_GET          "get"
#define T_RESULT       "result"
#define T_CAMERA       "camera"
#define T_THUMBNAIL    "thumbnail"
#define T_MOTION       "motion"		/* ON or OFF, retained */
#define T_EVENT        "event"		/* a motion event's start and end, JSON */
#define T_EVENT_FRAME  "event_frame"	/* the best frame of the last motion event, retained */

/* the base unit's own topics: P/bridge/<suffix> */
#define T_BRIDGE        "bridge"
#define T_BRIDGE_STATE  "state"
#define T_BRIDGE_DEVICES "devices"
#define T_BRIDGE_METRICS "metrics"
#define T_BRIDGE_LINK   "link"

#define T_ONLINE  "online"
#define T_OFFLINE "offline"

/* A set's answer, on P/<device>/result as {"id":…,"status":<name>,"error":…}. */
enum set_result { RESULT_OK, RESULT_INVALID, RESULT_REJECTED, RESULT_TIMEOUT, RESULT_OFFLINE, SET_RESULTS };
const char *set_result_name(enum set_result r);
/* The result a status names, or -1. */
int set_result_parse(const char *name);

bool device_id_valid(const char *id, size_t len);

/* prefix/id, or prefix/id/suffix when suffix is not empty. The length, or -1
 * when it does not fit. */
int topic_build(char *out, size_t cap, const char *prefix, const char *id, const char *suffix);
/* The other way: true when topic is under prefix and names a device id (or
 * "bridge"), copied to id; *suffix points into topic after the id and its
 * '/' ("" for the state). */
bool topic_split(const char *topic, const char *prefix, char id[DEVICE_ID_MAX + 1], const char **suffix);

#endif
