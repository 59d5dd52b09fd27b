#!/bin/bash
# Sets are not lost while the base unit is cut off from the broker: it keeps
# a persistent session (clean_session false), so a set published at QoS 1
# meanwhile waits at the broker and is carried out when the link is back.
# The base unit and its device are in "site", the broker in "hub"; the link
# is cut with iptables.
source "$(dirname "$0")/../lib.sh"
source "$ROOT/tests/net/netns.sh"

if ! why=$(netns_usable); then
	skip "persistent session test: $why"
	exit 0
fi
SITE="ic-site-$$" HUB="ic-hub-$$"
netns_new "$SITE" && netns_new "$HUB" && netns_link "$HUB" 10.231.50.1/24 "$SITE" 10.231.50.2/24 ||
	{ fail "the test bed is built"; exit 1; }
MQTT_NS=$HUB
test_broker --bind 0.0.0.0 --host 10.231.50.1
KEY=$("$BIN/base-unit" genkey)
{ base_conf 127.0.0.1:47800 | sed 's/^mqtt_host .*/mqtt_host 10.231.50.1/'; cat <<CONF
mqtt_keepalive 5
mqtt_reconnect_max 2
device relay $KEY
CONF
} > "$T/base.conf"
printf 'id relay\nkey %s\nbase 127.0.0.1:47800\ncontrol relay switch simulated\n' "$KEY" > "$T/relay.conf"
watch all dashboard 'intercom/#'
start base ip netns exec "$SITE" "$BIN/base-unit" -c "$T/base.conf"
start relay ip netns exec "$SITE" "$BIN/updatable-unit" -c "$T/relay.conf"
check "the device is online" wait_until 15 seen all '^intercom/relay/availability online$'
in_ns mosquitto_pub $(mqtt_args dashboard) -q 1 -t intercom/relay/set -m '{"relay":"ON","id":"before"}'
check "a set works" wait_until 5 seen all '^intercom/relay/result \{"id":"before","status":"ok"\}$'

echo "# the link between the site and the broker goes down"
ip netns exec "$SITE" iptables -A OUTPUT -p tcp --dport "$MQTT_PORT" -j REJECT --reject-with tcp-reset
ip netns exec "$SITE" iptables -A INPUT -p tcp --sport "$MQTT_PORT" -j DROP
check "the base unit notices (its last will says offline)" wait_until 20 seen all '^intercom/bridge/state offline$'
in_ns mosquitto_pub $(mqtt_args dashboard) -q 1 -t intercom/relay/set -m '{"relay":"OFF","id":"while-away"}'
sleep 2
ip netns exec "$SITE" iptables -F
echo "# the link is back"
check "the set published while it was away is carried out" wait_until 20 seen all \
	'^intercom/relay/result \{"id":"while-away","status":"ok"\}$'
check "and the device's state says so" wait_until 5 bash -c \
	"grep '^intercom/relay {' $T/all.watch | tail -n 1 | grep -q '\"relay\":\"OFF\"'"
