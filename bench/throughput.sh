#!/usr/bin/env bash
# TCP throughput benchmark (see bench/throughput.ts): direct link, umlab switch with and
# without capture, uml_switch. Usage: bash bench/throughput.sh [--rounds N] [--seconds S]
set -euo pipefail
cd "$(dirname "$0")/.."
exec node --import tsx bench/throughput.ts "$@"
