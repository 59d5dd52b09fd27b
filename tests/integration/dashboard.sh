#!/bin/bash
# The dashboard's HTTP API through real parts: the broker of broker-conf over
# TLS, the base unit, real agents, the dashboard, curl and a socket-level
# stream reader (tests/tools/httpstream.py).
source "$(dirname "$0")/../lib.sh"

test_broker
KEY_L=$("$BIN/base-unit" genkey); KEY_C=$("$BIN/base-unit" genkey); KEY_T=$("$BIN/base-unit" genkey)
{ base_conf 127.0.0.1:$UDP_PORT; cat <<CONF
camera_interval_ms 50
device lights $KEY_L
device cam $KEY_C
device thermo $KEY_T
device ghost $("$BIN/base-unit" genkey)
CONF
} > "$T/base.conf"
cat > "$T/refuse-hook" <<'HOOK'
#!/bin/sh
echo "stuck relay"
exit 1
HOOK
chmod +x "$T/refuse-hook"
cat > "$T/lights.conf" <<CONF
id lights
key $KEY_L
base 127.0.0.1:$UDP_PORT
keepalive 1
control light switch simulated
control brightness range 0 255 1 simulated default 10
control outlet switch hook $T/refuse-hook
CONF
cat > "$T/cam.conf" <<CONF
id cam
key $KEY_C
base 127.0.0.1:$UDP_PORT
source pattern 320x240
fps 20
CONF
cat > "$T/thermo.conf" <<CONF
id thermo
key $KEY_T
base 127.0.0.1:$UDP_PORT
interval 0.2
sensor temperature °C simulated 12.5 0.1 5 25
CONF

PASS=correct-horse-battery
HASH=$(echo "$PASS" | "$BIN/dashboard" hash-password)
TOKEN=$("$BIN/dashboard" gentoken)
HTTP_PORT=$(free_port tcp); SHORT_PORT=$(free_port tcp); TLS_PORT=$(free_port tcp)
DASH=http://127.0.0.1:$HTTP_PORT
dash_conf() {	# PORT [extra lines...]
	cat <<CONF
listen 127.0.0.1:$1
mqtt_host localhost
mqtt_port $MQTT_PORT
mqtt_cafile $BROKER/ca.crt
mqtt_username dashboard
mqtt_password_file $BROKER/dashboard.password
mqtt_client_id dashboard-$1
user admin $HASH
token $TOKEN
name thermo "<img src=x onerror=alert(1)>"
CONF
	shift
	printf '%s\n' "$@"
}
dash_conf "$HTTP_PORT" > "$T/dash.conf"
dash_conf "$SHORT_PORT" "session_ttl 2" "login_attempts 3" > "$T/short.conf"
dash_conf "$TLS_PORT" "tls_cert $BROKER/server.crt" "tls_key $BROKER/server.key" > "$T/tls.conf"

echo "# configuration"
check "dashboard --check accepts its config" "$BIN/dashboard" --check -c "$T/dash.conf"
printf 'mqtt_cafile x\nuser admin hunter2\n' > "$T/bad.conf"
"$BIN/dashboard" --check -c "$T/bad.conf" > "$T/bad.out" 2>&1
check "a plain password in a user line is refused, naming file and line" \
	grep -q "bad.conf:2: 'user' expects a password hash made by 'dashboard hash-password'" "$T/bad.out"
check "the hash is PBKDF2-SHA256 as Python's hashlib computes it" $PY -c '
import hashlib, sys
_, it, salt, dk = sys.argv[1].split("$")
sys.exit(hashlib.pbkdf2_hmac("sha256", sys.argv[2].encode(), bytes.fromhex(salt), int(it)).hex() != dk)' "$HASH" "$PASS"

start base "$BIN/base-unit" -c "$T/base.conf"
start lights "$BIN/updatable-unit" -c "$T/lights.conf"
start cam "$BIN/camera-unit" -c "$T/cam.conf"
start thermo "$BIN/read-unit" -c "$T/thermo.conf"
start dash "$BIN/dashboard" -c "$T/dash.conf"
start short "$BIN/dashboard" -c "$T/short.conf"
start tls "$BIN/dashboard" -c "$T/tls.conf"
check "the dashboard listens" wait_until 10 tcp_listening "$HTTP_PORT"

code() { curl -s -o /dev/null -w '%{http_code}' --path-as-is "$@"; }
auth() { curl -s -H "Authorization: Bearer $TOKEN" "$@"; }
check "the devices come online, as the dashboard sees them" wait_until 15 bash -c \
	"curl -s -H 'Authorization: Bearer $TOKEN' $DASH/api/devices | grep -q '\"id\":\"lights\".*\"online\":true' &&
	 curl -s -H 'Authorization: Bearer $TOKEN' $DASH/api/devices | grep -q '\"id\":\"cam\",[^}]*\"online\":true'"

echo "# every route but /healthz and the login page needs a login"
check "/healthz answers without a login" test "$(code $DASH/healthz)" = 200
check "/healthz names the version (X-Intercom-Version, the VERSION file's)" bash -c \
	"curl -s -D - -o /dev/null $DASH/healthz | tr -d '\r' | grep -qi '^x-intercom-version: $(cat "$ROOT/VERSION")\$'"
check "the login page answers without a login" test "$(code $DASH/login)" = 200
refused=0
for path in /api/devices /api/devices/lights /api/events /metrics /app.js /index.html \
	/api/devices/cam/snapshot.jpg /api/devices/cam/stream.mjpeg /api/nope; do
	c=$(code "$DASH$path")
	[ "$c" = 401 ] || { echo "    $path answered $c without a login"; refused=1; }
done
check "every API route and file answers 401 without a login" test $refused = 0
check "a set without a login is refused (401)" test "$(code -d '{"light":"ON"}' $DASH/api/devices/lights/set)" = 401
check "the UI without a login redirects to /login" bash -c \
	"curl -s -o /dev/null -w '%{http_code} %{redirect_url}' $DASH/ | grep -q '^303 .*/login$'"
check "a wrong bearer token is refused" test "$(code -H 'Authorization: Bearer 0000000000000000000000000000000000000000' $DASH/api/devices)" = 401

echo "# login, sessions, logout"
login() {	# PORT JAR PASSWORD: prints the status code
	curl -s -o /dev/null -D "$2.head" -c "$2" -w '%{http_code}' -H "Origin: http://127.0.0.1:$1" \
		--data-urlencode user=admin --data-urlencode "password=$3" "http://127.0.0.1:$1/login"
}
check "a wrong password is refused (401)" test "$(login "$HTTP_PORT" "$T/jar0" wrong)" = 401
check "the right password logs in (303 to /)" test "$(login "$HTTP_PORT" "$T/jar" "$PASS")" = 303
check "the session cookie is HttpOnly, SameSite=Strict, with an expiry" \
	grep -qiE '^set-cookie: intercom_session=[0-9a-f]{64}; Path=/; Max-Age=[0-9]+; HttpOnly; SameSite=Strict' "$T/jar.head"
check "the cookie opens the API" bash -c "curl -s -b '$T/jar' $DASH/api/devices | grep -q '\"id\":\"lights\"'"
check "the cookie opens the UI" bash -c "curl -s -b '$T/jar' $DASH/ | grep -q '<script src=\"/app.js\"'"
check "the bearer token opens the API" bash -c "curl -s -H 'Authorization: Bearer $TOKEN' $DASH/api/devices/lights | grep -q '\"controls\"'"
login "$HTTP_PORT" "$T/jar2" "$PASS" > /dev/null
check "logout needs the same origin too" test "$(code -b "$T/jar2" -X POST $DASH/logout)" = 403
check "logout answers 303 to /login" test "$(code -b "$T/jar2" -H "Origin: $DASH" -X POST $DASH/logout)" = 303
check "after logout the session is dead" test "$(code -b "$T/jar2" $DASH/api/devices)" = 401
check "a login on the short-session dashboard works" test "$(login "$SHORT_PORT" "$T/jarS" "$PASS")" = 303
check "... and its session works at first" test "$(code -b "$T/jarS" http://127.0.0.1:$SHORT_PORT/api/devices)" = 200
sleep 2.5
check "... and has expired after session_ttl (2 s)" test "$(code -b "$T/jarS" http://127.0.0.1:$SHORT_PORT/api/devices)" = 401
for i in 1 2 3; do login "$SHORT_PORT" "$T/jarX" wrong > /dev/null; done
check "after login_attempts (3) failures the next login is refused (429), even with the right password" \
	test "$(login "$SHORT_PORT" "$T/jarX" "$PASS")" = 429
check "... with a Retry-After" grep -qi '^retry-after: [0-9]' "$T/jarX.head"

echo "# headers"
curl -s -D "$T/h1" -o /dev/null -b "$T/jar" $DASH/
check "a Content-Security-Policy forbids inline script" bash -c \
	"grep -i '^content-security-policy:' '$T/h1' | grep -q \"script-src 'self'\" && ! grep -i '^content-security-policy:' '$T/h1' | grep -q unsafe-inline"
check "X-Content-Type-Options: nosniff" grep -qi '^x-content-type-options: nosniff' "$T/h1"
curl -s -D "$T/h2" -o /dev/null -H "Authorization: Bearer $TOKEN" $DASH/api/devices
check "the API has the same headers and no caching" bash -c \
	"grep -qi '^x-content-type-options: nosniff' '$T/h2' && grep -qi '^cache-control: no-store' '$T/h2' && grep -qi '^content-type: application/json' '$T/h2'"

echo "# paths cannot leave the static directory"
leak=0
for path in /../../../../etc/passwd /%2e%2e/%2e%2e/etc/passwd /..%2f..%2f..%2fetc%2fpasswd /%2E%2E%2F%2E%2E%2Fetc/passwd \
	/./app.js "/..%2f..%2fetc%2fpasswd%00.js" /static/../../etc/passwd /..%5c..%5cetc/passwd //etc/passwd; do
	out=$(curl -s --path-as-is -b "$T/jar" -w ' %{http_code}' "$DASH$path")
	case "$out" in *root:*|*" 200") echo "    $path -> ${out: -3}"; leak=1 ;; esac
done
check "traversal in plain and encoded forms is refused" test $leak = 0
check "a real static file is served" test "$(code -b "$T/jar" $DASH/app.js)" = 200

echo "# sets through HTTP"
set_http() {	# DEVICE BODY [curl args]: prints "CODE BODY"
	local dev=$1 body=$2; shift 2
	curl -s -w ' %{http_code}' -b "$T/jar" -H "Origin: $DASH" -H 'Content-Type: application/json' \
		-d "$body" "$@" "$DASH/api/devices/$dev/set"
}
watch all reader 'intercom/#'
out=$(set_http lights '{"light":"ON","id":"h1"}')
check "a set reaches the device and answers ok with its id (200)" test "$out" = '{"id":"h1","status":"ok"} 200'
check "the device's state changes" wait_until 3 seen all '^intercom/lights \{"light":"ON"'
out=$(set_http lights '{"brightness":999}')
check "an out-of-range value: 400 invalid, with the reason" bash -c "echo '$out' | grep -q '\"status\":\"invalid\".*255.* 400$'"
out=$(set_http lights '{"colour":"red"}')
check "an unknown control: 400" bash -c "echo '$out' | grep -q ' 400$'"
out=$(set_http lights 'not json')
check "a body that is not JSON: 400" bash -c "echo '$out' | grep -q '\"status\":\"invalid\".* 400$'"
out=$(set_http nobody '{"light":"ON"}')
check "an unknown device: 404" bash -c "echo '$out' | grep -q ' 404$'"
out=$(set_http lights '{"outlet":"ON","id":"r1"}')
check "the device refuses: 409 rejected, with its reason" bash -c "echo '$out' | grep -q '\"id\":\"r1\",\"status\":\"rejected\",\"error\":\"the device refused: outlet: stuck relay\"} 409$'"
out=$(set_http ghost '{"x":1}')
check "a device that never connected: 504 offline" bash -c "echo '$out' | grep -q '\"status\":\"offline\".* 504$'"
big=$($PY -c 'print("{\"light\":\"ON\",\"pad\":\"" + "x" * 5000 + "\"}")')
check "an oversized body is refused (413)" test "$(code -b "$T/jar" -H "Origin: $DASH" -d "$big" $DASH/api/devices/lights/set)" = 413
check "... and the dashboard still answers" test "$(code $DASH/healthz)" = 200

echo "# CSRF"
check "a set from a foreign Origin is refused (403)" test "$(code -b "$T/jar" -H 'Origin: http://evil.example' -d '{"light":"OFF"}' $DASH/api/devices/lights/set)" = 403
check "a cookie set with neither Origin nor Referer is refused (403)" test "$(code -b "$T/jar" -d '{"light":"OFF"}' $DASH/api/devices/lights/set)" = 403
check "a set with a same-origin Referer is accepted" test "$(code -b "$T/jar" -e "$DASH/" -d '{"light":"ON"}' $DASH/api/devices/lights/set)" = 200
check "a login from a foreign Origin is refused (403)" test "$(code -H 'Origin: http://evil.example' --data-urlencode user=admin --data-urlencode "password=$PASS" $DASH/login)" = 403
check "the light stayed ON (no foreign set got through)" wait_until 2 bash -c \
	"curl -s -H 'Authorization: Bearer $TOKEN' $DASH/api/devices/lights | grep -q '\"light\":\"ON\"'"
check "a bearer-token set needs no Origin (a script)" test "$(code -H "Authorization: Bearer $TOKEN" -d '{"brightness":42}' $DASH/api/devices/lights/set)" = 200

echo "# server-sent events"
start sse $PY "$ROOT/tests/tools/httpstream.py" sse "$DASH/api/events" 30 "Authorization: Bearer $TOKEN"
check "a new SSE client first gets the current state (a snapshot with every device)" wait_until 5 \
	grep -q '^[0-9]* snapshot {"broker":true,"bridge":true,"devices":\[.*"id":"lights"' "$T/sse.log"
sleep 0.5
mosquitto_pub $(mqtt_args dashboard) -t intercom/lights/set -m '{"light":"OFF","id":"sse1"}'
check "a state change made over MQTT arrives as an SSE event within a second" wait_until 1 \
	grep -q ' state {"id":"lights","state":{"light":"OFF"' "$T/sse.log"
check "... and its result too" grep -q ' result {"device":"lights","result":{"id":"sse1","status":"ok"}}' "$T/sse.log"

echo "# history and metrics"
check "a read unit's readings build a bounded history" wait_until 5 bash -c \
	"curl -s -H 'Authorization: Bearer $TOKEN' $DASH/api/devices/thermo | $PY -c 'import json,sys; h=json.load(sys.stdin)[\"history\"][\"temperature\"]; sys.exit(len(h) < 5)'"
check "/metrics gathers the base unit's counters (Prometheus text)" wait_until 5 bash -c \
	"auth() { curl -s -H 'Authorization: Bearer $TOKEN' \"\$@\"; }; m=\$(auth $DASH/metrics);
	 echo \"\$m\" | grep -q '^intercom_readings_total [1-9]' &&
	 echo \"\$m\" | grep -q '^intercom_commands_total{result=\"ok\"} [1-9]' &&
	 echo \"\$m\" | grep -q '^intercom_commands_total{result=\"rejected\"} [1-9]' &&
	 echo \"\$m\" | grep -q '^intercom_dropped_total{reason=\"kernel\"} 0' &&
	 echo \"\$m\" | grep -q '^intercom_mqtt_reconnects_total 0' &&
	 echo \"\$m\" | grep -q '^intercom_frames_total [1-9]' &&
	 echo \"\$m\" | grep -q '^intercom_dashboard_devices{state=\"online\"} 3'"

echo "# cameras"
auth -o "$T/snap.jpg" "$DASH/api/devices/cam/snapshot.jpg"
check "the snapshot decodes as a 320x240 JPEG" bash -c "djpeg -pnm '$T/snap.jpg' | head -c 20 | grep -q '320 240'"
check "a device with no camera has no snapshot (404)" test "$(code -H "Authorization: Bearer $TOKEN" $DASH/api/devices/lights/snapshot.jpg)" = 404
$PY "$ROOT/tests/tools/httpstream.py" mjpeg "$DASH/api/devices/cam/stream.mjpeg" 2 "Authorization: Bearer $TOKEN" > "$T/mjpeg1"
check "the MJPEG stream delivers several distinct, whole JPEG frames" $PY -c '
import json, sys; r = json.load(open(sys.argv[1])); print("    ", r)
sys.exit(not (r["status"] == 200 and r["distinct"] >= 10 and r["valid"] == r["parts"]))' "$T/mjpeg1"
rss() { awk '/^VmRSS/ {print $2}' "/proc/$PID_dash/status"; }
rss0=$(rss)
for i in 1 2 3; do
	start "stall$i" $PY "$ROOT/tests/tools/httpstream.py" stall "$DASH/api/devices/cam/stream.mjpeg" 8 "Authorization: Bearer $TOKEN"
done
sleep 1
$PY "$ROOT/tests/tools/httpstream.py" mjpeg "$DASH/api/devices/cam/stream.mjpeg" 4 "Authorization: Bearer $TOKEN" > "$T/mjpeg2"
rss1=$(rss)
check "three stalled viewers do not slow another: it still gets >= 15 frames/s of 20" $PY -c '
import json, sys; r = json.load(open(sys.argv[1])); print("    ", r)
sys.exit(not (r["distinct"] >= 60 and r["valid"] == r["parts"]))' "$T/mjpeg2"
echo "    dashboard RSS ${rss0} kB before the stalled viewers, ${rss1} kB after 5 s of them"
if [ -n "${ASAN_OPTIONS:-}" ]; then
	skip "... nor grow the dashboard's memory: not measurable under ASan (its quarantine keeps freed frames resident)"
else
	check "... nor grow the dashboard's memory (< 2 MiB more)" test $((rss1 - rss0)) -lt 2048
fi
check "the MJPEG viewers are counted" bash -c "curl -s -H 'Authorization: Bearer $TOKEN' $DASH/metrics | grep -q '^intercom_dashboard_mjpeg_viewers [1-9]'"

echo "# availability"
stop thermo
check "a device saying bye arrives as an availability event" wait_until 3 \
	grep -q ' availability {"id":"thermo","online":false}' "$T/sse.log"

echo "# escaping"
check "a display name with markup comes back as a JSON string, unchanged" bash -c \
	"curl -s -H 'Authorization: Bearer $TOKEN' $DASH/api/devices/thermo | $PY -c 'import json,sys; sys.exit(json.load(sys.stdin)[\"name\"] != \"<img src=x onerror=alert(1)>\")'"

echo "# HTTPS"
check "with tls_cert and tls_key the dashboard speaks HTTPS (verified against the CA)" wait_until 5 bash -c \
	"curl -s --cacert '$BROKER/ca.crt' https://localhost:$TLS_PORT/healthz | grep -q ok"
curl -s --cacert "$BROKER/ca.crt" -D "$T/h3" -o /dev/null -H "Origin: https://localhost:$TLS_PORT" \
	--data-urlencode user=admin --data-urlencode "password=$PASS" "https://localhost:$TLS_PORT/login"
check "... and its session cookie is Secure" grep -qi '^set-cookie: .*; Secure' "$T/h3"
check "plain HTTP to the HTTPS port gets no answer" bash -c "! curl -s -m 3 http://127.0.0.1:$TLS_PORT/healthz | grep -q ok"

echo "# the broker goes away and comes back"
start sse2 $PY "$ROOT/tests/tools/httpstream.py" sse "$DASH/api/events" 40 "Authorization: Bearer $TOKEN"
wait_until 5 grep -q ' snapshot ' "$T/sse2.log"
stop mosquitto TERM
check "the SSE stream says the broker is gone" wait_until 5 grep -q ' broker {"connected":false}' "$T/sse2.log"
check "/healthz says so too: 503, naming the broker and why" wait_until 3 bash -c \
	"curl -s -w ' %{http_code}' $DASH/healthz | tr -d '\n' | grep -q '^broker not connected: .*localhost port $MQTT_PORT.* 503$'"
check "a device the dashboard never heard of: 503 while it cannot know, not 'unknown device'" bash -c \
	"curl -s -w ' %{http_code}' -H 'Authorization: Bearer $TOKEN' -d '{\"light\":\"ON\"}' $DASH/api/devices/not-yet/set | grep -q 'not connected to the broker.* 503$'"
check "a set meanwhile answers 503 at once, with the reason" bash -c \
	"curl -s -w ' %{http_code}' -H 'Authorization: Bearer $TOKEN' -d '{\"light\":\"ON\"}' $DASH/api/devices/lights/set | grep -q 'not connected to the broker.* 503$'"
check "the API still answers from what the dashboard knows" bash -c \
	"curl -s -H 'Authorization: Bearer $TOKEN' $DASH/api/devices | grep -q '\"id\":\"lights\"'"
broker_start mosquitto "$BROKER" "$MQTT_PORT" || fail "the broker comes back"
check "the dashboard reconnects by itself and the stream says so" wait_until 40 grep -q ' broker {"connected":true}' "$T/sse2.log"
check "sets work again" wait_until 20 bash -c \
	"curl -s -H 'Authorization: Bearer $TOKEN' -d '{\"light\":\"OFF\"}' $DASH/api/devices/lights/set | grep -q '\"status\":\"ok\"'"
echo "# the broker is killed (no goodbye at all), and someone takes the dashboard's client id"
mark_sse=$(grep -c ' broker ' "$T/sse2.log")
stop mosquitto KILL
check "after a SIGKILL of the broker the stream says it is gone" wait_until 10 bash -c \
	"tail -n +1 '$T/sse2.log' | grep ' broker ' | tail -n +$((mark_sse + 1)) | grep -q '\"connected\":false'"
broker_start mosquitto "$BROKER" "$MQTT_PORT" || fail "the broker comes back"
check "and the dashboard reconnects by itself" wait_until 40 bash -c \
	"curl -s $DASH/healthz | grep -q '^ok$'"
mosquitto_sub $(mqtt_args reader) -i "dashboard-$HTTP_PORT" -t intercom/x -W 2 > /dev/null 2>&1
check "a client that took the dashboard's client id does not end its connection for good" wait_until 30 bash -c \
	"curl -s -H 'Authorization: Bearer $TOKEN' -d '{\"light\":\"ON\"}' $DASH/api/devices/lights/set | grep -q '\"status\":\"ok\"'"
check "the dashboard never stopped" kill -0 "$PID_dash"

echo "# shutdown"
stop dash
check "the dashboard stops cleanly on SIGTERM with streams open" bash -c "! kill -0 $PID_dash 2>/dev/null && grep -q stopping '$T/dash.log'"
