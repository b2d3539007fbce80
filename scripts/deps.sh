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
	build | test | demo | bench | fuzz) groups+=("$a") ;;
	*) echo "deps.sh: unknown group '$a' (groups: build test demo bench fuzz)" >&2; exit 2 ;;
	esac
done
[ ${#groups[@]} -eq 0 ] && groups=(build)

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
