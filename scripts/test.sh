#!/usr/bin/env bash
# The whole test suite: typecheck (also web/*.js), ESLint, formatting, architecture lint, unit tests, then the tests that boot real UML VMs.
# UMLAB_SKIP_VM_TESTS=1 runs only the steps before the VM tests (and says so).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash scripts/setup.sh --test
echo "== typecheck"
npx tsc --noEmit
# The page's plain JavaScript, from its JSDoc (web/tsconfig.json).
npm run --silent typecheck:web
echo "== lint"
# --cache (in the lint script): a run after a small change re-reads only the changed files (a type-aware
# result can go stale when only a file it depends on changed; CI starts without the cache).
npm run --silent lint
echo "== format"
# Which files: .prettierignore and .prettierrc.json, not this script.
npm run --silent format:check
echo "== architecture"
node --import tsx scripts/lint-architecture.ts
files=(test/unit/*.test.ts)
if [ "${UMLAB_SKIP_VM_TESTS:-}" != 1 ]; then
  # security/: attacks from a second account and from inside VMs; faults/: injected failures.
  files+=(test/vm/*.test.ts test/security/*.test.ts test/faults/*.test.ts)
else
  echo "== UMLAB_SKIP_VM_TESTS=1: the VM tests are NOT run"
fi
echo "== tests: ${#files[@]} files"
exec node --import tsx --test --test-concurrency=1 "${files[@]}"
