#!/bin/bash
# Commands through real parts: any MQTT client's set reaches an updatable
# unit, is validated, applied once, acknowledged, answered exactly once.
source "$(dirname "$0")/../lib.sh"

test_broker
KEY=$("$BIN/base-unit" genkey)

{ base_conf 127.0.0.1:$UDP_PORT; cat <<CONF
device lights $KEY
device ghost $("$BIN/base-unit" genkey)
CONF
} > "$T/base.conf"
# A hook that switches on but refuses to switch off.
cat > "$T/outlet-hook" <<'HOOK'
#!/bin/sh
[ "$2" = ON ] && exit 0
echo "stuck relay"
exit 1
HOOK
chmod +x "$T/outlet-hook"
cat > "$T/lights.conf" <<CONF
id lights
key $KEY
base 127.0.0.1:$UDP_PORT
keepalive 1
control light switch simulated
control brightness range 0 255 1 simulated default 10
control mode enum off,eco,full simulated default eco
control outlet switch hook $T/outlet-hook
CONF
check "updatable-unit --check accepts its config" "$BIN/updatable-unit" --check -c "$T/lights.conf"
printf 'id x\nkey %s\nbase 127.0.0.1:1\ncontrol dim range 5 1 1 simulated\n' "$KEY" > "$T/bad.conf"
"$BIN/updatable-unit" --check -c "$T/bad.conf" > "$T/bad.out" 2>&1
check "a range with MIN above MAX is refused, naming file and line" grep -q "bad.conf:4: 'control dim range' expects MIN MAX STEP" "$T/bad.out"

watch all dashboard 'intercom/#'
start base "$BIN/base-unit" -c "$T/base.conf"
start lights "$BIN/updatable-unit" -v -c "$T/lights.conf"
check "the device comes online" wait_until 10 seen all '^intercom/lights/availability online$'
check "the device list shows its controls with their types" wait_until 5 seen all \
	'"controls":\[\{"name":"light","type":"switch"\},\{"name":"brightness","type":"range","min":0,"max":255,"step":1\},\{"name":"mode","type":"enum","values":\["off","eco","full"\]\}'
check "its state on connecting carries the defaults" wait_until 5 seen all \
	'^intercom/lights \{"light":"OFF","brightness":10,"mode":"eco","outlet":"OFF",'

pub() { mosquitto_pub $(mqtt_args dashboard) -t "intercom/$1/set" -m "$2"; }
result() { wait_until "${2:-5}" seen all "^intercom/lights/result $1\$"; }

echo "# a set is applied and answered"
pub lights '{"light":"ON","id":"c1"}'
check "set -> result ok with its id" result '\{"id":"c1","status":"ok"\}'
check "the retained state changes" wait_until 3 bash -c \
	"mosquitto_sub $(mqtt_args reader) -t intercom/lights -C 1 -W 2 | grep -q '\"light\":\"ON\"'"
pub lights '{"brightness":128,"mode":"full","id":"c2"}'
check "several keys at once" result '\{"id":"c2","status":"ok"\}'
check "both land in the state" wait_until 3 seen all '^intercom/lights \{"light":"ON","brightness":128,"mode":"full"'
pub lights '{"light":true,"id":"c3"}'
check "a JSON boolean works for a switch" result '\{"id":"c3","status":"ok"\}'

echo "# a retained set counts once: not again when the base unit reconnects"
mosquitto_pub $(mqtt_args dashboard) -r -t intercom/lights/set -m '{"brightness":77,"id":"r1"}'
check "a set sent with the retain flag is carried out when sent" result '\{"id":"r1","status":"ok"\}'
pub lights '{"brightness":128,"id":"r2"}'
result '\{"id":"r2","status":"ok"\}'
stop base
mark all
start base "$BIN/base-unit" -c "$T/base.conf"
wait_until 10 seen_since all '^intercom/bridge/state online$'
wait_until 10 bash -c "grep -q 'device lights .* connected' '$T/base.log'"
sleep 1
check "after the base unit reconnects, the retained set is not carried out again" bash -c \
	"! seen_since all '^intercom/lights/result \{\"id\":\"r1\"' && ! seen_since all '^intercom/lights \{[^}]*\"brightness\":77'"
check "the base unit says why it ignored it" grep -q 'ignored a retained message on intercom/lights/set' "$T/base.log"
check "and cleared it at the broker" bash -c \
	"[ -z \"\$(mosquitto_sub $(mqtt_args reader) -t intercom/lights/set --retained-only -W 2 2>/dev/null)\" ]"

echo "# invalid sets are answered and never reach the device"
mark all
pub lights '{"light":"ON",'
check "bad JSON -> invalid" result '\{"id":null,"status":"invalid","error":"expected a JSON object.*"\}'
pub lights '{"fan":"ON","id":"i2"}'
check "unknown key -> invalid, naming it" result '\{"id":"i2","status":"invalid","error":"unknown key .fan.: the device has no such control"\}'
pub lights '{"brightness":300,"id":"i3"}'
check "out of range -> invalid, saying the range" result \
	'\{"id":"i3","status":"invalid","error":".brightness. expects a number from 0 to 255 in steps of 1, got 300"\}'
pub lights '{"mode":"turbo","id":"i4"}'
check "unknown enum value -> invalid, listing the values" result \
	'\{"id":"i4","status":"invalid","error":".mode. expects one of off, eco, full"\}'
pub lights '{"id":"i5"}'
check "nothing to set -> invalid" result '\{"id":"i5","status":"invalid","error":"nothing to set.*"\}'
pub lights '{"id":5,"light":"ON"}'
check "an id that is not a string -> invalid" result '\{"id":null,"status":"invalid","error":".id. must be a string.*"\}'
applied_before=$(grep -c 'command [0-9a-f]*: ' "$T/lights.log")
sleep 0.5
check "none of them reached the device" test "$(grep -c 'command [0-9a-f]*: ' "$T/lights.log")" -eq "$applied_before"

echo "# the device refuses"
pub lights '{"outlet":"ON","id":"h1"}'
check "the hook accepts ON" result '\{"id":"h1","status":"ok"\}'
pub lights '{"outlet":"OFF","id":"h2"}'
check "the hook refuses OFF -> rejected with its reason" result \
	'\{"id":"h2","status":"rejected","error":"the device refused: outlet: stuck relay"\}'

echo "# get"
mark all
mosquitto_pub $(mqtt_args dashboard) -t intercom/lights/get -n
check "a get makes the device report its state" wait_until 3 seen_since all '^intercom/lights \{"light":"ON","brightness":128'

echo "# a full queue answers rejected; continuous ranges merge"
kill -STOP "$PID_lights"
pub lights '{"light":"OFF","id":"q0"}'
for i in $(seq 1 16); do pub lights "{\"light\":\"$([ $((i % 2)) = 1 ] && echo ON || echo OFF)\",\"id\":\"q$i\"}"; done
pub lights '{"light":"ON","id":"q17"}'
check "the 17th waiting set is rejected, saying why" result \
	'\{"id":"q17","status":"rejected","error":"too many commands waiting \(16\).*"\}'
kill -CONT "$PID_lights"
check "the others all end ok" wait_until 10 bash -c "[ \$(grep -cE '^intercom/lights/result \{\"id\":\"q([0-9]|1[0-6])\",\"status\":\"ok\"' $T/all.watch) -eq 17 ]"
applied_before=$(grep -c 'command [0-9a-f]*: brightness' "$T/lights.log")
kill -STOP "$PID_lights"
# one publisher for all six, so they reach the base unit well inside r0's
# 2 s deadline however busy the machine is (six mosquitto_pub runs took
# longer than that once, and r0's timeout let brightness 10 go out alone)
{ echo '{"light":"ON","id":"r0"}'; for v in 10 20 30 40 50; do echo "{\"brightness\":$v,\"id\":\"r$v\"}"; done; } |
	mosquitto_pub $(mqtt_args dashboard) -t intercom/lights/set -l
kill -CONT "$PID_lights"
check "the set in flight while the device was stopped ends ok" result '\{"id":"r0","status":"ok"\}'
check "every merged set gets its own result" wait_until 10 bash -c \
	"[ \$(grep -cE '^intercom/lights/result \{\"id\":\"r(10|20|30|40|50)\",\"status\":\"ok\"' $T/all.watch) -eq 5 ]"
check "the newest value wins" wait_until 3 seen all '^intercom/lights \{"light":"ON","brightness":50,'
check "the device applied the brightness once, not five times" \
	test "$(( $(grep -c 'command [0-9a-f]*: brightness' "$T/lights.log") - applied_before ))" -eq 1

echo "# the daemon survives bad input"
pub ghost '{"light":"ON","id":"g1"}'
check "a configured device that never connected -> offline" wait_until 5 seen all \
	'^intercom/ghost/result \{"id":"g1","status":"offline",'
pub nobody '{"light":"ON","id":"n1"}'
check "an unknown device -> invalid" wait_until 5 seen all '^intercom/nobody/result \{"id":"n1","status":"invalid","error":"unknown device"\}'
head -c 1048576 /dev/zero | tr '\0' 'x' > "$T/big"
mosquitto_pub $(mqtt_args dashboard) -t intercom/lights/set -f "$T/big"
check "a 1 MB payload -> invalid" result '\{"id":null,"status":"invalid","error":"payload larger than 4096 bytes"\}'
printf '{"light":"\377\376","id":"u1"}' > "$T/nonutf8"
mosquitto_pub $(mqtt_args dashboard) -t intercom/lights/set -f "$T/nonutf8"
check "non-UTF-8 bytes -> invalid" result '\{"id":"u1","status":"invalid","error":".light. expects ON or OFF"\}'
printf '{"\377":1}' > "$T/nonutf8key"
mosquitto_pub $(mqtt_args dashboard) -t intercom/lights/set -f "$T/nonutf8key"
check "a non-UTF-8 key is not echoed back" result '\{"id":null,"status":"invalid","error":"unknown key: the device has no such control"\}'
check "the base unit is still running" kill -0 "$PID_base"

echo "# a frozen device times out; a dead one goes offline"
kill -STOP "$PID_lights"
t0=$(date +%s%N)
pub lights '{"light":"OFF","id":"t1"}'
check "a set to a frozen device -> timeout" result '\{"id":"t1","status":"timeout","error":"no acknowledgement within 2000 ms"\}' 5
check "within the 2 s deadline (and not long after)" test $(( ($(date +%s%N) - t0) / 1000000 )) -lt 3500
kill -CONT "$PID_lights"
mark all
stop lights KILL
check "a killed device goes offline (3 missed keepalives of 1 s)" wait_until 6 seen_since all '^intercom/lights/availability offline$'
pub lights '{"light":"OFF","id":"o1"}'
check "then a set -> offline at once" result '\{"id":"o1","status":"offline","error":"the device is offline"\}' 2

echo "# exactly one result per set"
total_sets=$(grep -c '^intercom/\(lights\|ghost\|nobody\)/set .' "$T/all.watch")	# (an empty one clears a retained set)
total_results=$(grep -c '^intercom/\(lights\|ghost\|nobody\)/result ' "$T/all.watch")
check "as many results as sets ($total_sets)" test "$total_sets" -eq "$total_results"
