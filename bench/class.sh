#!/usr/bin/env bash
# Class benchmark (see bench/class.ts): one `umlab class serve`, STUDENTS simulated students each
# starting a 2-VM lab, typing in its console, running the checks, submitting and stopping it.
# Usage: bash bench/class.sh [STUDENTS] [--budget SIZE] [--commands N] [--json]
set -euo pipefail
cd "$(dirname "$0")/.."
exec node --import tsx bench/class.ts "$@"
