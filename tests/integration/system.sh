#!/bin/bash
# The programs behave like system software: one version from the VERSION
# file, --help on stdout with exit 0, a bad command line exit 2 with usage on
# stderr, and log lines with syslog priorities when stderr is the journal.
source "$(dirname "$0")/../lib.sh"

VERSION=$(cat "$ROOT/VERSION")
for p in base-unit dashboard read-unit updatable-unit camera-unit; do
	out=$("$BIN/$p" --version 2> "$T/err"); rc=$?
	check "$p --version says '$p $VERSION', exit 0" [ "$out" = "$p $VERSION" ] && [ $rc -eq 0 ] && [ ! -s "$T/err" ]
	"$BIN/$p" --help > "$T/out" 2> "$T/err"; rc=$?
	check "$p --help: usage on stdout, nothing on stderr, exit 0" \
		grep -q "^usage: $p -c FILE" "$T/out" && [ ! -s "$T/err" ] && [ $rc -eq 0 ]
	"$BIN/$p" --frobnicate > "$T/out" 2> "$T/err"; rc=$?
	check "$p with a bad argument: exit 2, says which, usage on stderr" \
		[ $rc -eq 2 ] && grep -q "unexpected argument '--frobnicate'" "$T/err" && grep -q '^usage:' "$T/err" && [ ! -s "$T/out" ]
done
# (the dashboard's /healthz and Home Assistant's device block carry it too: dashboard.sh, homeassistant.sh)

# A base unit that cannot start (its CA file is missing): one error, and a warning before it.
printf 'listen 127.0.0.1:0\nmqtt_cafile %s/nonexistent/ca.crt\nmqtt_username u\nmqtt_password p\n' "$T" > "$T/bad.conf"
: > "$T/journal"
exec 3>> "$T/journal"
JOURNAL_STREAM=$(stat -c '%d:%i' "$T/journal") "$BIN/base-unit" -c "$T/bad.conf" 2>&3; rc=$?
exec 3>&-
check "it exits 1" [ $rc -eq 1 ]
check "with stderr the journal's stream: the error has priority 3 and says why (the file, the system's words)" \
	grep -q "^<3>error: mqtt: cannot read the CA $T/nonexistent/ca.crt: .*No such file or directory$" "$T/journal"
check "... a warning priority 4, information 6, and no time (the journal has it)" bash -c \
	"grep -q '^<4>warning: ' '$T/journal' && grep -q '^<6>listening on udp' '$T/journal' && ! grep -q '20[0-9][0-9]-' '$T/journal'"
JOURNAL_STREAM=1:2 "$BIN/base-unit" -c "$T/bad.conf" 2> "$T/plain"
check "anywhere else (JOURNAL_STREAM for another stream): readable lines with the time and the level" \
	grep -qE "^20[0-9-]{8}T[0-9:.]{12}Z base-unit error: mqtt: cannot read the CA" "$T/plain"
