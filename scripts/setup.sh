#!/usr/bin/env bash
# Installs what umlab needs on a Debian machine, and says what it does.
#   bash scripts/setup.sh          runtime packages + npm dependencies
#   bash scripts/setup.sh --test   also what the tests need (tshark, iperf3, chromium)
# Idempotent: installs only what is missing. Needs root for apt-get; as an
# ordinary user it prints the exact command to run instead.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# e2fsprogs and debootstrap: `umlab image build` (mkfs.ext4 -d); uml-utilities also gives `umlab disk merge` its uml_moo.
# gcc and libc6-dev: umlab builds its UML register fix (native/xstate-fix.c) on first use.
# g++, make and python3: `npm ci` builds better-sqlite3's addon (umlab class) with node-gyp
# when its prebuilt binary cannot be downloaded (no access to GitHub); headers from nodejs.
RUNTIME_PACKAGES=(user-mode-linux gcc g++ make python3 libc6-dev uml-utilities passt iproute2 iptables kmod iputils-ping util-linux coreutils mount socat traceroute busybox udhcpc tcpdump e2fsprogs debootstrap)
TEST_PACKAGES=(tshark iperf3 netcat-openbsd chromium)

packages=("${RUNTIME_PACKAGES[@]}")
[ "${1:-}" = "--test" ] && packages+=("${TEST_PACKAGES[@]}")

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "umlab setup: missing Debian packages: ${missing[*]}" >&2
    echo "umlab setup: install them with: sudo apt-get install -y ${missing[*]}" >&2
    exit 5
  fi
  echo "umlab setup: installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # apt's own chatter (debconf notes, progress) goes to a log, shown only when it fails.
  log="$(mktemp)"
  if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    echo "umlab setup: apt-get failed (above)" >&2
    exit 5
  fi
  rm -f "$log"
fi

if [ ! -e "$ROOT/node_modules/.package-lock.json" ] || [ "$ROOT/package-lock.json" -nt "$ROOT/node_modules/.package-lock.json" ]; then
  echo "umlab setup: installing npm dependencies (npm ci)"
  (cd "$ROOT" && npm ci --no-audit --no-fund --no-update-notifier --loglevel=error >/dev/null)
fi

# `umlab` on the PATH (as root, when no other umlab is there yet); ordinary users call ./bin/umlab
# or link it themselves.
if [ "$(id -u)" -eq 0 ] && [ -d /usr/local/bin ] && ! command -v umlab >/dev/null 2>&1; then
  ln -sfn "$ROOT/bin/umlab" /usr/local/bin/umlab
  echo "umlab setup: linked /usr/local/bin/umlab -> $ROOT/bin/umlab"
fi
