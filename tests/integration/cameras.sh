#!/bin/bash
# Cameras through real parts: frames pushed over the intercom (JPEG files
# and the test pattern), a legacy pull camera serving one JPEG per TCP
# connection, raw TCP clients, and what is never let through.
source "$(dirname "$0")/../lib.sh"

test_broker

# Three JPEGs made with libjpeg-turbo's cjpeg, and a damaged one (a good one cut in half).
for i in 1 2 3; do test_jpeg "$T/good$i.jpg" 320 240 "$i" 80; done
head -c $(( $(stat -c %s "$T/good2.jpg") / 2 )) "$T/good2.jpg" > "$T/damaged.jpg"
md5() { md5sum "$1" | cut -d' ' -f1; }
GOOD="$(md5 "$T/good1.jpg") $(md5 "$T/good2.jpg") $(md5 "$T/good3.jpg")"
check "the test JPEGs decode" bash -c "djpeg $T/good1.jpg > /dev/null && djpeg $T/good3.jpg > /dev/null"

KEY_FILES=$("$BIN/base-unit" genkey)
KEY_PATTERN=$("$BIN/base-unit" genkey)
PORT_PATTERN=$(free_port tcp)
PORT_PULL=$(free_port tcp)
PORT_LEGACY=$(free_port tcp)
PORT_HUGE=$(free_port tcp)
PORT_HANG=$(free_port tcp)
{ base_conf "127.0.0.1:$UDP_PORT"; cat <<CONF
# every frame: with a rate limit as long as the frame period, a frame that comes
# a little early is skipped, and the four files' cycle can alias to two of them
camera_interval_ms 0
device cam-files $KEY_FILES
device cam-pattern $KEY_PATTERN
camera_port cam-pattern 127.0.0.1:$PORT_PATTERN
pull_camera legacy 127.0.0.1:$PORT_LEGACY 200
camera_port legacy 127.0.0.1:$PORT_PULL
pull_camera huge 127.0.0.1:$PORT_HUGE 1000
pull_camera hang 127.0.0.1:$PORT_HANG 1000
CONF
} > "$T/base.conf"
printf 'id cam-files\nkey %s\nbase 127.0.0.1:%s\nsource files %s %s %s %s\nfps 10\n' "$KEY_FILES" "$UDP_PORT" \
	"$T/good1.jpg" "$T/damaged.jpg" "$T/good2.jpg" "$T/good3.jpg" > "$T/files.conf"
printf 'id cam-pattern\nkey %s\nbase 127.0.0.1:%s\nsource pattern 320x240\nfps 10\nquality 70\n' \
	"$KEY_PATTERN" "$UDP_PORT" > "$T/pattern.conf"
check "camera-unit --check accepts its config" "$BIN/camera-unit" --check -c "$T/files.conf"

start legacy_cam $PY "$ROOT/tests/tools/jpeg_server.py" "$PORT_LEGACY" normal "$T/good1.jpg" "$T/good3.jpg"
start huge_cam $PY "$ROOT/tests/tools/jpeg_server.py" "$PORT_HUGE" huge
start hang_cam $PY "$ROOT/tests/tools/jpeg_server.py" "$PORT_HANG" hang
# the base unit's first attempt must meet them (a refusal first is logged instead of the bound)
for p in "$PORT_LEGACY" "$PORT_HUGE" "$PORT_HANG"; do wait_until 10 tcp_listening "$p"; done
watch all reader 'intercom/+/availability'
start base "$BIN/base-unit" -c "$T/base.conf"
start files "$BIN/camera-unit" -c "$T/files.conf"
start pattern "$BIN/camera-unit" -c "$T/pattern.conf"
check "both push cameras come online" wait_until 10 bash -c \
	"grep -q 'cam-files/availability online' $T/all.watch && grep -q 'cam-pattern/availability online' $T/all.watch"

frames() {	# DEVICE COUNT -> one hex line per frame in $T/DEVICE.hex
	mosquitto_sub $(mqtt_args reader) -t "intercom/$1/camera" -C "$2" -W 20 -F '%x' > "$T/$1.hex" 2>> "$T/sub.log"
}
echo "# frames through the intercom arrive byte for byte; a damaged one never"
frames cam-files 12
n=0; bad=0
while read -r hex; do
	n=$((n + 1))
	m=$(echo "$hex" | xxd -r -p | md5sum | cut -d' ' -f1)
	case " $GOOD " in *" $m "*) ;; *) bad=$((bad + 1)) ;; esac
done < "$T/cam-files.hex"
check "12 frames received" test "$n" -eq 12
check "every one is byte-identical to a good source file" test "$bad" -eq 0
check "all three good files came through" test "$(while read -r h; do echo "$h" | xxd -r -p | md5sum; done < "$T/cam-files.hex" | sort -u | wc -l)" -eq 3
# (metrics are published once a second: the retained copy may predate the damaged frame)
check "the damaged frame was counted and dropped" wait_until 6 bash -c \
	"mosquitto_sub $(mqtt_args reader) -t intercom/bridge/metrics -C 1 -W 2 | grep -q '\"frames_corrupt\":[1-9]'"

echo "# the test pattern changes every frame and decodes"
frames cam-pattern 2
head -n 1 "$T/cam-pattern.hex" | xxd -r -p > "$T/p1.jpg"
tail -n 1 "$T/cam-pattern.hex" | xxd -r -p > "$T/p2.jpg"
check "consecutive pattern frames decode with djpeg" bash -c "djpeg $T/p1.jpg > /dev/null && djpeg $T/p2.jpg > /dev/null"
check "and differ (the picture is fresh)" bash -c "! cmp -s $T/p1.jpg $T/p2.jpg"
mosquitto_sub $(mqtt_args reader) -t intercom/cam-pattern/thumbnail -C 1 -W 5 -F '%x' | xxd -r -p > "$T/thumb.jpg"
check "a retained thumbnail, at most 160 pixels wide" bash -c \
	"djpeg $T/thumb.jpg | sed -n 2p | awk '{ exit !(\$1 <= 160 && \$1 >= 80) }'"

echo "# the raw TCP port: connect, get the newest frame, closed"
nc -w 5 127.0.0.1 "$PORT_PATTERN" > "$T/raw.jpg" < /dev/null
check "nc gets a whole JPEG" bash -c "djpeg $T/raw.jpg > /dev/null"
for i in $(seq 1 50); do nc -w 10 127.0.0.1 "$PORT_PATTERN" > "$T/raw$i.jpg" < /dev/null & done
sleep 3
ok=0
for i in $(seq 1 50); do djpeg "$T/raw$i.jpg" > /dev/null 2>&1 && ok=$((ok + 1)); done
check "50 simultaneous clients all get a valid JPEG ($ok of 50)" test "$ok" -eq 50

echo "# a legacy pull camera (one JPEG per connection)"
check "it comes online" wait_until 10 grep -q 'legacy/availability online' "$T/all.watch"
frames legacy 3
bad=0
while read -r hex; do
	m=$(echo "$hex" | xxd -r -p | md5sum | cut -d' ' -f1)
	case " $GOOD " in *" $m "*) ;; *) bad=$((bad + 1)) ;; esac
done < "$T/legacy.hex"
check "its frames arrive byte for byte ($(wc -l < "$T/legacy.hex") of 3)" test "$(wc -l < "$T/legacy.hex")" -eq 3 -a "$bad" -eq 0
nc -w 5 127.0.0.1 "$PORT_PULL" > "$T/legacy-raw.jpg" < /dev/null
check "and are served on its raw TCP port, as the old relay did" bash -c "djpeg $T/legacy-raw.jpg > /dev/null"
mark all
stop legacy_cam
check "the camera going down marks it offline" wait_until 10 seen_since all '^intercom/legacy/availability offline$'
check "the base unit keeps running" kill -0 "$PID_base"
mark all
start legacy_cam $PY "$ROOT/tests/tools/jpeg_server.py" "$PORT_LEGACY" normal "$T/good2.jpg"
check "and online again when it is back" wait_until 15 seen_since all '^intercom/legacy/availability online$'

echo "# cameras that misbehave are cut off at the bounds"
check "one that sends 100 MB is cut off at the frame bound" wait_until 10 bash -c \
	"mosquitto_sub $(mqtt_args reader) -t intercom/bridge/metrics -C 1 -W 5 | grep -q '\"frames_too_big\":[1-9]'"
check "one that never closes is cut off at the time bound" wait_until 10 grep -q \
	"pull camera 127.0.0.1:$PORT_HANG: no whole frame within the time bound" "$T/base.log"
check "neither ever came online" bash -c "! grep -qE '^intercom/(huge|hang)/availability online' $T/all.watch"
check "the base unit is still running" kill -0 "$PID_base"

echo "# with the broker gone, frames wait unchecked; a raw TCP client still gets the newest sound one"
cam_metric() { mosquitto_sub $(mqtt_args reader) -t intercom/bridge/metrics -C 1 -W 3 | $PY -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
before=$(cam_metric frames_unchecked)
stop mosquitto TERM
sleep 2
nc -w 5 127.0.0.1 "$PORT_PATTERN" > "$T/gone1.jpg" < /dev/null
sleep 0.5
nc -w 5 127.0.0.1 "$PORT_PATTERN" > "$T/gone2.jpg" < /dev/null
check "two raw TCP frames taken meanwhile decode and differ (the newest each time)" bash -c \
	"djpeg $T/gone1.jpg > /dev/null && djpeg $T/gone2.jpg > /dev/null && ! cmp -s $T/gone1.jpg $T/gone2.jpg"
broker_start mosquitto "$BROKER" "$MQTT_PORT" || fail "the broker comes back"
after_gone() { [ "$(cam_metric frames_unchecked)" -gt $((before + 5)) ]; }
check "the frames nobody needed were never decoded, and are counted (frames_unchecked)" wait_until 15 after_gone
