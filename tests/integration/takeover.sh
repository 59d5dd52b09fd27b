#!/bin/bash
# No broker user can take over the base unit's or the dashboard's MQTT session
# by connecting with its client id (broker-conf/clientid.c, a plugin of the
# broker setup-broker writes): every attempt of every other user is refused,
# the daemons stay connected, and commands keep their results meanwhile.
source "$(dirname "$0")/../lib.sh"

test_broker --homeassistant
KEY=$("$BIN/base-unit" genkey)
{ base_conf 127.0.0.1:$UDP_PORT; echo "device lights $KEY"; } > "$T/base.conf"
printf 'id lights\nkey %s\nbase 127.0.0.1:%s\nkeepalive 1\ncontrol light switch simulated\n' \
	"$KEY" "$UDP_PORT" > "$T/lights.conf"
TOKEN=$("$BIN/dashboard" gentoken)
HTTP_PORT=$(free_port tcp)
DASH=http://127.0.0.1:$HTTP_PORT
{ dash_conf 127.0.0.1:$HTTP_PORT; cat <<CONF
token $TOKEN
CONF
} > "$T/dash.conf"

watch all reader 'intercom/#'
start base "$BIN/base-unit" -c "$T/base.conf"
start lights "$BIN/updatable-unit" -c "$T/lights.conf"
start dash "$BIN/dashboard" -c "$T/dash.conf"
check "the device comes online" wait_until 10 seen all '^intercom/lights/availability online$'
check "the dashboard is connected" wait_until 10 bash -c "curl -sf $DASH/healthz > /dev/null"
check "the base unit's client id is its user name by default" \
	grep -q "New client connected from .* as base (.*u'base')" "$T/mosquitto.log"
check "so is the dashboard's" grep -q "New client connected from .* as dashboard (.*u'dashboard')" "$T/mosquitto.log"

set_ok() {	# ID: a set through the dashboard's API answers ok
	curl -s -m 5 -H "Authorization: Bearer $TOKEN" -d "{\"light\":\"$( (( ${1#s} % 2 )) && echo ON || echo OFF)\",\"id\":\"$1\"}" \
		"$DASH/api/devices/lights/set" | grep -q '"status":"ok"'
}
set_ok s0

echo "# every other user, with each daemon's client id"
attempt() {	# USER ID: exit status of mosquitto_sub; 0 means it got in
	mosquitto_sub $(mqtt_args "$1") -i "$2" -t 'intercom/#' -C 1 -W 2 > "$T/attempt.out" 2>&1
}
for id in base base-unit dashboard dashboard-1; do
	owner=${id%%-*}
	for user in base dashboard reader homeassistant; do
		[ "$user" = "$owner" ] && continue
		attempt "$user" "$id"
		check "user $user cannot connect as '$id' (the broker says not authorised)" \
			grep -qi "not authori[sz]ed" "$T/attempt.out"
	done
done
check "the broker logs each refusal, naming id, user and owner" \
	grep -q "refused client id 'base' to user 'reader' .*: it belongs to user 'base'" "$T/mosquitto.log"
check "a user may use the ids that begin with its own name" attempt dashboard dashboard-tool
check "and ids that belong to nobody" attempt reader watcher-1

echo "# a takeover attempted over and over while commands flow"
( for _ in $(seq 30); do
	for u in reader homeassistant dashboard; do
		mosquitto_sub $(mqtt_args "$u") -i base -t 'intercom/#' -C 1 -W 1 > /dev/null 2>&1
	done
	mosquitto_sub $(mqtt_args reader) -i dashboard -t 'intercom/#' -C 1 -W 1 > /dev/null 2>&1
done ) &
PIDS+=($!)
ATTACK=$!
ok=0
for i in $(seq 1 30); do set_ok "s$i" && ok=$((ok + 1)); sleep 0.1; done
check "30 of 30 sets through the dashboard answered ok during the attempts ($ok)" test "$ok" -eq 30
wait "$ATTACK" 2>/dev/null
check "the base unit was never disconnected" bash -c "! grep -q 'lost' '$T/base.log'"
check "nor the dashboard" bash -c "! grep -q 'lost' '$T/dash.log'"
# (a takeover is logged "Client base already connected, closing old
# connection"; a refused attempt as "Client base disconnected, not authorised")
check "the broker never closed their connections for another client" \
	bash -c "! grep -qE 'Client (base|dashboard) already connected' '$T/mosquitto.log'"
