/*
 * The daemons under systemd's service manager (sd_notify(3), libsystemd):
 * READY=1 once a daemon serves, the watchdog from its loop, RELOADING=1 and
 * STOPPING=1, and a STATUS line systemctl shows. Outside systemd (no
 * NOTIFY_SOCKET) every call does nothing and costs a branch.
 */
#ifndef SERVICE_H
#define SERVICE_H

#include <stdint.h>

/* READY=1 with a status line (printf format); again after a reload. */
void service_ready(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void service_reloading(uint64_t mono_us);
void service_stopping(void);

/* Sends WATCHDOG=1 when half the watchdog interval has passed since the last
 * one (now: monotonic ms). Call it from the loop whose progress it vouches
 * for. */
void service_watchdog(uint64_t now);
/* Milliseconds until service_watchdog() next wants to run: a loop waits no
 * longer (UINT64_MAX without a watchdog). */
uint64_t service_watchdog_next(uint64_t now);

#endif
