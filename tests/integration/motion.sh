#!/bin/bash
# Motion in HTTP cameras' pictures (emulated ESP32-CAMs streaming the scenes
# of tests/tools/scenes.py): a square crossing a still room turns motion ON
# within a second and OFF after the off-delay; a still room with JPEG and
# pixel noise and one slowly brightening stay OFF; each event is published
# with its best frame; Home Assistant gets a motion binary sensor.
source "$(dirname "$0")/../lib.sh"

test_broker --homeassistant
mkdir -p "$T/scenes"
$PY "$ROOT/tests/tools/scenes.py" "$T/scenes"
cam() {	# NAME SCENE [OPTIONS...]: an emulated ESP32-CAM streaming a scene at 10 frames/s
	local name=$1 scene=$2; shift 2
	eval "S_$name=$(free_port tcp)"
	eval "start esp_$name $PY $ROOT/tests/tools/esp32cam.py $(free_port tcp) \$S_$name normal 10 $T/scenes/$scene-*.jpg $*"
	eval "wait_until 10 tcp_listening \$S_$name"
}
{ base_conf "127.0.0.1:$UDP_PORT"; cat <<CONF
homeassistant true
camera_interval_ms 0
CONF
} > "$T/base.conf"

watch all reader 'intercom/+/motion'
watch events reader 'intercom/+/event'
# the moving scene starts only once the base unit is looking
mosquitto_sub $(mqtt_args reader) -t 'intercom/+/motion' -F '@s.@N %t %p' > "$T/motion.times" 2>> "$T/sub.log" &
PIDS+=($!)
cam noise noise
cam ramp ramp
{ cat <<CONF
pull_camera noise http://127.0.0.1:$S_noise/stream 100
motion noise
pull_camera ramp http://127.0.0.1:$S_ramp/stream 100
motion ramp
CONF
} >> "$T/base.conf"
S_moving=$(free_port tcp)
printf 'pull_camera moving http://127.0.0.1:%s/stream 100\nmotion moving off_delay 2\n' "$S_moving" >> "$T/base.conf"
check "--check accepts the motion lines" "$BIN/base-unit" --check -c "$T/base.conf"
printf 'device a %s\nmotion a sensitivity 500\n' "$("$BIN/base-unit" genkey)" > "$T/bad.conf"
check "a sensitivity out of range is refused" bash -c "! '$BIN/base-unit' --check -c '$T/bad.conf' 2> /dev/null"
printf 'motion nobody\n' > "$T/bad2.conf"
check "motion for a camera no line defines is refused" bash -c "! '$BIN/base-unit' --check -c '$T/bad2.conf' 2> /dev/null"
start base "$BIN/base-unit" -c "$T/base.conf"
check "each motion camera starts OFF (retained)" wait_until 10 bash -c \
	"grep -q '^intercom/noise/motion OFF' $T/all.watch && grep -q '^intercom/ramp/motion OFF' $T/all.watch && grep -q '^intercom/moving/motion OFF' $T/all.watch"
check "Home Assistant gets a motion binary sensor" bash -c \
	"mosquitto_sub $(mqtt_args homeassistant) -t 'homeassistant/binary_sensor/intercom_moving/motion/config' -C 1 -W 5 |
	 $PY -c 'import json,sys; c = json.load(sys.stdin); sys.exit(not (c[\"state_topic\"] == \"intercom/moving/motion\" and c[\"device_class\"] == \"motion\" and c[\"payload_on\"] == \"ON\"))'"

echo "# a square crosses the still room"
start esp_moving $PY "$ROOT/tests/tools/esp32cam.py" "$(free_port tcp)" "$S_moving" normal 10 "$T"/scenes/moving-*.jpg \
	--once --log "$T/moving.log"
check "motion ON" wait_until 20 grep -q '^intercom/moving/motion ON' "$T/all.watch"
first=$(awk '$1 == 30 {print $2}' "$T/moving.log")	# the first frame with the square
on=$(awk '$2 == "intercom/moving/motion" && $3 == "ON" {print $1; exit}' "$T/motion.times")
ms_on=$($PY -c "print(int((float('$on') - float('$first')) * 1000))")
check "within a second of the square's first frame ($ms_on ms)" test "$ms_on" -ge 0 -a "$ms_on" -le 1000
off_after_on() { sed -n '/moving\/motion ON/,$p' "$T/all.watch" | grep -q '^intercom/moving/motion OFF$'; }
check "motion OFF after it stops" wait_until 10 off_after_on
timed_off() { awk '$2 == "intercom/moving/motion" && $3 == "ON" {on = 1} on && $3 == "OFF" {t = $1} END {exit !t}' "$T/motion.times"; }
wait_until 5 timed_off
last=$(awk '$1 == 44 {print $2}' "$T/moving.log")	# the last frame with the square
off=$(awk '$2 == "intercom/moving/motion" && $3 == "ON" {on = 1} on && $2 == "intercom/moving/motion" && $3 == "OFF" {t = $1} END {print t}' "$T/motion.times")
ms_off=$($PY -c "print(int((float('$off') - float('$last')) * 1000))")
# motion looks at every other frame (interval 200 ms): its last sight of the square may be the one before the last
check "the off-delay (2 s) after its last frame ($ms_off ms)" test "$ms_off" -ge 1700 -a "$ms_off" -le 3000
check "the event's start and end are published" bash -c \
	"grep -q '^intercom/moving/event {\"event\":\"start\",\"id\":1,' $T/events.watch &&
	 grep -E -q '^intercom/moving/event \\{\"event\":\"end\",\"id\":1,.*\"peak\":[0-9.]+\\}$' $T/events.watch"
mosquitto_sub $(mqtt_args reader) -t intercom/moving/event_frame -C 1 -W 5 -F '%x' | xxd -r -p > "$T/best.jpg"
check "with its best frame (retained), a JPEG with the square in it" bash -c "djpeg -pnm $T/best.jpg > $T/best.ppm && \
	$PY -c 'import sys; d = open(sys.argv[1], \"rb\").read().split(b\"\\n\", 3)[3]; sys.exit(not sum(1 for i in range(0, len(d), 3) if d[i] > 200) > 1000)' $T/best.ppm"

echo "# still rooms"
check "JPEG and pixel noise: never ON" bash -c "! grep -q '^intercom/noise/motion ON' $T/all.watch"
check "a slow brightening (and its jump back at each loop): never ON" bash -c "! grep -q '^intercom/ramp/motion ON' $T/all.watch"
frames=$(grep -c . "$T/moving.log")
check "the moving camera streamed all along ($frames parts)" test "$frames" -ge 40
