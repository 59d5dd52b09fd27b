# Shared by the integration tests: results, processes that are always
# stopped, free loopback ports, a real broker made with broker-conf, and
# MQTT watchers that record everything they see.
set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD:-build}
BIN=$ROOT/$BUILD
PY=/usr/bin/python3
SUITE=$(basename "$0" .sh)
T=$(mktemp -d "/tmp/intercom-$SUITE.XXXXXX")
PIDS=()
# Everything this suite starts inherits the mark, so finish() finds what is
# left, however it was started (tests/tools/marked.py).
export INTERCOM_SUITE=$T
PASSED=0
FAILED=0
SKIPPED=0

pass() { PASSED=$((PASSED + 1)); echo "  ok   $*"; }
fail() { FAILED=$((FAILED + 1)); echo "  FAIL $*"; }
skip() { SKIPPED=$((SKIPPED + 1)); echo "  SKIP $*"; }
check() { local what=$1; shift; if "$@"; then pass "$what"; else fail "$what"; fi; }

# Stops what the suite started: SIGTERM, time to exit cleanly, then SIGKILL
# for what is still there; a process left behind is a failure.
finish() {
	local p left
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for _ in $(seq 100); do
		left=0
		for p in "${PIDS[@]}"; do kill -0 "$p" 2>/dev/null && left=1; done
		[ $left = 0 ] && break
		sleep 0.1
	done
	for p in "${PIDS[@]}"; do
		kill -0 "$p" 2>/dev/null && { echo "  note: $p did not stop within 10 s of SIGTERM: killed"; kill -9 "$p" 2>/dev/null; }
	done
	wait 2>/dev/null
	left=$($PY "$ROOT/tests/tools/marked.py" INTERCOM_SUITE "$T" $$)
	if [ -n "$left" ]; then
		fail "processes left behind by the suite (now stopped): $(echo "$left" | tr '\n' ';')"
		echo "$left" | while read -r p _; do kill "$p" 2>/dev/null; done
		sleep 1
		echo "$left" | while read -r p _; do kill -9 "$p" 2>/dev/null; done
	fi
	declare -F finish_extra > /dev/null && finish_extra
	if [ "$FAILED" -gt 0 ]; then
		echo "  logs of $SUITE:"
		for f in "$T"/*.log; do [ -f "$f" ] && { echo "  --- $(basename "$f")"; tail -n 25 "$f" | sed 's/^/    /'; }; done
	fi
	# A sanitizer report in any log is a failure even if every check passed.
	if grep -l -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$T"/*.log 2>/dev/null; then
		FAILED=$((FAILED + 1))
		echo "  FAIL sanitizer reports above"
	fi
	echo "$SUITE: $PASSED passed, $FAILED failed, $SKIPPED skipped"
	[ -n "${RESULTS:-}" ] && echo "$PASSED $FAILED $SKIPPED" >> "$RESULTS"
	[ -n "${KEEP:-}" ] || rm -rf "$T"
	[ "$FAILED" -eq 0 ]
}
trap 'finish; exit $?' EXIT
trap 'exit 1' INT TERM

free_port() {	# tcp|udp
	$PY -c 'import socket,sys
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM if sys.argv[1] == "tcp" else socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' "$1"
}

# start NAME COMMAND...: runs in the background, logs to $T/NAME.log, PID in PID_NAME.
start() {
	local name=$1; shift
	"$@" >> "$T/$name.log" 2>&1 &
	PIDS+=($!)
	eval "PID_$name=$!"
}

stop() {	# NAME [SIGNAL]
	local pid
	eval "pid=\${PID_$1:-}"
	[ -n "$pid" ] || return 0
	kill "-${2:-TERM}" "$pid" 2>/dev/null
	for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	wait "$pid" 2>/dev/null
	return 0
}

# wait_until SECONDS COMMAND...: retries every 0.1 s.
wait_until() {
	local deadline=$(( $(date +%s%N) / 1000000 + $1 * 1000 )); shift
	while ! "$@" 2>/dev/null; do
		[ $(( $(date +%s%N) / 1000000 )) -ge $deadline ] && return 1
		sleep 0.1
	done
}

# MQTT_NS: when set, the broker and every MQTT client of these helpers live
# in that network namespace.
# (in_ns is for the foreground; background processes use $(ns_prefix) so
# that their PID is the program's own and stopping it stops the program.)
in_ns() { if [ -n "${MQTT_NS:-}" ]; then ip netns exec "$MQTT_NS" "$@"; else "$@"; fi; }
ns_prefix() { [ -n "${MQTT_NS:-}" ] && echo "ip netns exec $MQTT_NS"; }
tcp_listening() { in_ns ss -Hltn "sport = :$1" | grep -q .; }

# broker_setup DIR [setup-broker options]: certificates, users, ACL, config.
broker_setup() {
	local dir=$1; shift
	"$ROOT/broker-conf/setup-broker" "$dir" --plugin "$BIN/intercom-clientid.so" "$@" > /dev/null
}

# broker_start NAME DIR PORT
broker_start() {
	# shellcheck disable=SC2046
	start "$1" $(ns_prefix) mosquitto -c "$2/mosquitto.conf"
	wait_until 10 tcp_listening "$3"
}

# MQTT as a given user of broker dir $BROKER on port $MQTT_PORT.
mqtt_args() {	# USER
	echo "-h localhost -p $MQTT_PORT --cafile $BROKER/ca.crt -u $1 -P $(cat "$BROKER/$1.password")"
}

# watch NAME USER TOPIC: records "topic payload" lines in $T/NAME.watch.
watch() {
	: > "$T/$1.watch"
	# shellcheck disable=SC2046
	$(ns_prefix) mosquitto_sub $(mqtt_args "$2") -t "$3" -v >> "$T/$1.watch" 2>> "$T/$1.log" &
	PIDS+=($!)
	eval "PID_$1=$!"
}

# seen NAME REGEX: a recorded line matches (grep -E).
seen() { grep -q -E "$2" "$T/$1.watch"; }
# seen_count NAME REGEX
seen_count() { grep -c -E "$2" "$T/$1.watch"; }

# metric NAME KEY: the newest value of KEY (dotted path) in P/bridge/metrics.
metric() {
	grep -E "^[^ ]+/bridge/metrics " "$T/$1.watch" | tail -n 1 | cut -d' ' -f2- |
		$PY -c 'import json,sys
v = json.load(sys.stdin)
for k in sys.argv[1].split("."): v = v[k]
print(int(v))' "$2"
}

# mark NAME: remember how much NAME has recorded; seen_since then looks only
# at what came after.
mark() { eval "MARK_$1=$(wc -l < "$T/$1.watch")"; }
seen_since() {
	local m
	eval "m=\${MARK_$1:-0}"
	tail -n "+$((m + 1))" "$T/$1.watch" | grep -q -E "$2"
}
count_since() {
	local m
	eval "m=\${MARK_$1:-0}"
	tail -n "+$((m + 1))" "$T/$1.watch" | grep -c -E "$2"
}

# base_conf LISTEN: the lines of a base-unit config for the broker in $BROKER
# on $MQTT_PORT, listening on LISTEN; append device lines after it.
base_conf() {
	cat <<CONF
listen $1
mqtt_host localhost
mqtt_port $MQTT_PORT
mqtt_cafile $BROKER/ca.crt
mqtt_username base
mqtt_password_file $BROKER/base.password
metrics_interval 1
CONF
}
not_seen_since() { ! seen_since "$@"; }

# dash_conf LISTEN: the lines of a dashboard config for the broker in $BROKER
# on $MQTT_PORT as user dashboard, listening on LISTEN; append more after it.
dash_conf() {
	cat <<CONF
listen $1
mqtt_host localhost
mqtt_port $MQTT_PORT
mqtt_cafile $BROKER/ca.crt
mqtt_username dashboard
mqtt_password_file $BROKER/dashboard.password
CONF
}

# test_jpeg OUT W H I QUALITY: a JPEG (libjpeg-turbo's cjpeg) of a gradient that differs with I
test_jpeg() {
	$PY -c 'import sys
w, h, i = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
out = bytearray(b"P6\n%d %d\n255\n" % (w, h))
for y in range(h):
    for x in range(w):
        out += bytes(((x * i * 3) % 256, y % 256, (i * 70) % 256))
sys.stdout.buffer.write(out)' "$2" "$3" "$4" | cjpeg -quality "$5" > "$1"
}

# test_broker [setup-broker options]: a broker of the project's broker-conf,
# started for this test: on a free loopback port, or on 8883 inside $MQTT_NS
# (free by construction: the namespace is the test's own). Sets BROKER,
# MQTT_PORT and, outside a namespace, a free UDP_PORT for the base unit.
test_broker() {
	BROKER=$T/broker
	if [ -n "${MQTT_NS:-}" ]; then
		MQTT_PORT=8883
	else
		MQTT_PORT=$(free_port tcp)
		UDP_PORT=$(free_port udp)
	fi
	broker_setup "$BROKER" --port "$MQTT_PORT" "$@"
	broker_start mosquitto "$BROKER" "$MQTT_PORT" || { fail "the broker starts"; exit 1; }
}
