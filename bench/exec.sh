#!/usr/bin/env bash
# Exec benchmark (see bench/exec.ts): thousands of checked execs over a 20-VM lab; prints
# execs/s, p50/p99/max latency above each command's own time, stuck and mixed-up counts.
# Usage: bash bench/exec.sh [--execs N] [--vms N] [--parallel N] [--seed N] [--bound-ms MS]
set -euo pipefail
cd "$(dirname "$0")/.."
exec node --import tsx bench/exec.ts "$@"
