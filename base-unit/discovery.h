/*
 * Home Assistant MQTT discovery (docs/topics.md): with `homeassistant true`,
 * every device's sensors, controls and camera are announced, retained, under
 * homeassistant/<component>/<P>_<device>/<object>/config, pointing at the
 * topic API itself, so Home Assistant reads and commands devices with no
 * configuration of its own.
 */
#ifndef BASE_DISCOVERY_H
#define BASE_DISCOVERY_H

#include "config.h"
#include "devices.h"
#include "mqtt.h"

/* Publishes the discovery configs of one device (nothing before it announced itself). */
void discovery_publish(struct mqtt *q, const struct base_config *c, const struct device *d);
/* Clears them (an empty retained message for each): a device removed from the
 * configuration leaves no entity behind. */
void discovery_remove(struct mqtt *q, const struct base_config *c, const struct device *d);

#endif
