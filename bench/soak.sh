#!/usr/bin/env bash
# Soak test: up/exec/down cycles and kill-at-random-moment rounds, with leftover counts
# (see bench/soak.ts). Not in CI. Usage: bash bench/soak.sh [CYCLES=20] [KILL_ROUNDS=20]
set -euo pipefail
cd "$(dirname "$0")/.."
exec node --import tsx bench/soak.ts "$@"
