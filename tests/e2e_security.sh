#!/usr/bin/env bash
# e2e_security.sh - who can read, attach to and change a segment (docs/architecture.md, Security):
#  1. segments are 0600 and owned by the producer's user (root, and an ordinary user), whatever the umask;
#  2. another user can neither read nor attach: stats/tail/top/events fail (exit 1, message naming
#     the file, its owner and what to do), cat fails, ls shows the file name and nothing from inside,
#     gc leaves it; root is refused the same way, with a message saying to run as the owner;
#  3. readers change nothing but the control page (event-enable mask), only `events`/`top` toggles
#     change that, only the owner can; a reader's mapping of the segment is read-only;
#  4. a symlink (to the producer's own file, to another user's), a FIFO, a directory, another
#     user's file and a hard link at a segment's name are refused by the producer (it runs on, one
#     message) and never written through; stats/ls/gc refuse or skip them without following;
#     RINGMON_DIR: a symlink is followed, a directory others can write without the sticky bit, or
#     owned by another user, is refused.
# As root it creates the system users ringmon-test1 and ringmon-test2 if missing and leaves them
# (removing them in a trap would pull them from under a concurrent run of this test), and runs
# commands as them with setpriv. The binaries are copied to a mktemp dir (0755) those users can
# reach. Not root: the parts that need other users print SKIP.
set -u
cd "$(dirname "$0")/.." || exit 1
B=${BUILD:-build}
[ -x "$B/ringmon" ] && [ -x "$B/ringmon-loadgen" ] || { echo "build first (make BUILD=$B)"; exit 1; }
pids=() S=rmsec$$
. tests/lib_tui.sh # cap, keys, wait_for, expect on session $CUR of tmux socket $S; counts failures
BIN=$(mktemp -d /tmp/ringmon-sec-bin.XXXXXX)
TGT=$(mktemp -d /dev/shm/ringmon-sec-tgt.XXXXXX) # link targets: the same file system as the segments
export RINGMON_DIR; RINGMON_DIR=$(mktemp -d /dev/shm/ringmon-sec.XXXXXX)
D=$RINGMON_DIR
cleanup() {
	tui_stop
	for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$BIN" "$TGT" "$D" "$D".*
}
trap cleanup EXIT
trap 'exit 1' INT TERM
chmod 755 "$BIN" "$TGT"
cp "$B/ringmon" "$B/ringmon-loadgen" "$BIN/"
RM=$BIN/ringmon LG=$BIN/ringmon-loadgen
cd "$BIN" || exit 1 # a cwd every user can reach

verdict() { if [ "$1" -eq 0 ]; then ok "$2"; else bad "$2"; fi; } # STATUS NAME
skip() { echo "SKIP $1"; }
has() { grep -qF -- "$2" <<<"$1"; } # TEXT SUBSTRING

ME=$(id -un) ROOT=0
[ "$(id -u)" -eq 0 ] && ROOT=1
U1=ringmon-test1 U2=ringmon-test2
if [ $ROOT = 1 ]; then
	chmod 1777 "$D" # like /dev/shm
	for u in $U1 $U2; do
		id -u $u >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin $u 2>/dev/null
		id -u $u >/dev/null 2>&1 || { echo "cannot create user $u (useradd failed)"; exit 1; }
	done
	AS_U1=(setpriv --reuid="$U1" --regid="$(id -g "$U1")" --clear-groups)
	AS_U2=(setpriv --reuid="$U2" --regid="$(id -g "$U2")" --clear-groups)
else
	skip "checks with other users (another user or root reading this user's segment, traps planted by another user, a directory of another user): not root, so no users can be made to run them as"
fi
# shellcheck disable=SC2034 # used through namerefs
AS_ME=(env)

# start_lg AS-ARRAY-NAME ARGS...: a loadgen in the background as that user -> pid in $P, once its types are readable by root/self
start_lg() {
	local -n as=$1; shift
	"${as[@]}" "$LG" --synthetic --threads 1 "$@" >/dev/null 2>&1 & P=$!
	pids+=("$P")
	wait_until 20 "loadgen $P makes its segment with its types" lg_ready "$D/ringmon.$P" && return 0
	bad "setup: $WAITED"; return 1
}
# lg_ready FILE: a segment with a layout version and at least 2 types registered
lg_ready() {
	[ -s "$1" ] && [ "$(od -An -tu4 -j8 -N4 "$1" 2>/dev/null | tr -d ' ')" != 0 ] &&
		[ "$(od -An -tu4 -j184 -N4 "$1" | tr -d ' ')" -ge 2 ]
}
wait_stopped() { wait_until 20 "process $1 stops (SIGSTOP)" stopped "$1"; }
# mapped PID FILE: PID has FILE mapped
mapped() { grep -qF " $2" "/proc/$1/maps" 2>/dev/null; }
# snap PATH: what it is, its mode, owner, times, target, and the contents of a regular file (never opens a FIFO)
snap() { ls -ld --time-style=+%s.%N "$1" 2>&1; if [ -f "$1" ]; then sha256sum <"$1"; fi; if [ -d "$1" ]; then ls -A "$1"; fi; }
content() { stat -c '%a %U %s %Y' "$1" 2>&1; if [ -f "$1" ]; then sha256sum <"$1"; fi; }
mask() { od -An -tx8 -j4096 -N8 "$1" | tr -d ' '; }
ctl_hash() { dd if="$1" bs=4096 skip=1 count=1 status=none | sha256sum | cut -c1-64; }
rest_hash() { { head -c 4096 "$1"; tail -c +8193 "$1"; } | sha256sum | cut -c1-64; }
# maps_ro PID FILE: PID maps FILE whole (offset 0, the file's size) and only read-only, but
# for a one-page read-write mapping of the control page (offset 0x1000) while it toggles a type
maps_ro() {
	local size whole=0 range perm off rest
	size=$(stat -c %s "$2")
	while read -r range perm off _ _ rest; do
		[ "$rest" = "$2" ] || continue
		local lo=$((16#${range%-*})) hi=$((16#${range#*-}))
		if [ "$perm" = r--s ]; then
			[ $((16#$off)) -eq 0 ] && [ $((hi - lo)) -eq "$size" ] && whole=1
		elif [ "$perm" != rw-s ] || [ $((16#$off)) -ne 4096 ] || [ $((hi - lo)) -ne 4096 ]; then
			echo "  writable mapping: $range $perm $off"; return 1
		fi
	done </proc/"$1"/maps
	[ $whole = 1 ] || { echo "  no whole read-only mapping of $2 in $1:"; grep -F "$2" /proc/"$1"/maps; }
	[ $whole = 1 ]
}

# ---- 1 and 2: an ordinary user's producer; another user and root cannot read it ----
if [ $ROOT = 1 ]; then
	old=$(umask); umask 000
	start_lg AS_U1 --rate 20000 --seconds 600 # killed below: outlives every check on a slow machine
	umask "$old"
	P1=$P F1=$D/ringmon.$P1
	check "ordinary user's segment is 0600, owned by $U1 (umask 000)" [ "$(stat -c '%a %U' "$F1")" = "600 $U1" ]
	m0=$(mask "$F1")
	for cmd in "stats" "stats --json" "tail" "tail --from-start" "top --once" "top" "events" "events --disable all"; do
		# shellcheck disable=SC2086
		err=$(timeout 30 "${AS_U2[@]}" "$RM" $cmd "$P1" </dev/null 2>&1 >/dev/null); rc=$?
		if [ $rc -eq 1 ] && has "$err" "$F1" && has "$err" "permission denied" && has "$err" "user $U1" &&
			has "$err" "run ringmon as that user"; then ok "$U2: ringmon $cmd of $U1's producer exits 1, says why"
		else bad "$U2: ringmon $cmd of $U1's producer: exit $rc: $err"; fi
	done
	check "$U2's events --disable left the mask unchanged" [ "$(mask "$F1")" = "$m0" ]
	"${AS_U2[@]}" cat "$F1" >/dev/null 2>&1; check "$U2 cannot open the file (cat fails)" [ $? -ne 0 ]
	out=$("${AS_U2[@]}" "$RM" ls 2>&1); rc=$?
	line=$(grep -E "^$P1 " <<<"$out")
	if [ $rc -eq 0 ] && has "$line" unreadable && ! has "$line" ringmon-loadgen && ! has "$line" live; then
		ok "$U2's ls shows $U1's segment as unreadable, nothing from inside it"
	else bad "$U2's ls: exit $rc: $out"; fi
	js=$("${AS_U2[@]}" "$RM" ls --json | python3 -c "import json,sys; print(sorted([s for s in json.load(sys.stdin) if s['pid']==$P1][0]))")
	check "$U2's ls --json: only pid, path, state and the error ($js)" [ "$js" = "['error', 'path', 'pid', 'state']" ]
	out=$("${AS_U2[@]}" "$RM" gc 2>&1); rc=$?
	[ $rc -eq 0 ] && [ -e "$F1" ] && ! has "$out" "$F1"; verdict $? "$U2's gc leaves $U1's live segment alone, quietly (exit $rc: $out)"
	# root: refused too, told to run as the owner
	err=$("$RM" stats "$P1" 2>&1 >/dev/null); rc=$?
	if [ $rc -eq 1 ] && has "$err" "$F1" && has "$err" "belongs to user $U1" && has "$err" "run it as that user"; then
		ok "root: stats of $U1's segment refused, says to run as $U1"
	else bad "root: stats of $U1's segment: exit $rc: $err"; fi
	err=$("$RM" events "$P1" --disable all 2>&1 >/dev/null); rc=$?
	[ $rc -eq 1 ] && [ "$(mask "$F1")" = "$m0" ]; verdict $? "root: events --disable refused (exit $rc), mask unchanged"
	"$RM" ls | grep -E "^$P1 .*unreadable: .*belongs to user $U1" -q; check "root's ls says whose it is" [ $? -eq 0 ]
	# the owner can
	"${AS_U1[@]}" "$RM" stats "$P1" --json >/dev/null; check "$U1 reads its own segment" [ $? -eq 0 ]
	"${AS_U1[@]}" "$RM" events "$P1" --disable synthetic.tick | grep -qx "off synthetic.tick"
	[ $? -eq 0 ] && [ "$(mask "$F1")" != "$m0" ]; verdict $? "$U1 turns a type off (mask changed)"
	"${AS_U1[@]}" "$RM" events "$P1" --enable synthetic.tick >/dev/null
	check "$U1 turns it on again" [ "$(mask "$F1")" = "$m0" ]
	# dead: gc by another user or root never removes it; its owner's does
	kill -9 "$P1"; wait "$P1" 2>/dev/null
	"${AS_U2[@]}" "$RM" gc >/dev/null 2>&1; rc2=$?
	"$RM" gc >/dev/null 2>&1; rc0=$?
	[ -e "$F1" ] && [ $rc2 -eq 0 ] && [ $rc0 -eq 0 ]; verdict $? "dead: $U2's and root's gc leave $U1's file (exit $rc2, $rc0)"
	"${AS_U1[@]}" "$RM" gc | grep -qF "removed $F1"; [ $? -eq 0 ] && [ ! -e "$F1" ]; verdict $? "dead: $U1's gc removes it"
fi

# ---- 3 (and 1 for root): readers change nothing but the control page ----
old=$(umask); umask 000
RINGMON_KEYS=16 start_lg AS_ME --rate 20000 --seconds 600 # killed below
umask "$old"
P3=$P F3=$D/ringmon.$P3
check "$ME's segment is 0600, owned by $ME (umask 000)" [ "$(stat -c '%a %U' "$F3")" = "600 $ME" ]
need 20 "$P3 counts synthetic.op" counted "$P3" synthetic.op
kill -STOP "$P3"; wait_stopped "$P3" || bad "$WAITED"
h0=$(rest_hash "$F3") c0=$(ctl_hash "$F3") m0=$(mask "$F3")
"$RM" tail "$P3" >/dev/null 2>&1 & tp=$!; pids+=("$tp")
wait_until 20 "tail $tp maps $F3" mapped "$tp" "$F3" || bad "$WAITED"
check "a running tail maps the segment read-only" maps_ro "$tp" "$F3"
kill "$tp"; wait "$tp" 2>/dev/null
fails=()
for cmd in "ls" "ls --json" "stats $P3" "stats $P3 --json" "stats $P3 --interval 0.1 --count 2" \
	"tail $P3 --from-start --count 20" "tail $P3 --json --from-start --count 20" "events $P3" \
	"top --once -d 100 $P3" "gc"; do
	# shellcheck disable=SC2086
	timeout 30 "$RM" $cmd >/dev/null 2>&1 || fails+=("$cmd")
done
timeout 0.5 "$RM" tail "$P3" >/dev/null 2>&1 # waits for records: stopped by timeout
check "every reader command ran (failed: ${fails[*]})" [ ${#fails[@]} -eq 0 ]
check "readers changed nothing outside the control page" [ "$(rest_hash "$F3")" = "$h0" ]
check "readers changed nothing in the control page" [ "$(ctl_hash "$F3")" = "$c0" ]
"$RM" events "$P3" --disable synthetic.tick >/dev/null
m1=$(mask "$F3")
check "events --disable changes the mask ($m0 -> $m1)" [ "$m1" != "$m0" ]
"$RM" events "$P3" --enable synthetic.tick >/dev/null
check "events --enable restores it" [ "$(mask "$F3")" = "$m0" ]
check "events changed nothing outside the control page" [ "$(rest_hash "$F3")" = "$h0" ]
if command -v tmux >/dev/null; then
	tui_run top 120x40 "exec env RINGMON_DIR=$D LANG=C.UTF-8 $RM top $P3"
	tpid=$("${T[@]}" display -p -t top '#{pane_pid}')
	pids+=("$tpid")
	expect "top attached" "synthetic\.tick"
	check "a running top maps the segment read-only" maps_ro "$tpid" "$F3"
	keys e; wait_for "\[x\] synthetic\.tick"
	keys j ' '; expect "top's e panel shows tick off" "\[ \] synthetic\.tick"
	check "top's toggle changed the mask" [ "$(mask "$F3")" = "$m1" ]
	keys ' '; wait_for "\[x\] synthetic\.tick"
	check "top's second toggle restored it" [ "$(mask "$F3")" = "$m0" ]
	check "still read-only after toggling" maps_ro "$tpid" "$F3"
	keys Escape q
	wait_until 20 "top $tpid ends on q" gone "$tpid" || bad "$WAITED"
	check "top changed nothing outside the control page" [ "$(rest_hash "$F3")" = "$h0" ]
else
	skip "top in tmux: tmux is not installed (scripts/deps.sh installs it)"
fi
if [ $ROOT = 1 ]; then
	err=$("${AS_U2[@]}" "$RM" events "$P3" --disable all 2>&1 >/dev/null); rc=$?
	[ $rc -eq 1 ] && has "$err" "$F3"; verdict $? "$U2's events --disable of root's producer: exit $rc, names the file"
	check "... and the mask is unchanged" [ "$(mask "$F3")" = "$m0" ]
fi
kill -CONT "$P3"; kill -9 "$P3"; wait "$P3" 2>/dev/null

# ---- 4: traps at a segment's name ----
# trap_case PRODUCER-AS-ARRAY-NAME PRODUCER-USER PLANTER-AS-ARRAY-NAME KIND: a stopped shell whose
# pid is known execs the producer once KIND is planted at ringmon.<pid>
trap_case() {
	local -n pas=$1 plant=$3
	local pu=$2 kind=$4
	"${pas[@]}" bash -c 'kill -STOP $$; exec "$0" "$@"' "$LG" --synthetic --threads 1 --rate 5000 --seconds 0.3 \
		>"$BIN/out" 2>"$BIN/err" & local p=$!
	pids+=("$p")
	wait_stopped "$p" || { bad "$kind: $WAITED"; return; }
	local f=$D/ringmon.$p t=$TGT/$kind.$p
	case $kind in
	symlink-own)
		echo "precious $kind" >"$t"; chown "$pu" "$t"; chmod 600 "$t"; "${plant[@]}" ln -s "$t" "$f" ;;
	symlink-other)
		echo "precious $kind" >"$t"; chown $U2 "$t"; chmod 666 "$t"; "${plant[@]}" ln -s "$t" "$f" ;;
	fifo) "${plant[@]}" mkfifo -m 666 "$f" ;;
	dir) "${plant[@]}" mkdir -m 777 "$f" ;;
	file-other) "${plant[@]}" sh -c "echo 'precious $kind' >'$f'; chmod 666 '$f'" ;;
	hardlink)
		echo "precious $kind" >"$t"; chown "$pu" "$t"; chmod 600 "$t"; ln "$t" "$f" ;;
	esac
	local before_t before_f before_c; before_t=$(snap "$t") before_f=$(snap "$f") before_c=$(content "$t")
	kill -CONT "$p"
	wait_until 20 "the producer $p ends" gone "$p" || { bad "$pu, $kind: the producer hangs: $WAITED"; kill -9 "$p"; }
	wait "$p"; local rc=$? err
	err=$(cat "$BIN/err")
	local n; n=$(awk '/^emitted/ {print $2}' "$BIN/out")
	if [ $rc -eq 0 ] && [ "${n:-0}" -gt 0 ] && [ "$(wc -l <"$BIN/err")" -eq 1 ] && has "$err" "monitoring is off" &&
		has "$err" "$f already exists"; then ok "$pu, $kind: refused, the program ran on, one message"
	else bad "$pu, $kind: exit $rc, emitted ${n:-none}, stderr: $err"; fi
	# readers as the producer's user: refuse or skip it, never follow, never hang
	local rerr rrc lrc grc
	rerr=$(timeout 30 "${pas[@]}" "$RM" stats "$p" 2>&1 >/dev/null); rrc=$?
	timeout 30 "${pas[@]}" "$RM" ls 2>&1 | grep -E "^$p .*unreadable" -q; lrc=$?
	timeout 30 "${pas[@]}" "$RM" gc >/dev/null 2>&1; grc=$?
	[ $rrc -eq 1 ] && has "$rerr" "$f" && [ $lrc -eq 0 ] && [ $grc -eq 0 ]; verdict $? "$pu, $kind: stats refuses (exit $rrc), ls shows unreadable, gc runs (exit $grc)"
	if [ $kind = hardlink ]; then # gc may remove the user's own unreadable file at a dead pid's name: one link
		check "$pu, $kind: the linked file is untouched" [ "$(content "$t")" = "$before_c" ]
	else
		[ "$(snap "$t")" = "$before_t" ] && [ "$(snap "$f")" = "$before_f" ]; verdict $? "$pu, $kind: left in place, the target untouched (not followed, written or removed)"
	fi
	rm -rf "$f"
}
if [ $ROOT = 1 ]; then
	for kind in symlink-own symlink-other fifo dir file-other hardlink; do
		trap_case AS_U1 $U1 AS_U2 $kind
		trap_case AS_ME root AS_U2 $kind
	done
else
	for kind in symlink-own fifo dir hardlink; do trap_case AS_ME "$ME" AS_ME $kind; done
	skip "traps of another user: not root"
fi

# ---- RINGMON_DIR ----
# dir_case DESC EXPECT(ok|refused) DIR [AS-ARRAY-NAME]
dir_case() {
	local desc=$1 want=$2 dir=$3
	local -n das=${4:-AS_ME}
	RINGMON_DIR=$dir "${das[@]}" "$LG" --synthetic --threads 1 --rate 5000 --seconds 0.3 >"$BIN/out" 2>"$BIN/err"
	local rc=$? err n
	err=$(cat "$BIN/err"); n=$(awk '/^emitted/ {print $2}' "$BIN/out")
	if [ "$want" = ok ]; then
		[ $rc -eq 0 ] && [ -z "$err" ]; verdict $? "RINGMON_DIR $desc: used (exit $rc, $err)"
	else
		[ $rc -eq 0 ] && [ "${n:-0}" -gt 0 ] && [ "$(wc -l <"$BIN/err")" -eq 1 ] && has "$err" "$dir" && [ -z "$(ls -A "$(readlink -f "$dir")")" ]; verdict $? "RINGMON_DIR $desc: refused, the program ran on, one message (exit $rc: $err)"
	fi
}
mkdir -m 700 "$D.real"
ln -s "$D.real" "$D.link"
RINGMON_DIR=$D.link RINGMON_KEEP=1 "$LG" --synthetic --threads 1 --seconds 0.2 >/dev/null 2>"$BIN/err"
kp=$(ls "$D.real" | sed -n 's/^ringmon\.//p' | head -1)
[ -n "$kp" ] && [ ! -s "$BIN/err" ]; verdict $? "RINGMON_DIR a symlink to a private dir: followed"
RINGMON_DIR=$D.link "$RM" stats "$kp" >/dev/null; check "readers follow it too" [ $? -eq 0 ]
mkdir -m 777 "$D.open"; chmod 777 "$D.open"
dir_case "world-writable without sticky bit" refused "$D.open"
mkdir "$D.group"; chmod 770 "$D.group"
dir_case "group-writable without sticky bit" refused "$D.group"
mkdir "$D.sticky"; chmod 1777 "$D.sticky"
dir_case "world-writable with sticky bit" ok "$D.sticky"
if [ $ROOT = 1 ]; then
	mkdir "$D.u2"; chown $U2 "$D.u2"; chmod 1777 "$D.u2"
	dir_case "owned by another user" refused "$D.u2" AS_U1
fi

# 5. a kept segment outlives /proc/PID/cmdline: credentials in a URI on the command line never
#    reach it (the argv[0] given by exec -a stands for any argument)
mkdir -m 700 "$D.argv"
RINGMON_DIR=$D.argv RINGMON_KEEP=1 bash -c 'exec -a "mongodb://alice:s3cretPW@db.example:27017/?authSource=admin" "$0" "$@"' \
	"$LG" --synthetic --threads 1 --seconds 0.2 >/dev/null 2>&1
ap=$(ls "$D.argv" | sed -n 's/^ringmon\.//p' | head -1)
[ -n "$ap" ] && ! grep -qa s3cretPW "$D.argv/ringmon.$ap" \
	&& RINGMON_DIR=$D.argv "$RM" ls --json | grep -qF 'mongodb:\/\/***@db.example:27017'
verdict $? "a URI's user:password on the command line is stored as ***@ (segment bytes, ls --json)"

checks_done e2e_security
