#!/usr/bin/env bash
# Scale benchmark (see bench/scale.ts): up, memory, captures, idle CPU and down of one lab of N
# VMs per size, against bare kernels (and an older commit with --baseline REV).
# Usage: bash bench/scale.sh [--baseline REV] [--rounds R] [--idle-seconds S] N [N ...]
set -euo pipefail
cd "$(dirname "$0")/.."
exec node --import tsx bench/scale.ts "$@"
