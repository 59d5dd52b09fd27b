#!/bin/bash
# Behind double NAT, as on a SIM card behind carrier-grade NAT: the devices
# sit in "cellar" behind two masquerading routers ("router" and "carrier");
# the base unit and the broker are in "home", which has no route back into
# either private network. Devices register, stream readings and take
# commands because they speak first; when the carrier's NAT forgets them and
# hands out a new port, the base unit follows and no command is lost.
source "$(dirname "$0")/../lib.sh"
source "$ROOT/tests/net/netns.sh"

if ! why=$(netns_usable); then
	skip "double NAT test: $why"
	exit 0
fi
command -v conntrack > /dev/null || { skip "double NAT test: conntrack is not installed"; exit 0; }
CELLAR="ic-cellar-$$" ROUTER="ic-router-$$" CARRIER="ic-carrier-$$" HOME_NS="ic-home-$$"
for ns in "$CELLAR" "$ROUTER" "$CARRIER" "$HOME_NS"; do netns_new "$ns" || { fail "namespaces"; exit 1; }; done
netns_link "$CELLAR" 10.231.10.2/24 "$ROUTER" 10.231.10.1/24 &&
	netns_link "$ROUTER" 10.231.20.2/24 "$CARRIER" 10.231.20.1/24 &&
	netns_link "$CARRIER" 10.231.30.2/24 "$HOME_NS" 10.231.30.1/24 &&
	netns_route "$CELLAR" 10.231.10.1 && netns_route "$ROUTER" 10.231.20.1 &&
	netns_nat "$ROUTER" 10.231.10.0/24 && netns_nat "$CARRIER" 10.231.20.0/24 ||
	{ fail "the double NAT test bed is built"; exit 1; }
check "home cannot reach into the cellar (no route)" bash -c "! ip netns exec $HOME_NS ping -c 1 -W 1 10.231.10.2 > /dev/null 2>&1"

MQTT_NS=$HOME_NS
test_broker
KEY_T=$("$BIN/base-unit" genkey)
KEY_R=$("$BIN/base-unit" genkey)
{ base_conf 10.231.30.1:47800; cat <<CONF
device thermo $KEY_T
device relay $KEY_R
CONF
} > "$T/base.conf"
printf 'id thermo\nkey %s\nbase 10.231.30.1:47800\nkeepalive 1\ninterval 0.5\nsensor temperature °C simulated 12 0.1\n' \
	"$KEY_T" > "$T/thermo.conf"
printf 'id relay\nkey %s\nbase 10.231.30.1:47800\nkeepalive 1\ncontrol relay switch simulated\n' "$KEY_R" > "$T/relay.conf"
watch all dashboard 'intercom/#'
start base ip netns exec "$HOME_NS" "$BIN/base-unit" -c "$T/base.conf"
start thermo ip netns exec "$CELLAR" "$BIN/read-unit" -c "$T/thermo.conf"
start relay ip netns exec "$CELLAR" "$BIN/updatable-unit" -c "$T/relay.conf"

check "devices behind double NAT register" wait_until 15 bash -c \
	"grep -q 'thermo/availability online' $T/all.watch && grep -q 'relay/availability online' $T/all.watch"
check "the base unit sees them at the carrier's public address, not their own" \
	grep -q "device thermo (read, 1 sensors, 0 controls) connected from 10.231.30.2:" "$T/base.log"
check "readings stream" wait_until 5 seen all '^intercom/thermo \{"temperature":'
MARK_ALL_ONLINE=$(wc -l < "$T/all.watch")
send_sets() {	# FIRST LAST
	for ((i = $1; i <= $2; i++)); do
		printf '{"relay":"%s","id":"s%d"}\n' "$([ $((i % 2)) = 1 ] && echo ON || echo OFF)" "$i"
	done | in_ns mosquitto_pub $(mqtt_args dashboard) -t intercom/relay/set -l
}
send_sets 1 10
check "commands reach a device behind double NAT" wait_until 10 bash -c \
	"[ \$(grep -cE '^intercom/relay/result \{\"id\":\"s([1-9]|10)\",\"status\":\"ok\"' $T/all.watch) -eq 10 ]"

echo "# the carrier's NAT forgets the mapping and picks a new port"
before=$(grep -o 'device relay .*connected from [0-9.:]*' "$T/base.log" | tail -n 1 | sed 's/.*from //')
ip netns exec "$CARRIER" iptables -t nat -F POSTROUTING
ip netns exec "$CARRIER" iptables -t nat -A POSTROUTING -s 10.231.20.0/24 -p udp -j MASQUERADE --to-ports 40000-40999
ip netns exec "$CARRIER" conntrack -F > /dev/null 2>&1
check "its conntrack table was flushed" bash -c "[ \$(ip netns exec $CARRIER conntrack -C) -lt 5 ]"
send_sets 11 25	# straight away: the first of these meet the stale address (15: the queue holds 16)
check "the base unit follows the devices to their new ports within a keepalive" wait_until 5 bash -c \
	"grep -qE 'device relay moved from [0-9.:]+ to 10.231.30.2:40[0-9]{3}' $T/base.log"
wait_until 10 seen all '^intercom/relay/result \{"id":"s25",'
send_sets 26 30
check "and no command is lost: all 30 end ok" wait_until 15 bash -c \
	"[ \$(grep -cE '^intercom/relay/result \{\"id\":\"s[0-9]+\",\"status\":\"ok\"' $T/all.watch) -eq 30 ]"
check "nothing else was answered" test "$(grep -c '^intercom/relay/result ' "$T/all.watch")" -eq 30
mark all
check "readings go on from the new port" wait_until 5 seen_since all '^intercom/thermo \{"temperature":'
check "and the devices never went offline" bash -c \
	"! tail -n +$((MARK_ALL_ONLINE + 1)) $T/all.watch | grep -qE '^intercom/(thermo|relay)/availability offline'"
echo "  figures: relay moved from $before to $(grep -oE 'device relay moved from [0-9.:]+ to [0-9.:]+' "$T/base.log" | tail -n 1 | sed 's/.* to //')"
