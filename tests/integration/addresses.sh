#!/bin/bash
# Every address a name has: Debian's standard hosts file lists "::1 localhost"
# before "127.0.0.1 localhost". Here the test gets that hosts file in a mount
# namespace of its own (so the machine's is untouched), and then:
#  - the broker listens on 127.0.0.1 only: the base unit and the dashboard,
#    told "localhost", find it on the second address;
#  - the base unit listens on 127.0.0.1 only: an agent told "localhost" finds it;
#  - "listen localhost:P" listens on both loopbacks (base unit, dashboard,
#    camera port), and a client on ::1 is served;
#  - a name whose every address fails is reported with each address and why.
if [ -z "${ADDRESSES_NS:-}" ]; then
	if [ "$(id -u)" -eq 0 ] && command -v unshare > /dev/null && ip -6 addr show lo 2>/dev/null | grep -q '::1'; then
		hosts=$(mktemp)
		printf '::1\tlocalhost ip6-localhost ip6-loopback\n127.0.0.1\tlocalhost\n::1\tv6only.test\n127.0.0.1\tboth.test\n::1\tboth.test\n' > "$hosts"
		ADDRESSES_NS=$hosts exec unshare --mount --propagation private \
			bash -c 'mount --bind "$ADDRESSES_NS" /etc/hosts && exec bash "$0"' "$0"
	fi
	source "$(dirname "$0")/../lib.sh"
	skip "needs root, unshare and an IPv6 loopback (a private /etc/hosts in a mount namespace)"
	exit 0
fi
source "$(dirname "$0")/../lib.sh"
finish_extra() { rm -f "$ADDRESSES_NS"; }

check "in this namespace, localhost is ::1 first, then 127.0.0.1" \
	test "$(getent ahosts localhost | awk '$2 == "STREAM" {print $1}' | tr '\n' ' ')" = "::1 127.0.0.1 "

test_broker --bind 127.0.0.1
check "the broker listens on 127.0.0.1 only" bash -c "! ss -Hltn 'sport = :$MQTT_PORT' | grep -q '\[::1\]'"

KEY=$("$BIN/base-unit" genkey)
KEY_CAM=$("$BIN/base-unit" genkey)
CAM_PORT=$(free_port tcp)
{ base_conf "127.0.0.1:$UDP_PORT"; echo "device thermo $KEY"; } > "$T/base.conf"
cat > "$T/thermo.conf" <<CONF
id thermo
key $KEY
base localhost:$UDP_PORT
interval 0.5
sensor temperature °C simulated 12.5 0.1
CONF
watch all reader 'intercom/#'
start base "$BIN/base-unit" -c "$T/base.conf"
start thermo "$BIN/read-unit" -c "$T/thermo.conf"

echo "# connecting: the first address refuses, the second answers"
check "the base unit reaches the broker by name on its second address" \
	wait_until 10 grep -q "mqtt: connected to localhost port $MQTT_PORT (127.0.0.1)" "$T/base.log"
check "the agent reaches the base unit by name on its second address" \
	wait_until 15 grep -q "connected to the base unit at localhost:$UDP_PORT (127.0.0.1:$UDP_PORT)" "$T/thermo.log"
check "and its readings reach the broker" wait_until 10 seen all '^intercom/thermo \{"temperature"'

HTTP_PORT=$(free_port tcp)
cat > "$T/dash.conf" <<CONF
listen localhost:$HTTP_PORT
mqtt_host localhost
mqtt_port $MQTT_PORT
mqtt_cafile $BROKER/ca.crt
mqtt_username dashboard
mqtt_password_file $BROKER/dashboard.password
token $("$BIN/dashboard" gentoken)
CONF
start dash "$BIN/dashboard" -c "$T/dash.conf"
check "the dashboard reaches the broker by name on its second address" \
	wait_until 10 grep -q "mqtt: connected to localhost port $MQTT_PORT (127.0.0.1)" "$T/dash.log"

echo "# listening: localhost is both loopbacks"
check "the dashboard listens on ::1 and on 127.0.0.1" wait_until 5 bash -c \
	"ss -Hltn 'sport = :$HTTP_PORT' | grep -q '\[::1\]:$HTTP_PORT' && ss -Hltn 'sport = :$HTTP_PORT' | grep -q '127.0.0.1:$HTTP_PORT'"
check "a browser that tries ::1 first is served" bash -c \
	"curl -s -g 'http://[::1]:$HTTP_PORT/healthz' | grep -q '^ok$' && curl -s 'http://localhost:$HTTP_PORT/healthz' | grep -q '^ok$'"
stop base
UDP2=$(free_port udp)
PULL_PORT=$(free_port tcp)
$PY -c 'import sys; sys.stdout.buffer.write(b"P6\n64 48\n255\n" + bytes(range(256)) * 36)' | cjpeg > "$T/door.jpg"
start door $PY "$ROOT/tests/tools/jpeg_server.py" "$PULL_PORT" normal "$T/door.jpg"	# on 127.0.0.1 only
wait_until 5 tcp_listening "$PULL_PORT"
{ base_conf "localhost:$UDP2"; echo "device thermo $KEY"; echo "device cam $KEY_CAM"; echo "camera_port cam localhost:$CAM_PORT"
  echo "pull_camera door localhost:$PULL_PORT 1000"; } > "$T/base2.conf"
start base2 "$BIN/base-unit" -c "$T/base2.conf"
check "a pull camera named localhost is found on its second address" wait_until 10 grep -q "pull camera localhost:$PULL_PORT online" "$T/base2.log"
check "the base unit's UDP port is on ::1 and on 127.0.0.1" wait_until 5 bash -c \
	"ss -Hlun 'sport = :$UDP2' | grep -q '\[::1\]:$UDP2' && ss -Hlun 'sport = :$UDP2' | grep -q '127.0.0.1:$UDP2'"
check "so is a camera's raw TCP port" bash -c \
	"ss -Hltn 'sport = :$CAM_PORT' | grep -q '\[::1\]:$CAM_PORT' && ss -Hltn 'sport = :$CAM_PORT' | grep -q '127.0.0.1:$CAM_PORT'"
sed -e "s/^base .*/base [::1]:$UDP2/" -e 's/^id .*/id thermo/' "$T/thermo.conf" > "$T/thermo6.conf"
stop thermo
start thermo6 "$BIN/read-unit" -c "$T/thermo6.conf"
check "an agent on IPv6 registers, and its answers come back over IPv6" \
	wait_until 10 grep -q "connected to the base unit at \[::1\]:$UDP2 (\[::1\]:$UDP2)" "$T/thermo6.log"
mark all
check "its readings flow" wait_until 10 seen_since all '^intercom/thermo \{"temperature"'

echo "# a name whose every address fails says so, address by address"
sed -e "s/^mqtt_host .*/mqtt_host both.test/" -e "s/^listen .*/listen 127.0.0.1:$(free_port udp)/" \
	-e "s/^mqtt_port .*/mqtt_port $(free_port tcp)/" -e '/^device cam/d' -e '/^camera_port/d' -e '/^pull_camera/d' "$T/base2.conf" > "$T/base3.conf"
start base3 "$BIN/base-unit" -c "$T/base3.conf"
check "the error names the host, both addresses and why each failed" wait_until 5 bash -c \
	"grep -E 'cannot connect to both.test port [0-9]+: (127.0.0.1|::1) \(Connection refused\); (::1|127.0.0.1) \(Connection refused\)' '$T/base3.log'"
sed -e "s/^mqtt_host .*/mqtt_host no-such-host.invalid/" -e "s/^listen .*/listen 127.0.0.1:$(free_port udp)/" "$T/base3.conf" > "$T/base4.conf"
start base4 "$BIN/base-unit" -c "$T/base4.conf"
check "a name that does not resolve is named with the resolver's reason" wait_until 5 \
	grep -q "cannot resolve no-such-host.invalid: " "$T/base4.log"
check "and the base unit keeps trying (still running)" kill -0 "$PID_base4"
