#!/bin/bash
# make install: the tree it lays out under DESTDIR; the installed programs
# (--version, --help, --check on the shipped examples); the man pages; the
# systemd units (systemd-analyze verify, and security's offline rating,
# printed for the docs); sd_notify READY, watchdog and STOPPING to a socket
# of the test's own, as systemd's would get them; and broker, base unit, an
# agent through intercom-agent and the dashboard brought up from the
# installed paths and configurations, with readings flowing.
source "$(dirname "$0")/../lib.sh"

VERSION=$(cat "$ROOT/VERSION")
PROGS="base-unit dashboard read-unit updatable-unit camera-unit"
inst() { make -s -C "$ROOT" BUILD="$BUILD" POSTINSTALL=no install "$@" > "$T/install.log" 2>&1; }

echo "# make install DESTDIR=... PREFIX=/usr"
STAGE=$T/stage
check "make install into a DESTDIR" inst DESTDIR="$STAGE" PREFIX=/usr
expect="
/etc/intercom/base-unit.conf
/etc/intercom/dashboard.conf
/usr/bin/intercom-base-unit
/usr/bin/intercom-camera-unit
/usr/bin/intercom-dashboard
/usr/bin/intercom-read-unit
/usr/bin/intercom-setup-broker
/usr/bin/intercom-updatable-unit
/usr/lib/intercom/intercom-clientid.so
/usr/lib/systemd/system/intercom-agent@.service
/usr/lib/systemd/system/intercom-base-unit.service
/usr/lib/systemd/system/intercom-broker.service
/usr/lib/systemd/system/intercom-dashboard.service
/usr/lib/sysusers.d/intercom.conf
/usr/libexec/intercom/agent
/usr/share/intercom/broker/mosquitto.conf
/usr/share/intercom/dashboard/index.html
/usr/share/man/man8/intercom-agents.8
/usr/share/man/man8/intercom-base-unit.8
/usr/share/man/man8/intercom-camera-unit.8
/usr/share/man/man8/intercom-dashboard.8
/usr/share/man/man8/intercom-read-unit.8
/usr/share/man/man8/intercom-setup-broker.8
/usr/share/man/man8/intercom-updatable-unit.8"
for e in base-unit dashboard read-unit updatable-unit camera-unit; do
	expect="$expect
/usr/share/intercom/examples/$e.conf"
done
missing=""
for f in $expect; do [ -f "$STAGE$f" ] || missing="$missing $f"; done
check "it holds the programs, units, examples, man pages and UI${missing:+ (missing:$missing)}" test -z "$missing"
check "the configurations are not world-readable (mode $(stat -c %a "$STAGE/etc/intercom/base-unit.conf"))" \
	test "$(stat -c %a "$STAGE/etc/intercom/base-unit.conf")" = 640
check "nothing in it names the build tree" bash -c "! grep -rl '$ROOT' '$STAGE' --exclude='*.so' --exclude='intercom-*-unit' --exclude=intercom-dashboard --exclude=intercom-base-unit"
echo "# left alone" > "$STAGE/etc/intercom/base-unit.conf"
inst DESTDIR="$STAGE" PREFIX=/usr
check "installing again keeps the user's configuration" grep -q '^# left alone' "$STAGE/etc/intercom/base-unit.conf"
check "units name the installed paths" grep -q '^ExecStart=/usr/bin/intercom-base-unit -c /etc/intercom/base-unit.conf$' \
	"$STAGE/usr/lib/systemd/system/intercom-base-unit.service"

# Installed for real under a prefix of the test's own: every path the
# programs, units and examples name then exists.
echo "# make install PREFIX=\$T/usr (sysconfdir \$T/etc, localstatedir \$T/var)"
P=$T/usr
ETC=$T/etc/intercom
check "make install under a prefix" inst PREFIX="$P" sysconfdir="$T/etc" localstatedir="$T/var"
for p in $PROGS; do
	out=$("$P/bin/intercom-$p" --version 2>&1); rc=$?
	check "intercom-$p --version: '$out'" test $rc = 0 -a "$out" = "$p $VERSION"
	out=$("$P/bin/intercom-$p" --help 2> "$T/help.err"); rc=$?
	check "intercom-$p --help: usage on stdout, exit 0" test $rc = 0 -a -n "$out" -a ! -s "$T/help.err"
done
check "intercom-setup-broker without arguments prints its options" \
	bash -c "'$P/bin/intercom-setup-broker' 2>&1 | grep -q -- '--homeassistant'"

if command -v man > /dev/null && command -v groff > /dev/null; then
	for m in intercom-base-unit intercom-dashboard intercom-read-unit intercom-updatable-unit intercom-camera-unit \
		 intercom-setup-broker; do
		check "man finds $m(8)" bash -c "MANPATH='$P/share/man' man -w $m > /dev/null"
	done
	for m in "$P"/share/man/man8/*.8; do
		grep -q '^\.so' "$m" && continue
		w=$(groff -man -ww -z -Tutf8 "$m" 2>&1)
		check "$(basename "$m") renders without warnings${w:+: $w}" test -z "$w"
	done
else
	skip "man pages: man or groff missing (make deps installs man-db)"
fi

# The broker, by the installed setup-broker (its template and plugin).
MQTT_PORT=$(free_port tcp)
BROKER=$ETC/broker
check "the installed setup-broker makes a broker" \
	"$P/bin/intercom-setup-broker" "$BROKER" --port "$MQTT_PORT"
check "with the installed plugin" cmp -s "$BROKER/intercom-clientid.so" "$P/lib/intercom/intercom-clientid.so"
broker_start mosquitto "$BROKER" "$MQTT_PORT" || fail "the broker starts"

# What the examples name, made the way the docs say.
cp "$BROKER/ca.crt" "$ETC/broker-ca.crt"
cp "$BROKER/base.password" "$ETC/base-unit.mqtt-password"
cp "$BROKER/dashboard.password" "$ETC/dashboard.mqtt-password"
"$P/bin/intercom-dashboard" gentoken > "$ETC/dashboard.token"
TOKEN=$(cat "$ETC/dashboard.token")
EX=$P/share/intercom/examples
for a in read-unit updatable-unit camera-unit; do
	id=$(sed -n 's/^id //p' "$EX/$a.conf")
	"$P/bin/intercom-base-unit" genkey > "$ETC/agents/$id.key"
	cp "$EX/$a.conf" "$ETC/agents/$id.conf"
	out=$("$P/bin/intercom-$a" --check -c "$EX/$a.conf" 2>&1)
	check "intercom-$a --check on the shipped example: $out" test $? = 0
	out=$("$P/libexec/intercom/agent" --check "$id" 2>&1)
	check "intercom-agent --check $id runs intercom-$a: $out" test $? = 0
done
for p in base-unit dashboard; do
	out=$("$P/bin/intercom-$p" --check -c "$ETC/$p.conf" 2>&1)
	check "intercom-$p --check on the installed example: $(echo "$out" | tail -n 1)" test $? = 0
done
out=$("$P/bin/intercom-updatable-unit" --check -c "$EX/read-unit.conf" 2>&1); rc=$?
check "an agent refuses another's configuration (exit $rc): $out" \
	bash -c "[ $rc != 0 ] && echo \"\$1\" | grep -q 'for read-unit, not updatable-unit'" _ "$out"
echo "agent nonsense" > "$ETC/agents/bad.conf"
check "intercom-agent refuses a file without a known 'agent' line" \
	bash -c "! '$P/libexec/intercom/agent' --check bad 2> /dev/null"

if command -v systemd-analyze > /dev/null; then
	for u in intercom-base-unit intercom-dashboard intercom-agent@ intercom-broker; do
		f=$P/lib/systemd/system/$u.service
		[ "$u" = intercom-agent@ ] && { cp "$f" "$T/intercom-agent@cellar-thermo.service"; f=$T/intercom-agent@cellar-thermo.service; }
		# verify checks that every command exists, the man pages too (MANPATH);
		# /usr/sbin/mosquitto is the broker's, not ours.
		v=$(MANPATH=$P/share/man: systemd-analyze verify "$f" 2>&1 | grep -v 'sysinit.target\|^$')
		check "systemd-analyze verify $u.service${v:+: $v}" test -z "$v"
		r=$(systemd-analyze security --offline=yes "$f" 2>&1 | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\) \([A-Z]*\).*/\1 \2/p')
		echo "  rating $u.service: ${r:-none}"
		case $u in
		intercom-base-unit | intercom-dashboard)
			check "systemd-analyze security rates $u.service 2.5 or better (${r:-no rating})" \
				$PY -c "import sys; sys.exit(0 if float('${r%% *}' or 99) <= 2.5 else 1)" ;;
		esac
	done
else
	skip "systemd units: systemd-analyze missing (make deps installs systemd)"
fi

# Bring it all up from the installed paths: the examples as installed, with
# only their ports moved to free ones.
UDP_PORT=$(free_port udp)
HTTP_PORT=$(free_port tcp)
sed -i -e "s/^listen .*/listen 127.0.0.1:$UDP_PORT/" -e "s/^mqtt_port .*/mqtt_port $MQTT_PORT/" \
	-e 's/^#device cellar-thermo .*/device cellar-thermo '"$(cat "$ETC/agents/cellar-thermo.key")"'/' "$ETC/base-unit.conf"
sed -i -e "s/^listen .*/listen 127.0.0.1:$HTTP_PORT/" -e "s/^mqtt_port .*/mqtt_port $MQTT_PORT/" "$ETC/dashboard.conf"
sed -i -e "s/^base .*/base localhost:$UDP_PORT/" -e 's/^interval .*/interval 0.5/' "$ETC/agents/cellar-thermo.conf"
mkdir -p "$T/var/lib/intercom"
watch all base "intercom/#"
for who in base dash agent; do start "notify-$who" "$PY" "$ROOT/tests/tools/notify.py" "$T/$who.sock" "$T/$who.notify"; done
wait_until 5 test -S "$T/agent.sock" -a -S "$T/dash.sock" -a -S "$T/base.sock"
NOTIFY_SOCKET=$T/base.sock WATCHDOG_USEC=400000 start base "$P/bin/intercom-base-unit" -c "$ETC/base-unit.conf"
NOTIFY_SOCKET=$T/agent.sock WATCHDOG_USEC=400000 start agent "$P/libexec/intercom/agent" cellar-thermo
NOTIFY_SOCKET=$T/dash.sock WATCHDOG_USEC=400000 start dash "$P/bin/intercom-dashboard" -c "$ETC/dashboard.conf"
check "the agent's readings reach the broker" wait_until 15 seen all '^intercom/cellar-thermo \{"(cpu_temperature|load)"'
check "the dashboard serves the installed UI ($(grep -o 'static files from [^)]*' "$T/dash.log"))" \
	wait_until 10 bash -c "curl -sf http://127.0.0.1:$HTTP_PORT/login | grep -q '<form' && grep -q 'static files from $P/share/intercom/dashboard' '$T/dash.log'"
check "and shows the reading" wait_until 10 bash -c \
	"curl -s -H 'Authorization: Bearer $TOKEN' http://127.0.0.1:$HTTP_PORT/api/devices | grep -q '\"id\":\"cellar-thermo\".*\"online\":true'"
# a dozen readings (6 s), so the watchdog and the sensor log below have had time
wait_until 20 bash -c "[ \$(grep -c '^intercom/cellar-thermo {\"' '$T/all.watch') -ge 12 ]"
for who in base agent dash; do
	check "$who: READY=1 with a status ($(grep -m1 '^STATUS=' "$T/$who.notify"))" grep -q '^READY=1$' "$T/$who.notify"
	n=$(grep -c '^WATCHDOG=1$' "$T/$who.notify")
	check "$who: the watchdog, every half of WATCHDOG_USEC ($n pings)" test "$n" -ge 4
done
stop agent; stop dash; stop base
if [ ! -e /sys/class/thermal/thermal_zone0/temp ]; then	# the example's CPU sensor, absent here
	n=$(grep -c 'sensor cpu_temperature: cannot open' "$T/agent.log")
	r=$(grep -o 'stopped after [0-9]* readings' "$T/agent.log")
	check "a sensor that is gone is logged at its 1st and 10th failure, not at each ($n lines, $r)" test "$n" = 2 -a "$(echo "$r" | tr -dc 0-9)" -ge 10 -a "$(echo "$r" | tr -dc 0-9)" -lt 100
fi
for who in base agent dash; do
	check "$who: STOPPING=1 when told to stop" grep -q '^STOPPING=1$' "$T/$who.notify"
done
