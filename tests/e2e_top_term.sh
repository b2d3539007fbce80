#!/usr/bin/env bash
# e2e_top_term.sh - `ringmon top`'s terminal behaviour, in tmux panes at 80x24 (the
# default ssh and tmux size) and 200x50, against the MongoDB loadgen on the
# scripted replica set:
# - a terminal that cannot position the cursor (TERM=dumb) or an unknown TERM is
#   refused at once, one line naming --once, exit 1
# - SIGTERM, SIGHUP and SIGINT end top with 128 + signal, the terminal restored
# - at 80x24 every view keeps its important columns (whole command names,
#   Servers' LAST and ERRORS, whole Events fields, the histogram's %, one label
#   per number in Pool, status lines cut only between hints); at 200x50 all
#   columns show
# - F-keys mean one thing everywhere (F4 filter, F6 sort; F3/F4/F6 never switch
#   views), and in a view without that feature they say where it works
# - help is the key table: Enter's meaning in every view
# - a paused Events view scrolls by screenfuls and Home shows a full screen
# - `top --once -v N` prints every view as plain text (6, Functions: none in a C program)
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
S=rmterm$$ CUR=rmterm$$-0
. tests/lib_tui.sh
export RINGMON_DIR=$(mktemp -d /tmp/ringmon-e2e-term.XXXXXX)
W=$RINGMON_DIR/work
mkdir "$W"
pids=()
cleanup() {
	tui_stop
	local i
	for ((i = ${#pids[@]} - 1; i >= 0; i--)); do kill "${pids[i]}" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$RINGMON_DIR"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
# start_top WIDTH HEIGHT ENV...: top on $LG in a new session; its pid goes to $W/top.pid
start_top() {
	local w=$1 h=$2
	shift 2
	rm -f "$W/top.pid"
	tui_run "$S-$((${CUR##*-} + 1))" "${w}x$h" \
		"env RINGMON_DIR=$RINGMON_DIR LANG=C.UTF-8 $* sh -c 'echo \$\$ >$W/top.pid; exec $BUILD/ringmon top $LG'; echo TOP-EXIT=\$?; stty -a | tr ' ' '\n' | grep -x -- '-\?icanon'"
}
# rows of the pane between the tab bar and the view's status line
body() { cap | sed -n "3,$(($1 - 2))p"; }

[ -x "$BUILD/ringmon" ] && [ -x "$BUILD/ringmon-loadgen" ] || { echo "build first"; exit 1; }
command -v tmux >/dev/null || { echo "tmux missing (scripts/deps.sh installs it)"; exit 1; }
mongo_loadgen 2 300 --latency-ms 1 --error-rate 0.05 --max-seconds 300

# ---- terminals that cannot draw: refused at once, one line naming --once ----
# (a hardcopy terminal, from a terminfo entry of our own, told as such)
mkdir -p "$W/terminfo"
printf 'ringmon-hardcopy|a hardcopy terminal,\n\tam, hc, cols#80,\n\tbel=^G, cr=\\r, cud1=\\n, ind=\\n,\n' >"$W/hc.src"
tic -o "$W/terminfo" "$W/hc.src" 2>/dev/null || bad "tic could not compile a hardcopy entry"
for term in dumb ringmon-no-such-terminal ringmon-hardcopy; do
	start_top 100 30 TERMINFO=$W/terminfo TERM=$term
	if wait_for "TOP-EXIT="; then
		rc=$(cap | sed -n 's/^TOP-EXIT=//p')
		lines=$(cap | grep -c "ringmon top:")
		if [ "$rc" = 1 ] && [ "$lines" = 1 ] && cap | grep -q -- "--once"; then
			ok "TERM=$term: refused at once, exit 1, one line naming --once"
			[ $term != ringmon-hardcopy ] || cap | grep -q "is a hardcopy terminal" &&
				ok "TERM=$term: said why" || bad "TERM=$term: the reason is not given: $(cap | grep 'ringmon top:')"
		else bad "TERM=$term: exit $rc, $lines message line(s)"; cap | sed 's/^/     | /'; fi
	else
		bad "TERM=$term: top still runs (expected a refusal naming --once): $WAITED"; show
	fi
done

# ---- a signal that kills top: 128 + signal, terminal restored ----
for sig in TERM:143 HUP:129 INT:130; do
	start_top 100 30
	expect "top runs ($sig)" "pid $LG ringmon-loadgen"
	need 20 "top writes its pid" test -s "$W/top.pid"
	kill -"${sig%:*}" "$(cat "$W/top.pid")"
	expect "SIG${sig%:*} ends top with status ${sig#*:}" "TOP-EXIT=${sig#*:}"
	if wait_for "^-?icanon$" && cap | grep -qx "icanon"; then ok "SIG${sig%:*}: terminal back in canonical mode"
	else bad "SIG${sig%:*}: terminal left raw"; cap | sed 's/^/     | /'; fi
done

# ---- 80x24: the important columns stay ----
start_top 80 24
expect "top at 80x24" "pid $LG ringmon-loadgen"
keys 2
expect "Commands: findAndModify's name whole at 80 columns" "^ findAndModify +[0-9]+ "
expect "Commands: COUNT RATE/s FAIL WERR P50 P99 kept" "COMMAND +COUNT. +RATE/s +FAIL +WERR .*P50 .*P99"
if cap | sed -n 24p | grep -q "F1Help" && cap | sed -n 23p | grep -Eq "commands, sort: COUNT( +[^ ].*[a-z])?$"; then
	ok "Commands: status line ends with a whole hint"
else bad "Commands status line"; cap | sed 's/^/     | /'; fi
keys Enter
expect "Commands detail: histogram rows show their share in %" "^ *[0-9.]+[nmu]?s-[0-9.]+[nmu]?s .* [0-9]+ +[0-9.]+%$"
keys Escape 3
expect "Servers: LAST and ERRORS at 80 columns" "^ SERVER +TYPE +RTT P50 .*LAST +ERRORS"
expect "Servers: a server row with its last heartbeat and errors" "^ 127\.0\.0\.1:[0-9]+ +[A-Za-z-]+ .* ago +[0-9]+$"
keys 4
expect "Pool: one label per number" "^ checkouts [0-9]+ \([0-9.]+k?/s\) +in use [0-9]+ +timeouts [0-9]+"
if [ "$(cap | sed -n 3p | grep -o checkouts | wc -l)" = 1 ]; then ok "Pool: 'checkouts' labels one number"
else bad "Pool title repeats a label: $(cap | sed -n 3p)"; fi
expect "Pool: histogram share with its %" " [0-9]+ +[0-9.]+%$"
keys 5
expect "Events at 80 columns" "command\.(started|succeeded)"
# a full screen of events first
full_events() { [ "$(body 24 | sed 1d | grep -c "^ [0-9][0-9]:[0-9][0-9]:")" -ge 19 ]; }
need 20 "the Events view fills its 19 rows" full_events
# every event row ends with a whole field (name=number, or name=the value's name:
# origin=server, code=MaxTimeMSExpired(50)), perhaps with the marker right after
# it, a marker, or a duration/-
cut_rows=$(body 24 | sed 1d | awk '{ print $NF }' |
	grep -Evc '^([a-z_0-9]+=(-?[0-9]+|[A-Za-z_]+|[A-Za-z]+\([0-9]+\)|-)…?|…|-|[0-9.]+[num]?s)$')
[ "$cut_rows" = 0 ] && ok "Events: fields whole or cut with a marker at 80 columns" \
	|| { bad "Events: $cut_rows row(s) cut mid-field"; cap | sed 's/^/     | /'; }

# ---- a paused Events view scrolls by screenfuls ----
keys Home
expect "Home pauses and shows the oldest screenful" "PAUSED: 1-19 of [0-9]+"
full=$(body 24 | sed 1d | grep -c "^ [0-9][0-9]:[0-9][0-9]:")
[ "$full" = 19 ] && ok "Home: a full screen of events (19 rows)" || { bad "Home shows $full of 19 rows"; cap | sed 's/^/     | /'; }
keys NPage
expect "PgDn moves one screenful" "PAUSED: 20-38 of"
keys PPage
expect "PgUp moves one screenful back" "PAUSED: 1-19 of"
keys End p

# ---- F-keys mean one thing everywhere ----
keys 1
expect "Overview" "Events/s over the last minute"
keys F6
expect "F6 in Overview says where it sorts" "F6 \(in Commands, Functions\): sort by the next column"
cap | grep -q "Events/s over the last minute" && ok "F6 does not switch views" || bad "F6 switched views"
keys F3
holds 1 on_screen "Events/s over the last minute" && ok "F3 does not switch views (for 1 s)" || bad "F3 switched views"
keys 3 F4
expect "F4 in Servers says where it filters" "F4 \(in Commands, Events, Functions\): filter by text"
cap | grep -q "^ SERVER " && ok "F4 does not switch views" || bad "F4 switched views"
keys 2 F4 i n s Enter
expect "F4 filters in Commands" "filter: ins"
[ "$(body 24 | grep -cE '^ [a-zA-Z]+ +[0-9]+ ')" = 1 ] && ok "F4 filter keeps only insert" || { bad "F4 filter"; cap | sed 's/^/     | /'; }
keys Escape F6
expect "F6 sorts in Commands" "RATE/s[▼v]"
keys 5 F4
expect "F4 filters in Events" "filter: _"
keys Escape t
expect "t picks a type in Events" " type: [a-z]+\.[a-z_.]+ +(kept|PAUSED)"
cap | grep -q "filter: *kept" && bad "a type alone shows an empty 'filter:'" || ok "a type alone shows no empty 'filter:'"
keys q
expect "q quits" "TOP-EXIT=0"

# ---- 200x50: every column, help drawn from the key table ----
start_top 200 50
expect "top at 200x50" "pid $LG ringmon-loadgen"
keys 2
expect "Commands at 200 columns: WERR MEAN P90 P99.9 MAX too" "COUNT. +RATE/s +FAIL +WERR +MEAN +P50 +P90 +P99 +P99\.9 +MAX"
keys 3
expect "Servers at 200 columns: RTT P99 and HEARTBEATS too" "SERVER +TYPE +RTT P50 +RTT P99 +HEARTBEATS +LAST +ERRORS"
keys 5
expect "Events at 200 columns: whole command events" "command\.started .* request_id=[0-9]+ operation_id=[0-9]+ conn_id=[0-9]+ port=[0-9]+$"
keys F1
expect "help: Enter in Overview" "Enter +Overview: Events view of the selected type"
expect "help: Enter in Commands" "Enter Right +Commands, Functions: detail of the selected command or function"
expect "help: Enter where it opens nothing" "Enter +Servers, Pool, Events: nothing to open here"
expect "help: F4 filter" "/ F4 +Commands, Events, Functions: filter by text"
expect "help: F6 sort" "> \. F6 +Commands, Functions: sort by the next column"
keys x
expect "any other key closes help" "TIME +TID +TYPE"
keys q

# ---- --once: every view as plain text ----
for v in 1 2 3 4 5 6; do
	COLUMNS=80 "$BUILD/ringmon" top --once -d 300 -v $v "$LG" >"$W/once.$v" 2>&1
	rc=$?
	width=$(LC_ALL=C.UTF-8 wc -L <"$W/once.$v")
	if [ $rc = 0 ] && ! grep -q $'\e' "$W/once.$v" && [ "$width" -le 80 ] && head -1 "$W/once.$v" | grep -q "^pid $LG "; then
		ok "--once -v $v: plain text, $(wc -l <"$W/once.$v") lines, width $width"
	else bad "--once -v $v: exit $rc, width $width"; sed 's/^/     | /' "$W/once.$v" | head -20; fi
done
grep -q "^findAndModify " "$W/once.2" && grep -q "P99" "$W/once.2" && ok "--once -v 2: the Commands table" || bad "--once -v 2"
grep -q "^SERVER .*ERRORS" "$W/once.3" && ok "--once -v 3: the Servers table" || bad "--once -v 3"
grep -q "checkout wait histogram" "$W/once.4" && ok "--once -v 4: the Pool" || bad "--once -v 4"
grep -q " command\.started " "$W/once.5" && ok "--once -v 5: events" || bad "--once -v 5"
grep -q "no Python function latencies in this process" "$W/once.6" &&
	ok "--once -v 6: Functions says a C program has none" || bad "--once -v 6"
# its hint goes on over the next row at 80 columns, every word whole
hint=$(sed -n '/^ (python.call/,/)$/p' "$W/once.6" | tr -s ' \n' ' ')
[ "$hint" = " (python.call appears once a Python 3.12+ program runs under \`python -m ringmon run --functions 'PATTERN'\` or calls ringmon.monitoring.start()) " ] &&
	ok "--once -v 6: the hint wraps at 80 columns, whole" || { bad "--once -v 6: the hint"; sed 's/^/     | /' "$W/once.6"; }
# no key can be pressed in --once's text: no key hints in it
cat "$W"/once.[1-6] | grep -qE "F4: filter|F6: sort|p: pause|Enter: detail" &&
	bad "--once prints key hints" || ok "--once prints no key hints"

echo
checks_done e2e_top_term
