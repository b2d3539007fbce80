#!/usr/bin/env bash
# deps.sh - the Debian packages ringmon needs, by group, and installing them.
#
# usage: scripts/deps.sh [--check] [--list] GROUP...   (no GROUP: build)
#   build  the libraries `make` builds with (pkg-config names in README.md)
#   test   build + cmocka, the mock MongoDB server, tmux, Prometheus (promtool,
#          python3-prometheus-client, curl) for e2e_export.sh, Python's headers
#          (make python) and venv, pip, setuptools, wheel for e2e_python_pip.sh
#          (`make test`, CI)
#   demo   build + the mock MongoDB server and tmux (`make demo`)
#   bench  build + LTTng-UST, lttng-tools and babeltrace2 for the peer comparison (`make bench`)
#   fuzz   clang with libFuzzer and the sanitizer runtimes (`make fuzz`)
#   pymongo4  pymongo 4.10 for the pyenv Pythons (3.12+; Debian's python3 has
#          pymongo 3.11): Debian trixie's pure-Python python3-pymongo, -bson,
#          -gridfs, -dnspython
#   coverage  coverage.py 7.6 for the pyenv Pythons (tests/python/test_monitoring.py
#          runs ringmon.monitoring beside it): trixie's python3-coverage, pure
#          Python but for its C tracer, built for 3.13 only (3.12 falls back to
#          coverage's Python tracer; COVERAGE_CORE=sysmon needs neither)
#          Both are fetched with apt-get download through a private sources list
#          and state under $BUILD/deps/apt (the system's apt setup is never read
#          or changed, nothing is installed system-wide) and unpacked with dpkg -x
#          into $BUILD/deps/GROUP (tests put its usr/lib/python3/dist-packages on
#          PYTHONPATH). Done once; both included by test (and pymongo4 by bench).
# --check: only say what is missing (exit 1 if anything is); --list: print the
# packages of the groups. As root, installs what is missing with apt-get;
# otherwise prints the command to run and exits 1. NO_DEPS=1: do nothing (you
# installed them yourself, or the system is not Debian).
# `make` alone never runs this; `make demo|test|bench|fuzz|soak` run it with
# their group, `make deps` with every group.
set -eu
[ -n "${NO_DEPS:-}" ] && exit 0

check=0 list=0 groups=()
for a in "$@"; do
	case $a in
	--check) check=1 ;;
	--list) list=1 ;;
	build | test | demo | bench | fuzz | pymongo4 | coverage) groups+=("$a") ;;
	*) echo "deps.sh: unknown group '$a' (groups: build test demo bench fuzz pymongo4 coverage)" >&2; exit 2 ;;
	esac
done
[ ${#groups[@]} -eq 0 ] && groups=(build)

# Debian trixie's packages of group $1 under $BUILD/deps/$1, fetched once (see the header)
declare -A trixie_debs=([pymongo4]="python3-pymongo python3-bson python3-gridfs python3-dnspython"
			[coverage]="python3-coverage")
declare -A trixie_what=([pymongo4]="pymongo 4.10" [coverage]="coverage.py 7.6")
trixie() { # GROUP: fetches ${trixie_debs[GROUP]}; done when its Python package (GROUP's
	   # first deb without python3-) has its __init__.py
	local g=$1 top dest apt debs what=${trixie_what[$1]}
	read -ra debs <<<"${trixie_debs[$g]}"
	mkdir -p "${BUILD:-build}/deps" && top=$(cd "${BUILD:-build}/deps" && pwd) || return 1
	dest=$top/$g apt=$top/apt
	[ -f "$dest/usr/lib/python3/dist-packages/${debs[0]#python3-}/__init__.py" ] && return 0
	if [ $check -eq 1 ]; then
		echo "missing $what for Python 3.12+ in $dest (scripts/deps.sh $g fetches it)" >&2
		return 1
	fi
	local keyring=/usr/share/keyrings/debian-archive-keyring.gpg
	if ! command -v apt-get >/dev/null || ! command -v dpkg >/dev/null || [ ! -f "$keyring" ]; then
		echo "deps.sh: $what for Python 3.12+ needs apt-get, dpkg and $keyring" \
			"(Debian); without it the tests that need it are skipped" >&2
		return 0
	fi
	echo "fetching Debian trixie's ${debs[*]} into $dest (private apt state in $apt)" >&2
	mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$apt/debs"
	echo "deb [signed-by=$keyring] http://deb.debian.org/debian trixie main" >"$apt/sources.list"
	: >"$apt/status"
	local opts=(-q -o "Dir::Etc::SourceList=$apt/sources.list" -o Dir::Etc::SourceParts=/dev/null
		    -o "Dir::State::Lists=$apt/lists" -o "Dir::State::status=$apt/status"
		    -o "Dir::Cache=$apt/cache" -o APT::Sandbox::User=root)
	apt-get "${opts[@]}" update >"$apt/update.log" 2>&1 ||
		{ echo "deps.sh: apt-get update of trixie's list failed (log: $apt/update.log)" >&2; return 1; }
	rm -f "$apt/debs"/*.deb
	(cd "$apt/debs" && apt-get "${opts[@]}" download "${debs[@]}") >"$apt/download.log" 2>&1 ||
		{ echo "deps.sh: apt-get download ${debs[*]} failed (log: $apt/download.log)" >&2; return 1; }
	rm -rf "$dest.tmp" && mkdir -p "$dest.tmp"
	for d in "$apt/debs"/*.deb; do dpkg -x "$d" "$dest.tmp"; done
	rm -rf "$dest" && mv "$dest.tmp" "$dest"
}
if [ $list -eq 0 ]; then
	for g in "${groups[@]}"; do
		case $g in
		test) (cd "$(dirname "$0")/.." && trixie pymongo4 && trixie coverage) || exit 1 ;;
		bench | pymongo4) (cd "$(dirname "$0")/.." && trixie pymongo4) || exit 1 ;;
		coverage) (cd "$(dirname "$0")/.." && trixie coverage) || exit 1 ;;
		esac
	done
fi

build=(build-essential pkg-config libbson-dev libmongoc-dev liburcu-dev libncurses-dev
       libjson-c-dev libmicrohttpd-dev)
pkgs=()
for g in "${groups[@]}"; do
	case $g in
	build) pkgs+=("${build[@]}") ;;
	test) pkgs+=("${build[@]}" libcmocka-dev python3-mockupdb tmux procps util-linux bc
	            prometheus python3-prometheus-client curl
	            python3-dev python3-venv python3-pip python3-setuptools python3-wheel) ;;
	demo) pkgs+=("${build[@]}" python3-mockupdb tmux procps) ;;
	bench) pkgs+=("${build[@]}" python3-mockupdb tmux procps bc liblttng-ust-dev lttng-tools
	              babeltrace2) ;;
	fuzz) pkgs+=(clang libclang-rt-14-dev pkg-config libjson-c-dev libncurses-dev) ;;
	pymongo4 | coverage) pkgs+=(apt dpkg debian-archive-keyring) ;;
	esac
done
mapfile -t pkgs < <(printf '%s\n' "${pkgs[@]}" | sort -u)
if [ $list -eq 1 ]; then
	echo "${pkgs[*]}"
	exit 0
fi

missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ $check -eq 1 ]; then
	echo "missing Debian packages (${groups[*]}): ${missing[*]}" >&2
	exit 1
fi
if ! command -v apt-get >/dev/null || ! command -v dpkg-query >/dev/null; then
	echo "ringmon (${groups[*]}) needs: ${missing[*]} (Debian names); this is not a Debian" \
		"system: install their equivalents, then run make with NO_DEPS=1" >&2
	exit 1
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "ringmon (${groups[*]}) needs these Debian packages: ${missing[*]}" >&2
	echo "run: sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
	echo "(or, if you have them some other way, run make with NO_DEPS=1)" >&2
	exit 1
fi
echo "installing Debian packages (${groups[*]}): ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
