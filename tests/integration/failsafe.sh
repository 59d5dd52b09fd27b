#!/bin/bash
# Fail-safe controls: an RC car's throttle returns to 0 by itself when its
# commands stop coming, whatever stopped them, and a command the device may
# already have given up on is not carried out later.
source "$(dirname "$0")/../lib.sh"

test_broker
KEY=$("$BIN/base-unit" genkey)
{ base_conf 127.0.0.1:$UDP_PORT; echo "device car $KEY"; } > "$T/base.conf"
cat > "$T/car.conf" <<CONF
id car
key $KEY
base 127.0.0.1:$UDP_PORT
keepalive 1
control throttle range -100 100 1 simulated default 0 failsafe 0 after 300 ms
control steering range -100 100 1 simulated failsafe 0 after 300 ms default 0
control pump switch simulated failsafe OFF after 1 h
CONF
check "a control with a failsafe is accepted (before or after its default)" "$BIN/updatable-unit" --check -c "$T/car.conf"
bad() {	# LINE EXPECTED
	printf 'id x\nkey %s\nbase 127.0.0.1:1\n%s\n' "$KEY" "$1" > "$T/bad.conf"
	"$BIN/updatable-unit" --check -c "$T/bad.conf" > "$T/bad.out" 2>&1 && return 1
	grep -q -- "$2" "$T/bad.out"
}
check "a failsafe outside the control's values is refused, naming the line" \
	bad "control t range -100 100 1 simulated failsafe 500 after 300 ms" "bad.conf:4: 'control t' has a failsafe that is not one of its values: '500'"
check "a failsafe of 0 ms is refused" \
	bad "control t range -100 100 1 simulated failsafe 0 after 0 ms" "expects VALUE after N ms|s|min|h"
check "a failsafe without a unit is refused" \
	bad "control t switch simulated failsafe OFF after 300" "expects VALUE after N ms|s|min|h"

# every state of the car, with the broker's arrival time
# shellcheck disable=SC2046
mosquitto_sub $(mqtt_args reader) -t intercom/car -F '%U %p' >> "$T/car.times" 2>> "$T/car-sub.log" &
PIDS+=($!)
watch all dashboard 'intercom/#'
start base "$BIN/base-unit" -c "$T/base.conf"
start car "$BIN/updatable-unit" -v -c "$T/car.conf"
check "the car comes online" wait_until 10 seen all '^intercom/car/availability online$'
check "the device list shows each failsafe" wait_until 5 seen all \
	'"name":"throttle","type":"range","min":-100,"max":100,"step":1,"failsafe":\{"value":0,"after_ms":300\}.*"name":"pump","type":"switch","failsafe":\{"value":"OFF","after_ms":3600000\}'

pub() { mosquitto_pub $(mqtt_args dashboard) -t intercom/car/set -m "$1"; }
# ms from the first state with throttle $1 after line $2 of car.times to the first after it with throttle $3
gap() {
	$PY - "$T/car.times" "$1" "$2" "$3" <<'PY'
import json, sys
lines = open(sys.argv[1]).read().splitlines()[int(sys.argv[3]):]
want, then = float(sys.argv[2]), float(sys.argv[4])
t0 = None
for l in lines:
    t, _, p = l.partition(" ")
    v = json.loads(p).get("throttle")
    if t0 is None and v == want:
        t0 = float(t)
    elif t0 is not None and v == then:
        print(int((float(t) - t0) * 1000)); sys.exit(0)
print(-1)
PY
}
zeros_between() {	# FROM_LINE TO_LINE: states with throttle 0 among them
	sed -n "$(($1 + 1)),$2p" "$T/car.times" | grep -c '"throttle":0[,}]'
}

echo "# a throttle no command refreshes returns to 0 by itself"
n=$(wc -l < "$T/car.times")
pub '{"throttle":100,"id":"t1"}'
check "the set is carried out" wait_until 5 seen all '^intercom/car/result \{"id":"t1","status":"ok"\}$'
check "and its state reported" wait_until 3 bash -c "sed -n '$((n + 1)),\$p' '$T/car.times' | grep -q '\"throttle\":100'"
wait_until 3 bash -c "sed -n '$((n + 1)),\$p' '$T/car.times' | grep -q '\"throttle\":0[,}]'"
ms=$(gap 100 "$n" 0)
check "then 0 again, reported within 500 ms of the 100 (after $ms ms)" [ "$ms" -ge 250 ] && [ "$ms" -le 500 ]
check "the car says why" grep -q 'control throttle: failsafe 0 (no command in time)' "$T/car.log"

echo "# held: refreshed every 100 ms, it stays; then the refreshes stop"
n=$(wc -l < "$T/car.times")
# shellcheck disable=SC2046
(for _ in $(seq 25); do echo '{"throttle":100,"steering":-30}'; sleep 0.1; done) |
	mosquitto_pub $(mqtt_args dashboard) -t intercom/car/set -l
m=$(wc -l < "$T/car.times")
check "while refreshed, the throttle never dropped to 0 ($(zeros_between "$n" "$m") times)" \
	[ "$(zeros_between "$n" "$m")" -eq 0 ]
check "it was at 100 meanwhile" bash -c "sed -n '$((n + 1)),${m}p' '$T/car.times' | grep -q '\"throttle\":100,\"steering\":-30'"
wait_until 3 bash -c "sed -n '$((m + 1)),\$p' '$T/car.times' | grep -q '\"throttle\":0,\"steering\":0'"
check "when they stop, throttle and steering return to 0" bash -c \
	"sed -n '$((m + 1)),\$p' '$T/car.times' | grep -q '\"throttle\":0,\"steering\":0'"

echo "# a command for a frozen car is given up when its failsafe would have acted"
stop_t=$(date +%s%N)
kill -STOP "$PID_car"
pub '{"throttle":50,"id":"t2"}'
check "timeout, after the failsafe's 300 ms rather than command_timeout_ms" wait_until 3 seen all \
	'^intercom/car/result \{"id":"t2","status":"timeout","error":"no acknowledgement within 300 ms"\}$'
check "answered well inside the 2 s deadline ($(( ($(date +%s%N) - stop_t) / 1000000 )) ms)" \
	[ $(( ($(date +%s%N) - stop_t) / 1000000 )) -lt 1500 ]
kill -CONT "$PID_car"
sleep 1
check "the car, woken, ends at the safe value: the base unit sent it behind the command it gave up" \
	wait_until 3 bash -c "grep 'throttle = ' '$T/car.log' | tail -n 1 | grep -q 'throttle = 0\$'"
check "and reported it" wait_until 3 bash -c "tail -n 1 '$T/car.times' | grep -q '\"throttle\":0,'"

echo "# the base unit killed: the car stops by itself"
pub '{"throttle":100,"pump":"ON","id":"t3"}'
wait_until 5 seen all '^intercom/car/result \{"id":"t3","status":"ok"\}$'
grep -c 'control throttle: failsafe' "$T/car.log" > "$T/before"
stop base KILL
killed=$(date +%s%N)
check "the throttle returns to 0 (the car's log)" wait_until 2 bash -c \
	"[ \$(grep -c 'control throttle: failsafe' '$T/car.log') -gt $(cat "$T/before") ]"
at=$(grep 'control throttle: failsafe' "$T/car.log" | tail -n 1 | cut -d' ' -f1)
ms=$(( $(date -d "$at" +%s%N) / 1000000 - killed / 1000000 ))
check "within 500 ms of the kill ($ms ms)" [ "$ms" -le 500 ]
check "a control with a long failsafe goes safe when the car loses its base unit" wait_until 6 \
	grep -q 'control pump: failsafe OFF (no base unit)' "$T/car.log"
