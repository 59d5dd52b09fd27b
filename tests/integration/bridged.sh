#!/bin/bash
# Past one broker: two brokers of broker-conf linked by a Mosquitto bridge
# (setup-broker --bridge-to). The base unit uses the near broker (at the
# site), the dashboard the far one (at home); neither changes, they only
# speak MQTT. The site's broker connects out to home's, over TLS.
source "$(dirname "$0")/../lib.sh"

HOME_PORT=$(free_port tcp); SITE_PORT=$(free_port tcp); UDP_PORT=$(free_port udp); HTTP_PORT=$(free_port tcp)
broker_setup "$T/home" --port "$HOME_PORT"
broker_start home "$T/home" "$HOME_PORT" || { fail "the home broker starts"; exit 1; }
"$ROOT/broker-conf/setup-broker" "$T/bad" --bridge-to 127.0.0.1:1 > "$T/bad.out" 2>&1
check "--bridge-to without the far broker's CA is refused" grep -q "needs --bridge-ca" "$T/bad.out"
broker_setup "$T/site" --port "$SITE_PORT" --bridge-to "127.0.0.1:$HOME_PORT" --bridge-ca "$T/home/ca.crt" \
	--bridge-password-file "$T/home/base.password"
broker_start site "$T/site" "$SITE_PORT" || { fail "the site broker starts"; exit 1; }
check "the site broker's link logs in to the home broker as its base user" \
	wait_until 10 grep -q "as intercom-link-intercom .*u'base'" "$T/home.log"

BROKER=$T/home MQTT_PORT=$HOME_PORT watch home reader 'intercom/#'
check "home sees the link up" wait_until 10 seen home '^intercom/bridge/link 1$'

KEY_T=$("$BIN/base-unit" genkey); KEY_L=$("$BIN/base-unit" genkey)
BROKER=$T/site MQTT_PORT=$SITE_PORT base_conf "127.0.0.1:$UDP_PORT" > "$T/base.conf"
printf 'device thermo %s\ndevice lights %s\n' "$KEY_T" "$KEY_L" >> "$T/base.conf"
printf 'id thermo\nkey %s\nbase 127.0.0.1:%s\ninterval 0.5\nsensor temperature C simulated 12 0.1 5 25\n' \
	"$KEY_T" "$UDP_PORT" > "$T/thermo.conf"
printf 'id lights\nkey %s\nbase 127.0.0.1:%s\ncontrol light switch simulated\n' "$KEY_L" "$UDP_PORT" > "$T/lights.conf"
start base "$BIN/base-unit" -c "$T/base.conf"
start thermo "$BIN/read-unit" -c "$T/thermo.conf"
start lights "$BIN/updatable-unit" -c "$T/lights.conf"

TOKEN=$("$BIN/dashboard" gentoken)
cat > "$T/dash.conf" <<CONF
listen 127.0.0.1:$HTTP_PORT
mqtt_host localhost
mqtt_port $HOME_PORT
mqtt_cafile $T/home/ca.crt
mqtt_username dashboard
mqtt_password_file $T/home/dashboard.password
token $TOKEN
CONF
start dash "$BIN/dashboard" -c "$T/dash.conf"

check "readings published on the site broker reach a subscriber of the home broker" \
	wait_until 15 seen home '^intercom/thermo \{"temperature":[0-9.]+'
check "so do availability and the device list" wait_until 10 bash -c \
	"grep -q '^intercom/lights/availability online$' '$T/home.watch' && grep -q '^intercom/bridge/devices .*\"id\":\"lights\"' '$T/home.watch'"
check "the dashboard on the home broker lists the site's devices online" wait_until 10 bash -c \
	"curl -s -H 'Authorization: Bearer $TOKEN' http://127.0.0.1:$HTTP_PORT/api/devices | grep -q '\"id\":\"lights\",[^}]*\"online\":true'"
out=$(curl -s -H "Authorization: Bearer $TOKEN" -d '{"light":"ON","id":"far"}' "http://127.0.0.1:$HTTP_PORT/api/devices/lights/set")
check "a set from the home dashboard crosses the link, reaches the device and its result comes back" \
	test "$out" = '{"id":"far","status":"ok"}'
check "the light's new state is seen at home" wait_until 3 seen home '^intercom/lights \{"light":"ON"'

mark home
stop site
check "when the site's broker goes away, home hears the link is down (the bridge's last will)" \
	wait_until 10 seen_since home '^intercom/bridge/link 0$'
