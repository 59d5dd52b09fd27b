#!/bin/bash
# Home Assistant MQTT discovery: with `homeassistant true` the base unit
# announces every sensor, control and camera under homeassistant/#, pointing
# at the topic API; a client acting as Home Assistant (its own broker user,
# setup-broker --homeassistant) uses only what the announcements say.
source "$(dirname "$0")/../lib.sh"

test_broker --homeassistant --prefix home/cellar
KEY_T=$("$BIN/base-unit" genkey); KEY_L=$("$BIN/base-unit" genkey); KEY_C=$("$BIN/base-unit" genkey)
{ base_conf "127.0.0.1:$UDP_PORT"; cat <<CONF
prefix home/cellar
homeassistant true
device thermo $KEY_T
device lights $KEY_L
device cam $KEY_C
CONF
} > "$T/base.conf"
printf 'id thermo\nkey %s\nbase 127.0.0.1:%s\ninterval 0.5\nsensor temperature °C simulated 12 0.1\nsensor humidity %% simulated 80 0.5\n' \
	"$KEY_T" "$UDP_PORT" > "$T/thermo.conf"
printf 'id lights\nkey %s\nbase 127.0.0.1:%s\ncontrol light switch simulated\ncontrol brightness range 0 255 5 simulated\ncontrol mode enum eco,full simulated default eco\n' \
	"$KEY_L" "$UDP_PORT" > "$T/lights.conf"
printf 'id cam\nkey %s\nbase 127.0.0.1:%s\nsource pattern 160x120\nfps 2\n' "$KEY_C" "$UDP_PORT" > "$T/cam.conf"

watch ha homeassistant 'homeassistant/#'
watch all homeassistant 'home/cellar/#'
start base "$BIN/base-unit" -c "$T/base.conf"
start thermo "$BIN/read-unit" -c "$T/thermo.conf"
start lights "$BIN/updatable-unit" -c "$T/lights.conf"
start cam "$BIN/camera-unit" -c "$T/cam.conf"
check "the devices come online" wait_until 10 bash -c \
	"grep -q '^home/cellar/lights/availability online' '$T/all.watch' && grep -q '^home/cellar/cam/availability online' '$T/all.watch' &&
	 grep -q '^home/cellar/thermo/availability online' '$T/all.watch'"
wait_until 5 grep -q '^homeassistant/sensor/home_cellar_thermo/humidity/config ' "$T/ha.watch"
conf() { grep "^homeassistant/$1/config " "$T/ha.watch" | tail -n 1 | cut -d' ' -f2-; }
jq_py() {	# TOPIC PYTHON-EXPRESSION-ON-c: true if it holds
	local c; c=$(conf "$1")
	[ -n "$c" ] && $PY -c "import json,sys; c = json.loads(sys.argv[1]); sys.exit(not ($2))" "$c"
}
check "a sensor: state topic, template, unit, device class, availability, device" jq_py sensor/home_cellar_thermo/temperature \
	'c["state_topic"] == "home/cellar/thermo" and c["value_template"] == "{{ value_json.temperature }}" and c["unit_of_measurement"] == "°C" and c["device_class"] == "temperature" and c["availability"] == [{"topic": "home/cellar/bridge/state"}, {"topic": "home/cellar/thermo/availability"}] and c["availability_mode"] == "all" and c["device"]["identifiers"] == ["home_cellar_thermo"] and c["device"]["sw_version"] == "'"$(cat "$ROOT/VERSION")"'" and c["unique_id"] == "home_cellar_thermo_temperature"'
check "humidity is a humidity sensor" jq_py sensor/home_cellar_thermo/humidity 'c["device_class"] == "humidity" and c["unit_of_measurement"] == "%"'
check "a switch: command topic and payloads that are valid sets" jq_py switch/home_cellar_lights/light \
	'c["command_topic"] == "home/cellar/lights/set" and json.loads(c["payload_on"]) == {"light": "ON"} and c["state_on"] == "ON"'
check "a range is a number with its bounds and step" jq_py number/home_cellar_lights/brightness \
	'c["min"] == 0 and c["max"] == 255 and c["step"] == 5 and "{{ value }}" in c["command_template"]'
check "an enum is a select with its options" jq_py select/home_cellar_lights/mode 'c["options"] == ["eco", "full"]'
check "a camera points at its camera topic" jq_py camera/home_cellar_cam/camera 'c["topic"] == "home/cellar/cam/camera"'
check "the announcements are retained (a late Home Assistant gets them)" bash -c \
	"mosquitto_sub $(mqtt_args homeassistant) -t 'homeassistant/switch/#' -C 1 -W 3 | grep -q payload_on"

echo "# Home Assistant commands with what discovery said"
on=$($PY -c 'import json,sys; print(json.loads(sys.argv[1])["payload_on"])' "$(conf switch/home_cellar_lights/light)")
mosquitto_pub $(mqtt_args homeassistant) -t home/cellar/lights/set -m "$on"
check "its switch payload turns the light on" wait_until 3 seen all '^home/cellar/lights \{"light":"ON"'
tmpl=$($PY -c 'import json,sys; print(json.loads(sys.argv[1])["command_template"])' "$(conf number/home_cellar_lights/brightness)")
mosquitto_pub $(mqtt_args homeassistant) -t home/cellar/lights/set -m "${tmpl/\{\{ value \}\}/100}"
check "its number template (value 100) sets the brightness" wait_until 3 seen all '^home/cellar/lights \{"light":"ON","brightness":100'
check "the homeassistant user may not forge a device's state" bash -c \
	"mosquitto_pub $(mqtt_args homeassistant) -t home/cellar/thermo -m '{\"temperature\":99}' -q 1 2>&1; sleep 0.5; ! grep -q 'temperature\":99' '$T/all.watch'"

echo "# off by default"
stop base
mosquitto_pub $(mqtt_args base) -t homeassistant/switch/home_cellar_lights/light/config -r -n
{ base_conf "127.0.0.1:$UDP_PORT"; printf 'prefix home/cellar\ndevice lights %s\n' "$KEY_L"; } > "$T/plain.conf"
mark ha
start base "$BIN/base-unit" -c "$T/plain.conf"
stop lights
start lights "$BIN/updatable-unit" -c "$T/lights.conf"
check "(the device connects to that base unit)" wait_until 10 bash -c \
	"[ \$(grep -c 'device lights (updatable' '$T/base.log') -ge 2 ]"
sleep 1
check "without 'homeassistant true' nothing is announced" not_seen_since ha '^homeassistant/switch/home_cellar_lights/light/config \{'
