#!/bin/bash
# A broker that also wants client certificates (setup-broker --client-certs):
# a password alone, or a certificate from another CA, is refused.
source "$(dirname "$0")/../lib.sh"

BROKER=$T/broker
MQTT_PORT=$(free_port tcp)
UDP_PORT=$(free_port udp)
broker_setup "$BROKER" --port "$MQTT_PORT" --client-certs
broker_setup "$T/other" --port 1 --client-certs	# another CA, with certificates of its own
broker_start mosquitto "$BROKER" "$MQTT_PORT" || { fail "broker starts"; exit 1; }
check "every user got a certificate" test -s "$BROKER/reader.crt" -a -s "$BROKER/base.key"

sub() { mosquitto_sub $(mqtt_args reader) "$@" -t 'intercom/#' -C 1 -W 3 > "$T/sub.out" 2>&1; }
sub
check "a client with the right password but no certificate is refused" grep -qiE "error|unable|refused" "$T/sub.out"
sub --cert "$T/other/reader.crt" --key "$T/other/reader.key"
check "a client whose certificate another CA signed is refused" grep -qiE "error|unable|refused" "$T/sub.out"

KEY=$("$BIN/base-unit" genkey)
{ base_conf "127.0.0.1:$UDP_PORT"; cat <<CONF
mqtt_certfile $BROKER/base.crt
mqtt_keyfile $BROKER/base.key
device thermo $KEY
CONF
} > "$T/base.conf"
grep -v '^mqtt_certfile\|^mqtt_keyfile' "$T/base.conf" | sed "s|^listen .*|listen 127.0.0.1:$(free_port udp)|" > "$T/base-nocert.conf"
start base "$BIN/base-unit" -c "$T/base.conf"
start nocert "$BIN/base-unit" -c "$T/base-nocert.conf"
mosquitto_sub $(mqtt_args reader) --cert "$BROKER/reader.crt" --key "$BROKER/reader.key" \
	-t intercom/bridge/state -C 1 -W 10 > "$T/state.out" 2>&1
check "a base unit with its certificate connects; a client with its certificate reads" grep -q '^online$' "$T/state.out"
check "a base unit without one never does" bash -c "sleep 2; ! grep -q 'mqtt: connected' $T/nocert.log"
