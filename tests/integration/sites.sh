#!/bin/bash
# Two sites share one broker, each confined to its prefix by the ACL that
# broker-conf/setup-broker writes: nobody of site a can read or touch site b.
source "$(dirname "$0")/../lib.sh"

BROKER=$T/broker
MQTT_PORT=$(free_port tcp)
broker_setup "$BROKER" --port "$MQTT_PORT" --prefix site-a --site b=site-b
broker_start mosquitto "$BROKER" "$MQTT_PORT" || { fail "broker starts"; exit 1; }
for site in a b; do
	port=$(free_port udp)
	key=$("$BIN/base-unit" genkey)
	user=base; [ $site = b ] && user=base-b
	{ echo "prefix site-$site"
	  base_conf "127.0.0.1:$port" | sed -e "s/^mqtt_username .*/mqtt_username $user/" \
		-e "s|^mqtt_password_file .*|mqtt_password_file $BROKER/$user.password|"
	  echo "device thermo-$site $key"; } > "$T/base-$site.conf"
	printf 'id thermo-%s\nkey %s\nbase 127.0.0.1:%s\ncontrol fan switch simulated\n' \
		"$site" "$key" "$port" > "$T/unit-$site.conf"
	start "base_$site" "$BIN/base-unit" -c "$T/base-$site.conf"
	start "unit_$site" "$BIN/updatable-unit" -c "$T/unit-$site.conf"
done
watch a_all dashboard 'site-a/#'
watch b_all dashboard-b 'site-b/#'
watch a_reads_b reader 'site-b/#'
watch b_reads_a reader-b 'site-a/#'
check "site a's device is online under its prefix" wait_until 10 seen a_all '^site-a/thermo-a/availability online$'
check "site b's device is online under its prefix" wait_until 10 seen b_all '^site-b/thermo-b/availability online$'

mosquitto_pub $(mqtt_args dashboard) -t site-a/thermo-a/set -m '{"fan":"ON","id":"a1"}'
mosquitto_pub $(mqtt_args dashboard-b) -t site-b/thermo-b/set -m '{"fan":"ON","id":"b1"}'
check "each site's dashboard commands its own devices (a)" wait_until 5 seen a_all '^site-a/thermo-a/result \{"id":"a1","status":"ok"\}$'
check "each site's dashboard commands its own devices (b)" wait_until 5 seen b_all '^site-b/thermo-b/result \{"id":"b1","status":"ok"\}$'

mosquitto_pub $(mqtt_args dashboard) -t site-b/thermo-b/set -m '{"fan":"OFF","id":"a-to-b"}'
mosquitto_pub $(mqtt_args dashboard-b) -t site-a/thermo-a/set -m '{"fan":"OFF","id":"b-to-a"}'
mosquitto_pub $(mqtt_args base) -t site-b/thermo-b -m '{"forged":true}'
mosquitto_pub $(mqtt_args base-b) -t site-a/bridge/state -m 'offline'
sleep 2
check "site a's dashboard cannot command site b" not_seen_since b_all '"id":"a-to-b"'
check "site b's dashboard cannot command site a" not_seen_since a_all '"id":"b-to-a"'
check "site a's base unit cannot write under site b" not_seen_since b_all 'forged'
check "site b's base unit cannot write under site a" not_seen_since a_all '^site-a/bridge/state offline$'
check "site a's reader sees nothing of site b" test ! -s "$T/a_reads_b.watch"
check "site b's reader sees nothing of site a" test ! -s "$T/b_reads_a.watch"
