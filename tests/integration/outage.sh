#!/bin/bash
# The broker goes away: readings taken meanwhile wait in the base unit's
# bounded outage buffer and arrive in order when it is back; beyond the bound
# the oldest are dropped and counted. Each reading carries a sequence number
# (a command sensor that counts), so a gap or a reordering shows.
source "$(dirname "$0")/../lib.sh"

test_broker
KEY=$("$BIN/base-unit" genkey)
{ base_conf "127.0.0.1:$UDP_PORT"; cat <<CONF
outage_buffer 8
mqtt_reconnect_max 2
device counter $KEY
CONF
} > "$T/base.conf"
cat > "$T/count.sh" <<SH
#!/bin/sh
n=\$(cat $T/count 2>/dev/null || echo 0)
echo \$((n + 1)) > $T/count
echo \$n
SH
chmod +x "$T/count.sh"
printf 'id counter\nkey %s\nbase 127.0.0.1:%s\ninterval 0.2\nkeepalive 1\nsensor seq - command "%s"\n' \
	"$KEY" "$UDP_PORT" "$T/count.sh" > "$T/counter.conf"

# A subscriber with a persistent session: what the base unit publishes while
# this subscriber is reconnecting waits for it at the broker.
# (A newer mosquitto_sub reconnects by itself: the old one is stopped first,
# or the two would take the session from each other.)
observe() {
	[ -n "${OBS_PID:-}" ] && { kill "$OBS_PID" 2>/dev/null; wait "$OBS_PID" 2>/dev/null; }
	mosquitto_sub $(mqtt_args reader) -c -i "observer-$$" -q 1 -t intercom/counter -v >> "$T/obs.watch" 2>> "$T/obs.log" &
	OBS_PID=$!
	PIDS+=($!)
}
: > "$T/obs.watch"
observe
start base "$BIN/base-unit" -c "$T/base.conf"
start counter "$BIN/read-unit" -c "$T/counter.conf"
check "readings flow" wait_until 10 bash -c "[ \$(grep -c seq $T/obs.watch) -ge 5 ]"

# States from before the base unit first reached the broker may have gone
# through the buffer already: count from here.
d0=$(mosquitto_sub $(mqtt_args reader) -t intercom/bridge/metrics -C 1 -W 3 | sed -n 's/.*"outage_delivered":\([0-9]*\).*/\1/p')
stop mosquitto TERM	# saves the observer's session
sleep 3			# about 15 readings, for a buffer of 8
broker_start mosquitto "$BROKER" "$MQTT_PORT" || { fail "broker restarts"; exit 1; }
observe
metrics() { mosquitto_sub $(mqtt_args reader) -t intercom/bridge/metrics -C 1 -W 3 2>/dev/null; }
delivered_8() { metrics | tee "$T/metrics.last" | grep -q "\"outage_delivered\":$(( ${d0:-0} + 8 ))[,}]"; }
check "the base unit delivers its buffer after reconnecting (8 more than the ${d0:-0} before)" wait_until 15 delivered_8
delivered_8 || echo "  (last metrics: $(cat "$T/metrics.last"))"
sleep 2
m=$(metrics)
dropped=$(echo "$m" | sed -n 's/.*"outage_dropped":\([0-9]*\).*/\1/p')
check "the buffer overflowed, and that was counted ($dropped dropped)" test "${dropped:-0}" -gt 0
# the sequence as the observer saw it, repeats removed
sed -n 's/.*"seq":\([0-9]*\).*/\1/p' "$T/obs.watch" | uniq > "$T/seq"
check "readings arrive in order" bash -c "sort -n -c $T/seq"
first=$(head -n 1 "$T/seq"); last=$(tail -n 1 "$T/seq"); got=$(wc -l < "$T/seq")
missing=$(( last - first + 1 - got ))
check "exactly the dropped ones are missing ($missing missing, $dropped dropped): nothing in the bound was lost" \
	test "$missing" -eq "${dropped:-0}"
echo "  figures: readings $first..$last, $got seen, $missing missing = $dropped dropped at the bound of 8"
