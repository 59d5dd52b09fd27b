#!/bin/bash
# SIGHUP to the dashboard: logins, tokens and display names change at once.
# A session of a user who is gone, or whose password changed, ends; the
# others go on; a token removed no longer opens the API; a stream hears the
# new names; a file with errors changes nothing; a key that needs a restart
# says so.
source "$(dirname "$0")/../lib.sh"

test_broker
HTTP_PORT=$(free_port tcp)
DASH=http://127.0.0.1:$HTTP_PORT
TOKEN_A=$("$BIN/dashboard" gentoken)
TOKEN_B=$("$BIN/dashboard" gentoken)
H_ALICE=$(echo alice-pw | "$BIN/dashboard" hash-password)
H_BOB=$(echo bob-pw | "$BIN/dashboard" hash-password)
H_CAROL=$(echo carol-pw | "$BIN/dashboard" hash-password)
H_CAROL2=$(echo carol-new | "$BIN/dashboard" hash-password)
conf() {	# LINES...: the dashboard's configuration with these lines
	{ dash_conf "127.0.0.1:$HTTP_PORT"; printf '%s\n' "$@"; } > "$T/dash.conf.new"
	mv "$T/dash.conf.new" "$T/dash.conf"
}
login() {	# USER PASSWORD JAR: prints the status code
	curl -s -o /dev/null -c "$3" -w '%{http_code}' -H "Origin: $DASH" \
		--data-urlencode "user=$1" --data-urlencode "password=$2" "$DASH/login"
}
code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
reloaded() {	# N: the Nth "reloaded" line has come
	wait_until 5 bash -c "[ \$(grep -c 'reloaded .*dash.conf' '$T/dash.log') -ge $1 ]"
}

conf "token $TOKEN_A" "user alice $H_ALICE" "user carol $H_CAROL" 'name lamp "Hall lamp"'
start dash "$BIN/dashboard" -c "$T/dash.conf"
wait_until 10 tcp_listening "$HTTP_PORT" || fail "the dashboard listens"
# the device list, so names show
# shellcheck disable=SC2046
mosquitto_pub $(mqtt_args base) -r -q 1 -t intercom/bridge/devices -m '[{"id":"lamp","kind":"updatable","sensors":[],"controls":[],"online":true}]'
check "alice logs in" test "$(login alice alice-pw "$T/alice")" = 303
check "carol logs in" test "$(login carol carol-pw "$T/carol")" = 303
check "token a opens the API" test "$(code -H "Authorization: Bearer $TOKEN_A" "$DASH/api/devices")" = 200
check "the lamp shows as 'Hall lamp'" wait_until 5 bash -c \
	"curl -s -H 'Authorization: Bearer $TOKEN_A' $DASH/api/devices | grep -q '\"name\":\"Hall lamp\"'"
curl -s -N -H "Authorization: Bearer $TOKEN_A" "$DASH/api/events" > "$T/events" 2>/dev/null &
PIDS+=($!)
PID_events=$!
wait_until 5 grep -q snapshot "$T/events"

echo "# token b instead of a, bob instead of alice, carol's password changed, the lamp renamed"
conf "token $TOKEN_B" "user bob $H_BOB" "user carol $H_CAROL2" 'name lamp "Cellar lamp"'
kill -HUP "$PID_dash"
check "the dashboard says what it took" reloaded 1
check "and how many sessions ended ($(grep -o '[0-9]* sessions\? ended' "$T/dash.log" | tail -n 1))" \
	grep -q 'reloaded .*: 2 users, 1 token, 1 name; 2 sessions ended' "$T/dash.log"
check "it is the same process, still serving" bash -c "kill -0 $PID_dash && [ \$(curl -s -o /dev/null -w '%{http_code}' $DASH/login) = 200 ]"
check "token a no longer opens the API (401)" test "$(code -H "Authorization: Bearer $TOKEN_A" "$DASH/api/devices")" = 401
check "token b does" test "$(code -H "Authorization: Bearer $TOKEN_B" "$DASH/api/devices")" = 200
check "alice's session ended (401)" test "$(code -b "$T/alice" "$DASH/api/devices")" = 401
check "carol's too: her password changed" test "$(code -b "$T/carol" "$DASH/api/devices")" = 401
check "carol logs in with the new one" test "$(login carol carol-new "$T/carol2")" = 303
check "not with the old" test "$(login carol carol-pw "$T/carol3")" = 401
check "bob logs in" test "$(login bob bob-pw "$T/bob")" = 303
check "the open event stream hears the new name" wait_until 5 grep -q '"name":"Cellar lamp"' "$T/events"

echo "# errors, and a key that takes a restart"
cp "$T/dash.conf" "$T/good.conf"
echo "user dave not-a-hash" >> "$T/dash.conf"
kill -HUP "$PID_dash"
check "a file with errors: it keeps what it had" wait_until 5 grep -q \
	'reload: .*dash.conf has errors (above); still running with the configuration as it was' "$T/dash.log"
check "bob's session still works" test "$(code -b "$T/bob" "$DASH/api/devices")" = 200
sed "s/^listen .*/listen 127.0.0.1:$(free_port tcp)/" "$T/good.conf" > "$T/dash.conf"
kill -HUP "$PID_dash"
check "a new 'listen' waits for a restart, and says so" wait_until 5 grep -q \
	"reload: 'listen' changed: it takes effect at the next restart" "$T/dash.log"
check "bob's session survived both" test "$(code -b "$T/bob" "$DASH/api/devices")" = 200
