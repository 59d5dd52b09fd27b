#!/bin/sh
# Runs inside the virtual machine tests/vm/run boots (vmtest.service, as
# root, once the system is up): sets up a site and a home as docs/install.md
# says, with the installed packages and their units under the real systemd,
# and prints one "VMTEST ok|FAIL|note ..." line per check on the second
# serial port (the first is the console), then "VMTEST done" and powers off.
exec > /dev/ttyS1 2>&1
ok() { echo "VMTEST ok $*"; }
bad() { echo "VMTEST FAIL $*"; }
note() { echo "VMTEST note $*"; }
check() { what=$1; shift; if "$@" > /dev/null 2>&1; then ok "$what"; else bad "$what"; return 1; fi; }
wait_until() {	# SECONDS COMMAND...
	n=$(( $1 * 10 )); shift
	while [ $n -gt 0 ]; do "$@" > /dev/null 2>&1 && return 0; sleep 0.1; n=$((n - 1)); done
	return 1
}
active() { [ "$(systemctl is-active "$1")" = active ]; }
prop() { systemctl show -P "$2" "$1"; }

note "systemd $(systemctl --version | head -n 1 | cut -d' ' -f2), kernel $(uname -r)"
check "no unit failed while booting" test -z "$(systemctl --failed --plain --no-legend | grep intercom)"
check "installed, the base unit is neither enabled nor running (the example needs the broker's files)" \
	sh -c "! systemctl is-enabled intercom-base-unit && ! systemctl is-active intercom-base-unit"

# The broker, the files the examples name, one device: docs/install.md.
intercom-setup-broker /etc/intercom/broker --run-as mosquitto > /dev/null
install -m 0640 -g intercom /etc/intercom/broker/ca.crt /etc/intercom/broker-ca.crt
install -m 0640 -g intercom /etc/intercom/broker/base.password /etc/intercom/base-unit.mqtt-password
install -m 0640 -g intercom /etc/intercom/broker/dashboard.password /etc/intercom/dashboard.mqtt-password
intercom-dashboard gentoken | install -m 0640 -g intercom /dev/stdin /etc/intercom/dashboard.token
intercom-base-unit genkey | install -m 0640 -g intercom /dev/stdin /etc/intercom/agents/cellar-thermo.key
echo "device cellar-thermo $(cat /etc/intercom/agents/cellar-thermo.key)" >> /etc/intercom/base-unit.conf
install -m 0640 -g intercom /usr/share/intercom/examples/read-unit.conf /etc/intercom/agents/cellar-thermo.conf
# (a virtual machine has no thermal zone: the example's CPU sensor goes)
sed -i -e 's/^interval .*/interval 1/' -e '/cpu_temperature/d' /etc/intercom/agents/cellar-thermo.conf
systemctl enable --now intercom-broker
check "intercom-broker.service is active" wait_until 10 active intercom-broker
systemctl enable --now intercom-base-unit intercom-agent@cellar-thermo intercom-dashboard
for u in intercom-base-unit intercom-agent@cellar-thermo intercom-dashboard; do
	check "$u.service is active (Type=notify: it said READY=1)" wait_until 15 active $u
	note "$u: status '$(prop $u StatusText)', user $(prop $u User), watchdog $(prop $u WatchdogUSec)"
	check "$u runs as the intercom user" test "$(ps -o user= -p "$(prop $u MainPID)")" = intercom
done
PW=$(cat /etc/intercom/broker/reader.password)
SUB="mosquitto_sub -h localhost -p 8883 --cafile /etc/intercom/broker/ca.crt -u reader -P $PW"
out=$($SUB -t intercom/cellar-thermo -C 2 -W 15 2>&1)
check "readings flow from the agent's unit through the base unit's to the broker" sh -c "echo '$out' | grep -q '\"load\"'" ||
	note "the broker said: $out"
TOKEN=$(cat /etc/intercom/dashboard.token)
check "the dashboard's unit shows the device online" wait_until 15 sh -c \
	"curl -s -H 'Authorization: Bearer $TOKEN' http://127.0.0.1:8080/api/devices | grep -q '\"id\":\"cellar-thermo\".*\"online\":true'"
pid=$(ps -o pid= -C intercom-read-unit | tr -d ' ')
check "the agent has the gpio and video groups" sh -c \
	"grep '^Groups:' /proc/$pid/status | grep -qw $(getent group gpio | cut -d: -f3) && grep '^Groups:' /proc/$pid/status | grep -qw $(getent group video | cut -d: -f3)"
check "journalctl -p info finds the base unit's line with its priority" \
	sh -c "journalctl -u intercom-base-unit -p info -o cat | grep -q 'device cellar-thermo .*connected'"
check "journalctl -p warning leaves it out" \
	sh -c "! journalctl -u intercom-base-unit -p warning -o cat | grep -q 'connected from'"
for u in intercom-base-unit intercom-dashboard intercom-agent@cellar-thermo intercom-broker; do
	note "systemd-analyze security $u: $(systemd-analyze security $u 2>/dev/null | sed -n 's/.*Overall exposure level for [^:]*: //p')"
done

# systemctl reload: SIGHUP, the same process, a device added.
pid=$(prop intercom-base-unit MainPID)
echo "device garage-door $(intercom-base-unit genkey)" >> /etc/intercom/base-unit.conf
systemctl reload intercom-base-unit
check "systemctl reload: the base unit reads its configuration again" wait_until 10 sh -c \
	"journalctl -u intercom-base-unit -o cat | grep -q 'reloaded .*: 2 devices (1 added, 0 removed, 0 with a new key, 1 kept their sessions)'"
check "in the same process, still active" sh -c "[ $(prop intercom-base-unit MainPID) = $pid ] && systemctl is-active --quiet intercom-base-unit"

# The dashboard's reload: a token added opens the API, same process.
pid=$(prop intercom-dashboard MainPID)
T2=$(intercom-dashboard gentoken)
echo "token $T2" >> /etc/intercom/dashboard.conf
systemctl reload intercom-dashboard
check "systemctl reload intercom-dashboard: a token added opens the API" wait_until 10 sh -c \
	"curl -sf -o /dev/null -H 'Authorization: Bearer $T2' http://127.0.0.1:8080/api/devices"
check "in the same process" test "$(prop intercom-dashboard MainPID)" = "$pid"

# The watchdog is real: a base unit that stops answering is restarted.
mkdir -p /etc/systemd/system/intercom-base-unit.service.d
printf '[Service]\nWatchdogSec=2\n' > /etc/systemd/system/intercom-base-unit.service.d/watchdog.conf
systemctl daemon-reload
systemctl restart intercom-base-unit
wait_until 15 active intercom-base-unit
restarts=$(prop intercom-base-unit NRestarts)
pid=$(prop intercom-base-unit MainPID)
sleep 5
check "with WatchdogSec=2 it keeps running (it pings)" sh -c "[ $(prop intercom-base-unit MainPID) = $pid ]"
kill -STOP "$pid"
check "stopped with SIGSTOP, systemd's watchdog kills and restarts it" wait_until 20 sh -c \
	"[ \"\$(systemctl show -P NRestarts intercom-base-unit)\" -gt $restarts ] && [ \"\$(systemctl show -P MainPID intercom-base-unit)\" != $pid ] && systemctl is-active --quiet intercom-base-unit"
check "the journal says why" sh -c "journalctl -u intercom-base-unit -o cat | grep -qi 'watchdog timeout'"
rm -r /etc/systemd/system/intercom-base-unit.service.d
systemctl daemon-reload

# A configuration with errors never starts.
cp /etc/intercom/base-unit.conf /root/good.conf
echo "bogus_key 1" >> /etc/intercom/base-unit.conf
check "a configuration with errors: systemctl restart fails" sh -c "! systemctl restart intercom-base-unit"
check "journalctl -p err names the line" sh -c \
	"journalctl -u intercom-base-unit -p err -o cat | grep -q \"base-unit.conf:[0-9]*: unknown key 'bogus_key'\""
cp /root/good.conf /etc/intercom/base-unit.conf
systemctl reset-failed intercom-base-unit
systemctl start intercom-base-unit
check "fixed, it starts again" wait_until 15 active intercom-base-unit

# A clean stop: no warning, no error.
sleep 2
since=$(date '+%Y-%m-%d %H:%M:%S')
sleep 1
systemctl stop intercom-agent@cellar-thermo intercom-dashboard intercom-base-unit
check "a clean stop logs no warning or error" sh -c \
	"! journalctl -u intercom-base-unit -u intercom-dashboard -u intercom-agent@cellar-thermo -p warning -o cat --since '$since' | grep -q ."
journalctl -u intercom-base-unit -u intercom-dashboard -u intercom-agent@cellar-thermo -p warning -o cat --since "$since" |
	sed 's/^/VMTEST note stop: /'
$SUB -t intercom/cellar-thermo/availability -t intercom/bridge/state -v -C 2 -W 5 |
	sed 's/^/VMTEST note after the stop (retained): /'
echo "VMTEST done"
systemctl poweroff || poweroff -f
