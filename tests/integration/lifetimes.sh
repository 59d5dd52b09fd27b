#!/bin/bash
# Commands mean what their result says: a set answered "timeout" is never
# carried out later, whether it was held up at a paused broker, queued at the
# broker while the base unit was away, or held up on the way to a device.
source "$(dirname "$0")/../lib.sh"

test_broker
KEY=$("$BIN/base-unit" genkey)
{ base_conf 127.0.0.1:$UDP_PORT; echo "state_file $T/base.state"; echo "device lights $KEY"; } > "$T/base.conf"
printf 'id lights\nkey %s\nbase 127.0.0.1:%s\nkeepalive 1\ncontrol light switch simulated\ncontrol level range 0 100 1 simulated\n' \
	"$KEY" "$UDP_PORT" > "$T/lights.conf"
TOKEN=$("$BIN/dashboard" gentoken)
HTTP_PORT=$(free_port tcp)
DASH=http://127.0.0.1:$HTTP_PORT
{ dash_conf 127.0.0.1:$HTTP_PORT; cat <<CONF
token $TOKEN
set_timeout_ms 3000
CONF
} > "$T/dash.conf"
watch all reader 'intercom/#'
start base "$BIN/base-unit" -c "$T/base.conf"
start lights "$BIN/updatable-unit" -v -c "$T/lights.conf"
start dash "$BIN/dashboard" -c "$T/dash.conf"
check "the device is online" wait_until 10 seen all '^intercom/lights/availability online$'
wait_until 10 bash -c "curl -s -H 'Authorization: Bearer $TOKEN' $DASH/api/devices | grep -q '\"id\":\"lights\",[^}]*\"online\":true'"

api_set() {	# JSON -> "STATUS_CODE BODY"
	curl -s -m 10 -w ' %{http_code}' -H "Authorization: Bearer $TOKEN" -d "$1" "$DASH/api/devices/lights/set"
}
level() { grep -E '^intercom/lights \{' "$T/all.watch" | tail -n 1 | grep -o '"level":[0-9]*' | cut -d: -f2; }
applied() { grep -c 'command [0-9a-f]*: level = ' "$T/lights.log"; }

check "a set through the dashboard works" bash -c "api_set() { curl -s -m 10 -H 'Authorization: Bearer $TOKEN' -d \"\$1\" '$DASH/api/devices/lights/set'; }; api_set '{\"level\":10}' | grep -q '\"status\":\"ok\"'"
wait_until 3 bash -c "grep -E '^intercom/lights \{' '$T/all.watch' | tail -n 1 | grep -q '\"level\":10'"

echo "# the broker is paused while a set is on its way"
before=$(applied)
kill -STOP "$PID_mosquitto"
out=$(api_set '{"level":55,"id":"p1"}')
check "the dashboard answers timeout (504) while the broker is paused ($out)" bash -c "[[ '$out' == *'\"status\":\"timeout\"'*' 504' ]]"
sleep 1
mark all
kill -CONT "$PID_mosquitto"
check "when the broker wakes, the base unit answers the set timeout: expired, not carried out" wait_until 10 seen_since all \
	'^intercom/lights/result \{"id":"dash-[0-9a-f]+","status":"timeout","error":"it expired [0-9]+ ms before it reached the base unit; not carried out"\}$'
sleep 1
check "and the device never got it (level still 10, $(applied) commands applied, $before before)" \
	bash -c "[ '$(level)' = 10 ] && [ \$(grep -c 'command [0-9a-f]*: level = ' '$T/lights.log') -eq $before ]"

echo "# a set queued at the broker while the base unit is away"
stop base
out=$(api_set '{"level":66,"id":"q1"}')
check "the dashboard answers timeout (504) ($out)" bash -c "[[ '$out' == *' 504' ]]"
mark all
start base "$BIN/base-unit" -c "$T/base.conf"
check "when the base unit is back, the broker hands it the queued set, and it answers timeout: not carried out" \
	wait_until 15 seen_since all '^intercom/lights/result \{"id":"dash-[0-9a-f]+","status":"timeout","error":"it expired [0-9]+ ms before it reached the base unit; not carried out"\}$'
wait_until 10 seen_since all '^intercom/lights/availability online$'
sleep 1
check "and the level is still 10" test "$(level)" = 10
check "a fresh set after that works" bash -c "[[ \"\$(curl -s -m 10 -H 'Authorization: Bearer $TOKEN' -d '{\"level\":20}' '$DASH/api/devices/lights/set')\" == *'\"status\":\"ok\"'* ]]"

echo "# a command held up on the way to the device"
wait_until 3 bash -c "grep -E '^intercom/lights \{' '$T/all.watch' | tail -n 1 | grep -q '\"level\":20'"
kill -STOP "$PID_lights"
mark all
mosquitto_pub $(mqtt_args dashboard) -t intercom/lights/set -m '{"level":77,"id":"d1","lifetime_ms":500}'
check "the base unit answers timeout when the command's lifetime (500 ms) is over" wait_until 5 seen_since all \
	'^intercom/lights/result \{"id":"d1","status":"timeout","error":"no acknowledgement within 500 ms"\}$'
kill -CONT "$PID_lights"
check "the device, woken, gets the command late and does not carry it out" wait_until 5 \
	grep -q 'not carried out: arrived [0-9]* ms after its end' "$T/lights.log"
sleep 1
check "its level is still 20" test "$(level)" = 20
