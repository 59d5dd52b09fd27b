#!/bin/bash
# Recordings: the dashboard keeps what a camera showed while it saw motion.
# An emulated ESP32-CAM streams a square crossing a still room once; the
# base unit's motion goes ON and OFF, publishing faster meanwhile; the
# dashboard keeps a few seconds before and after, one event with its best
# frame, lists it, serves its frames and the whole clip (which ffmpeg reads),
# and keeps it across its own restart, the base unit's and a crash. A still room records nothing.
# A bound of 1 MB keeps the newest within it; a disk that fills (a 16 MB
# tmpfs, by the recordings or by something else) is counted and logged and
# stops nothing.
source "$(dirname "$0")/../lib.sh"
finish_extra() { mountpoint -q "$T/full" 2> /dev/null && umount "$T/full"; return 0; }

test_broker
mkdir -p "$T/scenes" "$T/busy"
$PY "$ROOT/tests/tools/scenes.py" "$T/scenes"
# "busy": 640x480 pictures that all differ (motion all along), ~100 KB each
for i in 1 2 3 4 5 6; do test_jpeg "$T/busy/$i.jpg" 640 480 "$i" 95; done
S_noise=$(free_port tcp); S_moving=$(free_port tcp); S_busy=$(free_port tcp)
start esp_noise $PY "$ROOT/tests/tools/esp32cam.py" "$(free_port tcp)" "$S_noise" normal 10 "$T"/scenes/noise-*.jpg
KEY_T=$("$BIN/base-unit" genkey)
cat > "$T/thermo.conf" <<CONF
id thermo
key $KEY_T
base 127.0.0.1:$UDP_PORT
interval 0.5
sensor temperature °C simulated 12.5 0.1 5 25
CONF
{ base_conf "127.0.0.1:$UDP_PORT"; cat <<CONF
device thermo $KEY_T
camera_motion_interval_ms 200
pull_camera moving http://127.0.0.1:$S_moving/stream 100
motion moving off_delay 2
pull_camera noise http://127.0.0.1:$S_noise/stream 100
motion noise
pull_camera busy http://127.0.0.1:$S_busy/stream 100
motion busy off_delay 30
CONF
} > "$T/base.conf"

TOKEN=$("$BIN/dashboard" gentoken)
P_MAIN=$(free_port tcp); P_SMALL=$(free_port tcp); P_FULL=$(free_port tcp)
dconf() {	# PORT DATABASE [extra lines...]
	dash_conf "127.0.0.1:$1"
	printf 'mqtt_client_id dashboard-%s\ntoken %s\nrecordings %s\n' "$1" "$TOKEN" "$2"
	shift 2
	printf '%s\n' "$@"
}
dconf "$P_MAIN" "$T/rec.db" "recording_pre_s 3" "recording_post_s 2" > "$T/main.conf"
api() { curl -s -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$P_MAIN$1"; }
code() {	# PATH [curl options]
	local path=$1; shift
	curl -s -o /dev/null -w '%{http_code}' --path-as-is -H "Authorization: Bearer $TOKEN" "$@" "http://127.0.0.1:$P_MAIN$path"
}
json() {	# PYTHON-EXPRESSION on the JSON of stdin as j
	$PY -c "import json,sys; j = json.load(sys.stdin); r = ($1); print(r) if not isinstance(r, bool) else sys.exit(not r)"
}

echo "# configuration"
check "--check accepts the recordings lines" "$BIN/dashboard" --check -c "$T/main.conf"
printf 'recordings_max_mb 0\n' > "$T/bad.conf"
check "a size bound of 0 is refused" bash -c "'$BIN/dashboard' --check -c '$T/bad.conf' 2>&1 | grep -q \"bad.conf:1: .*recordings_max_mb\""
dconf "$P_MAIN" "$T/nodir/rec.db" > "$T/nodir.conf"
check "a database that cannot be made stops the start, saying why" bash -c \
	"! timeout 10 '$BIN/dashboard' -c '$T/nodir.conf' > '$T/nodir.out' 2>&1 && grep -q 'recordings: cannot open .*nodir/rec.db' '$T/nodir.out'"

start base "$BIN/base-unit" -c "$T/base.conf"
start thermo "$BIN/read-unit" -c "$T/thermo.conf"
start dash "$BIN/dashboard" -c "$T/main.conf"
check "the dashboard listens" wait_until 10 tcp_listening "$P_MAIN"
check "the recordings API needs a login" test "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$P_MAIN/api/recordings")" = 401
check "it starts empty" bash -c "[ \"\$(curl -s -H 'Authorization: Bearer $TOKEN' http://127.0.0.1:$P_MAIN/api/recordings)\" = '[]' ]"
watch motion reader 'intercom/+/motion'
sleep 4	# the pre-roll fills at the camera's rate (1 a second)

echo "# a square crosses the room once"
start esp_moving $PY "$ROOT/tests/tools/esp32cam.py" "$(free_port tcp)" "$S_moving" normal 10 "$T"/scenes/moving-*.jpg --once
check "motion ON" wait_until 25 grep -q '^intercom/moving/motion ON' "$T/motion.watch"
check "the event is listed while it records" wait_until 5 bash -c \
	"curl -s -H 'Authorization: Bearer $TOKEN' 'http://127.0.0.1:$P_MAIN/api/recordings?camera=moving' | grep -q '\"recording\":true'"
ended() { api '/api/recordings?camera=moving' | json 'len(j) == 1 and not j[0]["recording"]'; }
check "and ends after the motion does, with the post-roll" wait_until 20 ended
api '/api/recordings?camera=moving' > "$T/list.json"
ID=$(json 'j[0]["id"]' < "$T/list.json")
api "/api/recordings/$ID" > "$T/event.json"
frames=$(json 'j["frames"]' < "$T/event.json")
check "one event, with its frames ($frames)" test "$frames" -ge 10
check "it starts with the pre-roll: its first frame 2 s or more before the motion" \
	json 'j["frame_ms"][0] == 0 and __import__("datetime").datetime.fromisoformat(j["start"].replace("Z","+00:00")).timestamp() - __import__("datetime").datetime.fromisoformat(j["clip_start"].replace("Z","+00:00")).timestamp() >= 2' < "$T/event.json"
check "while it moved, frames came at camera_motion_interval_ms (200), not once a second" \
	json 'sorted(b - a for a, b in zip(j["frame_ms"], j["frame_ms"][1:]))[len(j["frame_ms"]) // 2] <= 400' < "$T/event.json"
check "it has the event's peak score and best frame" json 'j["peak"] > 0 and j["best_frame"]' < "$T/event.json"
mosquitto_sub $(mqtt_args reader) -t intercom/moving/event_frame -C 1 -W 5 -F '%x' | xxd -r -p > "$T/best.jpg"
api "/api/recordings/$ID/thumb.jpg" > "$T/thumb.jpg"
check "its thumbnail is the best frame the base unit published" cmp -s "$T/best.jpg" "$T/thumb.jpg"
api "/api/recordings/$ID/frames/0.jpg" > "$T/f0.jpg"
check "a frame is a JPEG" bash -c "djpeg '$T/f0.jpg' > /dev/null"
check "a frame after the last -> 404" test "$(code "/api/recordings/$ID/frames/$frames.jpg")" = 404
bad=0
for path in "/api/recordings/$ID/frames/-1.jpg" "/api/recordings/$ID/frames/0.png" "/api/recordings/../../etc/passwd" \
	"/api/recordings/${ID}x" "/api/recordings/1234567890123456789012" "/api/recordings/999999/clip.mjpeg" \
	"/api/recordings/$ID/frames/1%2F..%2F0.jpg" "/api/recordingsx"; do
	c=$(code "$path"); [ "$c" = 404 ] || { echo "    $path answered $c"; bad=1; }
done
check "ids and frame numbers that are not exactly numbers -> 404" test $bad = 0
check "a bad camera id or limit -> 400" bash -c "[ \$(curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer $TOKEN' 'http://127.0.0.1:$P_MAIN/api/recordings?camera=../x') = 400 ] &&
	[ \$(curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer $TOKEN' 'http://127.0.0.1:$P_MAIN/api/recordings?limit=0') = 400 ]"
curl -s -D "$T/clip.h" -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$P_MAIN/api/recordings/$ID/clip.mjpeg" > "$T/clip.mjpeg"
check "the clip downloads as a file named by camera and time" grep -qi '^content-disposition: attachment; filename="moving-20[0-9-]*T[0-9-]*Z.mjpeg"' "$T/clip.h"
n=$(ffprobe -v error -f mpjpeg -count_frames -select_streams v:0 -show_entries stream=nb_read_frames -of csv=p=0 "$T/clip.mjpeg" 2>> "$T/ffprobe.log")
check "ffmpeg reads every frame of it ($n of $frames)" test "${n:-0}" = "$frames"
check "a still, noisy room recorded nothing" bash -c "[ \"\$(curl -s -H 'Authorization: Bearer $TOKEN' 'http://127.0.0.1:$P_MAIN/api/recordings?camera=noise')\" = '[]' ]"

echo "# restarts"
md5=$(md5sum < "$T/clip.mjpeg")
stop dash
start dash "$BIN/dashboard" -c "$T/main.conf"
wait_until 10 tcp_listening "$P_MAIN"
check "after a restart the event and its clip are as they were" bash -c \
	"[ \"\$(curl -s -H 'Authorization: Bearer $TOKEN' http://127.0.0.1:$P_MAIN/api/recordings/$ID/clip.mjpeg | md5sum)\" = '$md5' ]"
stop base
start base "$BIN/base-unit" -c "$T/base.conf"
wait_until 10 bash -c "mosquitto_sub $(mqtt_args reader) -t intercom/bridge/state -C 1 -W 1 | grep -q online"
check "after a base-unit restart too" bash -c \
	"[ \"\$(curl -s -H 'Authorization: Bearer $TOKEN' http://127.0.0.1:$P_MAIN/api/recordings/$ID/clip.mjpeg | md5sum)\" = '$md5' ]"
start esp_busy $PY "$ROOT/tests/tools/esp32cam.py" "$(free_port tcp)" "$S_busy" normal 10 "$T"/busy/*.jpg
busy_recording() { api '/api/recordings?camera=busy' | json 'len(j) >= 1 and j[0]["recording"]'; }
check "a camera that moves all along records" wait_until 20 busy_recording
BUSY=$(api '/api/recordings?camera=busy' | json 'j[0]["id"]')
check "an event still recording cannot be deleted (409)" test "$(code "/api/recordings/$BUSY/delete" -X POST)" = 409
sleep 2
stop dash KILL
start dash "$BIN/dashboard" -c "$T/main.conf"
wait_until 10 tcp_listening "$P_MAIN"
recovered() { api "/api/recordings/$BUSY" | json 'not j["recording"] and j["frames"] >= 5 and len(j["frame_ms"]) == j["frames"]'; }
check "after a crash (SIGKILL) the open event is closed with the frames it had" wait_until 5 recovered
check "and the motion still on starts the next" wait_until 10 bash -c \
	"curl -s -H 'Authorization: Bearer $TOKEN' 'http://127.0.0.1:$P_MAIN/api/recordings?camera=busy' | $PY -c 'import json,sys; j = json.load(sys.stdin); sys.exit(not (j[0][\"id\"] > $BUSY and j[0][\"recording\"]))'"

echo "# delete"
check "deleting an event -> 200" test "$(code "/api/recordings/$BUSY/delete" -X POST)" = 200
check "it is gone" test "$(code "/api/recordings/$BUSY")" = 404
check "deleting it again -> 404" test "$(code "/api/recordings/$BUSY/delete" -X POST)" = 404
check "a GET cannot delete (405)" test "$(code "/api/recordings/$ID/delete")" = 405

echo "# bounds"
dconf "$P_SMALL" "$T/small.db" "recordings_max_mb 1" "recording_max_s 10" "recording_pre_s 0" > "$T/small.conf"
start small "$BIN/dashboard" -c "$T/small.conf"
FULL=""
if [ "$(id -u)" = 0 ] && mkdir -p "$T/full" && mount -t tmpfs -o size=16m tmpfs "$T/full" 2> "$T/mount.err"; then
	FULL=$T/full
	dconf "$P_FULL" "$T/full/rec.db" "recording_max_s 10" "recording_pre_s 0" > "$T/full.conf"
	start full "$BIN/dashboard" -c "$T/full.conf"
fi
m() { curl -s -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$1/metrics" | awk -v k="$2" '$1 == k {print $2}'; }
deleted() { [ "$(m "$P_SMALL" intercom_dashboard_recordings_deleted_total)" -ge 1 ]; }
check "recordings_max_mb 1: the oldest event goes" wait_until 60 deleted
kept=$(m "$P_SMALL" intercom_dashboard_recordings_bytes)
check "and what is kept stays within 1 MB ($kept bytes)" test "$kept" -le 1048576
if [ -n "$FULL" ]; then
	m_full() { m "$P_FULL" "$1"; }
	nearly() { [ "$(m_full intercom_dashboard_recording_disk_full_total)" -ge 1 ] && [ "$(m_full intercom_dashboard_recordings_deleted_total)" -ge 1 ]; }
	check "a disk the recordings fill: the oldest go early, counted" wait_until 90 nearly
	check "and logged, naming the database" grep -q "recordings: the disk of $FULL/rec.db is nearly full" "$T/full.log"
	free_kb=$(df -k --output=avail "$FULL" | tail -n 1 | tr -d ' ')
	check "the disk keeps its reserve ($free_kb KB free of 16 MB)" test "$free_kb" -ge 2048
	before=$(m_full intercom_dashboard_recorded_frames_total); sleep 2; after=$(m_full intercom_dashboard_recorded_frames_total)
	check "and recording goes on ($before -> $after frames)" test "$after" -gt "$before"
	echo "# something else fills the disk"
	dd if=/dev/zero of="$FULL/filler" bs=64k 2> /dev/null
	failing() { [ "$(m_full intercom_dashboard_recording_writes_failed_total)" -ge 1 ]; }
	check "frames that find no room are counted as failed writes" wait_until 20 failing
	check "the dashboard still answers" test "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$P_FULL/healthz")" = 200
	check "and lists what it has" bash -c "curl -s -H 'Authorization: Bearer $TOKEN' 'http://127.0.0.1:$P_FULL/api/recordings' | grep -q '\"camera\":\"busy\"'"
	check "readings still flow" bash -c "mosquitto_sub $(mqtt_args reader) -t intercom/thermo -C 2 -W 5 | grep -c temperature | grep -q 2"
	check "the base unit still publishes" bash -c "[ \$(mosquitto_sub $(mqtt_args reader) -t intercom/busy/camera -C 3 -W 5 | wc -c) -gt 0 ]"
	rm -f "$FULL/filler"
	before=$(m_full intercom_dashboard_recorded_frames_total)
	resumed() { [ "$(m_full intercom_dashboard_recorded_frames_total)" -gt "$before" ]; }
	check "room again: recording resumes by itself" wait_until 20 resumed
	stop full
	umount "$T/full"
else
	skip "a full disk: needs root to mount a tmpfs ($(cat "$T/mount.err" 2>/dev/null))"
fi
check "no dashboard crashed" bash -c "kill -0 $PID_dash && kill -0 $PID_small"
