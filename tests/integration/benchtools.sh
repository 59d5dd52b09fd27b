#!/bin/bash
# The benchmark's own tools, so that a figure cannot be an artefact of them:
# mqttbench count waits for the first message however long the sender takes
# to set up (10,000 handshakes take longer than its idle time: a full make
# bench once reported "0 of 100000 delivered" that way), and then counts
# until it has them all or they stop coming.
source "$(dirname "$0")/../lib.sh"

test_broker --prefix bench
count() {	# EXPECT IDLE_S -> $T/count.out
	"$BIN/mqttbench" count 127.0.0.1 "$MQTT_PORT" "$BROKER/ca.crt" base "$BROKER/base.password" 'bench/+' "$1" "$2" \
		> "$T/count.out" 2>&1 &
	COUNTER=$!
	PIDS+=($COUNTER)
	wait_until 10 grep -q ready "$T/count.out"
}
publish() {	# TOTAL
	"$BIN/mqttbench" publish 127.0.0.1 "$MQTT_PORT" "$BROKER/ca.crt" base "$BROKER/base.password" bench "$1" 0 1 > /dev/null
}
received() { tail -n 1 "$T/count.out" | $PY -c 'import json,sys; print(json.load(sys.stdin)["received"])'; }

count 200 1
sleep 2.5	# the sender still setting up: longer than the idle time
publish 200
wait "$COUNTER"
check "a count with a 1 s idle time waits 2.5 s for the first message, then counts all 200 ($(received))" \
	test "$(received)" = 200
count 300 1
publish 200
wait "$COUNTER"
check "once they began, it stops when they stop coming: 200 of an expected 300 ($(received))" test "$(received)" = 200
