#!/bin/bash
# HTTP cameras (libcurl, in the base unit's own loop) against an emulation
# of the stock ESP32-CAM firmware's wire format (tests/tools/esp32cam.py):
# /capture snapshots and the :81/stream MJPEG, Digest credentials from a
# file, HTTPS against a configured CA, ffmpeg's own MJPEG server (mpjpeg,
# -listen 1, fed by testsrc), and cameras that misbehave: a stream that
# stalls, parts whose length lies, a 100 MB part or snapshot, a server that
# closes mid-frame. Frames must arrive byte for byte, on MQTT, the raw TCP
# port and the dashboard; nothing bad is ever published; the base unit never
# stops.
source "$(dirname "$0")/../lib.sh"

test_broker
for i in 1 2 3; do test_jpeg "$T/f$i.jpg" 160 120 "$i" 75; done
md5() { md5sum "$1" | cut -d' ' -f1; }
GOOD="$(md5 "$T/f1.jpg") $(md5 "$T/f2.jpg") $(md5 "$T/f3.jpg")"

# cam NAME MODE [OPTIONS...]: an emulated ESP32-CAM; its ports in P_NAME and S_NAME
cam() {
	local name=$1 mode=$2; shift 2
	eval "P_$name=$(free_port tcp) S_$name=$(free_port tcp)"
	eval "start esp_$name $PY $ROOT/tests/tools/esp32cam.py \$P_$name \$S_$name $mode 10 $T/f1.jpg $T/f2.jpg $T/f3.jpg $*"
	eval "wait_until 10 tcp_listening \$P_$name"
	eval "wait_until 10 tcp_listening \$S_$name"
}
cam plain normal --log "$T/plain.log"
cam secret normal --digest admin:s3cret
cam tls normal --tls "$BROKER/server.crt" "$BROKER/server.key"
cam stall stall
cam lie lie
cam huge huge
cam mid midframe
# ffmpeg as a camera, as one would run it: its HTTP server says
# application/octet-stream; the body's first line says multipart
P_ffmpeg=$(free_port tcp)
if command -v ffmpeg > /dev/null; then
	start ffmpeg ffmpeg -hide_banner -loglevel error -re -f lavfi -i testsrc=size=320x240:rate=10 \
		-f mpjpeg -q:v 5 -listen 1 "http://127.0.0.1:$P_ffmpeg/stream"
	wait_until 10 tcp_listening "$P_ffmpeg"
fi
printf 'admin:s3cret\n' > "$T/secret.auth"
printf 'admin:wrong\n' > "$T/wrong.auth"
chmod 600 "$T/secret.auth" "$T/wrong.auth"

{ base_conf "127.0.0.1:$UDP_PORT"; cat <<CONF
camera_interval_ms 0
pull_camera snap http://127.0.0.1:$P_plain/capture 200
pull_camera stream http://127.0.0.1:$S_plain/stream 50
camera_port stream 127.0.0.1:$(free_port tcp)
pull_camera digest http://127.0.0.1:$S_secret/stream 250 auth $T/secret.auth
pull_camera refused http://127.0.0.1:$P_secret/capture 200 auth $T/wrong.auth
pull_camera secure https://localhost:$P_tls/capture 200 cafile $BROKER/ca.crt
pull_camera untrusted https://localhost:$S_tls/stream 200
pull_camera stall http://127.0.0.1:$S_stall/stream 100
pull_camera lie http://127.0.0.1:$S_lie/stream 50
pull_camera hugestream http://127.0.0.1:$S_huge/stream 100
pull_camera hugesnap http://127.0.0.1:$P_huge/capture 1000
pull_camera midsnap http://127.0.0.1:$P_mid/capture 500
pull_camera midstream http://127.0.0.1:$S_mid/stream 500
pull_camera ffmpeg http://127.0.0.1:$P_ffmpeg/stream 100
CONF
} > "$T/base.conf"

echo "# the configuration"
check "--check accepts http, https and their options" "$BIN/base-unit" --check -c "$T/base.conf"
printf 'pull_camera x http://admin:pw@127.0.0.1:1/capture 100\n' > "$T/bad1.conf"
check "credentials in the URL are refused" bash -c "! '$BIN/base-unit' --check -c '$T/bad1.conf' > '$T/bad1.out' 2>&1"
check "... pointing at 'auth FILE'" grep -q "auth FILE" "$T/bad1.out"
printf 'pull_camera x 127.0.0.1:1 100 auth f\n' > "$T/bad2.conf"
check "options on a raw TCP camera are refused" bash -c "! '$BIN/base-unit' --check -c '$T/bad2.conf' 2> /dev/null"

watch all reader 'intercom/+/availability'
start base "$BIN/base-unit" -c "$T/base.conf"
DPORT=$(free_port tcp)
TOKEN=$("$BIN/dashboard" gentoken)
{ dash_conf "127.0.0.1:$DPORT"; echo "token $TOKEN"; } > "$T/dash.conf"
start dash "$BIN/dashboard" -c "$T/dash.conf"
frames() {	# DEVICE COUNT -> one hex line per frame in $T/DEVICE.hex
	mosquitto_sub $(mqtt_args reader) -t "intercom/$1/camera" -C "$2" -W 20 -F '%x' > "$T/$1.hex" 2>> "$T/sub.log"
}
good_frames() {	# DEVICE: how many lines of $T/DEVICE.hex are one of the source files, byte for byte
	local n=0 m
	while read -r hex; do
		m=$(echo "$hex" | xxd -r -p | md5sum | cut -d' ' -f1)
		case " $GOOD " in *" $m "*) n=$((n + 1)) ;; esac
	done < "$T/$1.hex"
	echo "$n"
}
online() { grep -q "^intercom/$1/availability online$" "$T/all.watch"; }

echo "# the ESP32-CAM's /capture and :81/stream"
check "the snapshot camera comes online" wait_until 10 online snap
frames snap 4
check "its snapshots arrive byte for byte ($(good_frames snap) of 4)" test "$(good_frames snap)" -eq 4
n=$(grep -c '^capture ' "$T/plain.log"); conns=$(grep '^capture ' "$T/plain.log" | sort -u | wc -l)
check "over a kept connection, as the ESP32-CAM's HTTP/1.1 allows ($n snapshots, $conns connection)" test "$n" -ge 4 -a "$conns" -lt "$n"
check "the stream comes online" wait_until 10 online stream
frames stream 9
check "its parts arrive byte for byte ($(good_frames stream) of 9)" test "$(good_frames stream)" -eq 9
check "all three files came through the stream" test \
	"$(while read -r h; do echo "$h" | xxd -r -p | md5sum; done < "$T/stream.hex" | sort -u | wc -l)" -eq 3
port=$(sed -n 's/^camera_port stream 127.0.0.1:\([0-9]*\)$/\1/p' "$T/base.conf")
nc -w 5 127.0.0.1 "$port" > "$T/raw.jpg" < /dev/null
is_good() { case " $GOOD " in *" $(md5sum < "$1" | cut -d' ' -f1) "*) return 0 ;; esac; return 1; }
check "and its newest frame is served on its raw TCP port" is_good "$T/raw.jpg"
snapshot() { curl -s -f -H "Authorization: Bearer $TOKEN" -o "$T/$1.jpg" "http://127.0.0.1:$DPORT/api/devices/$1/snapshot.jpg"; }
check "and by the dashboard" wait_until 10 bash -c "$(declare -f snapshot is_good); GOOD='$GOOD' T='$T' TOKEN='$TOKEN' DPORT='$DPORT'; snapshot stream && is_good '$T/stream.jpg'"

echo "# ffmpeg's MJPEG server"
if command -v ffmpeg > /dev/null; then
	check "the ffmpeg camera comes online" wait_until 10 online ffmpeg
	frames ffmpeg 5
	n=0; prev=
	while read -r hex; do
		echo "$hex" | xxd -r -p > "$T/ff.jpg"
		djpeg "$T/ff.jpg" > /dev/null 2>&1 && [ "$hex" != "$prev" ] && n=$((n + 1))
		prev=$hex
	done < "$T/ffmpeg.hex"
	check "its frames are sound JPEGs, each new ($n of 5)" test "$n" -eq 5
	check "and reach the dashboard" wait_until 10 bash -c "curl -s -f -H 'Authorization: Bearer $TOKEN' -o '$T/ffd.jpg' http://127.0.0.1:$DPORT/api/devices/ffmpeg/snapshot.jpg && djpeg '$T/ffd.jpg' > /dev/null"
else
	skip "ffmpeg's MJPEG server: no ffmpeg here (make test installs it)"
fi

echo "# credentials and certificates"
check "Digest credentials from a file: the camera is online" wait_until 10 online digest
frames digest 3
check "and its frames arrive byte for byte" test "$(good_frames digest)" -eq 3
check "a wrong password keeps a camera offline, and the log says why (401)" wait_until 10 grep -q \
	"pull camera http://127.0.0.1:$P_secret/capture: .*401" "$T/base.log"
check "HTTPS against the configured CA works" wait_until 10 online secure
frames secure 2
check "and its frames arrive byte for byte" test "$(good_frames secure)" -eq 2
check "an HTTPS camera whose certificate the system does not trust is refused" wait_until 10 grep -qi \
	"pull camera https://localhost:$S_tls/stream: .*certificate" "$T/base.log"

echo "# cameras that misbehave"
check "a stream that stalls comes online with its first frame" wait_until 10 online stall
mark all
check "and goes offline at the time bound (5 s)" wait_until 9 seen_since all '^intercom/stall/availability offline$'
check "the log says why" grep -q "pull camera http://127.0.0.1:$S_stall/stream: no whole frame within the time bound" "$T/base.log"
mark all
check "and it is tried again by itself: online with its next first frame" wait_until 10 seen_since all '^intercom/stall/availability online$'
frames lie 6
check "parts whose length lies are dropped, the others arrive byte for byte ($(good_frames lie) of 6)" \
	test "$(good_frames lie)" -eq 6
cam_metric() { mosquitto_sub $(mqtt_args reader) -t intercom/bridge/metrics -C 1 -W 3 | $PY -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
metric_ge() { [ "$(cam_metric "$1")" -ge "$2" ]; }
check "and are counted (frames_corrupt)" wait_until 5 metric_ge frames_corrupt 1
check "a 100 MB part and a 100 MB snapshot are cut off at the frame bound (frames_too_big)" wait_until 15 \
	metric_ge frames_too_big 2
check "the huge snapshot never came online" bash -c "! grep -q '^intercom/hugesnap/availability online' $T/all.watch"
check "closed mid-frame: the snapshot never comes online" bash -c "sleep 2; ! online midsnap"
check "nor the stream" bash -c "! online midstream"
check "stream parts before their interval are counted, not decoded (frames_skipped)" metric_ge frames_skipped 1
check "the base unit is still running" kill -0 "$PID_base"
rss=$(awk '/VmRSS/ {print $2}' "/proc/$PID_base/status")
if [ -n "${ASAN_OPTIONS:-}" ]; then
	skip "its RSS ($rss KiB): ASan's shadow memory and quarantine are most of it"
else
	check "its RSS is $rss KiB: under 64 MiB with a 100 MB part refused" test "$rss" -lt 65536
fi
check "nothing that is not a sound JPEG was published" bash -c \
	"! grep -qE '^intercom/(hugesnap|midsnap|midstream|refused|untrusted)/availability online' $T/all.watch"
