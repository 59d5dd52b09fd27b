#!/bin/bash
# The walking skeleton through real parts: a real Mosquitto with the project's
# broker-conf over TLS, the base unit, a read unit, and the independent Python
# device. Everything on loopback, on free ports.
source "$(dirname "$0")/../lib.sh"

test_broker

KEY_THERMO=$("$BIN/base-unit" genkey)
KEY_PROBE=$("$BIN/base-unit" genkey)
check "genkey prints 64 hex digits" grep -qE '^[0-9a-f]{64}$' <<< "$KEY_THERMO"
check "genkey gives a new key each time" test "$KEY_THERMO" != "$KEY_PROBE"

{ echo "prefix intercom"; base_conf "127.0.0.1:$UDP_PORT"; cat <<CONF
device cellar-thermo $KEY_THERMO
device probe-dev $KEY_PROBE
device ghost $("$BIN/base-unit" genkey)
CONF
} > "$T/base.conf"
cat > "$T/thermo.conf" <<CONF
id cellar-thermo
key $KEY_THERMO
base 127.0.0.1:$UDP_PORT
interval 0.5
keepalive 1
sensor temperature °C simulated 12.5 0.1
sensor humidity % simulated 80 0.5 0 100
CONF

echo "# configuration"
check "base-unit --check accepts the config" "$BIN/base-unit" --check -c "$T/base.conf"
printf 'mqtt_cafile x\nmqtt_port 99999\n' > "$T/bad.conf"
"$BIN/base-unit" --check -c "$T/bad.conf" > "$T/bad.out" 2>&1
check "base-unit --check refuses a bad config" test $? -eq 1
check "the error names file, line and what was expected" \
	grep -q "bad.conf:2: 'mqtt_port' expects a whole number from 1 to 65535, got '99999'" "$T/bad.out"
check "read-unit --check accepts its config" "$BIN/read-unit" --check -c "$T/thermo.conf"

echo "# the broker keeps strangers out"
mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -t '#' -C 1 -W 3 > "$T/plain.out" 2>&1
check "a client without TLS is refused" test $? -ne 0
mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" --cafile "$BROKER/ca.crt" -t '#' -C 1 -W 3 > "$T/anon.out" 2>&1
check "a client without a password is refused" grep -qi "not authori[sz]ed" "$T/anon.out"
mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" --cafile "$BROKER/ca.crt" -u reader -P wrong -t '#' -C 1 -W 3 \
	> "$T/wrongpw.out" 2>&1
check "a wrong password is refused" grep -qi "not authori[sz]ed" "$T/wrongpw.out"
broker_setup "$T/other-ca" --port 1
mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" --cafile "$T/other-ca/ca.crt" $(mqtt_args reader | sed 's/.*-u/-u/') \
	-t '#' -C 1 -W 3 -v > "$T/otherca.out" 2>&1
otherca_rc=$?
# (mosquitto_sub 2.0.11 says "A TLS error occurred."; 2.0.21 words the same refusal in more than one
# way, or not at all: the broker's log has the client's "unknown ca" alert either way)
check "a broker whose certificate another CA signed is not trusted" bash -c \
	"[ $otherca_rc -ne 0 ] && ! grep -q '^intercom/' '$T/otherca.out' &&
	 { grep -qiE 'TLS error|protocol error' '$T/otherca.out' || grep -qi 'unknown ca' '$T/mosquitto.log'; }"

echo "# readings flow from the device to any MQTT client"
watch all reader 'intercom/#'
start base "$BIN/base-unit" -c "$T/base.conf"
check "bridge/state goes online" wait_until 10 seen all '^intercom/bridge/state online$'
start thermo "$BIN/read-unit" -c "$T/thermo.conf"
check "the device's availability goes online" wait_until 10 seen all '^intercom/cellar-thermo/availability online$'
check "a reading arrives with its values and last_seen" wait_until 10 seen all \
	'^intercom/cellar-thermo \{"temperature":[0-9.]+,"humidity":[0-9.]+,"last_seen":"20[0-9-]+T[0-9:]+Z"\}$'
check "bridge/devices lists the device with its kind and sensors" wait_until 5 seen all \
	'^intercom/bridge/devices .*\{"id":"cellar-thermo","kind":"read","sensors":\[\{"name":"temperature","unit":"°C"\},\{"name":"humidity","unit":"%"\}\],"controls":\[\],"online":true'
check "a configured device that never spoke is listed offline" seen all '"id":"ghost","kind":null,.*"online":false'
mosquitto_sub $(mqtt_args reader) -t 'intercom/cellar-thermo' -C 1 -W 3 > "$T/retained.out" 2>&1
check "the device's state is retained for late subscribers" grep -q '"temperature"' "$T/retained.out"

echo "# the independent Python implementation interoperates"
mark all
$PY "$ROOT/tests/tools/probe.py" session "127.0.0.1:$UDP_PORT" probe-dev "$KEY_PROBE" 42.5 "$T/captured" > "$T/probe.log" 2>&1
check "the probe completes a session, is followed when it roams, and replays go unanswered" \
	test $? -eq 0
check "it comes online" wait_until 5 seen_since all '^intercom/probe-dev/availability online$'
check "its reading is published" wait_until 5 seen_since all '^intercom/probe-dev \{"level":42.5,'
check "its bye marks it offline at once" wait_until 3 seen_since all '^intercom/probe-dev/availability offline$'
check "(because of the bye, not a timeout)" grep -q 'device probe-dev offline (said bye)' "$T/base.log"
check "the replayed reading was not published twice" test "$(seen_count all '^intercom/probe-dev \{')" -eq 1
check "replays are counted" wait_until 3 bash -c "[ \$(grep bridge/metrics $T/all.watch | tail -1 | grep -o '\"replayed\":[0-9]*' | cut -d: -f2) -ge 3 ]"

echo "# bad input is dropped and counted; the bridge keeps bridging"
$PY "$ROOT/tests/tools/probe.py" garbage "127.0.0.1:$UDP_PORT" 300 > "$T/garbage.log" 2>&1
$PY "$ROOT/tests/tools/probe.py" unknown "127.0.0.1:$UDP_PORT" >> "$T/probe.log" 2>&1
check "an unknown device gets no answer" test $? -eq 0
$PY "$ROOT/tests/tools/probe.py" wrongkey "127.0.0.1:$UDP_PORT" cellar-thermo >> "$T/probe.log" 2>&1
check "a hello under a wrong key gets no answer" test $? -eq 0
$PY "$ROOT/tests/tools/probe.py" wrongkey "127.0.0.1:$UDP_PORT" cellar-thermo "$KEY_PROBE" >> "$T/probe.log" 2>&1
check "a device's real key cannot speak for another device" test $? -eq 0
sleep 1.5
check "malformed datagrams are counted" test "$(metric all dropped.malformed)" -ge 250
check "unknown devices are counted" test "$(metric all dropped.unknown_device)" -ge 1
check "failed authentication is counted" test "$(metric all dropped.auth_failed)" -ge 1
check "the base unit is still running" kill -0 "$PID_base"
mark all
check "readings still flow after the attack" wait_until 5 seen_since all '^intercom/cellar-thermo \{'


echo "# availability follows the device"
mark all
stop thermo KILL
check "a silent device goes offline after missed keepalives (3 x 1 s)" wait_until 6 seen_since all \
	'^intercom/cellar-thermo/availability offline$'
mark all
start thermo "$BIN/read-unit" -c "$T/thermo.conf"
check "and online again when it returns" wait_until 10 seen_since all '^intercom/cellar-thermo/availability online$'


echo "# the base unit's last will, and devices re-registering after its restart"
mark all
stop base KILL
check "bridge/state goes offline when the base unit dies (last will)" wait_until 10 seen_since all \
	'^intercom/bridge/state offline$'
mark all
start base "$BIN/base-unit" -c "$T/base.conf"
check "bridge/state online again after restart" wait_until 10 seen_since all '^intercom/bridge/state online$'
check "the device re-registers by itself and readings resume" wait_until 8 seen_since all \
	'^intercom/cellar-thermo \{'
check "and is online" wait_until 3 seen_since all '^intercom/cellar-thermo/availability online$'

check "the device was told its session was lost" grep -q "lost our session" "$T/thermo.log"
mark all
$PY "$ROOT/tests/tools/probe.py" replay "127.0.0.1:$UDP_PORT" "$T/captured" > "$T/replay.log" 2>&1
check "a captured session replayed after the restart gets no session to answer ($(cat "$T/replay.log"))" \
	test $? -eq 0
sleep 1
check "and changes nothing: the device stays offline, nothing of it is published" \
	not_seen_since all '^intercom/probe-dev(/availability online| \{)'

echo "# the broker goes away and comes back empty"
stop mosquitto TERM
stop all
rm -rf "$BROKER/data"/*
sleep 2
broker_start mosquitto "$BROKER" "$MQTT_PORT"
check "the base unit reconnects and re-publishes its state" wait_until 15 bash -c \
	"mosquitto_sub $(mqtt_args reader) -t intercom/bridge/state -C 1 -W 1 2>/dev/null | grep -q online"
mosquitto_sub $(mqtt_args reader) -t 'intercom/+/availability' -t 'intercom/bridge/devices' \
	-t 'intercom/cellar-thermo' -v -W 2 > "$T/republished.out" 2>&1
check "availability is re-published (retained)" grep -q '^intercom/cellar-thermo/availability online' "$T/republished.out"
check "the device list is re-published (retained)" grep -q '^intercom/bridge/devices .*cellar-thermo' "$T/republished.out"
check "the device state is re-published (retained)" grep -q '^intercom/cellar-thermo {"temperature"' "$T/republished.out"
check "the reconnect is counted" wait_until 3 bash -c \
	"mosquitto_sub $(mqtt_args reader) -t intercom/bridge/metrics -C 1 -W 2 | grep -q '\"mqtt_reconnects\":[1-9]'"

echo "# ACL: who may do what"
watch sets dashboard 'intercom/+/set'
sleep 0.5
mosquitto_pub $(mqtt_args reader) -t intercom/cellar-thermo/set -m '{"from":"reader"}'
mosquitto_pub $(mqtt_args dashboard) -t intercom/cellar-thermo/set -m '{"from":"dashboard"}'
mosquitto_pub $(mqtt_args dashboard) -t intercom/cellar-thermo -m '{"forged":true}'
check "the dashboard user may send a command" wait_until 5 seen sets '"from":"dashboard"'
check "the read-only user may not" bash -c "! grep -q '\"from\":\"reader\"' $T/sets.watch"
sleep 1
mosquitto_sub $(mqtt_args reader) -t 'intercom/cellar-thermo' -C 1 -W 2 > "$T/forged.out" 2>&1
check "the dashboard user cannot overwrite a device's state" bash -c "! grep -q forged $T/forged.out"

echo "# the base unit verifies the broker's certificate"
broker_setup "$T/wrongname" --no-local --host wrong-name.invalid --port "$(free_port tcp)"
WRONG_PORT=$(grep '^listener' "$T/wrongname/mosquitto.conf" | cut -d' ' -f2)
cp "$BROKER/ca.key" "$BROKER/ca.crt" "$T/wrongname/"	# same CA, so only the name is wrong
broker_setup "$T/wrongname" --no-local --host wrong-name.invalid --port "$WRONG_PORT"
broker_start wrongbroker "$T/wrongname" "$WRONG_PORT"
sed -e "s/^mqtt_port .*/mqtt_port $WRONG_PORT/" -e "s/^listen .*/listen 127.0.0.1:$(free_port udp)/" \
	"$T/base.conf" > "$T/base-wrongname.conf"
start base2 "$BIN/base-unit" -c "$T/base-wrongname.conf"
wrong_name_logged() {	# every address of localhost named, each with the reason
	local line
	line=$(grep "cannot connect to localhost port $WRONG_PORT: " "$T/base2.log" | tail -n 1)
	[ -n "$line" ] || return 1
	for a in $(getent ahosts localhost | awk '{print $1}' | sort -u); do
		echo "$line" | grep -qiF "$a (the broker's certificate was refused: hostname mismatch)" || return 1
	done
}
check "a certificate for another host name is refused, for every address of the name" wait_until 10 wrong_name_logged
check "and the base unit never reports connected" bash -c "! grep -q 'mqtt: connected' $T/base2.log"
