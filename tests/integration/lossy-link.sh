#!/bin/bash
# A lossy link: the updatable unit and a camera sit in their own network
# namespace ("cellar") whose packets are dropped at random, 20% in each
# direction, by iptables. The base unit and the broker are in "home".
# 200 commands must all end ok, each applied exactly once; frames still
# arrive, fewer, and only whole ones.
source "$(dirname "$0")/../lib.sh"
source "$ROOT/tests/net/netns.sh"

if ! why=$(netns_usable); then
	skip "command loss test: $why"
	exit 0
fi
HOME_NS="ic-home-$$"
CELLAR_NS="ic-cellar-$$"
netns_new "$HOME_NS" && netns_new "$CELLAR_NS" &&
	netns_link "$HOME_NS" 10.231.1.1/24 "$CELLAR_NS" 10.231.1.2/24 || { fail "the test bed is built"; exit 1; }
MQTT_NS=$HOME_NS
test_broker
KEY=$("$BIN/base-unit" genkey)
KEY_CAM=$("$BIN/base-unit" genkey)
{ base_conf 10.231.1.1:47800; cat <<CONF
device relay-box $KEY
device cellar-cam $KEY_CAM
camera_interval_ms 0
CONF
} > "$T/base.conf"
cat > "$T/relay.conf" <<CONF
id relay-box
key $KEY
base 10.231.1.1:47800
control relay switch simulated
CONF
printf 'id cellar-cam\nkey %s\nbase 10.231.1.1:47800\nsource pattern 320x240\nfps 5\nmax_kbps 2000\n' "$KEY_CAM" > "$T/cam.conf"
watch all dashboard 'intercom/+/availability'
watch results dashboard 'intercom/relay-box/#'
watch bridge dashboard 'intercom/bridge/metrics'
start base ip netns exec "$HOME_NS" "$BIN/base-unit" -c "$T/base.conf"
start relay ip netns exec "$CELLAR_NS" "$BIN/updatable-unit" -c "$T/relay.conf"
start cam ip netns exec "$CELLAR_NS" "$BIN/camera-unit" -c "$T/cam.conf"
check "the devices in the cellar namespace come online" wait_until 15 bash -c \
	"grep -q 'relay-box/availability online' $T/all.watch && grep -q 'cellar-cam/availability online' $T/all.watch"

netns_loss "$CELLAR_NS" 0.2
check "20% loss each way is in place" bash -c "ip netns exec $CELLAR_NS iptables -S OUTPUT | grep -q 'probability 0.2'"

N=200
t0=$(date +%s)
for ((first = 1; first <= N; first += 10)); do
	for ((i = first; i < first + 10 && i <= N; i++)); do
		printf '{"relay":"%s","id":"n%d"}\n' "$([ $((i % 2)) = 1 ] && echo ON || echo OFF)" "$i"
	done | in_ns mosquitto_pub $(mqtt_args dashboard) -t intercom/relay-box/set -l
	last=$(( first + 9 < N ? first + 9 : N ))
	wait_until 60 seen results "^intercom/relay-box/result \\{\"id\":\"n$last\"," || break
done
secs=$(( $(date +%s) - t0 ))
ok=$(grep -cE '^intercom/relay-box/result \{"id":"n[0-9]+","status":"ok"\}$' "$T/results.watch")
results=$(grep -c '^intercom/relay-box/result ' "$T/results.watch")
check "all $N commands end ok ($ok ok of $results results, in ${secs} s)" test "$ok" -eq "$N" -a "$results" -eq "$N"
retrans=$(metric bridge retransmits)
check "the loss was real: the base unit retransmitted ($retrans times)" test "${retrans:-0}" -gt 0
last_state() { grep '^intercom/relay-box {' "$T/results.watch" | tail -n 1 | grep -q '"relay":"OFF"'; }
check "the last command's value (OFF) is the retained state" wait_until 5 last_state
stop relay TERM
applied=$(sed -n 's/.*applied \([0-9]*\) commands.*/\1/p' "$T/relay.log" | tail -n 1)
dups=$(sed -n 's/.*re-acknowledged \([0-9]*\) duplicates.*/\1/p' "$T/relay.log" | tail -n 1)
check "the device applied each exactly once (its count: ${applied:-?})" test "${applied:-0}" -eq "$N"
check "and answered retransmissions without applying them again (${dups:-?} duplicates)" test "${dups:-0}" -gt 0
echo "  figures: $N commands in ${secs} s over 20% loss each way; $retrans retransmits; $dups duplicates re-acknowledged"

# frames: a 320x240 frame is several fragments; at 20% loss most frames lose one
in_ns mosquitto_sub $(mqtt_args reader) -t intercom/cellar-cam/camera -C 3 -W 60 -F '%x' > "$T/frames.hex" 2>> "$T/sub.log"
check "frames still arrive over the lossy link ($(wc -l < "$T/frames.hex") of 3)" test "$(wc -l < "$T/frames.hex")" -eq 3
bad=0
while read -r hex; do echo "$hex" | xxd -r -p | djpeg > /dev/null 2>&1 || bad=$((bad + 1)); done < "$T/frames.hex"
check "and every one published is whole (decodes with djpeg)" test "$bad" -eq 0
lost=$(metric bridge lost_in_transit)
datagrams=$(metric bridge datagrams)
check "datagrams lost on the way are counted, not silently missing ($lost lost, $datagrams arrived)" \
	test "${lost:-0}" -gt $(( ${datagrams:-0} / 10 ))
incomplete=$(metric bridge frames_incomplete)
check "the frames that lost a fragment were dropped and counted ($incomplete)" test "${incomplete:-0}" -gt 0
