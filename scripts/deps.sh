#!/usr/bin/env bash
# Installs the Debian packages ringmon builds, tests and benchmarks with.
# As root it runs apt-get; otherwise it prints the exact command to run and fails.
# Usage: scripts/deps.sh [--check]   (--check: only report whether something is missing)
set -eu
pkgs=(build-essential pkg-config libbson-dev libmongoc-dev libncurses-dev liburcu-dev
      libcmocka-dev libjson-c-dev python3-mockupdb tmux clang libclang-rt-14-dev
      procps util-linux bc liblttng-ust-dev lttng-tools
      libmicrohttpd-dev prometheus python3-prometheus-client curl)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "${1:-}" = "--check" ]; then
	echo "missing Debian packages: ${missing[*]}" >&2
	exit 1
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "ringmon needs these Debian packages: ${missing[*]}" >&2
	echo "run: sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
	exit 1
fi
echo "installing Debian packages: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
