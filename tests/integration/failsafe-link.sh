#!/bin/bash
# The link between the car and the base unit cut (iptables DROP in the car's
# own network namespace) while it is being driven: the car stops by itself,
# within 500 ms, and says so when the link is back.
source "$(dirname "$0")/../lib.sh"
source "$ROOT/tests/net/netns.sh"

if ! why=$(netns_usable); then
	skip "the cut link's failsafe: $why"
	exit 0
fi
HOME_NS="ic-fhome-$$"
CAR_NS="ic-fcar-$$"
netns_new "$HOME_NS" && netns_new "$CAR_NS" &&
	netns_link "$HOME_NS" 10.232.1.1/24 "$CAR_NS" 10.232.1.2/24 || { fail "the test bed is built"; exit 1; }
MQTT_NS=$HOME_NS
test_broker
KEY=$("$BIN/base-unit" genkey)
{ base_conf 10.232.1.1:47800; echo "device car $KEY"; } > "$T/base.conf"
cat > "$T/car.conf" <<CONF
id car
key $KEY
base 10.232.1.1:47800
keepalive 1
control throttle range -100 100 1 simulated default 0 failsafe 0 after 300 ms
CONF
watch all dashboard 'intercom/car/#'
start base ip netns exec "$HOME_NS" "$BIN/base-unit" -c "$T/base.conf"
start car ip netns exec "$CAR_NS" "$BIN/updatable-unit" -c "$T/car.conf"
check "the car comes online" wait_until 10 seen all '^intercom/car/availability online$'

# driven: a set every 100 ms
( for _ in $(seq 60); do echo '{"throttle":100}'; sleep 0.1; done ) |
	in_ns mosquitto_pub $(mqtt_args dashboard) -t intercom/car/set -l &
DRIVER=$!
PIDS+=($DRIVER)
check "the car drives" wait_until 5 seen all '^intercom/car \{"throttle":100,'
sleep 1
before=$(grep -c 'control throttle: failsafe' "$T/car.log")
ip netns exec "$CAR_NS" iptables -A INPUT -j DROP
ip netns exec "$CAR_NS" iptables -A OUTPUT -j DROP
cut=$(date +%s%N)
check "the link is cut" bash -c "ip netns exec $CAR_NS iptables -S OUTPUT | grep -q DROP"
check "the car stops by itself (its log)" wait_until 3 bash -c \
	"[ \$(grep -c 'control throttle: failsafe' '$T/car.log') -gt $before ]"
at=$(grep 'control throttle: failsafe' "$T/car.log" | tail -n 1 | cut -d' ' -f1)
ms=$(( $(date -d "$at" +%s%N) / 1000000 - cut / 1000000 ))
check "within 500 ms of the cut ($ms ms)" [ "$ms" -ge 0 ] && [ "$ms" -le 500 ]
wait "$DRIVER" 2>/dev/null
mark all
ip netns exec "$CAR_NS" iptables -F INPUT
ip netns exec "$CAR_NS" iptables -F OUTPUT
check "when the link is back, the broker hears the throttle at 0" wait_until 10 seen_since all '^intercom/car \{"throttle":0,'
