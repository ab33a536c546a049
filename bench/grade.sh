#!/usr/bin/env bash
# Grading benchmark (see bench/grade.ts): N copies of labs/grading graded with --jobs auto against
# the same checks run one submission at a time after a fixed sleep. Usage: bash bench/grade.sh [N ...]
set -euo pipefail
cd "$(dirname "$0")/.."
exec node --import tsx bench/grade.ts "$@"
