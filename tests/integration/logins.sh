#!/bin/bash
# Login limits that parallel guesses and address rotation cannot get around,
# and that cannot be turned against the real user: attempts count before the
# password check, per address and per network (/24), one check at a time per
# address; a browser that logged in before is let past them.
source "$(dirname "$0")/../lib.sh"

test_broker
PASS=correct-horse-battery
HASH=$(echo "$PASS" | "$BIN/dashboard" hash-password)
HTTP_PORT=$(free_port tcp)
DASH=http://127.0.0.1:$HTTP_PORT
{ dash_conf 0.0.0.0:$HTTP_PORT; cat <<CONF
user admin $HASH
token $("$BIN/dashboard" gentoken)
login_attempts 5
login_window 60
max_connections_per_address 100
CONF
} > "$T/dash.conf"
start dash "$BIN/dashboard" -c "$T/dash.conf"
wait_until 10 tcp_listening "$HTTP_PORT" || fail "the dashboard listens"

login() {	# FROM JAR PASSWORD: prints the status code
	curl -s -m 30 --interface "$1" -o /dev/null -b "$2" -c "$2" -w '%{http_code}\n' -H "Origin: $DASH" \
		--data-urlencode user=admin --data-urlencode "password=$3" "$DASH/login"
}
checked() {	# password checks that failed so far
	curl -s "$DASH/metrics" -H "Authorization: Bearer $(awk '/^token/ {print $2}' "$T/dash.conf")" |
		awk '/^intercom_dashboard_logins_failed_total / {print $2}'
}

echo "# a browser that logs in once is known from then on"
check "the real user logs in from 127.0.0.1 (303)" test "$(login 127.0.0.1 "$T/known" "$PASS")" = 303
check "and is given the known-browser cookie" grep -q 'intercom_known' "$T/known"

echo "# 60 guesses at once from 127.0.0.2"
W=()
for i in $(seq 1 60); do login 127.0.0.2 "$T/g$i" "guess$i" > "$T/par.$i" & W+=($!); done
wait "${W[@]}"
n401=$(cat "$T"/par.* | grep -c 401); n429=$(cat "$T"/par.* | grep -c 429)
check "at most login_attempts (5) of them were checked ($n401 checked, $n429 refused before the check)" \
	test "$n401" -le 5 -a $((n401 + n429)) -eq 60
c1=$(checked)

echo "# one guess from each of 300 addresses (127.0.1.1 .. 127.0.2.46)"
W=()
for i in $(seq 0 299); do
	login "127.0.$((1 + (i + 1) / 255)).$(((i + 1) % 255 + 1))" "$T/r$i" "rotate$i" > "$T/rot.$i" &
	W+=($!)
	(( i % 50 == 49 )) && { wait "${W[@]}"; W=(); }
done
n401=$(cat "$T"/rot.* | grep -c 401)
check "at most 4 x login_attempts per /24 were checked ($n401 of 300)" test "$n401" -le 40
c2=$(checked)
check "the dashboard's own count agrees ($((c2 - c1)) failed checks)" test $((c2 - c1)) -eq "$n401"

echo "# the real user, while strangers keep guessing"
( for i in $(seq 1 200); do login 127.0.0.3 "$T/h" "again$i" > /dev/null; done ) &
PIDS+=($!)
GUESSER=$!
sleep 1
t0=$(date +%s%N)
code=$(login 127.0.0.2 "$T/known" "$PASS")
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
check "the known browser logs in at once from the blocked address ($code in $ms ms)" \
	test "$code" = 303 -a "$ms" -lt 3000
t0=$(date +%s%N)
code=$(login 127.0.9.1 "$T/new" "$PASS")
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
check "a new browser from another network logs in too ($code in $ms ms)" test "$code" = 303 -a "$ms" -lt 3000
check "a stranger from the blocked network is told to wait (429 with Retry-After)" bash -c \
	"curl -s --interface 127.0.0.2 -D - -o /dev/null -H 'Origin: $DASH' --data-urlencode user=admin --data-urlencode password=x $DASH/login | tr -d '\r' | grep -qi '^retry-after: [0-9]'"
kill "$GUESSER" 2>/dev/null
