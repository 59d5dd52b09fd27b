#!/bin/bash
# SIGHUP: the base unit reads its configuration again. A device added can
# connect, a device removed goes offline and its sets are answered, a new key
# ends that device's session; every other session stays as it was. A file
# with errors changes nothing; a key that needs a restart says so. A removed
# device leaves no Home Assistant entity behind.
source "$(dirname "$0")/../lib.sh"

test_broker --homeassistant
KEY_A=$("$BIN/base-unit" genkey)
KEY_B=$("$BIN/base-unit" genkey)
KEY_C=$("$BIN/base-unit" genkey)
conf() {	# DEVICE-LINES...: the base unit's configuration with these devices
	{ base_conf "127.0.0.1:$UDP_PORT"; echo "homeassistant true"; printf '%s\n' "$@"; } > "$T/base.conf.new"
	mv "$T/base.conf.new" "$T/base.conf"
}
agent() {	# NAME ID KEY PROGRAM [LINES...]
	local name=$1 id=$2 key=$3 prog=$4; shift 4
	{ printf 'id %s\nkey %s\nbase 127.0.0.1:%s\nkeepalive 1\n' "$id" "$key" "$UDP_PORT"; printf '%s\n' "$@"; } \
		> "$T/$id.conf"
	start "$name" "$BIN/$prog" -c "$T/$id.conf"
}
connected() { grep -c "device $1 .*connected from" "$T/base.log"; }
# ha_configs DEVICE: how many discovery configs the broker keeps for it
ha_configs() {
	mosquitto_sub $(mqtt_args homeassistant) -t "homeassistant/+/intercom_$1/+/config" --retained-only -W 2 -v 2> /dev/null |
		grep -c . || true
}
ha_some() { [ "$(ha_configs "$1")" -ge 1 ]; }
ha_none() { [ "$(ha_configs "$1")" = 0 ]; }

conf "device thermo-a $KEY_A" "device lights-b $KEY_B"
watch all reader 'intercom/#'
start base "$BIN/base-unit" -c "$T/base.conf"
agent a thermo-a "$KEY_A" read-unit "interval 0.2" "sensor t °C simulated 10 0.1"
agent b lights-b "$KEY_B" updatable-unit "control light switch simulated"
agent c cam-c "$KEY_C" camera-unit "source pattern 64x48" "fps 2"
check "a and b connect" wait_until 10 bash -c "grep -q 'device thermo-a .*connected' '$T/base.log' &&
	grep -q 'device lights-b .*connected' '$T/base.log'"
sleep 1
check "c, not configured yet, does not" test "$(connected cam-c)" = 0

check "b's Home Assistant config is kept by the broker" wait_until 5 ha_some lights-b
echo "# add c, remove b, keep a"
conf "device thermo-a $KEY_A" "device cam-c $KEY_C"
mark all
kill -HUP "$PID_base"
check "the base unit says what changed" wait_until 5 grep -q \
	'reloaded .*: 2 devices (1 added, 1 removed, 0 with a new key, 1 kept their sessions)' "$T/base.log"
check "c connects" wait_until 10 seen_since all '^intercom/cam-c/availability online$'
check "b goes offline at the broker" wait_until 5 seen_since all '^intercom/lights-b/availability offline$'
check "the device list has a and c, not b" wait_until 5 bash -c \
	"grep -a '^intercom/bridge/devices ' '$T/all.watch' | tail -n 1 | grep '\"cam-c\"' | grep -v -q '\"lights-b\"'"
check "a kept its session: it connected once" test "$(connected thermo-a)" = 1
check "b leaves no Home Assistant entity: its config is cleared" wait_until 5 ha_none lights-b
check "a's stays" ha_some thermo-a
mark all
check "and its readings go on" wait_until 3 seen_since all '^intercom/thermo-a \{"t"'
out=$(mosquitto_pub $(mqtt_args dashboard) -t intercom/lights-b/set -m '{"id":"r1","light":"ON"}' -q 1 2>&1)
check "a set for b is answered as for a device nobody knows" wait_until 5 \
	seen_since all '^intercom/lights-b/result \{"id":"r1","status":"invalid","error":"unknown device"\}$'

echo "# a new key for a"
KEY_A2=$("$BIN/base-unit" genkey)
conf "device thermo-a $KEY_A2" "device cam-c $KEY_C"
mark all
kill -HUP "$PID_base"
check "a's session ends" wait_until 5 seen_since all '^intercom/thermo-a/availability offline$'
check "c kept its session" test "$(connected cam-c)" = 1
stop a
agent a thermo-a "$KEY_A2" read-unit "interval 0.2" "sensor t °C simulated 10 0.1"
check "a connects again with its new key" wait_until 10 seen_since all '^intercom/thermo-a/availability online$'

echo "# a file with errors, a key that takes a restart"
cp "$T/base.conf" "$T/good.conf"
echo "device bad-line" >> "$T/base.conf"
mark all
kill -HUP "$PID_base"
check "errors: the base unit says it keeps what it had" wait_until 5 grep -q \
	'reload: .* has errors (above); still running with the configuration as it was' "$T/base.log"
check "and names the line" grep -q "base.conf:[0-9]*: 'device' expects: device ID KEY" "$T/base.log"
check "the devices stay online" bash -c "sleep 1; ! grep -a -q 'availability offline' <(tail -n +$((MARK_all + 1)) '$T/all.watch')"
sed "s/^listen .*/listen 127.0.0.1:$(free_port udp)/" "$T/good.conf" > "$T/base.conf"
kill -HUP "$PID_base"
check "a new 'listen' waits for a restart, and says so" wait_until 5 grep -q \
	"reload: 'listen' changed: it takes effect at the next restart" "$T/base.log"
{ cat "$T/good.conf"; echo "motion cam-c"; } > "$T/base.conf"
kill -HUP "$PID_base"
check "a new 'motion' line waits for a restart, and says so" wait_until 5 grep -q \
	"reload: 'motion' changed: it takes effect at the next restart" "$T/base.log"
check "the base unit is still running" kill -0 "$PID_base"
check "sessions a: 2 (the new key), c: 1" test "$(connected thermo-a)/$(connected cam-c)" = 2/1
