#!/usr/bin/env bash
# Boot-time and memory benchmark (see bench/up.ts). Usage: bash bench/up.sh [N ...]
set -euo pipefail
cd "$(dirname "$0")/.."
exec node --import tsx bench/up.ts "$@"
