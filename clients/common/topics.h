/*
 * The topic API's rules (docs/topics.md), one home for the base unit and the
 * dashboard: a device id is the intercom's (1 to 32 of a-z 0-9 _ -), a set's
 * "id" at most 64 printable ASCII characters.
 */
#ifndef TOPICS_H
#define TOPICS_H

#include "intercom.h"

#define DEVICE_ID_MAX IC_ID_MAX	/* bytes of a device id */
#define SET_ID_MAX    64	/* bytes of a set's "id" */

#endif
