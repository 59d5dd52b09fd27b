/*
 * The bridge tests' harness: one base unit (struct base B) with the devices
 * lamp, thermo and car configured, run on the stubs of stubs.c; the device
 * side of the protocol, sealed by the intercom library's own device code.
 */
#ifndef BRIDGE_HARNESS_H
#define BRIDGE_HARNESS_H

#include "base.h"
#include "ic_session.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

extern struct base B;
extern struct sockaddr_storage dev_addr;	/* where the devices speak from */
extern const uint8_t lamp_psk[IC_KEY_LEN], thermo_psk[IC_KEY_LEN], car_psk[IC_KEY_LEN];
extern const struct ic_hello lamp_hello, thermo_hello;

void config(const char *line);			/* one line of the base unit's configuration */
void device_line(const char *id, const uint8_t *psk);
void setup(void);				/* the base unit, connected, nothing sent yet */
void teardown(void);
char *topic(const char *suffix);		/* P/suffix (four at a time) */
const char *last(const char *suffix);		/* the newest payload on P/suffix, or "" */
void set(const char *id, const char *json);	/* a set from the broker */

void to_base(const uint8_t *dgram, int n);	/* from the devices' address */
void from_elsewhere(const uint8_t *dgram, int n);	/* from another host's */
bool sent_to_device(int i);			/* stub_sent[i] went to the devices' address */
void device_send(struct ic_device *dv, uint8_t type, const uint8_t *body, size_t len);
uint8_t device_receive(struct ic_device *dv, uint8_t *body, size_t *len);	/* the newest, opened: its type or 0 */
/* HELLO (no ticket yet) -> CHALLENGE -> HELLO -> WELCOME: the device is
 * READY, the base unit waits for proof. */
void hello(struct ic_device *dv, const char *id, const uint8_t *psk, const struct ic_hello *h);
void reading(struct ic_device *dv, double v);

#endif
