#!/bin/bash
# The base unit's state file: what devices announced survives a restart
# (even a SIGKILL); a damaged or missing file is a warning and a clean start.
source "$(dirname "$0")/../lib.sh"

test_broker
KEY=$("$BIN/base-unit" genkey)
{ base_conf "127.0.0.1:$UDP_PORT"; cat <<CONF
state_file $T/base.state
device thermo $KEY
device never-seen $("$BIN/base-unit" genkey)
CONF
} > "$T/base.conf"
printf 'id thermo\nkey %s\nbase 127.0.0.1:%s\ninterval 0.5\nkeepalive 1\nsensor temperature °C simulated 12 0.1\n' \
	"$KEY" "$UDP_PORT" > "$T/thermo.conf"
watch all reader 'intercom/bridge/devices'
start base "$BIN/base-unit" -c "$T/base.conf"
start thermo "$BIN/read-unit" -c "$T/thermo.conf"
check "the device registers" wait_until 10 seen all '"id":"thermo","kind":"read"'
check "the state file is written" wait_until 5 grep -q '^device thermo ' "$T/base.state"
check "readable only by its owner" test "$(stat -c %a "$T/base.state")" = 600
check "no temporary file is left behind" test ! -e "$T/base.state.tmp"

stop thermo KILL
stop base KILL
mark all
start base "$BIN/base-unit" -c "$T/base.conf"
check "after a SIGKILL and a restart, the device list knows the device before it speaks" \
	wait_until 10 seen_since all '"id":"thermo","kind":"read","sensors":\[\{"name":"temperature","unit":"°C"\}\],"controls":\[\],"online":false'
check "the restart said so" grep -q "restored what 1 devices announced" "$T/base.log"
check "a restored device that does not come back is published offline after its grace (3 keepalives)" \
	wait_until 6 grep -q "device thermo offline (not heard from since the restart)" "$T/base.log"

echo "# a base-unit restart does not flap the devices offline"
watch avail reader 'intercom/thermo/availability'
start thermo "$BIN/read-unit" -c "$T/thermo.conf"
check "the device is online again" wait_until 10 seen avail '^intercom/thermo/availability online$'
check "the state file has it" wait_until 5 grep -q '^device thermo ' "$T/base.state"
stop base KILL
mark avail
n0=$(grep -c "device thermo (read" "$T/base.log")
start base "$BIN/base-unit" -c "$T/base.conf"
check "after a SIGKILL and a restart, the device re-registers" wait_until 10 \
	bash -c "[ \$(grep -c 'device thermo (read' '$T/base.log') -gt $n0 ]"
sleep 1
check "and its availability never went offline meanwhile" not_seen_since avail 'offline'

stop base TERM
printf 'device thermo zz-not-hex\n' >> "$T/base.state"
mark all
start base "$BIN/base-unit" -c "$T/base.conf"
check "a damaged state file gives a warning" wait_until 5 grep -q "state file $T/base.state is damaged (line 3)" "$T/base.log"
check "and a clean start" wait_until 10 seen_since all '"id":"thermo","kind":null'
check "the base unit runs" kill -0 "$PID_base"

stop base TERM
head -c 7 /dev/urandom > "$T/base.state"
start base "$BIN/base-unit" -c "$T/base.conf"
check "random bytes: the same" wait_until 5 bash -c "[ \$(grep -c 'is damaged' $T/base.log) -ge 2 ] && kill -0 $PID_base"
stop base TERM
rm -f "$T/base.state"
start base "$BIN/base-unit" -c "$T/base.conf"
check "a missing file is a clean start" wait_until 5 grep -q "no state file $T/base.state yet" "$T/base.log"
check "and the base unit runs" kill -0 "$PID_base"
