#include "service.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <systemd/sd-daemon.h>

static int managed = -1;		/* NOTIFY_SOCKET is set */
static uint64_t half_ms = UINT64_MAX;	/* half the watchdog interval */
static uint64_t last_ping;

static int under_systemd(void)
{
	uint64_t usec = 0;

	if (managed < 0) {
		managed = getenv("NOTIFY_SOCKET") != NULL;
		if (managed && sd_watchdog_enabled(0, &usec) > 0 && usec >= 2000)
			half_ms = usec / 2000;
	}
	return managed;
}

void service_ready(const char *fmt, ...)
{
	char status[256];
	va_list ap;

	if (!under_systemd())
		return;
	va_start(ap, fmt);
	vsnprintf(status, sizeof(status), fmt, ap);
	va_end(ap);
	sd_notifyf(0, "READY=1\nSTATUS=%s", status);
}

void service_reloading(uint64_t mono_us)
{
	if (under_systemd())
		sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu", (unsigned long long)mono_us);
}

void service_stopping(void)
{
	if (under_systemd())
		sd_notify(0, "STOPPING=1");
}

void service_watchdog(uint64_t now)
{
	if (!under_systemd() || half_ms == UINT64_MAX || now - last_ping < half_ms)
		return;
	last_ping = now;
	sd_notify(0, "WATCHDOG=1");
}

uint64_t service_watchdog_next(uint64_t now)
{
	if (!under_systemd() || half_ms == UINT64_MAX)
		return UINT64_MAX;
	return now - last_ping >= half_ms ? 0 : half_ms - (now - last_ping);
}
