#!/bin/bash
# The intercom inside a WireGuard tunnel (Debian's wireguard-go) between the
# "cellar" and "home" namespaces: the base unit listens on its tunnel address
# only, so every datagram crosses the tunnel.
source "$(dirname "$0")/../lib.sh"
source "$ROOT/tests/net/netns.sh"

if ! why=$(netns_usable); then
	skip "WireGuard test: $why"
	exit 0
fi
if ! command -v wireguard-go > /dev/null || ! command -v wg > /dev/null; then
	skip "WireGuard test: wireguard-go and wireguard-tools are not installed"
	exit 0
fi
if [ ! -c /dev/net/tun ]; then
	skip "WireGuard test: no /dev/net/tun"
	exit 0
fi
CELLAR="ic-wgc-$$" HOME_NS="ic-wgh-$$"
netns_new "$CELLAR" && netns_new "$HOME_NS" &&
	netns_link "$CELLAR" 10.231.40.2/24 "$HOME_NS" 10.231.40.1/24 || { fail "the test bed is built"; exit 1; }

# userspace WireGuard, one per namespace; the interfaces need distinct names,
# since wireguard-go's control sockets share /var/run/wireguard across namespaces
export WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD=1
WGH="wgh$$"; WGH=${WGH:0:15}
WGC="wgc$$"; WGC=${WGC:0:15}
umask 077
for side in home cellar; do wg genkey > "$T/$side.key"; wg pubkey < "$T/$side.key" > "$T/$side.pub"; done
start wg_home ip netns exec "$HOME_NS" wireguard-go -f "$WGH"
start wg_cellar ip netns exec "$CELLAR" wireguard-go -f "$WGC"
wait_until 10 bash -c "ip -n $HOME_NS link show $WGH && ip -n $CELLAR link show $WGC" > /dev/null ||
	{ fail "wireguard-go makes its interfaces"; exit 1; }
ip netns exec "$HOME_NS" wg set "$WGH" private-key "$T/home.key" listen-port 51820 \
	peer "$(cat "$T/cellar.pub")" allowed-ips 10.232.0.2/32
ip netns exec "$CELLAR" wg set "$WGC" private-key "$T/cellar.key" \
	peer "$(cat "$T/home.pub")" allowed-ips 10.232.0.0/24 endpoint 10.231.40.1:51820 persistent-keepalive 15
ip -n "$HOME_NS" addr add 10.232.0.1/24 dev "$WGH" && ip -n "$HOME_NS" link set "$WGH" up
ip -n "$CELLAR" addr add 10.232.0.2/24 dev "$WGC" && ip -n "$CELLAR" link set "$WGC" up
check "the tunnel carries traffic" bash -c "ip netns exec $CELLAR ping -c 1 -W 3 10.232.0.1 > /dev/null"
rx_before=$(ip netns exec "$HOME_NS" wg show "$WGH" transfer | awk '{print $2}')

MQTT_NS=$HOME_NS
test_broker
KEY_T=$("$BIN/base-unit" genkey)
KEY_R=$("$BIN/base-unit" genkey)
{ base_conf 10.232.0.1:47800; cat <<CONF
device thermo $KEY_T
device relay $KEY_R
CONF
} > "$T/base.conf"
printf 'id thermo\nkey %s\nbase 10.232.0.1:47800\ninterval 0.5\nsensor temperature °C simulated 12 0.1\n' \
	"$KEY_T" > "$T/thermo.conf"
printf 'id relay\nkey %s\nbase 10.232.0.1:47800\ncontrol relay switch simulated\n' "$KEY_R" > "$T/relay.conf"
watch all dashboard 'intercom/#'
start base ip netns exec "$HOME_NS" "$BIN/base-unit" -c "$T/base.conf"
start thermo ip netns exec "$CELLAR" "$BIN/read-unit" -c "$T/thermo.conf"
start relay ip netns exec "$CELLAR" "$BIN/updatable-unit" -c "$T/relay.conf"
check "devices register through the tunnel" wait_until 15 bash -c \
	"grep -q 'thermo/availability online' $T/all.watch && grep -q 'relay/availability online' $T/all.watch"
check "the base unit sees them at their tunnel address" grep -q "device thermo .* connected from 10.232.0.2:" "$T/base.log"
check "readings stream" wait_until 5 seen all '^intercom/thermo \{"temperature":'
in_ns mosquitto_pub $(mqtt_args dashboard) -t intercom/relay/set -m '{"relay":"ON","id":"w1"}'
check "a command goes through" wait_until 5 seen all '^intercom/relay/result \{"id":"w1","status":"ok"\}$'
rx=$(( $(ip netns exec "$HOME_NS" wg show "$WGH" transfer | awk '{print $2}') - rx_before ))
readings=$(grep -c '^intercom/thermo {' "$T/all.watch")
check "and it all went through WireGuard ($rx bytes into home's tunnel for $readings readings and the rest)" \
	test "$rx" -gt $(( readings * 60 ))
