#!/bin/bash
# The dashboard against slow, idle and hostile HTTP clients
# (tests/tools/slowclients.py): a thousand connections from one address that
# never finish their headers, idle event streams and camera viewers, a
# connection that says nothing. The real user, from another address, logs in
# and drives all the while; the dashboard keeps the same few threads.
source "$(dirname "$0")/../lib.sh"

SLOW="$PY $ROOT/tests/tools/slowclients.py"
test_broker
KEY=$("$BIN/base-unit" genkey); KEY_C=$("$BIN/base-unit" genkey)
{ base_conf 127.0.0.1:$UDP_PORT; echo "camera_interval_ms 50"; echo "device lights $KEY"; echo "device cam $KEY_C"; } > "$T/base.conf"
printf 'id lights\nkey %s\nbase 127.0.0.1:%s\nkeepalive 1\ncontrol light switch simulated\n' \
	"$KEY" "$UDP_PORT" > "$T/lights.conf"
printf 'id cam\nkey %s\nbase 127.0.0.1:%s\nsource pattern 320x240\nfps 10\n' "$KEY_C" "$UDP_PORT" > "$T/cam.conf"
PASS=correct-horse-battery
HASH=$(echo "$PASS" | "$BIN/dashboard" hash-password)
TOKEN=$("$BIN/dashboard" gentoken)
HTTP_PORT=$(free_port tcp)
DASH=http://127.0.0.1:$HTTP_PORT
{ dash_conf 127.0.0.1:$HTTP_PORT; cat <<CONF
user admin $HASH
token $TOKEN
idle_timeout 5
CONF
} > "$T/dash.conf"
start base "$BIN/base-unit" -c "$T/base.conf"
start lights "$BIN/updatable-unit" -c "$T/lights.conf"
start cam "$BIN/camera-unit" -c "$T/cam.conf"
start dash "$BIN/dashboard" -c "$T/dash.conf"
check "the dashboard sees the devices" wait_until 15 bash -c \
	"curl -s -H 'Authorization: Bearer $TOKEN' $DASH/api/devices | grep -q '\"id\":\"lights\",[^}]*\"online\":true'"
wait_until 10 bash -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer $TOKEN' $DASH/api/devices/cam/snapshot.jpg)\" = 200 ]"
threads() { awk '/^Threads:/ {print $2}' "/proc/$PID_dash/status"; }
rss() { awk '/^VmRSS:/ {print $2}' "/proc/$PID_dash/status"; }
THREADS0=$(threads); RSS0=$(rss)

echo "# a thousand connections from 127.0.0.2 that trickle a header line every 2 s"
start trickle $SLOW trickle 127.0.0.1 "$HTTP_PORT" 127.0.0.2 1000 2 "$T/trickle.out"
wait_until 30 test -s "$T/trickle.out"
sleep 3
read -r _ accepted _ open < "$T/trickle.out"
check "that address got at most max_connections_per_address (32) of them ($accepted, $open still open)" \
	test "$accepted" -le 32 -a "$open" -ge 1

login() {	# JAR: prints the status code
	curl -s -m 10 -o /dev/null -c "$1" -w '%{http_code}' -H "Origin: $DASH" \
		--data-urlencode user=admin --data-urlencode "password=$PASS" "$DASH/login"
}
set_ok() {	# JAR ID
	curl -s -m 10 -b "$1" -H "Origin: $DASH" -d "{\"light\":\"$( (( ${2#s} % 2 )) && echo ON || echo OFF)\",\"id\":\"$2\"}" \
		"$DASH/api/devices/lights/set" | grep -q '"status":"ok"'
}
logins=0; sets=0
for i in $(seq 1 10); do
	[ "$(login "$T/jar$i")" = 303 ] && logins=$((logins + 1))
	set_ok "$T/jar$i" "s$i" && sets=$((sets + 1))
done
check "meanwhile the real user, from 127.0.0.1, logs in 10 of 10 times ($logins)" test "$logins" -eq 10
check "and every set is answered ok ($sets of 10)" test "$sets" -eq 10

echo "# 30 idle event streams and 30 camera viewers from 127.0.0.3"
for i in $(seq 1 30); do
	start "sse$i" curl -s -N --interface 127.0.0.3 -H "Authorization: Bearer $TOKEN" -o /dev/null "$DASH/api/events"
	start "mj$i" curl -s -N --interface 127.0.0.3 -H "Authorization: Bearer $TOKEN" -o /dev/null \
		"$DASH/api/devices/cam/stream.mjpeg"
done
sleep 3
streams=$(curl -s -H "Authorization: Bearer $TOKEN" "$DASH/metrics" | awk '/^intercom_dashboard_sse_clients / {s += $2} /^intercom_dashboard_mjpeg_viewers / {s += $2} END {print s + 0}')
check "the streams are open ($streams of 60, one address: at most 32)" test "$streams" -ge 30 -a "$streams" -le 32
check "the dashboard kept its threads: $THREADS0 before, $(threads) now (a thread per connection would be 90 more)" \
	test "$(threads)" -le $((THREADS0 + 2))
if [ -n "${ASAN_OPTIONS:-}" ]; then
	skip "and its memory: not measurable under ASan (its quarantine keeps freed buffers resident)"
else
	check "and its memory: RSS $RSS0 KiB before, $(rss) KiB now (under +8 MiB)" test "$(rss)" -lt $((RSS0 + 8192))
fi
check "a set still answers ok with all of it going on" set_ok "$T/jar1" s11

echo "# a connection that says nothing"
$SLOW silent 127.0.0.1 "$HTTP_PORT" 127.0.0.4 > "$T/silent.out"
check "is closed after idle_timeout (5 s): $(cat "$T/silent.out") s" \
	$PY -c "import sys; t = float(open(sys.argv[1]).read()); sys.exit(0 if 4 <= t <= 8 else 1)" "$T/silent.out"
