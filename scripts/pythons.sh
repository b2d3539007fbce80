#!/usr/bin/env bash
# pythons.sh - the CPython interpreters to build ringmon's extension for, one
# per ABI (EXT_SUFFIX), printed as "PATH EXT_SUFFIX INCLUDE_DIR" lines:
# Debian's /usr/bin/python3 (3.11 with Debian's pymongo 3.11), then any 3.12+
# found as pythonX.Y on PATH or under pyenv ($PYENV_ROOT/versions/*).
# PYTHONS="a b" overrides the search. Interpreters whose headers are missing
# are named on stderr and skipped. Exit 1 if none is usable.
set -u
cands=()
if [ -n "${PYTHONS:-}" ]; then
	read -r -a cands <<<"$PYTHONS"
else
	cands=(/usr/bin/python3)
	root=${PYENV_ROOT:-$HOME/.pyenv}
	for v in 3.12 3.13 3.14; do
		p=$(command -v "python$v" 2>/dev/null) && "$p" -c pass 2>/dev/null && cands+=("$p")
		for d in "$root"/versions/"$v".*/bin/python"$v"; do [ -x "$d" ] && cands+=("$d"); done
	done
fi
seen=" " found=0
for p in "${cands[@]}"; do
	[ -x "$p" ] || command -v "$p" >/dev/null 2>&1 || { echo "pythons.sh: $p: not found" >&2; continue; }
	info=$("$p" -c 'import sysconfig as s; print(s.get_config_var("EXT_SUFFIX"), s.get_paths()["include"])' 2>/dev/null) ||
		{ echo "pythons.sh: $p does not run: skipped" >&2; continue; }
	suf=${info%% *} inc=${info#* }
	case $seen in *" $suf "*) continue ;; esac
	if [ ! -f "$inc/Python.h" ]; then
		echo "pythons.sh: $p has no headers ($inc/Python.h; Debian: apt-get install python3-dev): skipped" >&2
		continue
	fi
	seen="$seen$suf "
	echo "$p $suf $inc"
	found=1
done
[ $found -eq 1 ] || { echo "pythons.sh: no CPython with headers found (Debian: apt-get install python3-dev)" >&2; exit 1; }
