#!/bin/bash
# make demo works as the README says: readings reach a subscriber that uses
# only what .demo/demo.env gives it. Runs on free ports in a temporary dir.
source "$(dirname "$0")/../lib.sh"

export DEMO_DIR=$T/demo MQTT_PORT=$(free_port tcp) INTERCOM_PORT=$(free_port udp) DEMO_SECONDS=30 \
	CAMERA_PORT=$(free_port tcp) DOOR_PORT=$(free_port tcp) LEGACY_PORT=$(free_port tcp) \
	DASHBOARD_PORT=$(free_port tcp)
start demo "$ROOT/tests/demo"
check "the demo writes demo.env" wait_until 20 test -s "$DEMO_DIR/demo.env"
check "the demo's broker listens" wait_until 10 tcp_listening "$MQTT_PORT"
check "the demo says when the first reading reached the broker" \
	wait_until 20 grep -qE '^  first reading  reached the broker [0-9]+ ms after the start: \{"temperature"' "$T/demo.log"
( source "$DEMO_DIR/demo.env"
  mosquitto_sub -h "$MQTT_HOST" -p "$MQTT_PORT" --cafile "$MQTT_CAFILE" -u "$MQTT_USER" -P "$MQTT_PASS" \
	-t "$PREFIX/#" -v -W 10 > "$T/sub.out" 2>&1 )
check "a subscriber with demo.env sees the cellar thermometer's readings" \
	grep -qE '^intercom/cellar-thermo \{"temperature":[0-9.]+,"humidity":[0-9.]+' "$T/sub.out"
check "and the storage room's load average, from a real command" grep -qE '^intercom/storage-room \{"load":[0-9.]+' "$T/sub.out"
check "all seven are online" test "$(grep -c '/availability online' "$T/sub.out")" -eq 7
nc -w 5 localhost "$CAMERA_PORT" < /dev/null > "$T/cam.jpg"
check "the cellar camera's frame comes from its raw TCP port" bash -c "djpeg $T/cam.jpg > /dev/null"
nc -w 5 localhost "$DOOR_PORT" < /dev/null > "$T/door.jpg"
check "and the pulled door camera's" bash -c "djpeg $T/door.jpg > /dev/null"
( source "$DEMO_DIR/demo.env"
  mosquitto_sub -h "$MQTT_HOST" -p "$MQTT_PORT" --cafile "$MQTT_CAFILE" -u "$MQTT_USER" -P "$MQTT_PASS" \
	-t "$PREFIX/cellar-lights/result" -t "$PREFIX/cellar-lights" -v -W 5 > "$T/cmd.out" 2>&1 &
  sleep 0.5
  mosquitto_pub -h "$MQTT_HOST" -p "$MQTT_PORT" --cafile "$MQTT_CAFILE" -u "$MQTT_CMD_USER" -P "$MQTT_CMD_PASS" \
	-t "$PREFIX/cellar-lights/set" -m '{"light":"ON","id":"demo"}'
  wait )
check "the command user in demo.env switches the light on" grep -q '^intercom/cellar-lights/result {"id":"demo","status":"ok"}' "$T/cmd.out"
check "and the light's state says ON" grep -q '^intercom/cellar-lights {"light":"ON"' "$T/cmd.out"
check "demo.env hands out the read-only user" grep -q '^MQTT_USER=reader$' "$DEMO_DIR/demo.env"
source "$DEMO_DIR/demo.env"
check "demo.env gives the dashboard's URL, user, password and token" \
	test "$DASHBOARD_URL" = "http://localhost:$DASHBOARD_PORT/" -a -n "$DASHBOARD_USER" -a -n "$DASHBOARD_PASS" -a -n "$DASHBOARD_TOKEN"
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Origin: ${DASHBOARD_URL%/}" \
	--data-urlencode "user=$DASHBOARD_USER" --data-urlencode "password=$DASHBOARD_PASS" "${DASHBOARD_URL}login")
check "the dashboard's user and password from demo.env log in" test "$code" = 303
check "its token lists the demo's devices, the RC car among them" bash -c \
	"curl -s -H 'Authorization: Bearer $DASHBOARD_TOKEN' ${DASHBOARD_URL}api/devices | grep -q '\"id\":\"rc-car\"'"
out=$(curl -s -H "Authorization: Bearer $DASHBOARD_TOKEN" -d '{"throttle":40,"steering":-10,"id":"go"}' "${DASHBOARD_URL}api/devices/rc-car/set")
check "the RC car takes throttle and steering through the dashboard" test "$out" = '{"id":"go","status":"ok"}'
grep -q "dashboard  http://localhost:$DASHBOARD_PORT/   user: $DASHBOARD_USER   password: $DASHBOARD_PASS" "$T/demo.log"
check "the demo prints the dashboard's URL, user and password" test $? = 0
# Ctrl-C in a terminal reaches the whole process group; a background job here
# ignores SIGINT, so stop it with SIGTERM, which runs the same handler.
stop demo TERM
none_left() { ! pgrep -af "^[^ ]*(mosquitto|base-unit|read-unit|updatable-unit|camera-unit|dashboard) -c $DEMO_DIR/|jpeg_server.py.*$DEMO_DIR/"; }
check "stopping the demo stops every process it started" none_left
