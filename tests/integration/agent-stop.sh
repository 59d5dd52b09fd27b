#!/bin/bash
# A clean stop is clean: systemd's SIGTERM goes to every process of a
# unit's cgroup, a sensor's command included. A read unit stopped while its
# command runs logs no warning (found by tests/vm: "sensor load: command
# failed or timed out" at a clean stop).
source "$(dirname "$0")/../lib.sh"

test_broker
KEY=$("$BIN/base-unit" genkey)
{ base_conf "127.0.0.1:$UDP_PORT"; echo "device slow $KEY"; } > "$T/base.conf"
start base "$BIN/base-unit" -c "$T/base.conf"
printf 'id slow\nkey %s\nbase 127.0.0.1:%s\ninterval 0.2\nsensor load - command "sleep 1; echo 1"\n' "$KEY" "$UDP_PORT" > "$T/slow.conf"
# its own process group, as a unit's cgroup: the signal reaches the command too
start slow setsid "$BIN/read-unit" -c "$T/slow.conf"
check "the agent takes readings from a slow command" wait_until 15 grep -q "device slow .*connected" "$T/base.log"
sleep 2.5	# a command is running most of the time now
pgid=$(ps -o pgid= -p "$PID_slow" | tr -d ' ')
check "the agent and its command get SIGTERM together" kill -TERM -- "-$pgid"
check "it stops" wait_until 5 bash -c "! kill -0 $PID_slow 2> /dev/null"
check "and logs no warning or error doing so" bash -c "! grep -E 'warning|error' '$T/slow.log'"
