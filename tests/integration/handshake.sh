#!/bin/bash
# The handshake against a hostile network (tests/tools/udplab.py): a device
# 50 ms away (a relay that delays each way by 25 ms) restarts again and again
# while its captured HELLOs are replayed at the base unit 40 times a second,
# and the base unit restarts while junk for the device's id arrives twice a
# second. Every handshake must still go through, at once.
source "$(dirname "$0")/../lib.sh"

LAB="$PY $ROOT/tests/tools/udplab.py"
test_broker
KEY=$("$BIN/base-unit" genkey)
RELAY_PORT=$(free_port udp)
{ base_conf 127.0.0.1:$UDP_PORT; echo "device thermo $KEY"; } > "$T/base.conf"
cat > "$T/thermo.conf" <<CONF
id thermo
key $KEY
base 127.0.0.1:$RELAY_PORT
keepalive 1
interval 1
sensor temperature °C simulated 12.5 0.1 5 25
CONF
: > "$T/hellos"
watch all reader 'intercom/#'
start relay $LAB relay "$RELAY_PORT" "$UDP_PORT" 25 "$T/hellos"
start base "$BIN/base-unit" -c "$T/base.conf"
start thermo "$BIN/read-unit" -c "$T/thermo.conf"
# Sessions the base unit took (the device's own "connected" comes with the
# WELCOME, before the base unit has proof).
adopted() { grep -c 'device thermo .* connected from' "$T/base.log"; }
check "the device connects through the relay" wait_until 10 bash -c "[ \$(grep -c 'device thermo .* connected from' '$T/base.log') -ge 1 ]"

# restart_device N: restarts the device (kill -9, as a reboot) and waits for
# the base unit's session number N; MS says how long it took, or "none".
restart_device() {
	local n=$1 t0
	stop thermo KILL
	t0=$(date +%s%N)
	start thermo "$BIN/read-unit" -c "$T/thermo.conf"
	if wait_until 10 bash -c "[ \$(grep -c 'device thermo .* connected from' '$T/base.log') -ge $n ]"; then
		MS=$(( ($(date +%s%N) - t0) / 1000000 ))
	else
		MS=none
	fi
}

echo "# a device restarted while its captured hellos are replayed, 40 a second"
for i in 2 3 4; do restart_device $i; done	# hellos of earlier boots, captured
check "hellos were captured ($(wc -l < "$T/hellos"))" test "$(wc -l < "$T/hellos")" -ge 4
n=$(adopted)
${NOREPLAY:+: }start replayer $LAB replay "$UDP_PORT" "$T/hellos" 40 "$T/answers"
sleep 1
ok=0; times=""
for i in $(seq 1 10); do
	restart_device $((n + i))
	[ "$MS" != none ] && ok=$((ok + 1))
	times="$times $MS"
done
stop replayer
check "10 of 10 handshakes went through during the replays ($ok; ms:$times)" test "$ok" -eq 10
slowest=$(echo "$times" | tr ' ' '\n' | grep -v none | sort -n | tail -n 1)
check "each within 2 s of the restart (the slowest: ${slowest:-none} ms)" test "${slowest:-99999}" -lt 2000
sleep 1.2	# the next metrics
h=$(metric all hellos); ses=$(metric all sessions)
check "no replay started a handshake: $h hellos taken for $ses sessions (the replayer's answers by type: $(tr '\n' ',' < "$T/answers" 2>/dev/null))" \
	test "$h" -le $((ses + 1))
check "and were counted as hellos with a stale ticket" wait_until 3 bash -c \
	"[ \$(grep bridge/metrics '$T/all.watch' | tail -1 | grep -o '\"stale_ticket\":[0-9]*' | cut -d: -f2) -ge 40 ]"

echo "# the base unit restarts while junk for the device's id arrives twice a second"
wait_until 5 bash -c "grep bridge/metrics '$T/all.watch' | tail -1 | grep -q '\"devices_online\":1'"
stop base
start junk $LAB junk "$UDP_PORT" thermo 2
sleep 1
mark all
t0=$(date +%s%N)
start base "$BIN/base-unit" -c "$T/base.conf"
if wait_until 30 seen_since all '^intercom/thermo/availability online$'; then
	t=$(( ($(date +%s%N) - t0) / 1000000 ))
else
	t=none
fi
stop junk
check "the device is back within 2 s of the restart ($t ms)" test "$t" != none -a "${t/none/99999}" -lt 2000
check "the junk was answered too, but took nothing from the device" wait_until 3 bash -c \
	"grep bridge/metrics '$T/all.watch' | tail -1 | grep -q '\"resets_sent\":[1-9]'"
