#!/bin/bash
# The dashboard in a real browser (Debian's chromium, headless, driven by
# playwright-core from npm): log in, see the devices, toggle the light and see
# the state come back, watch the camera change, drive the RC car, log out.
# Runs against the whole demo (tests/demo on free ports), with a dashboard of
# its own beside the demo's that gives a device a name full of markup.
# Screenshots are kept in $BUILD/test-output/browser/.
source "$(dirname "$0")/../lib.sh"

OUT=$ROOT/$BUILD/test-output/browser
mkdir -p "$OUT"
if [ ! -x /usr/bin/chromium ] || ! command -v node > /dev/null || [ ! -d "$ROOT/tests/browser/node_modules/playwright-core" ]; then
	skip "browser tests: chromium, node or playwright-core missing (make deps installs them)"
	exit 0
fi

export DEMO_DIR=$T/demo DEMO_SECONDS=300
export MQTT_PORT=$(free_port tcp) INTERCOM_PORT=$(free_port udp) CAMERA_PORT=$(free_port tcp) \
	DOOR_PORT=$(free_port tcp) LEGACY_PORT=$(free_port tcp) DASHBOARD_PORT=$(free_port tcp)
start demo "$ROOT/tests/demo"
check "the demo's dashboard comes up" wait_until 20 tcp_listening "$DASHBOARD_PORT"
wait_until 10 test -s "$DEMO_DIR/demo.env"
source "$DEMO_DIR/demo.env"

PORT=$(free_port tcp)
sed -e "s/^listen .*/listen localhost:$PORT/" -e 's/^mqtt_client_id .*//' \
	-e 's/^name cellar-thermo .*/name cellar-thermo "<img src=x onerror=alert(1)>"/' \
	-e "s|^recordings .*|recordings $T/recordings.db|" -e 's/^recording_post_s .*//' \
	"$DEMO_DIR/dashboard.conf" > "$T/dash.conf"
printf 'mqtt_client_id dashboard-browser-test\nrecording_post_s 1\n' >> "$T/dash.conf"
start dash "$BIN/dashboard" -c "$T/dash.conf"
check "the test's dashboard comes up" wait_until 10 tcp_listening "$PORT"
wait_until 15 bash -c "curl -s -H 'Authorization: Bearer $DASHBOARD_TOKEN' http://localhost:$PORT/api/devices | grep -q '\"id\":\"rc-car-cam\",[^}]*\"online\":true'"

rm -f "$OUT"/*.png
# driving on the demo's own dashboard, which is then killed; the car's throttle read at the broker
export DEMO_DASH_URL=$DASHBOARD_URL KILL_DEMO_DASH="pkill -KILL -f '[d]ashboard -c $DEMO_DIR/dashboard.conf'"
export MQTT_READ="mosquitto_sub -h localhost -p $MQTT_PORT --cafile $MQTT_CAFILE -u $MQTT_USER -P $MQTT_PASS -t $PREFIX/rc-car -C 1 -W 2"
# the last checks kill the demo's base unit
export KILL_BASE="pkill -KILL -f '[b]ase-unit -c $DEMO_DIR/base-unit.conf'"
# publishing as the base unit does (motion on a camera)
export MQTT_PUB="mosquitto_pub -h localhost -p $MQTT_PORT --cafile $MQTT_CAFILE -u base -P $(cat "$DEMO_DIR/broker/base.password") -q 1" PREFIX
node "$ROOT/tests/browser/dashboard.mjs" "http://localhost:$PORT/" "$DASHBOARD_USER" "$DASHBOARD_PASS" "$OUT" "$DASHBOARD_TOKEN" \
	> "$T/browser.log" 2>&1
while read -r verdict what; do
	case "$verdict" in
	ok) pass "$what" ;;
	FAIL) fail "$what" ;;
	*) echo "    $verdict $what" ;;
	esac
done < "$T/browser.log"
grep -q '^ok ' "$T/browser.log" || fail "the browser test ran (see browser.log)"
check "a screenshot of the dashboard is kept ($BUILD/test-output/browser/dashboard.png)" test -s "$OUT/dashboard.png"
