#!/bin/bash
# A poor 4G uplink: 256 kbit/s (tc tbf on the cellar's way out) while a camera
# streams. Commands must still get through promptly: the camera paces its
# fragments below the link's rate, so acknowledgements are never stuck behind
# a queue of frames.
source "$(dirname "$0")/../lib.sh"
source "$ROOT/tests/net/netns.sh"

if ! why=$(netns_usable); then
	skip "slow uplink test: $why"
	exit 0
fi
CELLAR="ic-slowc-$$" HOME_NS="ic-slowh-$$"
netns_new "$CELLAR" && netns_new "$HOME_NS" && netns_link "$CELLAR" 10.231.60.2/24 "$HOME_NS" 10.231.60.1/24 ||
	{ fail "the test bed is built"; exit 1; }
IFACE=$(netns_iface "$CELLAR")
if ! ip netns exec "$CELLAR" tc qdisc add dev "$IFACE" root tbf rate 256kbit burst 32kbit latency 500ms 2> "$T/tc.err"; then
	skip "slow uplink test: tc tbf is not available ($(cat "$T/tc.err"))"
	exit 0
fi
MQTT_NS=$HOME_NS
test_broker
KEY_R=$("$BIN/base-unit" genkey)
KEY_C=$("$BIN/base-unit" genkey)
{ base_conf 10.231.60.1:47800; cat <<CONF
camera_interval_ms 0
device relay $KEY_R
device cam $KEY_C
CONF
} > "$T/base.conf"
printf 'id relay\nkey %s\nbase 10.231.60.1:47800\ncontrol relay switch simulated\n' "$KEY_R" > "$T/relay.conf"
# ~15 KB frames at up to 10 a second is far more than 256 kbit/s: the camera
# must pace itself (160 kbit/s) and send fewer frames.
printf 'id cam\nkey %s\nbase 10.231.60.1:47800\nsource pattern 320x240\nfps 10\nquality 80\nmax_kbps 160\n' \
	"$KEY_C" > "$T/cam.conf"
watch all dashboard 'intercom/+/availability'
watch results dashboard 'intercom/relay/result'
start base ip netns exec "$HOME_NS" "$BIN/base-unit" -c "$T/base.conf"
start relay ip netns exec "$CELLAR" "$BIN/updatable-unit" -c "$T/relay.conf"
start cam ip netns exec "$CELLAR" "$BIN/camera-unit" -c "$T/cam.conf"
check "both devices come online over the slow link" wait_until 15 bash -c \
	"grep -q 'relay/availability online' $T/all.watch && grep -q 'cam/availability online' $T/all.watch"
sleep 3	# the camera is streaming
in_ns mosquitto_sub $(mqtt_args reader) -t intercom/cam/camera -C 2 -W 20 -F '%x' > "$T/frames.hex" 2>> "$T/sub.log"
check "frames flow over the slow link" test "$(wc -l < "$T/frames.hex")" -eq 2

worst=0
for i in $(seq 1 20); do
	t0=$(date +%s%N)
	in_ns mosquitto_pub $(mqtt_args dashboard) -t intercom/relay/set \
		-m "{\"relay\":\"$([ $((i % 2)) = 1 ] && echo ON || echo OFF)\",\"id\":\"c$i\"}"
	wait_until 5 seen results "\"id\":\"c$i\",\"status\":\"ok\"" || break
	ms=$(( ($(date +%s%N) - t0) / 1000000 ))
	[ "$ms" -gt "$worst" ] && worst=$ms
done
check "20 commands all end ok while the camera streams" test "$(grep -c '"status":"ok"' "$T/results.watch")" -eq 20
check "each within 300 ms, publish to result (worst ${worst} ms)" test "$worst" -lt 300
sent=$(ip netns exec "$CELLAR" tc -s qdisc show dev "$IFACE" | sed -n 's/.*Sent \([0-9]*\) bytes.*/\1/p' | head -n 1)
echo "  figures: worst command round trip ${worst} ms; ${sent} bytes through the 256 kbit/s uplink"
